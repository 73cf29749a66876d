//! Kafka replication: a producer thread, a leader thread that appends each
//! batch to its partition logs through a write engine, and `rf − 1` follower threads that
//! long-poll the leader from their log end offset and append what they get through their own
//! write engine. The leader keeps the in-sync replica set (ISR) and the high watermark (HW)
//! as Kafka's `Partition` does ([`isr`]).
//!
//! Transport: each follower holds one TCP connection to the leader ([`wire`], the sink's
//! framing). A FETCH carries the follower's log end offsets; the leader answers each partition
//! that has data with a DATA frame whose payload is a whole-batch byte range of its segment
//! file (found through the leader's in-memory [`BatchMap`](workloads::kafka::reader::BatchMap)
//! of each segment), sent by a read engine (`--fetch-engine`: `sendfile` by default, or
//! `readwrite`, `splice`, `mmap`, `uring`) straight from the page cache to the socket, as
//! Kafka's `FileRecords.writeTo` does; the follower receives each batch into its write
//! engine's region and appends it — the bytes a follower appends are always bytes the leader
//! sent.
//!
//! Trust: a leader admits a follower only with the run's token in its [`wire::Join`]
//! (`SEGBENCH_FLEET_TOKEN` under `fleet run --replicate`, else `SEGBENCH_REPLICATION_TOKEN`,
//! else one the leader makes and prints; a fresh one in one process), read by
//! [`crate::auth::AUTH_DEADLINE`] while strangers wait in a bounded
//! [`crate::auth::WaitingRoom`] ([`serve::accept_followers`]). The leader refuses a FETCH
//! offset that is negative, past its log end or inside a batch, and a report whose bytes are
//! not what it sent or whose CPU is impossible ([`serve::check_report`]): the repetition
//! fails naming the follower. A follower refuses a [`wire::Start`] past the limits below
//! ([`wire::Start::check`]) and every batch whose CRC-32C, record count or offsets are wrong
//! ([`follower::check_batch`]), naming partition and offset, and exits 1. Either side stops
//! within 2 s of a signal whatever the other does.
//!
//! Placement: by default every role runs in this process, the followers as threads connected
//! over loopback TCP ([`run_repetition`]); with `segbench replicate --role leader --listen
//! ADDR` and `--role follower --leader ADDR` the leader (with the producer) and each follower
//! are separate processes, e.g. in a network-namespace pair or on two hosts ([`lead`] and
//! [`follower::run_session`]). The leader's clock is the only one any figure is read on.
//!
//! Files: this one, what defines a replication workload ([`ReplicaConfig`], [`Acks`]);
//! [`consumer`], the end-to-end consumer reading below the HW; [`flush`], the flush policy
//! on a replica's engine; [`lag`], follower lag sampled over time; [`segfiles`], reading
//! ranges of the leader's segments;
//! [`prewrite`], the log a `null`-engine leader serves, written before the clock starts;
//! [`isr`], the leader's replica state (LEOs, ISR, HW, events); [`leader`], the leader's
//! request loop; [`replica`], a replica's partition logs (the leader's and each follower's);
//! [`serve`], the leader's side of the follower connections (join, fetches); [`follower`], a
//! follower's side; [`wire`], the messages between them; [`producer`], the measured loop
//! (closed, or open at `--rate`);
//! [`repetition`], one repetition set up, run and drained; [`assemble`], its figures turned
//! into a [`Repetition`](results::Repetition).
//!
//! Each repetition's replication figures are a [`results::figures::ReplicationFigures`], kept
//! in `Repetition.extra` under its field names (schema version 1 unchanged); that struct's
//! fields document every figure.

pub mod assemble;
pub mod consumer;
pub mod flush;
pub mod follower;
pub mod isr;
pub mod lag;
pub mod leader;
pub mod prewrite;
pub mod producer;
pub mod repetition;
pub mod replica;
pub mod segfiles;
pub mod serve;
pub mod wire;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use workloads::kafka::batch::{batch_len, records_per_batch};
use workloads::{EngineSpec, FlushPolicy, SyncKind};

