//! `--until-steady` and the `sustained` preset: rounds until the SNIA PTS steady state, the
//! record each repetition keeps, the labels, and the values refused before any work.

use std::path::Path;

use results::steady::{SteadyState, WINDOW_ROUNDS};
use results::{ResultsFile, Status, WorkloadResult};

use crate::util::{assert_bad_input, assert_success, results, segbench_in, small_tmpfs};

/// Every completed repetition of `w` kept its rounds, and its figure is the window's mean;
/// returns the states.
fn states_of(w: &WorkloadResult) -> Vec<SteadyState> {
    w.repetitions
        .iter()
        .map(|r| {
            let s = r
                .steady()
                .unwrap_or_else(|| panic!("{}: no steady-state record", w.name));
            if let Some(win) = &s.window {
                assert_eq!(r.throughput_bytes_per_s, win.mean, "{}", w.name);
                assert_eq!(win.first_round + win.rounds, s.rounds_bytes_per_s.len());
            }
            // Rounds re-cut from the repetition's own timeline: complete rounds only.
            assert!(
                s.rounds_bytes_per_s.len() as f64 * s.round_s <= r.elapsed_s + 1e-6,
                "{}: {} rounds of {} s in {} s",
                w.name,
                s.rounds_bytes_per_s.len(),
                s.round_s,
                r.elapsed_s
            );
            s
        })
        .collect()
}

/// The results of a successful one-workload run that the watcher (not a signal) ended.
fn completed(out: &std::process::Output) -> ResultsFile {
    assert_success(out);
    let r = results(out);
    assert_eq!(
        r.workloads[0].status,
        Status::Completed,
        "ended by the watcher is not interrupted"
    );
    assert!(!r.interrupted);
    r
}

#[test]
fn write_until_steady_runs_rounds_and_labels_the_figure() {
    let t = tempfile::tempdir().unwrap();
    let out = segbench_in(
        t.path(),
        &[
            "write",
            "--engine",
            "buffered",
            "--until-steady=200ms",
            "--duration",
            "6s",
            "--size",
            "1MiB",
            "--warmup",
            "0",
            "--repeat",
            "1",
            "--dir",
            "d",
            "--no-probe",
            "--json",
        ],
    );
    let r = completed(&out);
    let w = &r.workloads[0];
    assert_eq!(
        w.config
            .get(segbench::runner::steady::CONFIG_KEY)
            .and_then(|v| v.as_f64()),
        Some(0.2)
    );
    let s = &states_of(w)[0];
    assert_eq!(s.round_s, 0.2);
    let rep = &w.repetitions[0];
    // At least a window of rounds: the run is 6 s of 0.2 s rounds, and the watcher needs 5.
    assert!(s.rounds_bytes_per_s.len() >= WINDOW_ROUNDS, "{s:?}");
    let win = s.window.expect("a window");
    if rep.elapsed_s < 5.9 {
        // Ended by the watcher, which saw its rounds steady: the timeline's rounds (bytes by
        // completion time, not the watcher's samples) agree up to the counter's 64 KiB steps.
        assert!(win.range_of_mean() <= 0.21, "{s:?}");
        assert!(win.excursion_of_mean() <= 0.11, "{s:?}");
    } else {
        // Ran to the duration (a loaded machine may never settle in 6 s).
        assert!(s.rounds_bytes_per_s.len() >= 29, "{s:?}");
    }
    // The table (stderr with --json) labels the figure the same way.
    let err = String::from_utf8_lossy(&out.stderr);
    let label = if s.steady {
        "steady: rounds"
    } else {
        "NOT STEADY after"
    };
    assert!(err.contains(label), "{err}");
}

#[test]
fn read_until_steady_keeps_its_rounds_too() {
    let t = tempfile::tempdir().unwrap();
    let out = segbench_in(
        t.path(),
        &[
            "read",
            "--engine",
            "sendfile",
            "--size",
            "8MiB",
            "--until-steady=200ms",
            "--duration",
            "3s",
            "--repeat",
            "1",
            "--no-probe",
            "--json",
        ],
    );
    let r = completed(&out);
    let w = &r.workloads[0];
    let s = &states_of(w)[0];
    assert!(s.steady || w.repetitions[0].elapsed_s >= 2.9);
}

