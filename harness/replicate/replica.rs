//! A replica's partition logs, the same on the leader and on each follower: the layout every
//! replica shares ([`LogLayout`]), one partition's log with its write engine ([`Replica`]:
//! whole batches appended, rolled at the segment size), where an appended batch is
//! ([`Booked`]), and the logs of one replica created ([`create_replicas`]). The leader's
//! request loop, its pre-written log and the follower append through these.

use std::path::Path;

use workloads::kafka::log::{LogConfig, PartitionLog};
use workloads::write::{self, Completion, FileTarget, Submitted, WriteEngine};
use workloads::{EngineError, EngineSpec};

use super::flush::FlushSetup;
use crate::runner::RunError;

/// Where a batch the leader appended (or, `--leader-engine null`, booked) is in its segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booked<'a> {
    /// The segment's base offset.
    pub segment_base: i64,
    /// The segment's `.log` file.
    pub path: &'a Path,
    /// The batch's byte position in it.
    pub position: u64,
}

/// One whole batch a follower received, as its header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchInfo {
    /// Bytes, framing included.
    pub len: usize,
    /// Records (at least 1).
    pub records: u32,
    /// Largest record timestamp, ms.
    pub max_timestamp_ms: i64,
}

/// One partition's log and engine on a replica (leader or follower).
pub struct Replica {
    /// The log's bookkeeping (offsets, indexes, segments).
    pub log: PartitionLog,
    /// The engine writing its `.log` files.
    pub engine: Box<dyn WriteEngine>,
}

impl Replica {
    /// Appends one whole encoded batch: rolls first when it would not fit the segment,
    /// copies it into the engine's region, waits for a queued append to complete.
    /// Returns the batch's position in the active segment.
    pub fn append(
        &mut self,
        batch: &[u8],
        records: u32,
        max_timestamp_ms: i64,
        segment_size: u64,
        done: &mut Vec<Completion>,
    ) -> Result<u64, EngineError> {
        let len = batch.len();
        self.roll_for(len, segment_size, done)?;
        let position = self.log.position();
        self.with_region(len, done, |buf| buf.copy_from_slice(batch))?;
        self.submit_all(len, done)?;
        self.log
            .record_append(len as u64, records, max_timestamp_ms)?;
        Ok(position)
    }

    /// Appends a run of whole batches as one write, as Kafka's follower appends a fetched
    /// partition's records in one call: rolls first when the first batch (`first_len` bytes)
    /// would not fit the segment, lets `fill` write up to `len` bytes into the engine's
    /// region and say which whole batches from the start it delivered, submits those and
    /// books each one. `fill`'s error comes back after what it delivered whole was appended,
    /// so the log never holds a byte `fill` did not deliver, nor a partial batch. Returns the
    /// bytes appended (also when it fails) and how it ended.
    pub fn append_run(
        &mut self,
        len: usize,
        first_len: usize,
        segment_size: u64,
        done: &mut Vec<Completion>,
        fill: impl FnOnce(&mut [u8]) -> (Vec<BatchInfo>, Result<(), EngineError>),
    ) -> (u64, Result<(), EngineError>) {
        let mut appended = 0u64;
        let run = || -> Result<(), EngineError> {
            self.roll_for(first_len, segment_size, done)?;
            let (batches, filled) = self.with_region(len, done, fill)?;
            let whole: usize = batches.iter().map(|b| b.len).sum();
            if whole > 0 {
                self.submit_all(whole.min(len), done)?;
                for b in &batches {
                    self.log
                        .record_append(b.len as u64, b.records, b.max_timestamp_ms)?;
                    appended += b.len as u64;
                }
            }
            filled
        };
        let r = run();
        (appended, r)
    }

    /// Rolls (engine closed, log rolled, engine opened on the new segment) when a `len`-byte
    /// append would not fit the active segment.
    fn roll_for(
        &mut self,
        len: usize,
        segment_size: u64,
        done: &mut Vec<Completion>,
    ) -> Result<(), EngineError> {
        if self.log.needs_roll(len as u64) {
            self.engine.close(done)?;
            self.log.roll()?;
            self.engine.open(&FileTarget {
                path: self.log.active_log_path(),
                capacity_bytes: segment_size,
                preallocate: false,
                dsync: false,
            })?;
        }
        Ok(())
    }

    /// Runs `f` on the engine's region for a `len`-byte append (reaping until one is free).
    fn with_region<R>(
        &mut self,
        len: usize,
        done: &mut Vec<Completion>,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> Result<R, EngineError> {
        let mut f = Some(f);
        loop {
            if let Some(buf) = self.engine.buffer(len)? {
                if let Some(f) = f.take() {
                    return Ok(f(buf));
                }
            }
            self.engine.reap(1, done)?;
        }
    }

    /// Submits `len` bytes of the region and waits for a queued append to complete.
    fn submit_all(&mut self, len: usize, done: &mut Vec<Completion>) -> Result<(), EngineError> {
        if self.engine.submit(len, 0, None)? == Submitted::Queued {
            while self.engine.in_flight() > 0 {
                self.engine.reap(1, done)?;
            }
        }
        done.clear();
        Ok(())
    }

    /// Completes and closes the active file and the log's indexes.
    pub fn close(&mut self, done: &mut Vec<Completion>) -> Result<(), EngineError> {
        self.engine.close(done)?;
        self.log.close()
    }
}

/// How every replica lays out its partition logs (the same on each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLayout {
    /// Partitions.
    pub partitions: u32,
    /// Topic (directories `<topic>-<p>`).
    pub topic: String,
    /// Segment roll size.
    pub segment_size: u64,
    /// Sparse index interval.
    pub index_interval: u64,
}

/// Creates the partition logs of one replica in `dir` (created if missing), each with its own
/// `spec` engine (flushing as `flush` says) open on its first segment.
pub fn create_replicas(
    layout: &LogLayout,
    dir: &Path,
    spec: &EngineSpec,
    batch_bytes: usize,
    flush: &FlushSetup,
) -> Result<Vec<Replica>, RunError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| RunError::Engine(EngineError::io("mkdir", dir, e, 0)))?;
    let log_cfg = LogConfig {
        segment_bytes: layout.segment_size,
        index_interval_bytes: layout.index_interval,
        ..LogConfig::default()
    };
    let mut out = Vec::new();
    for p in 0..layout.partitions {
        let log = PartitionLog::create(dir, &layout.topic, p, log_cfg.clone())?;
        let mut engine = flush.wrap(match write::build(spec, log.dir(), batch_bytes) {
            Ok(e) => e,
            Err(e) if e.is_unsupported() => return Err(RunError::Unsupported(e.to_string())),
            Err(e) => return Err(e.into()),
        });
        engine.open(&FileTarget {
            path: log.active_log_path(),
            capacity_bytes: layout.segment_size,
            preallocate: false,
            dsync: false,
        })?;
        out.push(Replica { log, engine });
    }
    Ok(out)
}
