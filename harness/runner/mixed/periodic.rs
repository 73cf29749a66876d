//! The periodic writer of a mixed workload: a ZooKeeper snapshot (the data tree dumped every
//! `snapCount` transactions of the txn log) or a Flume checkpoint (the channel's queue of
//! `capacity × 8` bytes written every `checkpointInterval`). Each one writes a whole file in
//! 1 MiB writes, syncs it (fsync), and replaces the previous one; its latency runs from the
//! first write to the end of the sync, the sync alone is the flush latency.
//!
//! The schedule ([`Schedule`]) is pure: it is given the time and the watched part's record
//! count and says when the next one is due, so it is tested without a clock or a disk.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use results::figures::{ExtraFigures, MixedPartFigures};
use results::{hist, Repetition, ThreadStats};
use segmodel::XorShift64Star;
use workloads::pacing::Clock;
use workloads::EngineError;

use crate::runner::timeline::{TimelineRecorder, DEFAULT_INTERVAL_NS};
use crate::runner::LiveCounters;
use crate::usage::CpuSnapshot;

/// Bytes per write of a snapshot or checkpoint.
const CHUNK_BYTES: usize = 1 << 20;
/// How long the writer sleeps between looks at its schedule.
const POLL: Duration = Duration::from_millis(1);

/// When a periodic writer writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// ZooKeeper: after `snapCount / 2 + roll` transactions of the watched write part since the
    /// last snapshot, `roll` drawn in `[0, snapCount / 2)` each time (ZooKeeper's
    /// `SyncRequestProcessor` randomizes so servers do not snapshot together).
    Records {
        /// `snapCount`.
        snap_count: u64,
    },
    /// Flume: `interval` after the previous checkpoint ended (a fixed-delay schedule).
    Every(Duration),
}

impl Trigger {
    /// `snapshot` or `checkpoint`.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Records { .. } => "snapshot",
            Trigger::Every(_) => "checkpoint",
        }
    }
}

/// What a periodic writer writes, when, and where.
#[derive(Debug, Clone)]
pub struct PeriodicConfig {
    /// Bytes of each snapshot / checkpoint.
    pub bytes: u64,
    /// When.
    pub trigger: Trigger,
    /// Another directory for the files (ZooKeeper's `dataDir` apart from `dataLogDir`); none:
    /// the mixed workload's first data directory.
    pub dir: Option<PathBuf>,
}

impl PeriodicConfig {
    /// Every option, for the results file.
    pub fn config_map(&self) -> std::collections::BTreeMap<String, serde_json::Value> {
        use serde_json::json;
        let mut m = std::collections::BTreeMap::new();
        m.insert("bytes".into(), json!(self.bytes));
        match self.trigger {
            Trigger::Records { snap_count } => m.insert("snap_count".into(), json!(snap_count)),
            Trigger::Every(d) => m.insert("interval_s".into(), json!(d.as_secs_f64())),
        };
        m.insert(
            "dir".into(),
            json!(self.dir.as_ref().map(|d| d.display().to_string())),
        );
        m
    }
}

/// The snapshot roll: the one seeded generator ([`XorShift64Star`]), so runs are reproducible.
#[derive(Debug, Clone)]
struct Roll(XorShift64Star);

impl Roll {
    /// A draw in `0..n` (the draw modulo `n`); `0` for `n == 0`, a draw taken all the same.
    fn below(&mut self, n: u64) -> u64 {
        let x = self.0.next_u64();
        if n == 0 {
            0
        } else {
            x % n
        }
    }
}

/// When the next snapshot or checkpoint is due.
#[derive(Debug, Clone)]
pub struct Schedule {
    trigger: Trigger,
    /// Records of the watched part at the last snapshot.
    base_records: u64,
    /// Records after `base_records` at which the next snapshot is due.
    threshold: u64,
    /// Time (ns) at which the next checkpoint is due.
    due_ns: u64,
    roll: Roll,
    /// With no records to count (the snapshot part alone): one snapshot, at the start.
    once: bool,
    fired: u64,
}

impl Schedule {
    /// A schedule starting at `start_ns`; `counting` says whether a write part's records are
    /// there to be counted (a snapshot part run alone writes one snapshot, at once; a
    /// checkpoint keeps its interval either way).
    pub fn new(trigger: Trigger, start_ns: u64, counting: bool, seed: u64) -> Self {
        let mut s = Schedule {
            trigger,
            base_records: 0,
            threshold: 0,
            due_ns: 0,
            roll: Roll(XorShift64Star::new(seed | 1)),
            once: !counting && matches!(trigger, Trigger::Records { .. }),
            fired: 0,
        };
        s.rearm(start_ns, 0);
        s
    }

