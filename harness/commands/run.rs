//! `segbench run`: one command from hardware to a report. Probe, then a suite (a preset or a
//! TOML file) of write and read workloads and scaling sweeps, then `results.json`,
//! `summary.md` and `report.html` in `segbench-results/<run-id>/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use results::{Baseline, Kind, ResultsFile, Status, WorkloadResult};
use workloads::kafka::log::LogFormat;
use workloads::pacing::Clock;

use crate::bad_input;
use crate::commands::common;
use crate::datadir::DataDir;
use crate::fleet::sync::SyncClient;
use crate::meta::RunMeta;
use crate::runner::progress::Progress;
use crate::runner::read::prepare as read_prep;
use crate::runner::read::{CacheMode, LogSet, ReadConfig, DEFAULT_FETCH_BYTES};
use crate::runner::write::{run_writes, RunOptions, WriteConfig};
use crate::runner::RepSync;
use crate::suite::{self, Suite, WorkloadSpec};

const RUN_HELP: &str = "Presets (segbench run --preset NAME --print shows the TOML to start a suite from):
  kafka               Kafka defaults across every write and read engine, then scaling sweeps (default)
  flume-file-channel  transactions of 100 events fsynced on every commit
  zk-txnlog           ~0.5 KiB group commits with fdatasync, 64 MiB preallocation
  sustained           every write engine past 2x the dirty limit, 5 s rounds until steady (SNIA PTS)
  all                 the four in one run

Examples:
  segbench run                                   the kafka preset here, about 3 minutes
  segbench run --quick                           the same in under a minute (smoke test, CI)
  segbench run --preset zk-txnlog --dir /data/zk
  segbench run --preset flume-file-channel --dir /disk1/f --dir /disk2/f
  segbench run my-suite.toml --out results/ --baseline 100MB/s@5";

/// `segbench run`.
#[derive(Debug, Args, Clone)]
#[command(after_help = RUN_HELP)]
pub struct RunArgs {
    /// A suite file (TOML); default: the preset.
    #[arg(value_name = "SUITE.toml")]
    pub suite: Option<PathBuf>,
    /// A built-in suite: kafka, flume-file-channel, zk-txnlog, sustained, all.
    #[arg(long, default_value = "kafka", value_name = "NAME")]
    pub preset: String,
    /// Print the suite's TOML and exit.
    #[arg(long)]
    pub print: bool,
    /// Data directory (repeat to spread partitions over several disks); default a fresh one here.
    #[arg(long = "dir", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where mixed workloads write snapshots and checkpoints (ZooKeeper's dataDir apart from
    /// the log's); default the first --dir.
    #[arg(long, value_name = "DIR")]
    pub snap_dir: Option<PathBuf>,
    /// Results directory; default segbench-results/<run-id>/.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Short durations and sizes, two repetitions, three sweep points (under a minute).
    #[arg(long)]
    pub quick: bool,
    /// Time per repetition of every workload (overrides the suite).
    #[arg(long, value_parser = crate::parse::duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Measured repetitions per engine (overrides the suite).
    #[arg(long, allow_hyphen_values = true, value_name = "N")]
    pub repeat: Option<u32>,
    /// Baseline cluster as THROUGHPUT@NODES.
    #[arg(long, default_value = "20MB/s@10", value_name = "SPEC")]
    pub baseline: String,
    /// Print the results JSON on stdout (the table then goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Keep the data written.
    #[arg(long)]
    pub keep: bool,
    /// No progress on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Write HdrHistogram interval logs (standard text format), one `.hlog` per workload, into DIR.
    #[arg(long, value_name = "DIR")]
    pub hdr_log: Option<std::path::PathBuf>,
    /// A fleet rank's Unix socket: wait at the fleet-wide barrier before every warm-up and
    /// measured repetition (set by `segbench fleet run` for its children; hidden).
    #[arg(long, hide = true, value_name = "PATH")]
    pub fleet_sync: Option<PathBuf>,
}

