//! `segbench read` and `segbench sink` end to end: engines deliver the whole log verified, to
//! the in-process sink, to a sink in another process, and across a network-namespace pair;
//! a damaged log and a vanished sink fail with exit 1; bad input exits 2 with one line.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{
    assert_bad_input, assert_success, results, segbench_in, spawn_in, wait_for_connection_to,
    wait_within, Listening, NetnsPair, BIN,
};
use results::{Kind, ResultsFile, Status};
use workloads::kafka::batch::{batch_len, encode_batch};
use workloads::payload::PayloadPool;

/// Checks every read workload of `r` completed, verified, with what the sink received equal
/// to what was sent; returns the bytes of each.
fn assert_verified(r: &ResultsFile, engines: &[&str]) -> Vec<u64> {
    assert_eq!(r.workloads.len(), engines.len());
    let mut out = Vec::new();
    for (w, e) in r.workloads.iter().zip(engines) {
        assert_eq!(w.kind, Kind::Read);
        assert_eq!(w.engine, *e);
        assert_eq!(w.status, Status::Completed, "{}: {:?}", w.name, w.status);
        let rep = &w.repetitions[0];
        assert!(rep.bytes > 0 && rep.records > 0);
        assert_eq!(
            rep.extra["sink_bytes"].as_u64(),
            Some(rep.bytes),
            "{}",
            w.name
        );
        assert_eq!(rep.extra["verify_errors"].as_u64(), Some(0), "{}", w.name);
        assert_eq!(
            rep.extra["verified_batches"], rep.extra["kafka_batches"],
            "{}",
            w.name
        );
        assert_eq!(rep.latency_ns.count, rep.batches, "one latency per fetch");
        assert!(rep.cpu_s_per_gb.is_some() && rep.extra["sink_cpu_s_per_gb"].is_number());
        out.push(rep.bytes);
    }
    out
}

#[test]
fn read_serves_the_whole_log_verified_and_removes_it() {
    let t = tempfile::tempdir().unwrap();
    let args = [
        "read",
        "--engine",
        "sendfile",
        "--engine",
        "readwrite",
        "--size",
        "8MiB",
        "--consumers",
        "2",
        "--verify",
        "--repeat",
        "1",
        "--json",
        "--quiet",
        "--no-probe",
        "--segment-size",
        "2MiB",
    ];
    let out = segbench_in(t.path(), &args);
    assert_success(&out);
    let r = results(&out);
    let bytes = assert_verified(&r, &["sendfile", "readwrite"]);
    assert_eq!(bytes[0], bytes[1], "both engines read the same whole log");
    assert!(bytes[0] >= 8 << 20);
    let w = &r.workloads[0];
    assert_eq!(w.name, "read/sendfile/hot");
    assert_eq!(w.config["consumers"], 2);
    // 4 partitions over 2 consumers: no one idle, no skew.
    assert_eq!(w.repetitions[0].extra["idle_consumers"], 0);
    assert!((w.repetitions[0].extra["consumer_skew"].as_f64().unwrap() - 1.0).abs() < 0.05);
    // The terminal table with its comparison went to stderr (stdout is JSON only).
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("read: sendfile") && err.contains("× readwrite"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(t.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "the log written first is removed: {left:?}"
    );
}

/// A `segbench sink` child listening on `listen` (in `netns` when given).
fn start_sink(netns: Option<&str>, listen: &str, extra: &[&str]) -> Listening {
    let mut args = vec!["sink", "--listen", listen];
    args.extend_from_slice(extra);
    Listening::start(netns, &args)
}

#[test]
fn read_sends_to_a_sink_in_another_process() {
    let t = tempfile::tempdir().unwrap();
    let mut sink = start_sink(None, "127.0.0.1:0", &["--verify", "--sessions", "2"]);
    let out = segbench_in(
        t.path(),
        &[
            "read",
            "--sink",
            &sink.addr,
            "--engine",
            "splice",
            "--size",
            "4MiB",
            "--consumers",
            "2",
            "--verify",
            "--repeat",
            "1",
            "--json",
            "--quiet",
            "--no-probe",
        ],
    );
    assert_success(&out);
    let r = results(&out);
    assert_verified(&r, &["splice"]);
    assert_eq!(
        r.workloads[0].config["sink"],
        format!("remote {}", sink.addr)
    );
    let status = sink
        .wait(Duration::from_secs(10))
        .expect("the sink stops after --sessions 2");
    assert!(status.success());
    let lines = sink.output();
    assert_eq!(
        lines.iter().filter(|l| l.contains("session g0-c")).count(),
        2,
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| !l.contains("errors") || l.contains(" 0 errors")),
        "{lines:?}"
    );
}

