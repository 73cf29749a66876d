//! Merging results of the same workloads run on several hosts at the same time
//! (`segbench merge A.json B.json … -o OUT.json`) into one cluster-wide result.
//!
//! Rules:
//! - the inputs must hold the same workloads (by name) with the same configuration (ignoring
//!   [`crate::identity::NON_DEFINING_CONFIG_KEYS`] and, across hosts, [`HOST_LOCAL_CONFIG_KEYS`]);
//!   anything else is a [`MergeError`];
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
//!
//! Files: this module checks the inputs and merges whole files ([`merge`]); `hosts` merges one
//! repetition of several hosts and keeps each host's figures; `append` pools the runs of one
//! machine ([`append`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::hist::HistError;
use crate::identity::{config_differences, fingerprint};
use crate::probe::Probe;
use crate::schema::{Medium, ResultsFile, RunInfo, Status, WorkloadResult};

mod append;
mod hosts;

pub use append::*;
pub use hosts::*;

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

/// Refuses inputs that hold the same run twice (the same run id).
fn check_distinct_runs(inputs: &[ResultsFile]) -> Result<(), MergeError> {
    let mut ids = BTreeSet::new();
    for r in inputs {
        if !ids.insert(r.run.id.as_str()) {
            return Err(MergeError::SameRun {
                run_id: r.run.id.clone(),
                host: r.run.host.clone(),
            });
        }
    }
    Ok(())
}

/// Every input's run-level warnings, each prefixed with its input's label.
fn labelled_warnings(inputs: &[ResultsFile], labels: &[String]) -> Vec<String> {
    let mut warnings = Vec::new();
    for (r, label) in inputs.iter().zip(labels) {
        warnings.extend(r.warnings.iter().map(|w| format!("{label}: {w}")));
    }
    warnings
}

/// The file made of `inputs` (at least one): the first input's schema version, tool and
/// baseline, the given run, probe, workloads and warnings, interrupted when any input was.
fn combined_file(
    inputs: &[ResultsFile],
    run: RunInfo,
    probe: Option<Probe>,
    workloads: Vec<WorkloadResult>,
    warnings: Vec<String>,
) -> ResultsFile {
    let first = &inputs[0];
    ResultsFile {
        schema_version: first.schema_version,
        tool: first.tool.clone(),
        run,
        probe,
        baseline: first.baseline.clone(),
        workloads,
        warnings,
        interrupted: inputs.iter().any(|r| r.interrupted),
        fleet: None,
    }
}

/// The run of a file made of `inputs`: id `PREFIX-ID1+ID2…`, the earliest start time, `host`
/// and the first input's command line.
fn combined_run(inputs: &[ResultsFile], prefix: &str, host: String) -> RunInfo {
    RunInfo {
        id: format!(
            "{prefix}-{}",
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
        host,
        command_line: inputs
            .first()
            .map(|r| r.run.command_line.clone())
            .unwrap_or_default(),
    }
}

/// Configuration keys that say where on its host a workload ran: each host's own data
/// directories and in-process sink address. They differ between hosts of one run by nature, so
/// a host merge ignores them (appending runs of one machine does not).
pub const HOST_LOCAL_CONFIG_KEYS: &[&str] = &["log_dirs", "sink"];

/// Merges results of several hosts into one (see the module documentation).
///
/// The merged file keeps the first input's tool and baseline; `run` names every host
/// (`host-a+host-b`) and the earliest start time; `probe` is the first input's when every input
/// has the same hardware fingerprint, else null (each host's fingerprint stays in the
/// breakdown).
pub fn merge(inputs: &[ResultsFile]) -> Result<ResultsFile, MergeError> {
    let first = inputs.first().ok_or(MergeError::Empty)?;
    let labels = host_labels(inputs);
    check_distinct_runs(inputs)?;
    let described: Vec<String> = labels.iter().map(|l| format!("host {l}")).collect();
    check_workload_sets(inputs, &described)?;

    let mut warnings = labelled_warnings(inputs, &labels);
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
        let host_local: Vec<String> = HOST_LOCAL_CONFIG_KEYS
            .iter()
            .map(|k| k.to_string())
            .collect();
        check_configs(w0, &per_host, &described, &host_local)?;
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
        workloads.push(
            WorkloadResult::new(
                name.to_string(),
                w0.kind,
                w0.engine.clone(),
                w0.config.clone(),
                status,
                merged_medium(per_host.iter().map(|w| w.medium)),
            )
            .with_repetitions(repetitions, wwarn),
        );
    }

    let probe = if same_hardware {
        first.probe.clone()
    } else {
        None
    };
    Ok(combined_file(
        inputs,
        combined_run(inputs, "merged", labels.join("+")),
        probe,
        workloads,
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist;
    use crate::hist::{new_hist, record, summarize};
    use crate::schema::*;
    use crate::stats;

    /// A repetition whose latencies are `lat` and whose timeline is `tl` (100 ms buckets).
    pub(super) fn rep(i: u32, bytes: u64, elapsed_s: f64, lat: &[u64], tl: &[u64]) -> Repetition {
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
            nic_traffic: Vec::new(),
        }
    }

    pub(super) fn host(name: &str, reps: Vec<Repetition>) -> ResultsFile {
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
            probe: Some(crate::probe::Probe {
                fingerprint: "aa".into(),
                ..Default::default()
            }),
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
                mixed: None,
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
        let bytes = crate::io::to_json(&m).unwrap();
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
        // Where on its host a workload ran is no difference between hosts.
        let mut d = host("d", vec![rep(0, 1000, 1.0, &[10], &[])]);
        for (k, v) in [
            ("log_dirs", "[\"/d/read-log\"]"),
            ("sink", "\"in-process 127.0.0.1:9\""),
        ] {
            d.workloads[0]
                .config
                .insert(k.into(), serde_json::from_str(v).unwrap());
        }
        assert!(merge(&[a.clone(), d]).is_ok());
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
        b.probe = Some(crate::probe::Probe {
            fingerprint: "bb".into(),
            ..Default::default()
        });
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
