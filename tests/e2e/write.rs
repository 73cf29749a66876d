//! `segbench write` end to end: every engine writes a small log that reads back as valid Kafka
//! batches whose bytes and records equal the results.

use std::fs;

use crate::util::{assert_bad_input, assert_success, results, segbench_in};
use results::{Kind, Status};
use workloads::kafka::reader::list_partitions;
use workloads::kafka::verify_partition;
use workloads::skip::{skip, Skip};

const SMALL: &[&str] = &[
    "--size",
    "4MiB",
    "--segment-size",
    "1MiB",
    "--record-size",
    "100",
    "--batch-size",
    "16KiB",
    "--warmup",
    "0",
    "--repeat",
    "1",
    "--json",
    "--quiet",
    "--keep",
    "--no-probe",
    "--partitions",
    "2",
];

fn write_and_reread(engine: &str, extra: &[&str]) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("data");
    let dir_s = dir.to_str().unwrap();
    let mut args = vec!["write", "--engine", engine, "--dir", dir_s];
    args.extend_from_slice(SMALL);
    args.extend_from_slice(extra);
    let out = segbench_in(t.path(), &args);
    let r = results(&out);
    let w = &r.workloads[0];
    if let Status::Skipped { reason } = &w.status {
        return skip(Skip::Platform, &format!("{engine}: {reason}"));
    }
    assert_success(&out);
    assert_eq!(w.kind, Kind::Write);
    assert_eq!(w.status, Status::Completed);
    let rep = &w.repetitions[0];
    assert!(rep.bytes >= 4 << 20, "{}", rep.bytes);
    assert!(rep.latency_ns.count == rep.batches && rep.batches > 0);
    assert!(rep.throughput_bytes_per_s > 0.0 && rep.elapsed_s > 0.0);
    assert!(!rep.timeline.bytes.is_empty());
    assert_eq!(rep.timeline.bytes.iter().sum::<u64>(), rep.bytes);
    assert!(
        rep.roll_latency_ns.is_some(),
        "4 MiB over 2 partitions of 1 MiB segments must roll"
    );
    // Everything on disk: re-read every batch and index entry.
    let parts = list_partitions(&dir.join("w0-r0")).unwrap();
    assert_eq!(parts.len(), 2);
    let (mut bytes, mut records) = (0, 0);
    for (_, _, p) in &parts {
        let s = verify_partition(p).unwrap();
        assert!(s.segments >= 2, "{s:?}");
        assert_eq!(s.first_offset, 0);
        assert!(s.index_entries > 0);
        bytes += s.bytes;
        records += s.records;
    }
    assert_eq!(bytes, rep.bytes, "bytes in results vs on disk");
    assert_eq!(records, rep.records, "records in results vs on disk");
    if engine.contains("direct") {
        assert!(
            rep.device_bytes.unwrap() >= rep.bytes,
            "O_DIRECT rewrites partial blocks"
        );
    }
}

#[test]
fn buffered_writes_a_valid_kafka_log() {
    write_and_reread("buffered", &[]);
}

#[test]
fn mmap_writes_a_valid_kafka_log() {
    write_and_reread("mmap", &["--flush", "bytes=256KiB"]);
}

#[test]
fn direct_writes_a_valid_kafka_log() {
    write_and_reread("direct", &["--preallocate"]);
}

#[test]
fn uring_writes_a_valid_kafka_log() {
    write_and_reread("uring:qd=8", &[]);
    write_and_reread("uring:qd=4,direct,fixed", &["--flush", "batch"]);
}

