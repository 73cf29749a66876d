//! Merging results of the same workloads run on several hosts at the same time
//! (`segbench merge A.json B.json … -o OUT.json`) into one cluster-wide result.
//!
//! Rules:
//! - the inputs must hold the same workloads (by name) with the same configuration (ignoring
//!   [`crate::compare::NON_DEFINING_CONFIG_KEYS`]); anything else is a [`MergeError`];
//! - repetition `i` of every host is merged with repetition `i` of the others (the hosts are
//!   assumed to have been started together, e.g. by one orchestrator; repetitions beyond the
//!   shortest host's count are dropped with a warning);
//! - bytes, records, batches, CPU seconds, device and storage bytes, context switches are
//!   **summed**; `elapsed_s` is the **longest** host's; throughput is the summed bytes over that
//!   longest elapsed time — the cluster's rate over the window in which all hosts ran, never more
//!   than the sum of the hosts' own rates;
//! - timelines are summed bucket by bucket, aligned at each repetition's start (all hosts must
//!   use the same interval);
//! - latency histograms are **added** ([`crate::hist::merge_summaries`]), never averaged
//!   percentiles, so the merged p99 is the p99 of every batch of every host;
//! - per-thread figures are concatenated in input order and renumbered;
//! - `harness_overhead_ratio` is the largest host's (the worst case);
//! - each host's own figures are kept in `Repetition.extra["hosts"]` ([`HOSTS_KEY`]) as a list
//!   of [`HostFigures`], in input order; merging merged files flattens these lists.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::compare::{config_differences, fingerprint};
use crate::hist::{self, HistError};
use crate::schema::{
    LatencySummary, Medium, Repetition, ResultsFile, RunInfo, Status, ThreadStats, Timeline,
    WorkloadResult,
};
use crate::stats;

/// Key of the per-host breakdown in [`Repetition::extra`].
pub const HOSTS_KEY: &str = "hosts";

/// Timeline intervals closer than this (seconds) are the same interval.
const INTERVAL_TOLERANCE_S: f64 = 1e-9;

/// Why inputs cannot be merged. Every message is one line and says what does not fit.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("nothing to merge: give at least one results file")]
    Empty,
    /// The same run was given twice.
    #[error("run {run_id} (host {host}) is given twice; merge results of different hosts")]
    SameRun {
        /// The run id.
        run_id: String,
        /// Its host.
        host: String,
    },
    /// The inputs hold different sets of workloads.
    #[error(
        "the results of {other} hold other workloads than those of {first}: {}",
        differences.join("; ")
    )]
    WorkloadSets {
        /// The first input (`host a`, `run X`).
        first: String,
        /// The input that differs.
        other: String,
        /// `missing: a, b` / `extra: c`.
        differences: Vec<String>,
    },
    /// A workload ran with another configuration in one input.
    #[error(
        "workload {workload} has a different configuration in {other}: {}",
        differences.join(", ")
    )]
    Config {
        /// The workload.
        workload: String,
        /// The input that differs from the first (`host b`, `run X`).
        other: String,
        /// `key: first -> this` entries.
        differences: Vec<String>,
    },
    /// Runs to append come from different hardware.
    #[error(
        "{other} ran on other hardware than {first} (fingerprint {b} vs {a}); append only runs \
         of one machine"
    )]
    Hardware {
        /// The first input.
        first: String,
        /// The input that differs.
        other: String,
        /// The first input's fingerprint.
        a: String,
        /// The other input's fingerprint.
        b: String,
    },
    /// The timelines use different intervals and cannot be summed bucket by bucket.
    #[error(
        "workload {workload}: timelines use different intervals ({a} s vs {b} s) and cannot be \
         summed"
    )]
    TimelineInterval {
        /// The workload.
        workload: String,
        /// One interval, seconds.
        a: f64,
        /// The other interval, seconds.
        b: f64,
    },
    /// A stored histogram does not decode or add.
    #[error("workload {workload}: {source}")]
    Histogram {
        /// The workload.
        workload: String,
        /// The cause.
        #[source]
        source: HistError,
    },
}

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
        cpu_s_per_gb: (bytes > 0).then(|| (cpu_user_s + cpu_sys_s) / (bytes as f64 / 1e9)),
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
    })
}

