//! Issue 22, items 4, 7, 8, 9 and 11: a follower checks what it appends, a leader admits only
//! followers with the run's token and distrusts what they send, strangers hold no port, and
//! every size a peer sends is bounded.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use workloads::kafka::batch::{batch_len, encode_batch};

use super::super::follower::FollowerFailure;
use super::super::isr::ReplicaState;
use super::super::serve::{accept_followers, check_report, Link};
use super::super::wire::{self, FollowerReport, Start};
use super::super::{follower, ReplicaConfig};
use super::{cfg, test_start, TEST_TOKEN};
use crate::replicate::Acks;
use crate::sink::protocol::{FrameHeader, FrameKind};

const RECORDS: u32 = 4;
const VALUE: usize = 100;
static NEVER: AtomicBool = AtomicBool::new(false);

/// A valid batch of [`RECORDS`] records at `base`.
fn batch(base: i64) -> Vec<u8> {
    let mut pool = workloads::payload::PayloadPool::new(1 << 16, 7);
    let mut b = vec![0u8; batch_len(RECORDS, VALUE)];
    encode_batch(&mut b, base, 1, RECORDS, VALUE, &mut pool);
    b
}

/// Rewrites the batch's CRC-32C over attributes..end (bytes 21..), as a forger would.
fn reseal(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

fn start() -> Start {
    test_start(batch_len(RECORDS, VALUE))
}

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

/// A real leader's join on a thread, waiting up to `timeout` for one follower (the run's token).
fn a_leader_waiting_for_one(
    timeout: Duration,
) -> (
    SocketAddr,
    std::thread::JoinHandle<Result<Vec<Link>, String>>,
) {
    let (l, addr) = listener();
    let stop = AtomicBool::new(false);
    let leader = std::thread::spawn(move || accept_followers(&l, 1, 1, timeout, &stop, TEST_TOKEN));
    (addr, leader)
}

/// A fake leader: admits one follower, sends `start`, answers its first FETCH with one DATA
/// frame of `payload` for partition 0, then ends the repetition; the follower's outcome.
fn follow_a_fake_leader(
    dir: &Path,
    start: Start,
    payload: Vec<u8>,
) -> Result<Vec<FollowerReport>, FollowerFailure> {
    let (l, addr) = listener();
    let leader = std::thread::spawn(move || {
        let stop = AtomicBool::new(false);
        let links = accept_followers(&l, 1, 1, Duration::from_secs(10), &stop, TEST_TOKEN).unwrap();
        let s = &links[0].stream;
        wire::send_json(s, FrameKind::Hello, &start).unwrap();
        if wire::read_header(s, &|| true).is_err() {
            return;
        }
        let mut msg = FrameHeader::data(0, 0, 0, 0, 0, payload.len() as u32)
            .encode()
            .to_vec();
        msg.extend_from_slice(&payload);
        let _ = (&links[0].stream).write_all(&msg);
        let _ = wire::send_control(s, FrameKind::FetchEnd);
        // A follower that took the frame fetches again; then the repetition ends.
        if let Ok(Ok(h)) = wire::read_header(s, &|| true) {
            let _ = wire::read_fetch(s, &h, 1);
        }
        let _ = wire::send_control(s, FrameKind::End);
        // The follower's report (none when it refused), then the session's end.
        let _ = wire::expect_json::<FollowerReport>(s, FrameKind::End);
        let _ = wire::send_control(s, FrameKind::End);
    });
    let (stream, n) = follower::join(addr, Duration::from_secs(10), TEST_TOKEN, &NEVER).unwrap();
    let never = AtomicBool::new(false);
    let out = follower::run_session(
        &stream,
        n,
        &mut |_| Ok(dir.to_path_buf()),
        &never,
        &never,
        &mut |_, _| {},
    );
    drop(stream);
    leader.join().unwrap();
    out
}

fn follower_log(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("follower-1/t-0/00000000000000000000.log")).unwrap_or_default()
}

