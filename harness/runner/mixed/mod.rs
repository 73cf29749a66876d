//! The mixed runner: several parts — a write (produce, txn log, puts), reads (tail consumers
//! hot, a catch-up group cold, takes) and periodic writers (a ZooKeeper snapshot every
//! `snapCount` transactions, a Flume checkpoint every `checkpointInterval`) — set up apart,
//! released together through one start gate ([`LiveCounters::gated`](crate::runner::LiveCounters::gated))
//! and measured over the same interval, each with its own histograms, timeline and CPU (its
//! threads' `RUSAGE_THREAD`, not the process's). Each repetition runs the parts together, then
//! each part alone, so every part has a "with" and an "alone" row and the pairing
//! ([`results::interference`]).
//!
//! The write and read parts are the write and read runners' own repetitions
//! ([`write::run_repetition`](crate::runner::write::run_repetition),
//! [`read::run_repetition`](crate::runner::read::run_repetition)); only the periodic writer
//! is new ([`periodic`]).
//!
//! Files: this one (what defines a mixed workload: [`MixedConfig`], [`Part`]); [`periodic`]
//! (the snapshot / checkpoint writer and its schedule); [`runs`] (set-up, warm-up, repetitions
//! with and alone); `env` (what the runs share and what they gave); `rows` (the rows made from
//! the runs, paired). A suite `[[workload]]` of
//! `kind = "mixed"` becomes a [`MixedConfig`] in `crate::suite::mixed`.

mod env;
pub mod periodic;
mod rows;
pub mod runs;

use std::time::Duration;

use super::read::ReadConfig;
use super::write::WriteConfig;
pub use periodic::{PeriodicConfig, Schedule, Trigger};
pub use runs::{run_mixed, MixedOutcome};

/// One part of a mixed workload.
#[derive(Debug, Clone)]
pub enum Part {
    /// Appends (its `duration` is the mixed workload's).
    Write(WriteConfig),
    /// Consumers of a log written for this part first, `log_bytes` over `log_partitions`.
    Read {
        /// The consumers.
        cfg: ReadConfig,
        /// Size of the part's log.
        log_bytes: u64,
        /// Partitions of the part's log.
        log_partitions: u32,
    },
    /// A snapshot or checkpoint writer.
    Periodic(PeriodicConfig),
}

impl Part {
    /// `write`, `read`, `snapshot` or `checkpoint`.
    pub fn kind(&self) -> &'static str {
        match self {
            Part::Write(_) => "write",
            Part::Read { .. } => "read",
            Part::Periodic(p) => p.trigger.kind(),
        }
    }
}

/// Everything that defines one mixed workload.
#[derive(Debug, Clone)]
pub struct MixedConfig {
    /// The workload's name (rows are `<name>/<part>` and `<name>/<part> alone`).
    pub name: String,
    /// The parts, named, in order.
    pub parts: Vec<(String, Part)>,
    /// The measured interval.
    pub duration: Duration,
    /// Indices of the background parts: they run in every run, so another part's "alone"
    /// run is "without the other foreground parts" (the tail readers stay while the
    /// catch-up readers come and go).
    pub background: Vec<usize>,
}

impl MixedConfig {
    /// Bytes the workload holds at once in its data directories, known before it runs: each
    /// read part's log and each snapshot or checkpoint file (write parts run for the duration,
    /// their bytes are not known in advance).
    pub fn data_bytes(&self) -> u64 {
        self.parts
            .iter()
            .map(|(_, p)| match p {
                Part::Write(_) => 0,
                Part::Read { log_bytes, .. } => *log_bytes,
                Part::Periodic(c) => c.bytes,
            })
            .fold(0, u64::saturating_add)
    }

    /// The names of the parts whose presence tells part `i`'s "with" run from its "alone"
    /// run: the other parts, less the background ones unless `i` is one itself.
    pub fn beside(&self, i: usize) -> Vec<String> {
        let bg = self.background.contains(&i);
        self.parts
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != i && (bg || !self.background.contains(k)))
            .map(|(_, (n, _))| n.clone())
            .collect()
    }

    /// The parts of part `i`'s "alone" run: `i`, plus the background parts unless `i` is one.
    pub fn alone_set(&self, i: usize) -> Vec<usize> {
        if self.background.contains(&i) {
            return vec![i];
        }
        let mut set: Vec<usize> = self.background.clone();
        set.push(i);
        set.sort_unstable();
        set
    }

    /// The names of the background parts in part `i`'s "alone" run.
    pub fn kept(&self, i: usize) -> Vec<String> {
        self.alone_set(i)
            .into_iter()
            .filter(|k| *k != i)
            .map(|k| self.parts[k].0.clone())
            .collect()
    }

    /// The write part whose records a snapshot part counts (the first write part).
    pub fn record_source(&self) -> Option<usize> {
        self.parts
            .iter()
            .position(|(_, p)| matches!(p, Part::Write(_)))
    }
}

/// Where a periodic part's files are relative to the data directory `data`: `same
/// directory`, or `same device` / `separate device` by the directories' `st_dev` (ZooKeeper's
/// admin guide puts `dataLogDir` on its own device because snapshots stretch the log's fsync).
pub fn placement(data: &std::path::Path, snap_dir: Option<&std::path::Path>) -> String {
    use std::os::unix::fs::MetadataExt;
    let Some(other) = snap_dir else {
        return "same directory, so the same device".into();
    };
    match (std::fs::metadata(data), std::fs::metadata(other)) {
        (Ok(a), Ok(b)) if a.dev() == b.dev() => format!("same device (st_dev {:#x})", a.dev()),
        (Ok(a), Ok(b)) => format!("separate device (st_dev {:#x} and {:#x})", a.dev(), b.dev()),
        _ => "unknown (cannot stat the directories)".into(),
    }
}
