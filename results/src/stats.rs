//! Statistics over repetitions: median, min, max, mean and a 95% confidence interval of the
//! median.
//!
//! The interval is the distribution-free order-statistic interval for the median
//! (binomial method; e.g. Conover, *Practical Nonparametric Statistics*, 3rd ed., §3.2;
//! Hollander & Wolfe): the `(j, k)` order statistics with `P(j <= B < k) >= 0.95`, where
//! `B ~ Binomial(n, 1/2)`. With fewer than 6 samples no such pair reaches 95%, so the interval
//! widens to `[min, max]` (its true coverage is then `1 - 2^(1-n)`, e.g. 87.5% for n = 4).

use crate::hist;
use crate::schema::{Repetition, Stat, Summary};

/// Confidence level of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// Median of sorted samples.
fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
