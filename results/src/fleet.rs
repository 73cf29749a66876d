//! Fleet: one run across many hosts (`segbench fleet run`). The pure aggregation behind the
//! cluster view rank 0 adds to its results file ([`FleetInfo`], the optional `fleet` field of
//! [`ResultsFile`]; its types are the schema's, [`crate::fleet_schema`], re-exported here).
//! Nothing here does I/O.
//!
//! How hosts are added up (IOR's `ReduceIterResults`, elbencho's first-done / last-done,
//! OpenMessaging Benchmark's merged HdrHistograms):
//! - the per-workload merge is [`crate::merge::merge`]: bytes summed, histograms **added**
//!   (never percentiles averaged), every host kept in a breakdown;
//! - per workload and repetition, each host's repetition is placed on rank 0's timeline (its
//!   child's start, converted with the clock offset, plus the repetition's recorded
//!   `start_offset_s`): *last-done* = all hosts' bytes / (last end − first start) (IOR);
//!   *first-done* = the bytes all hosts had moved when the first host finished (from each
//!   host's throughput timeline) / (that moment − first start) (elbencho); *straggler ratio* =
//!   slowest host's throughput / fastest host's (1 = no straggler); each figure is the median
//!   over the repetitions. When a host did not record its repetitions' starts (read
//!   workloads), the starts are taken as equal and `repetition_start_skew_s` is null;
//! - per phase, the windows of every host (start and end of its part, converted to rank 0's
//!   clock with the measured offset; never used to compute a latency) give the phase span
//!   (last end − first start) and the start skew.

use crate::figures::{ExtraFigures, ReadFigures};
pub use crate::fleet_schema::*;
use crate::hdrlog::START_OFFSET_KEY;
use crate::merge::{self, MergeError};
use crate::schema::{Repetition, ResultsFile};
use crate::stats::{median, median_or_none};

/// A warning is added when a clock offset's uncertainty exceeds this share of a phase.
pub const SKEW_WARNING_RATIO: f64 = 0.01;
/// A warning is added when the hosts' repetitions start further apart than this share of a
/// repetition: the hosts did not run at once for part of it. With the fleet barrier before
/// every repetition the skew is the clock uncertainty plus scheduling (ms), so more than 1 %
/// means a host started late.
pub const OVERLAP_WARNING_RATIO: f64 = 0.01;

/// One host's part of a phase: its results and its window in rank 0's clock.
#[derive(Debug, Clone, Copy)]
pub struct HostPart<'a> {
    /// The rank.
    pub rank: u32,
    /// The rank's results of this phase.
    pub file: &'a ResultsFile,
    /// When it ran, in rank 0's clock.
    pub window: PhaseWindow,
}

/// Instants closer than this to a repetition's end (seconds) are its end: windows placed on a
/// timeline of epoch seconds carry rounding of about a microsecond.
const END_TOLERANCE_S: f64 = 1e-6;

/// Bytes a repetition had moved `t_s` seconds after its start: all of them at its end, else
/// the sum of its timeline buckets up to `t_s`, the bucket in progress pro rata over its own
/// length (the last bucket is only as long as what is left of the repetition), or a straight
/// line when it has no timeline.
pub fn bytes_at(r: &Repetition, t_s: f64) -> f64 {
    if t_s >= r.elapsed_s - END_TOLERANCE_S {
        return r.bytes as f64;
    }
    let tl = &r.timeline;
    if tl.bytes.is_empty() || tl.interval_s <= 0.0 {
        return if r.elapsed_s > 0.0 {
            r.bytes as f64 * t_s / r.elapsed_s
        } else {
            0.0
        };
    }
    let whole = (t_s / tl.interval_s).floor() as usize;
    let mut sum: f64 = tl.bytes.iter().take(whole).map(|&b| b as f64).sum();
    if let Some(&b) = tl.bytes.get(whole) {
        let bucket_start = whole as f64 * tl.interval_s;
        let len = (r.elapsed_s - bucket_start).min(tl.interval_s);
        if len > 0.0 {
            sum += b as f64 * ((t_s - bucket_start) / len).min(1.0);
        }
    }
    sum.min(r.bytes as f64)
}

/// One host's repetition placed on rank 0's timeline: `start_s` is when it started (seconds,
/// any common origin), or `None` when the host did not record it.
#[derive(Debug, Clone, Copy)]
pub struct PlacedRepetition<'a> {
    /// The repetition.
    pub repetition: &'a Repetition,
    /// Its start on rank 0's timeline, seconds.
    pub start_s: Option<f64>,
}

/// The cluster figures of repetition `i` of every host.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RepetitionFigures {
    /// All hosts' bytes.
    pub bytes: u64,
    /// Bytes / (last end − first start) (IOR).
    pub last_done_bytes_per_s: f64,
    /// Bytes moved when the first host finished / (that moment − first start) (elbencho).
    pub first_done_bytes_per_s: f64,
    /// Slowest host's throughput / fastest host's.
    pub straggler_ratio: f64,
    /// Latest start − earliest start, seconds; `None` when the starts are not known (they are
    /// then taken as equal).
    pub start_skew_s: Option<f64>,
}

