//! Comparing two results files (`segbench compare BASE NEW`): the CI performance gate.
//!
//! Workloads are matched by name and configuration. For each metric, the figure of every
//! repetition is a sample; the change is the ratio of the new median to the base median, with a
//! 95% confidence interval from a two-sample **percentile bootstrap** of that ratio (Efron &
//! Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall 1993, ch. 13 "Confidence
//! intervals based on bootstrap percentiles"; each sample is resampled independently, as in
//! their two-sample examples): [`BOOTSTRAP_RESAMPLES`] resamples drawn with a fixed seed, so the
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
//! - `verdict`: the metrics and the verdict on one of them;
//! - `table`: the comparison as a terminal or Markdown table;
//! - this module: options, matching the workloads of two files, and the whole [`Comparison`].
//!
//! The bootstrap itself is in [`crate::stats`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::format;
use crate::identity::tool_version;
use crate::schema::{ResultsFile, RunInfo, Status, WorkloadResult};
use crate::stats::{BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CONFIDENCE};

mod table;
mod verdict;

pub use crate::identity::{config_differences, fingerprint, NON_DEFINING_CONFIG_KEYS};
pub use crate::stats::Change;
pub use verdict::*;

/// Default noise threshold: changes within ±5% are noise.
pub const DEFAULT_THRESHOLD: f64 = 0.05;

/// How to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// Noise threshold as a fraction (0.05 = ±5%), for every metric without its own.
    pub threshold: f64,
    /// Thresholds of single metrics (latency tails and wall-clock throughput are noisier than
    /// CPU cost on a shared machine), overriding `threshold`.
    pub metric_thresholds: BTreeMap<Metric, f64>,
    /// Metrics to compare.
    pub metrics: Vec<Metric>,
    /// Compare even when the hardware fingerprints differ.
    pub allow_different_hardware: bool,
    /// Further configuration keys to ignore when matching workloads (beyond
    /// [`NON_DEFINING_CONFIG_KEYS`]), e.g. `rate_bytes_per_s` to compare a paced run on purpose.
    pub ignore_config: Vec<String>,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Bootstrap seed.
    pub seed: u64,
}

impl CompareOptions {
    /// The noise threshold of `metric`.
    pub fn threshold_for(&self, metric: Metric) -> f64 {
        self.metric_thresholds
            .get(&metric)
            .copied()
            .unwrap_or(self.threshold)
    }
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            threshold: DEFAULT_THRESHOLD,
            metric_thresholds: BTreeMap::new(),
            metrics: Metric::ALL.to_vec(),
            allow_different_hardware: false,
            ignore_config: Vec::new(),
            resamples: BOOTSTRAP_RESAMPLES,
            seed: BOOTSTRAP_SEED,
        }
    }
}

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

///
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
    for t in std::iter::once(&opts.threshold).chain(opts.metric_thresholds.values()) {
        if !(t.is_finite() && (0.0..1.0).contains(t)) {
            return Err(CompareError::Option(format!(
                "threshold {}% is out of range; use 0% to 99%",
                format::plain_percent(*t)
            )));
        }
    }
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
        let Some(n) = by_name.get(b.name.as_str()) else {
            only_in_base.push(b.name.clone());
            continue;
        };
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
        workloads.push(wc);
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
mod tests {
    use super::*;
    use crate::schema::Repetition;
    use crate::testing::{
        buffered_write as workload, file_of as file, plain_repetition as rep, repetitions as reps,
    };

    fn only(m: Metric) -> CompareOptions {
        CompareOptions {
            metrics: vec![m],
            ..Default::default()
        }
    }

