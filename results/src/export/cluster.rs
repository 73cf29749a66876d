//! The cluster part of the reports, for results of `segbench fleet run` ([`FleetInfo`]): what
//! the terminal, Markdown and HTML exporters show, built once as [`Table`]s of formatted cells
//! and lines of text, so every format says the same. Every figure carries its unit (MB =
//! 10^6 bytes); a page-cache workload is labelled so; a clock offset is shown with its
//! uncertainty.
//!
//! - [`hosts_table`]: one row per rank with its clock offset and probe fingerprint;
//! - [`warnings`]: different hardware, hosts that did not overlap in time, clock uncertainty,
//!   an early stop;
//! - [`phases_table`]: each phase's cluster figures per workload;
//! - [`baseline_points`] / [`baseline_table`]: the measured aggregate at n hosts against the
//!   baseline at n nodes and against n × the single-host figure (linear scaling, the capacity
//!   model's assumption that per-node figures add up);
//! - [`network_matrix`] / [`network_table`]: the network phase as sender × receiver;
//! - [`replication_table`]: the replication phase, one row per acks mode (the leader's
//!   workloads) and one per following rank (its own bytes and CPU, or why it failed).
//!
//! Results without a `fleet` section have no cluster part: every function here answers
//! `None` or nothing for them, and the single-host reports are unchanged.

use crate::fleet::{hardware_warning, FleetHost, FleetInfo, NetworkRow};
use crate::format::{self, MISSING};
use crate::schema::{Medium, ResultsFile};

use crate::table::{Align, Table};

/// The cluster view of `r`, when it has one with at least one host.
pub fn fleet(r: &ResultsFile) -> Option<&FleetInfo> {
    r.fleet.as_ref().filter(|f| !f.hosts.is_empty())
}

/// The medium of the workload `name` of the merged results, when it is there.
pub fn medium_of(r: &ResultsFile, name: &str) -> Option<Medium> {
    r.workloads
        .iter()
        .find(|w| w.name == name)
        .map(|w| w.medium)
}

/// `name`, with ` (page cache)` when the workload's figures are page-cache figures.
pub fn workload_label(r: &ResultsFile, name: &str) -> String {
    match medium_of(r, name) {
        Some(Medium::PageCache) => format!("{name} ({})", format::medium_label(Medium::PageCache)),
        _ => name.to_string(),
    }
}

/// Nanoseconds as milliseconds with three decimals, e.g. `0.152`.
fn ms(ns: f64) -> String {
    format!("{:.3}", ns / 1e6)
}

/// A host's clock offset from rank 0 with its uncertainty: `+0.152 ms ± 0.041 ms`, or
/// `0 (reference)` for rank 0 itself.
pub fn offset_label(h: &FleetHost) -> String {
    if h.rank == 0 && h.offset_ns == 0 && h.uncertainty_ns == 0 {
        return "0 (reference)".into();
    }
    let sign = if h.offset_ns < 0 { "−" } else { "+" };
    format!(
        "{sign}{} ms ± {} ms",
        ms(h.offset_ns.unsigned_abs() as f64),
        ms(h.uncertainty_ns as f64)
    )
}

/// `rank 1 node-b`: how a host is named in the tables.
pub fn host_label(f: &FleetInfo, rank: u32) -> String {
    match f.hosts.iter().find(|h| h.rank == rank) {
        Some(h) => format!("rank {rank} {}", h.host),
        None => format!("rank {rank}"),
    }
}

/// One line about the run: hosts, launcher, rendezvous, the largest clock uncertainty.
pub fn summary_line(f: &FleetInfo) -> String {
    let worst = f.hosts.iter().map(|h| h.uncertainty_ns).max().unwrap_or(0);
    format!(
        "{} hosts, started by {}, rendezvous {}; clocks aligned to rank 0 within ± {} ms",
        f.hosts.len(),
        f.launcher,
        f.coordinator,
        ms(worst as f64)
    )
}

