//! Interference in a mixed workload: each part measured while its sibling parts run beside it
//! ("with") and the same part run alone ("alone"), paired, with the ratios and a one-line
//! verdict ("catch-up reads raise produce p99 from 0.4 ms to 9 ms on this disk").
//!
//! A runner marks each of a mixed workload's rows with a
//! [`MixedRole`](crate::schema::MixedRole); when both rows of a part are done it stores
//! [`pair`]'s [`Interference`] on the "with" row, so the ratio is in the results file and the
//! exporters only read it ([`interferences`]). Both types are the schema's ([`crate::schema`]).

use crate::format;
use crate::hist;
use crate::schema::{Interference, SLOW_FLUSH_NS};
use crate::schema::{LatencySummary, Status, WorkloadResult};

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite()).then(|| a / b)
}

/// The flush (or, with `rolls`, roll) latency of every repetition, added up; `None` when the
/// part never flushed (rolled).
fn merged(w: &WorkloadResult, rolls: bool) -> Option<LatencySummary> {
    let parts: Vec<&LatencySummary> = w
        .repetitions
        .iter()
        .filter_map(|r| {
            if rolls {
                r.roll_latency_ns.as_ref()
            } else {
                r.flush_latency_ns.as_ref()
            }
        })
        .filter(|s| s.count > 0)
        .collect();
    if parts.is_empty() {
        return None;
    }
    hist::merge_summaries(parts).ok()
}

/// Flushes over [`SLOW_FLUSH_NS`] in a flush histogram.
fn slow(s: &LatencySummary) -> Option<u64> {
    let h = hist::decode(&s.hdr).ok()?;
    Some(h.count_between(SLOW_FLUSH_NS, hist::HIGHEST_NS))
}

/// Pairs a part's "with" and "alone" rows; `None` unless both completed with latencies.
pub fn pair(with: &WorkloadResult, alone: &WorkloadResult) -> Option<Interference> {
    let role = with.mixed.as_ref()?;
    if with.status != Status::Completed || alone.status != Status::Completed {
        return None;
    }
    let (ws, als) = (with.summary.as_ref()?, alone.summary.as_ref()?);
    // A part that did nothing on one side (no snapshot fell in the interval) has no pairing.
    if ws.latency_ns.count == 0 || als.latency_ns.count == 0 {
        return None;
    }
    let (wf, af) = (merged(with, false), merged(alone, false));
    Some(Interference {
        workload: role.workload.clone(),
        part: role.part.clone(),
        part_kind: role.part_kind.clone(),
        beside: role.beside.clone(),
        placement: role.placement.clone(),
        p99_ratio: ratio(ws.latency_ns.p99 as f64, als.latency_ns.p99 as f64),
        p999_ratio: ratio(ws.latency_ns.p999 as f64, als.latency_ns.p999 as f64),
        with_latency_ns: ws.latency_ns.clone(),
        alone_latency_ns: als.latency_ns.clone(),
        with_throughput_bytes_per_s: ws.throughput_bytes_per_s.median,
        alone_throughput_bytes_per_s: als.throughput_bytes_per_s.median,
        throughput_ratio: ratio(
            ws.throughput_bytes_per_s.median,
            als.throughput_bytes_per_s.median,
        ),
        with_slow_flushes: wf.as_ref().and_then(slow),
        alone_slow_flushes: af.as_ref().and_then(slow),
        with_flush_ns: wf,
        alone_flush_ns: af,
        with_roll_ns: merged(with, true),
        alone_roll_ns: merged(alone, true),
    })
}

/// Fills the [`Interference`] of every "with" row of `rows` whose "alone" row is there too.
pub fn pair_all(rows: &mut [WorkloadResult]) {
    let alone: Vec<WorkloadResult> = rows
        .iter()
        .filter(|r| r.mixed.as_ref().is_some_and(|m| m.alone))
        .cloned()
        .collect();
    for r in rows.iter_mut() {
        let Some(role) = r.mixed.as_ref().filter(|m| !m.alone) else {
            continue;
        };
        let twin = alone.iter().find(|a| {
            a.mixed
                .as_ref()
                .is_some_and(|m| m.workload == role.workload && m.part == role.part)
        });
        let i = twin.and_then(|a| pair(r, a));
        if let Some(m) = r.mixed.as_mut() {
            m.interference = i;
        }
    }
}

