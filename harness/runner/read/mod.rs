//! The read runner: serves a segment log to consumers through one read engine per consumer
//! thread, owns the clock, the counters and the histograms, and turns one repetition into a
//! [`Repetition`].
//!
//! - **Data**: a [`LogSet`] is every partition of a log directory (segbench's or a real
//!   broker's), opened read-only and scanned once, before any clock starts, for the batch
//!   boundaries of every segment, so the measured loop does no I/O beyond the engine's.
//! - **Consumers**: `consumers` per group in `groups` independent groups (fan-out); each
//!   group's partitions are dealt by Kafka's range assignor (`workloads::kafka::range_assign`): per topic,
//!   partitions and consumers sorted, each consumer gets `P / C`, the first `P mod C` one more,
//!   the rest nothing (idle, reported with the skew). One thread and one TCP connection per
//!   active consumer.
//! - **Fetches**: round-robin over a consumer's partitions; each fetch is the largest run of
//!   whole batches of at most `fetch_size` bytes from the partition's position (at least one
//!   batch, as a broker's `minOneMessage`), within one segment; at a segment's end the next
//!   fetch starts at the next segment, as in Kafka. A truncated last batch (a live broker's)
//!   is never fetched.
//! - **Clock**: a fetch's latency runs from the runner's decision to fetch (the previous
//!   fetch's end) to the engine returning, frame header included: one clock read per fetch.
//!   A repetition runs from the moment every consumer is connected and released to the last
//!   consumer's session summary arriving from the sink (so the bytes were received, not only
//!   queued in socket buffers).
//! - **CPU**: the repetition's `cpu_*_s` are the sending side's: the process's CPU over the
//!   repetition (`RUSAGE_SELF`, so io_uring's kernel workers count) minus what the in-process
//!   sink's threads report for their sessions (`RUSAGE_THREAD`); with a remote sink, the
//!   process's CPU. The sink's CPU is in `extra` (`sink_cpu_*`), with the consumer threads'
//!   own (`consumer_threads_cpu_s`). On loopback the kernel's receive processing partly runs
//!
//! Files: [`config`] (what defines a read workload), [`logset`] (the log, scanned once; the
//! assignment; the cache state), [`consume`] (one repetition: the consumer threads and their
//! loop), [`assemble`] (the checks and the figures of a repetition, and what a result
//! measures), [`prepare`] (what `run` and `read` both do around the runs: write the log first,
//! check the engines, start the in-process sink, report skips); this file runs the
//! repetitions.

pub mod assemble;
pub mod config;
pub mod consume;
pub mod logset;
pub mod prepare;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use results::{Kind, Repetition, Status, WorkloadResult};
use serde_json::json;
use workloads::pacing::Clock;
use workloads::read::Caps;

use assemble::classify;
pub use config::{CacheMode, ReadConfig, SinkTarget, DEFAULT_FETCH_BYTES, MAX_FETCH_BYTES};
pub use consume::{run_repetition, ReadError, ReadMeasure};
pub use logset::{
    assign, prepare_cache, residency, Cursor, Fetch, LoadError, LogSet, PartitionData, Residency,
    SegmentData,
};

use super::progress::Progress;
use super::LiveCounters;

/// How long connecting to the sink may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest stall of any send to the sink (`SO_SNDTIMEO`, `TCP_USER_TIMEOUT`): a sink that
/// takes nothing for this long is gone.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Every read workload's results, plus what stopped the run.
#[derive(Debug)]
pub struct ReadOutcome {
    /// Results per configuration, in the order given.
    pub workloads: Vec<WorkloadResult>,
    /// Verification failures (the run worked but a check failed: exit 1).
    pub check_failures: Vec<String>,
    /// True when stopped early (signal, or the sink went away).
    pub interrupted: bool,
    /// The sink failed: the run stopped there, the results are partial.
    pub sink_failure: Option<String>,
}

