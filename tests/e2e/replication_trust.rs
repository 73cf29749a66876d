//! Issue 22 (items 7, 9, 11, 12): `segbench replicate --role leader/follower` admit only the
//! run's token, strangers hold no port, sizes are bounded on the command line, and either
//! role stops within 2 s of SIGTERM whatever its peer does.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::replicate::{
    follower_cmd, follower_cmd_with, leader_results, leader_token, start_leader,
};
use crate::util::{assert_bad_input, segbench_in, wait_within, Listening, BIN};

/// A leader for one follower, `extra` appended.
fn leader(cwd: &std::path::Path, extra: &[&str]) -> Listening {
    let mut args = vec!["--rf", "2", "--acks", "1", "--quiet"];
    args.extend_from_slice(extra);
    start_leader(None, cwd, "127.0.0.1:0", &args)
}

/// A follower process of `l`, its output dropped.
fn spawn_follower(cwd: &std::path::Path, l: &Listening) -> Child {
    follower_cmd(None, cwd, l, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, s: Signal) {
    kill(Pid::from_raw(child.id() as i32), s).unwrap();
}

/// Sends SIGTERM to `child` and waits at most 2 s: the time it took and its exit code.
fn term_within_2s(child: &mut Child, what: &str) -> (Duration, Option<i32>) {
    let t0 = Instant::now();
    signal(child, Signal::SIGTERM);
    let status = wait_within(child, Duration::from_secs(2));
    let took = t0.elapsed();
    let status = status.unwrap_or_else(|| panic!("{what} still running 2 s after SIGTERM"));
    (took, status.code())
}

#[test]
fn a_leader_admits_only_followers_with_its_token() {
    let t = tempfile::tempdir().unwrap();
    let l = leader(t.path(), &["--size", "2MiB", "--join-timeout", "60s"]);
    let token = leader_token(&l);
    assert_eq!(token.len(), 32, "{token}");
    // No token: bad input, before anything is made.
    let none = follower_cmd_with(None, t.path(), &l.addr, &[])
        .output()
        .unwrap();
    assert_bad_input(&none, "SEGBENCH_REPLICATION_TOKEN");
    // Too short: bad input with the generator.
    let short = follower_cmd_with(None, t.path(), &l.addr, &[])
        .env("SEGBENCH_REPLICATION_TOKEN", "0123456789")
        .output()
        .unwrap();
    assert_bad_input(&short, "segbench fleet token");
    // A stranger with a wrong token: refused, and it does not take follower 1's place.
    let wrong = follower_cmd_with(None, t.path(), &l.addr, &[])
        .env(
            "SEGBENCH_REPLICATION_TOKEN",
            "ffffffffffffffffffffffffffffffff",
        )
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("wrong token"), "{err}");
    l.wait_line("refused 127.0.0.1", Duration::from_secs(5));
    // The real follower joins and replicates everything.
    let real = follower_cmd_with(None, t.path(), &l.addr, &[])
        .env("SEGBENCH_REPLICATION_TOKEN", &token)
        .output()
        .unwrap();
    assert_eq!(
        real.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    let r = leader_results(l);
    let rep = &r.workloads[0].repetitions[0];
    assert_eq!(rep.extra["followers_lost"].as_array().unwrap().len(), 0);
    assert_eq!(
        rep.extra["follower_bytes"][0],
        rep.extra["follower_bytes_sent"][0]
    );
}

#[test]
fn silent_connections_do_not_keep_the_follower_out() {
    let t = tempfile::tempdir().unwrap();
    let l = leader(t.path(), &["--size", "1MiB", "--join-timeout", "30s"]);
    let strangers: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(&l.addr).unwrap())
        .collect();
    let t0 = Instant::now();
    let mut f = spawn_follower(t.path(), &l);
    l.wait_line("followers joined", Duration::from_secs(5));
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(
        wait_within(&mut f, Duration::from_secs(30)).and_then(|s| s.code()),
        Some(0)
    );
    drop(strangers);
    leader_results(l);
}

#[test]
fn a_follower_stops_within_2s_of_sigterm_while_its_leader_is_frozen() {
    let t = tempfile::tempdir().unwrap();
    let mut l = leader(
        t.path(),
        &[
            "--duration",
            "60s",
            "--rate",
            "1MB/s",
            "--replica-fetch-wait-max-ms",
            "30000",
        ],
    );
    let mut f = spawn_follower(t.path(), &l);
    l.wait_line("followers joined", Duration::from_secs(20));
    // The leader frozen: the follower's fetch gets no answer (before: over 10 s to stop).
    signal(&l.child, Signal::SIGSTOP);
    let (took, code) = term_within_2s(&mut f, "the follower");
    assert_eq!(code, Some(143), "after {took:?}");
    signal(&l.child, Signal::SIGCONT);
    let (took, code) = term_within_2s(&mut l.child, "the leader");
    assert_eq!(code, Some(143), "after {took:?}");
}

