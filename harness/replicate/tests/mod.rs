//! Replication tests: each reads like the property it checks; every run is bounded (--size
//! or a short duration) and small.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use workloads::pacing::MonotonicClock;

use super::isr::ReplicaState;
use super::*;
use super::{follower, serve, wire};

mod pipeline;
mod trust;

/// The token of the tests' leaders and followers.
const TEST_TOKEN: &str = "0123456789abcdef-test";

/// A one-partition Start of `batch_bytes` batches, as the tests' fake leaders send it.
fn test_start(batch_bytes: usize) -> wire::Start {
    wire::Start {
        rep: String::new(),
        partitions: 1,
        topic: "t".into(),
        segment_size: 1 << 20,
        index_interval: 4096,
        engine: "buffered".into(),
        batch_bytes,
        fetch_max_bytes: 1 << 20,
        fetch_wait_max_ms: 100,
        flush: "never".into(),
        sync: "fdatasync".into(),
    }
}

fn cfg(acks: Acks) -> ReplicaConfig {
    ReplicaConfig {
        rf: 3,
        acks,
        partitions: 2,
        record_size: 1024,
        batch_size: 16 << 10,
        segment_size: 1 << 20,
        index_interval: 4096,
        topic: "segbench".into(),
        leader_engine: "buffered".parse().unwrap(),
        follower_engine: "buffered".parse().unwrap(),
        fetch_engine: "sendfile".parse().unwrap(),
        fetch_max_bytes: DEFAULT_FETCH_MAX_BYTES,
        fetch_min_bytes: DEFAULT_FETCH_MIN_BYTES,
        fetch_wait_max: DEFAULT_FETCH_WAIT_MAX,
        lag_time_max: DEFAULT_LAG_TIME_MAX,
        min_insync: 1,
        size: Some(8 << 20),
        duration: None,
        rate: None,
        flush: workloads::FlushPolicy::Never,
        sync: workloads::SyncKind::Fdatasync,
        consumer: true,
        producers: 1,
    }
}

fn run(c: &ReplicaConfig, dir: &Path, faults: &Faults) -> RepOutcome {
    let clock: Arc<dyn workloads::pacing::Clock> = Arc::new(MonotonicClock::new());
    run_repetition(c, dir, clock, &AtomicBool::new(false), faults).unwrap()
}

/// Bytes in the leader's `.log` files under `dir` so far.
fn leader_log_bytes(dir: &Path) -> u64 {
    let Ok(parts) = std::fs::read_dir(dir.join("leader")) else {
        return 0;
    };
    parts
        .flatten()
        .filter_map(|p| std::fs::read_dir(p.path()).ok())
        .flat_map(|segs| segs.flatten())
        .filter(|s| s.path().extension().is_some_and(|e| e == "log"))
        .filter_map(|s| s.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Runs `c` with follower 1 sending no fetch until `stall` after the leader's logs first hold
/// at least `after_bytes` (1: the first append, about the producer's start, however long the
/// setup before it took on a loaded machine).
fn run_with_stalled_follower(
    c: &ReplicaConfig,
    dir: &Path,
    after_bytes: u64,
    stall: Duration,
) -> RepOutcome {
    let stalled = Arc::new(AtomicBool::new(true));
    let faults = Faults {
        pause: vec![stalled.clone()],
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            let t0 = std::time::Instant::now();
            while leader_log_bytes(dir) < after_bytes && t0.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(stall);
            stalled.store(false, Ordering::Release);
        });
        run(c, dir, &faults)
    })
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut parts: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    for p in parts {
        let mut segs: Vec<_> = std::fs::read_dir(&p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        segs.sort();
        for s in segs
            .into_iter()
            .filter(|s| s.extension().is_some_and(|e| e == "log"))
        {
            let name = format!(
                "{}/{}",
                p.file_name().unwrap().to_string_lossy(),
                s.file_name().unwrap().to_string_lossy()
            );
            out.push((name, std::fs::read(&s).unwrap()));
        }
    }
    out
}

