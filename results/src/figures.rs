//! Typed figures that a runner keeps in a repetition's `extra`, under the JSON names results
//! files have always used. A figure is one field of one struct: the runner fills the struct, the
//! analyses read the struct, and the compiler checks both sides. `extra` itself stays a map so
//! files written by earlier versions load unchanged, and so a user's own keys survive a merge.
//!
//! - [`ExtraFigures`]: the two conversions every figures struct shares (into `extra`, out of it).
//! - [`ReplicationFigures`]: one repetition of `segbench replicate` (or a suite workload of kind
//!   `replicate`), as `harness/replicate` writes it and `crate::replication` reads it.
//! - [`WriteFigures`]: one repetition of `segbench write` (retention, slow flushes).
//! - [`ReadFigures`]: one repetition of `segbench read` (the sink's side, the consumers'
//!   spread, the page cache before the run), as `harness/runner/read` writes it.
//! - [`MixedPartFigures`]: one repetition of a mixed workload's part (whose CPU it counts,
//!   when the parts were released, how many snapshots or checkpoints were written), as
//!   `harness/runner/mixed` writes it.
//!
//! - [`RowKind`]: what a row measures (write, read, replication, a mixed workload's part), by type.
//!
//! Reading is lenient: a figure an older file lacks is `None` (or empty) rather than an error,
//! and a file whose `extra` does not hold these figures at all reads as no figures.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::{Kind, LatencySummary, Repetition, WorkloadResult};

/// A struct of figures kept in [`Repetition::extra`], field names = JSON keys.
pub trait ExtraFigures: Serialize + DeserializeOwned {
    /// The key whose presence marks a repetition as holding these figures; `None` when every
    /// figure is optional and any repetition of the right kind reads (absent figures as `None`).
    const MARKER: Option<&'static str>;

    /// Puts every figure into `extra` under its JSON name (replacing what was there).
    fn insert_into(&self, extra: &mut BTreeMap<String, Value>) {
        // A struct of plain fields always serializes to an object.
        if let Ok(Value::Object(map)) = serde_json::to_value(self) {
            extra.extend(map);
        }
    }

    /// True when `rep` is marked as holding these figures (its [`Self::MARKER`] key), without
    /// reading them; always true for figures without a marker.
    fn held_by(rep: &Repetition) -> bool {
        match Self::MARKER {
            Some(m) => rep.extra.contains_key(m),
            None => true,
        }
    }

    /// The figures of `rep`, or `None` when it holds none of them (no [`Self::MARKER`] key) or
    /// holds them in a shape this version cannot read.
    fn of(rep: &Repetition) -> Option<Self> {
        if !Self::held_by(rep) {
            return None;
        }
        let map: serde_json::Map<String, Value> = rep
            .extra
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        serde_json::from_value(Value::Object(map)).ok()
    }
}

/// One ISR change: a follower left the in-sync replicas or rejoined them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IsrChangeKind {
    /// The follower fell out of the ISR.
    Shrink,
    /// The follower rejoined the ISR.
    Expand,
}

/// One ISR change of one repetition (`isr_events`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsrEventFigure {
    /// Seconds from the producer's start, leader's clock.
    pub at_s: f64,
    /// Partition.
    pub partition: u64,
    /// Follower, 1-based.
    pub follower: u64,
    /// Shrink or expand.
    pub change: IsrChangeKind,
}

/// The followers' lag, sampled every 100 ms (`follower_lag_timeline`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LagPoint {
    /// Seconds from the producer's start, leader's clock.
    pub at_s: f64,
    /// Per follower: the largest (leader LEO − follower LEO) over partitions, offsets.
    pub offsets: Vec<i64>,
    /// Per follower: how long it has been behind, ms.
    pub ms: Vec<f64>,
}

/// A follower whose connection was lost (`followers_lost`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LostFollower {
    /// Follower, 1-based.
    pub follower: u32,
    /// Why.
    pub reason: String,
}

