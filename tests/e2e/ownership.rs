//! Ownership end to end (issue 22, data safety 1, 2, 3 and 6): no output replaces a file
//! segbench did not write; cleanup removes only what the run made; `clean` recognises every
//! layout segbench writes, after SIGKILL too, and keeps its marker while anything is left.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::util::{
    assert_bad_input, assert_success, segbench_in, small_tmpfs, spawn_in, spawn_long_write,
    wait_for, wait_for_log_bytes, wait_within,
};

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

/// `--hdr-log DIR` never replaces a user's `.hlog` file there, and replaces its own.
#[test]
fn interval_logs_replace_only_segbench_s_own() {
    let t = tempfile::tempdir().unwrap();
    let logs = t.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let mine = logs.join("write_null.hlog");
    fs::write(&mine, "my notes\n").unwrap();
    let args = [
        "write",
        "--engine",
        "null",
        "--size",
        "1MiB",
        "--no-probe",
        "-q",
        "--hdr-log",
        "logs",
    ];
    assert_bad_input(&segbench_in(t.path(), &args), "not a segbench interval log");
    assert_eq!(fs::read_to_string(&mine).unwrap(), "my notes\n");
    fs::remove_file(&mine).unwrap();
    assert_success(&segbench_in(t.path(), &args));
    assert!(results::hdrlog::is_ours(&mine));
    assert_success(&segbench_in(t.path(), &args));
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

/// Starts `segbench ARGS` in `cwd` and SIGKILLs it once it appends under `cwd/d` (and `also`,
/// when given, exists): a run that left everything behind.
fn kill_once_writing(cwd: &Path, args: &[&str], also: Option<&str>) {
    kill_when_writing(cwd, spawn_in(cwd, args), also);
}

/// SIGKILLs `child` once it appends under `cwd/d` (and `also`, when given, exists).
fn kill_when_writing(cwd: &Path, mut child: std::process::Child, also: Option<&str>) {
    wait_for_log_bytes(&cwd.join("d"));
    if let Some(p) = also {
        wait_for(&cwd.join(p));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        cwd.join("d").join(MARKER).exists(),
        "the run left its marker"
    );
}

/// `segbench clean d` in `cwd` removes the whole tree (segbench created `d`) and exits 0.
fn clean_removes_everything(cwd: &Path) {
    let left: Vec<String> = walk(&cwd.join("d"));
    let out = segbench_in(cwd, &["clean", "d"]);
    assert_success(&out);
    assert!(
        !cwd.join("d").exists(),
        "clean left {:?} of {left:?}: {}",
        walk(&cwd.join("d")),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every path under `dir`, relative, for messages.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        out.push(p.strip_prefix(dir).unwrap().display().to_string());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            for s in walk(&p) {
                out.push(format!("{}/{s}", e.file_name().to_string_lossy()));
            }
        }
    }
    out
}

const MARKER: &str = ".segbench-data";

#[test]
fn clean_after_sigkill_of_replicate_removes_its_tree() {
    let t = tempfile::tempdir().unwrap();
    kill_once_writing(
        t.path(),
        &[
            "replicate",
            "--dir",
            "d",
            "--duration",
            "30s",
            "--partitions",
            "2",
            "--segment-size",
            "1MiB",
            "--repeat",
            "1",
            "--no-probe",
            "-q",
        ],
        None,
    );
    clean_removes_everything(t.path());
}

#[test]
fn clean_after_sigkill_of_mixed_removes_its_tree() {
    let t = tempfile::tempdir().unwrap();
    kill_once_writing(
        t.path(),
        &[
            "mixed",
            "--write",
            "name=w,engine=buffered,partitions=2,segment_size=1MiB",
            "--read",
            "name=tail,engine=sendfile,cache=hot,size=2MiB,partitions=2",
            "--checkpoint",
            "name=cp,size=64KiB,every=100ms",
            "--duration",
            "30s",
            "--warmup",
            "0",
            "--dir",
            "d",
            "--no-probe",
            "-q",
        ],
        Some("d/m0-r0-with-w"),
    );
    clean_removes_everything(t.path());
}

