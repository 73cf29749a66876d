//! The verdict on one metric: the metrics compared, their direction, the options of a
//! comparison ([`CompareOptions`]: thresholds, metrics, the bootstrap's size and seed), the
//! three-way [`Verdict`] and [`compare_metric`], which draws the bootstrap interval of the
//! change of the median and calls the verdict.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::format;
use crate::schema::Repetition;
use crate::stats::{
    median, ratio_of_medians, Change, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CONFIDENCE,
};

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
    /// [`NON_DEFINING_CONFIG_KEYS`](crate::identity::NON_DEFINING_CONFIG_KEYS)), e.g. `rate_bytes_per_s` to compare a paced run on purpose.
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

/// Fewest repetitions per side for a verdict: with fewer, the interval is the spread of one or
/// two points and says nothing about noise.
pub const MIN_REPETITIONS: usize = 3;

/// A figure compared between two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Throughput, bytes/s (higher is better).
    Throughput,
    /// 99th percentile latency of a repetition, ns (lower is better).
    P99,
    /// 99.9th percentile latency of a repetition, ns (lower is better).
    P999,
    /// CPU seconds per GB moved (lower is better).
    Cpu,
}

/// Which way a metric gets better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// More is better (throughput).
    HigherIsBetter,
    /// Less is better (latency, CPU cost).
    LowerIsBetter,
}

impl Metric {
    /// Every metric, in display order.
    pub const ALL: [Metric; 4] = [Metric::Throughput, Metric::P99, Metric::P999, Metric::Cpu];

    /// The name used on the command line: `throughput`, `p99`, `p999`, `cpu`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::P99 => "p99",
            Metric::P999 => "p999",
            Metric::Cpu => "cpu",
        }
    }

    /// Which way it gets better.
    pub fn direction(self) -> Direction {
        match self {
            Metric::Throughput => Direction::HigherIsBetter,
            Metric::P99 | Metric::P999 | Metric::Cpu => Direction::LowerIsBetter,
        }
    }

    /// The figure of one repetition; `None` when the repetition does not have it (no CPU figure,
    /// no latency recorded).
    pub fn value(self, r: &Repetition) -> Option<f64> {
        let v = match self {
            Metric::Throughput => r.throughput_bytes_per_s,
            Metric::P99 if r.latency_ns.count > 0 => r.latency_ns.p99 as f64,
            Metric::P999 if r.latency_ns.count > 0 => r.latency_ns.p999 as f64,
            Metric::P99 | Metric::P999 => return None,
            Metric::Cpu => r.cpu_s_per_gb?,
        };
        v.is_finite().then_some(v)
    }

    /// A value of this metric for people: `412 MB/s`, `1.23 ms`, `0.420 s/GB`.
    pub fn display(self, v: f64) -> String {
        match self {
            Metric::Throughput => format::mb_per_s(v),
            Metric::P99 | Metric::P999 => format::latency(v),
            Metric::Cpu => format!("{} s/GB", format::cpu_s_per_gb(v)),
        }
    }

    /// Column label: `MB/s`, `p99`, `p99.9`, `CPU s/GB`.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::P99 => "p99",
            Metric::P999 => "p99.9",
            Metric::Cpu => "CPU s/GB",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown metric name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown metric `{0}`; expected throughput, p99, p999 or cpu")]
pub struct UnknownMetric(pub String);

impl FromStr for Metric {
    type Err = UnknownMetric;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "throughput" | "tput" | "mbps" => Ok(Metric::Throughput),
            "p99" => Ok(Metric::P99),
            "p999" | "p99.9" => Ok(Metric::P999),
            "cpu" | "cpu_s_per_gb" => Ok(Metric::Cpu),
            _ => Err(UnknownMetric(s.to_string())),
        }
    }
}

/// The verdict on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The whole interval is beyond the threshold in the good direction.
    Improved,
    /// The whole interval is beyond the threshold in the bad direction.
    Regressed,
    /// The interval reaches into the noise band (or there is too little data to decide).
    NoSignificantChange,
}

impl Verdict {
    /// `improved`, `regressed`, `no significant change`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::NoSignificantChange => "no significant change",
        }
    }
}

/// Three-way verdict on `change` for a metric that gets better in `direction`: a change counts
/// only when the whole interval lies beyond `threshold` (criterion `analysis/compare.rs`).
pub fn verdict(change: &Change, direction: Direction, threshold: f64) -> Verdict {
    let below = change.ci_high < -threshold; // the whole interval is a decrease beyond the band
    let above = change.ci_low > threshold; // the whole interval is an increase beyond the band
    match (direction, below, above) {
        (Direction::HigherIsBetter, true, _) | (Direction::LowerIsBetter, _, true) => {
            Verdict::Regressed
        }
        (Direction::HigherIsBetter, _, true) | (Direction::LowerIsBetter, true, _) => {
            Verdict::Improved
        }
        _ => Verdict::NoSignificantChange,
    }
}

/// One metric of one workload compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// The metric.
    pub metric: Metric,
    /// Median over the base repetitions; `None` when none has the figure.
    pub base_median: Option<f64>,
    /// Median over the new repetitions.
    pub new_median: Option<f64>,
    /// Base repetitions with the figure.
    pub base_n: usize,
    /// New repetitions with the figure.
    pub new_n: usize,
    /// The change with its interval; `None` when it cannot be computed.
    pub change: Option<Change>,
    /// The noise threshold applied (fraction).
    pub threshold: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// Why there is no decision, when there is none.
    pub note: Option<String>,
}

/// Compares one metric over the repetitions of two workloads.
pub fn compare_metric(
    metric: Metric,
    base: &[Repetition],
    new: &[Repetition],
    opts: &CompareOptions,
) -> MetricComparison {
    let b: Vec<f64> = base.iter().filter_map(|r| metric.value(r)).collect();
    let n: Vec<f64> = new.iter().filter_map(|r| metric.value(r)).collect();
    let med = |v: &[f64]| (!v.is_empty()).then(|| median(v));
    let mut m = MetricComparison {
        metric,
        base_median: med(&b),
        new_median: med(&n),
        base_n: b.len(),
        new_n: n.len(),
        change: None,
        threshold: opts.threshold_for(metric),
        verdict: Verdict::NoSignificantChange,
        note: None,
    };
    if b.is_empty() || n.is_empty() {
        m.note = Some("no figure in one of the runs".to_string());
        return m;
    }
    // Mix the metric into the seed so metrics do not share resampling indices.
    let seed = opts.seed ^ (metric as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    m.change = ratio_of_medians(&b, &n, opts.resamples, CONFIDENCE, seed);
    match &m.change {
        None => m.note = Some("the base median is zero; no ratio".to_string()),
        Some(_) if b.len() < MIN_REPETITIONS || n.len() < MIN_REPETITIONS => {
            m.note = Some(format!(
                "too few repetitions to decide ({} base, {} new; need {MIN_REPETITIONS} each)",
                b.len(),
                n.len()
            ));
        }
        Some(c) => m.verdict = verdict(c, metric.direction(), m.threshold),
    }
    m
}
