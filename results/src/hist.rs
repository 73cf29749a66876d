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
    /// The header claims more than the data holds, or more than a latency histogram needs.
    #[error("histogram header is not believable: {0}; the results file is damaged")]
    Implausible(String),
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

/// HdrHistogram's V2 cookie (uncompressed; base 0x1c849303 with the 0x10 word-size bits, as
/// every implementation writes it).
const V2_COOKIE: u32 = 0x1c84_9313;
/// HdrHistogram's V2 compressed cookie.
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// Bytes of a V2 header: cookie, payload length, normalizing offset, significant digits,
/// lowest, highest, conversion ratio.
const V2_HEADER_BYTES: usize = 40;
/// The largest stored histogram accepted, base64 text or inflated payload. segbench's own
/// (1 ns .. 1 h, 3 digits) need at most ~240 KiB even with every bucket in use.
pub const MAX_STORED_BYTES: usize = 16 << 20;
/// The highest trackable value accepted in a stored histogram (about 146 years in ns).
const MAX_HIGHEST: u64 = 1 << 62;
/// HdrHistogram's limit on significant digits.
const MAX_SIGFIG: u32 = 5;
/// The most counts (8 bytes each: 4 MiB) a stored histogram's range × precision may need. A
/// decoded histogram allocates its whole counts array whatever its data holds, so the header is
/// bounded, not only the bytes: 5 significant digits over 2^62 would take 48 MB (6.0 M counts).
/// segbench's own (1 ns .. 1 h, 3 digits) take 33 K counts; 3 digits over all of 2^62, 54 K;
/// 4 digits over 1 µs .. 1 h (in ns), 328 K.
pub const MAX_COUNTS: u64 = 1 << 19;

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// The length of the counts array HdrHistogram allocates for `lowest ..= highest` at `sigfig`
/// significant digits (its `Histogram::new_with_bounds` sizing), without allocating it.
fn counts_len(lowest: u64, highest: u64, sigfig: u32) -> u64 {
    let single_unit = 2 * 10u64.pow(sigfig.min(MAX_SIGFIG));
    let sub_bucket_magnitude = 64 - (single_unit - 1).leading_zeros();
    let half_count = 1u64 << sub_bucket_magnitude.max(1).saturating_sub(1);
    let unit_magnitude = lowest.max(1).ilog2();
    let mut untrackable = (1u128 << sub_bucket_magnitude) << unit_magnitude;
    let mut buckets = 1u64;
    while untrackable <= u128::from(highest) {
        untrackable <<= 1;
        buckets += 1;
    }
    (buckets + 1) * half_count
}

/// Checks an uncompressed V2 encoding's header against the bytes that follow it, so a header
/// that claims more than the data (or an absurd range) is refused before anything is allocated.
fn check_v2(b: &[u8]) -> Result<(), HistError> {
    if b.len() < V2_HEADER_BYTES {
        return Err(HistError::Implausible(format!(
            "{} bytes, shorter than a header",
            b.len()
        )));
    }
    let payload = be_u32(b, 4) as usize;
    if payload > b.len() - V2_HEADER_BYTES {
        return Err(HistError::Implausible(format!(
            "claims {payload} payload bytes, holds {}",
            b.len() - V2_HEADER_BYTES
        )));
    }
    let sigfig = be_u32(b, 12);
    let highest = be_u64(b, 24);
    if sigfig > MAX_SIGFIG || highest > MAX_HIGHEST {
        return Err(HistError::Implausible(format!(
            "{sigfig} significant digits up to {highest}"
        )));
    }
    let lowest = be_u64(b, 16);
    let counts = counts_len(lowest, highest, sigfig);
    if counts > MAX_COUNTS {
        return Err(HistError::Implausible(format!(
            "{sigfig} significant digits over {lowest}..{highest} need {counts} counts, more than {MAX_COUNTS}"
        )));
    }
    Ok(())
}

