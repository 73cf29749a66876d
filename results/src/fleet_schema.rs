//! The cluster view of a fleet run (`segbench fleet run`) as stored in a results file: the
//! optional `fleet` field of [`crate::ResultsFile`] ([`FleetInfo`]) and its rows, plain serde
//! structs like the rest of the schema. The aggregation that fills them is the `fleet`
//! analysis; this part of the bottom layer imports nothing.

use serde::{Deserialize, Serialize};

/// The cluster view of a fleet run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FleetInfo {
    /// Ranks (hosts) in the run.
    pub size: u32,
    /// What started the ranks and gave them their rank: `slurm`, `openmpi`, `mpich`,
    /// `kubernetes` or `flags`.
    pub launcher: String,
    /// The rendezvous address, HOST:PORT.
    pub coordinator: String,
    /// One row per rank, in rank order.
    pub hosts: Vec<FleetHost>,
    /// Every phase run, in order.
    pub phases: Vec<FleetPhase>,
    /// Network phase: one row per (sender, receiver, engine).
    #[serde(default)]
    pub network: Vec<NetworkRow>,
    /// Scaling phase: the aggregate of each workload on 1, 2, 4, … N hosts.
    #[serde(default)]
    pub scaling: Vec<ScalingRow>,
    /// What might distort the cluster figures (clock uncertainty, different hardware).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Why the run stopped early, when it did (the results are then partial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FleetFailure>,
    /// Replication phase (`--replicate`): who led and followed, each follower's own figures.
    /// The leader's workloads (`replicate/acks=…`, whole histograms) are in the results'
    /// workloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<FleetReplication>,
}

/// The replication phase of a fleet run: rank `leader_rank` ran `segbench replicate --role
/// leader`, each of `followers` a `--role follower` process on its own host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FleetReplication {
    /// The leading rank (0).
    pub leader_rank: u32,
    /// Replication factor, the leader included.
    pub rf: u32,
    /// Where the followers joined the leader, HOST:PORT.
    pub leader_addr: String,
    /// One row per following rank, in rank order.
    pub followers: Vec<ReplicaFollower>,
}

/// One following rank's own figures, summed over every repetition it replicated (its own
/// counters and CPU, on its own host).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ReplicaFollower {
    /// The rank.
    pub rank: u32,
    /// The follower number the leader gave it (1-based; index + 1 of the leader's per-follower
    /// figures), when it joined.
    pub follower: Option<u32>,
    /// Bytes it appended to its own log.
    pub bytes: u64,
    /// Fetches answered with data.
    pub fetches: u64,
    /// CPU seconds of its replication thread.
    pub cpu_s: f64,
    /// Repetitions it replicated to the end.
    pub repetitions: u32,
    /// Why it failed (exited non-zero, lost the leader, printed no summary), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One rank of a fleet run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FleetHost {
    /// Rank, 0-based.
    pub rank: u32,
    /// Host name.
    pub host: String,
    /// The address rank 0 saw the rank connect from.
    pub addr: String,
    /// The rank's realtime clock minus rank 0's, ns (minimum-RTT estimate).
    pub offset_ns: i64,
    /// Half the round trip of the exchange the offset comes from, ns: the offset is exact to
    /// within ± this.
    pub uncertainty_ns: u64,
    /// The hardware fingerprint of the rank's probe, when taken.
    pub fingerprint: Option<String>,
    /// File name of this rank's own results of the local phase, beside the cluster file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_file: Option<String>,
}

/// When one rank ran its part of a phase, in rank 0's realtime clock (ns since the Unix epoch).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct PhaseWindow {
    /// The rank.
    pub rank: u32,
    /// Start, ns since the epoch on rank 0's clock.
    pub start_ns: i64,
    /// End, ns since the epoch on rank 0's clock.
    pub end_ns: i64,
}

