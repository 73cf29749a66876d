//! The executor: runs a list of typed workloads ([`Job`]s, one per workload of a suite, each
//! already its kind's runner configurations) in order — every engine and sweep point of a
//! write or read workload side by side (warm-up, interleaved repetitions, skips: the write and
//! read runners), `best` resolved from what ran so far, the log for read workloads written
//! once and reused, replicate acks modes and mixed parts through their runners — and, after a
//! stop (a signal, a failed fleet barrier), a "not run" row for everything it never started.
//! Rows are named `<workload>[/<param>=<value>]/<engine>`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use results::figures::RowKind;
use results::{Kind, Medium, Status, WorkloadResult};
use workloads::pacing::Clock;

use crate::bad_input;
use crate::datadir::DataDir;
use crate::replicate::ReplicaConfig;
use crate::runner::mixed::{run_mixed, MixedConfig};
use crate::runner::progress::Progress;
use crate::runner::read::prepare as read_prep;
use crate::runner::read::{LogSet, ReadConfig};
use crate::runner::replicate::{run_modes, ModesRun, Placement};
use crate::runner::write::{run_writes, RunOptions, WriteConfig};
use crate::runner::{RepSync, NOT_RUN};

/// One point of a sweep, (parameter, value); `None` without a sweep.
pub type Point = Option<(String, u32)>;

/// A write workload's configuration for one engine at one sweep point, or why not.
pub type WriteConfigOf<'a> = Box<dyn Fn(&str, &Point) -> Result<WriteConfig, String> + 'a>;

/// A workload ready to run.
pub enum Job<'a> {
    /// Write engines side by side at each sweep point.
    Write(WriteJob<'a>),
    /// Read engines side by side at each sweep point, over one log.
    Read(ReadJob),
    /// A replicate workload's acks modes.
    Replicate(ReplicateJob),
    /// A mixed workload.
    Mixed(MixedJob),
}

/// A write workload: its engines (`best` = the fastest write engine so far) at its points.
pub struct WriteJob<'a> {
    /// The workload's name.
    pub name: String,
    /// Engine specs as given, `best` among them.
    pub engines: Vec<String>,
    /// The sweep points.
    pub points: Vec<Point>,
    /// Measured repetitions per engine.
    pub repeat: u32,
    /// Verify every written segment.
    pub verify: bool,
    /// Rounds until steady of this length.
    pub until_steady: Option<Duration>,
    /// The configuration of an engine at a point.
    pub config: WriteConfigOf<'a>,
}

/// A read workload: its configurations at each point, over a log of `log_size` bytes.
pub struct ReadJob {
    /// The workload's name.
    pub name: String,
    /// Engine specs as given (the names of rows never run).
    pub engines: Vec<String>,
    /// Each point and its configurations, one per engine.
    pub points: Vec<(Point, Vec<ReadConfig>)>,
    /// Measured repetitions per engine.
    pub repeat: u32,
    /// Bytes of the log written first.
    pub log_size: u64,
    /// Partitions of that log.
    pub log_partitions: u32,
}

/// A replicate workload: one configuration per acks mode.
pub struct ReplicateJob {
    /// The workload's name.
    pub name: String,
    /// One configuration per acks mode.
    pub cfgs: Vec<ReplicaConfig>,
    /// The acks modes as given (the names of rows never run).
    pub acks: Vec<String>,
    /// Measured repetitions per acks mode.
    pub repeat: u32,
}

/// A mixed workload.
pub struct MixedJob {
    /// Its parts.
    pub cfg: MixedConfig,
    /// Measured repetitions.
    pub repeat: u32,
    /// Verify what the parts write and deliver.
    pub verify: bool,
}

/// A fleet rank's barrier as the executor needs it (`segbench run --fleet-sync`).
pub trait FleetBarrier {
    /// Why the barrier failed, once it has (the run then stops).
    fn failure(&self) -> Option<String>;
    /// The `best` write engine every host takes (rank 0's), given this host's own.
    fn agreed_best(
        &self,
        mine: Option<String>,
        stop: &AtomicBool,
        progress: &Progress,
    ) -> Option<String>;
}

/// What every workload of the run shares: where data goes, the clock, the stop flag, the
/// progress line and a fleet rank's barrier.
pub struct Env<'a> {
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
    /// A fleet rank's barrier (`--fleet-sync`).
    pub fleet: Option<&'a dyn FleetBarrier>,
    /// The same barrier as the runners take it.
    pub rep_sync: Option<Arc<dyn RepSync>>,
    /// Keep the data written (`--keep`).
    pub keep: bool,
    /// Warm-up before each engine's first repetition.
    pub warmup: Duration,
}

/// What the workloads produced.
#[derive(Default)]
pub struct Outcome {
    /// One row per engine and sweep point (and "not run" rows after a stop).
    pub done: Vec<WorkloadResult>,
    /// Verification failures (the run worked but a check failed: exit 1).
    pub failures: Vec<String>,
    /// A signal or a failed fleet barrier stopped the run early.
    pub interrupted: bool,
}

/// A log written for read workloads, reused while size and partitions stay the same.
struct ReadLog {
    size: u64,
    partitions: u32,
    dir: PathBuf,
}

