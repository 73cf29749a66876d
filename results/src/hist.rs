//! Latency histograms the HdrHistogram way: integer nanoseconds, fixed bounds, 3 significant
//! digits, one recorder per thread merged with `add`, and whole histograms kept in results in
//! HdrHistogram's V2 compressed (DEFLATE) encoding, base64 — the form every HdrHistogram
//! implementation (Java, C, Go, Rust) decodes.

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use crate::schema::LatencySummary;

/// Lowest value tracked, ns.
pub const LOWEST_NS: u64 = 1;
/// Highest value tracked, ns (one hour): larger values are clamped to it.
pub const HIGHEST_NS: u64 = 3_600_000_000_000;
/// Significant decimal digits kept (HdrHistogram's `sigfig`).
pub const SIGFIG: u8 = 3;

/// A latency histogram in nanoseconds.
pub type Hist = Histogram<u64>;

/// Errors decoding or merging stored histograms.
#[derive(Debug, thiserror::Error)]
pub enum HistError {
    /// The `hdr` field is not valid base64.
    #[error("histogram is not valid base64: {0}; the results file is damaged")]
    Base64(String),
    /// The bytes are not a V2 (compressed) HdrHistogram.
    #[error("histogram does not decode as HdrHistogram V2: {0}; the results file is damaged")]
    Decode(String),
    /// Histograms with other bounds cannot be added.
    #[error("histograms cannot be added: {0}")]
    Add(String),
}

/// A new empty histogram with segbench's fixed bounds.
pub fn new_hist() -> Hist {
    Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, SIGFIG).expect("constant bounds are valid")
}

/// Records `ns`, clamped into the tracked range (never fails, never allocates).
#[inline]
pub fn record(h: &mut Hist, ns: u64) {
    let v = ns.clamp(LOWEST_NS, HIGHEST_NS);
    // Cannot fail: v is within the bounds the histogram was built with.
    let _ = h.record(v);
}

/// Records `ns` `count` times, clamped like [`record`].
#[inline]
pub fn record_n(h: &mut Hist, ns: u64, count: u64) {
    let v = ns.clamp(LOWEST_NS, HIGHEST_NS);
    let _ = h.record_n(v, count);
}

/// Encodes a histogram as V2 + DEFLATE, base64 (standard alphabet, padded).
pub fn encode(h: &Hist) -> String {
    let mut buf = Vec::new();
    // Serializing to a Vec cannot fail for a histogram within bounds.
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .expect("serializing a histogram into memory");
    base64::engine::general_purpose::STANDARD.encode(buf)
}

/// Decodes what [`encode`] (or any HdrHistogram V2 / V2-compressed encoder) produced.
pub fn decode(s: &str) -> Result<Hist, HistError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| HistError::Base64(e.to_string()))?;
    let h: Hist = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| HistError::Decode(format!("{e:?}")))?;
    Ok(h)
}

/// Percentiles and the whole histogram.
pub fn summarize(h: &Hist) -> LatencySummary {
    if h.is_empty() {
        return LatencySummary { hdr: encode(h), ..Default::default() };
    }
    LatencySummary {
        count: h.len(),
        min: h.min(),
        mean: h.mean(),
        p50: h.value_at_quantile(0.50),
        p90: h.value_at_quantile(0.90),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        p9999: h.value_at_quantile(0.9999),
        max: h.max(),
        hdr: encode(h),
    }
}

/// Adds histograms (never averages percentiles) and summarizes the sum.
pub fn merge_summaries<'a>(parts: impl IntoIterator<Item = &'a LatencySummary>) -> Result<LatencySummary, HistError> {
    let mut total = new_hist();
    for p in parts {
        let h = decode(&p.hdr)?;
        total.add(&h).map_err(|e| HistError::Add(format!("{e:?}")))?;
    }
    Ok(summarize(&total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_percentiles() {
        let mut h = new_hist();
        for v in 1..=10_000u64 {
            record(&mut h, v * 1000);
        }
        let s = summarize(&h);
        assert_eq!(s.count, 10_000);
        assert!((s.p50 as f64 - 5_000_000.0).abs() / 5e6 < 0.002, "{}", s.p50);
        assert!((s.p99 as f64 - 9_900_000.0).abs() / 9.9e6 < 0.002, "{}", s.p99);
        let back = decode(&s.hdr).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn clamps_out_of_range_values() {
        let mut h = new_hist();
        record(&mut h, 0);
        record(&mut h, u64::MAX);
        assert_eq!(h.len(), 2);
        assert_eq!(h.min(), 1);
        assert!(h.max() >= HIGHEST_NS);
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = (new_hist(), new_hist(), new_hist());
        for v in 0..5000u64 {
            let x = (v * 7919) % 100_000 + 1;
            if v % 3 == 0 {
                record(&mut a, x);
            } else {
                record(&mut b, x * 50);
            }
        }
        all.add(&a).unwrap();
        all.add(&b).unwrap();
        let m = merge_summaries([&summarize(&a), &summarize(&b)]).unwrap();
        assert_eq!(m, summarize(&all));
        assert_eq!(m.count, 5000);
    }

    #[test]
    fn decodes_a_histogram_from_another_implementation() {
        // Encoded by HdrHistogram's Java/C tooling family format: "HISTFAAAA..." is the base64
        // of the V2 compressed cookie 0x1c849304. Our own encoding must start the same way.
        let s = encode(&new_hist());
        assert!(s.starts_with("HISTF"), "{s}");
        assert!(decode("not base64 !!").is_err());
        assert!(decode("AAAA").is_err());
    }
}
