//! Every read workload of a run: repetitions interleaved across workloads, the cache put in
//! each workload's state before each repetition, skips and sink failures reported, and the
//! finished [`WorkloadResult`]s.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use results::figures::{ExtraFigures, ReadFigures};
use results::{Kind, Repetition, Status, WorkloadResult};
use serde_json::json;
use workloads::pacing::Clock;
use workloads::read::Caps;

use super::assemble::classify;
use super::assemble::ReadMeasure;
use super::cache::prepare_cache;
use super::config::ReadConfig;
use super::consume::{run_repetition, ReadError};
use super::logset::LogSet;
use super::SinkTarget;
use crate::runner::progress::Progress;
use crate::runner::steady::{self, UntilSteady};
use crate::runner::{settle, start_of, Interleaved, LiveCounters, RepSync};

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
    /// A fleet barrier failed: the run stopped there, the results are partial.
    pub sync_failure: Option<String>,
}

/// Runs every read workload `repeat` times, interleaved (A B A B …), putting the cache in
/// the workload's state before each repetition. An engine this kernel cannot run is reported
/// as skipped; a sink failure stops the whole run. With `sync` (a fleet run), every measured
/// repetition waits at the fleet's barrier (after the cache is prepared), labelled
/// `<workload name>-r<rep>`; a failed barrier stops the run there.
#[allow(clippy::too_many_arguments)]
pub fn run_reads(
    configs: &[ReadConfig],
    repeat: u32,
    log: &LogSet,
    sink: &SinkTarget,
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    progress: &Progress,
    sync: Option<&dyn RepSync>,
) -> ReadOutcome {
    let n = configs.len();
    let mut reads = Reads {
        configs,
        repeat,
        log,
        sink,
        clock,
        stop,
        progress,
        sync,
        reps: vec![Vec::new(); n],
        status: vec![Status::Completed; n],
        caps: vec![None; n],
        failures: Vec::new(),
        failed_checks: vec![0usize; n],
        interrupted: false,
        sink_failure: None,
        sync_failure: None,
    };
    let mut turns = Interleaved::new(repeat, configs.len());
    while let Some((rep, w)) = turns.next_turn(&reads.status, stop) {
        match reads.turn(rep, w) {
            Turn::Next => {}
            Turn::Halt => {
                turns.halt();
                break;
            }
            Turn::Stop => break,
        }
    }
    reads.outcome(turns.stopped())
}

/// What a turn leaves the run to do next.
enum Turn {
    /// Go on to the next turn.
    Next,
    /// The fleet's barrier failed: no further turn (the rest is not run).
    Halt,
    /// The sink failed: stop here.
    Stop,
}

/// A run of read workloads: what it runs with, and what it has gathered so far per workload
/// (indexed as `configs`).
struct Reads<'a> {
    configs: &'a [ReadConfig],
    repeat: u32,
    log: &'a LogSet,
    sink: &'a SinkTarget,
    clock: Arc<dyn Clock>,
    stop: &'a AtomicBool,
    progress: &'a Progress,
    sync: Option<&'a dyn RepSync>,
    reps: Vec<Vec<Repetition>>,
    status: Vec<Status>,
    caps: Vec<Option<Caps>>,
    failures: Vec<String>,
    failed_checks: Vec<usize>,
    interrupted: bool,
    sink_failure: Option<String>,
    sync_failure: Option<String>,
}

