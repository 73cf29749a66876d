//! How `segbench run` executes a suite's workloads, one kind at a time: a suite workload
//! turned into write or read configurations (one per engine and sweep point), `best` resolved,
//! the log for read workloads written once and reused, replicate and mixed workloads handed to
//! their commands, and rows for what a stopped run never started.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use results::{Kind, Status, WorkloadResult};
use workloads::pacing::Clock;

use crate::bad_input;
use crate::datadir::DataDir;
use crate::fleet::sync::SyncClient;
use crate::runner::progress::Progress;
use crate::runner::read::prepare as read_prep;
use crate::runner::read::LogSet;
use crate::runner::write::{run_writes, RunOptions};
use crate::runner::RepSync;
use crate::suite::config::{read_configs, write_config};
use crate::suite::{self, ReadSpec, Suite, WorkloadSpec, WriteSpec};

/// What every workload of the run shares: where data goes, the clock, the stop flag, the
/// progress line and a fleet rank's barrier.
pub(super) struct Env<'a> {
    /// The data directories (`--dir`); the first also holds the read log and replicate data.
    pub data: &'a [DataDir],
    /// Where mixed workloads write snapshots and checkpoints (`--snap-dir`).
    pub snap: Option<&'a DataDir>,
    /// The run's clock.
    pub clock: Arc<dyn Clock>,
    /// Set by a signal: stop after the current repetition.
    pub stop: &'a AtomicBool,
    /// Progress on stderr.
    pub progress: &'a Progress,
    /// A fleet rank's barrier client (`--fleet-sync`).
    pub sync: Option<&'a SyncClient>,
    /// The same barrier as the runners take it.
    pub rep_sync: Option<Arc<dyn RepSync>>,
    /// Keep the data written (`--keep`).
    pub keep: bool,
}

/// What the suite's workloads produced.
#[derive(Default)]
pub(super) struct Outcome {
    /// One row per engine and sweep point (and "not run" rows after a stop).
    pub done: Vec<WorkloadResult>,
    /// Verification failures (the run worked but a check failed: exit 1).
    pub failures: Vec<String>,
    /// A signal or a failed fleet barrier stopped the run early.
    pub interrupted: bool,
}

/// Runs the suite's workloads in order; after a stop, adds "not run" rows for the rest.
pub(super) fn run_workloads(suite: &Suite, env: &Env) -> anyhow::Result<Outcome> {
    let default_repeat = suite.repeat.unwrap_or(3);
    let warmup = suite::warmup(suite);
    let mut out = Outcome::default();
    let mut read_log: Option<ReadLog> = None;
    let mut write_workloads = 0;
    for w in &suite.workloads {
        let barrier_failed = env.sync.is_some_and(|s| s.failure().is_some());
        if env.stop.load(Ordering::Relaxed) || barrier_failed {
            out.interrupted = true;
            break;
        }
        let mut opts = RunOptions {
            repeat: w.repeat().unwrap_or(default_repeat),
            warmup,
            keep: env.keep,
            verify: w.verify(),
            first_workload: write_workloads,
            sync: env.rep_sync.clone(),
            until_steady: suite::until_steady(w),
        };
        match w {
            WorkloadSpec::Write(w) => {
                run_write_workload(w, &mut opts, &mut write_workloads, env, &mut out)?
            }
            WorkloadSpec::Read(w) => {
                let (mut rs, f, i) = run_read_workload(w, opts.repeat, &mut read_log, env)?;
                out.done.append(&mut rs);
                out.failures.extend(f);
                out.interrupted |= i;
            }
            WorkloadSpec::Replicate(w) => {
                use crate::commands::replicate::run_suite_workload;
                use crate::runner::replicate::ModesRun;
                let run = ModesRun {
                    repeat: opts.repeat,
                    data: &env.data[0],
                    prefix: "",
                    keep: env.keep,
                    clock: env.clock.clone(),
                    stop: env.stop,
                    progress: env.progress,
                };
                let (rows, stopped) = run_suite_workload(w, &run)?;
                out.done.extend(rows);
                out.interrupted |= stopped;
            }
            WorkloadSpec::Mixed(w) => {
                opts.first_workload = out.done.len();
                let o = crate::commands::mixed::run_in_suite(
                    w,
                    &opts,
                    env.data,
                    env.snap,
                    env.clock.clone(),
                    env.stop,
                    env.progress,
                )?;
                out.failures.extend(o.check_failures);
                out.interrupted |= o.interrupted;
                out.done.extend(o.workloads);
            }
        }
    }
    if out.interrupted {
        let missing = not_run(suite, &out.done);
        out.done.extend(missing);
    }
    Ok(out)
}