    #[test]
    fn identical_samples_are_no_change_with_a_point_interval() {
        let r = reps(&[500.0, 510.0, 490.0, 505.0, 495.0]);
        let c = compare(
            &file(vec![workload("write/buffered", r.clone())]),
            &file(vec![workload("write/buffered", r)]),
            &CompareOptions::default(),
        )
        .unwrap();
        assert_eq!(c.workloads[0].metrics.len(), 4);
        for (_, m) in c.results() {
            assert_eq!(m.verdict, Verdict::NoSignificantChange, "{m:?}");
            let ch = m.change.unwrap();
            assert_eq!(ch.relative, 0.0);
            assert!(ch.ci_low <= 0.0 && ch.ci_high >= 0.0, "{ch:?}");
        }
        assert_eq!(c.exit_code(), 0);
    }

    #[test]
    fn a_clear_twenty_percent_throughput_drop_is_a_regression() {
        let base = reps(&[500.0, 505.0, 495.0, 502.0, 498.0]);
        let new = reps(&[400.0, 404.0, 396.0, 401.0, 399.0]);
        let c = compare(
            &file(vec![workload("w", base)]),
            &file(vec![workload("w", new)]),
            &only(Metric::Throughput),
        )
        .unwrap();
        let m = &c.workloads[0].metrics[0];
        assert_eq!(m.verdict, Verdict::Regressed);
        let ch = m.change.unwrap();
        assert!((ch.relative + 0.2).abs() < 1e-9, "{ch:?}");
        assert!(ch.ci_low <= ch.relative && ch.relative <= ch.ci_high);
        assert!(ch.ci_high < -0.15 && ch.ci_low > -0.25, "{ch:?}");
        assert_eq!(c.exit_code(), 1);
        assert!(c.render_terminal().contains("regressed"));
        assert!(c.render_markdown().contains("**regressed**"));
    }

    #[test]
    fn latency_and_cpu_regress_upwards() {
        let base: Vec<Repetition> = (0..5).map(|i| rep(i, 5e8, 100_000, 1.0)).collect();
        let new: Vec<Repetition> = (0..5).map(|i| rep(i, 5e8, 130_000, 1.3)).collect();
        let c = compare(
            &file(vec![workload("w", base)]),
            &file(vec![workload("w", new)]),
            &CompareOptions::default(),
        )
        .unwrap();
        let v: Vec<(Metric, Verdict)> = c.results().map(|(_, m)| (m.metric, m.verdict)).collect();
        assert_eq!(
            v,
            vec![
                (Metric::Throughput, Verdict::NoSignificantChange),
                (Metric::P99, Verdict::Regressed),
                (Metric::P999, Verdict::Regressed),
                (Metric::Cpu, Verdict::Regressed),
            ]
        );
    }

    #[test]
    fn noisy_overlapping_samples_are_no_significant_change() {
        // Medians 8% apart, but the spread (±25%) overlaps completely.
        let base = reps(&[500.0, 380.0, 620.0, 450.0, 560.0, 410.0, 590.0]);
        let new = reps(&[460.0, 360.0, 600.0, 400.0, 545.0, 380.0, 580.0]);
        let c = compare(
            &file(vec![workload("w", base)]),
            &file(vec![workload("w", new)]),
            &only(Metric::Throughput),
        )
        .unwrap();
        let m = &c.workloads[0].metrics[0];
        let ch = m.change.unwrap();
        assert!(ch.relative < -0.05, "{ch:?}"); // the point estimate alone would call it
        assert!(ch.ci_high > -0.05, "{ch:?}");
        assert_eq!(m.verdict, Verdict::NoSignificantChange);
        assert_eq!(c.exit_code(), 0);
    }

    #[test]
    fn a_clear_improvement_is_improved_and_exits_zero() {
        let base = reps(&[500.0, 505.0, 495.0, 502.0, 498.0]);
        let new = reps(&[650.0, 640.0, 660.0, 655.0, 645.0]);
        let c = compare(
            &file(vec![workload("w", base)]),
            &file(vec![workload("w", new)]),
            &only(Metric::Throughput),
        )
        .unwrap();
        assert_eq!(c.workloads[0].metrics[0].verdict, Verdict::Improved);
        assert_eq!(c.exit_code(), 0);
        assert_eq!(c.count(Verdict::Improved), 1);
    }