/// The figures of one replication repetition. Times are on the leader's clock; a follower's
/// own figures (bytes, flushes, CPU) are durations and counts it reports, never a difference of
/// two hosts' clocks. Per-follower lists are in follower order; `None` in them marks a follower
/// that was lost before it reported.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplicationFigures {
    /// Replicas per partition, the leader included.
    pub replication_factor: u32,
    /// `min.insync.replicas`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_insync_replicas: Option<u32>,
    /// `0`, `1` or `all`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acks: Option<String>,
    /// Seconds from the producer's start until the last live follower's log reached the
    /// leader's end (leader's clock; null when one was still behind after the drain timeout).
    /// With acks=0 the followers go on after the producer stopped, so their write rate is their
    /// bytes over this time.
    pub followers_caught_up_s: Option<f64>,
    /// `--leader-engine null` only: the log written and synced before the clock started, which
    /// the leader served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_prewritten_bytes: Option<u64>,
    /// acks=all produces refused because |ISR| < min.insync.replicas.
    pub not_enough_replicas: u64,
    /// acks=all only: each produce's latency up to the leader's append (its acks=1 moment), in
    /// the same run — a whole histogram like `latency_ns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_append_latency_ns: Option<LatencySummary>,
    /// ISR shrinks.
    pub isr_shrinks: u64,
    /// ISR expands.
    pub isr_expands: u64,
    /// Every ISR change.
    pub isr_events: Vec<IsrEventFigure>,
    /// Largest (leader LEO − follower LEO) over partitions and followers when the producer
    /// stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follower_lag_end_offsets: Option<i64>,
    /// Largest such lag seen at any fetch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follower_lag_max_offsets: Option<i64>,
    /// The furthest follower's lag in time (since its LEO last reached the leader's), sampled
    /// every 10 ms on the leader's clock — a whole histogram.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follower_lag_time_ns: Option<LatencySummary>,
    /// Per follower: its largest lag in time, ns.
    pub follower_lag_time_max_ns: Vec<u64>,
    /// The lag every 100 ms.
    pub follower_lag_timeline: Vec<LagPoint>,
    /// With a flush policy: the followers' flushes (each timed on its own host, durations
    /// only), added up — a whole histogram; the leader's are the repetition's `flush_latency_ns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follower_flush_latency_ns: Option<LatencySummary>,
    /// Per follower: bytes it appended, by its own count (null for one whose connection was lost).
    pub follower_bytes: Vec<Option<u64>>,
    /// Per follower: fetches answered with data, by its own count (null when lost).
    pub follower_fetches: Vec<Option<u64>>,
    /// Per follower: the writes it made, one per partition frame of a fetch answer (null when lost).
    pub follower_appends: Vec<Option<u64>>,
    /// Per follower: bytes the leader sent it.
    pub follower_bytes_sent: Vec<u64>,
    /// Followers whose connection was lost.
    pub followers_lost: Vec<LostFollower>,
    /// Bytes the leader appended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_bytes: Option<u64>,
    /// HW updates that left the HW above an in-sync follower's LEO (must be 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high_watermark_violations: Option<u64>,
    /// The leader's CPU (its request loop and fetch serving), seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_cpu_s: Option<f64>,
    /// Per batch, produce start (intended start in open loop) → read by a consumer below the
    /// HW, on the leader's clock — a whole histogram; absent with `--no-consumer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e2e_latency_ns: Option<LatencySummary>,
    /// Bytes the end-to-end consumer read, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_bytes: Option<u64>,
    /// The end-to-end consumer's CPU, seconds, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_cpu_s: Option<f64>,
    /// The producer's CPU, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer_cpu_s: Option<f64>,
    /// The followers' CPU, as they reported it, summed, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follower_cpu_s: Option<f64>,
}

impl ExtraFigures for ReplicationFigures {
    const MARKER: Option<&'static str> = Some("replication_factor");
}

/// A CPU role of a replication run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicationRole {
    /// The producer.
    Producer,
    /// The leader (its serving threads included).
    Leader,
    /// The followers, summed.
    Follower,
    /// The end-to-end consumer.
    Consumer,
}

impl ReplicationRole {
    /// Every role, in report order.
    pub const ALL: [ReplicationRole; 4] = [
        ReplicationRole::Producer,
        ReplicationRole::Leader,
        ReplicationRole::Follower,
        ReplicationRole::Consumer,
    ];

    /// The role's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            ReplicationRole::Producer => "producer",
            ReplicationRole::Leader => "leader",
            ReplicationRole::Follower => "follower",
            ReplicationRole::Consumer => "consumer",
        }
    }
}

impl ReplicationFigures {
    /// The CPU seconds of `role`, when recorded.
    pub fn cpu_s(&self, role: ReplicationRole) -> Option<f64> {
        match role {
            ReplicationRole::Producer => self.producer_cpu_s,
            ReplicationRole::Leader => self.leader_cpu_s,
            ReplicationRole::Follower => self.follower_cpu_s,
            ReplicationRole::Consumer => self.consumer_cpu_s,
        }
    }

    /// Bytes every reporting follower appended, summed, and how many followers reported; `None`
    /// when the repetition has no per-follower bytes.
    pub fn followers_appended(&self) -> Option<(u64, usize)> {
        if self.follower_bytes.is_empty() {
            return None;
        }
        let reported: Vec<u64> = self.follower_bytes.iter().flatten().copied().collect();
        Some((reported.iter().sum(), reported.len()))
    }
}

