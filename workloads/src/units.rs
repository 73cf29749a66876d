//! Parsing of the sizes, durations and rates users type: `16KiB`, `1GB`, `500ms`, `2m`, `100MB/s`.
//!
//! Decimal units are powers of 10 (`MB` = 10^6 bytes), binary units powers of 2 (`MiB` = 2^20).
//! A bare number is bytes (sizes), seconds (durations) or bytes per second (rates).

use std::time::Duration;

/// A value that did not parse; the message names the value and the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

fn split_number(s: &str) -> Option<(f64, &str)> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    let n: f64 = s[..end].parse().ok()?;
    if !n.is_finite() {
        return None;
    }
    Some((n, s[end..].trim()))
}

fn size_multiplier(unit: &str) -> Option<u64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return None,
    })
}

/// Parses a size in bytes (`4096`, `16KiB`, `1.5GiB`, `10MB`; `k`/`m`/`g` alone are binary).
/// Zero, negative and fractional-byte results are refused.
pub fn parse_size(s: &str) -> Result<u64, UnitError> {
    let bad = || {
        UnitError(format!("invalid size '{s}': use a positive number with an optional unit, e.g. 4096, 16KiB, 1GiB, 10MB"))
    };
    let (n, unit) = split_number(s).ok_or_else(bad)?;
    let mult = size_multiplier(unit).ok_or_else(bad)?;
    let v = n * mult as f64;
    if v < 1.0 || v > u64::MAX as f64 / 2.0 || v.fract() != 0.0 {
        return Err(bad());
    }
    Ok(v as u64)
}

/// Parses a duration (`500ms`, `10s`, `2m`, `1h`, `7d`, `2w`, `250us`; a bare number is seconds).
/// Zero is refused.
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let bad = || {
        UnitError(format!(
            "invalid duration '{s}': use a positive number with a unit, e.g. 500ms, 10s, 2m"
        ))
    };
    let (n, unit) = split_number(s).ok_or_else(bad)?;
    let secs = match unit {
        "" | "s" | "sec" => n,
        "ms" => n / 1e3,
        "us" | "µs" => n / 1e6,
        "ns" => n / 1e9,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" | "day" | "days" => n * 86_400.0,
        "w" | "week" | "weeks" => n * 604_800.0,
        _ => return Err(bad()),
    };
    if secs <= 0.0 || secs > 1e9 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a duration that may be zero, meaning "none" (a warm-up, an idle timeout): `0`, `0s`,
/// `0ms` are zero; anything else as [`parse_duration`].
pub fn parse_duration_or_zero(s: &str) -> Result<Duration, UnitError> {
    match split_number(s) {
        Some((n, unit))
            if n == 0.0 && (unit.is_empty() || parse_duration(&format!("1{unit}")).is_ok()) =>
        {
            Ok(Duration::ZERO)
        }
        _ => parse_duration(s).map_err(|e| UnitError(format!("{} (or 0 for none)", e.0))),
    }
}

/// Parses a rate in bytes per second (`100MB/s`, `1GiB/s`, `5000000`). Zero is refused.
pub fn parse_rate(s: &str) -> Result<f64, UnitError> {
    let bad = || {
        UnitError(format!(
            "invalid rate '{s}': use a size per second, e.g. 100MB/s, 1GiB/s, 20MB/s"
        ))
    };
    let t = s.trim();
    let t = t
        .strip_suffix("/s")
        .or_else(|| t.strip_suffix("ps"))
        .unwrap_or(t);
    let (n, unit) = split_number(t).ok_or_else(bad)?;
    let mult = size_multiplier(unit).ok_or_else(bad)?;
    let v = n * mult as f64;
    if v <= 0.0 || !v.is_finite() {
        return Err(bad());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("16KiB").unwrap(), 16384);
        assert_eq!(parse_size("16k").unwrap(), 16384);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("1.5 GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("10MB").unwrap(), 10_000_000);
        for bad in ["", "0", "-5", "abc", "10XB", "0.5", "1e9", "nanKiB", "KiB"] {
            assert!(parse_size(bad).is_err(), "{bad} should be refused");
        }
        assert!(parse_size("x").unwrap_err().0.contains("'x'"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        // Retention-scale units: days and weeks.
        let day = Duration::from_secs(86_400);
        assert_eq!(parse_duration("7d").unwrap(), day * 7);
        assert_eq!(parse_duration("1.5d").unwrap(), day * 3 / 2);
        assert_eq!(parse_duration("2w").unwrap(), day * 14);
        for bad in ["", "0s", "-1s", "10 parsecs", "ms"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zero_durations_mean_none() {
        for z in ["0", "0s", "0ms", " 0 ", "0.0s"] {
            assert_eq!(parse_duration_or_zero(z).unwrap(), Duration::ZERO, "{z}");
        }
        assert_eq!(
            parse_duration_or_zero("2s").unwrap(),
            Duration::from_secs(2)
        );
        assert!(parse_duration_or_zero("0parsecs").is_err());
        assert!(parse_duration_or_zero("-1s").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("100MB/s").unwrap(), 1e8);
        assert_eq!(parse_rate("1GiB/s").unwrap(), (1u64 << 30) as f64);
        assert_eq!(parse_rate("20MBps").unwrap(), 2e7);
        assert!(parse_rate("0MB/s").is_err());
        assert!(parse_rate("fast").is_err());
    }
}