/// The uncompressed V2 bytes of a stored histogram: inflated (at most [`MAX_STORED_BYTES`]) when
/// compressed, and with a header that agrees with its data.
fn bounded_v2(bytes: Vec<u8>) -> Result<Vec<u8>, HistError> {
    if bytes.len() < 8 {
        return Err(HistError::Decode(format!("{} bytes", bytes.len())));
    }
    let v2 = match be_u32(&bytes, 0) {
        V2_COOKIE => bytes,
        V2_COMPRESSED_COOKIE => {
            use std::io::Read as _;
            let len = be_u32(&bytes, 4) as usize;
            if len > bytes.len() - 8 {
                return Err(HistError::Implausible(format!(
                    "claims {len} compressed bytes, holds {}",
                    bytes.len() - 8
                )));
            }
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(&bytes[8..8 + len])
                .take(MAX_STORED_BYTES as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| HistError::Decode(e.to_string()))?;
            if out.len() > MAX_STORED_BYTES {
                return Err(HistError::Implausible(format!(
                    "inflates past {MAX_STORED_BYTES} bytes"
                )));
            }
            if out.len() < 4 || be_u32(&out, 0) != V2_COOKIE {
                return Err(HistError::Decode("inner cookie is not V2".into()));
            }
            out
        }
        c => return Err(HistError::Decode(format!("unknown cookie {c:#x}"))),
    };
    check_v2(&v2)?;
    Ok(v2)
}