/// Runs every read workload `repeat` times, interleaved (A B A B …), putting the cache in
/// the workload's state before each repetition. An engine this kernel cannot run is reported
/// as skipped; a sink failure stops the whole run.
pub fn run_reads(
    configs: &[ReadConfig],
    repeat: u32,
    log: &LogSet,
    sink: &SinkTarget,
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    progress: &Progress,
) -> ReadOutcome {
    let n = configs.len();
    let mut reps: Vec<Vec<Repetition>> = vec![Vec::new(); n];
    let mut status = vec![Status::Completed; n];
    let mut caps: Vec<Option<Caps>> = vec![None; n];
    let mut failures = Vec::new();
    let mut failed_checks = vec![0usize; n];
    let mut interrupted = false;
    let mut sink_failure = None;

    'outer: for rep in 0..repeat {
        for (w, cfg) in configs.iter().enumerate() {
            if !matches!(status[w], Status::Completed) {
                continue;
            }
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break 'outer;
            }
            let label = format!(
                "read {} {} rep {}/{}",
                cfg.engine,
                cfg.cache,
                rep + 1,
                repeat
            );
            let before = match prepare_cache(log, cfg.cache) {
                Ok(r) => r,
                Err(e) => {
                    progress.line(&format!("{label}: preparing the cache: {e}"));
                    status[w] = Status::Failed {
                        error: format!("preparing the {} cache: {e}", cfg.cache),
                    };
                    continue;
                }
            };
            let live = LiveCounters::default();
            let expected = cfg
                .duration
                .is_none()
                .then(|| log.bytes * u64::from(cfg.groups));
            let r = progress.track(&label, expected, cfg.duration, &live, || {
                run_repetition(cfg, log, sink, clock.clone(), stop, &live)
            });
            match r {
                Ok(mut m) => {
                    m.repetition.index = rep;
                    m.repetition
                        .extra
                        .insert("residency_before_ratio".into(), json!(before.ratio()));
                    progress.done(&label, &m.repetition);
                    failed_checks[w] += m.check_failures.len();
                    failures.extend(
                        m.check_failures
                            .iter()
                            .map(|f| format!("{}: {f}", cfg.name())),
                    );
                    caps[w] = Some(m.caps);
                    if m.interrupted {
                        interrupted = true;
                        status[w] = Status::Interrupted;
                    }
                    reps[w].push(m.repetition);
                }
                Err(ReadError::Unsupported(reason)) => {
                    progress.line(&format!("{label}: skipped: {reason}"));
                    status[w] = Status::Skipped { reason };
                }
                Err(ReadError::Sink(msg)) => {
                    progress.line(&format!("{label}: {msg}"));
                    status[w] = Status::Failed { error: msg.clone() };
                    sink_failure = Some(msg);
                    interrupted = true;
                    break 'outer;
                }
                Err(e) => {
                    progress.line(&format!("{label}: {e}"));
                    status[w] = Status::Failed {
                        error: e.to_string(),
                    };
                }
            }
        }
    }

    let workloads = configs
        .iter()
        .enumerate()
        .map(|(w, cfg)| {
            let reps = std::mem::take(&mut reps[w]);
            let (medium, mut warnings) = classify(cfg, &reps);
            if let Status::Skipped { reason } = &status[w] {
                warnings.push(format!("skipped: {reason}"));
            }
            if failed_checks[w] > 0 {
                warnings.push(format!(
                    "verification failed ({} problems): the delivered bytes do not match a valid log; see the error message",
                    failed_checks[w]
                ));
            }
            WorkloadResult {
                name: cfg.name(),
                kind: Kind::Read,
                engine: cfg.engine.to_string(),
                config: cfg.config_map(log, sink, caps[w].as_ref()),
                status: status[w].clone(),
                medium,
                summary: results::stats::summarize(&reps),
                repetitions: reps,
                warnings,
            }
        })
        .collect();
    ReadOutcome {
        workloads,
        check_failures: failures,
        interrupted,
        sink_failure,
    }
}

#[cfg(test)]
mod tests;
