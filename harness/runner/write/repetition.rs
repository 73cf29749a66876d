//! One write repetition: the partition logs and an engine per partition set up before the
//! clock starts, one thread per runner thread released together, their results gathered
//! and assembled into a [`RepMeasure`].

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use workloads::kafka::log::{LogConfig, PartitionLog};
use workloads::pacing::Clock;
use workloads::write::{self, Caps, FileTarget};
use workloads::{EngineError, SyncKind};

use crate::runner::{Limit, LiveCounters, RunError};
use crate::usage::{CpuSnapshot, StorageIo};

use super::assemble::{assemble, RepMeasure};
use super::thread::{run_thread, Part, ThreadCtx, ThreadResult};
use super::WriteConfig;

/// Every partition of a repetition, set up.
struct Partitions {
    /// Each runner thread's partitions (partition `p` to thread `p % threads`).
    per_thread: Vec<Vec<Part>>,
    /// The engine's capabilities.
    caps: Caps,
    /// Each partition's directory.
    partition_dirs: Vec<PathBuf>,
}

/// Sets up every partition (engine, log, first segment) before the clock starts: partition
/// `p` in `dirs[p % dirs.len()]` (not empty), written by thread `p % threads`.
fn set_up(
    cfg: &WriteConfig,
    dirs: &[PathBuf],
    batch_bytes: usize,
    threads: u32,
) -> Result<Partitions, RunError> {
    let log_cfg = LogConfig {
        segment_bytes: cfg.segment_size,
        index_interval_bytes: cfg.index_interval,
        retention_bytes: cfg.retention,
        format: cfg.format,
        ..LogConfig::default()
    };
    let mut per_thread: Vec<Vec<Part>> = (0..threads).map(|_| Vec::new()).collect();
    let mut caps = Caps::default();
    let mut partition_dirs = Vec::new();
    for p in 0..cfg.partitions {
        let dir = &dirs[p as usize % dirs.len()];
        let log = PartitionLog::create(dir, &cfg.topic, p, log_cfg.clone())?;
        partition_dirs.push(log.dir().to_path_buf());
        let mut engine = match write::build(&cfg.engine, log.dir(), batch_bytes) {
            Ok(e) => e,
            Err(e) if e.is_unsupported() => return Err(RunError::Unsupported(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        caps = engine.caps();
        engine.open(&FileTarget {
            path: log.active_log_path(),
            capacity_bytes: cfg.segment_size,
            preallocate: cfg.preallocate,
            dsync: cfg.sync == SyncKind::Dsync,
        })?;
        per_thread[(p % threads) as usize].push(Part {
            log,
            engine,
            in_flight: VecDeque::new(),
            unflushed: Vec::new(),
            bytes_since_flush: 0,
            last_flush_ns: 0,
        });
    }
    Ok(Partitions {
        per_thread,
        caps,
        partition_dirs,
    })
}

/// Runs one repetition of `cfg` in `dirs` (created by the caller, empty); partition `p` goes
/// to `dirs[p % dirs.len()]` (several data directories, as on several disks).
pub fn run_repetition(
    cfg: &WriteConfig,
    dirs: &[PathBuf],
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    limit: Limit,
    live: &LiveCounters,
) -> Result<RepMeasure, RunError> {
    let shape = cfg.shape().map_err(RunError::Unsupported)?;
    let threads = cfg.threads.min(cfg.partitions).max(1);
    let Some(first_dir) = dirs.first() else {
        return Err(RunError::Unsupported("no data directory".into()));
    };
    let Partitions {
        per_thread,
        caps,
        partition_dirs,
    } = set_up(cfg, dirs, shape.batch_bytes, threads)?;

    let barrier = Barrier::new(threads as usize + 1);
    type Outcomes = Vec<Result<ThreadResult, EngineError>>;
    let (cpu0, io0, outcomes): (CpuSnapshot, Option<StorageIo>, Outcomes) =
        std::thread::scope(|s| {
            let mut handles = Vec::new();
            for (t, parts) in per_thread.into_iter().enumerate() {
                let share = parts.len() as u64;
                let budget = limit
                    .bytes
                    .map(|b| (b * share).div_ceil(cfg.partitions as u64));
                let rate = cfg.rate.map(|r| r * share as f64 / cfg.partitions as f64);
                let clock = clock.clone();
                let barrier = &barrier;
                let ctx = ThreadCtx {
                    index: t as u32,
                    cfg,
                    shape,
                    budget,
                    duration: limit.duration,
                    rate,
                    stop,
                    live,
                    caps,
                };
                handles.push(s.spawn(move || {
                    barrier.wait();
                    run_thread(ctx, parts, clock.as_ref())
                }));
            }
            live.wait_start();
            let cpu0 = CpuSnapshot::process();
            let io0 = StorageIo::now();
            barrier.wait();
            let outcomes = handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(EngineError::Corrupt {
                            path: first_dir.clone(),
                            position: 0,
                            reason: "a runner thread panicked".into(),
                        })
                    })
                })
                .collect();
            (cpu0, io0, outcomes)
        });
    let cpu = CpuSnapshot::process().since(&cpu0);
    let io1 = StorageIo::now();

    let mut results = Vec::new();
    for o in outcomes {
        results.push(o?);
    }
    Ok(assemble(
        results,
        cpu,
        io0,
        io1,
        caps,
        partition_dirs,
        stop.load(Ordering::Relaxed),
    ))
}
