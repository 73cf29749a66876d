//! Bounded resources (issue 22, items 5, 11, 14, 15): free space checked before every writer, a
//! full disk a clear error for every engine, inputs bounded before they cost memory or CPU,
//! impossible figures refused as damaged input.

use crate::util::{assert_bad_input, segbench_in, small_tmpfs};
use workloads::skip::{skip, Skip};

/// Every write engine on a full file system: one clear "no space" line, exit 1 (the `mmap`
/// engine died of SIGBUS, 135, with its data left), partial results written, the data
/// directory removed. (This replaces safety.rs's buffered-only full-disk test.)
#[test]
fn a_full_tmpfs_is_a_clear_enospc_for_every_engine_not_sigbus() {
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("small");
    let Some(_mounted) = small_tmpfs(&mnt, "4m") else {
        return;
    };
    for engine in ["mmap", "buffered", "direct", "uring"] {
        let out_file = format!("{engine}.json");
        let out = segbench_in(
            t.path(),
            &[
                "write",
                "--engine",
                engine,
                "--duration",
                "10s",
                "--segment-size",
                "64MiB",
                "--warmup",
                "0",
                "--repeat",
                "1",
                "--dir",
                "small/d",
                "--out",
                &out_file,
                "--no-probe",
                "--quiet",
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        if engine == "uring" && err.contains("not supported here") {
            skip(
                Skip::Platform,
                &format!("io_uring is not available here: {err}"),
            );
            continue;
        }
        assert_eq!(
            out.status.code(),
            Some(1),
            "{engine}: exit code; stderr: {err}"
        );
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("segbench:")).collect();
        assert_eq!(lines.len(), 1, "{engine}: {err}");
        assert!(
            lines[0].contains("no space left on the device holding") && lines[0].contains(".log"),
            "{engine}: {err}"
        );
        let r = results::io::read_results(t.path().join(&out_file)).unwrap();
        assert!(
            matches!(r.workloads[0].status, results::Status::Failed { .. }),
            "{engine}"
        );
        assert!(
            !mnt.join("d").exists(),
            "{engine}: data removed after the failure"
        );
    }
}

/// Counts and sizes past their stated bounds are refused before anything is allocated or run,
/// and command-line errors speak in flags, not in suite-file syntax.
#[test]
fn bounds_are_refused_up_front_in_the_words_of_the_command_line() {
    let t = tempfile::tempdir().unwrap();
    let quick = ["--no-probe", "--quiet", "--dir", "d"];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&quick);
        segbench_in(t.path(), &all)
    };
    let out = run(&[
        "write", "--engine", "null", "--size", "1MiB", "--repeat", "1000000",
    ]);
    assert_bad_input(&out, "--repeat 1000000: at most 200");
    for cmd in ["write", "replicate"] {
        let out = run(&[cmd, "--batch-size", "1GiB", "--size", "2GiB"]);
        assert_bad_input(&out, "--batch-size 1073741824: at most 67108864 bytes");
    }
    let out = run(&["mixed", "--duration", "1s", "--write", "engine=null"]);
    assert_bad_input(&out, "give at least two, e.g. --write");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--read") && !err.contains("[[workload.part]]"),
        "{err}"
    );
    assert!(!t.path().join("d").exists(), "nothing created");
}

/// `compare` refuses a results file holding an impossible figure (a −1e9 MB/s row was "no
/// significant change", exit 0): exit 2, one line naming the file, the row and the field.
#[test]
fn compare_refuses_impossible_figures_as_damaged_input() {
    let t = tempfile::tempdir().unwrap();
    let base = results::testing::results();
    let mut bad = base.clone();
    let row = bad.workloads[0].name.clone();
    bad.workloads[0].repetitions[0].throughput_bytes_per_s = -1e15;
    results::io::write_results(&t.path().join("base.json"), &base).unwrap();
    results::io::write_results(&t.path().join("new.json"), &bad).unwrap();
    let out = segbench_in(t.path(), &["compare", "base.json", "new.json"]);
    assert_bad_input(
        &out,
        &format!("new.json is damaged: workload '{row}', repetition 0: throughput_bytes_per_s is -1000000000000000, and a figure cannot be negative"),
    );
}

