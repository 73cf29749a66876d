//! `segbench compare BASE.json NEW.json`: the CI performance gate. Exit 0 without a regression,
//! 1 with one, 2 when the files cannot be compared.

use std::path::PathBuf;

use clap::Args;
use results::compare::{self, CompareOptions, Metric};
use results::io::{read_results, write_atomic};

use crate::bad_input;

/// Help after the options.
pub const COMPARE_HELP: &str = "A change counts only when its whole 95% interval (percentile bootstrap of the ratio of
medians over the repetitions) lies beyond the threshold: regressed = throughput lower, or
p99 / p99.9 / CPU per GB higher. Workloads are matched by name and configuration.

Examples:
  segbench compare ci/perf-baseline.json new.json
  segbench compare base.json new.json --threshold 10% --metric throughput,p99 --markdown comment.md
  segbench compare base.json new.json --threshold throughput=40% --threshold cpu=10%
  segbench compare base.json paced.json --ignore-config rate_bytes_per_s

Exit codes: 0 no regression, 1 a regression, 2 the files cannot be compared (not results, other
schema version, different workload configuration, different hardware unless --allow-different-hardware).";

/// Parses `--threshold [METRIC=]PERCENT` for clap.
fn threshold(s: &str) -> Result<(Option<Metric>, f64), String> {
    compare::parse_threshold_arg(s)
}

/// Parses `--metric` for clap.
fn metric(s: &str) -> Result<Metric, String> {
    s.parse().map_err(|e: compare::UnknownMetric| e.to_string())
}

/// `segbench compare`.
#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    /// The reference results file (e.g. the stored baseline).
    #[arg(value_name = "BASE.json")]
    pub base: PathBuf,
    /// The results file to judge.
    #[arg(value_name = "NEW.json")]
    pub new: PathBuf,
    /// Noise threshold: a change counts only when its whole 95% interval lies beyond it (default
    /// 5%); METRIC=PERCENT sets one metric's (e.g. throughput=40%); repeatable.
    #[arg(long = "threshold", value_parser = threshold, allow_hyphen_values = true, value_name = "[METRIC=]PERCENT")]
    pub thresholds: Vec<(Option<Metric>, f64)>,
    /// Metric to compare: throughput, p99, p999, cpu; repeat or separate with commas (default: all).
    #[arg(long = "metric", value_name = "METRIC", value_parser = metric, value_delimiter = ',')]
    pub metrics: Vec<Metric>,
    /// Also write the comparison as Markdown (for a pull-request comment) to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Compare results from machines with different hardware fingerprints.
    #[arg(long)]
    pub allow_different_hardware: bool,
    /// Ignore this configuration key when matching workloads (e.g. rate_bytes_per_s); repeatable.
    #[arg(long = "ignore-config", value_name = "KEY")]
    pub ignore_config: Vec<String>,
}

/// Runs `segbench compare`.
pub fn run(a: CompareArgs) -> anyhow::Result<u8> {
    if let Some(path) = &a.markdown {
        crate::output::check_file(
            "--markdown",
            path,
            &[&a.base, &a.new],
            crate::output::OutputKind::CompareMarkdown,
        )?;
    }
    let base = read_results(&a.base).map_err(|e| bad_input(e.to_string()))?;
    let new = read_results(&a.new).map_err(|e| bad_input(e.to_string()))?;
    let mut opts = CompareOptions {
        metrics: a.metrics.clone(),
        allow_different_hardware: a.allow_different_hardware,
        ignore_config: a.ignore_config.clone(),
        ..CompareOptions::default()
    };
    for (metric, t) in &a.thresholds {
        match metric {
            Some(m) => {
                opts.metric_thresholds.insert(*m, *t);
            }
            None => opts.threshold = *t,
        }
    }
    let c = compare::compare(&base, &new, &opts).map_err(|e| {
        bad_input(format!(
            "cannot compare {} with {}: {e}",
            a.base.display(),
            a.new.display()
        ))
    })?;
    if let Some(path) = &a.markdown {
        // The mark line tells this file from a user's the next time (see `output::check_file`).
        let md = format!("{}\n{}\n", c.render_markdown(), crate::output::COMPARE_MARK);
        write_atomic(path, md.as_bytes()).map_err(|e| bad_input(e.to_string()))?;
    }
    crate::output::print(&c.render_terminal())?;
    Ok(c.exit_code())
}
