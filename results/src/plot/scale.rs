//! Axes: linear and logarithmic scales, "nice" tick positions and tick labels, including the
//! latency "nines" axis HdrHistogram's plotter draws (x = 1/(1−q) on a log scale).

use crate::format;

/// How data values map to positions along an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Position proportional to the value.
    Linear,
    /// Position proportional to log10 of the value (values must be positive).
    Log,
}

/// A tick: its data value and its label.
pub type Tick = (f64, String);

/// The domain of an axis (in data units) with its scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Domain {
    /// Smallest value shown.
    pub min: f64,
    /// Largest value shown.
    pub max: f64,
    /// Mapping.
    pub scale: Scale,
}

impl Domain {
    /// Where `v` falls between `min` (0.0) and `max` (1.0); values outside give results outside
    /// `0..=1`, non-positive values on a log scale map to the bottom.
    pub fn fraction(&self, v: f64) -> f64 {
        let (a, b, v) = match self.scale {
            Scale::Linear => (self.min, self.max, v),
            Scale::Log => {
                let lg = |x: f64| {
                    if x > 0.0 {
                        x.log10()
                    } else {
                        f64::NEG_INFINITY
                    }
                };
                (lg(self.min), lg(self.max), lg(v).max(lg(self.min) - 1.0))
            }
        };
        if b > a {
            (v - a) / (b - a)
        } else {
            0.5
        }
    }
}

/// A "nice" step (1, 2, 2.5 or 5 × 10^k) so that about `target` steps cover `span`.
pub fn nice_step(span: f64, target: usize) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let rough = span / target.max(1) as f64;
    let mag = 10f64.powf(rough.log10().floor());
    let norm = rough / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// A linear domain covering `lo..=hi` widened to multiples of a nice step, with its ticks
/// labelled by `label`. `lo == hi` widens around the value; non-finite inputs give `0..=1`.
pub fn linear_ticks(
    lo: f64,
    hi: f64,
    target: usize,
    label: impl Fn(f64, f64) -> String,
) -> (Domain, Vec<Tick>) {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    if hi == lo {
        if hi == 0.0 {
            hi = 1.0;
        } else {
            let pad = hi.abs() * 0.5;
            lo -= pad;
            hi += pad;
        }
    }
    let step = nice_step(hi - lo, target);
    let start = (lo / step + 1e-9).floor();
    let end = (hi / step - 1e-9).ceil();
    let ticks: Vec<Tick> = (start as i64..=end as i64)
        .map(|k| {
            let v = k as f64 * step;
            // Avoid "-0".
            let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
            (v, label(v, step))
        })
        .collect();
    let domain = Domain {
        min: start * step,
        max: end * step,
        scale: Scale::Linear,
    };
    (domain, ticks)
}

/// A plain number for a tick at a multiple of `step`: as many decimals as the step needs
/// (`0`, `250`, `0.5`, `2.5`, `0.25`), no exponent.
pub fn number_label(v: f64, step: f64) -> String {
    let decimals = if step > 0.0 && step.is_finite() {
        let mut d = 0usize;
        while d < 9
            && ((step * 10f64.powi(d as i32)).round() - step * 10f64.powi(d as i32)).abs() > 1e-6
        {
            d += 1;
        }
        d
    } else {
        0
    };
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// `x` with up to 3 significant digits and no trailing zeros: `1`, `2.5`, `120`, `0.25`.
pub fn short_number(x: f64) -> String {
    let s = format::sig(x);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A latency tick label in the unit that keeps it at or above 1: `500 ns`, `1 µs`, `20 µs`,
/// `1 ms`, `2 s`.
pub fn latency_label(ns: f64) -> String {
    const UNITS: [(f64, &str); 4] = [(1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns")];
    for (scale, unit) in UNITS {
        if ns >= scale * 0.9995 {
            return format!("{} {unit}", short_number(ns / scale));
        }
    }
    format!("{} ns", short_number(ns))
}

/// A log domain covering `lo..=hi` (both positive) widened to whole decades, with ticks at
/// each decade and, when the domain spans at most two decades, at 2× and 5× too; labelled by
/// `label`. Non-positive or non-finite inputs give `1..=10`.
pub fn log_ticks(lo: f64, hi: f64, label: impl Fn(f64) -> String) -> (Domain, Vec<Tick>) {
    let (lo, hi) = if lo > 0.0 && hi > 0.0 && lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (1.0, 10.0)
    };
    let mut d0 = (lo.log10() + 1e-9).floor() as i32;
    let mut d1 = (hi.log10() - 1e-9).ceil() as i32;
    if d1 <= d0 {
        d1 = d0 + 1;
    }
    if d1 - d0 > 12 {
        d0 = d1 - 12;
    }
    let dense = d1 - d0 <= 2;
    let mut ticks = Vec::new();
    for d in d0..=d1 {
        let base = 10f64.powi(d);
        ticks.push((base, label(base)));
        if dense && d < d1 {
            ticks.push((2.0 * base, label(2.0 * base)));
            ticks.push((5.0 * base, label(5.0 * base)));
        }
    }
    let domain = Domain {
        min: 10f64.powi(d0),
        max: 10f64.powi(d1),
        scale: Scale::Log,
    };
    (domain, ticks)
}

/// True when every value is a positive integer power of two (1, 2, 4, …): such sweeps get a
/// log2 axis.
pub fn all_powers_of_two(values: &[f64]) -> bool {
    !values.is_empty()
        && values.iter().all(|&v| {
            v >= 1.0 && v.fract() == 0.0 && v <= u64::MAX as f64 && (v as u64).is_power_of_two()
        })
}

/// A log axis (base 2) through the given sweep values: ticks exactly at the values, domain from
/// the smallest to the largest with half a step of margin on each side.
pub fn log2_ticks(values: &[f64]) -> (Domain, Vec<Tick>) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| *x > 0.0).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.is_empty() {
        v.push(1.0);
    }
    let (lo, hi) = (v[0], v[v.len() - 1]);
    let domain = Domain {
        min: lo / 2f64.sqrt(),
        max: hi * 2f64.sqrt(),
        scale: Scale::Log,
    };
    (domain, v.iter().map(|&x| (x, short_number(x))).collect())
}

/// The quantile labels of the nines axis at decades 0, 1, 2, …: `0%`, `90%`, `99%`, `99.9%`, …
pub const NINES_LABELS: [&str; 7] = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];