/// Parses `20MB/s@10`.
pub fn parse_baseline(s: &str) -> Result<Baseline, String> {
    let bad = || format!("--baseline '{s}': expected THROUGHPUT@NODES, e.g. 20MB/s@10");
    let (rate, nodes) = s.split_once('@').ok_or_else(bad)?;
    let cluster = workloads::units::parse_rate(rate).map_err(|_| bad())?;
    let nodes: u32 = nodes.trim().parse().map_err(|_| bad())?;
    if nodes == 0 {
        return Err(bad());
    }
    let source = if s == "20MB/s@10" {
        "classic: ~20 MB/s for a 10-node cluster".to_string()
    } else {
        format!("given: {s}")
    };
    Ok(Baseline {
        cluster_bytes_per_s: cluster,
        nodes,
        per_node_bytes_per_s: cluster / nodes as f64,
        source,
    })
}

/// Loads the suite the arguments name (file or preset) with the overrides applied and the sizes
/// taken from the probe resolved; also returns the suite's text and the plan lines to show
/// before it runs ([`crate::sustained::plan_lines`]).
pub fn load_suite(a: &RunArgs) -> anyhow::Result<(Suite, String, Vec<String>)> {
    let (text, origin) = match &a.suite {
        Some(p) => {
            let t = std::fs::read_to_string(p)
                .map_err(|e| bad_input(format!("{}: cannot read suite: {e}", p.display())))?;
            (t, p.display().to_string())
        }
        None => {
            let t = suite::preset_toml(&a.preset).ok_or_else(|| {
                bad_input(format!(
                    "--preset '{}': unknown preset; presets: {}",
                    a.preset,
                    suite::preset_names().join(", ")
                ))
            })?;
            (t, format!("preset {}", a.preset))
        }
    };
    let mut s = suite::parse(&text, Path::new(&origin)).map_err(|e| bad_input(e.0))?;
    let room = crate::sustained::Room::probe_for(&s, &a.dirs);
    let mut chosen = crate::sustained::resolve(&mut s, room).map_err(bad_input)?;
    if a.quick {
        suite::quicken(&mut s, Duration::from_millis(600));
        if !chosen.is_empty() {
            chosen.push("--quick: sizes at most 64 MiB, durations at most 600 ms".into());
        }
    }
    if let Some(d) = a.duration {
        suite::set_duration(&mut s, &format!("{}ms", d.as_millis().max(1)));
    }
    if let Some(r) = a.repeat {
        if r == 0 {
            return Err(bad_input("--repeat 0: need at least one repetition"));
        }
        s.repeat = Some(r);
        for w in &mut s.workloads {
            w.repeat = None;
        }
    }
    let plan = crate::sustained::plan_lines(&s, chosen, s.repeat.unwrap_or(3), suite::warmup(&s));
    Ok((s, text, plan))
}

/// A write configuration from a suite workload, one engine and one sweep point.
pub fn write_config(
    w: &WorkloadSpec,
    engine: &str,
    point: &Option<(String, u32)>,
) -> Result<WriteConfig, String> {
    use workloads::units::{parse_duration, parse_rate, parse_size};
    let size = |v: &Option<String>, d: u64| -> Result<u64, String> {
        v.as_deref()
            .map(parse_size)
            .transpose()
            .map(|x| x.unwrap_or(d))
            .map_err(|e| e.0)
    };
    let mut engine = engine.to_string();
    let mut partitions = w.partitions.unwrap_or(1);
    let mut threads = w.threads.unwrap_or(1);
    if let Some((p, v)) = point {
        match p.as_str() {
            "partitions" => partitions = *v,
            "threads" => threads = *v,
            "qd" => engine = suite::with_qd(&engine, *v),
            other => return Err(format!("sweep '{other}' does not apply to write workloads")),
        }
    }
    let cfg = WriteConfig {
        engine: engine
            .parse()
            .map_err(|e: workloads::EngineError| e.to_string())?,
        topic: w.name.clone(),
        partitions,
        threads,
        record_size: size(&w.record_size, 1024)? as usize,
        batch_size: size(&w.batch_size, 16 * 1024)? as usize,
        segment_size: size(&w.segment_size, 1 << 30)?,
        index_interval: size(&w.index_interval, 4096)?,
        preallocate: w.preallocate.unwrap_or(false),
        retention: w
            .retention
            .as_deref()
            .map(parse_size)
            .transpose()
            .map_err(|e| e.0)?,
        flush: w.flush.as_deref().unwrap_or("never").parse()?,
        sync: w.sync.as_deref().unwrap_or("fdatasync").parse()?,
        format: if w.format.as_deref() == Some("raw") {
            LogFormat::Raw
        } else {
            LogFormat::Kafka
        },
        size: w
            .size
            .as_deref()
            .map(parse_size)
            .transpose()
            .map_err(|e| e.0)?,
        duration: w
            .duration
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| e.0)?,
        rate: w
            .rate
            .as_deref()
            .map(parse_rate)
            .transpose()
            .map_err(|e| e.0)?,
    };
    let shape = cfg.shape()?;
    crate::budget::check(
        &format!("write/{}", cfg.engine),
        crate::budget::write_needs(&cfg, &shape),
        crate::budget::Room::here(),
    )?;
    Ok(cfg)
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
            w.kind == Kind::Write
                && w.mixed.is_none()
                && w.status == Status::Completed
                && !w.config.contains_key("sweep")
                && !results::replication::is_replication(w)
        })
        .collect();
    let device: Vec<&&WorkloadResult> = completed
        .iter()
        .filter(|w| w.medium == results::Medium::Device)
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

