//! A mixed workload's runs: each read part's log written first, one warm-up with every part,
//! then per repetition the parts together and each part alone (interleaved, so drift hits
//! both alike). One function per step: `Env::set_up` (the logs, the sink), the runs
//! (`Env::warm_up`, `Env::repetitions`, each run a set of parts released through one gate,
//! `Env::run_set`) gathered in a `Tally`, then the rows (`rows::assemble`) and
//! `Env::clean_up`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use results::figures::{CpuScope, ExtraFigures, MixedPartFigures};
use results::{Repetition, Status, WorkloadResult};
use workloads::pacing::Clock;

use super::env::{Env, Tally};
use super::periodic::{run_periodic, RecordSource};
use super::{rows, MixedConfig, Part, PeriodicConfig};
use crate::datadir::DataDir;
use crate::runner::progress::Progress;
use crate::runner::read::{self, prepare_cache, LogSet};
use crate::runner::write::runs::{create_children, remove_children, verify_written};
use crate::runner::write::{self, RunOptions};
use crate::runner::{Limit, LiveCounters, RunError};

/// A mixed workload's rows plus what stopped it.
#[derive(Debug)]
pub struct MixedOutcome {
    /// Per part, the row with the others running then the row alone.
    pub workloads: Vec<WorkloadResult>,
    /// Verification failures (the run worked but a check failed: exit 1).
    pub check_failures: Vec<String>,
    /// True when stopped early.
    pub interrupted: bool,
}

/// What one part's run gave.
struct PartRun {
    repetition: Repetition,
    write_caps: Option<workloads::write::Caps>,
    read_caps: Option<workloads::read::Caps>,
    interrupted: bool,
    check: Vec<String>,
}

/// Runs `cfg`: logs first, warm-up, then `opts.repeat` repetitions of the parts together and
/// each alone. Errors only when a read part's log cannot be written or the sink cannot start.
/// In three steps: `Env::set_up`, the runs (`Env::warm_up`, `Env::repetitions`), and the
/// rows (`rows::assemble`, then `Env::clean_up`).
pub fn run_mixed(
    cfg: &MixedConfig,
    opts: &RunOptions,
    data: &[DataDir],
    snap: Option<&DataDir>,
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    progress: &Progress,
) -> anyhow::Result<MixedOutcome> {
    if let Some(first) = data.first() {
        crate::budget::check_space(
            first.path(),
            cfg.data_bytes(),
            "lower the read parts' size and the snapshot and checkpoint sizes, or use --dir on a larger file system",
        )
        .map_err(crate::bad_input)?;
    }
    let env = Env::set_up(cfg, opts, data, snap, clock, stop, progress)?;
    let mut tally = Tally::new(cfg.parts.len());
    env.warm_up(opts.warmup, &mut tally, progress);
    env.repetitions(opts.repeat, &mut tally, progress);
    tally.skip_the_rest();
    let failures = std::mem::take(&mut tally.failures);
    let interrupted = tally.interrupted;
    let rows = rows::assemble(&env, tally);
    env.clean_up();
    Ok(MixedOutcome {
        workloads: rows,
        check_failures: failures,
        interrupted: interrupted || stop.load(Ordering::Relaxed),
    })
}