/// Every pairing stored in `workloads`, in order.
pub fn interferences(workloads: &[WorkloadResult]) -> Vec<&Interference> {
    workloads
        .iter()
        .filter_map(|w| w.mixed.as_ref()?.interference.as_ref())
        .collect()
}

/// The one-line verdict of a pairing, e.g. `catch-up, tail beside produce: p99 0.40 ms → 9.0 ms
/// (22.5×), p99.9 …, throughput 20.0 MB/s → 19.9 MB/s`; with flushes, the flush p99 and the
/// count over 1 s too.
pub fn verdict(i: &Interference) -> String {
    let beside = if i.beside.is_empty() {
        "the other parts".to_string()
    } else {
        i.beside.join(" + ")
    };
    let times = |r: Option<f64>| r.map(|r| format!(" ({r:.1}×)")).unwrap_or_default();
    let verb = match i.p99_ratio {
        Some(r) if r >= 1.2 => "raises",
        Some(r) if r <= 1.0 / 1.2 => "lowers",
        _ => "leaves",
    };
    let mut s = format!(
        "{beside} {verb} {} p99 {} → {}{}, p99.9 {} → {}{}",
        i.part,
        format::latency(i.alone_latency_ns.p99),
        format::latency(i.with_latency_ns.p99),
        times(i.p99_ratio),
        format::latency(i.alone_latency_ns.p999),
        format::latency(i.with_latency_ns.p999),
        times(i.p999_ratio),
    );
    if matches!(i.part_kind.as_str(), "snapshot" | "checkpoint") {
        // Its throughput over the interval only counts how many fell in it: give the count.
        s.push_str(&format!(
            "; {} written alone, {} with the others (all repetitions)",
            i.alone_latency_ns.count, i.with_latency_ns.count
        ));
    } else {
        s.push_str(&format!(
            "; throughput {} → {}",
            format::mb_per_s(i.alone_throughput_bytes_per_s),
            format::mb_per_s(i.with_throughput_bytes_per_s),
        ));
    }
    if let (Some(a), Some(w)) = (&i.alone_roll_ns, &i.with_roll_ns) {
        s.push_str(&format!(
            "; segment roll (with retention's deletes) p99 {} → {}, max {} → {}",
            format::latency(a.p99),
            format::latency(w.p99),
            format::latency(a.max),
            format::latency(w.max),
        ));
    }
    if let (Some(a), Some(w)) = (&i.alone_flush_ns, &i.with_flush_ns) {
        s.push_str(&format!(
            "; fsync p99 {} → {}, max {} → {}, over 1 s {} → {}",
            format::latency(a.p99),
            format::latency(w.p99),
            format::latency(a.max),
            format::latency(w.max),
            i.alone_slow_flushes.unwrap_or(0),
            i.with_slow_flushes.unwrap_or(0),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(part: &str, alone: bool, latency_ns: u64, mbps: f64) -> WorkloadResult {
        let beside: &[&str] = if alone { &[] } else { &["catch-up"] };
        crate::testing::mixed_row("m", part, alone, beside, latency_ns, mbps)
    }

    #[test]
    fn pairs_each_with_row_with_its_alone_twin_and_states_the_ratio() {
        let mut rows = vec![
            row("produce", false, 9_000_000, 19.0),
            row("catch-up", false, 1_000_000, 50.0),
            row("produce", true, 400_000, 20.0),
        ];
        pair_all(&mut rows);
        let found = interferences(&rows);
        // catch-up has no alone row: no pairing for it.
        assert_eq!(found.len(), 1);
        let i = found[0];
        assert_eq!(i.part, "produce");
        // plain_repetition spreads latencies over [lat/2, 1.5 lat): p99 is 1.49 lat.
        let r = i.p99_ratio.unwrap();
        assert!((r - 22.5).abs() < 0.2, "{r}");
        assert!((i.throughput_ratio.unwrap() - 0.95).abs() < 1e-9);
        let v = verdict(i);
        assert!(v.starts_with("catch-up raises produce p99 "), "{v}");
        assert!(v.contains("→ 13.4 ms (22.5×)") && v.contains("MB/s"), "{v}");
        // Rows that are not "with" rows never carry a pairing.
        assert!(rows[2].mixed.as_ref().unwrap().interference.is_none());
    }

    #[test]
    fn a_failed_part_has_no_pairing() {
        let with = row("produce", false, 1000, 1.0);
        let mut alone = row("produce", true, 1000, 1.0);
        alone.status = Status::Failed { error: "x".into() };
        assert!(pair(&with, &alone).is_none());
    }
}
