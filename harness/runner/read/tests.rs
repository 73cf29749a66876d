//! Tests of the read runner: fetch boundaries over a scanned log, and whole repetitions
//! against an in-process sink (every engine, idle consumers, corruption, a vanishing sink,
//! cold mode).

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::*;
use crate::runner::LiveCounters;
use crate::sink::protocol::FrameHeader;
use crate::sink::server::{Sink, SinkConfig};
use serde_json::json;
use workloads::kafka::batch::{batch_len, encode_batch};
use workloads::pacing::MonotonicClock;
use workloads::payload::PayloadPool;
use workloads::read;
use workloads::skip::{skip, Skip};

/// Writes a partition directory `<topic>-<p>` with segments of `batches_per_segment`
/// batches of `records` records (100-byte values), offsets continuing across segments.
fn write_partition(root: &Path, topic: &str, p: u32, segments: &[usize], records: u32) {
    let dir = root.join(format!("{topic}-{p}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut pool = PayloadPool::new(1 << 16, 9);
    let mut off = 0i64;
    for &n in segments {
        let base = off;
        let mut bytes = Vec::new();
        for _ in 0..n {
            let mut b = vec![0u8; batch_len(records, 100)];
            encode_batch(&mut b, off, 1_700_000_000_000, records, 100, &mut pool);
            bytes.extend_from_slice(&b);
            off += i64::from(records);
        }
        std::fs::write(dir.join(format!("{base:020}.log")), &bytes).unwrap();
    }
}

#[test]
fn fetches_end_on_batch_edges_and_cross_segments() {
    let t = tempfile::tempdir().unwrap();
    write_partition(t.path(), "t", 0, &[5, 3, 0], 2); // the last one empty, just rolled
    let log = LogSet::open(&[t.path().to_path_buf()]).unwrap();
    let p = &log.partitions[0];
    let one = batch_len(2, 100) as u64;
    assert_eq!(p.segments.len(), 3);
    assert_eq!(
        (p.first_offset, p.next_offset, p.batches),
        (Some(0), Some(16), 8)
    );
    let mut c = Cursor::default();
    let mut got = Vec::new();
    // 2.5 batches per fetch: ends after 2 whole batches.
    while let Some(f) = p.next_fetch(&mut c, one * 5 / 2) {
        assert_eq!(f.end - f.start, f.batches * one);
        got.push((f.segment, f.start / one, f.batches, f.records));
    }
    assert_eq!(
        got,
        vec![
            (0, 0, 2, 4),
            (0, 2, 2, 4),
            (0, 4, 1, 2),
            (1, 0, 2, 4),
            (1, 2, 1, 2)
        ]
    );
    // A fetch smaller than a batch still takes one.
    let mut c = Cursor::default();
    assert_eq!(p.next_fetch(&mut c, 1).map(|f| f.end), Some(one));
}

#[test]
fn a_truncated_last_batch_is_not_read() {
    let t = tempfile::tempdir().unwrap();
    write_partition(t.path(), "t", 0, &[4], 3);
    let path = t.path().join("t-0/00000000000000000000.log");
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let log = LogSet::open(&[t.path().join("t-0")]).unwrap();
    assert_eq!(log.partitions[0].batches, 3);
    assert_eq!(log.partitions[0].next_offset, Some(9));
    assert_eq!(log.notes.len(), 1, "{:?}", log.notes);
}

#[test]
fn an_empty_directory_is_bad_input() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("t-0")).unwrap();
    match LogSet::open(&[t.path().to_path_buf()]) {
        Err(LoadError::BadInput(m)) => assert!(m.contains("no segment files"), "{m}"),
        other => panic!("{other:?}"),
    }
}

fn serve(
    log: &LogSet,
    engine: &str,
    consumers: u32,
    groups: u32,
    verify: bool,
) -> Result<ReadMeasure, ReadError> {
    let cfg = ReadConfig {
        engine: engine.parse().unwrap(),
        cache: CacheMode::Hot,
        consumers,
        groups,
        fetch_size: 64 << 10,
        duration: None,
        verify,
        until_steady: None,
        rate: None,
    };
    serve_cfg(log, cfg)
}

fn serve_cfg(log: &LogSet, cfg: ReadConfig) -> Result<ReadMeasure, ReadError> {
    let sink = Sink::bind("127.0.0.1:0".parse().unwrap(), SinkConfig::default()).unwrap();
    let target = SinkTarget {
        addr: sink.local_addr(),
        remote: false,
    };
    let stop = AtomicBool::new(false);
    run_repetition(
        &cfg,
        log,
        &target,
        Arc::new(MonotonicClock::new()),
        &stop,
        &LiveCounters::default(),
    )
}