/// Before: still running 15 s after SIGTERM.
#[test]
fn a_leader_stops_within_2s_of_sigterm_while_its_follower_is_frozen() {
    let t = tempfile::tempdir().unwrap();
    let mut l = leader(
        t.path(),
        &["--duration", "60s", "--replica-fetch-wait-max-ms", "30000"],
    );
    let mut f = spawn_follower(t.path(), &l);
    l.wait_line("followers joined", Duration::from_secs(20));
    signal(&f, Signal::SIGSTOP);
    let (took, code) = term_within_2s(&mut l.child, "the leader");
    assert_eq!(code, Some(143), "after {took:?}");
    signal(&f, Signal::SIGCONT);
    let _ = f.kill();
    let _ = f.wait();
}

#[test]
fn the_fetch_wait_and_a_short_token_are_refused_before_any_work() {
    let t = tempfile::tempdir().unwrap();
    let out = segbench_in(
        t.path(),
        &[
            "replicate",
            "--size",
            "1MiB",
            "--replica-fetch-wait-max-ms",
            "100000000",
        ],
    );
    assert_bad_input(&out, "use at most 30000");
    let out = Command::new(BIN)
        .current_dir(t.path())
        .args([
            "replicate",
            "--role",
            "leader",
            "--listen",
            "127.0.0.1:0",
            "--size",
            "1MiB",
        ])
        .env("SEGBENCH_REPLICATION_TOKEN", "abc")
        .env_remove("SEGBENCH_FLEET_TOKEN")
        .output()
        .unwrap();
    assert_bad_input(&out, "SEGBENCH_REPLICATION_TOKEN is 3 characters long");
    assert!(
        std::fs::read_dir(t.path()).unwrap().next().is_none(),
        "nothing made"
    );
}

#[test]
fn either_role_waiting_for_its_peer_stops_within_2s_of_sigterm() {
    let t = tempfile::tempdir().unwrap();
    // A leader no follower joins.
    let mut l = leader(t.path(), &["--size", "1MiB", "--join-timeout", "60s"]);
    let (took, code) = term_within_2s(&mut l.child, "the waiting leader");
    assert_eq!(code, Some(143), "after {took:?}");
    // A follower whose leader never answers: a listener that accepts and stays silent.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let mut f = follower_cmd_with(None, t.path(), &addr, &["--join-timeout", "60s"])
        .env("SEGBENCH_REPLICATION_TOKEN", "0123456789abcdef0123")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_held, _) = silent.accept().unwrap();
    let (took, code) = term_within_2s(&mut f, "the joining follower");
    assert_eq!(code, Some(143), "after {took:?}");
}

/// A fake follower joins a real leader with its token, then fetches past the log end
/// (`beyond`) or reports bytes it was never sent: the repetition fails naming follower 1, and
/// the leader exits nonzero (before: a FETCH past the end was booked as the follower's LEO,
/// and a report was taken as it came).
fn fake_follower_against_a_leader(beyond: bool) -> (Option<i32>, String) {
    use segbench::replicate::{follower, wire};
    use segbench::sink::protocol::FrameKind;
    let t = tempfile::tempdir().unwrap();
    let mut l = leader(t.path(), &["--size", "1MiB", "--no-consumer"]);
    let token = leader_token(&l);
    let never = std::sync::atomic::AtomicBool::new(false);
    let addr = l.addr.parse().unwrap();
    let (s, n) = follower::join(addr, Duration::from_secs(10), &token, &never).unwrap();
    assert_eq!(n, 1);
    let start: wire::Start = wire::expect_json(&s, FrameKind::Hello).unwrap();
    let parts = start.partitions as usize;
    if beyond {
        wire::send_fetch(&s, &vec![1 << 40; parts]).unwrap();
    } else {
        // Fetch as a follower does (from the log end the batches give), then claim 333 GiB
        // appended with negative CPU.
        let mut leo = vec![0i64; parts];
        wire::send_fetch(&s, &leo).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "no END from the leader");
            match wire::read_header(&s, &|| Instant::now() >= deadline) {
                Ok(Ok(h)) if h.kind == FrameKind::End => break,
                Ok(Ok(h)) if h.kind == FrameKind::Data => {
                    let mut b = vec![0u8; h.payload_len as usize];
                    wire::read_body(&s, &mut b).unwrap();
                    let mut pos = 0;
                    while pos < b.len() {
                        let batch = workloads::kafka::batch::parse_header(&b[pos..]).unwrap();
                        leo[h.partition as usize] = batch.next_offset();
                        pos += batch.total_len();
                    }
                }
                Ok(Ok(h)) if h.kind == FrameKind::FetchEnd => wire::send_fetch(&s, &leo).unwrap(),
                Ok(Ok(_)) | Ok(Err(wire::Filled::GaveUp)) => {}
                other => panic!("{other:?}"),
            }
        }
        let lie = wire::FollowerReport {
            bytes: 333 << 30,
            fetches: 1,
            appends: 1,
            cpu_s: -11.0,
            flush_latency_hdr: None,
        };
        wire::send_json(&s, FrameKind::End, &lie).unwrap();
    }
    let status = wait_within(&mut l.child, Duration::from_secs(60)).expect("the leader ends");
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut l.child.stdout.take().unwrap(), &mut stdout).unwrap();
    let file: results::ResultsFile = serde_json::from_str(&stdout).unwrap();
    let status_text = format!("{:?}", file.workloads[0].status);
    (status.code(), status_text)
}