/// The figures of one read repetition beyond the headline ones: the sink's side of the
/// connection, how the consumers shared the partitions, and what the page cache held before.
/// Every field is optional on reading, so a file from an earlier version (or a merged one that
/// kept only some) reads with the rest `None`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReadFigures {
    /// The sink's user CPU, seconds (its own count when remote).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sink_cpu_user_s: Option<f64>,
    /// The sink's system CPU, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sink_cpu_sys_s: Option<f64>,
    /// The sink's CPU seconds per GB delivered (null when nothing was delivered).
    pub sink_cpu_s_per_gb: Option<f64>,
    /// Bytes the sink received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sink_bytes: Option<u64>,
    /// CPU of the whole process (sender and in-process sink), seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_cpu_s: Option<f64>,
    /// CPU of the consumer threads alone, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_threads_cpu_s: Option<f64>,
    /// Bytes each consumer sent, per group (`[group][consumer]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub consumer_bytes: Vec<Vec<u64>>,
    /// Consumers of each group that got no partition (range assignor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_consumers: Option<u64>,
    /// The busiest consumer's bytes over the mean (1 = even; null when nothing moved).
    pub consumer_skew: Option<f64>,
    /// Independent consumer groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<u32>,
    /// Consumers per group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumers: Option<u32>,
    /// Kafka batches the consumers sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kafka_batches: Option<u64>,
    /// Whole passes over the log the slowest consumer made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_passes: Option<u32>,
    /// With `--verify`: batches the sink checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_batches: Option<u64>,
    /// With `--verify`: batches that failed the check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_errors: Option<u64>,
    /// Share of the log's pages resident before the repetition (mincore), 0..1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residency_before_ratio: Option<f64>,
}

impl ExtraFigures for ReadFigures {
    const MARKER: Option<&'static str> = None;
}

/// The figures of one write repetition beyond the headline ones.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WriteFigures {
    /// Segments deleted by retention (at the roll, so the roll latency includes them); absent
    /// when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments_deleted: Option<u64>,
    /// With a flush policy: flushes that took over 1000 ms (ZooKeeper warns past
    /// `fsync.warningthresholdms`, 1000 ms by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flushes_over_1000ms: Option<u64>,
}

impl ExtraFigures for WriteFigures {
    const MARKER: Option<&'static str> = None;
}

/// Whose CPU a mixed part's repetition counts (`cpu_scope`): its own threads'
/// (`RUSAGE_THREAD`), never the process's, which holds every part's. Serialized as the
/// sentence results files have always held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CpuScope {
    /// A write part: its runner threads.
    #[serde(rename = "the part's runner threads (RUSAGE_THREAD)")]
    RunnerThreads,
    /// A read part: its consumer threads; the sink's CPU is in [`ReadFigures`] (`sink_cpu_*`).
    #[serde(rename = "the part's consumer threads (RUSAGE_THREAD); the sink's is in sink_cpu_*")]
    ConsumerThreads,
    /// A periodic part (snapshot, checkpoint): its writer's thread.
    #[serde(rename = "the writer's thread (RUSAGE_THREAD)")]
    WriterThread,
}

/// The figures of one repetition of a mixed workload's part, beside those of its kind (a
/// write part's [`WriteFigures`], a read part's [`ReadFigures`]). Each is written by a
/// different step of the runner, so each is optional and absent (not null) when not set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MixedPartFigures {
    /// Whose CPU the repetition's `cpu_*` figures count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_scope: Option<CpuScope>,
    /// Seconds from the process's start to the start gate that released the parts run
    /// together (the same for every part of one run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mixed_start_offset_s: Option<f64>,
    /// A snapshot part: snapshots written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<u64>,
    /// A checkpoint part: checkpoints written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<u64>,
}

impl ExtraFigures for MixedPartFigures {
    const MARKER: Option<&'static str> = None;
}

/// What a row of a results file measures, told by its types rather than by its name: the
/// one place that says which rows are replication rows and which are a mixed workload's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// Plain appends to a segment log (`write`, a suite's write workload, a sweep point).
    Write,
    /// Consumers served from a segment log.
    Read,
    /// One acks mode of a replication run: its throughput is a produce rate, not a disk's.
    Replication,
    /// A part of a mixed workload (paced, or sharing the disk with its siblings).
    MixedPart,
}