/// One row per rank: host, address, clock offset (± uncertainty), probe fingerprint (marked
/// when it differs from rank 0's), its own results file.
pub fn hosts_table(f: &FleetInfo) -> Table {
    let first = f.hosts.first().and_then(|h| h.fingerprint.as_deref());
    let rows = f
        .hosts
        .iter()
        .map(|h| {
            let fingerprint = match h.fingerprint.as_deref() {
                None => "unknown".to_string(),
                Some(x) if Some(x) != first => format!("{x} (differs from rank 0)"),
                Some(x) => x.to_string(),
            };
            vec![
                h.rank.to_string(),
                h.host.clone(),
                h.addr.clone(),
                offset_label(h),
                fingerprint,
                h.results_file.clone().unwrap_or_else(|| MISSING.into()),
            ]
        })
        .collect();
    Table {
        columns: vec![
            ("rank".into(), Align::Right),
            ("host".into(), Align::Left),
            ("address".into(), Align::Left),
            ("clock offset to rank 0".into(), Align::Right),
            ("probe fingerprint".into(), Align::Left),
            ("own results".into(), Align::Left),
        ],
        rows,
    }
}

/// What weakens the cluster figures: different hardware first (computed from the hosts, so
/// it shows even when the file does not say it), then the fleet's warnings (hosts that did
/// not run at once, clock uncertainty, failed ranks) and the reason of an early stop.
pub fn warnings(f: &FleetInfo) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |w: String| {
        if !out.contains(&w) {
            out.push(w);
        }
    };
    if f.hosts.len() > 1 {
        if let Some(w) = hardware_warning(&f.hosts) {
            push(w);
        }
    }
    for w in f
        .warnings
        .iter()
        .chain(f.phases.iter().flat_map(|p| &p.warnings))
    {
        push(w.clone());
    }
    if let Some(x) = &f.failure {
        push(format!(
            "the run stopped early ({}: {}); the cluster figures are partial",
            x.rank
                .map(|r| host_label(f, r))
                .or_else(|| x.host.clone())
                .unwrap_or_else(|| "unknown rank".into()),
            x.reason
        ));
    }
    out
}

/// Each phase's cluster figures, one row per (phase, workload): hosts, what was measured,
/// aggregate (last-done) and first-done throughput, straggler ratio, each host's throughput.
pub fn phases_table(r: &ResultsFile, f: &FleetInfo) -> Table {
    let mut rows = Vec::new();
    for p in &f.phases {
        for w in &p.workloads {
            let per_host: Vec<String> = w
                .host_bytes_per_s
                .iter()
                .map(|b| format::mb_per_s_value(*b))
                .collect();
            rows.push(vec![
                p.name.clone(),
                w.name.clone(),
                medium_of(r, &w.name)
                    .map(format::medium_label)
                    .unwrap_or(MISSING)
                    .to_string(),
                w.hosts.to_string(),
                format::mb_per_s_value(w.aggregate_bytes_per_s),
                format::mb_per_s_value(w.first_done_bytes_per_s),
                format::ratio(w.straggler_ratio),
                per_host.join(" / "),
                format::sig(p.span_s),
            ]);
        }
    }
    Table {
        columns: vec![
            ("phase".into(), Align::Left),
            ("workload".into(), Align::Left),
            ("measured".into(), Align::Left),
            ("hosts".into(), Align::Right),
            ("aggregate (MB/s)".into(), Align::Right),
            ("first-done (MB/s)".into(), Align::Right),
            ("slowest / fastest".into(), Align::Right),
            ("per host (MB/s)".into(), Align::Right),
            ("span (s)".into(), Align::Right),
        ],
        rows,
    }
}

/// The measured aggregate of one workload on `hosts` hosts and what it is compared with.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselinePoint {
    /// Workload name.
    pub workload: String,
    /// What its figures measured, when the merged results say.
    pub medium: Option<Medium>,
    /// Hosts that ran at once.
    pub hosts: u32,
    /// Their aggregate (last-done) throughput, bytes/s.
    pub measured_bytes_per_s: f64,
    /// The baseline at the same node count: per-node baseline × `hosts`, bytes/s.
    pub baseline_bytes_per_s: f64,
    /// Linear scaling: `hosts` × the workload's aggregate on one host, bytes/s, when the
    /// scaling phase measured one host.
    pub linear_bytes_per_s: Option<f64>,
}

