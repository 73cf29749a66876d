//! Reliability and safety end to end: signals, SIGKILL leftovers and `clean`, a full disk, and
//! parsers that refuse garbage without panicking.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::util::{
    assert_bad_input, assert_success, segbench_in, spawn_in, spawn_long_write, wait_for,
    wait_for_log_bytes, wait_within,
};

fn interrupted_run_keeps_partial_results(signal: Signal, code: i32) {
    let t = tempfile::tempdir().unwrap();
    let mut child = spawn_in(
        t.path(),
        &[
            "write",
            "--engine",
            "buffered",
            "--duration",
            "60s",
            "--warmup",
            "0",
            "--repeat",
            "3",
            "--dir",
            "d",
            "--out",
            "r.json",
            "--no-probe",
            "--segment-size",
            "8MiB",
        ],
    );
    wait_for_log_bytes(&t.path().join("d/w0-r0"));
    let sent = Instant::now();
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    let status = wait_within(&mut child, Duration::from_secs(5)).expect("segbench stops in time");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "stopped after {:?}",
        sent.elapsed()
    );
    assert_eq!(status.code(), Some(code));
    let r = results::io::read_results(t.path().join("r.json")).expect("valid partial results");
    assert!(r.interrupted);
    assert_eq!(r.workloads[0].status, results::Status::Interrupted);
    assert_eq!(r.workloads[0].repetitions.len(), 1);
    assert!(r.workloads[0].repetitions[0].bytes > 0);
    assert!(!t.path().join("d").exists(), "data removed");
}

#[test]
fn an_open_loop_at_a_crawl_ends_on_time_and_stops_on_a_signal() {
    // At 1 B/s a 16 KiB batch is due hours after the one before: the run must still end at
    // its --duration, and a signal must still stop it at once.
    let t = tempfile::tempdir().unwrap();
    let args = [
        "write",
        "--engine",
        "buffered",
        "--rate",
        "1B/s",
        "--warmup",
        "0",
        "--repeat",
        "1",
        "--dir",
        "d",
        "--no-probe",
        "--quiet",
        "--duration",
    ];
    let mut timed: Vec<&str> = args.to_vec();
    timed.push("1s");
    let mut child = spawn_in(t.path(), &timed);
    let status = wait_within(&mut child, Duration::from_secs(20)).expect("the run ends on time");
    assert_eq!(status.code(), Some(0));

    let mut long: Vec<&str> = args.to_vec();
    long.push("60s");
    let mut child = spawn_in(t.path(), &long);
    wait_for_log_bytes(&t.path().join("d/w0-r0"));
    let sent = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let status = wait_within(&mut child, Duration::from_secs(5)).expect("segbench stops in time");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "stopped after {:?}",
        sent.elapsed()
    );
    assert_eq!(status.code(), Some(130));
}

#[test]
fn sigint_stops_within_two_seconds_with_partial_results() {
    interrupted_run_keeps_partial_results(Signal::SIGINT, 130);
}

#[test]
fn sigterm_stops_within_two_seconds_with_partial_results() {
    interrupted_run_keeps_partial_results(Signal::SIGTERM, 143);
}

#[test]
fn a_second_signal_exits_at_once_and_still_removes_the_data() {
    // Standard signals do not queue: a second SIGINT sent before segbench's signal thread took
    // the first merges into it. So after the first, the test keeps sending one every
    // millisecond until the process ends (bounded): whichever arrives after the first was taken
    // is the second signal, unless the whole orderly stop ended in under a millisecond. A
    // machine that fast gets two more tries.
    for _attempt in 0..3 {
        let t = tempfile::tempdir().unwrap();
        let mut child = spawn_long_write(t.path());
        let pid = Pid::from_raw(child.id() as i32);
        kill(pid, Signal::SIGINT).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
            let _ = kill(pid, Signal::SIGINT);
        }
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{err}");
        assert!(
            !t.path().join("d").exists(),
            "data removed either way: {err}"
        );
        if err.contains("second signal") {
            assert!(err.contains("data removed from"), "{err}");
            return;
        }
    }
    panic!("the second signal never arrived before the orderly stop ended");
}

