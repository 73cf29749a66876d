//! What rank 0 gathered becomes one results file: the local phase merged over hosts (through
//! `results::merge`), the cluster view in its `fleet` field, each host's own results beside it,
//! and a short summary on stdout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use results::fleet::{
    aggregate_phase, hardware_warning, network_rows, scaling_rows, skew_warnings, FleetFailure,
    FleetHost, FleetInfo, FleetPhase, FleetReplication, HostPart, ReplicaFollower,
};
use results::format::mb_per_s;
use results::{Baseline, ResultsFile};

use super::coordinator::{Coordinator, RankDone, StepKind};
use crate::meta::RunMeta;

/// What the steps gathered so far, folded in as each step ends ([`Gathered::add`]): a step's
/// results files are aggregated and dropped (each host's own `local` file written to disk at
/// once), so rank 0 holds one step's files at a time, not every step's.
#[derive(Debug)]
pub struct Gathered {
    /// The results directory; created with the first file written to it.
    dir: PathBuf,
    /// The cluster view so far (phases, network rows, replication, warnings); its hosts and
    /// scaling rows are filled in by [`build`].
    info: FleetInfo,
    /// The `local` phase's results merged over hosts.
    merged: Option<ResultsFile>,
    /// The replication leader's workloads.
    replicated: Vec<results::WorkloadResult>,
    /// Every local phase (the full one and the scaling subsets), in run order.
    local_phases: Vec<FleetPhase>,
    /// Each host's own `local` results file, written, by rank.
    host_files: BTreeMap<u32, String>,
}

impl Gathered {
    /// Nothing gathered yet; hosts' files will go to `dir`.
    pub fn new(dir: &Path) -> Self {
        Gathered {
            dir: dir.to_path_buf(),
            info: FleetInfo::default(),
            merged: None,
            replicated: Vec::new(),
            local_phases: Vec::new(),
            host_files: BTreeMap::new(),
        }
    }

    /// The results directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Folds in one step's answers (then dropped): its phase, its warnings, and for the `local`
    /// phase the merge and each host's own file, written now.
    pub fn add(&mut self, name: &str, kind: &StepKind, done: Vec<RankDone>, c: &Coordinator<'_>) {
        let phase = match kind {
            StepKind::Local { .. } => self.local(name, &done, c),
            StepKind::Replicate { rf } => {
                let (phase, workloads, r) = replication(name, *rf, c, &done);
                self.replicated = workloads;
                self.info.replication = Some(r);
                Some(phase)
            }
            StepKind::Pairs(pairs) => Some(network(name, pairs, &done, &mut self.info)),
            StepKind::Sinks | StepKind::StopSinks | StepKind::ReplicaListen => None,
        };
        if let Some(phase) = phase {
            push_phase(&mut self.info, name, &done, phase);
        }
    }

    /// A local step merged over the hosts that sent results; the `local` phase's merge is the
    /// cluster file's body, and each host's own file is written beside it.
    fn local(&mut self, name: &str, done: &[RankDone], c: &Coordinator<'_>) -> Option<FleetPhase> {
        let parts: Vec<HostPart<'_>> = done
            .iter()
            .filter_map(|d| {
                d.result.as_ref().map(|f| HostPart {
                    rank: d.rank,
                    file: f,
                    window: d.window,
                })
            })
            .collect();
        if parts.is_empty() {
            return None;
        }
        match aggregate_phase(name, &parts) {
            Ok((file, phase)) => {
                if name == "local" {
                    self.write_host_files(done, c);
                    self.merged = Some(file);
                }
                self.local_phases.push(phase.clone());
                Some(phase)
            }
            Err(e) => {
                self.info.warnings.push(format!(
                    "phase {name}: the hosts' results do not merge: {e}"
                ));
                None
            }
        }
    }