#[test]
fn bad_rounds_exit_2_with_one_line_before_any_work() {
    let t = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (
            &["--until-steady=0", "--duration", "5s"][..],
            "a round needs a length",
        ),
        (
            &["--until-steady=6s", "--duration", "5s"],
            "longer than --duration",
        ),
        (
            &["--until-steady=250ms", "--duration", "5s"],
            "whole number of the 100 ms",
        ),
        (&["--until-steady"], "needs --duration"),
    ] {
        let mut a = vec!["write", "--engine", "buffered", "--dir", "d", "--no-probe"];
        a.extend_from_slice(args);
        let out = segbench_in(t.path(), &a);
        assert_bad_input(&out, needle);
        assert!(!t.path().join("d").exists(), "{args:?}: nothing written");
    }
    // A suite's round must fit its workload's duration too.
    std::fs::write(
        t.path().join("s.toml"),
        "name = \"s\"\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"buffered\"]\nduration = \"1s\"\nuntil_steady = \"2s\"\n",
    )
    .unwrap();
    let out = segbench_in(t.path(), &["run", "s.toml", "--print"]);
    assert_bad_input(
        &out,
        "s.toml, line 7: workload 'w': until_steady 2000ms is longer",
    );
}

#[test]
fn the_sustained_preset_prints_its_sizes_and_time_before_it_starts() {
    let t = tempfile::tempdir().unwrap();
    let out = segbench_in(t.path(), &["run", "--preset", "sustained", "--print"]);
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    assert!(
        first.starts_with("# sustained-kafka: size ") && first.contains("× the dirty limit"),
        "{text}"
    );
    assert!(text.contains("# estimated time: at most "), "{text}");
    // What follows the comments is the suite, with the size in bytes.
    let suite = segbench::suite::parse(&text, Path::new("printed")).unwrap();
    let segbench::suite::WorkloadSpec::Write(kafka) = &suite.workloads[0] else {
        panic!("{:?}", suite.workloads[0]);
    };
    assert!(kafka.size.as_deref().unwrap().parse::<u64>().is_ok());
    assert_eq!(kafka.until_steady.as_deref(), Some("5s"));
    // `all` holds the sustained workloads too.
    let out = segbench_in(t.path(), &["run", "--preset", "all", "--print"]);
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("name = \"sustained-zk\""));
}

/// The sustained preset on a 64 MiB tmpfs (root only): segments and retention shrink to fit,
/// direct I/O is skipped (tmpfs refuses O_DIRECT), and every engine that ran ends steady or
/// labelled not steady.
#[test]
fn the_sustained_preset_on_a_small_tmpfs_ends_steady_or_not_steady() {
    let t = tempfile::tempdir().unwrap();
    let Some(_mounted) = small_tmpfs(&t.path().join("small"), "64m") else {
        return;
    };
    let out = segbench_in(
        t.path(),
        &[
            "run",
            "--preset",
            "sustained",
            "--quick",
            "--dir",
            "small/d",
            "--out",
            "out",
        ],
    );
    assert_success(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("to fit") && err.contains("estimated time"),
        "{err}"
    );
    let r: ResultsFile = results::io::read_results(t.path().join("out/results.json")).unwrap();
    let mut ran = 0;
    for w in &r.workloads {
        match &w.status {
            Status::Completed => {
                ran += 1;
                states_of(w);
                let note = results::steady::workload_note(&w.repetitions).unwrap();
                assert!(
                    note.starts_with("steady") || note.starts_with("NOT STEADY"),
                    "{}: {note}",
                    w.name
                );
            }
            Status::Skipped { reason } => assert!(
                w.engine.contains("direct") || w.engine.starts_with("uring"),
                "{}: skipped: {reason}",
                w.name
            ),
            other => panic!("{}: {other:?}", w.name),
        }
    }
    assert!(ran >= 6, "buffered and mmap under three policies at least");
    let summary = std::fs::read_to_string(t.path().join("out/summary.md")).unwrap();
    assert!(
        summary.contains("| NOT STEADY after ") || summary.contains("| steady: rounds "),
        "{summary}"
    );
}