/// The medium of merged figures: the least durable of the hosts' (memory, then page cache, then
/// network, then device), so a cache number is never labelled a disk number.
fn merged_medium(media: impl Iterator<Item = Medium>) -> Medium {
    let rank = |m: Medium| match m {
        Medium::Memory => 0,
        Medium::PageCache => 1,
        Medium::Network => 2,
        Medium::Device => 3,
    };
    media.min_by_key(|m| rank(*m)).unwrap_or(Medium::Device)
}

/// Host labels for the inputs: the host name, with `#2`, `#3` … when a host appears twice.
fn host_labels(inputs: &[ResultsFile]) -> Vec<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    inputs
        .iter()
        .map(|r| {
            let n = seen.entry(r.run.host.as_str()).or_insert(0);
            *n += 1;
            if *n == 1 {
                r.run.host.clone()
            } else {
                format!("{}#{n}", r.run.host)
            }
        })
        .collect()
}

/// Refuses inputs whose workload names differ from the first input's.
fn check_workload_sets(inputs: &[ResultsFile], labels: &[String]) -> Result<(), MergeError> {
    let Some(first) = inputs.first() else {
        return Ok(());
    };
    let name_set: BTreeSet<&str> = first.workloads.iter().map(|w| w.name.as_str()).collect();
    for (r, label) in inputs.iter().zip(labels).skip(1) {
        let set: BTreeSet<&str> = r.workloads.iter().map(|w| w.name.as_str()).collect();
        let missing: Vec<&str> = name_set.difference(&set).copied().collect();
        let extra: Vec<&str> = set.difference(&name_set).copied().collect();
        let mut differences = Vec::new();
        if !missing.is_empty() {
            differences.push(format!("missing {}", missing.join(", ")));
        }
        if !extra.is_empty() {
            differences.push(format!("extra {}", extra.join(", ")));
        }
        if !differences.is_empty() {
            return Err(MergeError::WorkloadSets {
                first: labels[0].clone(),
                other: label.clone(),
                differences,
            });
        }
    }
    Ok(())
}

/// The workload `name` of every input (the sets were checked by [`check_workload_sets`]).
fn per_input<'a>(inputs: &'a [ResultsFile], name: &str) -> Vec<&'a WorkloadResult> {
    inputs
        .iter()
        .filter_map(|r| r.workloads.iter().find(|w| w.name == name))
        .collect()
}

/// Refuses a workload whose configuration, kind or engine differs from the first input's.
fn check_configs(
    w0: &WorkloadResult,
    per_input: &[&WorkloadResult],
    labels: &[String],
    ignore: &[String],
) -> Result<(), MergeError> {
    for (w, label) in per_input.iter().zip(labels).skip(1) {
        let differences = config_differences(&w0.config, &w.config, ignore);
        if !differences.is_empty() || w.kind != w0.kind || w.engine != w0.engine {
            return Err(MergeError::Config {
                workload: w0.name.clone(),
                other: label.clone(),
                differences: if differences.is_empty() {
                    vec![format!("engine: {} -> {}", w0.engine, w.engine)]
                } else {
                    differences
                },
            });
        }
    }
    Ok(())
}

/// The first status other than completed, prefixed with its input's label; completed when all
/// completed.
fn first_unfinished(per_input: &[&WorkloadResult], labels: &[String]) -> Status {
    per_input
        .iter()
        .zip(labels)
        .find_map(|(w, label)| match &w.status {
            Status::Completed => None,
            Status::Skipped { reason } => Some(Status::Skipped {
                reason: format!("{label}: {reason}"),
            }),
            Status::Failed { error } => Some(Status::Failed {
                error: format!("{label}: {error}"),
            }),
            Status::Interrupted => Some(Status::Interrupted),
        })
        .unwrap_or(Status::Completed)
}

