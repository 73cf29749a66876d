//! The write runner: drives one write engine per partition from each runner thread, owns the
//! clock, the counters and the histograms, and turns one repetition into a
//! [`Repetition`](results::Repetition).
//!
//! Clock discipline: in the measured loop the clock is read once per append (the read that
//! ends one batch's latency starts the next batch's), plus once per flush or roll.
//!
//! Files: this one, what defines a write workload ([`WriteConfig`], [`Shape`]);
//! [`repetition`], one repetition ([`run_repetition`]): the partitions and engines set up, a
//! thread per runner thread, the results gathered; [`thread`], the measured loop of one runner
//! thread; [`assemble`], the threads' figures added up into a repetition; [`runs`], every
//! write workload of a run ([`run_writes`]).

pub mod assemble;
pub mod repetition;
pub mod runs;
pub mod thread;

use std::collections::BTreeMap;
use std::time::Duration;

use workloads::kafka::batch::{batch_len, records_per_batch};
use workloads::kafka::log::{check_segment_bytes, check_topic, LogFormat};
use workloads::{EngineSpec, FlushPolicy, SyncKind};

pub use assemble::RepMeasure;
pub use repetition::run_repetition;
pub use runs::{run_writes, RunOptions, WriteOutcome};

/// A flush slower than this is counted (ZooKeeper's `fsync.warningthresholdms` default).
pub use results::schema::SLOW_FLUSH_NS;

/// Record value bytes unless given (`--record-size`, `record_size`).
pub const DEFAULT_RECORD_SIZE: u64 = 1024;
/// Producer `batch.size` unless given, 16 KiB (Kafka's default).
pub const DEFAULT_BATCH_SIZE: u64 = 16 * 1024;
/// The largest batch (`--batch-size`, `batch_size`) accepted, 64 MiB: each partition holds one
/// (an io_uring queue `qd` of them) in memory, and Kafka's own limit (`message.max.bytes`) is
/// 1 MiB by default.
pub const MAX_BATCH_SIZE: usize = 64 << 20;
/// Segment size unless given, 1 GiB (Kafka's `log.segment.bytes`).
pub const DEFAULT_SEGMENT_SIZE: u64 = 1 << 30;
/// Bytes between sparse index entries unless given, 4 KiB (Kafka's `log.index.interval.bytes`).
pub const DEFAULT_INDEX_INTERVAL: u64 = 4096;

/// Bytes per repetition (all partitions) when neither a size nor a duration is given
/// (`segbench write`, `segbench replicate`).
pub const DEFAULT_SIZE: u64 = 256 << 20;

/// Everything that defines one write workload.
#[derive(Debug, Clone)]
pub struct WriteConfig {
    /// The engine and its options.
    pub engine: EngineSpec,
    /// Topic name used for partition directories (`<topic>-<partition>`).
    pub topic: String,
    /// Partitions (one log each).
    pub partitions: u32,
    /// Runner threads; partitions are dealt round-robin to them.
    pub threads: u32,
    /// Value bytes per record.
    pub record_size: usize,
    /// Batch size limit, bytes (Kafka producer `batch.size`); in raw format the block size.
    pub batch_size: usize,
    /// Roll a segment at this many bytes.
    pub segment_size: u64,
    /// Bytes between sparse index entries.
    pub index_interval: u64,
    /// Preallocate segments with fallocate.
    pub preallocate: bool,
    /// Retention per partition, bytes.
    pub retention: Option<u64>,
    /// Flush policy.
    pub flush: FlushPolicy,
    /// Sync call.
    pub sync: SyncKind,
    /// Kafka batches or raw blocks.
    pub format: LogFormat,
    /// Bytes to append per repetition (all partitions together).
    pub size: Option<u64>,
    /// Time per repetition.
    pub duration: Option<Duration>,
    /// Open-loop target rate for all partitions together, bytes/s.
    pub rate: Option<f64>,
}

