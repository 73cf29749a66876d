//! Command-line input refused before any work starts.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

#[test]
fn values_that_are_not_utf8_are_bad_input_not_a_panic() {
    let t = tempfile::tempdir().unwrap();
    let bad = OsStr::from_bytes(b"/tmp/\xff/x.json");
    for args in [
        vec![OsStr::new("write"), OsStr::new("--out"), bad],
        vec![OsStr::new("read"), OsStr::new("--dir"), bad],
        vec![OsStr::new("write"), OsStr::new("--hdr-log"), bad],
        vec![OsStr::new("run"), bad],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_segbench"))
            .args(&args)
            .current_dir(t.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("is not valid UTF-8"), "{err}");
        assert_eq!(
            std::fs::read_dir(t.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }
}

#[test]
fn a_closed_stdout_ends_quietly_with_the_usual_cleanup() {
    // `segbench … | head -1`: the reader is gone before the results are printed.
    let t = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_segbench"))
        .args([
            "write",
            "--engine",
            "buffered",
            "--size",
            "4MiB",
            "--repeat",
            "1",
            "--warmup",
            "0",
            "--dir",
            "d",
            "--no-probe",
            "--json",
        ])
        .current_dir(t.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!t.path().join("d").exists(), "data removed");
}

#[test]
fn outputs_never_replace_a_users_file_and_are_checked_before_the_run() {
    use crate::util::{assert_bad_input, segbench_in};
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("base.json");
    results::io::write_results(&base, &results::testing::results()).unwrap();
    let other = t.path().join("other.json");
    std::fs::copy(&base, &other).unwrap();
    let before = std::fs::read(&other).unwrap();
    // A comparison's Markdown onto a results file.
    let out = segbench_in(
        t.path(),
        &[
            "compare",
            "base.json",
            "base.json",
            "--markdown",
            "other.json",
        ],
    );
    assert_bad_input(&out, "holds a segbench results file");
    assert_eq!(std::fs::read(&other).unwrap(), before);
    // A report into a directory segbench did not fill.
    let mine = t.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("report.html"), "my report").unwrap();
    let out = segbench_in(t.path(), &["run", "--quick", "--out", "mine"]);
    assert_bad_input(&out, "already holds report.html");
    assert_eq!(
        std::fs::read(mine.join("report.html")).unwrap(),
        b"my report"
    );
    // An --out nobody can write: refused before anything is written.
    let out = segbench_in(
        t.path(),
        &[
            "write",
            "--size",
            "1MiB",
            "--dir",
            "d",
            "--out",
            "no/such/dir/r.json",
        ],
    );
    assert_bad_input(&out, "does not exist");
    assert!(!t.path().join("d").exists(), "no data directory was made");
    let out = segbench_in(t.path(), &["run", "--quick", "--hdr-log", "base.json"]);
    assert_bad_input(&out, "not a directory");
}

#[test]
fn runs_that_would_not_fit_the_machine_are_refused_before_they_start() {
    use crate::util::{assert_bad_input, segbench_in};
    let t = tempfile::tempdir().unwrap();
    let write = |extra: &[&str]| {
        let mut a = vec![
            "write", "--engine", "buffered", "--size", "1GiB", "--dir", "d",
        ];
        a.extend_from_slice(extra);
        segbench_in(t.path(), &a)
    };
    // 1024 partitions × 64 MiB batches (the largest batch): an OOM kill halfway, before.
    let out = write(&[
        "--partitions",
        "1024",
        "--batch-size",
        "64MiB",
        "--record-size",
        "1KiB",
    ]);
    assert_bad_input(&out, "of buffers up front");
    // 100,000 partitions × 3 files: "Too many open files" after the first thousands, before.
    let out = write(&["--partitions", "100000"]);
    assert_bad_input(&out, "RLIMIT_NOFILE");
    let out = segbench_in(
        t.path(),
        &[
            "read",
            "--consumers",
            "4097",
            "--engine",
            "sendfile",
            "--size",
            "1MiB",
        ],
    );
    assert_bad_input(&out, "threads");
    assert!(!t.path().join("d").exists(), "nothing written");
}

#[test]
fn every_command_refuses_a_bad_baseline_with_one_line() {
    // One parser for `--baseline` (run, fleet run, plan): the same line, exit 2, nothing written.
    let t = tempfile::tempdir().unwrap();
    let mut plan = vec!["plan"];
    plan.extend_from_slice(crate::plan::EXPLICIT);
    for (value, why) in [
        ("20MB/s", "no '@NODES'"),
        ("fast@10", "'fast' is not a rate"),
        ("20MB/s@0", "'0' is not a node count of at least 1"),
    ] {
        for command in [&["run", "--quick"][..], &["fleet", "run", "--quick"], &plan] {
            let mut args = command.to_vec();
            args.extend(["--baseline", value]);
            let out = crate::util::segbench_in(t.path(), &args);
            crate::util::assert_bad_input(
                &out,
                &format!("invalid value '{value}' for '--baseline <RATE@NODES>': {why}; use RATE@NODES, e.g. 20MB/s@10"),
            );
            assert_eq!(
                std::fs::read_dir(t.path()).unwrap().count(),
                0,
                "{args:?}: nothing written"
            );
        }
    }
}