    /// Writes each host's own results as `rank<k>-<host>.json` (a warning when one cannot be).
    fn write_host_files(&mut self, done: &[RankDone], c: &Coordinator<'_>) {
        if let Err(e) = std::fs::create_dir_all(&self.dir) {
            self.info.warnings.push(format!(
                "the hosts' own results were not kept: cannot create {}: {e}",
                self.dir.display()
            ));
            return;
        }
        for d in done {
            let (Some(f), Some(m)) = (&d.result, c.members.members.get(&d.rank)) else {
                continue;
            };
            let fname = host_file_name(d.rank, &m.host);
            match results::io::write_results(&self.dir.join(&fname), f) {
                Ok(()) => {
                    self.host_files.insert(d.rank, fname);
                }
                Err(e) => self.info.warnings.push(format!(
                    "rank {}: its own results were not kept: {e}",
                    d.rank
                )),
            }
        }
    }
}

/// What rank 0 knows about the run besides the gathered steps.
#[derive(Debug)]
pub struct RunFacts<'a> {
    /// Rank 0's run identity.
    pub meta: &'a RunMeta,
    /// Launcher name.
    pub launcher: &'a str,
    /// The rendezvous address.
    pub coordinator: &'a str,
    /// Ranks.
    pub size: u32,
    /// Baseline for the results file.
    pub baseline: Baseline,
}

/// The cluster results file: the hosts (each naming its own file), the phases gathered (in
/// run order), the scaling series, the run's warnings, then the file around them.
pub fn build(
    facts: &RunFacts<'_>,
    c: &Coordinator<'_>,
    g: Gathered,
    failure: Option<FleetFailure>,
) -> ResultsFile {
    let mut info = g.info;
    info.size = facts.size;
    info.launcher = facts.launcher.to_string();
    info.coordinator = facts.coordinator.to_string();
    info.failure = failure;
    info.hosts = hosts(c);
    for h in &mut info.hosts {
        h.results_file = g.host_files.get(&h.rank).cloned();
    }
    info.scaling = if g.local_phases.len() > 1 {
        scaling_rows(&g.local_phases.iter().collect::<Vec<_>>())
    } else {
        vec![]
    };
    run_warnings(&mut info, c);
    cluster_file(facts, g.merged, g.replicated, info)
}

/// Each admitted rank as a host of the report, with its clock offset (zero when none was
/// measured); its results file is named later, by the local phase.
fn hosts(c: &Coordinator<'_>) -> Vec<FleetHost> {
    c.members
        .members
        .values()
        .map(|m| {
            let o = c.offsets.get(&m.rank).copied().unwrap_or_default();
            FleetHost {
                rank: m.rank,
                host: m.host.clone(),
                addr: m.peer_ip.to_string(),
                offset_ns: o.offset_ns,
                uncertainty_ns: o.uncertainty_ns,
                fingerprint: m.fingerprint.clone(),
                results_file: None,
            }
        })
        .collect()
}

/// `rank<k>-<host>.json`, the host name (a peer's word) reduced to a file name's characters.
fn host_file_name(rank: u32, host: &str) -> String {
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("rank{rank}-{}.json", host.trim_start_matches('.'))
}

/// The network phase: each sending pair's rows into `info.network`, and the phase of the
/// windows of the ranks that sent results.
fn network(
    name: &str,
    pairs: &[(u32, u32)],
    done: &[RankDone],
    info: &mut FleetInfo,
) -> FleetPhase {
    for d in done {
        if let (Some(f), Some(&(from, to))) = (&d.result, pairs.iter().find(|(f, _)| *f == d.rank))
        {
            info.network
                .extend(network_rows(from, to, f, d.retransmits));
        }
    }
    let windows: Vec<_> = done
        .iter()
        .filter(|d| d.result.is_some())
        .map(|d| d.window)
        .collect();
    FleetPhase::of_windows(name, windows)
}

