//! A mixed workload's runs: each read part's log written first, one warm-up with every part,
//! then per repetition the parts together and each part alone (interleaved, so drift hits
//! both alike), and the rows: `<name>/<part>` (with the others) and `<name>/<part> alone`,
//! paired by [`results::interference::pair_all`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use results::interference::pair_all;
use results::schema::MixedRole;
use results::{Kind, Medium, Repetition, Status, WorkloadResult};
use serde_json::json;
use workloads::pacing::Clock;

use super::periodic::{run_periodic, RecordSource};
use super::{MixedConfig, Part, Trigger};
use crate::datadir::DataDir;
use crate::runner::progress::Progress;
use crate::runner::read::{self, prepare_cache, LogSet, SinkTarget};
use crate::runner::storage::StorageContext;
use crate::runner::write::runs::{create_children, err_status, remove_children, verify_written};
use crate::runner::write::{self, RunOptions};
use crate::runner::{settle, Limit, LiveCounters, RunError};

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

/// What the runs share: the read parts' logs and the sink, the data directories, the clock.
struct Env<'a> {
    cfg: &'a MixedConfig,
    logs: Vec<Option<LogSet>>,
    sink: Option<SinkTarget>,
    data: &'a [DataDir],
    /// Where periodic parts write (`--snap-dir`), else the first data directory.
    snap: &'a DataDir,
    clock: Arc<dyn Clock>,
    stop: &'a AtomicBool,
    verify: bool,
    keep: bool,
    /// Prefix of the data directories' children, e.g. `m3`.
    tag: String,
}