#[test]
fn sighup_stops_like_sigterm_with_partial_results() {
    interrupted_run_keeps_partial_results(Signal::SIGHUP, 129);
}

#[test]
fn a_killed_run_is_recognised_and_clean_removes_only_its_files() {
    let t = tempfile::tempdir().unwrap();
    let mut child = spawn_long_write(t.path());
    child.kill().unwrap();
    child.wait().unwrap();
    let d = t.path().join("d");
    assert!(
        d.join(".segbench-data").exists(),
        "SIGKILL leaves the marker"
    );
    let out = segbench_in(
        t.path(),
        &["write", "--dir", "d", "--size", "1MiB", "--no-probe"],
    );
    assert_bad_input(&out, "segbench clean");
    fs::write(d.join("notes.txt"), b"mine").unwrap();
    let out = segbench_in(t.path(), &["clean", "d"]);
    // Something is left: the marker stays, exit 1 (issue 22, item 3); without it, exit 0.
    assert_eq!(out.status.code(), Some(1));
    let mut left: Vec<String> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec![".segbench-data".to_string(), "notes.txt".to_string()]
    );
    assert_eq!(fs::read(d.join("notes.txt")).unwrap(), b"mine");
    fs::rename(d.join("notes.txt"), t.path().join("notes.txt")).unwrap();
    assert_success(&segbench_in(t.path(), &["clean", "d"]));
    assert!(!d.exists());
    fs::create_dir(&d).unwrap();
    fs::rename(t.path().join("notes.txt"), d.join("notes.txt")).unwrap();
    // Not a segbench directory: nothing removed, exit 2.
    let out = segbench_in(t.path(), &["clean", "d"]);
    assert_bad_input(&out, "not a segbench data directory");
    assert!(d.join("notes.txt").exists());
}

mod fuzz {
    //! Every parser refuses, never panics (proptest with arbitrary input; these are the
    //! repository's fuzz targets, run on every `cargo test`).
    use proptest::prelude::*;
    use std::path::Path;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn cli_values(s in ".{0,40}") {
            let _ = workloads::units::parse_size(&s);
            let _ = workloads::units::parse_duration(&s);
            let _ = workloads::units::parse_rate(&s);
            let _ = s.parse::<workloads::EngineSpec>();
            let _ = s.parse::<workloads::FlushPolicy>();
            let _ = s.parse::<workloads::SyncKind>();
            let _ = segbench::parse::baseline(&s);
        }

        #[test]
        fn unit_like_values(n in "-?[0-9]{0,25}(\\.[0-9]{0,5})?", u in "(|k|KiB|MB|GiB|TB|ms|s|m|h|d|/s|MB/s|x)") {
            let s = format!("{n}{u}");
            if let Ok(v) = workloads::units::parse_size(&s) { prop_assert!(v > 0); }
            if let Ok(d) = workloads::units::parse_duration(&s) { prop_assert!(!d.is_zero()); }
            if let Ok(r) = workloads::units::parse_rate(&s) { prop_assert!(r > 0.0 && r.is_finite()); }
        }

        #[test]
        fn engine_specs(name in "[a-z]{0,8}", opts in proptest::collection::vec("[a-z=0-9,]{0,6}", 0..4)) {
            let s = format!("{name}:{}", opts.join(","));
            if let Ok(spec) = s.parse::<workloads::EngineSpec>() {
                let dir = std::env::temp_dir();
                let _ = workloads::write::build(&spec, &dir, 4096);
                let _ = workloads::read::build(&spec);
            }
        }

        #[test]
        fn suite_toml(s in "(name = \"x\"\n)?(\\[\\[workload\\]\\]\n)?[a-z_ =\"\\[\\]0-9,{}\n]{0,200}") {
            let _ = segbench::suite::parse(&s, Path::new("fuzz.toml"));
        }

