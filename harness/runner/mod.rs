//! The runner: warm-up, interleaved repetitions, live progress, and the assembly of finished
//! workloads. Engines only move bytes; everything here measures.
//!
//! - [`execute`]: the executor, a list of typed workloads run in order (sweeps, `best`, the
//!   read log reused, not-run rows after a stop);
//! - [`write`](mod@write): the write runner (configuration, one repetition, the measured loop, its
//!   figures, and the runs of every write workload);
//! - [`read`]: the read runner (configuration, the log, the consumers, their figures, and
//!   what `run` and `read` do around the runs);
//! - [`replicate`](mod@replicate): a replicate workload's acks modes, repetitions interleaved,
//!   followers in this process or joined from others;
//! - [`steady`]: `--until-steady`, rounds until the SNIA PTS steady state;
//! - [`progress`], [`timeline`], [`usage`](crate::usage), [`storage`]: live progress, throughput time
//!   series, CPU and I/O counters, and what a storage result measures.
//!
//! This file holds what both runners share: a repetition's [`Limit`], the [`LiveCounters`]
//! progress reads, why a repetition did not produce figures ([`RunError`]), the order of the
//! interleaved repetitions ([`Interleaved`]), and a skipped workload's warning
//! ([`skip_warning`]), and the hook a fleet run synchronises hosts with ([`RepSync`]).

pub mod execute;
pub mod mixed;
pub mod progress;
pub mod read;
pub mod replicate;
pub mod steady;
pub mod storage;
pub mod timeline;
pub mod write;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use results::Status;

/// Why a repetition did not produce figures.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The engine cannot run here: report a skip.
    #[error("{0}")]
    Unsupported(String),
    /// An engine or file-system error mid-run.
    #[error(transparent)]
    Engine(#[from] workloads::EngineError),
    /// The stop flag (a signal) ended it before it measured anything: what it was doing.
    #[error("interrupted {0}")]
    Interrupted(String),
}

impl RunError {
    /// The workload's status after this error: skipped when the engine is not supported here,
    /// interrupted when a signal stopped it, else failed.
    pub fn status(&self) -> Status {
        match self {
            RunError::Unsupported(reason) => Status::Skipped {
                reason: reason.clone(),
            },
            RunError::Engine(err) => Status::Failed {
                error: err.to_string(),
            },
            RunError::Interrupted(_) => Status::Interrupted,
        }
    }
}

/// A barrier before each measured unit (a measured repetition, a workload's warm-up), for a
/// run that is one host's part of a fleet run (`segbench run --fleet-sync`): every host waits
/// until all are ready for the same unit, then all start it at one common instant, so the
/// cluster aggregate is over windows that truly overlap. Called only between repetitions, never
/// in a measured loop; a run without it reads no extra clock and takes no lock.
pub trait RepSync: Send + Sync + std::fmt::Debug {
    /// Blocks until every host is ready for `label` (e.g. `w3-r1`) and the common start has
    /// come; returns the start as seconds after the host's phase began (recorded as the
    /// repetition's start offset), or why the run must stop (another host failed, the labels
    /// of the hosts differ, the stop flag was set).
    fn wait(&self, label: &str, stop: &AtomicBool) -> Result<f64, String>;
}

/// The start offset to record for a repetition about to start: after `sync`'s barrier when
/// there is one, else the time since this process started ([`crate::meta::since_start_s`]).
pub fn start_of(sync: Option<&dyn RepSync>, label: &str, stop: &AtomicBool) -> Result<f64, String> {
    match sync {
        Some(s) => s.wait(label, stop),
        None => Ok(crate::meta::since_start_s()),
    }
}

/// Limits of one repetition (a warm-up uses its own).
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Stop after this many bytes (all threads).
    pub bytes: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

/// What a running repetition shares with the outside: the counters a progress display, the
/// `--until-steady` watcher or a sibling part of a mixed workload reads, and the common start
/// it waits for.
#[derive(Debug, Default)]
pub struct LiveCounters {
    /// Bytes acknowledged so far (all threads).
    pub bytes: std::sync::atomic::AtomicU64,
    /// The runner's clock when the repetition's threads started (0 until then).
    pub start_ns: std::sync::atomic::AtomicU64,
    /// A mixed workload's common start: every part waits here once its own set-up is done
    /// and right before releasing its threads, so the parts are measured over one interval.
    pub start_gate: Option<std::sync::Arc<std::sync::Barrier>>,
    /// True once [`Self::wait_start`] returned (a part that failed before its start still
    /// has to pass the gate, or its siblings would wait for ever).
    pub started: AtomicBool,
}

impl LiveCounters {
    /// Counters that wait at `gate` before starting (a part of a mixed workload).
    pub fn gated(gate: std::sync::Arc<std::sync::Barrier>) -> Self {
        LiveCounters {
            start_gate: Some(gate),
            ..Default::default()
        }
    }

    /// Waits at the start gate, if there is one; called by a runner right before it releases
    /// its measured threads.
    pub fn wait_start(&self) {
        if let Some(g) = &self.start_gate {
            if !self.started.swap(true, Ordering::AcqRel) {
                g.wait();
            }
        }
    }
}