/// Runs `cfg`: logs first, warm-up, then `opts.repeat` repetitions of the parts together and
/// each alone. Errors only when a read part's log cannot be written or the sink cannot start.
pub fn run_mixed(
    cfg: &MixedConfig,
    opts: &RunOptions,
    data: &[DataDir],
    snap: Option<&DataDir>,
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    progress: &Progress,
) -> anyhow::Result<MixedOutcome> {
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
                Some(LogSet::open(std::slice::from_ref(&dir)).map_err(|e| anyhow::anyhow!("{e}"))?)
            }
            _ => None,
        });
    }
    let sink = if logs.iter().any(Option::is_some) {
        Some(read::prepare::local_sink(sessions)?)
    } else {
        None
    };
    let env = Env {
        cfg,
        logs,
        sink: sink.as_ref().map(|s| s.1.clone()),
        data,
        snap: snap.unwrap_or(first),
        clock,
        stop,
        verify: opts.verify,
        keep: opts.keep,
        tag,
    };
    let n = cfg.parts.len();
    let all: Vec<usize> = (0..n).collect();
    // reps[i][0]: with the others; reps[i][1]: alone.
    let mut reps: Vec<[Vec<Repetition>; 2]> = (0..n).map(|_| [Vec::new(), Vec::new()]).collect();
    let mut status = vec![Status::Completed; n];
    let mut write_caps = vec![None; n];
    let mut read_caps = vec![None; n];
    let mut failures = Vec::new();
    let mut interrupted = false;
    let mut failed = false;

    if !opts.warmup.is_zero() {
        let label = format!("mixed {} warm-up", cfg.name);
        if let Err((i, e)) = run_set(&env, &all, opts.warmup, "warmup", progress, &label) {
            status[i] = err_status(&e);
            failed = true;
        }
    }
    'reps: for rep in 0..opts.repeat {
        if failed {
            break;
        }
        // (parts run, the part an "alone" run is for, slot): together, then each alone.
        let sets: Vec<(Vec<usize>, usize, usize)> = std::iter::once((all.clone(), 0, 0))
            .chain((0..n).map(|i| (cfg.alone_set(i), i, 1)))
            .collect();
        for (set, of, slot) in sets {
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break 'reps;
            }
            let what = if slot == 0 {
                "together".to_string()
            } else {
                alone_label(cfg, of)
            };
            let label = format!("mixed {} {what} rep {}/{}", cfg.name, rep + 1, opts.repeat);
            let child = format!("r{rep}-{}", if slot == 0 { "with" } else { "alone" });
            match run_set(&env, &set, cfg.duration, &child, progress, &label) {
                Ok(runs) => {
                    // An "alone" run keeps only its own part's figures (the background
                    // parts in it have theirs from the run together and their own).
                    for (i, mut r) in runs.into_iter().filter(|(i, _)| slot == 0 || *i == of) {
                        r.repetition.index = rep;
                        progress.done(&format!("{label}: {}", cfg.parts[i].0), &r.repetition);
                        interrupted |= r.interrupted;
                        if r.interrupted {
                            status[i] = Status::Interrupted;
                        }
                        write_caps[i] = write_caps[i].or(r.write_caps);
                        read_caps[i] = read_caps[i].or(r.read_caps);
                        failures.extend(
                            r.check
                                .into_iter()
                                .map(|c| format!("{}/{}: {c}", cfg.name, cfg.parts[i].0)),
                        );
                        reps[i][slot].push(r.repetition);
                    }
                }
                Err((i, e)) => {
                    progress.line(&format!("{label}: {}: {e}", cfg.parts[i].0));
                    status[i] = err_status(&e);
                    failed = true;
                    break 'reps;
                }
            }
        }
    }
    if failed {
        // A part that could not run leaves the others without their "with" figures.
        for s in status.iter_mut().filter(|s| matches!(s, Status::Completed)) {
            *s = Status::Skipped {
                reason: "another part of the mixed workload could not run".into(),
            };
        }
    }

    let ctx = StorageContext::for_dir(first.path());
    let mut rows = Vec::new();
    for (i, (name, part)) in cfg.parts.iter().enumerate() {
        for (slot, alone) in [(0, false), (1, true)] {
            let r = std::mem::take(&mut reps[i][slot]);
            let mut st = status[i].clone();
            let skipped = settle(&mut st, r.len(), interrupted);
            let (kind, engine, mut config, (medium, mut warnings)) = match part {
                Part::Write(wc) => (
                    Kind::Write,
                    wc.engine.to_string(),
                    wc.config_map(),
                    ctx.classify(wc, write_caps[i].as_ref(), &r),
                ),
                Part::Read { cfg: rc, .. } => {
                    let log = env.logs[i].as_ref();
                    let config = match (log, env.sink.as_ref()) {
                        (Some(l), Some(s)) => rc.config_map(l, s, read_caps[i].as_ref()),
                        _ => Default::default(),
                    };
                    (
                        Kind::Read,
                        rc.engine.to_string(),
                        config,
                        read::assemble::classify(rc, &r),
                    )
                }
                Part::Periodic(pc) => (
                    Kind::Write,
                    pc.trigger.kind().to_string(),
                    pc.config_map(),
                    (Medium::Device, Vec::new()),
                ),
            };
            warnings.extend(skipped);
            if let Part::Periodic(pc) = part {
                let idle = r.iter().filter(|x| x.records == 0).count();
                if idle > 0 {
                    warnings.push(format!(
                        "no {} was written in {idle} of {} repetitions: the interval is shorter than the schedule; raise duration or lower {}",
                        pc.trigger.kind(),
                        r.len(),
                        match pc.trigger {
                            Trigger::Records { .. } => "every_records",
                            Trigger::Every(_) => "every",
                        }
                    ));
                }
            }
            config.insert("mixed_part_kind".into(), json!(part.kind()));
            config.insert("suite_workload".into(), json!(cfg.name));
            let row_name = if alone {
                format!("{}/{}", cfg.name, alone_label(cfg, i))
            } else {
                format!("{}/{name}", cfg.name)
            };
            let mut row = WorkloadResult::new(row_name, kind, engine, config, st, medium)
                .with_repetitions(r, warnings);
            row.mixed = Some(MixedRole {
                workload: cfg.name.clone(),
                part: name.clone(),
                part_kind: part.kind().into(),
                alone,
                beside: if alone { cfg.kept(i) } else { cfg.beside(i) },
                placement: match part {
                    Part::Periodic(pc) => Some(super::placement(first.path(), pc.dir.as_deref())),
                    _ => None,
                },
                interference: None,
            });
            rows.push(row);
        }
    }
    pair_all(&mut rows);
    drop(sink);
    if !opts.keep {
        for (name, part) in &cfg.parts {
            if matches!(part, Part::Read { .. }) {
                first.remove_child(&format!("{}-{name}-log", env.tag));
            }
        }
    }
    Ok(MixedOutcome {
        workloads: rows,
        check_failures: failures,
        interrupted: interrupted || stop.load(Ordering::Relaxed),
    })
}

/// What part `i`'s "alone" run is called: `produce alone`, or, with background parts running
/// in it, `produce without catch-up`.
fn alone_label(cfg: &MixedConfig, i: usize) -> String {
    let name = &cfg.parts[i].0;
    if cfg.kept(i).is_empty() {
        format!("{name} alone")
    } else {
        format!("{name} without {}", cfg.beside(i).join(" + "))
    }
}