fn extra_u64(o: &RepOutcome, key: &str) -> u64 {
    o.repetition.extra[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key}"))
}

#[test]
fn follower_segments_are_byte_identical_to_the_leaders_across_rolls() {
    let dir = tempfile::tempdir().unwrap();
    // 1 MiB segments, 8 MiB over 2 partitions: every partition rolls a few times.
    let o = run(&cfg(Acks::Zero), dir.path(), &Faults::default());
    assert!(o.behind.is_empty(), "followers behind: {:?}", o.behind);
    let leader = files(&o.leader_dir);
    assert!(leader.len() >= 6, "segments rolled: {}", leader.len());
    assert!(leader.iter().map(|f| f.1.len()).sum::<usize>() >= 8 << 20);
    for f in &o.follower_dirs {
        let follower = files(f);
        assert_eq!(
            leader.iter().map(|f| &f.0).collect::<Vec<_>>(),
            follower.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        for (a, b) in leader.iter().zip(&follower) {
            assert!(a.1 == b.1, "{} differs on {}", a.0, f.display());
        }
        // Kafka-format and consistent: every batch's CRC and the indexes check out.
        for p in 0..2 {
            workloads::kafka::verify_partition(&f.join(format!("segbench-{p}"))).unwrap();
        }
    }
    assert_eq!(extra_u64(&o, "high_watermark_violations"), 0);
}

#[test]
fn acks_all_waits_longer_than_acks_1_on_the_same_run() {
    // Every acks=all produce is acknowledged after the leader appended it (its acks=1
    // moment, recorded in the same run): each quantile of the acks=all latencies is at least
    // the same quantile of the leader-append latencies. Two separate runs would compare
    // scheduling noise on a busy machine instead.
    let dir = tempfile::tempdir().unwrap();
    let mut all = cfg(Acks::All);
    all.size = Some(4 << 20);
    let b = run(&all, &dir.path().join("all"), &Faults::default());
    let l = &b.repetition.latency_ns;
    assert!(l.count > 0);
    let one: results::LatencySummary =
        serde_json::from_value(b.repetition.extra["leader_append_latency_ns"].clone()).unwrap();
    assert_eq!(
        one.count, l.count,
        "one leader-append figure per acknowledged produce"
    );
    for (q, (all_ns, one_ns)) in [
        ("p50", (l.p50, one.p50)),
        ("p99", (l.p99, one.p99)),
        ("max", (l.max, one.max)),
    ] {
        assert!(
            all_ns >= one_ns,
            "acks=all {q} {all_ns} < its acks=1 moment {one_ns}"
        );
    }
    assert_eq!(extra_u64(&b, "high_watermark_violations"), 0);
    assert_eq!(extra_u64(&b, "not_enough_replicas"), 0);
}

#[test]
fn a_stalled_follower_leaves_the_isr_and_acks_all_gets_not_enough_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(Acks::All);
    c.size = None;
    c.duration = Some(Duration::from_millis(800));
    c.lag_time_max = Duration::from_millis(50);
    c.min_insync = 3;
    let stalled = Arc::new(AtomicBool::new(true));
    let faults = Faults {
        pause: vec![stalled.clone()],
    };
    let o = run(&c, dir.path(), &faults);
    assert!(stalled.load(Ordering::Relaxed));
    assert!(
        extra_u64(&o, "isr_shrinks") >= 1,
        "{:?}",
        o.repetition.extra
    );
    // Follower 1 left and never came back. (Follower 2 may leave and rejoin too when a loaded
    // machine keeps it from fetching for 50 ms.)
    let all_events = o.repetition.extra["isr_events"].as_array().unwrap();
    let events: Vec<_> = all_events.iter().filter(|e| e["follower"] == 1).collect();
    assert!(
        !events.is_empty() && events.iter().all(|e| e["change"] == "shrink"),
        "{all_events:?}"
    );
    // Out after the lag time (50 ms after the last fetch), found by the next check (every 25 ms).
    let at = events[0]["at_s"].as_f64().unwrap();
    assert!(at < 0.5, "shrunk soon after the lag time: {at}");
    assert!(extra_u64(&o, "not_enough_replicas") >= 1);
    assert_eq!(extra_u64(&o, "high_watermark_violations"), 0);
    // Refused batches were never appended: the consumer saw exactly the acknowledged ones.
    assert_eq!(e2e(&o).count, o.repetition.batches);
    // The healthy follower stayed in sync; the stalled one holds nothing.
    assert!(o.behind.is_empty());
    assert!(files(&o.follower_dirs[0]).iter().all(|f| f.1.is_empty()));
}

