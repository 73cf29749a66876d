//! The cross-check scripts in scripts/, in short bounded runs: `crosscheck-iperf3.sh --netns`
//! measures across a network-namespace pair and leaves no namespace and no file behind.
//! (No throughput is asserted: the figures are the script's report, not a test's.)

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use workloads::skip::{skip, Skip};

use crate::util::{can_make_netns, wait_within, BIN};

/// Whether `cmd --version` runs; if not, says so as a SKIP of `test`.
fn have(cmd: &str, test: &str) -> bool {
    let ok = Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        skip(Skip::Prerequisite, &format!("{test} needs {cmd}"));
    }
    ok
}

#[test]
fn crosscheck_iperf3_across_a_namespace_pair_removes_it_after() {
    let test = "crosscheck_iperf3_across_a_namespace_pair_removes_it_after";
    if !can_make_netns(test) || !have("iperf3", test) || !have("python3", test) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/crosscheck-iperf3.sh");
    let mut child = Command::new("bash")
        .arg(&script)
        .arg(t.path())
        .args([
            "--netns", "--pairs", "1", "--time", "1", "--jobs", "sendfile",
        ])
        .args(["--size", "8MiB", "--len", "1MiB"])
        .env("SEGBENCH", BIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    // The script names its namespaces after its PID (bash's, this child's).
    let pid = child.id();
    let status = wait_within(&mut child, Duration::from_secs(120));
    let out = child.wait_with_output().expect("the script's output");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let ns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let ns = String::from_utf8_lossy(&ns.stdout);
    for name in [format!("sbx-a-{pid}"), format!("sbx-b-{pid}")] {
        assert!(
            !ns.lines()
                .any(|l| l.split_whitespace().next() == Some(&name)),
            "{name} left behind: {ns}"
        );
    }
    assert!(
        std::fs::read_dir(t.path()).unwrap().next().is_none(),
        "files left in {:?}",
        t.path()
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{stdout}\n{stderr}"
    );
    // The table's title names the path, and the sendfile row has a ratio: both sides measured.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("namespace pair 198.19.") && l.contains(" over veth")),
        "{stdout}"
    );
    let row = stdout
        .lines()
        .find(|l| l.starts_with("sendfile "))
        .unwrap_or_else(|| panic!("no sendfile row:\n{stdout}"));
    // job, iperf3 median (min-max), segbench median (min-max), ratio, ...
    let ratio = row
        .split_whitespace()
        .nth(5)
        .and_then(|r| r.parse::<f64>().ok());
    assert!(ratio.is_some_and(|r| r > 0.0), "{row}\n{stderr}");
}
