//! Human formatting of figures, for the exporters and the binary alike: throughput in MB/s
//! (10^6 bytes), sizes in binary units (KiB, MiB, GiB), latencies in adaptive units (ns, µs,
//! ms, s), counts with SI prefixes, ratios ("1.90×"). One formatter per kind of figure.
//!
//! Everything is rounded to [`SIGNIFICANT_DIGITS`] significant digits: run-to-run noise on real
//! hardware is larger than 0.1%, so a fourth digit would only pretend to precision. Numbers at or
//! above `10^SIGNIFICANT_DIGITS` keep all their integer digits ("1234", never "1.23e3").
//! Figures that are not finite print as [`MISSING`].

use crate::schema::Medium;

/// Significant digits kept by the formatters.
pub const SIGNIFICANT_DIGITS: u32 = 3;

/// Shown for a figure that does not exist (skipped workload, no CPU figure, NaN).
pub const MISSING: &str = "–";

/// Bytes in a decimal megabyte (the MB of MB/s).
pub const MB: f64 = 1e6;

/// `x` rounded to `digits` significant digits, without exponent: `significant(0.04217, 3)` is
/// `"0.0422"`, `significant(99.96, 3)` is `"100"`, `significant(1234.4, 3)` is `"1234"`.
pub fn significant(x: f64, digits: u32) -> String {
    if !x.is_finite() {
        return MISSING.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let digits = digits.max(1) as i32;
    let magnitude = x.abs().log10().floor() as i32;
    let mut decimals = (digits - 1 - magnitude).clamp(0, 12) as usize;
    let mut s = format!("{x:.decimals$}");
    // Rounding may carry into the next power of ten (99.96 -> "100.0"): drop one decimal.
    if decimals > 0 {
        if let Ok(rounded) = s.parse::<f64>() {
            if rounded.abs() >= 10f64.powi(magnitude + 1) {
                decimals -= 1;
                s = format!("{x:.decimals$}");
            }
        }
    }
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s.remove(0); // "-0.00" -> "0.00"
    }
    s
}

/// `x` rounded to [`SIGNIFICANT_DIGITS`] significant digits.
pub fn sig(x: f64) -> String {
    significant(x, SIGNIFICANT_DIGITS)
}

/// `x` rounded to [`SIGNIFICANT_DIGITS`] significant digits, as a number (used to pick units so
/// that 999.7 ns shows as "1.00 µs", not "1000 ns").
fn rounded(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let magnitude = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(SIGNIFICANT_DIGITS as i32 - 1 - magnitude);
    (x * scale).round() / scale
}

/// Throughput in MB/s without the unit, e.g. `412` for 412.3e6 bytes/s (for table cells whose
/// header carries the unit).
pub fn mb_per_s_value(bytes_per_s: f64) -> String {
    sig(bytes_per_s / MB)
}

/// Throughput with its unit, e.g. `"412 MB/s"`; MB = 10^6 bytes.
pub fn mb_per_s(bytes_per_s: f64) -> String {
    if !bytes_per_s.is_finite() {
        return MISSING.to_string();
    }
    format!("{} MB/s", mb_per_s_value(bytes_per_s))
}

/// A duration in nanoseconds, as integer (`u64`, as in [`crate::LatencySummary`]) or float
/// (`f64`, as in a [`crate::Stat`] over repetitions).
pub trait Nanos: Copy {
    /// The value as `f64` nanoseconds.
    fn as_ns_f64(self) -> f64;
}

impl Nanos for u64 {
    fn as_ns_f64(self) -> f64 {
        self as f64
    }
}

impl Nanos for f64 {
    fn as_ns_f64(self) -> f64 {
        self
    }
}