#[test]
fn a_sink_that_dies_mid_run_stops_the_reader_with_partial_results() {
    let t = tempfile::tempdir().unwrap();
    let mut sink = start_sink(None, "127.0.0.1:0", &[]);
    let mut reader = spawn_in(
        t.path(),
        &[
            "read",
            "--sink",
            &sink.addr,
            "--engine",
            "sendfile",
            "--engine",
            "readwrite",
            "--size",
            "4MiB",
            "--duration",
            "30s",
            "--repeat",
            "2",
            "--json",
            "--quiet",
            "--no-probe",
        ],
    );
    let port: u16 = sink.addr.rsplit(':').next().unwrap().parse().unwrap();
    wait_for_connection_to(port);
    let _ = sink.child.kill();
    let killed = Instant::now();
    let Some(status) = wait_within(&mut reader, Duration::from_secs(20)) else {
        panic!("the reader did not stop after the sink died");
    };
    let stopped_after = killed.elapsed();
    let out = reader.wait_with_output().unwrap();
    assert!(stopped_after < Duration::from_secs(10), "{stopped_after:?}");
    assert_eq!(
        status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = results(&out);
    assert!(r.interrupted);
    assert!(
        matches!(&r.workloads[0].status, Status::Failed { error } if error.contains("went away")),
        "{:?}",
        r.workloads[0].status
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("results are partial"), "{err}");
    let left: Vec<_> = std::fs::read_dir(t.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "the log written first is removed: {left:?}"
    );
}

/// A partition directory `t-0` with a segment of `batches[i]` batches of 4 records each,
/// offsets continuing across segments; returns the segment paths and a batch's length.
fn write_segments(root: &Path, batches: &[usize]) -> (Vec<std::path::PathBuf>, usize) {
    let dir = root.join("t-0");
    std::fs::create_dir_all(&dir).unwrap();
    let mut pool = PayloadPool::new(1 << 16, 5);
    let one = batch_len(4, 200);
    let mut offset = 0i64;
    let mut paths = Vec::new();
    for &n in batches {
        let path = dir.join(format!("{offset:020}.log"));
        let mut bytes = vec![0u8; one * n];
        for b in bytes.chunks_mut(one) {
            encode_batch(b, offset, 1_700_000_000_000, 4, 200, &mut pool);
            offset += 4;
        }
        std::fs::write(&path, &bytes).unwrap();
        paths.push(path);
    }
    (paths, one)
}

/// Cuts the last `bytes` bytes off the file at `path`.
fn cut(path: &Path, bytes: u64) {
    let len = std::fs::metadata(path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len - bytes)
        .unwrap();
}

/// Reads the partition `t-0` under `root` with sendfile once, JSON on stdout, plus `extra`.
fn read_partition(root: &Path, extra: &[&str]) -> std::process::Output {
    let dir = root.join("t-0");
    let mut args = vec![
        "read",
        "--dir",
        dir.to_str().unwrap(),
        "--engine",
        "sendfile",
        "--repeat",
        "1",
        "--json",
        "--no-probe",
    ];
    args.extend_from_slice(extra);
    segbench_in(root, &args)
}

// A batch cut short is legitimate only at the end of a partition's last segment (a live
// broker's); at the end of an earlier segment the log is damaged.
#[test]
fn a_segment_cut_short_before_the_last_is_a_damaged_log() {
    let t = tempfile::tempdir().unwrap();
    let (segs, one) = write_segments(t.path(), &[20, 20, 20]);
    cut(&segs[1], 100);
    let before = std::fs::read(&segs[1]).unwrap();
    let want = format!(
        "{}: batch at byte {} is cut short ({} of {one} bytes); only the last segment of a \
         partition may end in a partial batch: the log is damaged",
        segs[1].display(),
        19 * one,
        one - 100
    );

    // --verify: exit 1 naming the file and the position, before anything is read.
    let out = read_partition(t.path(), &["--verify", "--quiet"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim(), format!("segbench: {want}"));
    assert!(out.stdout.is_empty(), "no results");

    // Without: a warning on stderr (even with --quiet) and in the results; the rest is read.
    let out = read_partition(t.path(), &["--quiet"]);
    assert_success(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("segbench: warning: {want}")), "{err}");
    let r = results(&out);
    assert!(r.warnings.contains(&want), "{:?}", r.warnings);
    assert_eq!(r.workloads[0].status, Status::Completed);
    assert_eq!(
        r.workloads[0].repetitions[0].extra["kafka_batches"], 59,
        "every whole batch"
    );
    assert_eq!(
        std::fs::read(&segs[1]).unwrap(),
        before,
        "--dir is read-only"
    );
}

#[test]
fn the_last_segment_cut_short_is_a_live_log_not_damage() {
    let t = tempfile::tempdir().unwrap();
    let (segs, _) = write_segments(t.path(), &[20, 20]);
    cut(&segs[1], 100);
    let out = read_partition(t.path(), &["--verify", "--quiet"]);
    assert_success(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("damaged"), "{err}");
    let r = results(&out);
    assert!(
        r.warnings.iter().all(|w| !w.contains("damaged")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("a truncated batch at byte")),
        "the tail is noted: {:?}",
        r.warnings
    );
    assert_eq!(r.workloads[0].status, Status::Completed);
    assert_eq!(r.workloads[0].repetitions[0].extra["kafka_batches"], 39);
}

#[test]
fn a_damaged_log_fails_verification_naming_file_and_position() {
    let t = tempfile::tempdir().unwrap();
    let (mut segs, one) = write_segments(t.path(), &[50]);
    let seg = segs.remove(0);
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[17 * one + 300] ^= 0x10;
    std::fs::write(&seg, &bytes).unwrap();
    let before = std::fs::read(&seg).unwrap();
    let dir = t.path().join("t-0");
    let out = segbench_in(
        t.path(),
        &[
            "read",
            "--dir",
            dir.to_str().unwrap(),
            "--engine",
            "mmap",
            "--verify",
            "--repeat",
            "1",
            "--quiet",
            "--no-probe",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.contains(&seg.display().to_string())
            && last.contains(&format!("at byte {}", 17 * one)),
        "{err}"
    );
    assert!(last.contains("CRC-32C"), "{err}");
    assert_eq!(std::fs::read(&seg).unwrap(), before, "--dir is read-only");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("empty-0")).unwrap();
    let empty = t.path().to_str().unwrap();
    let out = segbench_in(t.path(), &["read", "--dir", empty, "--engine", "sendfile"]);
    assert_bad_input(&out, "no segment files");
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sink = format!("127.0.0.1:{port}");
    let out = segbench_in(t.path(), &["read", "--sink", &sink, "--engine", "sendfile"]);
    assert_bad_input(&out, "cannot reach the sink");
    let out = segbench_in(t.path(), &["read", "--engine", "bogus"]);
    assert_bad_input(&out, "unknown read engine");
    let out = segbench_in(t.path(), &["read", "--engine", "uring:qd=0"]);
    assert_bad_input(
        &out,
        "segbench: --engine uring:qd=0: qd=0 is out of range: use 1..=64",
    );
    let out = segbench_in(t.path(), &["read", "--dir", empty, "--size", "1MiB"]);
    assert_bad_input(&out, "--size");
    let out = segbench_in(t.path(), &["sink", "--listen", "not-an-address"]);
    assert_bad_input(&out, "--listen");
    assert_eq!(
        std::fs::read_dir(t.path()).unwrap().count(),
        1,
        "nothing written"
    );
}

#[test]
fn read_across_a_network_namespace_pair() {
    let Some(pair) = NetnsPair::up("read_across_a_network_namespace_pair") else {
        return;
    };
    let (a, b) = (pair.a.clone(), pair.b.clone());
    let mut sink = start_sink(Some(&a), "198.18.1.1:0", &["--verify", "--sessions", "1"]);
    assert!(sink.addr.starts_with("198.18.1.1:"), "{}", sink.addr);
    let t = tempfile::tempdir().unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &b, BIN])
        .args([
            "read",
            "--sink",
            &sink.addr,
            "--engine",
            "sendfile",
            "--size",
            "8MiB",
            "--verify",
            "--repeat",
            "1",
            "--json",
            "--quiet",
            "--no-probe",
        ])
        .current_dir(t.path())
        .output()
        .unwrap();
    assert_success(&out);
    let r = results(&out);
    let bytes = assert_verified(&r, &["sendfile"]);
    assert!(bytes[0] >= 8 << 20);
    assert!(sink
        .wait(Duration::from_secs(10))
        .is_some_and(|s| s.success()));
    let lines = sink.output();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("from 198.18.1.2:") && l.contains(" 0 errors")),
        "{lines:?}"
    );
    drop(pair);
}

#[test]
fn a_sink_stopped_by_sigterm_exits_143() {
    let mut sink = start_sink(None, "127.0.0.1:0", &[]);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sink.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = sink.wait(Duration::from_secs(5)).expect("the sink stops");
    assert_eq!(status.code(), Some(143), "{:?}", sink.output());
}