fn small_log(t: &Path) -> LogSet {
    for p in 0..3 {
        write_partition(t, "a", p, &[40, 25], 10);
    }
    write_partition(t, "b", 0, &[30], 10);
    LogSet::open(&[t.to_path_buf()]).unwrap()
}

#[test]
fn every_engine_delivers_the_whole_log_verified() {
    let t = tempfile::tempdir().unwrap();
    let log = small_log(t.path());
    assert_eq!(log.partitions.len(), 4);
    for engine in read::ENGINE_NAMES {
        let m = match serve(&log, engine, 2, 2, true) {
            Ok(m) => m,
            Err(ReadError::Unsupported(r)) => {
                skip(Skip::Platform, &format!("{engine}: {r}"));
                continue;
            }
            Err(e) => panic!("{engine}: {e}"),
        };
        assert!(
            m.check_failures.is_empty(),
            "{engine}: {:?}",
            m.check_failures
        );
        let r = &m.repetition;
        assert_eq!(
            r.bytes,
            2 * log.bytes,
            "{engine}: two groups read everything"
        );
        assert_eq!(r.records, 2 * log.records);
        assert_eq!(r.extra["sink_bytes"], json!(2 * log.bytes));
        let batches: u64 = log.partitions.iter().map(|p| p.batches).sum();
        assert_eq!(r.extra["verified_batches"], json!(2 * batches), "{engine}");
        assert_eq!(r.extra["verify_errors"], json!(0));
        assert_eq!(r.latency_ns.count, r.batches);
        assert_eq!(r.timeline.bytes.iter().sum::<u64>(), r.bytes);
        // Topic a: 3 partitions over 2 consumers (2 + 1); topic b: 1 (1 + 0).
        let cb: Vec<Vec<u64>> = serde_json::from_value(r.extra["consumer_bytes"].clone()).unwrap();
        let size = |i: usize| log.partitions[i].bytes;
        assert_eq!(cb[0], vec![size(0) + size(1) + size(3), size(2)]);
        assert_eq!(cb[0], cb[1]);
        // The consumer threads' own CPU (RUSAGE_THREAD, exact run time) is never zero; the
        // sender figure (process less the sink's threads, each rounded to ticks differently)
        // can round to zero for a log this small on a busy machine, so it is only checked sane.
        assert!(
            r.extra["consumer_threads_cpu_s"].as_f64().unwrap() > 0.0,
            "{engine}"
        );
        assert!(r.cpu_user_s >= 0.0 && r.cpu_sys_s >= 0.0 && r.cpu_user_s.is_finite());
    }
}

#[test]
fn idle_consumers_and_skew_are_reported() {
    let t = tempfile::tempdir().unwrap();
    for p in 0..2 {
        write_partition(t.path(), "t", p, &[10], 5);
    }
    let log = LogSet::open(&[t.path().to_path_buf()]).unwrap();
    let m = serve(&log, "sendfile", 5, 1, false).unwrap();
    let r = &m.repetition;
    assert_eq!(r.extra["idle_consumers"], json!(3));
    assert_eq!(r.threads.len(), 2, "one thread per active consumer");
    let skew = r.extra["consumer_skew"].as_f64().unwrap();
    assert!((skew - 2.5).abs() < 1e-9, "max / mean = 1 / (2/5): {skew}");
}

#[test]
fn a_corrupted_copy_is_caught_and_named() {
    let t = tempfile::tempdir().unwrap();
    write_partition(t.path(), "t", 0, &[6, 6], 4);
    let seg = t.path().join("t-0/00000000000000000024.log");
    let mut bytes = std::fs::read(&seg).unwrap();
    let one = batch_len(4, 100);
    let at = 3 * one + 100; // inside the fourth batch's records
    bytes[at] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();
    let log = LogSet::open(&[t.path().to_path_buf()]).unwrap();
    let m = serve(&log, "sendfile", 1, 1, true).unwrap();
    assert_eq!(m.check_failures.len(), 1, "{:?}", m.check_failures);
    let f = &m.check_failures[0];
    assert!(f.contains(&seg.display().to_string()), "{f}");
    assert!(f.contains(&format!("at byte {}", 3 * one)), "{f}");
    assert!(f.contains("CRC"), "{f}");
}