    #[test]
    fn each_metric_can_have_its_own_threshold() {
        let base = reps(&[500.0, 505.0, 495.0, 502.0, 498.0]);
        let new = reps(&[400.0, 404.0, 396.0, 401.0, 399.0]);
        let mut opts = CompareOptions::default();
        opts.metric_thresholds.insert(Metric::Throughput, 0.3);
        let c = compare(
            &file(vec![workload("w", base)]),
            &file(vec![workload("w", new)]),
            &opts,
        )
        .unwrap();
        let m = &c.workloads[0].metrics[0];
        assert_eq!((m.metric, m.threshold), (Metric::Throughput, 0.3));
        assert_eq!(m.verdict, Verdict::NoSignificantChange); // -20% is inside ±30%
        assert_eq!(c.workloads[0].metrics[3].threshold, DEFAULT_THRESHOLD);
        let line = c.summary_line();
        assert!(
            line.contains("thresholds throughput ±30%, p99 ±5%"),
            "{line}"
        );
        opts.metric_thresholds.insert(Metric::Cpu, 1.5);
        let e = compare(&file(vec![]), &file(vec![]), &opts).unwrap_err();
        assert!(e.to_string().contains("150% is out of range"), "{e}");
    }

    #[test]
    fn a_change_inside_the_threshold_is_not_significant_even_when_certain() {
        // A tight 3% drop: the interval excludes zero but not the ±5% band.
        let base = reps(&[500.0, 500.5, 499.5, 500.2, 499.8]);
        let new = reps(&[485.0, 485.5, 484.5, 485.2, 484.8]);
        let c = compare(
            &file(vec![workload("w", base.clone())]),
            &file(vec![workload("w", new.clone())]),
            &only(Metric::Throughput),
        )
        .unwrap();
        let m = &c.workloads[0].metrics[0];
        assert!(m.change.unwrap().ci_high < 0.0);
        assert_eq!(m.verdict, Verdict::NoSignificantChange);
        // With a 1% threshold the same data is a regression.
        let strict = CompareOptions {
            threshold: 0.01,
            ..only(Metric::Throughput)
        };
        let c = compare(
            &file(vec![workload("w", base)]),
            &file(vec![workload("w", new)]),
            &strict,
        )
        .unwrap();
        assert_eq!(c.workloads[0].metrics[0].verdict, Verdict::Regressed);
    }

    #[test]
    fn too_few_repetitions_never_regress() {
        let c = compare(
            &file(vec![workload("w", reps(&[500.0, 500.0]))]),
            &file(vec![workload("w", reps(&[100.0, 100.0]))]),
            &only(Metric::Throughput),
        )
        .unwrap();
        let m = &c.workloads[0].metrics[0];
        assert_eq!(m.verdict, Verdict::NoSignificantChange);
        assert!(m.note.as_deref().unwrap().contains("too few repetitions"));
    }

    #[test]
    fn mismatched_configuration_is_refused_naming_the_keys() {
        let b = workload("w", reps(&[500.0; 3]));
        let mut n = workload("w", reps(&[500.0; 5]));
        // `repeat` differs (3 vs 5) but does not define the workload.
        assert!(compare(
            &file(vec![b.clone()]),
            &file(vec![n.clone()]),
            &Default::default()
        )
        .is_ok());
        n.config
            .insert("size_bytes".into(), serde_json::json!(1048576));
        n.config.insert("threads".into(), serde_json::json!(2));
        let e = compare(
            &file(vec![b.clone()]),
            &file(vec![n.clone()]),
            &Default::default(),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("size_bytes: 67108864 -> 1048576"), "{msg}");
        assert!(msg.contains("threads: (absent) -> 2"), "{msg}");
        let ignoring = CompareOptions {
            ignore_config: vec!["size_bytes".into(), "threads".into()],
            ..Default::default()
        };
        assert!(compare(&file(vec![b]), &file(vec![n]), &ignoring).is_ok());
    }