/// The HW never passes an in-sync follower's LEO, whatever order fetches, appends and
/// expirations come in (a fake sequence, checked at every step).
#[test]
fn high_watermark_never_exceeds_the_slowest_in_sync_follower() {
    let mut st = ReplicaState::new(1, 2, 100, 0);
    let path = Path::new("/nonexistent/00000000000000000000.log");
    let mut t = 0;
    let mut pos = 0;
    for round in 0..200u64 {
        t += 7;
        st.appended(0, 0, path, pos, 100, 10);
        pos += 100;
        // Follower 0 keeps up; follower 1 fetches every third round, lagging one batch.
        let leo0 = st.parts[0].followers[0].leo;
        let _ = st.fetch(0, 0, (leo0 + 10).min(st.parts[0].leo), 1 << 20, t);
        if round % 3 == 0 {
            let leo1 = st.parts[0].followers[1].leo;
            let _ = st.fetch(0, 1, (leo1 + 10).min(st.parts[0].leo - 10), 1 << 20, t);
        }
        if round == 100 {
            t += 1_000;
            st.shrink_isr(t);
        }
        let p = &st.parts[0];
        for f in p.followers.iter().filter(|f| f.in_isr) {
            assert!(p.hw <= f.leo, "round {round}: hw {} > leo {}", p.hw, f.leo);
        }
        assert!(p.hw <= p.leo);
    }
    assert_eq!(st.hw_violations, 0);
    assert!(st.events.iter().any(|e| e.shrink));
}

#[test]
fn a_fetch_returns_whole_batches_up_to_the_limit_from_the_follower_leo() {
    let mut st = ReplicaState::new(1, 1, 1_000, 0);
    let path = Path::new("/x/00000000000000000000.log");
    for k in 0..5 {
        st.appended(0, 0, path, k * 100, 100, 4);
    }
    let r = st.fetch(0, 0, 8, 250, 1).unwrap();
    assert_eq!((r.start, r.end), (200, 400));
    assert!(st.fetch(0, 0, 20, 250, 2).is_none());
    assert_eq!(st.parts[0].hw, 20);
}

/// `cfg(acks=all)` changed by `change`, and the one line `check` refuses it with.
fn refused(change: impl FnOnce(&mut ReplicaConfig)) -> String {
    let mut c = cfg(Acks::All);
    change(&mut c);
    c.check().unwrap_err()
}

#[test]
fn bad_options_are_refused_with_one_line() {
    assert!(refused(|c| c.rf = 0).starts_with("--rf 0"));
    assert!(refused(|c| c.min_insync = 4).starts_with("--min-insync-replicas 4"));
    assert!(refused(|c| c.fetch_min_bytes = 0).starts_with("--replica-fetch-min-bytes 0"));
    assert!(refused(|c| c.fetch_max_bytes = 1000).contains("smaller than one batch"));
    assert!(refused(|c| c.fetch_max_bytes = MAX_FETCH_MAX_BYTES + 1)
        .starts_with("--replica-fetch-max-bytes 67108865: use at most"));
    let null_for_a_time = refused(|c| {
        c.leader_engine = "null".parse().unwrap();
        c.size = None;
        c.duration = Some(Duration::from_secs(1));
    });
    assert!(null_for_a_time.starts_with("--leader-engine null needs --size"));
    for n in [0, 3] {
        assert!(refused(|c| c.producers = n)
            .starts_with(&format!("--producers {n} with --partitions 2: use 1..=2")));
    }
    assert!("2".parse::<Acks>().is_err());
    assert_eq!("all".parse::<Acks>(), Ok(Acks::All));
}