/// Every writer checks the free space before it starts, with or without the probe: `write
/// --size`, `read --size` (the log it writes first), `mixed` read and snapshot parts, and
/// `replicate --size` (the leader's log plus each follower's on this host). Exit 2, one line
/// with the size, the free space and the fix; nothing left behind.
#[test]
fn every_writer_checks_free_space_before_it_starts() {
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("small");
    let Some(_mounted) = small_tmpfs(&mnt, "4m") else {
        return;
    };
    // Each command line is split at spaces; the size the line must name.
    let cases = [
        ("write --engine buffered --size 64MiB --dir small/d", "64.0 MiB"),
        ("read --size 64MiB --data-dir small/d", "64.0 MiB"),
        ("mixed --duration 1s --write engine=null --read engine=sendfile,size=64MiB --dir small/d", "64.0 MiB"),
        ("mixed --duration 1s --write engine=null --snapshot size=64MiB --dir small/d", "64.0 MiB"),
        // 3 MiB fits, but not once for the leader and once for the follower.
        ("replicate --size 3MiB --rf 2 --dir small/d", "6.00 MiB"),
    ];
    for (line, size) in cases {
        let args: Vec<&str> = line.split(' ').collect();
        let mut all = args.clone();
        all.extend_from_slice(&["--no-probe", "--quiet"]);
        let out = segbench_in(t.path(), &all);
        assert_bad_input(&out, "not enough free space");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(size) && err.contains("available"),
            "{args:?}: {err}"
        );
        assert!(!mnt.join("d").exists(), "{args:?}: nothing left behind");
    }
}

/// `run` checks a suite's free space before its first workload: the largest workload's data.
#[test]
fn a_suite_checks_free_space_before_it_starts() {
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("small");
    let Some(_mounted) = small_tmpfs(&mnt, "4m") else {
        return;
    };
    std::fs::write(
        t.path().join("s.toml"),
        "name = \"s\"\nrepeat = 1\nwarmup = \"0s\"\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"buffered\"]\nsize = \"64MiB\"\n",
    )
    .unwrap();
    let out = segbench_in(t.path(), &["run", "s.toml", "--dir", "small/d", "--quiet"]);
    assert_bad_input(&out, "not enough free space");
    assert!(String::from_utf8_lossy(&out.stderr).contains("64.0 MiB"));
    assert!(!mnt.join("d").exists(), "nothing left behind");
}

/// `report` holds about the file's size, not a decoded histogram per workload (each ~264 KB:
/// 2.8 GB for a 47 MB file before): peak RSS of the child under 8x the file plus 40 MB.
#[test]
fn report_memory_is_bounded_by_the_file_size() {
    let t = tempfile::tempdir().unwrap();
    let sample = results::testing::results();
    let mut r = sample.clone();
    r.workloads.clear();
    for i in 0..800 {
        let mut w = sample.workloads[i % 2].clone();
        w.name = format!("{}-{i}", w.name);
        r.workloads.push(w);
    }
    let path = t.path().join("big.json");
    results::io::write_results(&path, &r).unwrap();
    let file_bytes = std::fs::metadata(&path).unwrap().len();
    let mut child = std::process::Command::new(crate::util::BIN)
        .args([
            "report",
            "big.json",
            "--html",
            "r.html",
            "--markdown",
            "r.md",
        ])
        .current_dir(t.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The kernel's high-water mark of the child's resident memory, sampled until it exits
    // (a sample can only miss a late peak, never report one that was not there).
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(300),
            "report ran 5 min"
        );
        let hwm_kb = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .unwrap_or(0);
        peak = peak.max(hwm_kb * 1024);
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert!(status.success(), "{status}");
    let bound = 8 * file_bytes + (40 << 20);
    eprintln!("report: peak RSS {peak} bytes for a {file_bytes}-byte results file");
    assert!(
        peak < bound,
        "peak RSS {peak} bytes for a {file_bytes}-byte file (bound {bound})"
    );
}
