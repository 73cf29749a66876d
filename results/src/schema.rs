//! The results file: JSON, schema-versioned, written atomically ([`crate::io`]). Every field is
//! documented and carries its unit in its name (`_ns`, `_s`, `_bytes`, `_bytes_per_s`).
//!
//! The bottom of the crate: plain serde structs, with the hardware probe's in [`crate::probe`],
//! a fleet run's cluster view in [`crate::fleet_schema`] and a mixed workload's part
//! ([`MixedRole`], [`Interference`]) here; the summary of repetitions is computed by
//! [`crate::stats`] ([`WorkloadResult::with_repetitions`] lives there).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of this schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole results file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResultsFile {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// The tool that wrote it.
    pub tool: Tool,
    /// The invocation.
    pub run: RunInfo,
    /// The hardware probe (`segbench probe --json`), or null when not taken. Read leniently
    /// ([`crate::probe::Probe::from_json_lenient`]): a probe from another version never stops a
    /// results file from loading.
    #[serde(default, deserialize_with = "crate::probe::deserialize_optional")]
    pub probe: Option<crate::probe::Probe>,
    /// The baseline every workload is compared with.
    pub baseline: Baseline,
    /// One entry per workload and engine.
    pub workloads: Vec<WorkloadResult>,
    /// Warnings about the whole run (e.g. from the probe).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// True when the run was interrupted (signal or failure) and the results are partial.
    #[serde(default)]
    pub interrupted: bool,
    /// The cluster view when the file comes from `segbench fleet run` (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<crate::fleet_schema::FleetInfo>,
}

/// The tool that wrote a results file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    /// Always `segbench`.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// `git describe` of the build, when known.
    pub git: Option<String>,
}

/// The invocation behind a results file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    /// Unique id: start time and a random suffix, e.g. `20261124T101500Z-3f9a`.
    pub id: String,
    /// Start time, RFC 3339 UTC.
    pub start_time: String,
    /// Host name.
    pub host: String,
    /// The command line, one element per argument.
    pub command_line: Vec<String>,
}

/// A baseline cluster: `cluster_bytes_per_s` carried by `nodes` nodes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    /// Throughput of the whole baseline cluster, bytes/s.
    pub cluster_bytes_per_s: f64,
    /// Nodes in the baseline cluster.
    pub nodes: u32,
    /// `cluster_bytes_per_s / nodes`.
    pub per_node_bytes_per_s: f64,
    /// Where it comes from, e.g. `classic: ~20 MB/s for a 10-node cluster`.
    pub source: String,
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline {
            cluster_bytes_per_s: 20e6,
            nodes: 10,
            per_node_bytes_per_s: 2e6,
            source: "classic: ~20 MB/s for a 10-node cluster".to_string(),
        }
    }
}

/// Write or read.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Appends to a segment log.
    Write,
    /// Serves consumers from a segment log.
    Read,
}

/// How a workload ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Status {
    /// Every repetition ran.
    Completed,
    /// The engine cannot run here; nothing was measured.
    Skipped {
        /// Why, e.g. `io_uring is disabled (kernel.io_uring_disabled=2)`.
        reason: String,
    },
    /// The workload failed; the repetitions before the failure are kept.
    Failed {
        /// The error.
        error: String,
    },
    /// Stopped by a signal; the repetitions before it are kept.
    Interrupted,
}

/// What the bytes of a result went through: say when a number is the page cache, not the disk.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    /// Data reached the device before acknowledgement (O_DIRECT, flushes, or more than the dirty limit).
    Device,
    /// Data may have stayed in the page cache: a memory number, not a disk number.
    PageCache,
    /// No device involved (null engine, tmpfs).
    Memory,
    /// Reads served from the network path (read workloads).
    Network,
}

/// One workload (one engine on one configuration) and all its repetitions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkloadResult {
    /// Name, unique within the file, e.g. `write/uring:direct,qd=8`.
    pub name: String,
    /// Write or read.
    pub kind: Kind,
    /// The engine spec as given, e.g. `uring:direct,qd=8`.
    pub engine: String,
    /// Every option of the workload, as given on the command line or suite file.
    pub config: BTreeMap<String, serde_json::Value>,
    /// How it ended.
    pub status: Status,
    /// What the figures measure (device, page cache, memory).
    pub medium: Medium,
    /// Measured repetitions, in run order (warm-up excluded).
    pub repetitions: Vec<Repetition>,
    /// Median, min, max and 95% CI of the headline figures over the repetitions.
    pub summary: Option<Summary>,
    /// What might distort these figures.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The row's part in a mixed workload (with its siblings, or alone), if it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixed: Option<MixedRole>,
}