impl WriteConfig {
    /// The exact bytes and records of each append, or a one-line error naming the bad value.
    pub fn shape(&self) -> Result<Shape, String> {
        if self.partitions == 0 {
            return Err("--partitions 0: need at least one partition".into());
        }
        if self.threads == 0 {
            return Err("--threads 0: need at least one thread".into());
        }
        check_topic(&self.topic).map_err(|r| format!("--topic '{}': {r}", self.topic))?;
        check_segment_bytes(self.segment_size, self.format)
            .map_err(|r| format!("--segment-size {}: {r}", self.segment_size))?;
        if self.size.is_none() && self.duration.is_none() {
            return Err(
                "neither --size nor --duration given: say how much to write, e.g. --size 1GiB"
                    .into(),
            );
        }
        if self.batch_size > MAX_BATCH_SIZE {
            return Err(format!(
                "--batch-size {}: at most {MAX_BATCH_SIZE} bytes (64 MiB); lower it",
                self.batch_size
            ));
        }
        let shape = match self.format {
            LogFormat::Kafka => {
                let records = records_per_batch(self.batch_size, self.record_size).ok_or_else(|| {
                    format!(
                        "--batch-size {} is smaller than one record of --record-size {} plus framing ({} bytes): raise --batch-size or lower --record-size",
                        self.batch_size,
                        self.record_size,
                        batch_len(1, self.record_size)
                    )
                })?;
                Shape {
                    records_per_batch: records,
                    batch_bytes: batch_len(records, self.record_size),
                }
            }
            LogFormat::Raw => Shape {
                records_per_batch: 1,
                batch_bytes: self.batch_size,
            },
        };
        if (shape.batch_bytes as u64) > self.segment_size {
            return Err(format!(
                "--segment-size {} is smaller than one batch ({} bytes): raise --segment-size or lower --batch-size",
                self.segment_size, shape.batch_bytes
            ));
        }
        if let Some(r) = self.retention {
            if r < self.segment_size {
                return Err(format!(
                    "--retention {r} is smaller than --segment-size {}: retention deletes whole segments; raise it",
                    self.segment_size
                ));
            }
        }
        Ok(shape)
    }

    /// Bytes one repetition holds on disk at most, known before it runs: its `size`, or with
    /// a retention what retention keeps (whole segments past it, per partition) when less; 0
    /// when only a duration bounds it.
    pub fn held_bytes(&self) -> u64 {
        let size = self.size.unwrap_or(0);
        match self.retention {
            Some(r) => size.min(
                r.saturating_add(self.segment_size)
                    .saturating_mul(u64::from(self.partitions)),
            ),
            None => size,
        }
    }

    /// Every option, for the results file.
    pub fn config_map(&self) -> BTreeMap<String, serde_json::Value> {
        use serde_json::json;
        let mut m = BTreeMap::new();
        m.insert("engine".into(), json!(self.engine.to_string()));
        m.insert("topic".into(), json!(self.topic));
        m.insert("partitions".into(), json!(self.partitions));
        m.insert("threads".into(), json!(self.threads));
        m.insert("record_size_bytes".into(), json!(self.record_size));
        m.insert("batch_size_bytes".into(), json!(self.batch_size));
        m.insert("segment_size_bytes".into(), json!(self.segment_size));
        m.insert("index_interval_bytes".into(), json!(self.index_interval));
        m.insert("preallocate".into(), json!(self.preallocate));
        m.insert("retention_bytes".into(), json!(self.retention));
        m.insert("flush".into(), json!(self.flush.to_string()));
        m.insert("sync".into(), json!(self.sync.to_string()));
        m.insert(
            "format".into(),
            json!(if self.format == LogFormat::Raw {
                "raw"
            } else {
                "kafka"
            }),
        );
        m.insert("size_bytes".into(), json!(self.size));
        m.insert(
            "duration_s".into(),
            json!(self.duration.map(|d| d.as_secs_f64())),
        );
        m.insert("rate_bytes_per_s".into(), json!(self.rate));
        m
    }

    fn effective_flush(&self) -> FlushPolicy {
        if self.sync == SyncKind::Dsync {
            FlushPolicy::Never
        } else {
            self.flush
        }
    }
}

/// The size of every append of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Records per batch.
    pub records_per_batch: u32,
    /// Bytes per batch, framing included.
    pub batch_bytes: usize,
}

#[cfg(test)]
mod tests;