/// Runs `segbench run`.
pub fn run(a: RunArgs) -> anyhow::Result<u8> {
    let (suite, text, plan) = load_suite(&a)?;
    if a.print {
        if !plan.is_empty() {
            let lines: Vec<String> = plan.iter().map(|l| format!("# {l}\n")).collect();
            crate::output::print(&format!("{}{}", lines.concat(), toml::to_string(&suite)?))?;
        } else if a.suite.is_some() || a.quick || a.duration.is_some() || a.repeat.is_some() {
            crate::output::print(&toml::to_string(&suite)?)?;
        } else {
            crate::output::print(&text)?;
        }
        return Ok(0);
    }
    let baseline = parse_baseline(&a.baseline).map_err(bad_input)?;
    // Check every write and replicate workload's options (after --quick and --duration)
    // before touching the disk.
    for w in &suite.workloads {
        if w.kind == "replicate" {
            let repeat = w.repeat.or(suite.repeat).unwrap_or(3);
            crate::commands::replicate::suite_configs(w, repeat)
                .map_err(|m| bad_input(format!("workload '{}': {m}", w.name)))?;
        }
        if w.kind == "mixed" {
            crate::commands::mixed::check_in_suite(w, a.snap_dir.as_ref())?;
        }
        if w.kind == "write" {
            for e in w.engines.iter().filter(|e| *e != "best") {
                for p in suite::sweep_points(w) {
                    write_config(w, e, &p)
                        .map_err(|m| bad_input(format!("workload '{}': {m}", w.name)))?;
                }
            }
        }
    }
    let signals = crate::signals::install();
    let meta = RunMeta::now();
    let sync = match &a.fleet_sync {
        Some(p) => Some(Arc::new(SyncClient::connect(p).map_err(|e| {
            bad_input(format!(
                "--fleet-sync {}: cannot reach the fleet rank: {e}",
                p.display()
            ))
        })?)),
        None => None,
    };
    let rep_sync: Option<Arc<dyn RepSync>> = sync.clone().map(|s| s as Arc<dyn RepSync>);
    let out_dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("segbench-results").join(&meta.id));
    let progress = Progress::new(a.quiet);
    let mut data = Vec::new();
    if a.dirs.is_empty() {
        data.push(DataDir::acquire(None, &meta.id, a.keep).map_err(|e| bad_input(e.to_string()))?);
    } else {
        for d in &a.dirs {
            data.push(
                DataDir::acquire(Some(d), &meta.id, a.keep)
                    .map_err(|e| bad_input(e.to_string()))?,
            );
        }
    }
    let snap = crate::commands::mixed::snap_dir(a.snap_dir.as_deref(), &meta.id, a.keep)?;
    crate::output::prepare_dir("--out", &out_dir, &crate::output::RUN_OUTPUTS)?;
    if let Some(dir) = &a.hdr_log {
        crate::output::check_dir("--hdr-log", dir)?;
    }

    progress.line(&format!(
        "segbench run: suite {} · run {} · data in {}",
        suite.name,
        meta.id,
        data[0].path().display()
    ));
    let probe = crate::probe::probe(&crate::probe::ProbeOptions {
        dir: data[0].path().to_path_buf(),
        micro: true,
    });
    progress.line(&format!("probe: fingerprint {}", probe.fingerprint));
    for l in &plan {
        progress.line(l);
    }

    let (clock, clock_name): (Arc<dyn Clock>, &str) = workloads::pacing::best_clock();
    progress.line(&format!("clock: {clock_name}"));
    let default_repeat = suite.repeat.unwrap_or(3);
    let warmup = suite::warmup(&suite);
    let mut done: Vec<WorkloadResult> = Vec::new();
    let mut failures = Vec::new();
    let mut interrupted = false;
    let mut read_log: Option<ReadLog> = None;
    let mut write_workloads = 0;
    for w in &suite.workloads {
        let barrier_failed = sync.as_ref().is_some_and(|s| s.failure().is_some());
        if signals.stop.load(std::sync::atomic::Ordering::Relaxed) || barrier_failed {
            interrupted = true;
            break;
        }
        let mut opts = RunOptions {
            repeat: w.repeat.unwrap_or(default_repeat),
            warmup,
            keep: a.keep,
            verify: w.verify.unwrap_or(false),
            first_workload: write_workloads,
            sync: rep_sync.clone(),
            until_steady: suite::until_steady(w),
        };
        match w.kind.as_str() {
            "write" => {
                let mut engines = Vec::new();
                for e in &w.engines {
                    if e == "best" {
                        let mine = best_write_engine(&done);
                        let best = match &sync {
                            Some(s) => s.agreed_best(mine, &signals.stop, &progress),
                            None => mine,
                        };
                        match best {
                            Some(b) => engines.push(b),
                            None => progress.line(&format!(
                                "{}: no completed write engine to take as 'best'; skipped",
                                w.name
                            )),
                        }
                    } else {
                        engines.push(e.clone());
                    }
                }
                for point in suite::sweep_points(w) {
                    let mut cfgs = Vec::new();
                    for e in &engines {
                        cfgs.push(
                            write_config(w, e, &point)
                                .map_err(|m| bad_input(format!("workload '{}': {m}", w.name)))?,
                        );
                    }
                    if sync.as_ref().is_some_and(|s| s.failure().is_some()) {
                        break;
                    }
                    opts.first_workload = write_workloads;
                    write_workloads += cfgs.len();
                    let outcome =
                        run_writes(&cfgs, &opts, &data, clock.clone(), &signals.stop, &progress);
                    failures.extend(outcome.check_failures);
                    interrupted |= outcome.interrupted;
                    done.extend(
                        outcome
                            .workloads
                            .into_iter()
                            .map(|r| in_suite(r, w, &point)),
                    );
                }
            }
            "read" => {
                let (mut rs, f, i) = run_read_workload(
                    w,
                    opts.repeat,
                    &data,
                    &mut read_log,
                    clock.clone(),
                    &signals.stop,
                    &progress,
                    rep_sync.as_deref(),
                )?;
                done.append(&mut rs);
                failures.extend(f);
                interrupted |= i;
            }
            "replicate" => {
                use crate::commands::replicate::{run_suite_workload, ModesRun};
                let run = ModesRun {
                    repeat: opts.repeat,
                    data: &data[0],
                    prefix: "",
                    keep: a.keep,
                    clock: clock.clone(),
                    stop: &signals.stop,
                    progress: &progress,
                };
                let (rows, stopped) = run_suite_workload(w, &run)?;
                done.extend(rows);
                interrupted |= stopped;
            }
            "mixed" => {
                opts.first_workload = done.len();
                let o = crate::commands::mixed::run_in_suite(
                    w,
                    &opts,
                    &data,
                    snap.as_ref(),
                    clock.clone(),
                    &signals.stop,
                    &progress,
                )?;
                failures.extend(o.check_failures);
                interrupted |= o.interrupted;
                done.extend(o.workloads);
            }
            _ => {}
        }
    }
    if interrupted {
        done.extend(not_run(&suite, &done));
    }
    let data_dir = data[0].path().to_path_buf();
    drop(read_log);
    drop(data);
    drop(snap);
    let warnings = crate::probe::warnings(&probe, &plan_for(&suite, &data_dir));
    let file = common::results_file(&meta, Some(probe), baseline, done, warnings, interrupted);
    let written = write_outputs(&file, &out_dir);
    let table = results::export::detail::with_flushes(&file);
    let delivered = common::deliver(&file, &table, &stdout_and_hdr_log(&a));
    written?;
    delivered?;
    progress.line(&format!(
        "results: {}/results.json, summary.md, report.html",
        out_dir.display()
    ));
    if let Some(f) = sync.as_ref().and_then(|s| s.failure()) {
        return Err(anyhow::Error::new(crate::CheckFailed(format!(
            "stopped at the fleet barrier: {f}"
        ))));
    }
    common::finish(&file, failures, signals)
}

