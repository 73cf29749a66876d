//! Statistics over repetitions: median, min, max, mean and a 95% confidence interval of the
//! median; and the two-sample percentile bootstrap of a ratio of medians that `compare` draws
//! its intervals from ([`ratio_of_medians`]).
//!
//! The interval is the distribution-free order-statistic interval for the median
//! (binomial method; e.g. Conover, *Practical Nonparametric Statistics*, 3rd ed., §3.2;
//! Hollander & Wolfe): the `(j, k)` order statistics with `P(j <= B < k) >= 0.95`, where
//! `B ~ Binomial(n, 1/2)`. With fewer than 6 samples no such pair reaches 95%, so the interval
//! widens to `[min, max]` (its true coverage is then `1 - 2^(1-n)`, e.g. 87.5% for n = 4).
//!
//! The summary of a workload's repetitions is made here ([`summarize`],
//! [`WorkloadResult::with_repetitions`]), above the schema that only holds it.

use segmodel::XorShift64Star;
use serde::{Deserialize, Serialize};

use crate::hist;
use crate::schema::{Repetition, Stat, Summary, WorkloadResult};

/// Confidence level of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// Median of sorted samples (see [`median`]).
fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Binomial(n, 1/2) cumulative probabilities P(B <= i) for i in 0..=n.
fn binom_half_cdf(n: usize) -> Vec<f64> {
    let mut pmf = vec![0.0f64; n + 1];
    // log-space for numerical safety with large n
    let ln2n = n as f64 * std::f64::consts::LN_2;
    let mut ln_c = 0.0f64; // ln C(n, 0)
    for (i, p) in pmf.iter_mut().enumerate() {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        *p = (ln_c - ln2n).exp();
    }
    let mut acc = 0.0;
    pmf.iter()
        .map(|p| {
            acc += p;
            acc
        })
        .collect()
}

/// 0-based indices `(lo, hi)` into the sorted samples bounding the 95% CI of the median.
pub fn median_ci_indices(n: usize) -> (usize, usize) {
    if n < 6 {
        return (0, n.saturating_sub(1));
    }
    let cdf = binom_half_cdf(n);
    // Largest j (1-based order statistic) with P(B <= j-1) <= alpha/2.
    let alpha = 1.0 - CONFIDENCE;
    let mut j = 1;
    while j < n && cdf[j] <= alpha / 2.0 {
        j += 1;
    }
    // cdf[j-1] = P(B <= j-1) <= alpha/2 holds for the j found (j >= 1).
    let lo = j - 1; // 0-based index of the j-th order statistic
    let hi = n - 1 - lo; // symmetric
    (lo, hi)
}

/// Statistics of `samples` (NaNs ignored). An empty input gives `n = 0` and zeros.
pub fn stat(samples: &[f64]) -> Stat {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return Stat::default();
    }
    v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    let n = v.len();
    let (ci_lo, ci_hi) = if n >= 2 {
        let (lo, hi) = median_ci_indices(n);
        (Some(v[lo]), Some(v[hi]))
    } else {
        (None, None)
    };
    Stat {
        n: n as u32,
        median: median_sorted(&v),
        min: v[0],
        max: v[n - 1],
        mean: v.iter().sum::<f64>() / n as f64,
        ci95_low: ci_lo,
        ci95_high: ci_hi,
    }
}

/// The headline figures over the repetitions; `None` when there are none.
pub fn summarize(reps: &[Repetition]) -> Option<Summary> {
    if reps.is_empty() {
        return None;
    }
    let col = |f: &dyn Fn(&Repetition) -> f64| -> Vec<f64> { reps.iter().map(f).collect() };
    let cpu: Vec<f64> = reps.iter().filter_map(|r| r.cpu_s_per_gb).collect();
    let latency = hist::merge_summaries(reps.iter().map(|r| &r.latency_ns)).unwrap_or_default();
    Some(Summary {
        throughput_bytes_per_s: stat(&col(&|r| r.throughput_bytes_per_s)),
        records_per_s: stat(&col(&|r| r.records_per_s)),
        p50_ns: stat(&col(&|r| r.latency_ns.p50 as f64)),
        p99_ns: stat(&col(&|r| r.latency_ns.p99 as f64)),
        p999_ns: stat(&col(&|r| r.latency_ns.p999 as f64)),
        cpu_s_per_gb: if cpu.is_empty() {
            None
        } else {
            Some(stat(&cpu))
        },
        latency_ns: latency,
    })
}

impl WorkloadResult {
    /// The result with these measured `repetitions` and `warnings`, and the summary computed
    /// from those repetitions ([`summarize`]), so the two always agree.
    pub fn with_repetitions(mut self, repetitions: Vec<Repetition>, warnings: Vec<String>) -> Self {
        self.summary = summarize(&repetitions);
        self.repetitions = repetitions;
        self.warnings = warnings;
        self
    }
}

