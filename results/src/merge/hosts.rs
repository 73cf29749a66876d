//! One repetition from several hosts: counters summed, the longest elapsed time, timelines
//! summed bucket by bucket, histograms added, and each host's own figures kept
//! ([`HostFigures`] under [`HOSTS_KEY`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hist;
use crate::schema::{
    LatencySummary, Repetition, RunInfo, Status, ThreadStats, Timeline, WorkloadResult,
};

use super::MergeError;

/// Key of the per-host breakdown in [`Repetition::extra`].
pub const HOSTS_KEY: &str = "hosts";

/// Timeline intervals closer than this (seconds) are the same interval.
const INTERVAL_TOLERANCE_S: f64 = 1e-9;
/// One host's figures for one repetition, kept in the merged repetition's
/// `extra["hosts"]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostFigures {
    /// Host name.
    pub host: String,
    /// The host's run id.
    pub run_id: String,
    /// The host's hardware fingerprint, when probed.
    pub fingerprint: Option<String>,
    /// Bytes moved by this host.
    pub bytes: u64,
    /// Records moved by this host.
    pub records: u64,
    /// Batches (write) or fetches (read) of this host.
    pub batches: u64,
    /// This host's elapsed time, seconds.
    pub elapsed_s: f64,
    /// This host's throughput, bytes/s.
    pub throughput_bytes_per_s: f64,
    /// This host's records per second.
    pub records_per_s: f64,
    /// This host's user CPU, seconds.
    pub cpu_user_s: f64,
    /// This host's system CPU, seconds.
    pub cpu_sys_s: f64,
    /// This host's CPU seconds per GB.
    pub cpu_s_per_gb: Option<f64>,
    /// Latency values this host recorded.
    pub latency_count: u64,
    /// This host's p50 latency, ns.
    pub latency_p50_ns: u64,
    /// This host's p99 latency, ns.
    pub latency_p99_ns: u64,
    /// This host's p99.9 latency, ns.
    pub latency_p999_ns: u64,
    /// This host's largest latency, ns.
    pub latency_max_ns: u64,
    /// The host repetition's own `extra` figures.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl HostFigures {
    fn of(host: &str, run: &RunInfo, fp: Option<&str>, r: &Repetition) -> HostFigures {
        let mut extra = r.extra.clone();
        extra.remove(HOSTS_KEY);
        HostFigures {
            host: host.to_string(),
            run_id: run.id.clone(),
            fingerprint: fp.map(str::to_string),
            bytes: r.bytes,
            records: r.records,
            batches: r.batches,
            elapsed_s: r.elapsed_s,
            throughput_bytes_per_s: r.throughput_bytes_per_s,
            records_per_s: r.records_per_s,
            cpu_user_s: r.cpu_user_s,
            cpu_sys_s: r.cpu_sys_s,
            cpu_s_per_gb: r.cpu_s_per_gb,
            latency_count: r.latency_ns.count,
            latency_p50_ns: r.latency_ns.p50,
            latency_p99_ns: r.latency_ns.p99,
            latency_p999_ns: r.latency_ns.p999,
            latency_max_ns: r.latency_ns.max,
            extra,
        }
    }
}

/// The per-host breakdown of a merged repetition (empty for a repetition that was not merged).
pub fn host_figures(r: &Repetition) -> Vec<HostFigures> {
    r.extra
        .get(HOSTS_KEY)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// How many hosts a workload's figures add up: the most hosts any of its repetitions was
/// merged from (1 for a single host's result).
pub fn host_count(w: &WorkloadResult) -> usize {
    w.repetitions
        .iter()
        .map(|r| host_figures(r).len())
        .max()
        .unwrap_or(0)
        .max(1)
}

/// The median throughput of `w` to plan or judge with: per host for a result merged from
/// several hosts ([`hosts_median`]), else its summary's; `None` unless completed, finite and
/// positive.
pub fn usable_median(w: &WorkloadResult) -> Option<f64> {
    if !matches!(w.status, Status::Completed) {
        return None;
    }
    let m = match hosts_median(w) {
        Some((m, _)) => m,
        None => w.summary.as_ref()?.throughput_bytes_per_s.median,
    };
    (m.is_finite() && m > 0.0).then_some(m)
}

/// For a result merged from several hosts (`segbench merge`, `segbench fleet`), whose own
/// throughput is the hosts' sum: the median of the hosts' own figures over all repetitions,
/// and how many hosts there were. `None` for a single host's result.
pub fn hosts_median(w: &WorkloadResult) -> Option<(f64, usize)> {
    let hosts = host_count(w);
    (hosts > 1).then(|| {
        let figures: Vec<f64> = w
            .repetitions
            .iter()
            .flat_map(host_figures)
            .map(|f| f.throughput_bytes_per_s)
            .collect();
        (crate::stats::median(&figures), hosts)
    })
}

/// Sums timelines bucket by bucket (aligned at their start); the result is as long as the
/// longest. Empty timelines (no buckets) are left out; the others must share one interval.
pub fn sum_timelines<'a>(
    workload: &str,
    parts: impl IntoIterator<Item = &'a Timeline>,
) -> Result<Timeline, MergeError> {
    let mut out: Option<Timeline> = None;
    for t in parts {
        if t.bytes.is_empty() {
            continue;
        }
        match &mut out {
            None => out = Some(t.clone()),
            Some(o) => {
                if (o.interval_s - t.interval_s).abs() > INTERVAL_TOLERANCE_S {
                    return Err(MergeError::TimelineInterval {
                        workload: workload.to_string(),
                        a: o.interval_s,
                        b: t.interval_s,
                    });
                }
                if t.bytes.len() > o.bytes.len() {
                    o.bytes.resize(t.bytes.len(), 0);
                }
                for (a, b) in o.bytes.iter_mut().zip(&t.bytes) {
                    *a += b;
                }
            }
        }
    }
    Ok(out.unwrap_or_default())
}