/// Runs write workload `w` at each sweep point, its engines (`best` resolved) side by side;
/// `write_workloads` counts the run's write workloads so far (it names their directories).
fn run_write_workload(
    w: &WriteSpec,
    opts: &mut RunOptions,
    write_workloads: &mut usize,
    env: &Env,
    out: &mut Outcome,
) -> anyhow::Result<()> {
    let mut engines = Vec::new();
    for e in &w.engines {
        if e == "best" {
            let mine = best_write_engine(&out.done);
            let best = match env.sync {
                Some(s) => s.agreed_best(mine, env.stop, env.progress),
                None => mine,
            };
            match best {
                Some(b) => engines.push(b),
                None => env.progress.line(&format!(
                    "{}: no completed write engine to take as 'best'; skipped",
                    w.name
                )),
            }
        } else {
            engines.push(e.clone());
        }
    }
    for point in suite::sweep_points(w.sweep.as_ref()) {
        let mut cfgs = Vec::new();
        for e in &engines {
            cfgs.push(
                write_config(w, e, &point)
                    .map_err(|m| bad_input(format!("workload '{}': {m}", w.name)))?,
            );
        }
        if env.sync.is_some_and(|s| s.failure().is_some()) {
            break;
        }
        opts.first_workload = *write_workloads;
        *write_workloads += cfgs.len();
        let outcome = run_writes(
            &cfgs,
            opts,
            env.data,
            env.clock.clone(),
            env.stop,
            env.progress,
        );
        out.failures.extend(outcome.check_failures);
        out.interrupted |= outcome.interrupted;
        out.done.extend(
            outcome
                .workloads
                .into_iter()
                .map(|r| in_suite(r, &w.name, &point)),
        );
    }
    Ok(())
}

/// The fastest completed write engine so far (device figures preferred over page-cache ones).
pub fn best_write_engine(done: &[WorkloadResult]) -> Option<String> {
    let median = |w: &WorkloadResult| {
        w.summary
            .as_ref()
            .map(|s| s.throughput_bytes_per_s.median)
            .unwrap_or(0.0)
    };
    let completed: Vec<&WorkloadResult> = done
        .iter()
        .filter(|w| {
            w.kind == Kind::Write
                && w.mixed.is_none()
                && w.status == Status::Completed
                && !w.config.contains_key("sweep")
                && !results::replication::is_replication(w)
        })
        .collect();
    let device: Vec<&&WorkloadResult> = completed
        .iter()
        .filter(|w| w.medium == results::Medium::Device)
        .collect();
    let pool: Vec<&WorkloadResult> = if device.is_empty() {
        completed
    } else {
        device.into_iter().copied().collect()
    };
    pool.into_iter()
        .max_by(|a, b| median(a).total_cmp(&median(b)))
        .map(|w| w.engine.clone())
}

/// A log written for read workloads, reused while size and partitions stay the same.
struct ReadLog {
    size: u64,
    partitions: u32,
    dir: PathBuf,
}

