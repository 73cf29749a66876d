//! Comparing two results files (`segbench compare BASE NEW`): the CI performance gate.
//!
//! Workloads are matched by name and configuration. For each metric, the figure of every
//! repetition is a sample; the change is the ratio of the new median to the base median, with a
//! 95% confidence interval from a two-sample **percentile bootstrap** of that ratio (Efron &
//! Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall 1993, ch. 13 "Confidence
//! intervals based on bootstrap percentiles"; each sample is resampled independently, as in
//! their two-sample examples): [`BOOTSTRAP_RESAMPLES`](crate::stats::BOOTSTRAP_RESAMPLES) resamples drawn with a fixed seed, so the
//! same files always give the same verdict.
//!
//! The verdict is three-way, after criterion's `analysis/compare.rs`: a change counts only when
//! its **whole** interval lies beyond the noise threshold. `regressed` needs the whole interval
//! beyond the threshold in the bad direction (throughput lower; p99, p99.9 and CPU per GB
//! higher), `improved` the whole interval beyond it in the good direction; everything else —
//! an interval that reaches into `[-threshold, +threshold]` — is `no significant change`.
//! A regression is never called from one point estimate: a side with fewer than
//! [`MIN_REPETITIONS`] repetitions gives no decision.
//!
//! The interval only knows the spread of the repetitions of each run. Run-to-run variation that
//! all repetitions of a run share (other tenants' CPU load, page-cache and writeback state) is
//! what the noise threshold must cover, so each metric may have its own
//! ([`CompareOptions::metric_thresholds`]): on a shared 2-core VM, wall-clock throughput of a
//! page-cache workload moved up to 3x between runs while CPU seconds per GB moved about 10%
//! (see `scripts/gate-noise.sh`).
//!
//! - `verdict`: the metrics, the options ([`CompareOptions`]) and the verdict on one metric;
//! - `table`: the comparison as a terminal or Markdown table;
//! - this module: matching the workloads of two files, and the whole [`Comparison`].
//!
//! The bootstrap itself is in [`crate::stats`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::format;
use crate::identity::tool_version;
use crate::schema::{ResultsFile, RunInfo, Status, WorkloadResult};
use crate::stats::CONFIDENCE;

mod table;
mod verdict;

pub use crate::identity::{config_differences, fingerprint, NON_DEFINING_CONFIG_KEYS};
pub use crate::stats::Change;
pub use verdict::*;

/// Why two results files cannot be compared. Every message is one line and says what differs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompareError {
    /// A workload of the same name ran with another configuration.
    #[error(
        "workload {workload} has a different configuration: {}; compare runs of the same \
         workload (or pass --ignore-config KEY to compare across it on purpose)",
        differences.join(", ")
    )]
    Config {
        /// The workload name.
        workload: String,
        /// `key: base -> new` for each differing key.
        differences: Vec<String>,
    },
    /// The results come from different hardware.
    #[error(
        "the results come from different hardware (fingerprint {base} vs {new}); compare runs \
         on the same machine, or pass --allow-different-hardware"
    )]
    Hardware {
        /// Fingerprint of the base run.
        base: String,
        /// Fingerprint of the new run.
        new: String,
    },
    /// No workload appears in both files.
    #[error("no workload appears in both files (base: {base}; new: {new})")]
    NothingInCommon {
        /// Workload names of the base run.
        base: String,
        /// Workload names of the new run.
        new: String,
    },
    /// A file holds two workloads of one name: which to match would be a guess.
    #[error(
        "the {side} file holds workload {workload} twice; compare matches workloads by name and          will not guess which one (rerun, or merge --append the runs)"
    )]
    DuplicateName {
        /// `base` or `new`.
        side: &'static str,
        /// The name.
        workload: String,
    },
    /// An option is out of range.
    #[error("{0}")]
    Option(String),
}

/// One workload compared, or the reason it was not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadComparison {
    /// Workload name.
    pub name: String,
    /// Engine spec.
    pub engine: String,
    /// One entry per compared metric; empty when the workload was not compared.
    pub metrics: Vec<MetricComparison>,
    /// Why the workload was not compared (skipped, failed), or what to keep in mind.
    pub note: Option<String>,
}

/// Identity of one side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// Run id.
    pub run_id: String,
    /// Host.
    pub host: String,
    /// Start time.
    pub start_time: String,
    /// Tool version and git description.
    pub version: String,
    /// Hardware fingerprint, when probed.
    pub fingerprint: Option<String>,
}

impl Side {
    fn of(r: &ResultsFile) -> Side {
        let RunInfo {
            id,
            host,
            start_time,
            ..
        } = &r.run;
        Side {
            run_id: id.clone(),
            host: host.clone(),
            start_time: start_time.clone(),
            version: tool_version(r),
            fingerprint: fingerprint(r).map(str::to_string),
        }
    }
}