/// A latency in the largest unit that keeps it at or above 1: `"850 ns"`, `"1.23 µs"`,
/// `"12.3 ms"`, `"2.50 s"`.
pub fn latency(ns: impl Nanos) -> String {
    let ns = ns.as_ns_f64();
    if !ns.is_finite() || ns < 0.0 {
        return MISSING.to_string();
    }
    const UNITS: [(f64, &str); 3] = [(1.0, "ns"), (1e3, "µs"), (1e6, "ms")];
    for (scale, unit) in UNITS {
        let v = ns / scale;
        if rounded(v) < 1000.0 {
            return format!("{} {unit}", sig(v));
        }
    }
    format!("{} s", sig(ns / 1e9))
}

/// A count with an SI prefix: `"950"`, `"12.3 k"`, `"2.02 M"`, `"1.50 G"`.
pub fn count(n: f64) -> String {
    if !n.is_finite() {
        return MISSING.to_string();
    }
    const PREFIXES: [(f64, &str); 3] = [(1e9, " G"), (1e6, " M"), (1e3, " k")];
    for (scale, prefix) in PREFIXES {
        if rounded(n.abs()) >= scale {
            return format!("{}{prefix}", sig(n / scale));
        }
    }
    sig(n)
}

/// A rate with an SI prefix and `/s`: `"821 k/s"`.
pub fn count_per_s(n_per_s: f64) -> String {
    if !n_per_s.is_finite() {
        return MISSING.to_string();
    }
    let c = count(n_per_s);
    if c.ends_with(|ch: char| ch.is_ascii_alphabetic()) {
        format!("{c}/s")
    } else {
        format!("{c} /s")
    }
}

/// A ratio: `"1.90×"`, `"0.550×"`, `"206×"`.
pub fn ratio(x: f64) -> String {
    if !x.is_finite() {
        return MISSING.to_string();
    }
    format!("{}×", sig(x))
}

/// CPU seconds per GB moved (10^9 bytes), e.g. `"0.420"`.
pub fn cpu_s_per_gb(x: f64) -> String {
    sig(x)
}

/// A byte count, as integer (`u64`, a size) or float (`f64`, e.g. storage per broker).
pub trait ByteCount: Copy {
    /// The value as `f64` bytes.
    fn as_bytes_f64(self) -> f64;
}

impl ByteCount for u64 {
    fn as_bytes_f64(self) -> f64 {
        self as f64
    }
}

impl ByteCount for f64 {
    fn as_bytes_f64(self) -> f64 {
        self
    }
}

/// A byte count in binary units: `"512 B"`, `"4.00 KiB"`, `"1.00 GiB"`, `"3.64 TiB"`. The one
/// byte formatter of segbench: sizes print the same in `probe`, `plan` and the reports.
pub fn bytes_iec(n: impl ByteCount) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let n = n.as_bytes_f64();
    if !n.is_finite() || n < 0.0 {
        return MISSING.to_string();
    }
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 && n.fract() == 0.0 {
        format!("{n} B")
    } else {
        format!("{} {}", sig(v), UNITS[unit])
    }
}

/// A share as a percentage: `"12.5%"`.
pub fn percent(share: f64) -> String {
    if !share.is_finite() {
        return MISSING.to_string();
    }
    format!("{}%", sig(share * 100.0))
}

/// A fraction as a percentage without trailing zeros and without the sign: 0.05 -> `5`,
/// 0.025 -> `2.5` (thresholds and confidence levels, exact as given).
pub fn plain_percent(x: f64) -> String {
    format!("{}", (x * 100.0 * 1000.0).round() / 1000.0)
}

/// What a figure measured, in words: `"device"`, `"page cache"`, `"memory"`, `"network"`.
pub fn medium_label(m: Medium) -> &'static str {
    match m {
        Medium::Device => "device",
        Medium::PageCache => "page cache",
        Medium::Memory => "memory",
        Medium::Network => "network",
    }
}