/// The cluster figures of one repetition run by every host: from the hosts' real windows
/// when every host recorded its start, else with the starts taken as equal.
pub fn repetition_figures(reps: &[PlacedRepetition<'_>]) -> RepetitionFigures {
    let known = reps.iter().all(|p| p.start_s.is_some());
    let start = |p: &PlacedRepetition<'_>| if known { p.start_s.unwrap_or(0.0) } else { 0.0 };
    let first_start = reps.iter().map(start).fold(f64::INFINITY, f64::min);
    let last_start = reps.iter().map(start).fold(f64::NEG_INFINITY, f64::max);
    let end = |p: &PlacedRepetition<'_>| start(p) + p.repetition.elapsed_s;
    let last_end = reps.iter().map(end).fold(f64::NEG_INFINITY, f64::max);
    let first_end = reps.iter().map(end).fold(f64::INFINITY, f64::min);
    let per_s = |b: f64, t: f64| if t > 0.0 { b / t } else { 0.0 };
    let bytes: u64 = reps.iter().map(|p| p.repetition.bytes).sum();
    let at_first_end: f64 = reps
        .iter()
        .map(|p| bytes_at(p.repetition, (first_end - start(p)).max(0.0)))
        .sum();
    let thr: Vec<f64> = reps
        .iter()
        .map(|p| per_s(p.repetition.bytes as f64, p.repetition.elapsed_s))
        .collect();
    let fastest = thr.iter().copied().fold(0.0, f64::max);
    let slowest = thr.iter().copied().fold(f64::INFINITY, f64::min);
    if reps.is_empty() {
        return RepetitionFigures::default();
    }
    RepetitionFigures {
        bytes,
        last_done_bytes_per_s: per_s(bytes as f64, last_end - first_start),
        first_done_bytes_per_s: per_s(at_first_end, first_end - first_start),
        straggler_ratio: if fastest > 0.0 {
            slowest / fastest
        } else {
            1.0
        },
        start_skew_s: known.then_some(last_start - first_start),
    }
}

/// Where a host's repetition started on rank 0's timeline, seconds since the epoch: the host's
/// window start (its child's start) plus the repetition's recorded offset from its run's start.
pub fn placed_start_s(window: &PhaseWindow, r: &Repetition) -> Option<f64> {
    let offset = r.extra.get(START_OFFSET_KEY)?.as_f64()?;
    Some(window.start_ns as f64 / 1e9 + offset)
}

/// Adds up one phase: the merged results (through [`crate::merge::merge`]) and the phase row.
/// `parts` are in rank order; the merged file is the first rank's with its workloads summed.
/// Workloads only some hosts ran (a sweep that picked its engine from each host's own results)
/// are left out of the sum with a warning; each host's own results still hold them.
pub fn aggregate_phase(
    name: &str,
    parts: &[HostPart<'_>],
) -> Result<(ResultsFile, FleetPhase), MergeError> {
    let on_every_host = |n: &str| {
        parts
            .iter()
            .all(|p| p.file.workloads.iter().any(|w| w.name == n))
    };
    let mut uneven: Vec<&str> = parts
        .iter()
        .flat_map(|p| p.file.workloads.iter().map(|w| w.name.as_str()))
        .filter(|n| !on_every_host(n))
        .collect();
    uneven.sort_unstable();
    uneven.dedup();
    let files: Vec<ResultsFile> = parts
        .iter()
        .map(|p| {
            let mut f = p.file.clone();
            f.workloads.retain(|w| on_every_host(&w.name));
            f
        })
        .collect();
    let merged = merge::merge(&files)?;
    let windows: Vec<PhaseWindow> = parts.iter().map(|p| p.window).collect();
    let (span_s, start_skew_s) = span_and_skew(&windows);
    let mut workloads = Vec::new();
    let mut warnings = Vec::new();
    if !uneven.is_empty() {
        warnings.push(format!(
            "phase {name}: not every host ran {} (a sweep picks its engine from each host's own \
             results): left out of the aggregate, kept in each host's results",
            uneven.join(", ")
        ));
    }
    for w in &merged.workloads {
        let per_host: Vec<(&HostPart<'_>, &crate::schema::WorkloadResult)> = parts
            .iter()
            .filter_map(|p| {
                p.file
                    .workloads
                    .iter()
                    .find(|x| x.name == w.name)
                    .map(|x| (p, x))
            })
            .collect();
        let count = per_host
            .iter()
            .map(|(_, x)| x.repetitions.len())
            .min()
            .unwrap_or(0);
        let (mut bytes, mut last, mut first, mut strag) = (0u64, vec![], vec![], vec![]);
        let mut skews = Vec::new();
        for i in 0..count {
            let reps: Vec<PlacedRepetition<'_>> = per_host
                .iter()
                .map(|(p, x)| PlacedRepetition {
                    repetition: &x.repetitions[i],
                    start_s: placed_start_s(&p.window, &x.repetitions[i]),
                })
                .collect();
            let f = repetition_figures(&reps);
            bytes += f.bytes;
            last.push(f.last_done_bytes_per_s);
            first.push(f.first_done_bytes_per_s);
            strag.push(f.straggler_ratio);
            skews.extend(f.start_skew_s);
        }
        let med = |v: &[f64]| if v.is_empty() { 0.0 } else { median(v) };
        let elapsed: Vec<f64> = per_host
            .iter()
            .flat_map(|(_, x)| x.repetitions.iter().map(|r| r.elapsed_s))
            .collect();
        let (skew, rep_s) = (med(&skews), med(&elapsed));
        if !skews.is_empty() && skew > OVERLAP_WARNING_RATIO * rep_s {
            warnings.push(format!(
                "phase {name}, {}: the hosts' repetitions started {:.0} ms apart (median), {:.0}% \
                 of a repetition; they did not run at once throughout, and the aggregate is over \
                 the real window (last end − first start)",
                w.name,
                skew * 1e3,
                100.0 * skew / rep_s.max(f64::MIN_POSITIVE)
            ));
        }
        let host_bytes_per_s = per_host
            .iter()
            .map(|(_, x)| {
                let v: Vec<f64> = x
                    .repetitions
                    .iter()
                    .map(|r| r.throughput_bytes_per_s)
                    .collect();
                med(&v)
            })
            .collect();
        workloads.push(WorkloadAggregate {
            name: w.name.clone(),
            hosts: per_host.len() as u32,
            bytes,
            aggregate_bytes_per_s: med(&last),
            first_done_bytes_per_s: med(&first),
            straggler_ratio: if strag.is_empty() { 1.0 } else { med(&strag) },
            repetition_start_skew_s: (skews.len() == count && count > 0).then(|| med(&skews)),
            host_bytes_per_s,
        });
    }
    let phase = FleetPhase {
        name: name.to_string(),
        ranks: parts.iter().map(|p| p.rank).collect(),
        windows,
        span_s,
        start_skew_s,
        workloads,
        warnings,
    };
    Ok((merged, phase))
}

/// Scaling rows from phases run on growing subsets of hosts: one row per (phase, workload).
pub fn scaling_rows(phases: &[&FleetPhase]) -> Vec<ScalingRow> {
    let mut rows = Vec::new();
    for p in phases {
        for w in &p.workloads {
            rows.push(ScalingRow {
                hosts: p.ranks.len() as u32,
                workload: w.name.clone(),
                aggregate_bytes_per_s: w.aggregate_bytes_per_s,
            });
        }
    }
    rows.sort_by(|a, b| a.workload.cmp(&b.workload).then(a.hosts.cmp(&b.hosts)));
    rows
}

/// Network rows from one sender's read results: one per read workload (engine).
pub fn network_rows(
    from_rank: u32,
    to_rank: u32,
    file: &ResultsFile,
    sender_retransmits: Option<u64>,
) -> Vec<NetworkRow> {
    file.workloads
        .iter()
        .filter(|w| !w.repetitions.is_empty())
        .map(|w| NetworkRow {
            from_rank,
            to_rank,
            engine: w.engine.clone(),
            throughput_bytes_per_s: median(
                &w.repetitions
                    .iter()
                    .map(|r| r.throughput_bytes_per_s)
                    .collect::<Vec<_>>(),
            ),
            sender_cpu_s_per_gb: median_or_none(
                &w.repetitions
                    .iter()
                    .filter_map(|r| r.cpu_s_per_gb)
                    .collect::<Vec<_>>(),
            ),
            sink_cpu_s_per_gb: median_or_none(
                &w.repetitions
                    .iter()
                    .filter_map(|r| ReadFigures::of(r)?.sink_cpu_s_per_gb)
                    .collect::<Vec<_>>(),
            ),
            sender_retransmits,
        })
        .collect()
}

/// Warnings for clock offsets whose uncertainty exceeds [`SKEW_WARNING_RATIO`] of a phase.
pub fn skew_warnings(hosts: &[FleetHost], phases: &[FleetPhase]) -> Vec<String> {
    let mut out = Vec::new();
    for p in phases {
        for h in hosts.iter().filter(|h| p.ranks.contains(&h.rank)) {
            let u = h.uncertainty_ns as f64 / 1e9;
            if p.span_s > 0.0 && u > SKEW_WARNING_RATIO * p.span_s {
                out.push(format!(
                    "phase {}: the clock offset of rank {} ({}) is known to ± {:.3} ms, more than \
                     1% of the phase ({:.3} s); its window is approximate",
                    p.name,
                    h.rank,
                    h.host,
                    u * 1e3,
                    p.span_s
                ));
            }
        }
    }
    out
}

/// A warning when the hosts' hardware fingerprints differ (or are unknown).
pub fn hardware_warning(hosts: &[FleetHost]) -> Option<String> {
    let first = hosts.first()?.fingerprint.as_deref();
    if hosts
        .iter()
        .all(|h| h.fingerprint.is_some() && h.fingerprint.as_deref() == first)
    {
        return None;
    }
    Some(format!(
        "the hosts have different (or unknown) hardware: {}",
        hosts
            .iter()
            .map(|h| format!(
                "rank {} {}",
                h.rank,
                h.fingerprint.as_deref().unwrap_or("unknown")
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

#[cfg(test)]
mod tests;