impl RowKind {
    /// The kind of `w`. A replication row holds [`ReplicationFigures`]; one without
    /// repetitions (skipped, not run) is known by its configuration (`rf` and `acks`), and a
    /// file from before either by its `replicate/` name.
    pub fn of(w: &WorkloadResult) -> RowKind {
        let replication = || {
            w.repetitions.iter().any(ReplicationFigures::held_by)
                || (w.config.contains_key("rf") && w.config.contains_key("acks"))
                || w.name.starts_with("replicate/")
        };
        if w.mixed.is_some() {
            RowKind::MixedPart
        } else if replication() {
            RowKind::Replication
        } else {
            match w.kind {
                Kind::Write => RowKind::Write,
                Kind::Read => RowKind::Read,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::plain_repetition;

    #[test]
    fn figures_go_into_extra_under_their_json_names_and_come_back() {
        let mut rep = plain_repetition(0, 1e6, 1000, 1.0);
        let f = ReplicationFigures {
            replication_factor: 3,
            min_insync_replicas: Some(2),
            acks: Some("all".into()),
            isr_shrinks: 1,
            isr_events: vec![IsrEventFigure {
                at_s: 0.5,
                partition: 0,
                follower: 2,
                change: IsrChangeKind::Shrink,
            }],
            follower_bytes: vec![Some(10), None],
            leader_cpu_s: Some(0.25),
            ..ReplicationFigures::default()
        };
        f.insert_into(&mut rep.extra);
        assert_eq!(rep.extra["replication_factor"], 3);
        assert_eq!(rep.extra["isr_events"][0]["change"], "shrink");
        assert_eq!(rep.extra["follower_bytes"], serde_json::json!([10, null]));
        assert_eq!(rep.extra["followers_caught_up_s"], Value::Null);
        assert!(
            !rep.extra.contains_key("e2e_latency_ns"),
            "absent, not null"
        );
        assert_eq!(ReplicationFigures::of(&rep), Some(f.clone()));
        assert_eq!(f.followers_appended(), Some((10, 1)));
        assert_eq!(f.cpu_s(ReplicationRole::Leader), Some(0.25));
    }

    #[test]
    fn a_row_is_a_replication_row_by_its_figures_or_its_configuration() {
        let r = crate::testing::replication_results();
        let kinds: Vec<RowKind> = r.workloads.iter().map(RowKind::of).collect();
        assert_eq!(
            kinds,
            [RowKind::Write, RowKind::Replication, RowKind::Replication]
        );
        // Without repetitions (skipped), the configuration says it.
        let mut skipped = r.workloads[2].clone();
        skipped.repetitions.clear();
        skipped.name = "kafka-acks/acks=all".into();
        assert_eq!(RowKind::of(&skipped), RowKind::Replication);
        skipped.config.remove("rf");
        assert_eq!(RowKind::of(&skipped), RowKind::Write);
    }

    #[test]
    fn a_mixed_part_s_figures_keep_their_json_names_and_types() {
        let mut rep = plain_repetition(0, 1e6, 1000, 1.0);
        MixedPartFigures {
            snapshots: Some(3),
            ..MixedPartFigures::default()
        }
        .insert_into(&mut rep.extra);
        MixedPartFigures {
            cpu_scope: Some(CpuScope::WriterThread),
            mixed_start_offset_s: Some(0.25),
            ..MixedPartFigures::default()
        }
        .insert_into(&mut rep.extra);
        let keys: Vec<&str> = rep.extra.keys().map(String::as_str).collect();
        assert_eq!(keys, ["cpu_scope", "mixed_start_offset_s", "snapshots"]);
        assert_eq!(
            rep.extra["cpu_scope"],
            "the writer's thread (RUSAGE_THREAD)"
        );
        assert_eq!(rep.extra["snapshots"], serde_json::json!(3));
        let f = MixedPartFigures::of(&rep).unwrap();
        assert_eq!(
            (f.cpu_scope, f.snapshots, f.checkpoints),
            (Some(CpuScope::WriterThread), Some(3), None)
        );
        assert_eq!(f.mixed_start_offset_s, Some(0.25));
    }

    #[test]
    fn a_repetition_without_the_marker_has_no_figures_and_missing_figures_read_as_none() {
        let mut rep = plain_repetition(0, 1e6, 1000, 1.0);
        assert_eq!(ReplicationFigures::of(&rep), None);
        rep.extra
            .insert("replication_factor".into(), serde_json::json!(2));
        assert_eq!(ReadFigures::of(&rep), Some(ReadFigures::default()));
        let f = ReplicationFigures::of(&rep).unwrap();
        assert_eq!((f.replication_factor, f.leader_cpu_s), (2, None));
        assert_eq!(f.followers_appended(), None);
    }
}