        #[test]
        fn results_json(s in "\\{[\"a-z_:0-9,\\[\\]{} .-]{0,300}") {
            let _ = results::io::parse_results(Path::new("fuzz.json"), s.as_bytes());
        }

        #[test]
        fn results_json_bytes(b in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = results::io::parse_results(Path::new("fuzz.json"), &b);
        }
    }

    #[test]
    fn mutated_results_files_are_refused_not_panicked_on() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/results/sample.json"
        ))
        .unwrap();
        let bytes = text.as_bytes();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut m = bytes.to_vec();
            let i = (x as usize) % m.len();
            m[i] = (x >> 32) as u8;
            let cut = (x >> 8) as usize % m.len();
            let _ = results::io::parse_results(Path::new("m.json"), &m);
            let _ = results::io::parse_results(Path::new("m.json"), &m[..cut]);
        }
    }
}

#[test]
fn a_data_directory_that_vanishes_mid_run_fails_with_one_line_and_partial_results() {
    let t = tempfile::tempdir().unwrap();
    let mut child = spawn_in(
        t.path(),
        &[
            "write",
            "--engine",
            "buffered",
            "--duration",
            "30s",
            "--warmup",
            "0",
            "--repeat",
            "1",
            "--segment-size",
            "1MiB",
            "--dir",
            "d",
            "--out",
            "r.json",
            "--no-probe",
            "--quiet",
        ],
    );
    wait_for_log_bytes(&t.path().join("d/w0-r0"));
    fs::rename(t.path().join("d"), t.path().join("moved")).unwrap();
    let status = wait_within(&mut child, Duration::from_secs(10)).expect("segbench stops in time");
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("No such file or directory") && lines[0].contains("/d/w0-r0/"),
        "{err}"
    );
    let r = results::io::read_results(t.path().join("r.json")).unwrap();
    assert!(matches!(
        r.workloads[0].status,
        results::Status::Failed { .. }
    ));
}

#[test]
fn a_stopped_suite_lists_the_workloads_it_never_ran() {
    let t = tempfile::tempdir().unwrap();
    let workload = |name: &str| {
        format!(
            "[[workload]]\nkind = \"write\"\nname = \"{name}\"\nengines = [\"buffered\", \"mmap\"]\n\
             partitions = 1\nduration = \"30s\"\n"
        )
    };
    fs::write(
        t.path().join("two.toml"),
        format!(
            "name = \"two\"\nrepeat = 1\nwarmup = \"0\"\n{}{}",
            workload("a"),
            workload("b")
        ),
    )
    .unwrap();
    let mut child = spawn_in(t.path(), &["run", "two.toml", "--out", "res", "--quiet"]);
    let data = wait_for_data_dir(t.path());
    wait_for(&data.join("w0-r0"));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let status = wait_within(&mut child, Duration::from_secs(10)).expect("stops");
    assert_eq!(status.code(), Some(130));
    let r = results::io::read_results(t.path().join("res/results.json")).unwrap();
    let status_of = |name: &str| {
        r.workloads
            .iter()
            .find(|w| w.name == name)
            .map(|w| w.status.clone())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(status_of("a/buffered"), results::Status::Interrupted);
    for never in ["b/buffered", "b/mmap"] {
        assert!(
            matches!(status_of(never), results::Status::Skipped { reason } if reason.starts_with("not run")),
            "{never}"
        );
    }
    assert!(r
        .workloads
        .iter()
        .all(|w| w.status != results::Status::Completed || !w.repetitions.is_empty()));
}

/// The `segbench-data-*` directory a run without --dir makes in `cwd`.
fn wait_for_data_dir(cwd: &Path) -> std::path::PathBuf {
    let t0 = Instant::now();
    loop {
        if let Some(d) = fs::read_dir(cwd)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("segbench-data-")
            })
        {
            return d;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "no data directory");
        std::thread::sleep(Duration::from_millis(20));
    }
}