/// Decodes what [`encode`] (or any HdrHistogram V2 / V2-compressed encoder) produced. A header
/// that claims more than its data, or more than [`MAX_STORED_BYTES`], is refused without
/// allocating what it claims.
pub fn decode(s: &str) -> Result<Hist, HistError> {
    let s = s.trim();
    if s.len() > MAX_STORED_BYTES {
        return Err(HistError::Implausible(format!(
            "{} bytes of base64, more than {MAX_STORED_BYTES}",
            s.len()
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| HistError::Base64(e.to_string()))?;
    let v2 = bounded_v2(bytes)?;
    let h: Hist = Deserializer::new()
        .deserialize(&mut v2.as_slice())
        .map_err(|e| HistError::Decode(format!("{e:?}")))?;
    Ok(h)
}

/// Percentiles and the whole histogram.
pub fn summarize(h: &Hist) -> LatencySummary {
    if h.is_empty() {
        return LatencySummary {
            hdr: encode(h),
            ..Default::default()
        };
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
pub fn merge_summaries<'a>(
    parts: impl IntoIterator<Item = &'a LatencySummary>,
) -> Result<LatencySummary, HistError> {
    let mut total = new_hist();
    for p in parts {
        let h = decode(&p.hdr)?;
        total
            .add(&h)
            .map_err(|e| HistError::Add(format!("{e:?}")))?;
    }
    Ok(summarize(&total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn a_header_claiming_more_than_its_data_is_refused_without_allocating_it() {
        let mut h = new_hist();
        record(&mut h, 1234);
        // Uncompressed V2 whose header claims a 2 GB payload.
        let mut v2 = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&h, &mut v2)
            .unwrap();
        assert_eq!(
            decode(&b64(&v2)).unwrap().len(),
            1,
            "the honest one decodes"
        );
        v2[4..8].copy_from_slice(&0x7fff_fff0u32.to_be_bytes());
        let e = decode(&b64(&v2)).unwrap_err();
        assert!(matches!(e, HistError::Implausible(_)), "{e}");
        assert!(
            e.to_string().contains("claims 2147483632 payload bytes"),
            "{e}"
        );

        // The same lie inside a compressed encoding.
        use std::io::Write as _;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&v2).unwrap();
        let deflated = z.finish().unwrap();
        let mut c = V2_COMPRESSED_COOKIE.to_be_bytes().to_vec();
        c.extend_from_slice(&(deflated.len() as u32).to_be_bytes());
        c.extend_from_slice(&deflated);
        assert!(matches!(
            decode(&b64(&c)).unwrap_err(),
            HistError::Implausible(_)
        ));
        // A compressed length past the end, an absurd range, an oversized text.
        c[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            decode(&b64(&c)).unwrap_err(),
            HistError::Implausible(_)
        ));
        let mut wide = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&h, &mut wide)
            .unwrap();
        wide[24..32].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(matches!(
            decode(&b64(&wide)).unwrap_err(),
            HistError::Implausible(_)
        ));
        let huge = "A".repeat(MAX_STORED_BYTES + 4);
        assert!(matches!(
            decode(&huge).unwrap_err(),
            HistError::Implausible(_)
        ));
    }

    /// A 56-byte header with 5 significant digits over 2^62 would allocate 48 MB of counts:
    /// refused as damaged before anything is allocated; segbench's own range passes.
    #[test]
    fn a_range_times_precision_past_the_bound_is_refused_before_allocating() {
        let mut v2 = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&new_hist(), &mut v2)
            .unwrap();
        assert!(decode(&b64(&v2)).is_ok());
        assert!(counts_len(LOWEST_NS, HIGHEST_NS, u32::from(SIGFIG)) <= MAX_COUNTS);
        for (lo, hi, sf) in [
            (1, 3_600_000_000_000, 3),
            (1000, 1 << 40, 4),
            (1, 2, 0),
            (7, 1 << 30, 2),
        ] {
            let h: Hist = Histogram::new_with_bounds(lo, hi, sf as u8).unwrap();
            assert_eq!(
                counts_len(lo, hi, sf),
                h.distinct_values() as u64,
                "{lo} {hi} {sf}"
            );
        }
        let mut wide = v2.clone();
        wide[12..16].copy_from_slice(&5u32.to_be_bytes());
        wide[24..32].copy_from_slice(&(1u64 << 62).to_be_bytes());
        let e = decode(&b64(&wide)).unwrap_err();
        assert!(matches!(e, HistError::Implausible(_)), "{e}");
        assert!(e.to_string().contains("counts"), "{e}");
        // 3 digits over the whole 2^62 range (what other tools write) still decodes.
        let mut other = v2;
        other[24..32].copy_from_slice(&(1u64 << 62).to_be_bytes());
        assert!(decode(&b64(&other)).is_ok());
    }

    #[test]
    fn round_trips_and_keeps_percentiles() {
        let mut h = new_hist();
        for v in 1..=10_000u64 {
            record(&mut h, v * 1000);
        }
        let s = summarize(&h);
        assert_eq!(s.count, 10_000);
        assert!(
            (s.p50 as f64 - 5_000_000.0).abs() / 5e6 < 0.002,
            "{}",
            s.p50
        );
        assert!(
            (s.p99 as f64 - 9_900_000.0).abs() / 9.9e6 < 0.002,
            "{}",
            s.p99
        );
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

    #[test]
    fn decodes_histograms_encoded_by_other_implementations() {
        // Both from HdrHistogramJS's own test suite (HdrHistogram/HdrHistogramJS,
        // src/encoding.spec.ts): "should decode and decompress reading a base64 string" (one
        // value, 42: count 1, mean 42) and "should decode and decompress a big base64 string"
        // (count 10000).
        let one = decode("HISTFAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM=").unwrap();
        assert_eq!(
            (one.len(), one.min(), one.max(), one.mean()),
            (1, 42, 42, 42.0)
        );
        let big = decode(BIG_JS).unwrap();
        assert_eq!(big.len(), 10_000);
        assert!(big.min() <= big.value_at_quantile(0.5) && big.value_at_quantile(0.5) <= big.max());

        // Foreign histograms (other bounds) add into ours and summarize like ours.
        let mut ours = new_hist();
        ours.add(&one).unwrap();
        ours.add(&big).unwrap();
        let s = summarize(&ours);
        assert_eq!(s.count, 10_001);
        assert_eq!(s.max, big.max());
        // And survive our own encoding.
        assert_eq!(decode(&s.hdr).unwrap(), ours);

        // Not used: HdrHistogram_py's interop sample from HdrHistogram_c
        // (test/test_hdrhistogram.py, ENCODE_SAMPLES_HDRHISTOGRAM_C[0]) states a payload length
        // of 49 bytes for 9 bytes of counts (49 = 40-byte header + 9); hdrhistogram 7.6
        // refuses it (UnexpectedEof) where the Python decoder reads on.
    }

    /// HdrHistogramJS src/encoding.spec.ts, "should decode and decompress a big base64 string".
    const BIG_JS: &str = concat!(
        "HISTFAAACGB42j1WQY4cuRGks7KzWWwOh1NTGo1GEmzBWCx0EAxjsdiTsdiTD4ZPfoa/4R/4o/7BOiKSrWnNVBWL",
        "zIyMiMzWp//897mUA7/62db1D/n3999//V8umBW74POTPds7+4In2/xq722zv9huj/bRbvZH+2oPdrV3vtu//AOe",
        "P9if8Ra7H7DlhlcPePyo+w1xrrh+84uZFzd7QkyEL/ZXJPgN295jC5bsii0FN084/BXXDQH+jqPMlhn5eYf1D/be",
        "b9h7BdSfseMJGG5C94h3BRFveibyZ9x9wR1KeaebR0P8J/vVfsCbHevv7DOxPxt2/1MrLOQz3j8BH2DjhOHpA/Zf",
        "EILRWaD9bZHyb7z60X6xRxByMzxsQEJsCPlNoP/BFI849WQP/iy+cHJHqG+4veIAWcf+DQ9Y51MRBRueHlRqEbOP",
        "XqQR74Ec28Dab9pseLpqI7na/bPCPuBz0xskIIAvUqVIpQdTcr7/Afje68RHpPwsBrXnUYE3UVy0AYubljZTggsh",
        "U+gdlTHej6iyJEfXuOb+B51wcXdbzD/yaFkQNn+fXnHBY7In5Sgi4wb34IYciy83hbxSG/pJFipa+VnByeJXFMPD",
        "0pQMoUTc+i3BExV+bgKa98WYHqk2GnaH+bPg3Xl8X9AEZpcI4qCsDx/9kpfMWJyG3Xz3PQGWDI88N2myqfh1c9H1",
        "0XQT4qoI1E19uC87cKMLtS2byDWs3u6Qnlyet7gqYvHtTnWaKXndXBZ6oo2IGJTnywxyuT/tstx+p2ZTBQKQql6F",
        "67ogJCWXxO4cIrhcJfwui1ouMTInwc1vi8RLtSUuJarJNYtGjgcpuPuDcHBgMMQqyiwZUF0C4ImHhRehVqurp7w0",
        "npbmm2yllFTJXEJv3wNJL/LEQlYxFw9bei3hmY9oWJO70goSLxpr3q+22EhF434Sa/i58M+yTSKGdHYJW6aETlou",
        "ZMIyrSbqCgd6N6DyBJ3q4TUmLlNuUcJZoTasfmAtSLBpLssdC96+ig9Cu3PKZ0/RNZsyENkDXiZOrusmWXYcjs2y",
        "jbDX9ljQfV3ijoMPvEbiJvOeTIGRO0OXO5ll1U6W2bqhAsDelenq9/Zy+dnVAQv5fudVfUcAG15gGFRGvvrVy3cm",
        "Nqa+eIlkZbkT7ighNrZEcwmtMaQno241JTed3URhOuOSE6wsDRapRVnFhpJdkxZfv3GLrJqu5LZLLi+XpOfFaRIS",
        "d19d6BkMlmBcNOxW0zmF5odgllbO/lCxPEKDkP9lVjKULpF/WEXdeA1lYo3A3oSYXIa4KLWwQZitlaixpfXYzniV",
        "6nPbQDaPKIIu/SuTBk7JuVhWJJcXeSi80hQMmbTLh7Ws0qsoRIoadRNFZBY5NtoxP3jp6kjiR8BNdTFbLNRllIj8",
        "ErLOgcDV7qsXbKu0SFSK4FU80l7Yhr2DrHNjIAvh8FUGcxqDYlovqiPVCiXfKhfUcNnAcpHUjNWGjZi5iUiT3bpV",
        "YKucA0TM7S5QVWR6PkjCFBx7OuGRIzFcazgUwraS/sk6inedzENVRZnc0XL0izNrOKxQauPm3tgfqC2p1SqtxgQk",
        "pLgaTtR7qIPYghHihqe6NAhbLROaYT2/yJxKcJAJag67xn/6b6UgBtNHzcmH9Y7LgFTf86nRYCCqKiOrmODpyFlr",
        "psKjKX3AayLK6OKarcUnrJckOKk3fW14fgWsdg0NsEySspJnygVIta7h17Nn2cClVc+5Fzp5SW9KQBJZt/Wl4voG",
        "oys13gsNjinMmu8y0lhdfLC1kgA1cLBdOoEnj9Sb2hVrfcIPECO8NfwB791rZ19RZ+yLjmrxjH9QrEPo5r0Ovnd2",
        "HQ4OvBit19oqtanRkL2hyOqNkwgP2BzHydZG5CYhu0yGfYFzzkFSOzB1Grnxq9GzE7ypsfxAFmIYDdfRG9gEUCTD",
        "+8ZJAHlG57CAnEgCCqczdMhvAFVUGRAP49xoqBr4bVLNNg2BmiplOoQFPsZ2nOnYxWZrfQBhVIwG1FZZFT5HdxWr",
        "TgweZm/JiCgV25kMEQfrl68rVUECyhTE3CIdELwJze0u0jgrrHfOCrgaK9hdR0eGMch+JXGpTggNzkKIThVqBVCU",
        "NBobodN+YAqFkUGUCUt0Dg5ALNNGdjwq5ixpnXVoevAAqGM0mgtniDlG5Zxx6HcGItlI7G1SyANyAQDVBFZYhFTi",
        "yhkMX1XBBY+9I2/OMucIxhYaAh+EmVg2+ik/eGO0Jzgg1Zw++iJBgEpWcGl10sUqFw6hd+vp+S0xOHIqC5fGrRIR",
        "q0IxTUZtloyDI9aP8kagP6fmk/us9HEos4YEzrEOCk1BWBtkYk6OXKObwHgMfN81sVnpdliHDPKLDnoWGRJGiK4x",
        "PzhjKruu9UYpQYh6ASv0lbe0DOdX6ayAmNEkyFoLv7JoQH6o/+CDoS3xt5wqjSpJhHjtjZr1OCA+Ys5ZDzYx/DL6",
        "iI4eG8dr6bOPA7hnbccc53gbPNJHqzgx5zE6/ImJQKMN3OFYe5mQ9qxv/RyvzY854QpIM/AX2/w8xoluoETnnONt",
        "vowxZjuPjiLbS61vwydCAu4x2tlfz47U3A75zonNmEHgZbzM3pAIaNuJQYbFMY8GaMjjAyv1PNtLf208c87XPlBE",
        "sLVeZ5/HGfWIAwyjodoJwmYMR6HH2SfcVnGnsYbTfPiENP316K8Dr8+K4hpIgdlHBUdgox3jBSk6K0YP9qMBzZzR",
        "X0CQgwTYPXBw1IHCQDLeI1kDG/0E0nqOA5+O8EA+XhFytKO1E5MJlZ4dvNY5zzpeHFkhH9K8sS/npFjIZZ8aM4e/",
        "NGjUx/BjvCHA0QnkBTHwFqGO2Y+jw24T0rNF/oT3/Zx06P8BChhtKw==",
    );
}