/// Adds a phase to the report, after the warnings of its ranks' errors and its own.
fn push_phase(info: &mut FleetInfo, name: &str, done: &[RankDone], phase: FleetPhase) {
    for d in done {
        if let Some(e) = &d.error {
            info.warnings
                .push(format!("phase {name}: rank {}: {e}", d.rank));
        }
    }
    info.warnings.extend(phase.warnings.iter().cloned());
    info.phases.push(phase);
}

/// The run's own warnings, after the phases': start skew, different hardware, refused
/// connections to the rendezvous.
fn run_warnings(info: &mut FleetInfo, c: &Coordinator<'_>) {
    info.warnings
        .extend(skew_warnings(&info.hosts, &info.phases));
    info.warnings.extend(hardware_warning(&info.hosts));
    if c.members.refused > 0 {
        info.warnings.push(format!(
            "{} connection(s) to the rendezvous were refused (wrong token or registration)",
            c.members.refused
        ));
    }
}

/// The cluster results file: the merged local phase (or an empty file of rank 0's run), with
/// rank 0's run identity, the leader's replication workloads, the fleet's warnings once, and
/// the cluster view in its `fleet` field.
fn cluster_file(
    facts: &RunFacts<'_>,
    merged: Option<ResultsFile>,
    replicated: Vec<results::WorkloadResult>,
    info: FleetInfo,
) -> ResultsFile {
    let mut file = merged.unwrap_or_else(|| {
        crate::output::results_file(
            facts.meta,
            None,
            facts.baseline.clone(),
            vec![],
            vec![],
            true,
        )
    });
    let hosts = file.run.host.clone();
    file.run = facts.meta.run_info();
    if !file.workloads.is_empty() {
        file.run.host = hosts;
    }
    file.workloads.extend(replicated);
    file.interrupted |= info.failure.is_some();
    // The merge's own "different hardware" line is the fleet's hardware warning by host name:
    // keep the fleet's (by rank), once.
    if hardware_warning(&info.hosts).is_some() {
        file.warnings
            .retain(|w| !w.starts_with("the hosts have different (or unknown) hardware"));
    }
    file.warnings.extend(info.warnings.iter().cloned());
    file.fleet = Some(info);
    file
}