pub use repetition::{lead, run_repetition, Faults, RepOutcome};
pub use replica::LogLayout;

/// The environment variable a `--role leader` and its `--role follower`s take the run's token
/// from (when not launched by `fleet run --replicate`, whose token is `SEGBENCH_FLEET_TOKEN`).
pub const REPLICATION_TOKEN_ENV: &str = "SEGBENCH_REPLICATION_TOKEN";

/// The token a leader admits its followers with.
#[derive(Clone, PartialEq, Eq)]
pub struct RunToken {
    /// The token.
    pub value: String,
    /// True when the leader made it (none in the environment): it is printed for the followers.
    pub generated: bool,
}

impl fmt::Debug for RunToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunToken")
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

/// How the results name the default placement (every role in this process).
pub const PLACEMENT_IN_PROCESS: &str = "in-process, loopback TCP";
/// Kafka's `replica.fetch.max.bytes` default, per partition.
pub const DEFAULT_FETCH_MAX_BYTES: u64 = 1 << 20;
/// The largest `--replica-fetch-max-bytes`: a follower's engine region holds one fetch per
/// partition.
pub const MAX_FETCH_MAX_BYTES: u64 = 64 << 20;
/// The longest `--replica-fetch-wait-max-ms`.
pub const MAX_FETCH_WAIT_MAX: Duration = Duration::from_secs(30);
/// The most partitions a replication workload (and a leader's Start) may have.
pub const MAX_PARTITIONS: u32 = 4096;
/// The most memory a follower's engines may hold for fetches: partitions × one fetch.
pub const MAX_FETCH_REGIONS_BYTES: u64 = 4 << 30;
/// The largest segment (Kafka's `log.segment.bytes` is an int).
pub const MAX_SEGMENT_SIZE: u64 = i32::MAX as u64;
/// Kafka's `replica.fetch.min.bytes` default.
pub const DEFAULT_FETCH_MIN_BYTES: u64 = 1;
/// Kafka's `replica.fetch.wait.max.ms` default.
pub const DEFAULT_FETCH_WAIT_MAX: Duration = Duration::from_millis(500);
/// Kafka's `replica.lag.time.max.ms` default.
pub const DEFAULT_LAG_TIME_MAX: Duration = Duration::from_millis(30_000);
/// Kafka producer's `retry.backoff.ms` default: the pause after a refused produce.
pub const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// The producer's `acks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Acks {
    /// `acks=0`: acknowledged when sent.
    Zero,
    /// `acks=1`: acknowledged after the leader's append.
    One,
    /// `acks=all` (-1): acknowledged when the high watermark passes the batch.
    All,
}

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        })
    }
}

impl FromStr for Acks {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "0" => Ok(Acks::Zero),
            "1" => Ok(Acks::One),
            "all" | "-1" => Ok(Acks::All),
            other => Err(format!("'{other}': use 0, 1 or all")),
        }
    }
}