impl<'a> Env<'a> {
    /// Everything before the first run: each read part's log written in the first data
    /// directory (`<tag>-<part>-log`), opened, and a loopback sink with room for every
    /// consumer when there is a read part.
    fn set_up(
        cfg: &'a MixedConfig,
        opts: &RunOptions,
        data: &'a [DataDir],
        snap: Option<&'a DataDir>,
        clock: Arc<dyn Clock>,
        stop: &'a AtomicBool,
        progress: &Progress,
    ) -> anyhow::Result<Env<'a>> {
        let tag = format!("m{}", opts.first_workload);
        let Some(first) = data.first() else {
            anyhow::bail!("no data directory");
        };
        let mut logs = Vec::new();
        let mut sessions = 8;
        for (name, part) in &cfg.parts {
            logs.push(match part {
                Part::Read {
                    cfg: rc,
                    log_bytes,
                    log_partitions,
                } => {
                    sessions += (rc.groups * rc.consumers) as usize;
                    let dir = read::prepare::write_log_in(
                        first,
                        &format!("{tag}-{name}-log"),
                        *log_bytes,
                        *log_partitions,
                        read::prepare::DEFAULT_SEGMENT_SIZE,
                        stop,
                        progress,
                    )?;
                    Some(
                        LogSet::open(std::slice::from_ref(&dir))
                            .map_err(|e| anyhow::anyhow!("{e}"))?,
                    )
                }
                _ => None,
            });
        }
        let sink = if logs.iter().any(Option::is_some) {
            Some(read::prepare::local_sink(sessions)?)
        } else {
            None
        };
        Ok(Env {
            cfg,
            logs,
            sink,
            data,
            first,
            snap: snap.unwrap_or(first),
            clock,
            stop,
            verify: opts.verify,
            keep: opts.keep,
            tag,
        })
    }

    /// Every part together for `warmup` (none when zero); a part that cannot run fails the
    /// workload.
    fn warm_up(&self, warmup: Duration, tally: &mut Tally, progress: &Progress) {
        if warmup.is_zero() {
            return;
        }
        let all: Vec<usize> = (0..self.cfg.parts.len()).collect();
        let label = format!("mixed {} warm-up", self.cfg.name);
        if let Err((i, e)) = self.run_set(&all, warmup, "warmup", progress, &label) {
            tally.status[i] = e.status();
            tally.failed = true;
        }
    }

    /// `repeat` repetitions, each the parts together then each part alone (with the
    /// background parts), until one cannot run or the run is stopped.
    fn repetitions(&self, repeat: u32, tally: &mut Tally, progress: &Progress) {
        let cfg = self.cfg;
        let n = cfg.parts.len();
        for rep in 0..repeat {
            if tally.failed {
                return;
            }
            // (parts run, the part an "alone" run is for): together, then each alone.
            let sets = std::iter::once(((0..n).collect::<Vec<_>>(), None))
                .chain((0..n).map(|i| (cfg.alone_set(i), Some(i))));
            for (set, alone) in sets {
                if self.stop.load(Ordering::Relaxed) {
                    tally.interrupted = true;
                    return;
                }
                let what = match alone {
                    None => "together".to_string(),
                    Some(of) => rows::alone_label(cfg, of),
                };
                let label = format!("mixed {} {what} rep {}/{repeat}", cfg.name, rep + 1);
                let child = format!("r{rep}-{}", if alone.is_none() { "with" } else { "alone" });
                match self.run_set(&set, cfg.duration, &child, progress, &label) {
                    Ok(runs) => tally.keep(cfg, rep, alone, runs, progress, &label),
                    Err((i, e)) => {
                        progress.line(&format!("{label}: {}: {e}", cfg.parts[i].0));
                        tally.status[i] = e.status();
                        tally.failed = true;
                        return;
                    }
                }
            }
        }
    }

    /// After the rows: the sink stopped, then the read parts' logs removed (unless `keep`).
    fn clean_up(self) {
        drop(self.sink);
        if !self.keep {
            for (name, part) in &self.cfg.parts {
                if matches!(part, Part::Read { .. }) {
                    self.first.remove_child(&format!("{}-{name}-log", self.tag));
                }
            }
        }
    }
}

impl Tally {
    /// Keeps the runs of repetition `rep`'s run `alone` (`None`: the parts together). An
    /// "alone" run keeps only its own part's figures (the background parts in it have theirs
    /// from the run together and their own).
    fn keep(
        &mut self,
        cfg: &MixedConfig,
        rep: u32,
        alone: Option<usize>,
        runs: Vec<(usize, PartRun)>,
        progress: &Progress,
        label: &str,
    ) {
        let slot = usize::from(alone.is_some());
        for (i, mut r) in runs
            .into_iter()
            .filter(|(i, _)| alone.map_or(true, |of| *i == of))
        {
            r.repetition.index = rep;
            progress.done(&format!("{label}: {}", cfg.parts[i].0), &r.repetition);
            self.interrupted |= r.interrupted;
            if r.interrupted {
                self.status[i] = Status::Interrupted;
            }
            self.write_caps[i] = self.write_caps[i].or(r.write_caps);
            self.read_caps[i] = self.read_caps[i].or(r.read_caps);
            self.failures.extend(
                r.check
                    .into_iter()
                    .map(|c| format!("{}/{}: {c}", cfg.name, cfg.parts[i].0)),
            );
            self.reps[i][slot].push(r.repetition);
        }
    }

