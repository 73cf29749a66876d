//! `segbench fit` on a results file with sweeps.

use crate::util::{assert_bad_input, assert_success, segbench_in};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/results/sample.json"
);

/// The sample fixture has a partitions sweep (5 points) and a queue-depth sweep (4 points):
/// both are fitted, in the table and in the JSON, and agree with the library's fit.
#[test]
fn fit_prints_sigma_kappa_and_n_star_per_sweep() {
    let t = tempfile::tempdir().unwrap();
    let out = segbench_in(t.path(), &["fit", SAMPLE]);
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["sweep", "σ", "κ", "N*", "R²", "partitions", "qd", "1–16"] {
        assert!(text.contains(needle), "'{needle}' not in:\n{text}");
    }
    assert!(
        !text.contains("no fit"),
        "both sweeps have 4 points or more:\n{text}"
    );
    let out = segbench_in(t.path(), &["fit", SAMPLE, "--json"]);
    assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fits = doc["fits"].as_array().unwrap();
    let r = results::io::read_results(SAMPLE).unwrap();
    let want = results::fit::fit_rows(&r);
    assert_eq!(fits.len(), want.len());
    for (got, want) in fits.iter().zip(&want) {
        assert_eq!(got["sweep"], want.sweep.as_str());
        assert_eq!(got["sigma"].as_f64(), want.sigma);
        assert_eq!(got["kappa"].as_f64(), want.kappa);
        assert!(got["kappa"].as_f64().unwrap() >= 0.0);
        assert_eq!(got["n_star"].as_f64(), want.n_star);
    }
}

#[test]
fn fit_refuses_a_file_that_is_not_results_or_has_no_sweep_with_one_line() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("junk.json"), "[1, 2, 3]").unwrap();
    let out = segbench_in(t.path(), &["fit", "junk.json"]);
    assert_bad_input(&out, "junk.json");
    let out = segbench_in(t.path(), &["fit", "absent.json"]);
    assert_bad_input(&out, "absent.json");
}