/// `run`'s stdout and `--hdr-log` as [`common::deliver`] takes them (its results files go to
/// `--out DIR`).
fn stdout_and_hdr_log(a: &RunArgs) -> common::OutputArgs {
    common::OutputArgs {
        json: a.json,
        out: None,
        quiet: a.quiet,
        no_probe: false,
        hdr_log: a.hdr_log.clone(),
    }
}

/// What the probe's warnings need to know about the run.
fn plan_for(suite: &Suite, dir: &Path) -> crate::probe::RunPlan {
    let threads = suite
        .workloads
        .iter()
        .filter_map(|w| w.threads)
        .max()
        .unwrap_or(1);
    let uses_direct = suite
        .workloads
        .iter()
        .any(|w| w.engines.iter().any(|e| e.contains("direct")));
    let uses_uring = suite
        .workloads
        .iter()
        .any(|w| w.engines.iter().any(|e| e.starts_with("uring")));
    let flushes = suite
        .workloads
        .iter()
        .any(|w| w.flush.as_deref().is_some_and(|f| f != "never"));
    crate::probe::RunPlan {
        data_bytes: 0,
        threads,
        uses_direct,
        uses_uring,
        flushes,
        dir: dir.to_path_buf(),
    }
}

/// Writes results.json, summary.md and report.html into `dir`, each atomically.
pub fn write_outputs(file: &ResultsFile, dir: &Path) -> anyhow::Result<()> {
    use results::export::ExportFormat;
    let json = serde_json::to_string_pretty(file)?;
    results::export::json::write_atomic(&dir.join("results.json"), json.as_bytes())?;
    let md = ExportFormat::Markdown.exporter().export(file)?;
    results::export::json::write_atomic(&dir.join("summary.md"), &md)?;
    let html = ExportFormat::Html.exporter().export(file)?;
    results::export::json::write_atomic(&dir.join("report.html"), &html)?;
    Ok(())
}