/// The follower refuses `payload` (after its first `whole` valid bytes), naming `needle`.
fn refused(payload: Vec<u8>, whole: usize, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let first = payload[..whole].to_vec();
    let failed = follow_a_fake_leader(dir.path(), start(), payload).unwrap_err();
    assert!(
        failed.reason.contains("partition 0") && failed.reason.contains(needle),
        "{}",
        failed.reason
    );
    assert!(
        follower_log(dir.path()) == first,
        "only the valid batches are appended"
    );
    assert_eq!(failed.partial.bytes, whole as u64);
}

#[test]
fn a_follower_appends_valid_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut two = batch(0);
    two.extend(batch(i64::from(RECORDS)));
    let done = follow_a_fake_leader(dir.path(), start(), two.clone()).unwrap();
    assert_eq!(done[0].bytes, two.len() as u64);
    assert!(follower_log(dir.path()) == two);
}

#[test]
fn a_follower_refuses_a_corrupt_batch() {
    let mut b = batch(0);
    let last = b.len() - 1;
    b[last] ^= 0x40;
    refused(b, 0, "CRC-32C mismatch");
}

#[test]
fn a_follower_refuses_a_negative_record_count_even_with_a_good_crc() {
    let mut b = batch(0);
    b[57..61].copy_from_slice(&(-7i32).to_be_bytes());
    reseal(&mut b);
    refused(b, 0, "negative records count -7");
}

#[test]
fn a_follower_refuses_a_record_count_its_offsets_do_not_match() {
    // Records tile the body, but the count claims one record more than lastOffsetDelta.
    let mut b = batch(0);
    b[23..27].copy_from_slice(&((RECORDS as i32) - 2).to_be_bytes());
    reseal(&mut b);
    refused(b, 0, "does not match last offset delta");
}

#[test]
fn a_follower_refuses_an_offset_gap() {
    let mut two = batch(0);
    let whole = two.len();
    two.extend(batch(i64::from(RECORDS) + 5));
    refused(two, whole, "at offset 9 where the log ends at offset 4");
    // Not continuing the log from its first batch either.
    refused(batch(3), 0, "at offset 3 where the log ends at offset 0");
}

#[test]
fn a_follower_refuses_a_start_beyond_the_limits_before_making_anything() {
    let dir = tempfile::tempdir().unwrap();
    let huge = Start {
        fetch_max_bytes: 1 << 40,
        ..start()
    };
    let failed = follow_a_fake_leader(dir.path(), huge, batch(0)).unwrap_err();
    assert!(
        failed
            .reason
            .contains("fetch_max_bytes 1099511627776 is out of bounds"),
        "{}",
        failed.reason
    );
    assert!(!dir.path().join("follower-1").exists());
    for (s, needle) in [
        (
            Start {
                partitions: 1 << 30,
                ..start()
            },
            "partitions",
        ),
        (
            Start {
                partitions: 4096,
                fetch_max_bytes: 64 << 20,
                ..start()
            },
            "partitions × fetch_max_bytes",
        ),
        (
            Start {
                segment_size: 1 << 50,
                ..start()
            },
            "segment_size",
        ),
        (
            Start {
                fetch_wait_max_ms: u64::MAX,
                ..start()
            },
            "fetch_wait_max_ms",
        ),
        (
            Start {
                topic: "../../etc".into(),
                ..start()
            },
            "topic",
        ),
    ] {
        let e = s.check().unwrap_err();
        assert!(e.contains(needle), "{e}");
    }
    assert_eq!(start().check(), Ok(()));
}

#[test]
fn a_leader_admits_only_the_runs_token() {
    let (addr, leader) = a_leader_waiting_for_one(Duration::from_secs(10));
    let wrong = follower::join(
        addr,
        Duration::from_secs(5),
        "not-the-token-0123456789",
        &NEVER,
    )
    .unwrap_err();
    assert!(wrong.contains("refused: wrong token"), "{wrong}");
    let none = follower::join(addr, Duration::from_secs(5), "", &NEVER).unwrap_err();
    assert!(none.contains("wrong token"), "{none}");
    let (_s, n) = follower::join(addr, Duration::from_secs(5), TEST_TOKEN, &NEVER).unwrap();
    assert_eq!(n, 1, "the real follower is follower 1, not displaced");
    let links = leader.join().unwrap().unwrap();
    assert_eq!(links.len(), 1);
}

