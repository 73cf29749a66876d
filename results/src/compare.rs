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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::format;
use crate::schema::{Repetition, ResultsFile, RunInfo, Status, WorkloadResult};

/// Default noise threshold: changes within ±5% are noise.
pub const DEFAULT_THRESHOLD: f64 = 0.05;

/// Confidence level of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// Bootstrap resamples per metric: percentile intervals need far more resamples than standard
/// errors (Efron & Tibshirani ask for at least 1000); 10,000 keeps the interval ends stable from
/// one seed to another and costs milliseconds.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// Fixed seed of the bootstrap's generator, so a comparison is reproducible.
pub const BOOTSTRAP_SEED: u64 = 0x5EB0_4C4E_C0FF_EE01;

/// Fewest repetitions per side for a verdict: with fewer, the interval is the spread of one or
/// two points and says nothing about noise.
pub const MIN_REPETITIONS: usize = 3;

/// Configuration keys that do not define a workload (how often or where it ran, what was
/// printed): ignored when matching workloads, so a baseline taken with `--repeat 10` compares
/// with a run of `--repeat 5`.
pub const NON_DEFINING_CONFIG_KEYS: &[&str] = &[
    "repeat",
    "repetitions",
    "warmup",
    "warmup_s",
    "dir",
    "data_dir",
    "keep",
    "verify",
    "quiet",
    "json",
    "out",
    "no_probe",
    "hdr_log",
    "topic",
];

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

/// The relative change of the median, `new / base - 1`, with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `median(new) / median(base) - 1`.
    pub relative: f64,
    /// Lower end of the interval of the relative change.
    pub ci_low: f64,
    /// Upper end of the interval of the relative change.
    pub ci_high: f64,
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

/// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators,
/// scrambled", ACM TOMS 42(4), 2016): small, fast, and good enough to draw resampling indices.
#[derive(Debug, Clone)]
struct XorShift64Star(u64);

