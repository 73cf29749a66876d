//! Ownership end to end (issue 22, data safety 1, 2, 3 and 6): no output replaces a file
//! segbench did not write; cleanup removes only what the run made; `clean` recognises every
//! layout segbench writes, after SIGKILL too, and keeps its marker while anything is left.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::util::{assert_bad_input, assert_success, segbench_in};

/// A results file of the current schema, written by segbench's own writer.
fn results_json(dir: &Path, name: &str) {
    results::io::write_results(&dir.join(name), &results::testing::results()).unwrap();
}

/// A quick write into `d` with its results to `out` (run in `dir`).
fn quick_write(dir: &Path, out: &str) -> std::process::Output {
    segbench_in(
        dir,
        &[
            "write",
            "--engine",
            "buffered",
            "--duration",
            "200ms",
            "--warmup",
            "0",
            "--repeat",
            "1",
            "--dir",
            "d",
            "--no-probe",
            "-q",
            "--out",
            out,
        ],
    )
}

#[test]
fn measuring_commands_never_replace_a_users_file_with_their_results() {
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("notes.txt"), "my notes\n").unwrap();
    let out = quick_write(t.path(), "notes.txt");
    assert_bad_input(&out, "notes.txt");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("remove it"),
        "names the fix"
    );
    assert_eq!(
        fs::read_to_string(t.path().join("notes.txt")).unwrap(),
        "my notes\n"
    );
    assert!(!t.path().join("d").exists(), "refused before any work");
    // A link is not replaced either, even to a results file.
    results_json(t.path(), "real.json");
    std::os::unix::fs::symlink("real.json", t.path().join("link.json")).unwrap();
    assert_bad_input(&quick_write(t.path(), "link.json"), "link.json");
    assert!(fs::symlink_metadata(t.path().join("link.json"))
        .unwrap()
        .file_type()
        .is_symlink());

    // read, replicate and mixed share the check (refused before their flags are even used).
    for args in [
        &["read", "--size", "1MiB", "--data-dir", "d"][..],
        &["replicate", "--size", "1MiB", "--dir", "d"][..],
        &[
            "mixed",
            "--write",
            "name=w,engine=buffered",
            "--checkpoint",
            "name=cp,size=256KiB,every=200ms",
            "--dir",
            "d",
        ][..],
    ] {
        let mut a = args.to_vec();
        a.extend(["--no-probe", "-q", "--out", "notes.txt"]);
        assert_bad_input(&segbench_in(t.path(), &a), "notes.txt");
        assert!(!t.path().join("d").exists(), "{args:?}: before any work");
    }
    assert_eq!(
        fs::read_to_string(t.path().join("notes.txt")).unwrap(),
        "my notes\n"
    );

    // segbench's own results file is replaced by the same command run again.
    assert_success(&quick_write(t.path(), "r.json"));
    assert_success(&quick_write(t.path(), "r.json"));
    results::io::read_results(t.path().join("r.json")).unwrap();
}

#[test]
fn reports_and_comparisons_replace_only_their_own_earlier_output() {
    let t = tempfile::tempdir().unwrap();
    results_json(t.path(), "results.json");
    results_json(t.path(), "other.json");
    fs::write(t.path().join("page.html"), "<html>mine</html>").unwrap();
    fs::write(t.path().join("notes.md"), "# my notes\n").unwrap();

    let out = segbench_in(t.path(), &["report", "results.json", "--html", "page.html"]);
    assert_bad_input(&out, "page.html");
    let out = segbench_in(
        t.path(),
        &["report", "results.json", "--markdown", "notes.md"],
    );
    assert_bad_input(&out, "notes.md");
    let out = segbench_in(
        t.path(),
        &[
            "compare",
            "results.json",
            "other.json",
            "--markdown",
            "notes.md",
        ],
    );
    assert_bad_input(&out, "notes.md");
    // A report is not a comparison: neither replaces the other.
    assert_success(&segbench_in(t.path(), &["report", "results.json"]));
    let out = segbench_in(
        t.path(),
        &[
            "compare",
            "results.json",
            "other.json",
            "--markdown",
            "summary.md",
        ],
    );
    assert_bad_input(&out, "summary.md");
    assert_eq!(
        fs::read_to_string(t.path().join("page.html")).unwrap(),
        "<html>mine</html>"
    );
    assert_eq!(
        fs::read_to_string(t.path().join("notes.md")).unwrap(),
        "# my notes\n"
    );

    // Each over its own earlier output: fine.
    assert_success(&segbench_in(t.path(), &["report", "results.json"]));
    for _ in 0..2 {
        let out = segbench_in(
            t.path(),
            &[
                "compare",
                "results.json",
                "other.json",
                "--markdown",
                "cmp.md",
            ],
        );
        assert!(out.status.code() == Some(0) || out.status.code() == Some(1));
    }
}

#[test]
fn merge_never_writes_over_one_of_its_inputs_however_named() {
    let t = tempfile::tempdir().unwrap();
    results_json(t.path(), "a.json");
    results_json(t.path(), "b.json");
    std::os::unix::fs::symlink("a.json", t.path().join("sym.json")).unwrap();
    fs::hard_link(t.path().join("a.json"), t.path().join("hard.json")).unwrap();
    let before = fs::read(t.path().join("a.json")).unwrap();
    for out in ["a.json", "./a.json", "sym.json", "hard.json"] {
        let o = segbench_in(
            t.path(),
            &["merge", "--append", "a.json", "b.json", "-o", out, "-q"],
        );
        assert_bad_input(&o, out);
        assert_eq!(fs::read(t.path().join("a.json")).unwrap(), before, "{out}");
    }
    assert!(fs::symlink_metadata(t.path().join("sym.json"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn fleet_run_keeps_a_users_results_in_its_out_directory() {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir(t.path().join("res")).unwrap();
    fs::write(t.path().join("res/results.json"), "{\"mine\": true}").unwrap();
    fs::write(
        t.path().join("s.toml"),
        "name = \"s\"\nrepeat = 1\nwarmup = \"0\"\n\n[[workload]]\nkind = \"write\"\nname = \"w\"\n\
         engines = [\"buffered\"]\nsize = \"1MiB\"\n",
    )
    .unwrap();
    let out = Command::new(crate::util::BIN)
        .args(["fleet", "run", "s.toml", "--out", "res", "--dir", "d"])
        .env_remove("SEGBENCH_FLEET_TOKEN")
        .current_dir(t.path())
        .output()
        .unwrap();
    assert_bad_input(&out, "res");
    assert_eq!(
        fs::read_to_string(t.path().join("res/results.json")).unwrap(),
        "{\"mine\": true}"
    );
    assert!(!t.path().join("d").exists(), "refused before any work");
}
