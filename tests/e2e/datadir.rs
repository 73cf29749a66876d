//! Data directories end to end: a live run's directory is refused to a second run and to
//! `clean`, and neither the end-of-run cleanup nor `clean` deletes a file segbench did not write.

use std::fs;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::util::{assert_bad_input, segbench_in, spawn_long_write};

#[test]
fn a_live_run_is_protected_and_a_users_file_inside_it_survives() {
    let t = tempfile::tempdir().unwrap();
    let child = spawn_long_write(t.path());
    let run = t.path().join("d/w0-r0");
    let pid = child.id();
    let mine = run.join("notes.txt");
    fs::write(&mine, b"mine").unwrap();

    let out = segbench_in(
        t.path(),
        &["write", "--dir", "d", "--size", "1MiB", "--no-probe"],
    );
    assert_bad_input(&out, &format!("in use by pid {pid}"));
    let out = segbench_in(t.path(), &["clean", "d"]);
    assert_bad_input(&out, &format!("in use by pid {pid}"));
    assert!(run.exists(), "clean left the live run's data alone");

    kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert_eq!(
        fs::read(&mine).unwrap(),
        b"mine",
        "the user's file survives the cleanup"
    );
    assert!(
        err.contains("notes.txt (not a file segbench writes)"),
        "{err}"
    );
    let segments = fs::read_dir(&run)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_dir())
        .count();
    assert_eq!(segments, 0, "segbench's partition directories are gone");
}

#[test]
fn kept_data_is_named_as_kept_and_clean_removes_only_segbench_files() {
    let t = tempfile::tempdir().unwrap();
    let args = [
        "write",
        "--engine",
        "buffered",
        "--size",
        "2MiB",
        "--warmup",
        "0",
        "--repeat",
        "1",
        "--dir",
        "d",
        "--no-probe",
        "--quiet",
        "--keep",
    ];
    let out = segbench_in(t.path(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = segbench_in(t.path(), &args);
    assert_bad_input(&out, "kept by --keep");

    let run = t.path().join("d/w0-r0");
    let part = fs::read_dir(&run).unwrap().next().unwrap().unwrap().path();
    fs::write(part.join("analysis.csv"), b"mine").unwrap();
    let out = segbench_in(t.path(), &["clean", "d"]);
    let err = String::from_utf8_lossy(&out.stderr);
    // Something is left: the marker stays and clean says so (issue 22, item 3).
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(t.path().join("d/.segbench-data").exists(), "{err}");
    assert!(
        err.contains("analysis.csv (not a file segbench writes)"),
        "{err}"
    );
    assert_eq!(fs::read(part.join("analysis.csv")).unwrap(), b"mine");
    let left: Vec<_> = fs::read_dir(&part)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec!["analysis.csv"], "only the user's file is left");
}

#[test]
fn kept_data_of_a_suites_workloads_never_collides() {
    // Two write workloads in one suite with --keep: each keeps its own repetition directories
    // (both used to be named w0-r0, and the second workload was skipped with "File exists").
    let t = tempfile::tempdir().unwrap();
    let suite = t.path().join("two.toml");
    let workload = |name: &str| {
        format!(
            "[[workload]]\nkind = \"write\"\nname = \"{name}\"\nengines = [\"buffered\"]\n\
             partitions = 1\nsize = \"1MiB\"\n"
        )
    };
    fs::write(
        &suite,
        format!(
            "name = \"two\"\nrepeat = 1\nwarmup = \"0\"\n{}{}",
            workload("a"),
            workload("b")
        ),
    )
    .unwrap();
    let out = segbench_in(
        t.path(),
        &["run", "two.toml", "--dir", "d", "--keep", "--out", "res"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("File exists"), "{err}");
    let r = results::io::read_results(t.path().join("res/results.json")).unwrap();
    assert!(
        r.workloads
            .iter()
            .all(|w| w.status == results::Status::Completed),
        "{err}"
    );
    for kept in ["d/w0-r0", "d/w1-r0"] {
        assert!(t.path().join(kept).is_dir(), "{kept} kept");
    }
}
