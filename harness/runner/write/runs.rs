//! Every write workload of a run: warm-up, repetitions interleaved across workloads, the
//! runner's own cost calibrated, data directories per repetition, verification, and the
//! finished [`WorkloadResult`]s.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use results::{Kind, Repetition, Status, WorkloadResult};
use workloads::kafka::log::LogFormat;
use workloads::pacing::Clock;
use workloads::write::Caps;

use super::{RepMeasure, WriteConfig};
use crate::datadir::DataDir;
use crate::runner::progress::Progress;
use crate::runner::steady::{self, UntilSteady};
use crate::runner::storage::StorageContext;
use crate::runner::{settle, start_of, Interleaved, Limit, LiveCounters, RepSync, RunError};

/// Options shared by every workload of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Measured repetitions per workload.
    pub repeat: u32,
    /// Warm-up time before each workload's first measured repetition (none when zero).
    pub warmup: Duration,
    /// Keep the data written (default: remove each repetition's data when it is done).
    pub keep: bool,
    /// Re-read and verify every segment after each repetition.
    pub verify: bool,
    /// Number of this call's first workload among the run's write workloads: repetition
    /// directories are named `w<number>-r<rep>`, so a suite's workloads never share one (kept
    /// data of an earlier workload stays where it is).
    pub first_workload: usize,
    /// A fleet run's barrier before each warm-up and measured repetition (none: start at once).
    pub sync: Option<Arc<dyn RepSync>>,
    /// Run each measured repetition in rounds of this length until steady (`--until-steady`);
    /// a workload's `size` is then the minimum written before the window may start, and its
    /// `duration` the longest a repetition runs.
    pub until_steady: Option<Duration>,
}

/// One write workload's results plus its verification failures.
pub struct WriteOutcome {
    /// Results per engine, in the order given.
    pub workloads: Vec<WorkloadResult>,
    /// Verification failures (the run worked but a check failed: exit 1).
    pub check_failures: Vec<String>,
    /// True when interrupted by a signal (or stopped by a failed fleet barrier).
    pub interrupted: bool,
    /// Why a fleet barrier stopped the run, when one did.
    pub sync_failure: Option<String>,
}

/// Runs every write workload `repeat` times, interleaved (A B C A B C …), so that drift on a
/// noisy machine hits all alike. An engine that cannot run here is reported as skipped.
pub fn run_writes(
    configs: &[WriteConfig],
    opts: &RunOptions,
    data: &[DataDir],
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    progress: &Progress,
) -> WriteOutcome {
    let ctx = match data.first() {
        Some(d) => StorageContext::for_dir(d.path()),
        None => StorageContext::default(),
    };
    let mut tally = Tally::new(configs.len());
    let mut failures = Vec::new();
    let mut interrupted = false;
    let mut sync_failure = None;

    let mut turns = Interleaved::new(opts.repeat, configs.len());
    while let Some((rep, w)) = turns.next_turn(&tally.status, stop) {
        let cfg = &configs[w];
        if rep == 0 {
            match warm_up(cfg, w, opts, data, clock.clone(), stop, progress) {
                Ok(()) => {}
                Err(OneError::Run(e)) => {
                    tally.status[w] = e.status();
                    continue;
                }
                Err(OneError::Sync(e)) => {
                    sync_failure = Some(e);
                    turns.halt();
                    break;
                }
            }
            tally.overhead[w] = calibrate_overhead(cfg, data, clock.clone(), stop);
        }
        let label = format!("write {} rep {}/{}", cfg.engine, rep + 1, opts.repeat);
        let until = opts.until_steady.map(|round| UntilSteady {
            round,
            min_bytes: cfg.size,
        });
        let limit = Limit {
            // Until steady, the size is a minimum (UntilSteady::min_bytes), not a limit.
            bytes: if until.is_some() { None } else { cfg.size },
            duration: cfg.duration,
        };
        match run_one(
            cfg,
            data,
            &format!("w{}-r{rep}", opts.first_workload + w),
            clock.clone(),
            stop,
            limit,
            progress,
            &label,
            opts.verify,
            opts.sync.as_deref(),
            until,
        ) {
            Ok((mut m, check)) => {
                if let Some(c) = check {
                    failures.push(format!("write {}: {c}", cfg.engine));
                }
                m.repetition.index = rep;
                m.repetition.harness_overhead_ratio =
                    tally.overhead[w].map(|ns| overhead_ratio(ns, &m.repetition));
                progress.done(&label, &m.repetition);
                tally.caps[w] = Some(m.caps);
                if m.interrupted {
                    interrupted = true;
                    tally.status[w] = Status::Interrupted;
                }
                tally.reps[w].push(m.repetition);
                if !opts.keep {
                    remove_children(data, &format!("w{}-r{rep}", opts.first_workload + w));
                }
            }
            Err(OneError::Run(e)) => {
                progress.line(&format!("{label}: {e}"));
                // run_one removed the repetition's data.
                tally.status[w] = e.status();
            }
            Err(OneError::Sync(e)) => {
                progress.line(&format!("{label}: {e}"));
                sync_failure = Some(e);
                turns.halt();
                break;
            }
        }
    }

    WriteOutcome {
        workloads: tally.results(configs, opts, &ctx, turns.stopped()),
        check_failures: failures,
        interrupted: interrupted || turns.stopped(),
        sync_failure,
    }
}