/// Everything that defines one replication workload (one acks mode).
#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    /// Replicas per partition, the leader included (`--rf`).
    pub rf: u32,
    /// The producer's acks.
    pub acks: Acks,
    /// Partitions (one log per replica each).
    pub partitions: u32,
    /// Value bytes per record.
    pub record_size: usize,
    /// Producer `batch.size`.
    pub batch_size: usize,
    /// Roll a segment at this many bytes (leader and followers alike).
    pub segment_size: u64,
    /// Bytes between sparse offset-index entries.
    pub index_interval: u64,
    /// Topic name (partition directories `<topic>-<p>`).
    pub topic: String,
    /// The leader's write engine.
    pub leader_engine: EngineSpec,
    /// Every follower's write engine.
    pub follower_engine: EngineSpec,
    /// The read engine the leader serves fetches with.
    pub fetch_engine: EngineSpec,
    /// `replica.fetch.max.bytes`, per partition.
    pub fetch_max_bytes: u64,
    /// `replica.fetch.min.bytes`: a fetch is held until this much is there (or the wait ends).
    pub fetch_min_bytes: u64,
    /// `replica.fetch.wait.max.ms`.
    pub fetch_wait_max: Duration,
    /// `replica.lag.time.max.ms`.
    pub lag_time_max: Duration,
    /// `min.insync.replicas`.
    pub min_insync: u32,
    /// Bytes to produce per repetition (all partitions).
    pub size: Option<u64>,
    /// Time per repetition.
    pub duration: Option<Duration>,
    /// Open-loop target rate, bytes/s (all partitions); `None`: closed loop.
    pub rate: Option<f64>,
    /// Flush policy of every replica's log (`write --flush`).
    pub flush: FlushPolicy,
    /// Sync call of the flushes (`write --sync`; dsync opens segments `O_DSYNC`).
    pub sync: SyncKind,
    /// Run the end-to-end consumer ([`consumer`]); without it there is no end-to-end latency.
    pub consumer: bool,
    /// Producer threads, each owning whole partitions ([`producer::ProducerPlan`]).
    pub producers: u32,
}

impl ReplicaConfig {
    /// Bytes of one batch, or a one-line error naming the bad option.
    pub fn check(&self) -> Result<Shape, String> {
        if self.rf < 1 {
            return Err(format!("--rf {}: need at least one replica", self.rf));
        }
        if self.min_insync < 1 || self.min_insync > self.rf {
            return Err(format!(
                "--min-insync-replicas {} with --rf {}: use 1..={}",
                self.min_insync, self.rf, self.rf
            ));
        }
        if self.partitions == 0 {
            return Err("--partitions 0: need at least one partition".into());
        }
        if self.partitions > MAX_PARTITIONS {
            return Err(format!(
                "--partitions {}: use at most {MAX_PARTITIONS}",
                self.partitions
            ));
        }
        if self.fetch_wait_max > MAX_FETCH_WAIT_MAX {
            return Err(format!(
                "--replica-fetch-wait-max-ms {}: use at most {} (a leader holds a fetch no longer)",
                self.fetch_wait_max.as_millis(),
                MAX_FETCH_WAIT_MAX.as_millis()
            ));
        }
        if self.segment_size > MAX_SEGMENT_SIZE {
            return Err(format!(
                "--segment-size {}: use at most {MAX_SEGMENT_SIZE} (2 GiB - 1, Kafka's largest log.segment.bytes)",
                self.segment_size
            ));
        }
        if self.producers == 0 || self.producers > self.partitions {
            return Err(format!(
                "--producers {} with --partitions {}: use 1..={} (each producer owns whole partitions)",
                self.producers, self.partitions, self.partitions
            ));
        }
        if self.leader_engine.name == "null" && self.size.is_none() {
            return Err("--leader-engine null needs --size: followers fetch from the leader's segment files, so that many bytes are written before the clock starts (null writes nothing during the run)".into());
        }
        let records = records_per_batch(self.batch_size, self.record_size).ok_or_else(|| {
            format!(
                "--batch-size {} is smaller than one record of --record-size {} plus framing ({} bytes)",
                self.batch_size,
                self.record_size,
                batch_len(1, self.record_size)
            )
        })?;
        let bytes = batch_len(records, self.record_size);
        if self.fetch_max_bytes < bytes as u64 {
            return Err(format!(
                "--replica-fetch-max-bytes {} is smaller than one batch ({bytes} bytes): raise it or lower --batch-size",
                self.fetch_max_bytes
            ));
        }
        if bytes as u64 > self.segment_size {
            return Err(format!(
                "--segment-size {} is smaller than one batch ({bytes} bytes)",
                self.segment_size
            ));
        }
        if self.fetch_max_bytes > MAX_FETCH_MAX_BYTES {
            return Err(format!(
                "--replica-fetch-max-bytes {}: use at most {} (64 MiB): each follower partition's engine holds one whole fetch",
                self.fetch_max_bytes, MAX_FETCH_MAX_BYTES
            ));
        }
        let regions = u64::from(self.partitions) * self.fetch_max_bytes;
        if regions > MAX_FETCH_REGIONS_BYTES {
            return Err(format!(
                "--partitions {} × --replica-fetch-max-bytes {} is {regions} bytes of fetch buffers per follower: keep it at most {MAX_FETCH_REGIONS_BYTES} (4 GiB)",
                self.partitions, self.fetch_max_bytes
            ));
        }
        if self.fetch_min_bytes == 0 {
            return Err("--replica-fetch-min-bytes 0: use at least 1 (Kafka's default)".into());
        }
        if self.size.is_none() && self.duration.is_none() {
            return Err("neither --size nor --duration given".into());
        }
        Ok(Shape {
            records_per_batch: records,
            batch_bytes: bytes,
        })
    }