#[test]
fn a_sink_that_goes_away_stops_the_reader() {
    let t = tempfile::tempdir().unwrap();
    write_partition(t.path(), "t", 0, &[200], 50);
    let log = LogSet::open(&[t.path().to_path_buf()]).unwrap();
    // A sink that accepts the session and then closes without reading.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let fake = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = l.accept().unwrap();
        let mut hdr = [0u8; crate::sink::protocol::HEADER_LEN];
        s.read_exact(&mut hdr).unwrap();
        let h = FrameHeader::decode(&hdr).unwrap();
        let mut p = vec![0u8; h.payload_len as usize];
        s.read_exact(&mut p).unwrap();
        s.write_all(b"{\"ok\":true,\"verify\":false}\n").unwrap();
        let mut some = [0u8; 1000];
        let _ = s.read(&mut some);
        drop(s); // unread data: the reader gets a reset
    });
    let cfg = ReadConfig {
        engine: "sendfile".parse().unwrap(),
        cache: CacheMode::Hot,
        consumers: 1,
        groups: 1,
        fetch_size: 64 << 10,
        duration: Some(Duration::from_secs(30)),
        verify: false,
        until_steady: None,
        rate: None,
    };
    let t0 = std::time::Instant::now();
    let stop = AtomicBool::new(false);
    let target = SinkTarget { addr, remote: true };
    let r = run_repetition(
        &cfg,
        &log,
        &target,
        Arc::new(MonotonicClock::new()),
        &stop,
        &LiveCounters::default(),
    );
    fake.join().unwrap();
    match r {
        Err(ReadError::Sink(m)) => assert!(m.contains("went away"), "{m}"),
        other => panic!(
            "expected a sink failure, got {:?}",
            other.map(|m| m.repetition.bytes)
        ),
    }
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
}

#[test]
fn cold_mode_evicts_the_log() {
    let t = tempfile::tempdir().unwrap();
    write_partition(t.path(), "t", 0, &[300], 40); // about 1.2 MiB
    let log = LogSet::open(&[t.path().to_path_buf()]).unwrap();
    let hot = prepare_cache(&log, CacheMode::Hot).unwrap();
    assert!(hot.ratio() > 0.99, "{hot:?}");
    let cold = prepare_cache(&log, CacheMode::Cold).unwrap();
    let fs = crate::runner::storage::StorageContext::for_dir(t.path()).fs_type;
    if cold.ratio() > 0.5 {
        return skip(
            Skip::Platform,
            &format!("the file system here ({fs:?}) does not evict with POSIX_FADV_DONTNEED"),
        );
    }
    assert!(cold.ratio() < 0.05, "{cold:?}");
    assert_eq!(cold.file_bytes, hot.file_bytes);
}

/// A paced group reads at most its rate (plus the first fetch of each consumer, due at the
/// start) however fast the machine; an unpaced one would pass over this log many times.
#[test]
fn a_paced_group_reads_no_more_than_its_rate() {
    let t = tempfile::tempdir().unwrap();
    for p in 0..2 {
        write_partition(t.path(), "t", p, &[300], 40);
    }
    let log = LogSet::open(&[t.path().to_path_buf()]).unwrap();
    let (rate, secs) = (1e6, 0.6);
    let cfg = ReadConfig {
        engine: "readwrite".parse().unwrap(),
        cache: CacheMode::Hot,
        consumers: 2,
        groups: 1,
        fetch_size: 64 << 10,
        duration: Some(Duration::from_secs_f64(secs)),
        verify: false,
        rate: Some(rate),
        until_steady: None,
    };
    let m = serve_cfg(&log, cfg).unwrap();
    let r = &m.repetition;
    assert!(r.bytes > 0);
    assert!(
        (r.bytes as f64) <= rate * secs + 2.0 * (64 << 10) as f64,
        "{} bytes in {secs} s at {rate} B/s",
        r.bytes
    );
}

/// A cold reader with a duration evicts its partitions between passes (flush and
/// `POSIX_FADV_DONTNEED`, no write): every pass is still delivered whole and valid.
#[test]
fn a_cold_reader_with_a_duration_delivers_whole_valid_passes() {
    let t = tempfile::tempdir().unwrap();
    write_partition(t.path(), "t", 0, &[50], 40);
    let log = LogSet::open(&[t.path().to_path_buf()]).unwrap();
    let cfg = ReadConfig {
        engine: "readwrite".parse().unwrap(),
        cache: CacheMode::Cold,
        consumers: 1,
        groups: 1,
        fetch_size: 64 << 10,
        duration: Some(Duration::from_millis(400)),
        verify: true,
        rate: None,
        until_steady: None,
    };
    let m = serve_cfg(&log, cfg).unwrap();
    assert!(m.check_failures.is_empty(), "{:?}", m.check_failures);
    assert!(m.repetition.bytes >= log.bytes, "at least one whole pass");
}