impl XorShift64Star {
    fn new(seed: u64) -> Self {
        // The state must not be zero.
        XorShift64Star(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` by multiply-shift (Lemire 2019); the bias is below 2^-40 for the small
    /// `n` used here.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// Median of `v`, sorting it in place.
fn median_in_place(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median of `v`.
pub fn median(v: &[f64]) -> f64 {
    median_in_place(&mut v.to_vec())
}

/// The relative change of the median from `base` to `new` with its `confidence` interval: the
/// two-sample percentile bootstrap of `median(new*) / median(base*)` (Efron & Tibshirani 1993,
/// ch. 13), `resamples` resamples from a generator seeded with `seed`.
///
/// `None` when a sample is empty or a median is not positive (a ratio is then meaningless).
pub fn ratio_of_medians(
    base: &[f64],
    new: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<Change> {
    if base.is_empty() || new.is_empty() {
        return None;
    }
    let (mb, mn) = (median(base), median(new));
    if !(mb > 0.0 && mn >= 0.0 && mb.is_finite() && mn.is_finite()) {
        return None;
    }
    let resamples = resamples.max(1);
    let mut rng = XorShift64Star::new(seed);
    let (mut bb, mut nb) = (vec![0.0; base.len()], vec![0.0; new.len()]);
    let mut ratios = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for x in bb.iter_mut() {
            *x = base[rng.below(base.len())];
        }
        for x in nb.iter_mut() {
            *x = new[rng.below(new.len())];
        }
        let b = median_in_place(&mut bb);
        if b > 0.0 {
            ratios.push(median_in_place(&mut nb) / b);
        }
    }
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    // The percentile interval: the B·α/2-th and B·(1-α/2)-th of the sorted bootstrap values.
    let alpha = 1.0 - confidence;
    let b = ratios.len();
    let lo = ((b as f64 * alpha / 2.0).floor() as usize).min(b - 1);
    let hi = ((b as f64 * (1.0 - alpha / 2.0)).ceil() as usize)
        .saturating_sub(1)
        .min(b - 1);
    Some(Change {
        relative: mn / mb - 1.0,
        ci_low: ratios[lo] - 1.0,
        ci_high: ratios[hi] - 1.0,
    })
}

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
    /// An option is out of range.
    #[error("{0}")]
    Option(String),
}

/// Differences between two configuration maps, ignoring [`NON_DEFINING_CONFIG_KEYS`] and
/// `ignore`: one `key: a -> b` entry per differing key (`(absent)` for a missing key).
pub fn config_differences(
    a: &BTreeMap<String, serde_json::Value>,
    b: &BTreeMap<String, serde_json::Value>,
    ignore: &[String],
) -> Vec<String> {
    let skip = |k: &str| NON_DEFINING_CONFIG_KEYS.contains(&k) || ignore.iter().any(|i| i == k);
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let show = |v: Option<&serde_json::Value>| match v {
        None => "(absent)".to_string(),
        Some(v) => v.to_string(),
    };
    keys.into_iter()
        .filter(|k| !skip(k))
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {} -> {}", show(a.get(k)), show(b.get(k))))
        .collect()
}

/// The hardware fingerprint in a results file's probe (`probe.fingerprint`), if any.
pub fn fingerprint(r: &ResultsFile) -> Option<&str> {
    r.probe.as_ref()?.get("fingerprint")?.as_str()
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
        let git = r
            .tool
            .git
            .as_deref()
            .map(|g| format!(" ({g})"))
            .unwrap_or_default();
        Side {
            run_id: id.clone(),
            host: host.clone(),
            start_time: start_time.clone(),
            version: format!("{} {}{git}", r.tool.name, r.tool.version),
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
            format!("threshold ±{}%", plain_percent(t))
        } else {
            let each: Vec<String> = used
                .iter()
                .map(|(m, t)| format!("{} ±{}%", m.label(), plain_percent(*t)))
                .collect();
            format!("thresholds {}", each.join(", "))
        };
        format!(
            "{} regressed, {} improved, {} no significant change ({thresholds}; {}% \
             intervals of the ratio of medians, percentile bootstrap, {} resamples)",
            self.count(Verdict::Regressed),
            self.count(Verdict::Improved),
            self.count(Verdict::NoSignificantChange),
            plain_percent(CONFIDENCE),
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

    fn table(&self) -> Vec<[String; 8]> {
        let pct = |x: f64| {
            let s = format::sig(x * 100.0);
            if x > 0.0 {
                format!("+{s}%")
            } else {
                format!("{s}%")
            }
        };
        let mut rows = Vec::new();
        for (w, m) in self.results() {
            let show = |v: Option<f64>| {
                v.map(|v| m.metric.display(v))
                    .unwrap_or_else(|| format::MISSING.to_string())
            };
            let (change, ci) = match &m.change {
                Some(c) => (
                    pct(c.relative),
                    format!("[{}, {}]", pct(c.ci_low), pct(c.ci_high)),
                ),
                None => (format::MISSING.to_string(), format::MISSING.to_string()),
            };
            rows.push([
                w.name.clone(),
                m.metric.label().to_string(),
                show(m.base_median),
                show(m.new_median),
                change,
                ci,
                format!("±{}%", plain_percent(m.threshold)),
                m.verdict.label().to_string(),
            ]);
        }
        rows
    }

    /// The report for a terminal: header, one row per workload and metric, the summary line,
    /// notes and warnings.
    pub fn render_terminal(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("base: {}\n", side_line(&self.base)));
        out.push_str(&format!("new:  {}\n\n", side_line(&self.new)));
        let header = TABLE_HEADER.map(str::to_string);
        let rows = self.table();
        let widths = column_widths(&header, &rows);
        let line = |cells: &[String; 8]| {
            let s: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, &w))| pad(c, w, RIGHT_ALIGNED[i]))
                .collect();
            format!("{}\n", s.join("  ").trim_end())
        };
        out.push_str(&line(&header));
        out.push_str(&format!(
            "{}\n",
            widths
                .iter()
                .map(|&w| "─".repeat(w))
                .collect::<Vec<_>>()
                .join("  ")
        ));
        for r in &rows {
            out.push_str(&line(r));
        }
        out.push('\n');
        out.push_str(&self.summary_line());
        out.push('\n');
        let notes = self.notes();
        if !notes.is_empty() {
            out.push_str("\nnotes:\n");
            for n in notes {
                out.push_str(&format!("  - {}\n", one_line(&n)));
            }
        }
        if !self.warnings.is_empty() {
            out.push_str("\nwarnings:\n");
            for w in &self.warnings {
                out.push_str(&format!("  - {}\n", one_line(w)));
            }
        }
        out
    }

    /// The report as GitHub-flavoured Markdown, fit for a pull-request comment.
    pub fn render_markdown(&self) -> String {
        let mut out = String::new();
        let headline = if self.regressed() {
            "regression"
        } else {
            "no regression"
        };
        out.push_str(&format!("### segbench compare: {headline}\n\n"));
        out.push_str(&format!(
            "- base: {}\n- new: {}\n\n",
            md_escape(&side_line(&self.base)),
            md_escape(&side_line(&self.new))
        ));
        let header = TABLE_HEADER.map(str::to_string);
        let rows: Vec<[String; 8]> = self
            .table()
            .into_iter()
            .map(|r| {
                let mut r = r.map(|c| md_escape(&one_line(&c)));
                let v = &r[VERDICT_COLUMN];
                if v == Verdict::Regressed.label() || v == Verdict::Improved.label() {
                    r[VERDICT_COLUMN] = format!("**{v}**");
                }
                r
            })
            .collect();
        let widths: Vec<usize> = column_widths(&header, &rows)
            .into_iter()
            .map(|w| w.max(3))
            .collect();
        let line = |cells: &[String; 8]| {
            let s: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, &w))| pad(c, w, RIGHT_ALIGNED[i]))
                .collect();
            format!("| {} |\n", s.join(" | "))
        };
        out.push_str(&line(&header));
        let rule: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                if RIGHT_ALIGNED[i] {
                    format!("{}:", "-".repeat(w - 1))
                } else {
                    format!(":{}", "-".repeat(w - 1))
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
        for r in &rows {
            out.push_str(&line(r));
        }
        out.push('\n');
        out.push_str(&md_escape(&self.summary_line()));
        out.push('\n');
        let notes = self.notes();
        if !notes.is_empty() {
            out.push_str("\n**Notes**\n\n");
            for n in notes {
                out.push_str(&format!("- {}\n", md_escape(&one_line(&n))));
            }
        }
        if !self.warnings.is_empty() {
            out.push_str("\n**Warnings**\n\n");
            for w in &self.warnings {
                out.push_str(&format!("- {}\n", md_escape(&one_line(w))));
            }
        }
        out
    }
}

/// Column headers of the comparison table.
const TABLE_HEADER: [&str; 8] = [
    "workload",
    "metric",
    "base",
    "new",
    "change",
    "95% CI",
    "threshold",
    "verdict",
];
/// Which columns are numbers.
const RIGHT_ALIGNED: [bool; 8] = [false, false, true, true, true, true, true, false];
/// Index of the verdict column.
const VERDICT_COLUMN: usize = 7;

/// A fraction as a percentage without trailing zeros: 0.05 -> `5`, 0.025 -> `2.5`.
fn plain_percent(x: f64) -> String {
    format!("{}", (x * 100.0 * 1000.0).round() / 1000.0)
}

fn side_line(s: &Side) -> String {
    format!(
        "{} · run {} · host {} · {}",
        s.version, s.run_id, s.host, s.start_time
    )
}

fn column_widths(header: &[String; 8], rows: &[[String; 8]]) -> Vec<usize> {
    (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| format::width(&r[i]))
                .chain(std::iter::once(format::width(&header[i])))
                .max()
                .unwrap_or(0)
        })
        .collect()
}

fn pad(s: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(format::width(s)));
    if right {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

/// Control characters (newlines in error messages) become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Escapes Markdown markup characters.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '|' | '\\' | '*' | '_' | '`' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn status_note(side: &str, w: &WorkloadResult) -> Option<String> {
    match &w.status {
        Status::Completed => None,
        Status::Skipped { reason } => Some(format!("skipped in the {side} run: {reason}")),
        Status::Failed { error } => Some(format!("failed in the {side} run: {error}")),
        Status::Interrupted => Some(format!("interrupted in the {side} run")),
    }
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
                plain_percent(*t)
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
    use crate::hist;
    use crate::schema::*;

    /// A repetition with throughput `bytes_per_s`, latencies spread around `lat_ns`, CPU cost.
    fn rep(i: u32, bytes_per_s: f64, lat_ns: u64, cpu_s_per_gb: f64) -> Repetition {
        let mut h = hist::new_hist();
        for k in 0..1000u64 {
            hist::record(&mut h, lat_ns / 2 + lat_ns * k / 1000);
        }
        Repetition {
            index: i,
            bytes: (bytes_per_s) as u64,
            records: 1000,
            batches: 100,
            elapsed_s: 1.0,
            throughput_bytes_per_s: bytes_per_s,
            records_per_s: 1000.0,
            cpu_user_s: 0.1,
            cpu_sys_s: 0.1,
            cpu_s_per_gb: Some(cpu_s_per_gb),
            device_bytes: None,
            storage_io_bytes: None,
            latency_ns: hist::summarize(&h),
            flush_latency_ns: None,
            roll_latency_ns: None,
            timeline: Timeline::default(),
            threads: Vec::new(),
            context_switches: None,
            harness_overhead_ratio: None,
            extra: BTreeMap::new(),
        }
    }

    fn workload(name: &str, reps: Vec<Repetition>) -> WorkloadResult {
        let mut config = BTreeMap::new();
        config.insert("engine".to_string(), serde_json::json!("buffered"));
        config.insert("size_bytes".to_string(), serde_json::json!(67108864));
        config.insert("repeat".to_string(), serde_json::json!(reps.len()));
        WorkloadResult {
            name: name.to_string(),
            kind: Kind::Write,
            engine: "buffered".to_string(),
            config,
            status: Status::Completed,
            medium: Medium::PageCache,
            summary: crate::stats::summarize(&reps),
            repetitions: reps,
            warnings: Vec::new(),
        }
    }

    fn file(workloads: Vec<WorkloadResult>) -> ResultsFile {
        ResultsFile {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "segbench".into(),
                version: "0.1.0".into(),
                git: None,
            },
            run: RunInfo {
                id: "r".into(),
                start_time: "2026-11-24T10:15:00Z".into(),
                host: "h".into(),
                command_line: vec![],
            },
            probe: Some(serde_json::json!({"fingerprint": "00ff00ff00ff00ff"})),
            baseline: Baseline::default(),
            workloads,
            warnings: Vec::new(),
            interrupted: false,
            fleet: None,
        }
    }

    /// Throughputs (MB/s) as repetitions with matching latency and CPU.
    fn reps(mbps: &[f64]) -> Vec<Repetition> {
        mbps.iter()
            .enumerate()
            .map(|(i, &m)| rep(i as u32, m * 1e6, 100_000, 1.0))
            .collect()
    }

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
    fn the_bootstrap_is_reproducible_and_covers_the_point_estimate() {
        let b = [10.0, 11.0, 9.5, 10.2, 10.8, 9.9];
        let n = [9.0, 9.8, 9.1, 9.6, 9.3, 9.9];
        let x = ratio_of_medians(&b, &n, 10_000, 0.95, 7).unwrap();
        let y = ratio_of_medians(&b, &n, 10_000, 0.95, 7).unwrap();
        assert_eq!(x, y);
        assert!(x.ci_low <= x.relative && x.relative <= x.ci_high, "{x:?}");
        assert!(ratio_of_medians(&[0.0, 0.0], &n, 100, 0.95, 1).is_none());
        assert!(ratio_of_medians(&[], &n, 100, 0.95, 1).is_none());
    }

    #[test]
    fn the_interval_has_its_nominal_coverage_on_noise() {
        // 200 pairs of samples from the same distribution (n = 10 each): the 95% interval
        // should exclude a zero change about 5% of the time; allow up to 10%.
        let mut rng = XorShift64Star::new(99);
        let mut u = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let mut misses = 0;
        for _ in 0..200 {
            let mut draw = || (0..10).map(|_| 100.0 + 10.0 * u()).collect::<Vec<_>>();
            let (b, n) = (draw(), draw());
            let c = ratio_of_medians(&b, &n, 2000, 0.95, 3).unwrap();
            if c.ci_low > 0.0 || c.ci_high < 0.0 {
                misses += 1;
            }
        }
        // Too many misses: the interval is too narrow; none at all: uselessly wide (6 with
        // this seed).
        assert!(
            (1..=20).contains(&misses),
            "{misses} of 200 intervals missed zero"
        );
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
    fn different_hardware_is_refused_unless_allowed() {
        let a = file(vec![workload("w", reps(&[500.0; 3]))]);
        let mut b = a.clone();
        b.probe = Some(serde_json::json!({"fingerprint": "1234"}));
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
    fn tables_line_up() {
        let c = compare(
            &file(vec![workload(
                "write/buffered",
                reps(&[500.0, 510.0, 490.0]),
            )]),
            &file(vec![workload(
                "write/buffered",
                reps(&[400.0, 410.0, 390.0]),
            )]),
            &CompareOptions::default(),
        )
        .unwrap();
        let md = c.render_markdown();
        let rows: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(rows.len(), 2 + 4, "{md}");
        let w = format::width(rows[0]);
        assert!(rows.iter().all(|r| format::width(r) == w), "{md}");
        assert!(rows.iter().all(|r| r.matches('|').count() == 9), "{md}");
        let t = c.render_terminal();
        assert!(t.contains("-20.0%"), "{t}");
        assert!(t.contains("write/buffered  throughput"), "{t}");
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