/// The measured aggregates against the baseline and linear scaling: the scaling rows when the
/// run has them (1, 2, 4, … N hosts), else the local phase on all hosts; by workload, then
/// host count.
pub fn baseline_points(r: &ResultsFile, f: &FleetInfo) -> Vec<BaselinePoint> {
    let mut measured: Vec<(String, u32, f64)> = f
        .scaling
        .iter()
        .map(|s| (s.workload.clone(), s.hosts, s.aggregate_bytes_per_s))
        .collect();
    if measured.is_empty() {
        if let Some(local) = f.phases.iter().find(|p| p.name == "local") {
            measured = local
                .workloads
                .iter()
                .map(|w| (w.name.clone(), w.hosts, w.aggregate_bytes_per_s))
                .collect();
        }
    }
    measured.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let single = |name: &str| {
        f.scaling
            .iter()
            .find(|s| s.workload == name && s.hosts == 1)
            .map(|s| s.aggregate_bytes_per_s)
    };
    measured
        .into_iter()
        .map(|(workload, hosts, bytes_per_s)| BaselinePoint {
            medium: medium_of(r, &workload),
            linear_bytes_per_s: single(&workload).map(|s| s * f64::from(hosts)),
            baseline_bytes_per_s: r.baseline.per_node_bytes_per_s * f64::from(hosts),
            workload,
            hosts,
            measured_bytes_per_s: bytes_per_s,
        })
        .collect()
}

/// [`baseline_points`] as a table: measured aggregate, the baseline at the same node count and
/// the ratio, linear scaling and the measured share of it.
pub fn baseline_table(r: &ResultsFile, f: &FleetInfo) -> Table {
    let per = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    let rows = baseline_points(r, f)
        .into_iter()
        .map(|p| {
            vec![
                p.workload.clone(),
                p.medium
                    .map(format::medium_label)
                    .unwrap_or(MISSING)
                    .to_string(),
                p.hosts.to_string(),
                format::mb_per_s_value(p.measured_bytes_per_s),
                format::mb_per_s_value(p.baseline_bytes_per_s),
                format::ratio(per(p.measured_bytes_per_s, p.baseline_bytes_per_s)),
                p.linear_bytes_per_s
                    .map(format::mb_per_s_value)
                    .unwrap_or_else(|| MISSING.into()),
                p.linear_bytes_per_s
                    .map(|l| format::percent(per(p.measured_bytes_per_s, l)))
                    .unwrap_or_else(|| MISSING.into()),
            ]
        })
        .collect();
    Table {
        columns: vec![
            ("workload".into(), Align::Left),
            ("measured".into(), Align::Left),
            ("hosts".into(), Align::Right),
            ("aggregate (MB/s)".into(), Align::Right),
            ("baseline × hosts (MB/s)".into(), Align::Right),
            ("× baseline".into(), Align::Right),
            ("linear: hosts × 1 host (MB/s)".into(), Align::Right),
            ("of linear".into(), Align::Right),
        ],
        rows,
    }
}

/// What the baseline comparison assumes, in one sentence.
pub fn baseline_note(r: &ResultsFile) -> String {
    format!(
        "Baseline: {} per node ({}), times the hosts. Linear: the workload's aggregate on one \
         host times the hosts, the scaling the capacity model assumes (per-node figures add \
         up). Aggregate = all hosts' bytes / (last end − first start). MB = 10^6 bytes.",
        format::mb_per_s(r.baseline.per_node_bytes_per_s),
        r.baseline.source
    )
}

/// The read engines of the network phase, in first-seen order.
pub fn network_engines(f: &FleetInfo) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in &f.network {
        if !out.contains(&n.engine) {
            out.push(n.engine.clone());
        }
    }
    out
}

/// The network phase of `engine` as sender × receiver: `m[from][to]`, indexed by position in
/// `f.hosts`, `None` where the pair was not measured (the diagonal, and all but the ring's
/// pairs in ring mode).
pub fn network_matrix<'a>(f: &'a FleetInfo, engine: &str) -> Vec<Vec<Option<&'a NetworkRow>>> {
    let index = |rank: u32| f.hosts.iter().position(|h| h.rank == rank);
    let n = f.hosts.len();
    let mut m = vec![vec![None; n]; n];
    for row in f.network.iter().filter(|x| x.engine == engine) {
        if let (Some(i), Some(j)) = (index(row.from_rank), index(row.to_rank)) {
            m[i][j] = Some(row);
        }
    }
    m
}