#[test]
fn a_follower_that_resumes_rejoins_the_isr_when_caught_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(Acks::All);
    // 16 MiB: production outlasts the stall on a fast machine; a slow one only lengthens it.
    c.size = Some(16 << 20);
    c.lag_time_max = Duration::from_millis(50);
    let o = run_with_stalled_follower(&c, dir.path(), 1, Duration::from_millis(300));
    let events = o.repetition.extra["isr_events"].as_array().unwrap().clone();
    let first = |change: &str| {
        events
            .iter()
            .find(|e| e["change"] == change)
            .and_then(|e| e["at_s"].as_f64())
            .unwrap_or_else(|| panic!("no {change} in {events:?}"))
    };
    assert!(first("shrink") < first("expand"), "{events:?}");
    // min.insync.replicas 1: nothing refused; the follower caught up and holds the leader's bytes.
    assert_eq!(extra_u64(&o, "not_enough_replicas"), 0);
    assert_eq!(extra_u64(&o, "high_watermark_violations"), 0);
    assert!(o.behind.is_empty());
    assert!(files(&o.leader_dir) == files(&o.follower_dirs[0]));
}

/// A signal that lands while the in-process followers join ends the repetition as
/// interrupted, not as a failure of the run (it used to be "in-process followers: stopped
/// while waiting for followers", a failed row).
#[test]
fn a_stop_while_the_in_process_followers_join_is_an_interruption() {
    let dir = tempfile::tempdir().unwrap();
    let c = cfg(Acks::All);
    let clock: Arc<dyn workloads::pacing::Clock> = Arc::new(MonotonicClock::new());
    let stopped = AtomicBool::new(true);
    let t0 = std::time::Instant::now();
    let ended = run_repetition(&c, dir.path(), clock, &stopped, &Faults::default());
    // The in-process followers stop joining too (they waited out the 10 s join timeout).
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    match ended {
        Err(e @ crate::runner::RunError::Interrupted(_)) => {
            assert_eq!(e.status(), results::Status::Interrupted);
            assert!(e.to_string().contains("followers joined"), "{e}");
        }
        Err(e) => panic!("not an interruption: {e}"),
        Ok(_) => panic!("a stopped repetition ran"),
    }
}

#[test]
fn every_fetch_engine_delivers_the_leaders_bytes() {
    for engine in ["sendfile", "readwrite", "splice", "mmap", "uring"] {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg(Acks::One);
        c.size = Some(2 << 20);
        c.fetch_engine = engine.parse().unwrap();
        let clock: Arc<dyn workloads::pacing::Clock> = Arc::new(MonotonicClock::new());
        let o = match run_repetition(
            &c,
            dir.path(),
            clock,
            &AtomicBool::new(false),
            &Faults::default(),
        ) {
            Ok(o) => o,
            Err(crate::runner::RunError::Unsupported(why)) => {
                workloads::skip::skip(workloads::skip::Skip::Platform, &format!("{engine}: {why}"));
                continue;
            }
            Err(e) => panic!("{engine}: {e}"),
        };
        assert!(
            o.behind.is_empty() && o.lost.is_empty(),
            "{engine}: {:?} {:?}",
            o.behind,
            o.lost
        );
        let leader = files(&o.leader_dir);
        for f in &o.follower_dirs {
            assert!(files(f) == leader, "{engine}: {} differs", f.display());
        }
        let sent = o.repetition.extra["follower_bytes_sent"].clone();
        let got = o.repetition.extra["follower_bytes"].clone();
        assert_eq!(sent, got, "{engine}: every byte sent was appended");
    }
}