    fn rearm(&mut self, now_ns: u64, records: u64) {
        match self.trigger {
            Trigger::Records { snap_count } => {
                self.base_records = records;
                let half = snap_count / 2;
                self.threshold = half + self.roll.below(half);
            }
            Trigger::Every(d) => self.due_ns = now_ns + d.as_nanos() as u64,
        }
    }

    /// True when one is due at `now_ns` with `records` counted so far.
    pub fn due(&self, now_ns: u64, records: u64) -> bool {
        match self.trigger {
            Trigger::Records { .. } if self.once => self.fired == 0,
            Trigger::Records { .. } => records.saturating_sub(self.base_records) > self.threshold,
            Trigger::Every(_) => now_ns >= self.due_ns,
        }
    }

    /// True when nothing more will ever be due (a snapshot part alone, after its one).
    pub fn finished(&self) -> bool {
        self.once && self.fired > 0
    }

    /// Notes that one started at `start_records` and ended at `end_ns`: a snapshot counts
    /// from the transaction that triggered it (ZooKeeper resets its count when it starts the
    /// snapshot thread), a checkpoint's interval runs from the previous one's end.
    pub fn fired(&mut self, start_records: u64, end_ns: u64) {
        self.fired += 1;
        self.rearm(end_ns, start_records);
    }
}

/// Where a periodic writer reads the watched part's progress: its acknowledged bytes, and the
/// bytes per record (framing shared out), so records = bytes / bytes-per-record.
#[derive(Debug, Clone, Copy)]
pub struct RecordSource<'a> {
    /// The watched part's live counters.
    pub live: &'a LiveCounters,
    /// Bytes per record of its batches (batch bytes / records per batch).
    pub bytes_per_record: f64,
}

impl RecordSource<'_> {
    fn records(&self) -> u64 {
        if self.bytes_per_record <= 0.0 {
            return 0;
        }
        (self.live.bytes.load(Ordering::Relaxed) as f64 / self.bytes_per_record) as u64
    }
}

/// The name of the `n`-th file of a `kind` writer: `snapshot.<n, 20 digits>` (a name the data
/// directory's clean-up knows as segbench's).
pub fn file_name(kind: &str, n: u64) -> String {
    format!("{kind}.{n:020}")
}

