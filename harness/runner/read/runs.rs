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
    let mut reps: Vec<Vec<Repetition>> = vec![Vec::new(); n];
    let mut status = vec![Status::Completed; n];
    let mut caps: Vec<Option<Caps>> = vec![None; n];
    let mut failures = Vec::new();
    let mut failed_checks = vec![0usize; n];
    let mut interrupted = false;
    let mut sink_failure = None;
    let mut sync_failure = None;

    let mut turns = Interleaved::new(repeat, configs.len());
    while let Some((rep, w)) = turns.next_turn(&status, stop) {
        let cfg = &configs[w];
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
        let start_offset_s = match start_of(sync, &format!("{}-r{rep}", cfg.name()), stop) {
            Ok(s) => s,
            Err(e) => {
                progress.line(&format!("{label}: {e}"));
                sync_failure = Some(e);
                turns.halt();
                break;
            }
        };
        let live = LiveCounters::default();
        let expected = cfg
            .duration
            .is_none()
            .then(|| log.bytes * u64::from(cfg.groups));
        let until = cfg.until_steady.map(|round| UntilSteady {
            round,
            min_bytes: None,
        });
        let r = progress.track(&label, expected, cfg.duration, &live, || match until {
            Some(u) => steady::run_rounds(&*clock, &live, stop, u, |end| {
                run_repetition(cfg, log, sink, clock.clone(), end, &live)
            }),
            None => run_repetition(cfg, log, sink, clock.clone(), stop, &live),
        });
        match r {
            Ok(mut m) => {
                m.repetition.index = rep;
                if let Some(u) = until {
                    steady::finish(&mut m.repetition, &mut m.interrupted, stop, u);
                }
                if let Some(mut f) = ReadFigures::of(&m.repetition) {
                    f.residency_before_ratio = Some(before.ratio());
                    f.insert_into(&mut m.repetition.extra);
                }
                m.repetition.extra.insert(
                    results::hdrlog::START_OFFSET_KEY.into(),
                    json!(start_offset_s),
                );
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
                break;
            }
            Err(e) => {
                progress.line(&format!("{label}: {e}"));
                status[w] = Status::Failed {
                    error: e.to_string(),
                };
            }
        }
    }

    let workloads = configs
        .iter()
        .enumerate()
        .map(|(w, cfg)| {
            let reps = std::mem::take(&mut reps[w]);
            let skipped = settle(&mut status[w], reps.len(), turns.stopped());
            let (medium, mut warnings) = classify(cfg, &reps);
            warnings.extend(skipped);
            if failed_checks[w] > 0 {
                warnings.push(format!(
                    "verification failed ({} problems): the delivered bytes do not match a valid log; see the error message",
                    failed_checks[w]
                ));
            }
            WorkloadResult::new(
                cfg.name(),
                Kind::Read,
                cfg.engine.to_string(),
                cfg.config_map(log, sink, caps[w].as_ref()),
                status[w].clone(),
                medium,
            )
            .with_repetitions(reps, warnings)
        })
        .collect();
    ReadOutcome {
        workloads,
        check_failures: failures,
        interrupted: interrupted || turns.stopped(),
        sink_failure,
        sync_failure,
    }
}
