//! `segbench report` on results files written by earlier versions.

use crate::util::segbench_in;

/// A `segbench run --quick` results file written before the probe schema was typed in `results`
/// (trimmed to four workloads) still renders, machine section included.
#[test]
fn a_results_file_from_before_the_typed_probe_renders() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("results.json");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/results/before-typed-probe.json"
        ),
        &path,
    )
    .unwrap();
    let out = segbench_in(t.path(), &["report", "results.json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    let html = std::fs::read_to_string(t.path().join("report.html")).unwrap();
    assert!(html.contains("<tr><th>CPU model</th><td>AMD EPYC</td></tr>"));
    assert!(html.contains("<tr><th>fingerprint</th><td>a369ead3a268bded</td></tr>"));
    let md = std::fs::read_to_string(t.path().join("summary.md")).unwrap();
    assert!(md.contains("write/direct"), "{md}");
}