/// Runs the periodic writer in `dir` for `duration` after the start gate of `live` (a snapshot
/// alone: until its one snapshot is written); one snapshot / checkpoint per due time. The file names are [`file_name`]; the previous one is
/// removed after each (ZooKeeper purges old snapshots; Flume rewrites its checkpoint).
pub fn run_periodic(
    cfg: &PeriodicConfig,
    dir: &std::path::Path,
    duration: Duration,
    source: Option<RecordSource<'_>>,
    clock: &dyn Clock,
    stop: &AtomicBool,
    live: &LiveCounters,
) -> Result<(Repetition, bool), EngineError> {
    let chunk: Vec<u8> = (0..CHUNK_BYTES).map(|i| (i % 251) as u8 + 1).collect();
    let kind = cfg.trigger.kind();
    live.wait_start();
    let cpu0 = CpuSnapshot::thread();
    let start = clock.now_ns();
    let end = start + duration.as_nanos() as u64;
    let mut schedule = Schedule::new(cfg.trigger, start, source.is_some(), start);
    let mut latency = hist::new_hist();
    let mut sync_latency = hist::new_hist();
    let mut timeline = TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, end - start);
    let (mut bytes, mut count) = (0u64, 0u64);
    let mut previous: Option<PathBuf> = None;
    let mut interrupted = false;
    let mut now = start;
    while now < end {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        if schedule.finished() {
            break;
        }
        let records = source.map_or(0, |s| s.records());
        if !schedule.due(now, records) {
            std::thread::sleep(POLL.min(Duration::from_nanos(end - now)));
            now = clock.now_ns();
            continue;
        }
        let path = dir.join(file_name(kind, count));
        let t0 = clock.now_ns();
        let io = |e: std::io::Error, what: &'static str| EngineError::io(what, &path, e, 0);
        let mut f = File::create(&path).map_err(|e| io(e, "create"))?;
        let mut left = cfg.bytes;
        while left > 0 {
            let n = left.min(CHUNK_BYTES as u64) as usize;
            f.write_all(&chunk[..n]).map_err(|e| io(e, "write"))?;
            left -= n as u64;
            live.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        let t_sync = clock.now_ns();
        f.sync_all().map_err(|e| io(e, "fsync"))?;
        now = clock.now_ns();
        hist::record(&mut sync_latency, now - t_sync);
        hist::record(&mut latency, now - t0);
        timeline.record(now, cfg.bytes);
        bytes += cfg.bytes;
        count += 1;
        schedule.fired(records, now);
        if let Some(p) = previous.replace(path) {
            let _ = std::fs::remove_file(p);
        }
    }
    let end_ns = clock.now_ns().max(start + 1);
    let cpu = CpuSnapshot::thread().since(&cpu0);
    let elapsed_s = (end_ns - start) as f64 / 1e9;
    let mut extra = std::collections::BTreeMap::new();
    // `snapshots` or `checkpoints`: how many were written.
    let figures = match cfg.trigger {
        Trigger::Records { .. } => MixedPartFigures {
            snapshots: Some(count),
            ..MixedPartFigures::default()
        },
        Trigger::Every(_) => MixedPartFigures {
            checkpoints: Some(count),
            ..MixedPartFigures::default()
        },
    };
    figures.insert_into(&mut extra);
    let rep = Repetition {
        index: 0,
        bytes,
        records: count,
        batches: count,
        elapsed_s,
        throughput_bytes_per_s: bytes as f64 / elapsed_s,
        records_per_s: count as f64 / elapsed_s,
        cpu_user_s: cpu.user_s,
        cpu_sys_s: cpu.sys_s,
        cpu_s_per_gb: results::stats::cpu_s_per_gb(cpu.user_s + cpu.sys_s, bytes),
        device_bytes: Some(bytes),
        storage_io_bytes: None,
        latency_ns: hist::summarize(&latency),
        flush_latency_ns: (!sync_latency.is_empty()).then(|| hist::summarize(&sync_latency)),
        roll_latency_ns: None,
        timeline: timeline.finish(end_ns),
        threads: vec![ThreadStats {
            index: 0,
            bytes,
            cpu_user_s: cpu.user_s,
            cpu_sys_s: cpu.sys_s,
        }],
        context_switches: Some(cpu.context_switches),
        harness_overhead_ratio: None,
        extra,
        nic_traffic: Vec::new(),
    };
    Ok((rep, interrupted))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    /// Every due time of `trigger` when records grow by `per_s` a second over `secs` seconds,
    /// looked at every 10 ms, each snapshot taking `takes_ns`: (time, records) at each start.
    fn fire_times(trigger: Trigger, per_s: u64, secs: u64, takes_ns: u64) -> Vec<(u64, u64)> {
        let mut s = Schedule::new(trigger, 0, true, 42);
        let mut out = Vec::new();
        let mut t = 0;
        while t < secs * S {
            let records = per_s * t / S;
            if s.due(t, records) {
                out.push((t, records));
                t += takes_ns;
                s.fired(records, t);
            } else {
                t += S / 100;
            }
        }
        out
    }

    #[test]
    fn a_snapshot_is_due_after_between_half_and_all_of_snap_count_transactions() {
        let fires = fire_times(Trigger::Records { snap_count: 10_000 }, 10_000, 60, S / 2);
        // 600,000 transactions, one snapshot per 5,000..10,000 of them.
        assert!((60..=120).contains(&fires.len()), "{}", fires.len());
        let gaps: Vec<u64> = fires.windows(2).map(|w| w[1].1 - w[0].1).collect();
        assert!(
            gaps.iter().all(|g| (5_000..=10_100).contains(g)),
            "{gaps:?}"
        );
        // The roll is random: not every gap is the same.
        assert!(gaps.iter().any(|g| *g != gaps[0]), "{gaps:?}");
        // Without transactions nothing is due.
        let s = Schedule::new(Trigger::Records { snap_count: 100 }, 0, true, 7);
        assert!(!s.due(100 * S, 0));
    }

    #[test]
    fn a_snapshot_alone_is_written_once_at_the_start() {
        let mut s = Schedule::new(Trigger::Records { snap_count: 100 }, 5, false, 7);
        assert!(s.due(5, 0));
        assert!(!s.finished());
        s.fired(0, 10);
        assert!(!s.due(1000 * S, u64::MAX));
        assert!(s.finished());
    }

    #[test]
    fn a_checkpoint_is_due_an_interval_after_the_previous_one_ended() {
        let fires = fire_times(Trigger::Every(Duration::from_secs(30)), 0, 100, 2 * S);
        let times: Vec<u64> = fires.iter().map(|f| f.0).collect();
        // 30 s, then 30 s after the 2 s checkpoint ended: 62 s, 94 s.
        assert_eq!(times, [30 * S, 62 * S, 94 * S]);
        // Alone (nothing to count) a checkpoint keeps its interval.
        let mut s = Schedule::new(Trigger::Every(Duration::from_secs(30)), 0, false, 1);
        assert!(!s.due(29 * S, 0) && s.due(30 * S, 0));
        s.fired(0, 31 * S);
        assert!(!s.finished() && s.due(61 * S, 0));
    }
}
