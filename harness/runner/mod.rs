//! The runner: warm-up, interleaved repetitions, live progress, and the assembly of finished
//! workloads. Engines only move bytes; everything here measures.
//!
//! - [`write`](mod@write): the write runner (configuration, one repetition, the measured loop, its
//!   figures, and the runs of every write workload);
//! - [`read`]: the read runner (configuration, the log, the consumers, their figures, and
//!   what `run` and `read` do around the runs);
//! - [`progress`], [`timeline`], [`usage`], [`storage`]: live progress, throughput time
//!   series, CPU and I/O counters, and what a storage result measures.
//!
//! This file holds what both runners share: a repetition's [`Limit`], the [`LiveCounters`]
//! progress reads, and why a repetition did not produce figures ([`RunError`]).

pub mod progress;
pub mod read;
pub mod storage;
pub mod timeline;
pub mod write;

use std::time::Duration;

/// Why a repetition did not produce figures.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The engine cannot run here: report a skip.
    #[error("{0}")]
    Unsupported(String),
    /// An engine or file-system error mid-run.
    #[error(transparent)]
    Engine(#[from] workloads::EngineError),
}

/// Limits of one repetition (a warm-up uses its own).
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Stop after this many bytes (all threads).
    pub bytes: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

/// Live counters a progress display may read while a repetition runs.
#[derive(Debug, Default)]
pub struct LiveCounters {
    /// Bytes acknowledged so far (all threads).
    pub bytes: std::sync::atomic::AtomicU64,
}