#[test]
fn data_is_removed_and_foreign_directories_untouched() {
    let t = tempfile::tempdir().unwrap();
    let out = segbench_in(
        t.path(),
        &[
            "write",
            "--engine",
            "buffered",
            "--size",
            "1MiB",
            "--warmup",
            "0",
            "--repeat",
            "2",
            "--quiet",
            "--no-probe",
        ],
    );
    assert_success(&out);
    assert_eq!(
        fs::read_dir(t.path()).unwrap().count(),
        0,
        "no data left behind"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("buffered"),
        "table on stdout"
    );

    fs::write(t.path().join("precious"), b"keep me").unwrap();
    let out = segbench_in(
        t.path(),
        &["write", "--dir", ".", "--size", "1MiB", "--no-probe"],
    );
    assert_bad_input(&out, "not empty");
    assert_eq!(fs::read(t.path().join("precious")).unwrap(), b"keep me");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let t = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["write", "--engine", "bogus"], "bogus"),
        (
            &["write", "--engine", "uring:qd=0"],
            "segbench: --engine uring:qd=0: qd=0 is out of range: use 1..=4096",
        ),
        (&["write", "--engine", "uring:frobnicate"], "frobnicate"),
        (&["write", "--size", "0"], "'0'"),
        (&["write", "--size", "-5MiB"], "-5MiB"),
        (&["write", "--size", "lots"], "lots"),
        (
            &["write", "--batch-size", "100", "--record-size", "1KiB"],
            "--batch-size",
        ),
        (&["write", "--segment-size", "4KiB"], "--segment-size"),
        (&["write", "--flush", "sometimes"], "sometimes"),
        (&["write", "--sync", "nope"], "nope"),
        (&["write", "--format", "parquet"], "parquet"),
        (&["write", "--duration", "forever"], "forever"),
        (&["write", "--rate", "fast"], "fast"),
        (&["write", "--repeat", "0"], "--repeat"),
        (&["write", "--bogus-flag"], "--bogus-flag"),
        (&["write", "--size", "500TiB"], "not enough free space"),
    ];
    for (args, needle) in cases {
        let out = segbench_in(t.path(), args);
        assert_bad_input(&out, needle);
    }
    assert_eq!(
        fs::read_dir(t.path()).unwrap().count(),
        0,
        "bad input writes nothing"
    );
}

#[test]
fn direct_on_tmpfs_is_refused() {
    let shm = std::path::Path::new("/dev/shm");
    if !shm.is_dir() {
        return skip(Skip::Platform, "no /dev/shm");
    }
    let t = tempfile::tempdir_in(shm).unwrap();
    let out = segbench_in(
        t.path(),
        &[
            "write",
            "--engine",
            "direct",
            "--dir",
            "d",
            "--size",
            "1MiB",
            "--no-probe",
        ],
    );
    if out.status.code() == Some(0) {
        return skip(Skip::Platform, "this kernel's tmpfs supports O_DIRECT");
    }
    assert_bad_input(&out, "O_DIRECT");
    assert!(
        !t.path().join("d").exists(),
        "the data directory it created is removed"
    );
}

#[test]
fn flushing_runs_report_sync_latency_and_slow_syncs() {
    let t = tempfile::tempdir().unwrap();
    let out = segbench_in(
        t.path(),
        &[
            "write",
            "--engine",
            "buffered",
            "--flush",
            "batch",
            "--sync",
            "fsync",
            "--size",
            "512KiB",
            "--warmup",
            "0",
            "--repeat",
            "1",
            "--quiet",
            "--no-probe",
            "--json",
        ],
    );
    assert_success(&out);
    let r = results(&out);
    let rep = &r.workloads[0].repetitions[0];
    // With --json the table goes to stderr.
    let table = String::from_utf8_lossy(&out.stderr);
    let line = table
        .lines()
        .find(|l| l.contains("write/buffered:"))
        .unwrap_or_else(|| panic!("{table}"));
    // One fsync per batch.
    assert_eq!(rep.flush_latency_ns.as_ref().unwrap().count, rep.batches);
    assert!(
        line.contains(&format!("{} fsync calls", rep.batches)),
        "{line}"
    );
    assert!(line.contains("over 1000 ms"), "{line}");
}