/// A log written for read workloads, reused while size and partitions stay the same.
struct ReadLog {
    size: u64,
    partitions: u32,
    dir: PathBuf,
}

/// The read configurations of a suite workload at one sweep point.
pub fn read_configs(
    w: &WorkloadSpec,
    point: &Option<(String, u32)>,
) -> Result<Vec<ReadConfig>, String> {
    use workloads::units::{parse_duration, parse_size};
    let mut consumers = w.consumers.unwrap_or(1);
    let mut groups = w.groups.unwrap_or(1);
    let mut qd = None;
    if let Some((p, v)) = point {
        match p.as_str() {
            "consumers" => consumers = *v,
            "groups" => groups = *v,
            "qd" => qd = Some(*v),
            other => return Err(format!("sweep '{other}' does not apply to read workloads")),
        }
    }
    let cache: CacheMode = w.cache.as_deref().unwrap_or("hot").parse()?;
    let mut out = Vec::new();
    for e in &w.engines {
        let e = match qd {
            Some(q) => suite::with_qd(e, q),
            None => e.clone(),
        };
        let cfg = ReadConfig {
            engine: e
                .parse()
                .map_err(|x: workloads::EngineError| x.to_string())?,
            cache,
            consumers,
            groups,
            fetch_size: w
                .fetch_size
                .as_deref()
                .map(parse_size)
                .transpose()
                .map_err(|x| x.0)?
                .unwrap_or(DEFAULT_FETCH_BYTES),
            duration: w
                .duration
                .as_deref()
                .map(parse_duration)
                .transpose()
                .map_err(|x| x.0)?,
            verify: w.verify.unwrap_or(false),
            until_steady: suite::until_steady(w),
            rate: w
                .rate
                .as_deref()
                .map(workloads::units::parse_rate)
                .transpose()
                .map_err(|x| x.0)?,
        };
        cfg.check()?;
        crate::budget::check(
            &cfg.name(),
            crate::budget::read_needs(&cfg, 0),
            crate::budget::Room::here(),
        )?;
        out.push(cfg);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn run_read_workload(
    w: &WorkloadSpec,
    repeat: u32,
    data: &[DataDir],
    log_cache: &mut Option<ReadLog>,
    clock: Arc<dyn Clock>,
    stop: &std::sync::atomic::AtomicBool,
    progress: &Progress,
    sync: Option<&dyn RepSync>,
) -> anyhow::Result<(Vec<WorkloadResult>, Vec<String>, bool)> {
    let size = w
        .size
        .as_deref()
        .map(workloads::units::parse_size)
        .transpose()
        .map_err(|e| bad_input(e.0))?
        .unwrap_or(read_prep::DEFAULT_SIZE);
    let partitions = w.partitions.unwrap_or(read_prep::DEFAULT_PARTITIONS);
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
        return Ok((Vec::new(), Vec::new(), false));
    };
    let log =
        LogSet::open(std::slice::from_ref(&cached.dir)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = Vec::new();
    let mut failures = Vec::new();
    let mut interrupted = false;
    for point in suite::sweep_points(w) {
        let cfgs = read_configs(w, &point)
            .map_err(|m| bad_input(format!("workload '{}': {m}", w.name)))?;
        let skips = read_prep::precheck(&cfgs)?;
        let runnable = read_prep::runnable(&cfgs, &skips);
        let sessions = cfgs
            .iter()
            .map(|c| (c.groups * c.consumers) as usize)
            .max()
            .unwrap_or(1)
            + 8;
        let (sink, target) = read_prep::local_sink(sessions)?;
        let outcome = crate::runner::read::run_reads(
            &runnable,
            repeat,
            &log,
            &target,
            clock.clone(),
            stop,
            progress,
            sync,
        );
        drop(sink);
        failures.extend(outcome.check_failures);
        interrupted |= outcome.interrupted;
        let stopped = outcome.sync_failure.is_some();
        out.extend(
            read_prep::with_skips(&cfgs, &skips, outcome.workloads, &log, &target)
                .into_iter()
                .map(|r| in_suite(r, w, &point)),
        );
        if stopped {
            break;
        }
    }
    Ok((out, failures, interrupted))
}

/// A result named and configured as suite workload `w` at sweep `point`:
/// `<workload>[/<param>=<value>]/<engine>`, with the sweep and the workload in its config.
/// Rows for the suite's workloads (engine × sweep point) that a stopped run never started:
/// listed as skipped ("not run"), never as completed, so a reader sees what is missing.
fn not_run(suite: &Suite, done: &[WorkloadResult]) -> Vec<WorkloadResult> {
    let mut out = Vec::new();
    for w in &suite.workloads {
        if w.kind == "replicate" {
            out.extend(crate::commands::replicate::not_run_rows(w, done));
            continue;
        }
        // No figures: the medium is what the row would have measured.
        let (kind, medium) = match w.kind.as_str() {
            "write" => (results::Kind::Write, results::Medium::Device),
            _ => (results::Kind::Read, results::Medium::Network),
        };
        for point in suite::sweep_points(w) {
            for e in w.engines.iter().filter(|e| *e != "best") {
                let row = WorkloadResult::new(
                    e.clone(),
                    kind,
                    e.clone(),
                    Default::default(),
                    results::Status::Skipped {
                        reason: crate::runner::NOT_RUN.into(),
                    },
                    medium,
                );
                let row = in_suite(row, w, &point);
                if !done.iter().any(|d| d.name == row.name) {
                    out.push(row);
                }
            }
        }
    }
    out
}

fn in_suite(
    mut r: WorkloadResult,
    w: &WorkloadSpec,
    point: &Option<(String, u32)>,
) -> WorkloadResult {
    r.name = match point {
        Some((p, v)) => format!("{}/{p}={v}/{}", w.name, r.engine),
        None => format!("{}/{}", w.name, r.engine),
    };
    r.config.extend(suite::sweep_config(point));
    r.config
        .insert("suite_workload".into(), serde_json::json!(w.name));
    r
}