/// `Some(sum)` when every part has the figure, else `None`.
fn sum_all(parts: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    parts.sum()
}

fn merge_latency<'a>(
    workload: &str,
    parts: impl Iterator<Item = &'a LatencySummary>,
) -> Result<LatencySummary, MergeError> {
    hist::merge_summaries(parts).map_err(|source| MergeError::Histogram {
        workload: workload.to_string(),
        source,
    })
}

fn merge_optional_latency<'a>(
    workload: &str,
    parts: impl Iterator<Item = Option<&'a LatencySummary>>,
) -> Result<Option<LatencySummary>, MergeError> {
    let present: Vec<&LatencySummary> = parts.flatten().collect();
    if present.is_empty() {
        return Ok(None);
    }
    merge_latency(workload, present.into_iter()).map(Some)
}

/// One host's repetition, with where it comes from.
#[derive(Debug, Clone, Copy)]
pub struct HostRepetition<'a> {
    /// Host label.
    pub host: &'a str,
    /// The host's run.
    pub run: &'a RunInfo,
    /// The host's hardware fingerprint.
    pub fingerprint: Option<&'a str>,
    /// The repetition.
    pub repetition: &'a Repetition,
}

/// Merges repetition `index` of several hosts (see the module documentation for the rules).
pub fn merge_repetitions(
    workload: &str,
    index: u32,
    parts: &[HostRepetition<'_>],
) -> Result<Repetition, MergeError> {
    let reps = || parts.iter().map(|p| p.repetition);
    let bytes: u64 = reps().map(|r| r.bytes).sum();
    let records: u64 = reps().map(|r| r.records).sum();
    let elapsed_s = reps().map(|r| r.elapsed_s).fold(0.0, f64::max);
    let per_s = |x: u64| {
        if elapsed_s > 0.0 {
            x as f64 / elapsed_s
        } else {
            0.0
        }
    };
    let cpu_user_s: f64 = reps().map(|r| r.cpu_user_s).sum();
    let cpu_sys_s: f64 = reps().map(|r| r.cpu_sys_s).sum();
    let mut threads: Vec<ThreadStats> = Vec::new();
    for r in reps() {
        for t in &r.threads {
            threads.push(ThreadStats {
                index: threads.len() as u32,
                ..t.clone()
            });
        }
    }
    let mut hosts: Vec<HostFigures> = Vec::new();
    for p in parts {
        let nested = host_figures(p.repetition);
        if nested.is_empty() {
            hosts.push(HostFigures::of(p.host, p.run, p.fingerprint, p.repetition));
        } else {
            hosts.extend(nested); // a merged input: keep its hosts, not the sum
        }
    }
    let mut extra = BTreeMap::new();
    extra.insert(
        HOSTS_KEY.to_string(),
        serde_json::to_value(&hosts).unwrap_or_default(),
    );
    Ok(Repetition {
        index,
        bytes,
        records,
        batches: reps().map(|r| r.batches).sum(),
        elapsed_s,
        throughput_bytes_per_s: per_s(bytes),
        records_per_s: per_s(records),
        cpu_user_s,
        cpu_sys_s,
        cpu_s_per_gb: crate::stats::cpu_s_per_gb(cpu_user_s + cpu_sys_s, bytes),
        device_bytes: sum_all(reps().map(|r| r.device_bytes)),
        storage_io_bytes: sum_all(reps().map(|r| r.storage_io_bytes)),
        latency_ns: merge_latency(workload, reps().map(|r| &r.latency_ns))?,
        flush_latency_ns: merge_optional_latency(
            workload,
            reps().map(|r| r.flush_latency_ns.as_ref()),
        )?,
        roll_latency_ns: merge_optional_latency(
            workload,
            reps().map(|r| r.roll_latency_ns.as_ref()),
        )?,
        timeline: sum_timelines(workload, reps().map(|r| &r.timeline))?,
        threads,
        context_switches: sum_all(reps().map(|r| r.context_switches)),
        harness_overhead_ratio: reps()
            .filter_map(|r| r.harness_overhead_ratio)
            .reduce(f64::max),
        extra,
        nic_traffic: crate::probe::NicTraffic::of_hosts(
            parts
                .iter()
                .map(|p| (p.host, p.repetition.nic_traffic.as_slice())),
        ),
    })
}