/// Bootstrap resamples per metric: percentile intervals need far more resamples than standard
/// errors (Efron & Tibshirani ask for at least 1000); 10,000 keeps the interval ends stable from
/// one seed to another and costs milliseconds.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// Fixed seed of the bootstrap's generator, so a comparison is reproducible.
pub const BOOTSTRAP_SEED: u64 = 0x5EB0_4C4E_C0FF_EE01;

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

/// Median of `v`, sorting it in place.
fn median_in_place(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    median_sorted(v)
}

/// The median of `v`, the one median of segbench: the middle value of an odd count, the **mean
/// of the two middle values** of an even count (two repetitions give their mean); NaN when `v`
/// is empty. Every median figure shown (a summary's [`Stat::median`], a replication row's,
/// a report line's) is this one.
pub fn median(v: &[f64]) -> f64 {
    median_in_place(&mut v.to_vec())
}

/// [`median`] of `v`, `None` when `v` is empty.
pub fn median_or_none(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| median(v))
}

/// The repetition that stands for its workload where one real repetition must be shown (its
/// timeline, its latency curve): the one whose throughput is nearest the [`median`]
/// throughput, the lower of two equally near. For an odd count that is the middle repetition,
/// for an even count the lower of the two middle ones. `None` without repetitions.
pub fn median_repetition(reps: &[Repetition]) -> Option<&Repetition> {
    let mut sorted: Vec<&Repetition> = reps.iter().collect();
    sorted.sort_by(|a, b| {
        a.throughput_bytes_per_s
            .total_cmp(&b.throughput_bytes_per_s)
    });
    sorted.get(sorted.len().checked_sub(1)? / 2).copied()
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

/// CPU seconds per GB (10^9 bytes) moved: `None` when nothing moved.
pub fn cpu_s_per_gb(cpu_s: f64, bytes: u64) -> Option<f64> {
    (bytes > 0).then(|| cpu_s / (bytes as f64 / 1e9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_per_gb_is_seconds_over_gigabytes_and_none_for_nothing() {
        assert_eq!(cpu_s_per_gb(1.5, 3_000_000_000), Some(0.5));
        assert_eq!(cpu_s_per_gb(1.5, 0), None);
    }

    #[test]
    fn stat_of_known_samples() {
        let s = stat(&[3.0, 1.0, 2.0, 10.0]);
        assert_eq!(
            (s.n, s.median, s.min, s.max, s.mean),
            (4, 2.5, 1.0, 10.0, 4.0)
        );
        assert_eq!((s.ci95_low, s.ci95_high), (Some(1.0), Some(10.0)));
        let one = stat(&[5.0]);
        assert_eq!((one.median, one.ci95_low), (5.0, None));
        assert_eq!(stat(&[]).n, 0);
        assert_eq!(stat(&[f64::NAN, 1.0]).n, 1);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0]), 2.5);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(median_or_none(&[]), None);
        assert_eq!(median_or_none(&[4.0, 1.0]), Some(2.5));
    }

    #[test]
    fn the_median_repetition_is_nearest_the_median_throughput_the_lower_on_a_tie() {
        let reps = |xs: &[f64]| -> Vec<Repetition> {
            xs.iter()
                .enumerate()
                .map(|(i, &x)| crate::testing::plain_repetition(i as u32, x, 1000, 1.0))
                .collect()
        };
        let pick = |xs: &[f64]| median_repetition(&reps(xs)).map(|r| r.index);
        assert_eq!(pick(&[300.0, 100.0, 200.0]), Some(2));
        // Two: both are as near the median (their mean); the lower is taken.
        assert_eq!(pick(&[300.0, 100.0]), Some(1));
        assert_eq!(pick(&[400.0, 100.0, 300.0, 200.0]), Some(3));
        assert_eq!(pick(&[]), None);
    }

    #[test]
    fn median_interval_matches_tables() {
        // Published order statistics for the 95% median CI (Conover table A3 / common tables):
        // n=6 -> (1,6); n=10 -> (2,9); n=20 -> (6,15); n=30 -> (10,21).
        assert_eq!(median_ci_indices(6), (0, 5));
        assert_eq!(median_ci_indices(10), (1, 8));
        assert_eq!(median_ci_indices(20), (5, 14));
        assert_eq!(median_ci_indices(30), (9, 20));
    }

    #[test]
    fn identical_samples_have_a_point_interval() {
        let s = stat(&[7.0; 12]);
        assert_eq!(
            (s.ci95_low, s.ci95_high, s.median),
            (Some(7.0), Some(7.0), 7.0)
        );
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
}