/// A leader that stops in the middle of a batch: the follower keeps the whole batches before
/// it and nothing of the cut one, and says the leader went away.
#[test]
fn a_follower_never_appends_a_batch_the_leader_did_not_send_whole() {
    use crate::sink::protocol::{FrameHeader, FrameKind};
    use std::io::Write;
    use workloads::kafka::batch::{batch_len, encode_batch};
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (records, value) = (4u32, 100usize);
    let len = batch_len(records, value);
    let mut pool = workloads::payload::PayloadPool::new(1 << 16, 7);
    let mut two = vec![0u8; 2 * len];
    encode_batch(&mut two[..len], 0, 1, records, value, &mut pool);
    encode_batch(
        &mut two[len..],
        i64::from(records),
        1,
        records,
        value,
        &mut pool,
    );
    let first = two[..len].to_vec();
    let leader = std::thread::spawn(move || {
        let links = serve::accept_followers(
            &listener,
            1,
            1,
            Duration::from_secs(10),
            &AtomicBool::new(false),
            TEST_TOKEN,
        )
        .unwrap();
        let s = &links[0].stream;
        let start = test_start(len);
        wire::send_json(s, FrameKind::Hello, &start).unwrap();
        let h = wire::read_header(s, &|| true).unwrap().unwrap();
        assert_eq!(wire::read_fetch(s, &h, 1).unwrap(), vec![0]);
        // Two batches announced, one and a half sent, then the leader is gone.
        let mut msg = FrameHeader::data(0, 0, 0, 0, 0, (2 * len) as u32)
            .encode()
            .to_vec();
        msg.extend_from_slice(&two[..len + len / 2]);
        (&links[0].stream).write_all(&msg).unwrap();
    });
    let (stream, n) = follower::join(
        addr,
        Duration::from_secs(10),
        TEST_TOKEN,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(n, 1);
    let never = AtomicBool::new(false);
    let failed = follower::run_session(
        &stream,
        n,
        &mut |_| Ok(dir.path().to_path_buf()),
        &never,
        &never,
        &mut |_, _| {},
    )
    .unwrap_err();
    leader.join().unwrap();
    assert!(
        failed.reason.contains("from the leader"),
        "{}",
        failed.reason
    );
    assert_eq!(failed.partial.bytes, len as u64);
    let log = dir.path().join("follower-1/t-0/00000000000000000000.log");
    assert!(
        std::fs::read(&log).unwrap() == first,
        "exactly the whole batch"
    );
}

/// With replica.fetch.min.bytes above one batch the leader holds each fetch until that much is
/// there: few fetches, each carrying at least min.bytes (but the last ones, cut by the wait).
#[test]
fn a_fetch_is_held_until_min_bytes_are_there() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(Acks::One);
    c.rf = 2;
    c.size = Some(4 << 20);
    c.fetch_min_bytes = 512 << 10;
    // Long against the time 512 KiB take to produce, short against the drain timeout.
    c.fetch_wait_max = Duration::from_secs(1);
    let o = run(&c, dir.path(), &Faults::default());
    assert!(o.behind.is_empty(), "{:?}", o.repetition.extra);
    let bytes = o.repetition.extra["follower_bytes"][0].as_u64().unwrap();
    let fetches = o.repetition.extra["follower_fetches"][0].as_u64().unwrap();
    assert!(bytes >= 4 << 20);
    assert!(
        fetches <= bytes / c.fetch_min_bytes + 2,
        "{fetches} fetches for {bytes} bytes"
    );
    assert!(files(&o.leader_dir) == files(&o.follower_dirs[0]));
}

/// Produces (acks=all) whose latency was at least `ns`.
fn produces_slower_than(o: &RepOutcome, ns: u64) -> u64 {
    let h = results::hist::decode(&o.repetition.latency_ns.hdr).unwrap();
    h.iter_recorded()
        .filter(|v| v.value_iterated_to() >= ns)
        .map(|v| v.count_at_value())
        .sum()
}