impl Reads<'_> {
    /// Repetition `rep` of workload `w`: the cache put in its state, the fleet's barrier, the
    /// measured run, and what it gave recorded.
    fn turn(&mut self, rep: u32, w: usize) -> Turn {
        let configs = self.configs;
        let cfg = &configs[w];
        let label = format!(
            "read {} {} rep {}/{}",
            cfg.engine,
            cfg.cache,
            rep + 1,
            self.repeat
        );
        let before = match prepare_cache(self.log, cfg.cache) {
            Ok(r) => r,
            Err(e) => {
                self.progress
                    .line(&format!("{label}: preparing the cache: {e}"));
                self.status[w] = Status::Failed {
                    error: format!("preparing the {} cache: {e}", cfg.cache),
                };
                return Turn::Next;
            }
        };
        let start_offset_s = match start_of(self.sync, &format!("{}-r{rep}", cfg.name()), self.stop)
        {
            Ok(s) => s,
            Err(e) => {
                self.progress.line(&format!("{label}: {e}"));
                self.sync_failure = Some(e);
                return Turn::Halt;
            }
        };
        let until = cfg.until_steady.map(|round| UntilSteady {
            round,
            min_bytes: None,
        });
        match self.measure(cfg, &label, until) {
            Ok(mut m) => {
                m.repetition.index = rep;
                if let Some(u) = until {
                    steady::finish(&mut m.repetition, &mut m.interrupted, self.stop, u);
                }
                if let Some(mut f) = ReadFigures::of(&m.repetition) {
                    f.residency_before_ratio = Some(before.ratio());
                    f.insert_into(&mut m.repetition.extra);
                }
                m.repetition.extra.insert(
                    results::hdrlog::START_OFFSET_KEY.into(),
                    json!(start_offset_s),
                );
                self.measured(w, &label, m);
                Turn::Next
            }
            Err(e) => self.failed(w, &label, e),
        }
    }

    /// One measured repetition of `cfg`, in rounds until steady when `until` says so, with
    /// its progress shown under `label`.
    fn measure(
        &self,
        cfg: &ReadConfig,
        label: &str,
        until: Option<UntilSteady>,
    ) -> Result<ReadMeasure, ReadError> {
        let (log, sink, clock, stop) = (self.log, self.sink, &self.clock, self.stop);
        let live = LiveCounters::default();
        let expected = cfg
            .duration
            .is_none()
            .then(|| log.bytes * u64::from(cfg.groups));
        self.progress
            .track(label, expected, cfg.duration, &live, || match until {
                Some(u) => steady::run_rounds(&**clock, &live, stop, u, |end| {
                    run_repetition(cfg, log, sink, clock.clone(), end, &live)
                }),
                None => run_repetition(cfg, log, sink, clock.clone(), stop, &live),
            })
    }

    /// Records a finished repetition of workload `w`: its figures, its failed checks, the
    /// engine's capabilities, and whether it was stopped early.
    fn measured(&mut self, w: usize, label: &str, m: ReadMeasure) {
        let name = self.configs[w].name();
        self.progress.done(label, &m.repetition);
        self.failed_checks[w] += m.check_failures.len();
        self.failures
            .extend(m.check_failures.iter().map(|f| format!("{name}: {f}")));
        self.caps[w] = Some(m.caps);
        if m.interrupted {
            self.interrupted = true;
            self.status[w] = Status::Interrupted;
        }
        self.reps[w].push(m.repetition);
    }

    /// Records a repetition of workload `w` that gave no figures: a skip, a sink failure
    /// (which stops the run) or an engine's failure.
    fn failed(&mut self, w: usize, label: &str, e: ReadError) -> Turn {
        match e {
            ReadError::Unsupported(reason) => {
                self.progress.line(&format!("{label}: skipped: {reason}"));
                self.status[w] = Status::Skipped { reason };
                Turn::Next
            }
            ReadError::Sink(msg) => {
                self.progress.line(&format!("{label}: {msg}"));
                self.status[w] = Status::Failed { error: msg.clone() };
                self.sink_failure = Some(msg);
                self.interrupted = true;
                Turn::Stop
            }
            e => {
                self.progress.line(&format!("{label}: {e}"));
                self.status[w] = Status::Failed {
                    error: e.to_string(),
                };
                Turn::Next
            }
        }
    }

    /// Every workload's result (repetitions, status, what it measured, warnings) and what
    /// stopped the run; `stopped` when the turns ended early.
    fn outcome(mut self, stopped: bool) -> ReadOutcome {
        let (configs, log, sink) = (self.configs, self.log, self.sink);
        let workloads = configs
            .iter()
            .enumerate()
            .map(|(w, cfg)| {
                let reps = std::mem::take(&mut self.reps[w]);
                let skipped = settle(&mut self.status[w], reps.len(), stopped);
                let (medium, mut warnings) = classify(cfg, &reps);
                warnings.extend(skipped);
                if self.failed_checks[w] > 0 {
                    warnings.push(format!(
                        "verification failed ({} problems): the delivered bytes do not match a valid log; see the error message",
                        self.failed_checks[w]
                    ));
                }
                WorkloadResult::new(
                    cfg.name(),
                    Kind::Read,
                    cfg.engine.to_string(),
                    cfg.config_map(log, sink, self.caps[w].as_ref()),
                    self.status[w].clone(),
                    medium,
                )
                .with_repetitions(reps, warnings)
            })
            .collect();
        ReadOutcome {
            workloads,
            check_failures: self.failures,
            interrupted: self.interrupted || stopped,
            sink_failure: self.sink_failure,
            sync_failure: self.sync_failure,
        }
    }
}