/// Display width of `s` in terminal columns, counted in chars (not bytes): `µ`, `×`, `–` and
/// the box-drawing characters used here are one column wide each.
pub fn width(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(significant(412.345, 3), "412");
        assert_eq!(significant(41.2345, 3), "41.2");
        assert_eq!(significant(4.12345, 3), "4.12");
        assert_eq!(significant(0.04217, 3), "0.0422");
        assert_eq!(significant(99.96, 3), "100");
        assert_eq!(significant(9.996, 3), "10.0");
        assert_eq!(significant(1234.4, 3), "1234");
        assert_eq!(significant(-2.5, 3), "-2.50");
        assert_eq!(significant(0.0, 3), "0");
        assert_eq!(significant(f64::NAN, 3), MISSING);
        assert_eq!(significant(f64::INFINITY, 3), MISSING);
    }

    #[test]
    fn throughput_is_decimal_megabytes() {
        assert_eq!(mb_per_s(412.3e6), "412 MB/s");
        assert_eq!(mb_per_s(1_048_576.0), "1.05 MB/s"); // one MiB/s is not one MB/s
        assert_eq!(mb_per_s_value(2e6), "2.00");
        assert_eq!(mb_per_s(f64::NAN), MISSING);
    }

    #[test]
    fn latency_picks_adaptive_units() {
        assert_eq!(latency(850u64), "850 ns");
        assert_eq!(latency(999u64), "999 ns");
        assert_eq!(latency(999.7f64), "1.00 µs"); // rounding carries into the next unit
        assert_eq!(latency(1_234u64), "1.23 µs");
        assert_eq!(latency(12_345u64), "12.3 µs");
        assert_eq!(latency(123_456u64), "123 µs");
        assert_eq!(latency(1_234_567u64), "1.23 ms");
        assert_eq!(latency(999_999u64), "1.00 ms");
        assert_eq!(latency(2_500_000_000u64), "2.50 s");
        assert_eq!(latency(3_600_000_000_000u64), "3600 s");
        assert_eq!(latency(0u64), "0 ns");
        assert_eq!(latency(f64::NAN), MISSING);
    }

    #[test]
    fn counts_and_ratios() {
        assert_eq!(count(950.0), "950");
        assert_eq!(count(999.9), "1.00 k");
        assert_eq!(count(821_557.0), "822 k");
        assert_eq!(count(2_024_032.0), "2.02 M");
        assert_eq!(count(999_999.0), "1.00 M");
        assert_eq!(count_per_s(821_557.0), "822 k/s");
        assert_eq!(count_per_s(12.0), "12.0 /s");
        assert_eq!(ratio(2.0), "2.00×");
        assert_eq!(ratio(1.9), "1.90×");
        assert_eq!(ratio(0.55), "0.550×");
        assert_eq!(ratio(206.15), "206×");
        assert_eq!(ratio(f64::INFINITY), MISSING);
        assert_eq!(percent(0.125), "12.5%");
        assert_eq!(cpu_s_per_gb(0.42), "0.420");
    }

    #[test]
    fn binary_sizes() {
        assert_eq!(bytes_iec(512), "512 B");
        assert_eq!(bytes_iec(4096), "4.00 KiB");
        assert_eq!(bytes_iec(1 << 30), "1.00 GiB");
        assert_eq!(bytes_iec(1536 * 1024), "1.50 MiB");
        assert_eq!(bytes_iec(3u64 << 30), "3.00 GiB");
        assert_eq!(bytes_iec(1e13), "9.09 TiB");
        assert_eq!(bytes_iec(512.0), "512 B");
        assert_eq!(bytes_iec(0.5), "0.500 B");
        assert_eq!(bytes_iec(f64::NAN), MISSING);
    }

    #[test]
    fn width_counts_chars_not_bytes() {
        assert_eq!("1.23 µs".len(), 8);
        assert_eq!(width("1.23 µs"), 7);
        assert_eq!(width("2.00×"), 5);
        assert_eq!(width("398–421"), 7);
    }

    #[test]
    fn medium_labels() {
        assert_eq!(medium_label(Medium::PageCache), "page cache");
        assert_eq!(medium_label(Medium::Device), "device");
    }
}