/// A follower stalled for the first 300 ms holds every acks=all produce back. Closed loop,
/// the producer waits with one batch, so that stall is one slow produce; open loop (1 batch
/// per ms) it is charged, from each one's intended start, to every batch due during it.
#[test]
fn open_loop_charges_a_stall_to_every_batch_due_during_it() {
    let shape = cfg(Acks::All).check().unwrap();
    let per_ms = shape.batch_bytes as f64 * 1000.0;
    let run_with = |rate: Option<f64>, dir: &Path| {
        let mut c = cfg(Acks::All);
        c.size = Some(300 * shape.batch_bytes as u64);
        c.rate = rate;
        run_with_stalled_follower(&c, dir, 1, Duration::from_millis(300))
    };
    let dir = tempfile::tempdir().unwrap();
    let open = run_with(Some(per_ms), &dir.path().join("open"));
    // Batch k is due at k ms and none is acknowledged before the stall ends (>= 300 ms after
    // the first append): batches 0..=250 each waited at least 50 ms from its intended start.
    let r = &open.repetition;
    assert_eq!(r.batches, 300);
    let slow = produces_slower_than(&open, 50_000_000);
    assert!(
        slow >= 251,
        "open loop: {slow} of 300 produces took >= 50 ms"
    );
    // Never ahead of the schedule: the last batch was due 299 ms after the first.
    assert!(r.elapsed_s >= 0.299, "{} s", r.elapsed_s);
    let closed = run_with(None, &dir.path().join("closed"));
    let slow = produces_slower_than(&closed, 50_000_000);
    assert!(
        slow < 30,
        "closed loop: {slow} of 300 produces took >= 50 ms"
    );
}

#[test]
fn a_consumer_range_stops_at_the_high_watermark() {
    let mut st = ReplicaState::new(1, 1, 1_000, 0);
    let path = Path::new("/x/00000000000000000000.log");
    for k in 0..5 {
        st.appended(0, 0, path, k * 100, 100, 4);
    }
    assert_eq!(st.parts[0].hw, 0, "the follower has fetched nothing yet");
    assert!(st.committed_range(0, 0, 1 << 20).is_none());
    // The follower fetches from offset 8: the HW moves to 8 (two batches).
    let _ = st.fetch(0, 0, 8, 1 << 20, 1);
    let r = st.committed_range(0, 0, 1 << 20).unwrap();
    assert_eq!((r.start, r.end), (0, 200));
    assert!(st.committed_range(0, 8, 1 << 20).is_none());
    // The fetch limit still applies below the HW, one whole batch at least.
    let _ = st.fetch(0, 0, 20, 1 << 20, 2);
    let r = st.committed_range(0, 4, 150).unwrap();
    assert_eq!((r.start, r.end), (100, 200));
}

fn e2e(o: &RepOutcome) -> results::LatencySummary {
    serde_json::from_value(o.repetition.extra["e2e_latency_ns"].clone()).unwrap()
}

#[test]
fn the_consumer_reads_every_batch_once_and_only_below_the_high_watermark() {
    // acks=1 does not wait for followers. 400 batches at 1 per ms; follower 1 (in the ISR: the
    // lag time is 30 s) sends no fetch until 100 ms after the leader holds the first 200: the
    // HW stays at 0 until then, so none of those 200 is seen sooner than 100 ms after it was
    // produced. (The other 200 take at least 200 ms more: the stall ends inside the run.)
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(Acks::One);
    let batch = c.check().unwrap().batch_bytes as u64;
    c.size = Some(400 * batch);
    c.rate = Some(batch as f64 * 1000.0);
    let o = run_with_stalled_follower(&c, dir.path(), 200 * batch, Duration::from_millis(100));
    let e = e2e(&o);
    let r = &o.repetition;
    assert_eq!(r.batches, 400);
    assert_eq!(e.count, r.batches, "one end-to-end figure per batch");
    assert_eq!(
        extra_u64(&o, "consumer_bytes"),
        extra_u64(&o, "leader_bytes")
    );
    let h = results::hist::decode(&e.hdr).unwrap();
    let held: u64 = h
        .iter_recorded()
        .filter(|v| v.value_iterated_to() >= 100_000_000)
        .map(|v| v.count_at_value())
        .sum();
    assert!(
        held >= 200,
        "{held} batches seen >= 100 ms after their start"
    );
}

