//! Bounded resources (issue 22, items 5, 11, 14, 15): free space checked before every writer, a
//! full disk a clear error for every engine, inputs bounded before they cost memory or CPU,
//! impossible figures refused as damaged input.

use crate::util::{segbench_in, small_tmpfs};

/// The `mmap` engine on a full file system: one clear "no space" line, exit 1 (not SIGBUS's
/// 135), partial results written, the data directory removed.
#[test]
fn mmap_on_a_full_tmpfs_is_a_clear_enospc_not_sigbus() {
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("small");
    let Some(_mounted) = small_tmpfs(&mnt, "4m") else {
        return;
    };
    let out = segbench_in(
        t.path(),
        &[
            "write",
            "--engine",
            "mmap",
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
            "r.json",
            "--no-probe",
            "--quiet",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("segbench:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("no space left on the device holding") && lines[0].contains(".log"),
        "{err}"
    );
    let r = results::io::read_results(t.path().join("r.json")).unwrap();
    assert!(matches!(
        r.workloads[0].status,
        results::Status::Failed { .. }
    ));
    assert!(!mnt.join("d").exists(), "data removed after the failure");
}