/// A whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The base run.
    pub base: Side,
    /// The new run.
    pub new: Side,
    /// Default noise threshold used (fraction); each metric row carries its own.
    pub threshold: f64,
    /// Bootstrap resamples used.
    pub resamples: usize,
    /// Matched workloads, in the base file's order.
    pub workloads: Vec<WorkloadComparison>,
    /// Workloads only in the base file (not compared).
    pub only_in_base: Vec<String>,
    /// Workloads only in the new file (not compared).
    pub only_in_new: Vec<String>,
    /// What might make the comparison misleading.
    pub warnings: Vec<String>,
}

impl Comparison {
    /// Every compared metric with its workload.
    pub fn results(&self) -> impl Iterator<Item = (&WorkloadComparison, &MetricComparison)> {
        self.workloads
            .iter()
            .flat_map(|w| w.metrics.iter().map(move |m| (w, m)))
    }

    /// How many metrics got this verdict.
    pub fn count(&self, v: Verdict) -> usize {
        self.results().filter(|(_, m)| m.verdict == v).count()
    }

    /// True when any metric regressed.
    pub fn regressed(&self) -> bool {
        self.count(Verdict::Regressed) > 0
    }

    /// Exit code of `segbench compare`: 1 with a regression, else 0.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.regressed())
    }

    /// One line: `1 regressed, 0 improved, 7 no significant change (threshold ±5%, ...)`.
    pub fn summary_line(&self) -> String {
        let mut used: BTreeMap<Metric, f64> = BTreeMap::new();
        for (_, m) in self.results() {
            used.insert(m.metric, m.threshold);
        }
        let distinct: BTreeSet<u64> = used.values().map(|t| t.to_bits()).collect();
        let thresholds = if distinct.len() <= 1 {
            let t = used.values().next().copied().unwrap_or(self.threshold);
            format!("threshold ±{}%", format::plain_percent(t))
        } else {
            let each: Vec<String> = used
                .iter()
                .map(|(m, t)| format!("{} ±{}%", m.label(), format::plain_percent(*t)))
                .collect();
            format!("thresholds {}", each.join(", "))
        };
        format!(
            "{} regressed, {} improved, {} no significant change ({thresholds}; {}% \
             intervals of the ratio of medians, percentile bootstrap, {} resamples)",
            self.count(Verdict::Regressed),
            self.count(Verdict::Improved),
            self.count(Verdict::NoSignificantChange),
            format::plain_percent(CONFIDENCE),
            self.resamples
        )
    }

    /// Notes on workloads and metrics that were not compared, one line each.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        for w in &self.workloads {
            if let Some(n) = &w.note {
                out.push(format!("{}: {n}", w.name));
            }
            for m in &w.metrics {
                if let Some(n) = &m.note {
                    out.push(format!("{} {}: {n}", w.name, m.metric));
                }
            }
        }
        out.extend(
            self.only_in_base
                .iter()
                .map(|n| format!("{n}: only in the base run, not compared")),
        );
        out.extend(
            self.only_in_new
                .iter()
                .map(|n| format!("{n}: only in the new run, not compared")),
        );
        out
    }
}

fn status_note(side: &str, w: &WorkloadResult) -> Option<String> {
    match &w.status {
        Status::Completed => None,
        Status::Skipped { reason } => Some(format!("skipped in the {side} run: {reason}")),
        Status::Failed { error } => Some(format!("failed in the {side} run: {error}")),
        Status::Interrupted => Some(format!("interrupted in the {side} run")),
    }
}