/// Runs read workload `w` at each sweep point over a log of its size and partitions, written
/// into the first data directory unless the previous read workload's (`log_cache`) fits.
fn run_read_workload(
    w: &ReadSpec,
    repeat: u32,
    log_cache: &mut Option<ReadLog>,
    env: &Env,
) -> anyhow::Result<(Vec<WorkloadResult>, Vec<String>, bool)> {
    let (data, stop, progress) = (env.data, env.stop, env.progress);
    let size = w
        .size
        .as_deref()
        .map(workloads::units::parse_size)
        .transpose()
        .map_err(|e| bad_input(e.0))?
        .unwrap_or(read_prep::DEFAULT_SIZE);
    let partitions = w.partitions.unwrap_or(read_prep::DEFAULT_PARTITIONS);
    let reuse = log_cache
        .as_ref()
        .is_some_and(|l| l.size == size && l.partitions == partitions);
    if !reuse {
        if log_cache.take().is_some() {
            data[0].remove_child("read-log");
        }
        let dir = read_prep::write_log(
            &data[0],
            size,
            partitions,
            read_prep::DEFAULT_SEGMENT_SIZE,
            stop,
            progress,
        )?;
        *log_cache = Some(ReadLog {
            size,
            partitions,
            dir,
        });
    }
    let Some(cached) = log_cache.as_ref() else {
        return Ok((Vec::new(), Vec::new(), false));
    };
    let log =
        LogSet::open(std::slice::from_ref(&cached.dir)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = Vec::new();
    let mut failures = Vec::new();
    let mut interrupted = false;
    for point in suite::sweep_points(w.sweep.as_ref()) {
        let cfgs = read_configs(w, &point)
            .map_err(|m| bad_input(format!("workload '{}': {m}", w.name)))?;
        let skips = read_prep::precheck(&cfgs)?;
        let runnable = read_prep::runnable(&cfgs, &skips);
        let sessions = cfgs
            .iter()
            .map(|c| (c.groups * c.consumers) as usize)
            .max()
            .unwrap_or(1)
            + 8;
        let (sink, target) = read_prep::local_sink(sessions)?;
        let outcome = crate::runner::read::run_reads(
            &runnable,
            repeat,
            &log,
            &target,
            env.clock.clone(),
            stop,
            progress,
            env.rep_sync.as_deref(),
        );
        drop(sink);
        failures.extend(outcome.check_failures);
        interrupted |= outcome.interrupted;
        let stopped = outcome.sync_failure.is_some();
        out.extend(
            read_prep::with_skips(&cfgs, &skips, outcome.workloads, &log, &target)
                .into_iter()
                .map(|r| in_suite(r, &w.name, &point)),
        );
        if stopped {
            break;
        }
    }
    Ok((out, failures, interrupted))
}

/// Rows for the suite's workloads (engine × sweep point) that a stopped run never started:
/// listed as skipped ("not run"), never as completed, so a reader sees what is missing.
fn not_run(suite: &Suite, done: &[WorkloadResult]) -> Vec<WorkloadResult> {
    let mut out = Vec::new();
    for w in &suite.workloads {
        // No figures: the medium is what the row would have measured.
        let (kind, medium) = match w {
            WorkloadSpec::Replicate(r) => {
                out.extend(suite::replicate::not_run_rows(r, done));
                continue;
            }
            WorkloadSpec::Write(_) => (results::Kind::Write, results::Medium::Device),
            WorkloadSpec::Read(_) | WorkloadSpec::Mixed(_) => {
                (results::Kind::Read, results::Medium::Network)
            }
        };
        for point in suite::sweep_points(w.sweep()) {
            for e in w.engines().iter().filter(|e| *e != "best") {
                let row = WorkloadResult::new(
                    e.clone(),
                    kind,
                    e.clone(),
                    Default::default(),
                    results::Status::Skipped {
                        reason: crate::runner::NOT_RUN.into(),
                    },
                    medium,
                );
                let row = in_suite(row, w.name(), &point);
                if !done.iter().any(|d| d.name == row.name) {
                    out.push(row);
                }
            }
        }
    }
    out
}

/// A result named and configured as suite workload `w` at sweep `point`:
/// `<workload>[/<param>=<value>]/<engine>`, with the sweep and the workload in its config.
fn in_suite(mut r: WorkloadResult, name: &str, point: &Option<(String, u32)>) -> WorkloadResult {
    r.name = match point {
        Some((p, v)) => format!("{name}/{p}={v}/{}", r.engine),
        None => format!("{name}/{}", r.engine),
    };
    r.config.extend(suite::sweep_config(point));
    r.config
        .insert("suite_workload".into(), serde_json::json!(name));
    r
}
