//! What a mixed workload's runs share ([`Env`]: the read parts' logs and sink, the data
//! directories, the clock) and what they gave, per part, for the rows ([`Tally`]). `runs`
//! makes both; `rows` reads them.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use results::{Repetition, Status};
use workloads::pacing::Clock;

use super::MixedConfig;
use crate::datadir::DataDir;
use crate::runner::read::{LogSet, SinkTarget};
use crate::sink::server::Sink;

/// What the runs share: the read parts' logs and the sink, the data directories, the clock.
pub(super) struct Env<'a> {
    /// The workload.
    pub(super) cfg: &'a MixedConfig,
    /// Per part, its log when it is a read part.
    pub(super) logs: Vec<Option<LogSet>>,
    /// The loopback sink the read parts send to (kept until the rows are made), and where it
    /// listens.
    pub(super) sink: Option<(Sink, SinkTarget)>,
    /// Every data directory (a write part spreads its partitions over them).
    pub(super) data: &'a [DataDir],
    /// The first data directory: the read parts' logs, the storage context of the rows.
    pub(super) first: &'a DataDir,
    /// Where periodic parts write (`--snap-dir`), else the first data directory.
    pub(super) snap: &'a DataDir,
    /// The clock every part times with.
    pub(super) clock: Arc<dyn Clock>,
    /// Set when the run is to stop.
    pub(super) stop: &'a AtomicBool,
    /// `--verify`: each part checks what it wrote or read.
    pub(super) verify: bool,
    /// `--keep`: the measured runs' files and the logs stay.
    pub(super) keep: bool,
    /// Prefix of the data directories' children, e.g. `m3`.
    pub(super) tag: String,
}

/// What the warm-up and the repetitions gave, per part, for the rows.
pub(super) struct Tally {
    /// `reps[i][0]`: part `i` with the others; `reps[i][1]`: alone.
    pub(super) reps: Vec<[Vec<Repetition>; 2]>,
    /// Each part's status so far.
    pub(super) status: Vec<Status>,
    /// The first write engine's capabilities each part reported.
    pub(super) write_caps: Vec<Option<workloads::write::Caps>>,
    /// The first read engine's capabilities each part reported.
    pub(super) read_caps: Vec<Option<workloads::read::Caps>>,
    /// Verification failures, `<workload>/<part>: <failure>`.
    pub(super) failures: Vec<String>,
    /// True when a run was stopped (or a part was interrupted).
    pub(super) interrupted: bool,
    /// True when a part could not run: no further run starts.
    pub(super) failed: bool,
}

impl Env<'_> {
    /// Where the read parts send.
    pub(super) fn sink_target(&self) -> Option<&SinkTarget> {
        self.sink.as_ref().map(|s| &s.1)
    }
}

impl Tally {
    /// Nothing run yet: every part completed so far.
    pub(super) fn new(n: usize) -> Self {
        Tally {
            reps: (0..n).map(|_| [Vec::new(), Vec::new()]).collect(),
            status: vec![Status::Completed; n],
            write_caps: vec![None; n],
            read_caps: vec![None; n],
            failures: Vec::new(),
            interrupted: false,
            failed: false,
        }
    }
}
