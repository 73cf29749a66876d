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