/// Runs `jobs` in order; after a stop, adds "not run" rows for the rest.
pub fn execute(jobs: &[Job<'_>], env: &Env) -> anyhow::Result<Outcome> {
    let mut out = Outcome::default();
    let mut read_log: Option<ReadLog> = None;
    let mut write_workloads = 0;
    for job in jobs {
        let barrier_failed = env.fleet.is_some_and(|s| s.failure().is_some());
        if env.stop.load(Ordering::Relaxed) || barrier_failed {
            out.interrupted = true;
            break;
        }
        match job {
            Job::Write(w) => run_write_job(w, &mut write_workloads, env, &mut out)?,
            Job::Read(r) => run_read_job(r, &mut read_log, env, &mut out)?,
            Job::Replicate(r) => {
                let prefix = format!("{}-", r.name);
                let run = ModesRun {
                    repeat: r.repeat,
                    data: &env.data[0],
                    prefix: &prefix,
                    keep: env.keep,
                    clock: env.clock.clone(),
                    stop: env.stop,
                    progress: env.progress,
                };
                let (mut rows, stopped) =
                    run_modes(&r.cfgs, &run, &r.name, &mut Placement::InProcess);
                for row in &mut rows {
                    row.config
                        .insert("suite_workload".into(), serde_json::json!(r.name));
                }
                out.done.extend(rows);
                out.interrupted |= stopped;
            }
            Job::Mixed(m) => {
                let opts = options(env, m.repeat, m.verify, out.done.len(), None);
                let o = run_mixed(
                    &m.cfg,
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
        let missing = not_run(jobs, &out.done);
        out.done.extend(missing);
    }
    Ok(out)
}

/// The write and mixed runners' options for a workload of the run.
fn options(
    env: &Env,
    repeat: u32,
    verify: bool,
    first_workload: usize,
    until_steady: Option<Duration>,
) -> RunOptions {
    RunOptions {
        repeat,
        warmup: env.warmup,
        keep: env.keep,
        verify,
        first_workload,
        sync: env.rep_sync.clone(),
        until_steady,
    }
}

/// Runs write job `w` at each sweep point, its engines (`best` resolved) side by side;
/// `write_workloads` counts the run's write workloads so far (it names their directories).
fn run_write_job(
    w: &WriteJob<'_>,
    write_workloads: &mut usize,
    env: &Env,
    out: &mut Outcome,
) -> anyhow::Result<()> {
    let mut engines = Vec::new();
    for e in &w.engines {
        if e == "best" {
            let mine = best_write_engine(&out.done);
            let best = match env.fleet {
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
    for point in &w.points {
        let mut cfgs = Vec::new();
        for e in &engines {
            cfgs.push(
                (w.config)(e, point)
                    .map_err(|m| bad_input(format!("workload '{}': {m}", w.name)))?,
            );
        }
        if env.fleet.is_some_and(|s| s.failure().is_some()) {
            break;
        }
        let opts = options(env, w.repeat, w.verify, *write_workloads, w.until_steady);
        *write_workloads += cfgs.len();
        let outcome = run_writes(
            &cfgs,
            &opts,
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
                .map(|r| in_suite(r, &w.name, point)),
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
            RowKind::of(w) == RowKind::Write
                && w.status == Status::Completed
                && !w.config.contains_key("sweep")
        })
        .collect();
    let device: Vec<&&WorkloadResult> = completed
        .iter()
        .filter(|w| w.medium == Medium::Device)
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

/// Runs read job `r` at each sweep point over a log of its size and partitions, written
/// into the first data directory unless the previous read workload's (`log_cache`) fits.
fn run_read_job(
    r: &ReadJob,
    log_cache: &mut Option<ReadLog>,
    env: &Env,
    out: &mut Outcome,
) -> anyhow::Result<()> {
    let (data, stop, progress) = (env.data, env.stop, env.progress);
    let (size, partitions) = (r.log_size, r.log_partitions);
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
        return Ok(());
    };
    let log =
        LogSet::open(std::slice::from_ref(&cached.dir)).map_err(|e| anyhow::anyhow!("{e}"))?;
    for (point, cfgs) in &r.points {
        let skips = read_prep::precheck(cfgs)?;
        let runnable = read_prep::runnable(cfgs, &skips);
        let sessions = cfgs
            .iter()
            .map(|c| (c.groups * c.consumers) as usize)
            .max()
            .unwrap_or(1)
            + 8;
        let (sink, target) = read_prep::local_sink(sessions)?;
        let outcome = crate::runner::read::run_reads(
            &runnable,
            r.repeat,
            &log,
            &target,
            env.clock.clone(),
            stop,
            progress,
            env.rep_sync.as_deref(),
        );
        drop(sink);
        out.failures.extend(outcome.check_failures);
        out.interrupted |= outcome.interrupted;
        let stopped = outcome.sync_failure.is_some();
        out.done.extend(
            read_prep::with_skips(cfgs, &skips, outcome.workloads, &log, &target)
                .into_iter()
                .map(|row| in_suite(row, &r.name, point)),
        );
        if stopped {
            break;
        }
    }
    Ok(())
}

/// Rows for the jobs' workloads (engine × sweep point, acks mode) that a stopped run never
/// started: listed as skipped ("not run"), never as completed, so a reader sees what is
/// missing.
pub fn not_run(jobs: &[Job<'_>], done: &[WorkloadResult]) -> Vec<WorkloadResult> {
    let skipped = || Status::Skipped {
        reason: NOT_RUN.into(),
    };
    let mut out = Vec::new();
    for job in jobs {
        // No figures: the medium is what the row would have measured.
        let (name, engines, points, kind, medium) = match job {
            Job::Write(w) => {
                let points: Vec<&Point> = w.points.iter().collect();
                (&w.name, &w.engines, points, Kind::Write, Medium::Device)
            }
            Job::Read(r) => {
                let points: Vec<&Point> = r.points.iter().map(|(p, _)| p).collect();
                (&r.name, &r.engines, points, Kind::Read, Medium::Network)
            }
            Job::Replicate(r) => {
                let rf = r.cfgs.first().map_or(0, |c| c.rf);
                for acks in &r.acks {
                    let name = format!("{}/acks={acks}", r.name);
                    if done.iter().any(|d| d.name == name) {
                        continue;
                    }
                    let mut config = BTreeMap::new();
                    config.insert("suite_workload".into(), serde_json::json!(r.name));
                    config.insert("rf".into(), serde_json::json!(rf));
                    config.insert("acks".into(), serde_json::json!(acks));
                    let row = WorkloadResult::new(
                        name,
                        Kind::Write,
                        "replicate".to_string(),
                        config,
                        skipped(),
                        Medium::PageCache,
                    );
                    out.push(row);
                }
                continue;
            }
            Job::Mixed(_) => continue,
        };
        for point in points {
            for e in engines.iter().filter(|e| *e != "best") {
                let row = WorkloadResult::new(
                    e.clone(),
                    kind,
                    e.clone(),
                    Default::default(),
                    skipped(),
                    medium,
                );
                let row = in_suite(row, name, point);
                if !done.iter().any(|d| d.name == row.name) {
                    out.push(row);
                }
            }
        }
    }
    out
}

/// A result named and configured as workload `name` at sweep `point`:
/// `<workload>[/<param>=<value>]/<engine>`, with the sweep and the workload in its config.
fn in_suite(mut r: WorkloadResult, name: &str, point: &Point) -> WorkloadResult {
    r.name = match point {
        Some((p, v)) => format!("{name}/{p}={v}/{}", r.engine),
        None => format!("{name}/{}", r.engine),
    };
    r.config.extend(sweep_config(point));
    r.config
        .insert("suite_workload".into(), serde_json::json!(name));
    r
}

/// The sweep keys added to a result's config so reports can draw scaling curves.
pub fn sweep_config(point: &Point) -> BTreeMap<String, serde_json::Value> {
    let mut m = BTreeMap::new();
    if let Some((p, v)) = point {
        m.insert("sweep".to_string(), serde_json::json!(p));
        m.insert("sweep_value".to_string(), serde_json::json!(v));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs() -> Vec<Job<'static>> {
        vec![
            Job::Write(WriteJob {
                name: "w".into(),
                engines: vec!["buffered".into(), "best".into()],
                points: vec![
                    Some(("partitions".into(), 1)),
                    Some(("partitions".into(), 2)),
                ],
                repeat: 1,
                verify: false,
                until_steady: None,
                config: Box::new(|_, _| Err("not configured in this test".into())),
            }),
            Job::Read(ReadJob {
                name: "r".into(),
                engines: vec!["sendfile".into()],
                points: vec![(None, Vec::new())],
                repeat: 1,
                log_size: 1 << 20,
                log_partitions: 1,
            }),
        ]
    }

    /// A run stopped before it started lists every engine and sweep point as not run (`best`
    /// has no name yet), named as the rows it would have had.
    #[test]
    fn a_stopped_run_lists_what_it_never_started() {
        let stop = AtomicBool::new(true);
        let progress = Progress::new(true);
        let env = Env {
            data: &[],
            snap: None,
            clock: Arc::new(workloads::pacing::MonotonicClock::new()),
            stop: &stop,
            progress: &progress,
            fleet: None,
            rep_sync: None,
            keep: false,
            warmup: Duration::ZERO,
        };
        let jobs = jobs();
        let out = execute(&jobs, &env).unwrap();
        assert!(out.interrupted);
        let names: Vec<&str> = out.done.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "w/partitions=1/buffered",
                "w/partitions=2/buffered",
                "r/sendfile"
            ]
        );
        for r in &out.done {
            assert!(
                matches!(&r.status, Status::Skipped { reason } if reason == NOT_RUN),
                "{}",
                r.name
            );
            assert_eq!(
                r.config["suite_workload"],
                r.name.split('/').next().unwrap()
            );
        }
        assert_eq!(out.done[1].config["sweep_value"], 2);
        // What ran is not listed again.
        let rest = not_run(&jobs, &out.done[..1]);
        assert_eq!(rest.len(), 2);
    }
}