/// Position of quantile `q` on the nines axis: `log10(1 / (1 − q))` (0 at q = 0, 1 at 90%,
/// 2 at 99%, …), capped at `NINES_LABELS.len() - 1`.
pub fn nines(q: f64) -> f64 {
    let cap = (NINES_LABELS.len() - 1) as f64;
    if q >= 1.0 {
        return cap;
    }
    (1.0 / (1.0 - q.max(0.0))).log10().min(cap)
}

/// How many decades of nines a histogram of `count` values resolves: `ceil(log10(count))`,
/// at least 2 (up to 99%) and at most 5 (99.999%).
pub fn nines_decades(count: u64) -> usize {
    if count <= 1 {
        return 2;
    }
    ((count as f64).log10().ceil() as usize).clamp(2, 5)
}

/// The nines axis up to `decades`: a linear domain over positions `0..=decades` with ticks
/// labelled `0%`, `90%`, `99%`, ….
pub fn nines_ticks(decades: usize) -> (Domain, Vec<Tick>) {
    let decades = decades.clamp(1, NINES_LABELS.len() - 1);
    let ticks = (0..=decades)
        .map(|d| (d as f64, NINES_LABELS[d].to_string()))
        .collect();
    (
        Domain {
            min: 0.0,
            max: decades as f64,
            scale: Scale::Linear,
        },
        ticks,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_nice_and_cover_the_data() {
        let (d, t) = linear_ticks(0.0, 1730.0, 6, number_label);
        assert_eq!((d.min, d.max), (0.0, 2000.0));
        let labels: Vec<&str> = t.iter().map(|x| x.1.as_str()).collect();
        assert_eq!(labels, ["0", "500", "1000", "1500", "2000"]);
        let (_, t) = linear_ticks(0.0, 0.9, 4, number_label);
        assert_eq!(t[1].1, "0.25");
        let (d, _) = linear_ticks(5.0, 5.0, 5, number_label);
        assert!(d.min < 5.0 && d.max > 5.0);
        let (d, _) = linear_ticks(f64::NAN, 1.0, 5, number_label);
        assert_eq!((d.min, d.max), (0.0, 1.0));
        assert_eq!(nice_step(7.0, 5), 2.0);
        assert_eq!(nice_step(100.0, 4), 25.0);
    }

    #[test]
    fn log_ticks_span_decades_with_adaptive_latency_units() {
        let (d, t) = log_ticks(1_500.0, 3_000_000.0, latency_label);
        assert_eq!((d.min, d.max), (1e3, 1e7));
        let labels: Vec<&str> = t.iter().map(|x| x.1.as_str()).collect();
        assert_eq!(labels, ["1 µs", "10 µs", "100 µs", "1 ms", "10 ms"]);
        // Narrow spans get 2× and 5× ticks.
        let (_, t) = log_ticks(1_200.0, 40_000.0, latency_label);
        let labels: Vec<&str> = t.iter().map(|x| x.1.as_str()).collect();
        assert_eq!(
            labels,
            ["1 µs", "2 µs", "5 µs", "10 µs", "20 µs", "50 µs", "100 µs"]
        );
        assert!((d.fraction(1e5) - 0.5).abs() < 1e-12);
        assert_eq!(latency_label(2.5e9), "2.5 s");
        assert_eq!(latency_label(500.0), "500 ns");
    }

    #[test]
    fn nines_axis_places_quantiles_by_their_nines() {
        assert_eq!(nines(0.0), 0.0);
        assert!((nines(0.9) - 1.0).abs() < 1e-9);
        assert!((nines(0.999) - 3.0).abs() < 1e-9);
        assert_eq!(nines(1.0), 6.0);
        let (d, t) = nines_ticks(5);
        assert_eq!(d.max, 5.0);
        let labels: Vec<&str> = t.iter().map(|x| x.1.as_str()).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
        assert_eq!(nines_decades(3000), 4);
        assert_eq!(nines_decades(10), 2);
        assert_eq!(nines_decades(10_000_000), 5);
    }

    #[test]
    fn powers_of_two_get_a_log2_axis() {
        assert!(all_powers_of_two(&[1.0, 2.0, 4.0, 16.0]));
        assert!(!all_powers_of_two(&[1.0, 3.0]));
        assert!(!all_powers_of_two(&[0.5, 1.0]));
        assert!(!all_powers_of_two(&[]));
        let (d, t) = log2_ticks(&[4.0, 1.0, 16.0, 4.0]);
        assert_eq!(
            t.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(),
            ["1", "4", "16"]
        );
        // 4 is halfway between 1 and 16 on a log axis.
        assert!((d.fraction(4.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn number_labels() {
        assert_eq!(number_label(0.5, 0.25), "0.50");
        assert_eq!(number_label(1000.0, 500.0), "1000");
        assert_eq!(number_label(-0.0, 1.0), "0");
        assert_eq!(number_label(7.5, 2.5), "7.5");
        assert_eq!(short_number(2.50), "2.5");
        assert_eq!(short_number(120.0), "120");
    }
}