/// What the turns gathered, per workload.
struct Tally {
    reps: Vec<Vec<Repetition>>,
    status: Vec<Status>,
    caps: Vec<Option<Caps>>,
    /// The runner's own time per append ([`calibrate_overhead`]).
    overhead: Vec<Option<f64>>,
}

impl Tally {
    fn new(n: usize) -> Self {
        Tally {
            reps: vec![Vec::new(); n],
            status: vec![Status::Completed; n],
            caps: vec![None; n],
            overhead: vec![None; n],
        }
    }

    /// Each workload's result: its repetitions, status (settled: a run stopped early marks
    /// the turns not run), what it measured and the warnings.
    fn results(
        mut self,
        configs: &[WriteConfig],
        opts: &RunOptions,
        ctx: &StorageContext,
        stopped: bool,
    ) -> Vec<WorkloadResult> {
        configs
            .iter()
            .enumerate()
            .map(|(w, cfg)| {
                let reps = std::mem::take(&mut self.reps[w]);
                let skipped = settle(&mut self.status[w], reps.len(), stopped);
                let (medium, mut warnings) = ctx.classify(cfg, self.caps[w].as_ref(), &reps);
                warnings.extend(skipped);
                let mut config = cfg.config_map();
                if let Some(round) = opts.until_steady {
                    config.insert(
                        steady::CONFIG_KEY.into(),
                        serde_json::json!(round.as_secs_f64()),
                    );
                }
                WorkloadResult::new(
                    format!("write/{}", cfg.engine),
                    Kind::Write,
                    cfg.engine.to_string(),
                    config,
                    self.status[w].clone(),
                    medium,
                )
                .with_repetitions(reps, warnings)
            })
            .collect()
    }
}

/// Workload `w`'s warm-up before its first measured repetition, for `opts.warmup` (none when
/// zero); its data is removed after.
fn warm_up(
    cfg: &WriteConfig,
    w: usize,
    opts: &RunOptions,
    data: &[DataDir],
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    progress: &Progress,
) -> Result<(), OneError> {
    if opts.warmup.is_zero() {
        return Ok(());
    }
    let label = format!("write {} warm-up", cfg.engine);
    let limit = Limit {
        bytes: None,
        duration: Some(opts.warmup),
    };
    run_one(
        cfg,
        data,
        &format!("w{}-warmup", opts.first_workload + w),
        clock,
        stop,
        limit,
        progress,
        &label,
        false,
        opts.sync.as_deref(),
        None,
    )
    .map(|_| ())
}

/// Why [`run_one`] produced no repetition: the engine, or the fleet barrier before it.
enum OneError {
    Run(RunError),
    Sync(String),
}

/// Appends timed when measuring the runner's own cost per append.
const CALIBRATION_OPS: u64 = 4000;

/// The runner's own time per append for `cfg`'s batch shape and format, measured with the null
/// engine (encoding, clock, histogram, timeline and loop; no I/O). `None` when it cannot run.
pub fn calibrate_overhead(
    cfg: &WriteConfig,
    data: &[DataDir],
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
) -> Option<f64> {
    let shape = cfg.shape().ok()?;
    let mut null = cfg.clone();
    null.engine = "null".parse().ok()?;
    null.partitions = 1;
    null.threads = 1;
    null.rate = None;
    null.flush = workloads::FlushPolicy::Never;
    null.retention = None;
    let limit = Limit {
        bytes: Some(shape.batch_bytes as u64 * CALIBRATION_OPS),
        duration: Some(Duration::from_millis(200)),
    };
    let dirs = create_children(&data[..1.min(data.len())], "w0-calibration").ok()?;
    let live = LiveCounters::default();
    let m = super::run_repetition(&null, &dirs, clock, stop, limit, &live);
    remove_children(data, "w0-calibration");
    let r = m.ok()?.repetition;
    (r.batches > 0).then(|| r.elapsed_s * 1e9 / r.batches as f64)
}