/// Merges results of several hosts into one (see the module documentation).
///
/// The merged file keeps the first input's tool and baseline; `run` names every host
/// (`host-a+host-b`) and the earliest start time; `probe` is the first input's when every input
/// has the same hardware fingerprint, else null (each host's fingerprint stays in the
/// breakdown).
pub fn merge(inputs: &[ResultsFile]) -> Result<ResultsFile, MergeError> {
    let first = inputs.first().ok_or(MergeError::Empty)?;
    let labels = host_labels(inputs);
    let mut ids = BTreeSet::new();
    for r in inputs {
        if !ids.insert(r.run.id.as_str()) {
            return Err(MergeError::SameRun {
                run_id: r.run.id.clone(),
                host: r.run.host.clone(),
            });
        }
    }
    let described: Vec<String> = labels.iter().map(|l| format!("host {l}")).collect();
    check_workload_sets(inputs, &described)?;

    let mut warnings: Vec<String> = Vec::new();
    for (r, label) in inputs.iter().zip(&labels) {
        warnings.extend(r.warnings.iter().map(|w| format!("{label}: {w}")));
    }
    let fingerprints: Vec<Option<&str>> = inputs.iter().map(fingerprint).collect();
    let same_hardware = fingerprints
        .iter()
        .all(|f| f.is_some() && *f == fingerprints[0]);
    if !same_hardware {
        warnings.push(format!(
            "the hosts have different (or unknown) hardware fingerprints: {}",
            labels
                .iter()
                .zip(&fingerprints)
                .map(|(l, f)| format!("{l} {}", f.unwrap_or("unknown")))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if inputs.iter().any(|r| r.baseline != first.baseline) {
        warnings.push(format!(
            "the inputs use different baselines; the merged file keeps {}'s",
            labels[0]
        ));
    }
    let starts: BTreeSet<&str> = inputs.iter().map(|r| r.run.start_time.as_str()).collect();
    if starts.len() > 1 {
        warnings.push(format!(
            "the hosts' runs started at different times ({}); repetitions are aligned by index, \
             so figures are a cluster total only if the hosts ran together",
            starts.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }

    let mut workloads = Vec::new();
    for w0 in &first.workloads {
        let name = w0.name.as_str();
        let per_host = per_input(inputs, name);
        check_configs(w0, &per_host, &described, &[])?;
        let mut wwarn: Vec<String> = Vec::new();
        for (w, label) in per_host.iter().zip(&labels) {
            wwarn.extend(w.warnings.iter().map(|x| format!("{label}: {x}")));
        }
        let status = first_unfinished(&per_host, &labels);
        let count = per_host
            .iter()
            .map(|w| w.repetitions.len())
            .min()
            .unwrap_or(0);
        let most = per_host
            .iter()
            .map(|w| w.repetitions.len())
            .max()
            .unwrap_or(0);
        if most > count {
            wwarn.push(format!(
                "the hosts ran {count} to {most} repetitions; only the first {count} of each \
                 are merged"
            ));
        }
        let media: BTreeSet<String> = per_host
            .iter()
            .map(|w| crate::format::medium_label(w.medium).to_string())
            .collect();
        if media.len() > 1 {
            wwarn.push(format!(
                "the hosts measured different media ({}); labelled by the least durable",
                media.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        let mut repetitions = Vec::with_capacity(count);
        for i in 0..count {
            let parts: Vec<HostRepetition<'_>> = per_host
                .iter()
                .zip(inputs.iter().zip(&labels))
                .zip(&fingerprints)
                .map(|((w, (r, label)), fp)| HostRepetition {
                    host: label,
                    run: &r.run,
                    fingerprint: *fp,
                    repetition: &w.repetitions[i],
                })
                .collect();
            repetitions.push(merge_repetitions(name, i as u32, &parts)?);
        }
        workloads.push(WorkloadResult {
            name: name.to_string(),
            kind: w0.kind,
            engine: w0.engine.clone(),
            config: w0.config.clone(),
            status,
            medium: merged_medium(per_host.iter().map(|w| w.medium)),
            summary: stats::summarize(&repetitions),
            repetitions,
            warnings: wwarn,
        });
    }

    let start_time = inputs
        .iter()
        .map(|r| r.run.start_time.clone())
        .min()
        .unwrap_or_default();
    Ok(ResultsFile {
        schema_version: first.schema_version,
        tool: first.tool.clone(),
        run: RunInfo {
            id: format!(
                "merged-{}",
                inputs
                    .iter()
                    .map(|r| r.run.id.as_str())
                    .collect::<Vec<_>>()
                    .join("+")
            ),
            start_time,
            host: labels.join("+"),
            command_line: first.run.command_line.clone(),
        },
        probe: if same_hardware {
            first.probe.clone()
        } else {
            None
        },
        baseline: first.baseline.clone(),
        workloads,
        warnings,
        interrupted: inputs.iter().any(|r| r.interrupted),
        fleet: None,
    })
}

/// Key of a repetition's source run id in [`Repetition::extra`], set by [`append`].
pub const RUN_ID_KEY: &str = "run_id";

/// Several runs of the same workloads on one machine become one result whose repetitions are
/// all of theirs, in input order (`segbench merge --append`): the way to pool runs made at
/// different times, so that run-to-run variation (page cache, writeback, other tenants) shows in
/// the spread of the repetitions instead of passing for a change between builds.
///
/// The inputs must hold the same workloads with the same configuration (ignoring
/// [`crate::compare::NON_DEFINING_CONFIG_KEYS`], so `--repeat` may differ) and, when probed, the
/// same hardware fingerprint. Each repetition keeps its source run's id in
/// `extra["run_id"]` ([`RUN_ID_KEY`]) and is renumbered; summaries are recomputed.
pub fn append(inputs: &[ResultsFile]) -> Result<ResultsFile, MergeError> {
    let first = inputs.first().ok_or(MergeError::Empty)?;
    let labels: Vec<String> = inputs.iter().map(|r| format!("run {}", r.run.id)).collect();
    let mut ids = BTreeSet::new();
    for r in inputs {
        if !ids.insert(r.run.id.as_str()) {
            return Err(MergeError::SameRun {
                run_id: r.run.id.clone(),
                host: r.run.host.clone(),
            });
        }
    }
    let fp0 = fingerprint(first);
    for (r, label) in inputs.iter().zip(&labels).skip(1) {
        if let (Some(a), Some(b)) = (fp0, fingerprint(r)) {
            if a != b {
                return Err(MergeError::Hardware {
                    first: labels[0].clone(),
                    other: label.clone(),
                    a: a.to_string(),
                    b: b.to_string(),
                });
            }
        }
    }
    check_workload_sets(inputs, &labels)?;
    let mut warnings: Vec<String> = Vec::new();
    for (r, label) in inputs.iter().zip(&labels) {
        warnings.extend(r.warnings.iter().map(|w| format!("{label}: {w}")));
    }
    let mut workloads = Vec::new();
    for w0 in &first.workloads {
        let per_run = per_input(inputs, &w0.name);
        check_configs(w0, &per_run, &labels, &[])?;
        let mut repetitions = Vec::new();
        let mut wwarn = Vec::new();
        for (w, r) in per_run.iter().zip(inputs) {
            for x in &w.warnings {
                if !wwarn.contains(x) {
                    wwarn.push(x.clone());
                }
            }
            for rep in &w.repetitions {
                let mut rep = rep.clone();
                rep.index = repetitions.len() as u32;
                rep.extra
                    .insert(RUN_ID_KEY.to_string(), serde_json::json!(r.run.id));
                repetitions.push(rep);
            }
        }
        workloads.push(WorkloadResult {
            name: w0.name.clone(),
            kind: w0.kind,
            engine: w0.engine.clone(),
            config: w0.config.clone(),
            status: first_unfinished(&per_run, &labels),
            medium: merged_medium(per_run.iter().map(|w| w.medium)),
            summary: stats::summarize(&repetitions),
            repetitions,
            warnings: wwarn,
        });
    }
    Ok(ResultsFile {
        schema_version: first.schema_version,
        tool: first.tool.clone(),
        run: RunInfo {
            id: format!(
                "appended-{}",
                inputs
                    .iter()
                    .map(|r| r.run.id.as_str())
                    .collect::<Vec<_>>()
                    .join("+")
            ),
            start_time: inputs
                .iter()
                .map(|r| r.run.start_time.clone())
                .min()
                .unwrap_or_default(),
            host: first.run.host.clone(),
            command_line: first.run.command_line.clone(),
        },
        probe: first.probe.clone(),
        baseline: first.baseline.clone(),
        workloads,
        warnings,
        interrupted: inputs.iter().any(|r| r.interrupted),
        fleet: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::{new_hist, record, summarize};
    use crate::schema::*;

    /// A repetition whose latencies are `lat` and whose timeline is `tl` (100 ms buckets).
    fn rep(i: u32, bytes: u64, elapsed_s: f64, lat: &[u64], tl: &[u64]) -> Repetition {
        let mut h = new_hist();
        for &v in lat {
            record(&mut h, v);
        }
        Repetition {
            index: i,
            bytes,
            records: bytes / 100,
            batches: bytes / 1000,
            elapsed_s,
            throughput_bytes_per_s: bytes as f64 / elapsed_s,
            records_per_s: (bytes / 100) as f64 / elapsed_s,
            cpu_user_s: 0.5,
            cpu_sys_s: 0.25,
            cpu_s_per_gb: Some(0.75 / (bytes as f64 / 1e9)),
            device_bytes: Some(bytes),
            storage_io_bytes: None,
            latency_ns: summarize(&h),
            flush_latency_ns: None,
            roll_latency_ns: None,
            timeline: Timeline {
                interval_s: 0.1,
                bytes: tl.to_vec(),
            },
            threads: vec![ThreadStats {
                index: 0,
                bytes,
                cpu_user_s: 0.5,
                cpu_sys_s: 0.25,
            }],
            context_switches: Some(10),
            harness_overhead_ratio: Some(0.01),
            extra: BTreeMap::new(),
        }
    }

    fn host(name: &str, reps: Vec<Repetition>) -> ResultsFile {
        let mut config = BTreeMap::new();
        config.insert("engine".to_string(), serde_json::json!("buffered"));
        config.insert("size_bytes".to_string(), serde_json::json!(1000));
        ResultsFile {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "segbench".into(),
                version: "0.1.0".into(),
                git: None,
            },
            run: RunInfo {
                id: format!("run-{name}"),
                start_time: "2026-11-24T10:15:00Z".into(),
                host: name.into(),
                command_line: vec![],
            },
            probe: Some(serde_json::json!({"fingerprint": "aa"})),
            baseline: Baseline::default(),
            workloads: vec![WorkloadResult {
                name: "write/buffered".into(),
                kind: Kind::Write,
                engine: "buffered".into(),
                config,
                status: Status::Completed,
                medium: Medium::Device,
                summary: stats::summarize(&reps),
                repetitions: reps,
                warnings: vec![],
            }],
            warnings: vec![],
            interrupted: false,
            fleet: None,
        }
    }

    #[test]
    fn merged_histograms_equal_recording_every_value_in_one() {
        let a_vals: Vec<u64> = (1..=3000).map(|v| v * 1000).collect();
        let b_vals: Vec<u64> = (1..=1000).map(|v| v * 7919 + 50_000).collect();
        let a = host("a", vec![rep(0, 1000, 1.0, &a_vals, &[])]);
        let b = host("b", vec![rep(0, 3000, 2.0, &b_vals, &[])]);
        let m = merge(&[a, b]).unwrap();
        let r = &m.workloads[0].repetitions[0];
        let mut all = new_hist();
        for &v in a_vals.iter().chain(&b_vals) {
            record(&mut all, v);
        }
        assert_eq!(r.latency_ns, summarize(&all));
        assert_eq!(r.latency_ns.count, 4000);
        assert_eq!(hist::decode(&r.latency_ns.hdr).unwrap(), all);
        // The summary's merged histogram counts add up too.
        assert_eq!(
            m.workloads[0].summary.as_ref().unwrap().latency_ns.count,
            4000
        );
    }

    #[test]
    fn counters_sum_elapsed_is_the_longest_and_hosts_are_kept() {
        let a = host(
            "a",
            vec![rep(0, 1000, 1.0, &[10], &[]), rep(1, 1000, 1.0, &[10], &[])],
        );
        let b = host(
            "b",
            vec![rep(0, 3000, 2.0, &[20], &[]), rep(1, 3000, 1.5, &[20], &[])],
        );
        let m = merge(&[a, b]).unwrap();
        let w = &m.workloads[0];
        assert_eq!(w.repetitions.len(), 2);
        let r = &w.repetitions[0];
        assert_eq!((r.bytes, r.records, r.batches), (4000, 40, 4));
        assert_eq!(r.elapsed_s, 2.0);
        assert_eq!(r.throughput_bytes_per_s, 2000.0); // 4000 bytes over the 2 s window
        assert_eq!((r.cpu_user_s, r.cpu_sys_s), (1.0, 0.5));
        assert_eq!(r.device_bytes, Some(4000));
        assert_eq!(r.context_switches, Some(20));
        assert_eq!(
            r.threads.iter().map(|t| t.index).collect::<Vec<_>>(),
            vec![0, 1]
        );
        let hosts = host_figures(r);
        assert_eq!(hosts.len(), 2);
        assert_eq!((hosts[0].host.as_str(), hosts[0].bytes), ("a", 1000));
        assert_eq!((hosts[1].host.as_str(), hosts[1].elapsed_s), ("b", 2.0));
        assert_eq!(hosts[1].throughput_bytes_per_s, 1500.0);
        assert_eq!(m.run.host, "a+b");
        assert_eq!(w.repetitions[1].throughput_bytes_per_s, 4000.0 / 1.5);
        // The merged file is a valid results file.
        let bytes =
            crate::export::Exporter::export(&crate::export::json::JsonExporter, &m).unwrap();
        assert!(!bytes.is_empty());
    }

    #[test]
    fn timelines_are_summed_bucket_by_bucket() {
        let a = host("a", vec![rep(0, 600, 0.3, &[1], &[100, 200, 300])]);
        let b = host("b", vec![rep(0, 150, 0.5, &[1], &[10, 20, 30, 40, 50])]);
        let c = host("c", vec![rep(0, 0, 0.1, &[1], &[])]);
        let m = merge(&[a, b, c]).unwrap();
        let t = &m.workloads[0].repetitions[0].timeline;
        assert_eq!(t.interval_s, 0.1);
        assert_eq!(t.bytes, vec![110, 220, 330, 40, 50]);

        let mut odd = host("d", vec![rep(0, 10, 0.1, &[1], &[1, 2])]);
        odd.workloads[0].repetitions[0].timeline.interval_s = 0.25;
        let e = merge(&[host("a", vec![rep(0, 600, 0.3, &[1], &[1])]), odd]).unwrap_err();
        assert!(matches!(e, MergeError::TimelineInterval { .. }), "{e}");
    }

    #[test]
    fn merging_merged_results_flattens_the_breakdown() {
        let ab = merge(&[
            host("a", vec![rep(0, 1000, 1.0, &[10], &[])]),
            host("b", vec![rep(0, 1000, 1.0, &[10], &[])]),
        ])
        .unwrap();
        let abc = merge(&[ab, host("c", vec![rep(0, 1000, 1.0, &[10], &[])])]).unwrap();
        let r = &abc.workloads[0].repetitions[0];
        let names: Vec<String> = host_figures(r).into_iter().map(|h| h.host).collect();
        assert_eq!(names, vec!["a", "b", "c"]);
        assert_eq!(r.bytes, 3000);
        assert_eq!(r.latency_ns.count, 3);
    }

    #[test]
    fn inputs_that_do_not_fit_are_refused() {
        let a = host("a", vec![rep(0, 1000, 1.0, &[10], &[])]);
        // Different configuration.
        let mut b = host("b", vec![rep(0, 1000, 1.0, &[10], &[])]);
        b.workloads[0]
            .config
            .insert("size_bytes".into(), serde_json::json!(2000));
        let e = merge(&[a.clone(), b]).unwrap_err();
        assert!(e.to_string().contains("size_bytes: 1000 -> 2000"), "{e}");
        // Different workload sets.
        let mut c = host("c", vec![rep(0, 1000, 1.0, &[10], &[])]);
        c.workloads[0].name = "write/mmap".into();
        let e = merge(&[a.clone(), c]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("missing write/buffered") && msg.contains("extra write/mmap"),
            "{msg}"
        );
        // The same run twice.
        let e = merge(&[a.clone(), a]).unwrap_err();
        assert!(matches!(e, MergeError::SameRun { .. }), "{e}");
        assert!(matches!(merge(&[]).unwrap_err(), MergeError::Empty));
    }

    #[test]
    fn append_pools_the_repetitions_of_runs_of_one_machine() {
        let a = host(
            "vm",
            vec![rep(0, 1000, 1.0, &[10], &[]), rep(1, 1100, 1.0, &[10], &[])],
        );
        let mut b = host("vm", vec![rep(0, 900, 1.0, &[20, 30], &[])]);
        b.run.id = "run-vm-2".into();
        b.workloads[0]
            .config
            .insert("repeat".into(), serde_json::json!(1)); // does not define the workload
        let p = append(&[a.clone(), b.clone()]).unwrap();
        let w = &p.workloads[0];
        let bytes: Vec<u64> = w.repetitions.iter().map(|r| r.bytes).collect();
        assert_eq!(bytes, vec![1000, 1100, 900]);
        let idx: Vec<u32> = w.repetitions.iter().map(|r| r.index).collect();
        assert_eq!(idx, vec![0, 1, 2]);
        assert_eq!(
            w.repetitions[2].extra[RUN_ID_KEY],
            serde_json::json!("run-vm-2")
        );
        let s = w.summary.as_ref().unwrap();
        assert_eq!(
            (s.throughput_bytes_per_s.n, s.throughput_bytes_per_s.median),
            (3, 1000.0)
        );
        assert_eq!(s.latency_ns.count, 4);
        assert_eq!(p.run.host, "vm");

        let mut other = b.clone();
        other.probe = Some(serde_json::json!({"fingerprint": "bb"}));
        let e = append(&[a.clone(), other]).unwrap_err();
        assert!(e.to_string().contains("other hardware"), "{e}");
        let mut sized = b;
        sized.workloads[0]
            .config
            .insert("size_bytes".into(), serde_json::json!(5));
        let e = append(&[a, sized]).unwrap_err();
        assert!(
            e.to_string()
                .contains("in run run-vm-2: size_bytes: 1000 -> 5"),
            "{e}"
        );
    }

    #[test]
    fn unequal_repetitions_and_statuses_are_reported() {
        let a = host(
            "a",
            vec![rep(0, 1000, 1.0, &[10], &[]), rep(1, 1000, 1.0, &[10], &[])],
        );
        let mut b = host("b", vec![rep(0, 1000, 1.0, &[10], &[])]);
        b.workloads[0].status = Status::Failed {
            error: "disk full".into(),
        };
        b.workloads[0].medium = Medium::PageCache;
        b.probe = Some(serde_json::json!({"fingerprint": "bb"}));
        let m = merge(&[a, b]).unwrap();
        let w = &m.workloads[0];
        assert_eq!(w.repetitions.len(), 1);
        assert_eq!(
            w.status,
            Status::Failed {
                error: "b: disk full".into()
            }
        );
        assert_eq!(w.medium, Medium::PageCache);
        assert!(
            w.warnings.iter().any(|x| x.contains("only the first 1")),
            "{:?}",
            w.warnings
        );
        assert!(m.probe.is_none());
        assert!(
            m.warnings.iter().any(|x| x.contains("a aa, b bb")),
            "{:?}",
            m.warnings
        );
    }
}