/// The turns of a run's repetitions, interleaved across its workloads (A B C A B C …) so that
/// drift on a noisy machine hits all alike. A workload whose status is no longer
/// [`Status::Completed`] (skipped, failed, interrupted) gets no further turns; the stop flag
/// ends the run before the next turn.
#[derive(Debug)]
pub struct Interleaved {
    repeat: u32,
    workloads: usize,
    rep: u32,
    next: usize,
    stopped: bool,
}

impl Interleaved {
    /// The turns of `repeat` repetitions of `workloads` workloads.
    pub fn new(repeat: u32, workloads: usize) -> Self {
        Interleaved {
            repeat,
            workloads,
            rep: 0,
            next: 0,
            stopped: false,
        }
    }

    /// The next turn, (repetition, workload index), given each workload's status now; `None`
    /// when every turn is done, or when `stop` is set at a workload's turn ([`Self::stopped`]).
    pub fn next_turn(&mut self, status: &[Status], stop: &AtomicBool) -> Option<(u32, usize)> {
        while !self.stopped && self.rep < self.repeat {
            if self.next == self.workloads {
                self.rep += 1;
                self.next = 0;
                continue;
            }
            let w = self.next;
            self.next += 1;
            if !matches!(status[w], Status::Completed) {
                continue;
            }
            if stop.load(Ordering::Relaxed) {
                self.stopped = true;
                return None;
            }
            return Some((self.rep, w));
        }
        None
    }

    /// True when the stop flag (or [`Self::halt`]) ended the turns early.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Ends the turns now, as the stop flag would (a fleet barrier failed).
    pub fn halt(&mut self) {
        self.stopped = true;
    }
}

/// Why a workload has no results: the run was stopped before its turn.
pub const NOT_RUN: &str = "not run: the run was stopped before it";

/// Settles the status a workload ends with — one that never had a repetition because the run
/// stopped first is "not run" (skipped), never "completed" — and returns the warning a skipped
/// workload's results carry ([`skip_warning`]).
pub fn settle(status: &mut Status, repetitions: usize, stopped: bool) -> Option<String> {
    if matches!(status, Status::Completed) && stopped && repetitions == 0 {
        *status = Status::Skipped {
            reason: NOT_RUN.into(),
        };
    }
    skip_warning(status)
}

/// The warning a workload's results carry when it was skipped: why.
pub fn skip_warning(status: &Status) -> Option<String> {
    match status {
        Status::Skipped { reason } => Some(format!("skipped: {reason}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every turn `turns` gives, with `on_turn` run after each (it may change the status).
    fn turns(
        repeat: u32,
        status: &mut [Status],
        stop: &AtomicBool,
        mut on_turn: impl FnMut(u32, usize, &mut [Status]),
    ) -> (Vec<(u32, usize)>, bool) {
        let mut it = Interleaved::new(repeat, status.len());
        let mut seen = Vec::new();
        while let Some((rep, w)) = it.next_turn(status, stop) {
            seen.push((rep, w));
            on_turn(rep, w, status);
        }
        (seen, it.stopped())
    }

    #[test]
    fn repetitions_are_interleaved_a_b_c_a_b_c() {
        let mut status = vec![Status::Completed; 3];
        let (seen, stopped) = turns(2, &mut status, &AtomicBool::new(false), |_, _, _| {});
        assert_eq!(seen, [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
        assert!(!stopped);
        let (seen, _) = turns(0, &mut status, &AtomicBool::new(false), |_, _, _| {});
        assert!(seen.is_empty());
        let (seen, _) = turns(3, &mut [], &AtomicBool::new(false), |_, _, _| {});
        assert!(seen.is_empty());
    }

    #[test]
    fn a_workload_no_longer_completed_gets_no_more_turns() {
        let mut status = vec![Status::Completed; 3];
        let (seen, stopped) = turns(3, &mut status, &AtomicBool::new(false), |rep, w, s| {
            if rep == 0 && w == 1 {
                s[w] = Status::Interrupted;
            }
        });
        assert_eq!(
            seen,
            [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 2)]
        );
        assert!(!stopped);
    }

    #[test]
    fn the_stop_flag_ends_the_turns_at_the_next_workload_still_running() {
        let mut status = vec![Status::Completed; 3];
        let stop = AtomicBool::new(false);
        let (seen, stopped) = turns(2, &mut status, &stop, |rep, w, s| {
            if rep == 0 && w == 0 {
                s[1] = Status::Interrupted;
                stop.store(true, Ordering::Relaxed);
            }
        });
        assert_eq!(seen, [(0, 0)]);
        assert!(stopped);
        // Nothing left to run: the flag is not looked at, the run is not stopped.
        let mut done = vec![Status::Interrupted; 2];
        let (seen, stopped) = turns(2, &mut done, &AtomicBool::new(true), |_, _, _| {});
        assert!(seen.is_empty());
        assert!(!stopped);
    }

    #[test]
    fn only_a_skipped_workload_carries_a_skip_warning() {
        let skipped = Status::Skipped {
            reason: "io_uring is disabled".into(),
        };
        assert_eq!(
            skip_warning(&skipped).as_deref(),
            Some("skipped: io_uring is disabled")
        );
        assert_eq!(skip_warning(&Status::Completed), None);
        assert_eq!(skip_warning(&Status::Interrupted), None);
    }
}