impl WorkloadResult {
    /// A workload's result as a runner or a merge starts it: its identity, how it ended and what
    /// its figures measure; no repetitions, summary or warnings yet (see
    /// [`WorkloadResult::with_repetitions`], in [`crate::stats`]).
    pub fn new(
        name: String,
        kind: Kind,
        engine: String,
        config: BTreeMap<String, serde_json::Value>,
        status: Status,
        medium: Medium,
    ) -> Self {
        WorkloadResult {
            name,
            kind,
            engine,
            config,
            status,
            medium,
            repetitions: Vec::new(),
            summary: None,
            warnings: Vec::new(),
            mixed: None,
        }
    }

    /// True when the workload has at least one measured repetition summarised.
    pub fn has_figures(&self) -> bool {
        !matches!(self.status, Status::Skipped { .. })
            && self
                .summary
                .as_ref()
                .is_some_and(|s| s.throughput_bytes_per_s.n > 0)
    }
}

/// One measured repetition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Repetition {
    /// 0-based index among the measured repetitions.
    pub index: u32,
    /// Payload bytes appended (write) or delivered to the socket (read).
    pub bytes: u64,
    /// Records in those bytes.
    pub records: u64,
    /// Batches (write) or fetches (read).
    pub batches: u64,
    /// Wall time of the measured interval, seconds.
    pub elapsed_s: f64,
    /// `bytes / elapsed_s`.
    pub throughput_bytes_per_s: f64,
    /// `records / elapsed_s`.
    pub records_per_s: f64,
    /// User CPU of the whole process over the interval, seconds.
    pub cpu_user_s: f64,
    /// System CPU of the whole process over the interval, seconds.
    pub cpu_sys_s: f64,
    /// `(cpu_user_s + cpu_sys_s) / (bytes / 1e9)`; null when no bytes moved.
    pub cpu_s_per_gb: Option<f64>,
    /// Bytes the engines reported putting on the device (more than `bytes` for O_DIRECT
    /// partial-block rewrites); null for read workloads.
    pub device_bytes: Option<u64>,
    /// Bytes the process caused to be sent to / fetched from storage (`/proc/self/io`
    /// write_bytes / read_bytes), when the kernel reports them.
    pub storage_io_bytes: Option<u64>,
    /// Latency per batch (write: submit to acknowledgement; read: one fetch).
    pub latency_ns: LatencySummary,
    /// Latency of each flush (sync call), when the policy flushes.
    pub flush_latency_ns: Option<LatencySummary>,
    /// Latency of each segment roll (close, index trim, retention, open), when a roll happened.
    pub roll_latency_ns: Option<LatencySummary>,
    /// Throughput over time.
    pub timeline: Timeline,
    /// Per-thread figures.
    pub threads: Vec<ThreadStats>,
    /// Voluntary + involuntary context switches of the process over the interval.
    pub context_switches: Option<u64>,
    /// Runner overhead: the runner's own time per op times the ops, as a share of elapsed time.
    pub harness_overhead_ratio: Option<f64>,
    /// Workload-specific figures (e.g. read: `sink_cpu_s`, `consumer_skew`), unit in the key.
    #[serde(default)]
    pub extra: BTreeMap<String, serde_json::Value>,
    /// The traffic each network interface carried over the interval, by the kernel's counters
    /// (all traffic, not only the workload's), when sampled (network workloads); absent from
    /// the file otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nic_traffic: Vec<crate::probe::NicTraffic>,
}

/// Percentiles of a latency distribution plus the whole histogram.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// Smallest value, ns.
    pub min: u64,
    /// Mean, ns.
    pub mean: f64,
    /// 50th percentile, ns.
    pub p50: u64,
    /// 90th percentile, ns.
    pub p90: u64,
    /// 99th percentile, ns.
    pub p99: u64,
    /// 99.9th percentile, ns.
    pub p999: u64,
    /// 99.99th percentile, ns.
    pub p9999: u64,
    /// Largest value, ns.
    pub max: u64,
    /// The whole histogram: HdrHistogram V2 compressed (DEFLATE) encoding, base64.
    pub hdr: String,
}