/// One phase across hosts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FleetPhase {
    /// `local`, `scaling/2`, `network/ring`.
    pub name: String,
    /// The ranks that took part.
    pub ranks: Vec<u32>,
    /// Each rank's window, in rank 0's clock.
    pub windows: Vec<PhaseWindow>,
    /// Last end − first start, seconds.
    pub span_s: f64,
    /// Latest start − earliest start, seconds (how well the start time held).
    pub start_skew_s: f64,
    /// Per workload: the cluster figures.
    #[serde(default)]
    pub workloads: Vec<WorkloadAggregate>,
    /// What weakens this phase's figures (hosts that did not run at once).
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl FleetPhase {
    /// A phase with no aggregate of its own (network, replicate): the ranks of `windows`, their
    /// span and start skew ([`span_and_skew`]), no workloads and no warnings.
    pub fn of_windows(name: &str, windows: Vec<PhaseWindow>) -> Self {
        let (span_s, start_skew_s) = span_and_skew(&windows);
        FleetPhase {
            name: name.to_string(),
            ranks: windows.iter().map(|w| w.rank).collect(),
            windows,
            span_s,
            start_skew_s,
            workloads: vec![],
            warnings: vec![],
        }
    }
}

/// One workload of a phase, added up over hosts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct WorkloadAggregate {
    /// Workload name.
    pub name: String,
    /// Hosts that ran it.
    pub hosts: u32,
    /// Bytes all hosts moved over all measured repetitions.
    pub bytes: u64,
    /// Median over repetitions of all hosts' bytes / the slowest host's interval (last-done).
    pub aggregate_bytes_per_s: f64,
    /// Median over repetitions of the bytes all hosts had moved when the first finished / that time.
    pub first_done_bytes_per_s: f64,
    /// Median over repetitions of the slowest host's throughput / the fastest host's.
    pub straggler_ratio: f64,
    /// Median over repetitions of the hosts' start skew, seconds; null when the hosts did not
    /// record their repetitions' starts (the figures then take the starts as equal).
    #[serde(default)]
    pub repetition_start_skew_s: Option<f64>,
    /// Each host's median throughput, bytes/s, in rank order.
    pub host_bytes_per_s: Vec<f64>,
}

/// One sender → receiver pair of the network phase.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct NetworkRow {
    /// Sending rank (its consumers read its log and send it).
    pub from_rank: u32,
    /// Receiving rank (its `segbench sink`).
    pub to_rank: u32,
    /// Read engine.
    pub engine: String,
    /// Median throughput, bytes/s.
    pub throughput_bytes_per_s: f64,
    /// Sender CPU seconds per GB (median), when measured.
    pub sender_cpu_s_per_gb: Option<f64>,
    /// Receiver (sink) CPU seconds per GB (median), when measured.
    pub sink_cpu_s_per_gb: Option<f64>,
    /// TCP segments the sender's host retransmitted while it sent (all its engines and
    /// repetitions; the kernel counts per host or network namespace), when reported.
    #[serde(default)]
    pub sender_retransmits: Option<u64>,
}

/// One point of the measured scaling series.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ScalingRow {
    /// Hosts that ran at once.
    pub hosts: u32,
    /// Workload name.
    pub workload: String,
    /// Their aggregate (last-done) throughput, bytes/s.
    pub aggregate_bytes_per_s: f64,
}

/// Why a fleet run stopped early.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FleetFailure {
    /// The rank that failed, vanished or asked to stop, when one did.
    pub rank: Option<u32>,
    /// Its host name, when known.
    pub host: Option<String>,
    /// What happened.
    pub reason: String,
}

/// The windows' span (last end − first start) and start skew, seconds.
pub fn span_and_skew(windows: &[PhaseWindow]) -> (f64, f64) {
    let first_start = windows.iter().map(|w| w.start_ns).min().unwrap_or(0);
    let last_start = windows.iter().map(|w| w.start_ns).max().unwrap_or(0);
    let last_end = windows.iter().map(|w| w.end_ns).max().unwrap_or(0);
    (
        (last_end - first_start).max(0) as f64 / 1e9,
        (last_start - first_start).max(0) as f64 / 1e9,
    )
}
