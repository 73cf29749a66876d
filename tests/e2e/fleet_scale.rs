//! The fleet at scale, from outside: rank 0 refuses a count its open-file limit cannot hold
//! (2 per rank), before it listens. The run itself at 256 ranks is `fleet::sim` (unit tests).

use std::process::Command;

#[test]
fn rank_0_refuses_more_ranks_than_its_open_file_limit_holds() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 100 && exec "$0" fleet run --rank 0 --size 200 --coordinator 127.0.0.1:0 --join-timeout 5s"#)
        .arg(env!("CARGO_BIN_EXE_segbench"))
        .env("SEGBENCH_FLEET_TOKEN", "abcdefghijklmnopqrstuvwxyz012345")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("200 ranks") && err.contains("open files") && err.contains("ulimit -n"),
        "{err}"
    );
    assert!(!err.contains("never joined"), "{err}");
}