/// The CPU of a part: its own threads' (`RUSAGE_THREAD`), not the process's, which holds
/// every part's.
fn own_cpu(r: &mut Repetition, scope: &str) {
    let user: f64 = r.threads.iter().map(|t| t.cpu_user_s).sum();
    let sys: f64 = r.threads.iter().map(|t| t.cpu_sys_s).sum();
    r.cpu_user_s = user;
    r.cpu_sys_s = sys;
    r.cpu_s_per_gb = results::stats::cpu_s_per_gb(user + sys, r.bytes);
    r.extra.insert("cpu_scope".into(), json!(scope));
}

/// Runs the parts `set` together for `duration`, released through one start gate. Returns each part's run, or the first part that failed.
fn run_set(
    env: &Env<'_>,
    set: &[usize],
    duration: Duration,
    child: &str,
    progress: &Progress,
    label: &str,
) -> Result<Vec<(usize, PartRun)>, (usize, RunError)> {
    let cfg = env.cfg;
    let unsupported = |i: usize, e: String| (i, RunError::Unsupported(e));
    // Data directories and cache states before anything starts.
    let mut dirs: Vec<Vec<PathBuf>> = Vec::new();
    for &i in set {
        let (name, part) = &cfg.parts[i];
        let sub = format!("{}-{child}-{name}", env.tag);
        dirs.push(match part {
            Part::Read { cfg: rc, .. } => {
                if let Some(log) = &env.logs[i] {
                    prepare_cache(log, rc.cache).map_err(|e| (i, RunError::Engine(e)))?;
                }
                Vec::new()
            }
            Part::Periodic(_) => vec![env
                .snap
                .create_child(&sub)
                .map_err(|e| unsupported(i, e.to_string()))?],
            // A write part spreads its partitions over every data directory (Flume's
            // dataDirs); a periodic part writes in the first.
            Part::Write(_) => {
                create_children(env.data, &sub).map_err(|e| unsupported(i, e.to_string()))?
            }
        });
    }
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
                let clock = env.clock.clone();
                handles.push((
                    i,
                    s.spawn(move || {
                        let out = run_part(env, i, part_dirs, duration, source, clock, live);
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
                            r.repetition
                                .extra
                                .insert("mixed_start_offset_s".into(), json!(start_offset_s));
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
    if !env.keep || child == "warmup" {
        for &i in set {
            let (name, part) = &cfg.parts[i];
            let sub = format!("{}-{child}-{name}", env.tag);
            match part {
                Part::Read { .. } => {}
                Part::Periodic(_) => env.snap.remove_child(&sub),
                Part::Write(_) => remove_children(env.data, &sub),
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Runs part `i` in `dirs` until `duration` ends.
fn run_part(
    env: &Env<'_>,
    i: usize,
    dirs: &[PathBuf],
    duration: Duration,
    source: Option<RecordSource<'_>>,
    clock: Arc<dyn Clock>,
    live: &LiveCounters,
) -> Result<PartRun, RunError> {
    let stop = env.stop;
    match &env.cfg.parts[i].1 {
        Part::Write(wc) => {
            let mut wc = wc.clone();
            wc.duration = Some(duration);
            let limit = Limit {
                bytes: wc.size,
                duration: Some(duration),
            };
            let mut m = write::run_repetition(&wc, dirs, clock, stop, limit, live)?;
            let check = if env.verify {
                verify_written(&wc, &m).into_iter().collect()
            } else {
                Vec::new()
            };
            own_cpu(
                &mut m.repetition,
                "the part's runner threads (RUSAGE_THREAD)",
            );
            Ok(PartRun {
                repetition: m.repetition,
                write_caps: Some(m.caps),
                read_caps: None,
                interrupted: m.interrupted,
                check,
            })
        }
        Part::Read { cfg: rc, .. } => {
            let (Some(log), Some(sink)) = (&env.logs[i], &env.sink) else {
                return Err(RunError::Unsupported(
                    "the part's log was not written".into(),
                ));
            };
            let mut rc = rc.clone();
            if rc.duration.is_some() {
                rc.duration = Some(duration);
            }
            rc.verify |= env.verify;
            let mut m =
                read::run_repetition(&rc, log, sink, clock, stop, live).map_err(|e| match e {
                    read::ReadError::Engine(e) => RunError::Engine(e),
                    other => RunError::Unsupported(other.to_string()),
                })?;
            own_cpu(
                &mut m.repetition,
                "the part's consumer threads (RUSAGE_THREAD); the sink's is in sink_cpu_*",
            );
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
            let mut check = Vec::new();
            if env.verify && rep.records > 0 {
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
            own_cpu(&mut rep, "the writer's thread (RUSAGE_THREAD)");
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