/// Bytes per fixed time interval over a repetition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Timeline {
    /// Interval length, seconds (0.1 by default).
    pub interval_s: f64,
    /// Bytes completed in each interval, from the start of the measured interval.
    pub bytes: Vec<u64>,
}

/// Figures of one runner thread.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ThreadStats {
    /// Thread index.
    pub index: u32,
    /// Bytes this thread moved.
    pub bytes: u64,
    /// User CPU of this thread, seconds.
    pub cpu_user_s: f64,
    /// System CPU of this thread, seconds.
    pub cpu_sys_s: f64,
}

/// Statistics of one figure over the repetitions.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct Stat {
    /// Number of repetitions.
    pub n: u32,
    /// Median.
    pub median: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Lower end of the 95% confidence interval of the median; null with fewer than 2 samples.
    pub ci95_low: Option<f64>,
    /// Upper end of the 95% confidence interval of the median.
    pub ci95_high: Option<f64>,
}

/// Headline figures over the repetitions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Summary {
    /// Throughput, bytes/s.
    pub throughput_bytes_per_s: Stat,
    /// Records per second.
    pub records_per_s: Stat,
    /// p50 latency, ns.
    pub p50_ns: Stat,
    /// p99 latency, ns.
    pub p99_ns: Stat,
    /// p99.9 latency, ns.
    pub p999_ns: Stat,
    /// CPU seconds per GB moved.
    pub cpu_s_per_gb: Option<Stat>,
    /// The latency histograms of all repetitions added together.
    pub latency_ns: LatencySummary,
}

/// ZooKeeper's `fsync.warningthresholdms` default: a flush slower than this is counted.
pub const SLOW_FLUSH_NS: u64 = 1_000_000_000;

/// What a row of a mixed workload is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MixedRole {
    /// The mixed workload's name (the suite workload or `mixed`).
    pub workload: String,
    /// The part's name, e.g. `produce`, `catch-up`, `snapshot`.
    pub part: String,
    /// What the part does: `write`, `read`, `snapshot` or `checkpoint`.
    pub part_kind: String,
    /// True for the part's "without" run (the part alone, or with only the mixed workload's
    /// background parts); false for the part measured with its siblings running beside it.
    pub alone: bool,
    /// On a "with" row, the parts that ran beside this one and not in its "alone" run, e.g.
    /// `["catch-up"]`; on an "alone" row, the background parts that still ran beside it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beside: Vec<String>,
    /// Where the part's files are relative to the workload's data directory (snapshot and
    /// checkpoint parts): `same directory`, `same device (st_dev …)`, `separate device (…)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<String>,
    /// The pairing of this part's "with" and "alone" figures (on the "with" row, once both ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interference: Option<Interference>,
}

/// One part's figures with its siblings running and alone (medians over the repetitions for
/// throughput; latencies from the histograms added over the repetitions).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Interference {
    /// The mixed workload.
    pub workload: String,
    /// The part.
    pub part: String,
    /// What the part does: `write`, `read`, `snapshot` or `checkpoint`.
    pub part_kind: String,
    /// The parts that ran beside it.
    pub beside: Vec<String>,
    /// Where the part's files were (see [`MixedRole::placement`]), when they are its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<String>,
    /// Latency with the others running (whole histogram).
    pub with_latency_ns: LatencySummary,
    /// Latency alone (whole histogram).
    pub alone_latency_ns: LatencySummary,
    /// `with p99 / alone p99`; `None` when the part had no latency alone.
    pub p99_ratio: Option<f64>,
    /// `with p99.9 / alone p99.9`.
    pub p999_ratio: Option<f64>,
    /// Median throughput with the others running, bytes/s.
    pub with_throughput_bytes_per_s: f64,
    /// Median throughput alone, bytes/s.
    pub alone_throughput_bytes_per_s: f64,
    /// `with / alone` throughput.
    pub throughput_ratio: Option<f64>,
    /// Flush (fsync) latency with the others running, when the part flushes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_flush_ns: Option<LatencySummary>,
    /// Flush latency alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alone_flush_ns: Option<LatencySummary>,
    /// Flushes over [`SLOW_FLUSH_NS`] with the others running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_slow_flushes: Option<u64>,
    /// Flushes over [`SLOW_FLUSH_NS`] alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alone_slow_flushes: Option<u64>,
    /// Segment roll latency with the others running (retention's deletions included), when
    /// the part rolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_roll_ns: Option<LatencySummary>,
    /// Segment roll latency alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alone_roll_ns: Option<LatencySummary>,
}
