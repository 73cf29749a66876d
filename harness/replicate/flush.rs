//! Flush policy and sync on a replica's log, as `segbench write --flush/--sync` apply them: a
//! [`FlushingEngine`] wraps a replica's write engine and, after each append, flushes when the
//! policy says so (every batch, every N bytes, every N ms) with the sync call; `--sync dsync`
//! opens every segment `O_DSYNC` instead. The leader acknowledges (acks=1) and a follower
//! fetches again only after its append returned, so a flush is inside both, as in Kafka with
//! `log.flush.interval.*` set. Each flush is timed on the run's clock.

use std::sync::{Arc, Mutex};

use results::hist::{self, Hist};
use workloads::pacing::Clock;
use workloads::write::{Caps, Completion, FileTarget, Submitted, WriteEngine};
use workloads::{EngineError, FlushPolicy, SyncKind};

/// Flush latencies of one role (all its partitions), shared with the repetition.
pub type FlushTimes = Arc<Mutex<Hist>>;

/// One replica's flush setup: the policy and sync call, the clock its flushes are timed on
/// (the replica's own host's) and where the times go.
#[derive(Clone)]
pub struct FlushSetup {
    /// When to flush.
    pub policy: FlushPolicy,
    /// How.
    pub sync: SyncKind,
    /// The clock flushes are timed on.
    pub clock: Arc<dyn Clock>,
    /// Every flush's latency, all partitions of the replica.
    pub times: FlushTimes,
}

impl FlushSetup {
    /// A setup with an empty record of flush times.
    pub fn new(policy: FlushPolicy, sync: SyncKind, clock: Arc<dyn Clock>) -> Self {
        FlushSetup {
            policy,
            sync,
            clock,
            times: Arc::new(Mutex::new(hist::new_hist())),
        }
    }

    /// `engine` wrapped in a [`FlushingEngine`] when the policy ever flushes or the sync is
    /// dsync; else `engine` itself.
    pub fn wrap(&self, engine: Box<dyn WriteEngine>) -> Box<dyn WriteEngine> {
        if self.policy.flushes() || self.sync == SyncKind::Dsync {
            Box::new(FlushingEngine::new(
                engine,
                self.policy,
                self.sync,
                self.clock.clone(),
                self.times.clone(),
            ))
        } else {
            engine
        }
    }

    /// The flush times so far (empty when nothing was flushed).
    pub fn times(&self) -> Hist {
        self.times.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A write engine that flushes by a policy after each append.
pub struct FlushingEngine {
    inner: Box<dyn WriteEngine>,
    policy: FlushPolicy,
    sync: SyncKind,
    bytes_since: u64,
    last_flush_ns: u64,
    clock: Arc<dyn Clock>,
    times: FlushTimes,
    done: Vec<Completion>,
}

impl FlushingEngine {
    /// Wraps `inner`; with `sync` dsync the policy is ignored (every write is durable).
    pub fn new(
        inner: Box<dyn WriteEngine>,
        policy: FlushPolicy,
        sync: SyncKind,
        clock: Arc<dyn Clock>,
        times: FlushTimes,
    ) -> Self {
        let policy = if sync == SyncKind::Dsync {
            FlushPolicy::Never
        } else {
            policy
        };
        let last_flush_ns = clock.now_ns();
        FlushingEngine {
            inner,
            policy,
            sync,
            bytes_since: 0,
            last_flush_ns,
            clock,
            times,
            done: Vec::new(),
        }
    }

    /// Flushes and times it; completions of queued appends land in `done`.
    fn timed_flush(&mut self, done: &mut Vec<Completion>) -> Result<(), EngineError> {
        let t0 = self.clock.now_ns();
        self.inner.flush(self.sync, done)?;
        let t1 = self.clock.now_ns();
        hist::record(
            &mut self.times.lock().unwrap_or_else(|e| e.into_inner()),
            t1 - t0,
        );
        self.bytes_since = 0;
        self.last_flush_ns = t1;
        Ok(())
    }
}

impl WriteEngine for FlushingEngine {
    fn caps(&self) -> Caps {
        self.inner.caps()
    }

    fn open(&mut self, target: &FileTarget<'_>) -> Result<(), EngineError> {
        self.inner.open(&FileTarget {
            dsync: target.dsync || self.sync == SyncKind::Dsync,
            ..*target
        })
    }

    fn buffer(&mut self, len: usize) -> Result<Option<&mut [u8]>, EngineError> {
        self.inner.buffer(len)
    }

    /// Appends, then flushes when the policy is due. A flush completes every queued append
    /// first, so the answer is then `Completed` (the replicas wait for each append anyway).
    fn submit(
        &mut self,
        len: usize,
        token: u64,
        linked_sync: Option<SyncKind>,
    ) -> Result<Submitted, EngineError> {
        let submitted = self.inner.submit(len, token, linked_sync)?;
        self.bytes_since += len as u64;
        let due = match self.policy {
            FlushPolicy::Never => false,
            FlushPolicy::Batch => true,
            FlushPolicy::Bytes(n) => self.bytes_since >= n,
            FlushPolicy::Millis(ms) => {
                self.clock.now_ns().saturating_sub(self.last_flush_ns) >= ms * 1_000_000
            }
        };
        if !due {
            return Ok(submitted);
        }
        let mut done = std::mem::take(&mut self.done);
        done.clear();
        let r = self.timed_flush(&mut done);
        let device_bytes = done.iter().map(|c| c.device_bytes).sum();
        self.done = done;
        r?;
        Ok(match submitted {
            Submitted::Queued => Submitted::Completed { device_bytes },
            s => s,
        })
    }

    fn reap(&mut self, min: usize, done: &mut Vec<Completion>) -> Result<(), EngineError> {
        self.inner.reap(min, done)
    }

    fn in_flight(&self) -> usize {
        self.inner.in_flight()
    }

    fn flush(&mut self, sync: SyncKind, done: &mut Vec<Completion>) -> Result<(), EngineError> {
        self.inner.flush(sync, done)
    }

    /// Flushes what the policy still owes, then closes.
    fn close(&mut self, done: &mut Vec<Completion>) -> Result<(), EngineError> {
        if self.policy.flushes() && self.bytes_since > 0 {
            self.timed_flush(done)?;
        }
        self.inner.close(done)
    }
}