    /// True when the leader's engine is `null`: the leader serves a log written before the
    /// clock starts ([`prewrite`]) and the producer sends no bytes, only which batch is next.
    pub fn prewritten(&self) -> bool {
        self.leader_engine.name == "null"
    }

    /// How every replica lays out its logs.
    pub fn layout(&self) -> LogLayout {
        LogLayout {
            partitions: self.partitions,
            topic: self.topic.clone(),
            segment_size: self.segment_size,
            index_interval: self.index_interval,
        }
    }

    /// Every option, for the results file.
    pub fn config_map(&self) -> std::collections::BTreeMap<String, serde_json::Value> {
        use serde_json::json;
        let mut m = std::collections::BTreeMap::new();
        m.insert("rf".into(), json!(self.rf));
        m.insert("acks".into(), json!(self.acks.to_string()));
        m.insert("partitions".into(), json!(self.partitions));
        m.insert("record_size_bytes".into(), json!(self.record_size));
        m.insert("batch_size_bytes".into(), json!(self.batch_size));
        m.insert("segment_size_bytes".into(), json!(self.segment_size));
        m.insert("index_interval_bytes".into(), json!(self.index_interval));
        m.insert("topic".into(), json!(self.topic));
        m.insert(
            "leader_engine".into(),
            json!(self.leader_engine.to_string()),
        );
        m.insert(
            "follower_engine".into(),
            json!(self.follower_engine.to_string()),
        );
        m.insert("fetch_engine".into(), json!(self.fetch_engine.to_string()));
        m.insert(
            "replica_fetch_max_bytes".into(),
            json!(self.fetch_max_bytes),
        );
        m.insert(
            "replica_fetch_min_bytes".into(),
            json!(self.fetch_min_bytes),
        );
        m.insert(
            "replica_fetch_wait_max_ms".into(),
            json!(self.fetch_wait_max.as_millis() as u64),
        );
        m.insert(
            "replica_lag_time_max_ms".into(),
            json!(self.lag_time_max.as_millis() as u64),
        );
        m.insert("min_insync_replicas".into(), json!(self.min_insync));
        m.insert("size_bytes".into(), json!(self.size));
        m.insert(
            "duration_s".into(),
            json!(self.duration.map(|d| d.as_secs_f64())),
        );
        m.insert("rate_bytes_per_s".into(), json!(self.rate));
        m.insert("flush".into(), json!(self.flush.to_string()));
        m.insert("sync".into(), json!(self.sync.to_string()));
        m.insert("e2e_consumer".into(), json!(self.consumer));
        m.insert("producers".into(), json!(self.producers));
        m.insert("placement".into(), json!(PLACEMENT_IN_PROCESS));
        m
    }
}

/// The size of every produced batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Records per batch.
    pub records_per_batch: u32,
    /// Bytes per batch, framing included.
    pub batch_bytes: usize,
}

#[cfg(test)]
mod tests;