    #[test]
    fn a_file_with_a_workload_twice_is_refused_not_cross_matched() {
        let a = file(vec![workload("w", reps(&[500.0; 3]))]);
        let mut b = a.clone();
        b.workloads.push(workload("w", reps(&[250.0; 3])));
        let e = compare(&a, &b, &Default::default()).unwrap_err();
        assert!(
            matches!(&e, CompareError::DuplicateName { side: "new", workload } if workload == "w"),
            "{e}"
        );
        assert!(compare(&b, &a, &Default::default()).is_err());
    }

    #[test]
    fn different_hardware_is_refused_unless_allowed() {
        let a = file(vec![workload("w", reps(&[500.0; 3]))]);
        let mut b = a.clone();
        b.probe = Some(crate::probe::Probe {
            fingerprint: "1234".into(),
            ..Default::default()
        });
        let e = compare(&a, &b, &Default::default()).unwrap_err();
        assert!(matches!(e, CompareError::Hardware { .. }));
        assert!(e.to_string().contains("00ff00ff00ff00ff vs 1234"), "{e}");
        let allow = CompareOptions {
            allow_different_hardware: true,
            ..Default::default()
        };
        let c = compare(&a, &b, &allow).unwrap();
        assert!(c.warnings[0].contains("different hardware"));
    }

    #[test]
    fn unfinished_and_unmatched_workloads_are_reported_not_compared() {
        let mut skipped = workload("write/uring", Vec::new());
        skipped.status = Status::Skipped {
            reason: "io_uring is disabled".into(),
        };
        let base = file(vec![
            workload("write/buffered", reps(&[500.0; 3])),
            workload("write/uring", reps(&[500.0; 3])),
            workload("write/old", reps(&[500.0; 3])),
        ]);
        let new = file(vec![
            workload("write/buffered", reps(&[100.0; 3])),
            skipped,
            workload("write/brand-new", reps(&[500.0; 3])),
        ]);
        let c = compare(&base, &new, &only(Metric::Throughput)).unwrap();
        assert_eq!(c.workloads.len(), 2);
        assert!(c.workloads[1].metrics.is_empty());
        let notes = c.notes().join("\n");
        assert!(
            notes.contains("skipped in the new run: io_uring is disabled"),
            "{notes}"
        );
        assert!(notes.contains("write/old: only in the base run"), "{notes}");
        assert!(
            notes.contains("write/brand-new: only in the new run"),
            "{notes}"
        );
        assert_eq!(c.exit_code(), 1); // buffered still regressed
        let md = c.render_markdown();
        assert!(md.starts_with("### segbench compare: regression"), "{md}");

        let none = file(vec![workload("other", reps(&[1.0; 3]))]);
        let e = compare(&base, &none, &Default::default()).unwrap_err();
        assert!(matches!(e, CompareError::NothingInCommon { .. }), "{e}");
    }

    #[test]
    fn thresholds_and_metrics_parse() {
        assert_eq!(parse_threshold("5%").unwrap(), 0.05);
        assert_eq!(parse_threshold("5").unwrap(), 0.05);
        assert_eq!(parse_threshold("2.5 %").unwrap(), 0.025);
        assert!(parse_threshold("150%").is_err());
        assert!(parse_threshold("-1%").is_err());
        assert!(parse_threshold("five").is_err());
        assert_eq!(
            parse_threshold_arg("throughput=40%").unwrap(),
            (Some(Metric::Throughput), 0.4)
        );
        assert_eq!(parse_threshold_arg("7%").unwrap(), (None, 0.07));
        assert!(parse_threshold_arg("p50=7%").is_err());
        assert_eq!("p99.9".parse::<Metric>().unwrap(), Metric::P999);
        assert_eq!("CPU".parse::<Metric>().unwrap(), Metric::Cpu);
        assert!("p50".parse::<Metric>().is_err());
    }
}
