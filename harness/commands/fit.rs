//! `segbench fit RESULTS.json`: the Universal Scalability Law fit of every sweep of a results
//! file ([`results::fit`]), as a table or `--json`.

use std::path::PathBuf;

use clap::Args;
use results::export::terminal;
use results::io::read_results;

use crate::bad_input;

/// Help after the options.
pub const FIT_HELP: &str =
    "Fits Gunther's Universal Scalability Law X(N) = λN / (1 + σ(N − 1) + κN(N − 1)) to every
sweep in a results file (partitions, threads, queue depth, consumers, groups; the hosts of a
fleet run's scaling phase), by least squares on the median throughputs with κ ≥ 0:
  λ   throughput of one unit at N = 1 without contention (MB/s, MB = 10^6 bytes)
  σ   contention: the serialised share (negative: the points grow faster than linearly,
      reported as superlinear, not clamped)
  κ   coherency: the cost of keeping units consistent, which makes throughput fall past N*
  N*  √((1 − σ)/κ), where the fitted throughput peaks (none when κ = 0)
  R²  how much of the points' variation the curve explains
A sweep with fewer than 4 points (or 3 distinct values) gets no fit; its row says why.

Examples:
  segbench run --preset kafka --out kafka-run && segbench fit kafka-run/results.json
  segbench fit results.json --json | jq '.fits[] | {sweep, curve, sigma, kappa, n_star}'

Exit codes: 0 fits printed, 2 the file cannot be read or has no sweep.";

/// `segbench fit`.
#[derive(Debug, Args, Clone)]
pub struct FitArgs {
    /// A results file with sweeps (from `segbench run`, e.g. `--preset kafka`, or `fleet run`).
    #[arg(value_name = "RESULTS.json")]
    pub results: PathBuf,
    /// Print the fits as JSON (throughputs in bytes/s) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `segbench fit`.
pub fn run(a: FitArgs) -> anyhow::Result<u8> {
    let r = read_results(&a.results).map_err(|e| bad_input(e.to_string()))?;
    let rows = results::fit::fit_rows(&r);
    if rows.is_empty() {
        return Err(bad_input(format!(
            "{} has no sweep to fit; run one with sweeps, e.g. segbench run --preset kafka",
            a.results.display()
        )));
    }
    if a.json {
        let doc = serde_json::json!({ "run": r.run.id, "fits": rows });
        crate::output::println(&serde_json::to_string_pretty(&doc)?)?;
    } else {
        crate::output::print(&terminal::fits(&r))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BadInput;

    fn args(results: PathBuf) -> FitArgs {
        FitArgs {
            results,
            json: false,
        }
    }

    fn bad_input(e: anyhow::Error) -> String {
        let msg = e
            .downcast_ref::<BadInput>()
            .unwrap_or_else(|| panic!("not bad input: {e:#}"))
            .to_string();
        assert!(!msg.contains('\n'), "not one line: {msg}");
        msg
    }

    #[test]
    fn fit_runs_on_a_file_with_sweeps_and_refuses_one_without() {
        let dir = tempfile::tempdir().unwrap();
        let with = dir.path().join("sweeps.json");
        results::io::write_results(&with, &results::testing::with_sweeps()).unwrap();
        assert_eq!(run(args(with.clone())).unwrap(), 0);
        let mut a = args(with);
        a.json = true;
        assert_eq!(run(a).unwrap(), 0);
        let without = dir.path().join("plain.json");
        results::io::write_results(&without, &results::testing::results()).unwrap();
        let msg = bad_input(run(args(without)).unwrap_err());
        assert!(msg.contains("plain.json has no sweep"), "{msg}");
        let junk = dir.path().join("junk.json");
        std::fs::write(&junk, "{\"not\": \"results\"}").unwrap();
        let msg = bad_input(run(args(junk)).unwrap_err());
        assert!(msg.contains("junk.json"), "{msg}");
        let msg = bad_input(run(args(dir.path().join("absent.json"))).unwrap_err());
        assert!(msg.contains("absent.json"), "{msg}");
    }
}