#[test]
fn acks_all_batches_reach_the_consumer_and_every_byte_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&cfg(Acks::All), dir.path(), &Faults::default());
    let e = e2e(&o);
    assert_eq!(e.count, o.repetition.batches);
    assert!(e.min > 0);
    assert_eq!(extra_u64(&o, "consumer_bytes"), o.repetition.bytes);
}

#[test]
fn a_stalled_follower_shows_its_lag_in_time_on_the_leaders_clock() {
    // Follower 1 sends no fetch for the first 300 ms (it stays in the ISR: lag time 30 s).
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(Acks::One);
    // 350 batches at 500/s: at least 700 ms of production, the stall ending well inside it.
    let batch = c.check().unwrap().batch_bytes;
    c.size = Some(350 * batch as u64);
    c.rate = Some(batch as f64 * 500.0);
    let o = run_with_stalled_follower(&c, dir.path(), 1, Duration::from_millis(300));
    let max: Vec<u64> =
        serde_json::from_value(o.repetition.extra["follower_lag_time_max_ns"].clone()).unwrap();
    assert_eq!(max.len(), 2);
    assert!(
        max[0] >= 250_000_000,
        "stalled follower's max lag {} ns",
        max[0]
    );
    assert!(max[0] > max[1], "{max:?}");
    let h: results::LatencySummary =
        serde_json::from_value(o.repetition.extra["follower_lag_time_ns"].clone()).unwrap();
    assert!(h.count >= 10 && h.max >= max[0], "{h:?}");
    // The timeline shows the stall then the catch-up, one list entry per follower.
    let tl = o.repetition.extra["follower_lag_timeline"]
        .as_array()
        .unwrap();
    assert!(tl.len() >= 5, "{} points", tl.len());
    let ms = |p: &serde_json::Value, f: usize| p["ms"][f].as_f64().unwrap();
    assert!(tl.iter().any(|p| ms(p, 0) >= 200.0), "{tl:?}");
    assert!(
        tl.iter()
            .any(|p| p["at_s"].as_f64().unwrap() > 0.45 && ms(p, 0) < 100.0),
        "{tl:?}"
    );
}

#[test]
fn flush_batch_flushes_every_append_on_every_replica() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(Acks::One);
    c.size = Some(2 << 20);
    c.flush = workloads::FlushPolicy::Batch;
    let o = run(&c, &dir.path().join("batch"), &Faults::default());
    assert!(o.behind.is_empty());
    let r = &o.repetition;
    let leader = r.flush_latency_ns.as_ref().expect("leader flushes timed");
    assert_eq!(leader.count, r.batches, "one leader flush per produce");
    let f: results::LatencySummary =
        serde_json::from_value(r.extra["follower_flush_latency_ns"].clone()).unwrap();
    // A follower appends each fetched partition frame in one write, and flushes after each.
    let appends: Vec<u64> = serde_json::from_value(r.extra["follower_appends"].clone()).unwrap();
    assert_eq!(appends.len(), 2);
    assert!(
        appends.iter().all(|&a| a >= 1 && a <= r.batches),
        "{appends:?}"
    );
    assert_eq!(
        f.count,
        appends.iter().sum::<u64>(),
        "each of 2 followers flushes each append"
    );
    assert!(files(&o.leader_dir) == files(&o.follower_dirs[1]));

    // dsync: every write durable, no separate flush; same bytes on every replica.
    c.sync = workloads::SyncKind::Dsync;
    let o = run(&c, &dir.path().join("dsync"), &Faults::default());
    assert!(o.repetition.flush_latency_ns.is_none());
    assert!(!o.repetition.extra.contains_key("follower_flush_latency_ns"));
    assert!(files(&o.leader_dir) == files(&o.follower_dirs[0]));
}