/// The replication phase: its windows, the leader's workloads (named as `segbench replicate`
/// names them, the placement saying which ranks led and followed) and each follower's figures
/// (a follower that failed or sent nothing is named with why).
fn replication(
    name: &str,
    rf: u32,
    c: &Coordinator<'_>,
    done: &[RankDone],
) -> (FleetPhase, Vec<results::WorkloadResult>, FleetReplication) {
    let windows: Vec<_> = done
        .iter()
        .filter(|d| d.rank < rf)
        .map(|d| d.window)
        .collect();
    let host = |r: u32| {
        c.members
            .members
            .get(&r)
            .map(|m| m.host.clone())
            .unwrap_or_default()
    };
    let placement = format!(
        "fleet: leader rank 0 ({}), followers ranks {}",
        host(0),
        (1..rf)
            .map(|r| format!("{r} ({})", host(r)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut workloads: Vec<results::WorkloadResult> = done
        .iter()
        .find(|d| d.rank == 0)
        .and_then(|d| d.result.as_ref())
        .map(|f| f.workloads.clone())
        .unwrap_or_default();
    for w in &mut workloads {
        w.config
            .insert("placement".into(), placement.clone().into());
    }
    let followers = (1..rf)
        .map(|r| {
            let d = done.iter().find(|d| d.rank == r);
            d.and_then(|d| d.follower.clone())
                .unwrap_or_else(|| ReplicaFollower {
                    rank: r,
                    error: Some(
                        d.and_then(|d| d.error.clone())
                            .unwrap_or_else(|| "no figures from this rank".into()),
                    ),
                    ..Default::default()
                })
        })
        .collect();
    let phase = FleetPhase::of_windows(name, windows);
    let r = FleetReplication {
        leader_rank: 0,
        rf,
        leader_addr: c.leader_addr(),
        followers,
    };
    (phase, workloads, r)
}

/// Writes the cluster file (results.json, summary.md, report.html); the hosts' own files were
/// written as they were gathered ([`Gathered::add`]).
pub fn write(dir: &Path, file: &ResultsFile) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| crate::bad_input(format!("--out {}: cannot create it: {e}", dir.display())))?;
    crate::output::write_outputs(file, dir)
}

/// A few lines for the terminal: hosts and clock offsets, each phase's cluster figures, the
/// network ring, the scaling series.
pub fn summary(file: &ResultsFile) -> String {
    let Some(f) = &file.fleet else {
        return String::new();
    };
    let mut s = format!(
        "fleet run {}: {} ranks ({}), rendezvous {}\n",
        file.run.id, f.size, f.launcher, f.coordinator
    );
    for h in &f.hosts {
        s.push_str(&format!(
            "  rank {} {} ({}): clock offset {:+.3} ms ± {:.3} ms\n",
            h.rank,
            h.host,
            h.addr,
            h.offset_ns as f64 / 1e6,
            h.uncertainty_ns as f64 / 1e6
        ));
    }
    for p in &f.phases {
        s.push_str(&format!(
            "{}: {} host{}, span {:.2} s, start skew {:.2} ms\n",
            p.name,
            p.ranks.len(),
            if p.ranks.len() == 1 { "" } else { "s" },
            p.span_s,
            p.start_skew_s * 1e3
        ));
        for w in &p.workloads {
            let per_host: Vec<String> = w.host_bytes_per_s.iter().map(|b| mb_per_s(*b)).collect();
            let skew = w
                .repetition_start_skew_s
                .map(|x| format!("{:.1} ms", x * 1e3))
                .unwrap_or_else(|| "not recorded".into());
            s.push_str(&format!(
                "  {}: aggregate {} (first-done {}), straggler {:.2}, repetition start skew {skew}; \
                 per host {}\n",
                w.name,
                mb_per_s(w.aggregate_bytes_per_s),
                mb_per_s(w.first_done_bytes_per_s),
                w.straggler_ratio,
                per_host.join(", ")
            ));
        }
    }
    for n in &f.network {
        let cpu = |x: Option<f64>| x.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into());
        s.push_str(&format!(
            "  network {} -> {} {}: {}, CPU s/GB sender {} sink {}, sender retransmits {}\n",
            n.from_rank,
            n.to_rank,
            n.engine,
            mb_per_s(n.throughput_bytes_per_s),
            cpu(n.sender_cpu_s_per_gb),
            cpu(n.sink_cpu_s_per_gb),
            n.sender_retransmits
                .map(|r| r.to_string())
                .unwrap_or_else(|| "-".into())
        ));
    }
    for r in &f.scaling {
        s.push_str(&format!(
            "  scaling {} on {} host{}: {}\n",
            r.workload,
            r.hosts,
            if r.hosts == 1 { "" } else { "s" },
            mb_per_s(r.aggregate_bytes_per_s)
        ));
    }
    if let Some(t) = results::export::cluster::replication_table(file, f) {
        s.push_str("replication:\n");
        s.push_str(&t.render_text(&results::table::TextLayout {
            gap: "  ",
            header: true,
            rule: None,
            pad_last: false,
        }));
    }
    for w in &f.warnings {
        s.push_str(&format!("  warning: {w}\n"));
    }
    if let Some(x) = &f.failure {
        s.push_str(&format!(
            "stopped: rank {} ({}): {}\n",
            x.rank.map(|r| r.to_string()).unwrap_or_else(|| "?".into()),
            x.host.as_deref().unwrap_or("unknown host"),
            x.reason
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_cannot_leave_the_results_directory() {
        assert_eq!(host_file_name(3, "node-a.lan"), "rank3-node-a.lan.json");
        assert_eq!(host_file_name(1, "../../etc/x"), "rank1-_.._etc_x.json");
        assert_eq!(host_file_name(2, "..x"), "rank2-x.json");
    }
}
