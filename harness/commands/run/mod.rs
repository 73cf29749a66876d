//! `segbench run`: one command from hardware to a report. Probe, then a suite (a preset or a
//! TOML file) of write and read workloads and scaling sweeps, then `results.json`,
//! `summary.md` and `report.html` in `segbench-results/<run-id>/`.
//!
//! This file holds the arguments, the suite's loading and checks, the run's setup (data
//! directories, probe, fleet barrier) and the outputs; the suite's workloads become the
//! executor's jobs ([`crate::suite::jobs`]) and run there ([`crate::runner::execute`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use workloads::pacing::Clock;

use crate::bad_input;
use crate::commands::common;
use crate::datadir::DataDir;
use crate::fleet::sync::SyncClient;
use crate::meta::RunMeta;
use crate::runner::execute::{execute, Env, FleetBarrier, Outcome};
use crate::runner::progress::Progress;
use crate::runner::RepSync;
use crate::suite::{self, Suite, WorkloadSpec};

const RUN_HELP: &str = "Presets (segbench run --preset NAME --print shows the TOML to start a suite from):
  kafka               Kafka defaults across every write and read engine, then scaling sweeps (default)
  flume-file-channel  transactions of 100 events fsynced on every commit
  zk-txnlog           ~0.5 KiB group commits with fdatasync, 64 MiB preallocation
  sustained           every write engine past 2x the dirty limit, 5 s rounds until steady (SNIA PTS)
  all                 the four in one run

Examples:
  segbench run                                   the kafka preset here, about 3½ minutes
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
    /// Baseline cluster as RATE@NODES.
    #[arg(long, default_value = crate::parse::CLASSIC_BASELINE, value_parser = crate::parse::baseline_arg, value_name = "RATE@NODES")]
    pub baseline: crate::parse::BaselineArg,
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
        // At least 1 ns: a value below it ("0.1ns") parses as zero, which no workload runs.
        let d = d.max(Duration::from_nanos(1));
        suite::set_duration(&mut s, &crate::parse::duration_text(d));
    }
    if let Some(r) = a.repeat {
        crate::parse::repeat(r).map_err(bad_input)?;
        s.repeat = Some(r);
        for w in &mut s.workloads {
            *w.repeat_mut() = None;
        }
    }
    let plan = crate::sustained::plan_lines(&s, chosen, s.repeat.unwrap_or(3), suite::warmup(&s));
    Ok((s, text, plan))
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
    let baseline = a.baseline.cluster.clone();
    // Every workload's configurations (after --quick and --duration), so every option is
    // checked before touching the disk.
    let jobs = suite::jobs::jobs(&suite, a.snap_dir.as_ref()).map_err(bad_input)?;
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
    // Every data directory takes its share of the partitions (rounded up).
    let share = suite::jobs::data_bytes(&jobs, a.keep).div_ceil(data.len() as u64);
    for d in &data {
        let fix = "lower the workloads' sizes, or use --dir on a larger file system";
        crate::budget::check_space(d.path(), share, fix).map_err(bad_input)?;
    }
    let snap = crate::commands::mixed::snap_dir(a.snap_dir.as_deref(), &meta.id, a.keep)?;
    let to = crate::output::Destination {
        json: a.json,
        file: None,
        dir: Some(out_dir.clone()),
        hdr_log: a.hdr_log.clone(),
    };
    crate::output::check(&to)?;

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
    let env = Env {
        data: &data,
        snap: snap.as_ref(),
        clock,
        stop: &signals.stop,
        progress: &progress,
        fleet: sync.as_deref().map(|s| s as &dyn FleetBarrier),
        rep_sync,
        keep: a.keep,
        warmup: suite::warmup(&suite),
    };
    let Outcome {
        done,
        failures,
        interrupted,
    } = execute(&jobs, &env)?;
    drop(jobs);
    let data_dir = data[0].path().to_path_buf();
    drop(data);
    drop(snap);
    let warnings = crate::probe::warnings(&probe, &plan_for(&suite, &data_dir));
    let file =
        crate::output::results_file(&meta, Some(probe), baseline, done, warnings, interrupted);
    let table = results::export::detail::with_flushes(&file);
    crate::output::deliver(&file, &table, &to)?;
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

/// What the probe's warnings need to know about the run.
fn plan_for(suite: &Suite, dir: &Path) -> crate::probe::RunPlan {
    let threads = suite
        .workloads
        .iter()
        .filter_map(|w| match w {
            WorkloadSpec::Write(x) => x.threads,
            _ => None,
        })
        .max()
        .unwrap_or(1);
    let uses_direct = suite
        .workloads
        .iter()
        .any(|w| w.engines().iter().any(|e| e.contains("direct")));
    let uses_uring = suite
        .workloads
        .iter()
        .any(|w| w.engines().iter().any(|e| e.starts_with("uring")));
    let flushes = suite.workloads.iter().any(|w| {
        let flush = match w {
            WorkloadSpec::Write(x) => &x.flush,
            WorkloadSpec::Replicate(x) => &x.flush,
            WorkloadSpec::Read(_) | WorkloadSpec::Mixed(_) => &None,
        };
        flush.as_deref().is_some_and(|f| f != "never")
    });
    crate::probe::RunPlan {
        data_bytes: 0,
        threads,
        uses_direct,
        uses_uring,
        flushes,
        dir: dir.to_path_buf(),
    }
}

impl FleetBarrier for SyncClient {
    fn failure(&self) -> Option<String> {
        SyncClient::failure(self)
    }

    fn agreed_best(
        &self,
        mine: Option<String>,
        stop: &std::sync::atomic::AtomicBool,
        progress: &Progress,
    ) -> Option<String> {
        SyncClient::agreed_best(self, mine, stop, progress)
    }
}