/// Compares `new` with `base`.
///
/// Refuses ([`CompareError`]) results from different hardware (unless allowed), a workload
/// present in both with another configuration, and files without a workload in common.
/// Workloads that did not complete on either side are reported, not compared.
pub fn compare(
    base: &ResultsFile,
    new: &ResultsFile,
    opts: &CompareOptions,
) -> Result<Comparison, CompareError> {
    check_thresholds(opts)?;
    let warnings = run_warnings(base, new, opts)?;
    let metrics: Vec<Metric> = if opts.metrics.is_empty() {
        Metric::ALL.to_vec()
    } else {
        let mut m = opts.metrics.clone();
        m.sort();
        m.dedup();
        m
    };
    for (side, r) in [("base", base), ("new", new)] {
        let mut seen = BTreeSet::new();
        if let Some(w) = r.workloads.iter().find(|w| !seen.insert(w.name.as_str())) {
            return Err(CompareError::DuplicateName {
                side,
                workload: w.name.clone(),
            });
        }
    }
    let by_name: BTreeMap<&str, &WorkloadResult> =
        new.workloads.iter().map(|w| (w.name.as_str(), w)).collect();
    let base_names: BTreeSet<&str> = base.workloads.iter().map(|w| w.name.as_str()).collect();
    let mut workloads = Vec::new();
    let mut only_in_base = Vec::new();
    for b in &base.workloads {
        match by_name.get(b.name.as_str()) {
            Some(n) => workloads.push(compare_workload(b, n, &metrics, opts)?),
            None => only_in_base.push(b.name.clone()),
        }
    }
    let only_in_new: Vec<String> = new
        .workloads
        .iter()
        .filter(|w| !base_names.contains(w.name.as_str()))
        .map(|w| w.name.clone())
        .collect();
    if workloads.is_empty() {
        let names = |r: &ResultsFile| {
            if r.workloads.is_empty() {
                "none".to_string()
            } else {
                r.workloads
                    .iter()
                    .map(|w| w.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        return Err(CompareError::NothingInCommon {
            base: names(base),
            new: names(new),
        });
    }
    Ok(Comparison {
        base: Side::of(base),
        new: Side::of(new),
        threshold: opts.threshold,
        resamples: opts.resamples,
        workloads,
        only_in_base,
        only_in_new,
        warnings,
    })
}

/// Refuses a noise threshold outside `[0, 1)`.
fn check_thresholds(opts: &CompareOptions) -> Result<(), CompareError> {
    for t in std::iter::once(&opts.threshold).chain(opts.metric_thresholds.values()) {
        if !(t.is_finite() && (0.0..1.0).contains(t)) {
            return Err(CompareError::Option(format!(
                "threshold {}% is out of range; use 0% to 99%",
                format::plain_percent(*t)
            )));
        }
    }
    Ok(())
}

/// What weakens the comparison of two runs (no probe, different hardware when allowed, an
/// interrupted run); refuses different hardware unless allowed.
fn run_warnings(
    base: &ResultsFile,
    new: &ResultsFile,
    opts: &CompareOptions,
) -> Result<Vec<String>, CompareError> {
    let mut warnings = Vec::new();
    match (fingerprint(base), fingerprint(new)) {
        (Some(a), Some(b)) if a != b => {
            if !opts.allow_different_hardware {
                return Err(CompareError::Hardware {
                    base: a.to_string(),
                    new: b.to_string(),
                });
            }
            warnings.push(format!(
                "the runs come from different hardware (fingerprint {a} vs {b})"
            ));
        }
        (Some(_), Some(_)) => {}
        _ => warnings.push(
            "a run has no hardware probe; cannot check that both ran on the same hardware"
                .to_string(),
        ),
    }
    for (side, r) in [("base", base), ("new", new)] {
        if r.interrupted {
            warnings.push(format!(
                "the {side} run was interrupted; its results are partial"
            ));
        }
    }
    Ok(warnings)
}

/// One workload of both runs compared on `metrics`, or the note why it was not; refuses a
/// workload whose configuration differs.
fn compare_workload(
    b: &WorkloadResult,
    n: &WorkloadResult,
    metrics: &[Metric],
    opts: &CompareOptions,
) -> Result<WorkloadComparison, CompareError> {
    let diffs = config_differences(&b.config, &n.config, &opts.ignore_config);
    if !diffs.is_empty() {
        return Err(CompareError::Config {
            workload: b.name.clone(),
            differences: diffs,
        });
    }
    let mut wc = WorkloadComparison {
        name: b.name.clone(),
        engine: b.engine.clone(),
        metrics: Vec::new(),
        note: None,
    };
    let unfinished: Vec<String> = [status_note("base", b), status_note("new", n)]
        .into_iter()
        .flatten()
        .collect();
    if !unfinished.is_empty() {
        wc.note = Some(format!("not compared: {}", unfinished.join("; ")));
    } else {
        if b.medium != n.medium {
            wc.note = Some(format!(
                "the runs measured different media ({} vs {})",
                format::medium_label(b.medium),
                format::medium_label(n.medium)
            ));
        }
        wc.metrics = metrics
            .iter()
            .map(|&m| compare_metric(m, &b.repetitions, &n.repetitions, opts))
            .collect();
    }
    Ok(wc)
}

/// Parses a threshold argument: `PERCENT` for every metric, or `METRIC=PERCENT` for one
/// (`throughput=40%`).
pub fn parse_threshold_arg(s: &str) -> Result<(Option<Metric>, f64), String> {
    match s.split_once('=') {
        Some((m, p)) => {
            let metric: Metric = m.parse().map_err(|e: UnknownMetric| e.to_string())?;
            Ok((Some(metric), parse_threshold(p)?))
        }
        None => Ok((None, parse_threshold(s)?)),
    }
}

/// Parses a threshold: `5%`, `5` (both five percent) or `2.5%`; 0 to 99 percent.
pub fn parse_threshold(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let num = t.strip_suffix('%').unwrap_or(t).trim();
    let pct: f64 = num
        .parse()
        .map_err(|_| format!("'{s}': expected a percentage such as 5%"))?;
    if !(pct.is_finite() && (0.0..100.0).contains(&pct)) {
        return Err(format!("'{s}': use a percentage from 0% to 99%"));
    }
    Ok(pct / 100.0)
}

#[cfg(test)]
mod tests;