#[test]
fn silent_connections_do_not_keep_a_follower_out() {
    let (addr, leader) = a_leader_waiting_for_one(Duration::from_secs(20));
    let strangers: Vec<TcpStream> = (0..64).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let t0 = Instant::now();
    let (_s, n) = follower::join(addr, Duration::from_secs(10), TEST_TOKEN, &NEVER).unwrap();
    assert_eq!(n, 1);
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    leader.join().unwrap().unwrap();
    drop(strangers);
}

#[test]
fn a_fetch_outside_the_log_or_inside_a_batch_is_refused() {
    let mut st = ReplicaState::new(1, 1, 1_000, 0);
    let path = Path::new("/x/00000000000000000000.log");
    for k in 0..5 {
        st.appended(0, 0, path, k * 100, 100, 4);
    }
    let p = &st.parts[0];
    for ok in [0, 4, 16, 20] {
        assert_eq!(p.check_fetch_offset(ok), Ok(()), "{ok}");
    }
    let e = |o| p.check_fetch_offset(o).unwrap_err();
    assert!(e(-1).contains("negative"));
    assert!(e(21).contains("beyond the log end offset 20"));
    assert!(e(i64::MAX).contains("beyond"));
    assert!(e(5).contains("inside a batch"));
}

#[test]
fn impossible_follower_reports_are_refused() {
    let served = Duration::from_secs(2);
    let good = FollowerReport {
        bytes: 1000,
        fetches: 3,
        appends: 3,
        cpu_s: 0.5,
        flush_latency_hdr: None,
    };
    assert_eq!(check_report(&good, 1000, served), Ok(()));
    let with = |f: fn(&mut FollowerReport)| {
        let mut r = good.clone();
        f(&mut r);
        check_report(&r, 1000, served).unwrap_err()
    };
    assert!(with(|r| r.bytes = 0).contains("0 bytes appended where the leader sent it 1000"));
    assert!(with(|r| r.bytes = 333 << 30).contains("where the leader sent it 1000"));
    assert!(with(|r| r.cpu_s = -11.0).contains("-11 s of CPU"));
    assert!(with(|r| r.cpu_s = f64::NAN).contains("NaN s of CPU"));
    assert!(with(|r| r.cpu_s = 1e9).contains("of CPU"));
}

#[test]
fn the_fetch_wait_and_other_sizes_are_bounded_on_the_command_line() {
    let check = |f: fn(&mut ReplicaConfig)| {
        let mut c = cfg(Acks::All);
        f(&mut c);
        c.check().unwrap_err()
    };
    let e = check(|c| c.fetch_wait_max = Duration::from_millis(1 << 40));
    assert!(
        e.starts_with("--replica-fetch-wait-max-ms 1099511627776: use at most 30000"),
        "{e}"
    );
    assert!(check(|c| c.partitions = 100_000).starts_with("--partitions 100000: use at most"));
    assert!(check(|c| c.segment_size = 1 << 40).starts_with("--segment-size"));
    let e = check(|c| {
        c.partitions = 128;
        c.producers = 1;
        c.fetch_max_bytes = 64 << 20;
    });
    assert!(e.contains("fetch buffers per follower"), "{e}");
}

#[test]
fn wrong_tokens_are_checked_ever_more_slowly() {
    let (addr, leader) = a_leader_waiting_for_one(Duration::from_secs(20));
    let t0 = Instant::now();
    for k in 0..8 {
        let guess = format!("guess-{k:016}");
        assert!(follower::join(addr, Duration::from_secs(5), &guess, &NEVER).is_err());
    }
    // Checked after waits of 0, 10, 20, ... 640 ms: 1.27 s at least.
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(1270), "{took:?}");
    let (_s, n) = follower::join(addr, Duration::from_secs(5), TEST_TOKEN, &NEVER).unwrap();
    assert_eq!(n, 1);
    leader.join().unwrap().unwrap();
}