/// One row per measured pair and engine: throughput, CPU on both ends, retransmits.
pub fn network_table(f: &FleetInfo) -> Table {
    let cpu = |x: Option<f64>| {
        x.map(format::cpu_s_per_gb)
            .unwrap_or_else(|| MISSING.into())
    };
    let rows = f
        .network
        .iter()
        .map(|n| {
            vec![
                host_label(f, n.from_rank),
                host_label(f, n.to_rank),
                n.engine.clone(),
                format::mb_per_s_value(n.throughput_bytes_per_s),
                cpu(n.sender_cpu_s_per_gb),
                cpu(n.sink_cpu_s_per_gb),
                n.sender_retransmits
                    .map(|x| x.to_string())
                    .unwrap_or_else(|| MISSING.into()),
            ]
        })
        .collect();
    Table {
        columns: vec![
            ("sender".into(), Align::Left),
            ("receiver".into(), Align::Left),
            ("engine".into(), Align::Left),
            ("throughput (MB/s)".into(), Align::Right),
            ("sender CPU (s/GB)".into(), Align::Right),
            ("receiver CPU (s/GB)".into(), Align::Right),
            ("sender retransmits (segments)".into(), Align::Right),
        ],
        rows,
    }
}

/// The replication phase: a row per acks mode of the leader (rank 0: records/s and produce
/// p50 / p99, medians over repetitions) and a row per following rank (bytes it appended, its
/// CPU s/GB, or why it failed); `None` without one.
pub fn replication_table(r: &ResultsFile, f: &FleetInfo) -> Option<Table> {
    let rep = f.replication.as_ref()?;
    let mut rows: Vec<Vec<String>> = r
        .workloads
        .iter()
        .filter(|w| w.name.starts_with("replicate/"))
        .map(|w| {
            let s = w.summary.as_ref();
            let stat = |g: fn(&crate::schema::Summary) -> f64, fmt: fn(f64) -> String| {
                s.map(|s| fmt(g(s))).unwrap_or_else(|| MISSING.into())
            };
            vec![
                format!("{} leader, rf {}", host_label(f, rep.leader_rank), rep.rf),
                w.name.clone(),
                stat(|s| s.records_per_s.median, format::count_per_s),
                stat(|s| s.p50_ns.median, format::latency),
                stat(|s| s.p99_ns.median, format::latency),
                MISSING.into(),
                MISSING.into(),
            ]
        })
        .collect();
    rows.extend(rep.followers.iter().map(|x| {
        vec![
            format!(
                "{} follower{}",
                host_label(f, x.rank),
                x.follower.map(|n| format!(" {n}")).unwrap_or_default()
            ),
            x.error
                .as_ref()
                .map(|e| format!("failed: {e}"))
                .unwrap_or_else(|| format!("{} repetitions", x.repetitions)),
            MISSING.into(),
            MISSING.into(),
            MISSING.into(),
            format::bytes_iec(x.bytes),
            crate::stats::cpu_s_per_gb(x.cpu_s, x.bytes)
                .map(format::cpu_s_per_gb)
                .unwrap_or_else(|| MISSING.into()),
        ]
    }));
    Some(Table {
        columns: vec![
            ("role".into(), Align::Left),
            ("workload".into(), Align::Left),
            ("records/s".into(), Align::Right),
            ("produce p50".into(), Align::Right),
            ("produce p99".into(), Align::Right),
            ("appended".into(), Align::Right),
            ("CPU (s/GB)".into(), Align::Right),
        ],
        rows,
    })
}

/// The network matrix of `engine` as a table of MB/s: a row per sender, a column per
/// receiver, `–` where not measured.
pub fn network_matrix_table(f: &FleetInfo, engine: &str) -> Table {
    let m = network_matrix(f, engine);
    let mut columns = vec![(format!("{engine}: sender ↓ receiver →"), Align::Left)];
    columns.extend(
        f.hosts
            .iter()
            .map(|h| (host_label(f, h.rank), Align::Right)),
    );
    let rows = f
        .hosts
        .iter()
        .zip(&m)
        .map(|(h, cells)| {
            let mut row = vec![host_label(f, h.rank)];
            row.extend(cells.iter().map(|c| {
                c.map(|x| format::mb_per_s(x.throughput_bytes_per_s))
                    .unwrap_or_else(|| MISSING.into())
            }));
            row
        })
        .collect();
    Table { columns, rows }
}

#[cfg(test)]
mod tests;
