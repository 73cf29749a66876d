//! Helpers: run the binary (to the end, or spawned and waited for), parse its JSON, check
//! its exit code and one-line errors.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_segbench");

/// Runs `segbench ARGS` in `cwd`.
pub fn segbench_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("segbench runs")
}

/// Starts a long buffered write (60 s, no warm-up, no probe, quiet) into `cwd/d` and returns
/// once it has started its first repetition (`d/w0-r0` exists): a live run to stop, kill or
/// get in the way of.
pub fn spawn_long_write(cwd: &Path) -> Child {
    let child = spawn_in(
        cwd,
        &[
            "write",
            "--engine",
            "buffered",
            "--duration",
            "60s",
            "--warmup",
            "0",
            "--dir",
            "d",
            "--no-probe",
            "--quiet",
        ],
    );
    wait_for(&cwd.join("d/w0-r0"));
    child
}

/// Starts `segbench ARGS` in `cwd`, stdout and stderr piped.
pub fn spawn_in(cwd: &Path, args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("segbench starts")
}

/// Waits for `child` to exit on its own, at most `limit`; past it, kills and reaps it and
/// gives `None`.
pub fn wait_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Waits until `path` exists (the run has started writing), at most 20 s.
pub fn wait_for(path: &Path) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts exit code 0, showing stderr otherwise.
pub fn assert_success(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Stdout as results JSON.
pub fn results(out: &Output) -> results::ResultsFile {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "stdout is not results JSON ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Asserts exit code 2 and exactly one line on stderr containing `needle`.
pub fn assert_bad_input(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {err}");
    assert!(lines[0].contains(needle), "'{needle}' not in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A size-limited tmpfs mounted at `dir` (created), unmounted on drop; `None` (with a SKIP line)
/// when not root or the mount fails.
pub fn small_tmpfs(dir: &Path, size: &str) -> Option<Tmpfs> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP: mounting a small tmpfs needs root");
        return None;
    }
    std::fs::create_dir_all(dir).expect("mount point");
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status();
    if !matches!(ok, Ok(s) if s.success()) {
        eprintln!("SKIP: cannot mount a tmpfs here");
        return None;
    }
    Some(Tmpfs(dir.to_path_buf()))
}

/// A tmpfs mounted by [`small_tmpfs`]; unmounted when dropped.
pub struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