#[test]
fn a_fetch_past_the_log_end_fails_the_repetition_naming_the_follower() {
    let (code, status) = fake_follower_against_a_leader(true);
    assert_ne!(code, Some(0));
    assert!(
        status.contains("follower 1") && status.contains("beyond the log end offset"),
        "{status}"
    );
}

#[test]
fn an_impossible_follower_report_fails_the_repetition_naming_the_follower() {
    let (code, status) = fake_follower_against_a_leader(false);
    assert_ne!(code, Some(0));
    assert!(
        status.contains("follower 1 reported") && status.contains("where the leader sent it"),
        "{status}"
    );
}

/// A fake leader sends the real follower process a batch whose CRC does not match: the
/// follower refuses it naming partition and offset, writes nothing of it and exits 1 (before:
/// written, exit 0 "ok").
#[test]
fn a_follower_process_refuses_a_corrupt_batch_and_exits_1() {
    use segbench::replicate::{serve, wire};
    use segbench::sink::protocol::{FrameHeader, FrameKind};
    use workloads::kafka::batch::{batch_len, encode_batch};
    let t = tempfile::tempdir().unwrap();
    let token = "0123456789abcdef-e2e";
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let f = follower_cmd_with(None, t.path(), &addr, &["--keep"])
        .env("SEGBENCH_REPLICATION_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let never = std::sync::atomic::AtomicBool::new(false);
    let links = serve::accept_followers(&l, 1, 1, Duration::from_secs(20), &never, token).unwrap();
    let s = &links[0].stream;
    let len = batch_len(4, 100);
    let start = wire::Start {
        rep: "rep0".into(),
        partitions: 1,
        topic: "t".into(),
        segment_size: 1 << 20,
        index_interval: 4096,
        engine: "buffered".into(),
        batch_bytes: len,
        fetch_max_bytes: 1 << 20,
        fetch_wait_max_ms: 100,
        flush: "never".into(),
        sync: "fdatasync".into(),
    };
    wire::send_json(s, FrameKind::Hello, &start).unwrap();
    let h = wire::read_header(s, &|| false).unwrap().unwrap();
    wire::read_fetch(s, &h, 1).unwrap();
    let mut pool = workloads::payload::PayloadPool::new(1 << 16, 7);
    let mut b = vec![0u8; len];
    encode_batch(&mut b, 0, 1, 4, 100, &mut pool);
    b[len - 1] ^= 1;
    let mut msg = FrameHeader::data(0, 0, 0, 0, 0, len as u32)
        .encode()
        .to_vec();
    msg.extend_from_slice(&b);
    std::io::Write::write_all(&mut &links[0].stream, &msg).unwrap();
    let _ = wire::send_control(s, FrameKind::FetchEnd);
    let out = f.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = summary["error"].as_str().unwrap();
    assert!(
        error.contains("partition 0") && error.contains("offset 0") && error.contains("CRC-32C"),
        "{error}"
    );
    assert_eq!(summary["partial"]["bytes"], 0);
    let log = t
        .path()
        .join("follower-data/rep0/follower-1/t-0/00000000000000000000.log");
    assert_eq!(std::fs::metadata(&log).map_or(0, |m| m.len()), 0);
}
