//! Helpers: run the binary, parse its JSON, check one-line errors.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `segbench ARGS` in `cwd`.
pub fn segbench_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segbench"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("segbench runs")
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