/// Share of the runner threads' time that the runner itself used: its cost per append times
/// the appends, over elapsed time times the threads that ran.
pub fn overhead_ratio(ns_per_op: f64, r: &Repetition) -> f64 {
    let threads = r.threads.len().max(1) as f64;
    if r.elapsed_s <= 0.0 {
        return 0.0;
    }
    (ns_per_op * r.batches as f64 / (r.elapsed_s * 1e9 * threads)).min(1.0)
}

/// Removes the child `name` from every data directory.
pub fn remove_children(data: &[DataDir], name: &str) {
    for d in data {
        d.remove_child(name);
    }
}

/// Creates the child `name` in every data directory.
pub fn create_children(data: &[DataDir], name: &str) -> std::io::Result<Vec<PathBuf>> {
    data.iter().map(|d| d.create_child(name)).collect()
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    cfg: &WriteConfig,
    data: &[DataDir],
    child: &str,
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    limit: Limit,
    progress: &Progress,
    label: &str,
    verify: bool,
    sync: Option<&dyn RepSync>,
    until: Option<UntilSteady>,
) -> Result<(RepMeasure, Option<String>), OneError> {
    let dirs = create_children(data, child)
        .map_err(|e| OneError::Run(RunError::Unsupported(e.to_string())))?;
    let live = LiveCounters::default();
    let expected = limit.bytes;
    // The fleet barrier (when there is one) is the repetition's directory name: `w3-r1`.
    let start_offset_s = match start_of(sync, child, stop) {
        Ok(s) => s,
        Err(e) => {
            remove_children(data, child);
            return Err(OneError::Sync(e));
        }
    };
    let result = progress.track(label, expected, limit.duration, &live, || match until {
        Some(u) => steady::run_rounds(&*clock, &live, stop, u, |end| {
            super::run_repetition(cfg, &dirs, clock.clone(), end, limit, &live)
        }),
        None => super::run_repetition(cfg, &dirs, clock.clone(), stop, limit, &live),
    });
    let mut m = match result {
        Ok(m) => m,
        Err(e) => {
            remove_children(data, child);
            return Err(OneError::Run(e));
        }
    };
    if let Some(u) = until {
        steady::finish(&mut m.repetition, &mut m.interrupted, stop, u);
    }
    m.repetition.extra.insert(
        results::hdrlog::START_OFFSET_KEY.into(),
        serde_json::json!(start_offset_s),
    );
    let check = if verify {
        verify_written(cfg, &m)
    } else {
        None
    };
    if child.ends_with("warmup") {
        remove_children(data, child);
    }
    Ok((m, check))
}

/// Re-reads every partition written and checks that the bytes and records on disk equal the
/// counters. Returns a description of the first mismatch.
pub fn verify_written(cfg: &WriteConfig, m: &RepMeasure) -> Option<String> {
    let (mut bytes, mut records) = (0u64, 0u64);
    for d in &m.partition_dirs {
        if cfg.format == LogFormat::Raw {
            let segs = match workloads::kafka::reader::list_segments(d) {
                Ok(s) => s,
                Err(e) => return Some(format!("verification failed: {e}")),
            };
            bytes += segs.iter().map(|s| s.len).sum::<u64>();
            records = m.repetition.records;
            continue;
        }
        match workloads::kafka::verify_partition(d) {
            Ok(s) => {
                bytes += s.bytes;
                records += s.records;
            }
            Err(e) => return Some(format!("verification failed: {e}")),
        }
    }
    let r = &m.repetition;
    // Retention deletes old segments: then only the validity of what is left is checked.
    if cfg.retention.is_none() && (bytes != r.bytes || records != r.records) {
        return Some(format!(
            "verification failed: results say {} bytes / {} records, the segments hold {bytes} bytes / {records} records",
            r.bytes, r.records
        ));
    }
    None
}

/// True when `path` is inside `dir` (used to keep every write inside the data directory).
pub fn is_inside(dir: &Path, path: &Path) -> bool {
    path.starts_with(dir)
}