    /// When a part could not run, the others are skipped: they lack their "with" figures.
    fn skip_the_rest(&mut self) {
        if !self.failed {
            return;
        }
        for s in self
            .status
            .iter_mut()
            .filter(|s| matches!(s, Status::Completed))
        {
            *s = Status::Skipped {
                reason: "another part of the mixed workload could not run".into(),
            };
        }
    }
}

/// The CPU of a part: its own threads' (`RUSAGE_THREAD`), not the process's, which holds
/// every part's.
fn own_cpu(r: &mut Repetition, scope: CpuScope) {
    let user: f64 = r.threads.iter().map(|t| t.cpu_user_s).sum();
    let sys: f64 = r.threads.iter().map(|t| t.cpu_sys_s).sum();
    r.cpu_user_s = user;
    r.cpu_sys_s = sys;
    r.cpu_s_per_gb = results::stats::cpu_s_per_gb(user + sys, r.bytes);
    MixedPartFigures {
        cpu_scope: Some(scope),
        ..MixedPartFigures::default()
    }
    .insert_into(&mut r.extra);
}

impl Env<'_> {
    /// Runs the parts `set` together for `duration`, released through one start gate, in
    /// the data directories' children `<tag>-<child>-<part>`. Returns each part's run, or the
    /// first part that failed.
    fn run_set(
        &self,
        set: &[usize],
        duration: Duration,
        child: &str,
        progress: &Progress,
        label: &str,
    ) -> Result<Vec<(usize, PartRun)>, (usize, RunError)> {
        let cfg = self.cfg;
        let dirs = self.prepare_set(set, child)?;
        let gate = Arc::new(Barrier::new(set.len() + 1));
        let lives: Vec<LiveCounters> = cfg
            .parts
            .iter()
            .map(|_| LiveCounters::gated(gate.clone()))
            .collect();
        let source = cfg
            .record_source()
            .filter(|s| set.contains(s))
            .and_then(|s| match &cfg.parts[s].1 {
                Part::Write(wc) => {
                    let shape = wc.shape().ok()?;
                    Some(RecordSource {
                        live: &lives[s],
                        bytes_per_record: shape.batch_bytes as f64 / shape.records_per_batch as f64,
                    })
                }
                _ => None,
            });
        let track_live = &lives[set[0]];
        let outcomes = progress.track(label, None, Some(duration), track_live, || {
            std::thread::scope(|s| {
                let mut handles = Vec::new();
                for (k, &i) in set.iter().enumerate() {
                    let live = &lives[i];
                    let part_dirs = &dirs[k];
                    let clock = self.clock.clone();
                    handles.push((
                        i,
                        s.spawn(move || {
                            let out = self.run_part(i, part_dirs, duration, source, clock, live);
                            // A part that failed before its start still passes the gate.
                            live.wait_start();
                            out
                        }),
                    ));
                }
                gate.wait();
                let start_offset_s = crate::meta::since_start_s();
                handles
                    .into_iter()
                    .map(|(i, h)| {
                        let out = h.join().unwrap_or_else(|_| {
                            Err(RunError::Unsupported("a part's thread panicked".into()))
                        });
                        (
                            i,
                            out.map(|mut r| {
                                MixedPartFigures {
                                    mixed_start_offset_s: Some(start_offset_s),
                                    ..MixedPartFigures::default()
                                }
                                .insert_into(&mut r.repetition.extra);
                                r
                            }),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        });
        let mut out = Vec::new();
        let mut first_err = None;
        for (i, o) in outcomes {
            match o {
                Ok(r) => out.push((i, r)),
                Err(e) => {
                    first_err.get_or_insert((i, e));
                }
            }
        }
        if !self.keep || child == "warmup" {
            self.remove_set(set, child);
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Before anything of `set` starts: each part's data directories (none for a read part,
    /// whose log is written already) and its log's cache state.
    fn prepare_set(
        &self,
        set: &[usize],
        child: &str,
    ) -> Result<Vec<Vec<PathBuf>>, (usize, RunError)> {
        let unsupported = |i: usize, e: String| (i, RunError::Unsupported(e));
        let mut dirs = Vec::new();
        for &i in set {
            let (name, part) = &self.cfg.parts[i];
            let sub = format!("{}-{child}-{name}", self.tag);
            dirs.push(match part {
                Part::Read { cfg: rc, .. } => {
                    if let Some(log) = &self.logs[i] {
                        prepare_cache(log, rc.cache).map_err(|e| (i, RunError::Engine(e)))?;
                    }
                    Vec::new()
                }
                Part::Periodic(_) => vec![self
                    .snap
                    .create_child(&sub)
                    .map_err(|e| unsupported(i, e.to_string()))?],
                // A write part spreads its partitions over every data directory (Flume's
                // dataDirs); a periodic part writes in the first.
                Part::Write(_) => {
                    create_children(self.data, &sub).map_err(|e| unsupported(i, e.to_string()))?
                }
            });
        }
        Ok(dirs)
    }

    /// Removes the data directories [`Env::prepare_set`] made for `set`.
    fn remove_set(&self, set: &[usize], child: &str) {
        for &i in set {
            let (name, part) = &self.cfg.parts[i];
            let sub = format!("{}-{child}-{name}", self.tag);
            match part {
                Part::Read { .. } => {}
                Part::Periodic(_) => self.snap.remove_child(&sub),
                Part::Write(_) => remove_children(self.data, &sub),
            }
        }
    }

    /// Runs part `i` in `dirs` until `duration` ends.
    fn run_part(
        &self,
        i: usize,
        dirs: &[PathBuf],
        duration: Duration,
        source: Option<RecordSource<'_>>,
        clock: Arc<dyn Clock>,
        live: &LiveCounters,
    ) -> Result<PartRun, RunError> {
        let stop = self.stop;
        match &self.cfg.parts[i].1 {
            Part::Write(wc) => {
                let mut wc = wc.clone();
                wc.duration = Some(duration);
                let limit = Limit {
                    bytes: wc.size,
                    duration: Some(duration),
                };
                let mut m = write::run_repetition(&wc, dirs, clock, stop, limit, live)?;
                let check = if self.verify {
                    verify_written(&wc, &m).into_iter().collect()
                } else {
                    Vec::new()
                };
                own_cpu(&mut m.repetition, CpuScope::RunnerThreads);
                Ok(PartRun {
                    repetition: m.repetition,
                    write_caps: Some(m.caps),
                    read_caps: None,
                    interrupted: m.interrupted,
                    check,
                })
            }
            Part::Read { cfg: rc, .. } => {
                let (Some(log), Some(sink)) = (&self.logs[i], self.sink_target()) else {
                    return Err(RunError::Unsupported(
                        "the part's log was not written".into(),
                    ));
                };
                let mut rc = rc.clone();
                if rc.duration.is_some() {
                    rc.duration = Some(duration);
                }
                rc.verify |= self.verify;
                let mut m = read::run_repetition(&rc, log, sink, clock, stop, live).map_err(
                    |e| match e {
                        read::ReadError::Engine(e) => RunError::Engine(e),
                        other => RunError::Unsupported(other.to_string()),
                    },
                )?;
                own_cpu(&mut m.repetition, CpuScope::ConsumerThreads);
                Ok(PartRun {
                    repetition: m.repetition,
                    write_caps: None,
                    read_caps: Some(m.caps),
                    interrupted: m.interrupted,
                    check: m.check_failures,
                })
            }
            Part::Periodic(pc) => {
                let Some(dir) = dirs.first() else {
                    return Err(RunError::Unsupported("no directory for the part".into()));
                };
                let (mut rep, interrupted) =
                    run_periodic(pc, dir, duration, source, clock.as_ref(), stop, live)?;
                let check = if self.verify {
                    check_periodic(pc, dir, &rep)
                } else {
                    Vec::new()
                };
                own_cpu(&mut rep, CpuScope::WriterThread);
                Ok(PartRun {
                    repetition: rep,
                    write_caps: None,
                    read_caps: None,
                    interrupted,
                    check,
                })
            }
        }
    }
}

/// With `--verify`: the periodic part's last file in `dir` holds the bytes written.
fn check_periodic(pc: &PeriodicConfig, dir: &Path, rep: &Repetition) -> Vec<String> {
    let mut check = Vec::new();
    if rep.records > 0 {
        let last = dir.join(super::periodic::file_name(
            pc.trigger.kind(),
            rep.records - 1,
        ));
        match std::fs::metadata(&last) {
            Ok(m) if m.len() == pc.bytes => {}
            Ok(m) => check.push(format!(
                "{} holds {} bytes, {} were written",
                last.display(),
                m.len(),
                pc.bytes
            )),
            Err(e) => check.push(format!("{}: {e}", last.display())),
        }
    }
    check
}