#[test]
fn clean_after_sigkill_of_a_suite_with_replicate_and_mixed_removes_its_tree() {
    let t = tempfile::tempdir().unwrap();
    fs::write(
        t.path().join("s.toml"),
        r#"name = "both"
repeat = 1
warmup = "0"

[[workload]]
kind = "mixed"
name = "mix"
duration = "300ms"

[[workload.part]]
kind = "write"
name = "w"
engines = ["buffered"]
partitions = 2
segment_size = "1MiB"

[[workload.part]]
kind = "checkpoint"
name = "cp"
size = "64KiB"
every = "100ms"

[[workload]]
kind = "replicate"
name = "rep"
acks = "all"
partitions = 2
duration = "30s"
"#,
    )
    .unwrap();
    kill_once_writing(
        t.path(),
        &["run", "s.toml", "--dir", "d", "--out", "res", "-q"],
        Some("d/rep-acksall-r0"),
    );
    clean_removes_everything(t.path());
}

#[test]
fn clean_keeps_its_marker_and_fails_while_something_foreign_is_left() {
    let t = tempfile::tempdir().unwrap();
    kill_when_writing(t.path(), spawn_long_write(t.path()), None);
    fs::create_dir(t.path().join("d/photos")).unwrap();
    fs::write(t.path().join("d/photos/cat.jpg"), "meow").unwrap();
    let out = segbench_in(t.path(), &["clean", "d"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("photos"), "says what is left: {err}");
    assert!(
        t.path().join("d").join(MARKER).exists(),
        "marker kept: {err}"
    );
    assert!(
        !t.path().join("d/w0-r0").exists(),
        "its own files went: {err}"
    );
    assert_eq!(
        fs::read(t.path().join("d/photos/cat.jpg")).unwrap(),
        b"meow"
    );
    // Once the user moved their files away, clean finishes.
    fs::remove_dir_all(t.path().join("d/photos")).unwrap();
    clean_removes_everything(t.path());
}

#[test]
fn a_live_run_removes_only_what_it_made_and_fences_a_nested_run() {
    let t = tempfile::tempdir().unwrap();
    let mut outer = spawn_long_write(t.path());
    wait_for_log_bytes(&t.path().join("d/w0-r0"));
    // A user's directory inside the run's tree, holding a file named like a segment.
    let mine = t.path().join("d/w0-r0/mine");
    fs::create_dir(&mine).unwrap();
    fs::write(mine.join("00000000000000000000.log"), "my log").unwrap();
    let part = fs::read_dir(t.path().join("d/w0-r0"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name() != "mine")
        .unwrap()
        .path();
    let deeper = part.join("mine-too");
    fs::create_dir(&deeper).unwrap();
    fs::write(deeper.join("00000000000000000000.index"), "my index").unwrap();
    // Another live run started inside it.
    let nested = t.path().join("d/w0-r0/nested");
    let mut inner = spawn_in(
        t.path(),
        &[
            "write",
            "--duration",
            "60s",
            "--dir",
            nested.to_str().unwrap(),
            "--no-probe",
            "-q",
        ],
    );
    wait_for_log_bytes(&nested);
    let inner_files = walk(&nested);

    kill(Pid::from_raw(outer.id() as i32), Signal::SIGINT).unwrap();
    let status = wait_within(&mut outer, Duration::from_secs(10)).expect("outer stops");
    let err = {
        let mut s = String::new();
        use std::io::Read;
        outer.stderr.take().unwrap().read_to_string(&mut s).unwrap();
        s
    };
    assert_eq!(status.code(), Some(130), "{err}");
    assert_eq!(
        fs::read(mine.join("00000000000000000000.log")).unwrap(),
        b"my log",
        "{err}"
    );
    assert_eq!(
        fs::read(deeper.join("00000000000000000000.index")).unwrap(),
        b"my index",
        "{err}"
    );
    assert!(nested.join(MARKER).exists(), "{err}");
    let now = walk(&nested);
    for f in &inner_files {
        assert!(now.contains(f), "the nested run's {f} is gone: {err}");
    }
    assert!(err.contains("mine"), "names what it left: {err}");
    // The nested run is still alive and cleans up its own.
    assert!(inner.try_wait().unwrap().is_none(), "{err}");
    kill(Pid::from_raw(inner.id() as i32), Signal::SIGINT).unwrap();
    let status = wait_within(&mut inner, Duration::from_secs(10)).expect("inner stops");
    assert_eq!(status.code(), Some(130));
    assert!(!nested.exists());
    assert_eq!(
        fs::read(mine.join("00000000000000000000.log")).unwrap(),
        b"my log"
    );
}

#[test]
fn a_directory_a_full_disk_left_half_made_is_removed_or_cleanable() {
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("mnt");
    let Some(_fs) = small_tmpfs(&mnt, "64k") else {
        return;
    };
    // Fill it: the data directory can still be made, its marker cannot be written.
    let fill = vec![7u8; 4096];
    let mut f = fs::File::create(mnt.join("fill")).unwrap();
    while std::io::Write::write_all(&mut f, &fill).is_ok() {}
    drop(f);
    let out = segbench_in(
        t.path(),
        &["write", "--dir", "mnt/d", "--size", "1MiB", "--no-probe"],
    );
    assert_bad_input(&out, "cannot create it");
    assert!(!mnt.join("d").exists(), "nothing half made is left");

    // What earlier versions left (an empty marker): run sends the user to clean, which takes it.
    let d = t.path().join("d");
    fs::create_dir(&d).unwrap();
    fs::write(d.join(MARKER), "").unwrap();
    let write = ["write", "--dir", "d", "--size", "1MiB", "--no-probe", "-q"];
    assert_bad_input(&segbench_in(t.path(), &write), "segbench clean");
    assert_success(&segbench_in(t.path(), &["clean", "d"]));
    assert!(!d.join(MARKER).exists());
    assert_success(&segbench_in(t.path(), &write));
    // A cut-short marker beside something else: nothing removed.
    fs::write(d.join(MARKER), "segbench data dir").unwrap();
    fs::write(d.join("notes.txt"), "mine").unwrap();
    assert_bad_input(&segbench_in(t.path(), &["clean", "d"]), "notes.txt");
    assert!(d.join("notes.txt").exists() && d.join(MARKER).exists());
}

#[test]
fn a_fleet_ranks_scratch_left_by_a_process_group_sigkill_is_cleanable() {
    use std::os::unix::process::CommandExt;
    let t = tempfile::tempdir().unwrap();
    let tmp = t.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    fs::write(
        t.path().join("s.toml"),
        "name = \"s\"\nrepeat = 1\nwarmup = \"0\"\n\n[[workload]]\nkind = \"write\"\nname = \"w\"\n\
         engines = [\"buffered\"]\nduration = \"60s\"\n",
    )
    .unwrap();
    let mut child = Command::new(crate::util::BIN)
        .args(["fleet", "run", "s.toml", "--dir", "d", "--out", "res"])
        .env_remove("SEGBENCH_FLEET_TOKEN")
        .env("TMPDIR", &tmp)
        .current_dir(t.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    wait_for_log_bytes(&t.path().join("d"));
    let scratch = fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("segbench-fleet-")
        })
        .expect("a scratch directory");
    let pid = child.id() as i32;
    nix::sys::signal::killpg(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    // Every process of the group is gone before clean looks.
    let gone = |p: i32| kill(Pid::from_raw(p), None).is_err();
    let t0 = std::time::Instant::now();
    while !gone(-pid) && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(scratch.exists(), "the SIGKILL left the scratch");
    let out = segbench_in(t.path(), &["clean", scratch.to_str().unwrap()]);
    assert_success(&out);
    assert!(
        !scratch.exists(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The rank's child left its data directory: clean takes it too.
    if t.path().join("d").exists() {
        clean_removes_everything(t.path());
    }
}
