//! `segbench mixed`: several parts — writes, reads, a ZooKeeper-style snapshot writer, a
//! Flume-style checkpoint writer — started together after one warm-up and measured over the
//! same interval, each also alone; the report pairs each part's figures with and without the
//! others (see [`crate::runner::mixed`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use crate::bad_input;
use crate::commands::common;
use crate::datadir::DataDir;
use crate::meta::RunMeta;
use crate::parse::{duration, duration_or_zero};
use crate::runner::mixed::run_mixed;
use crate::runner::progress::Progress;
use crate::runner::write::RunOptions;
use crate::suite::mixed as spec;
use crate::suite::{MixedSpec, WorkloadSpec};

/// Help after the options.
pub const MIXED_HELP: &str =
    "Parts: --write, --read, --snapshot and --checkpoint take comma-separated
KEY=VALUE options, those of a suite's [[workload.part]]: name, engine, partitions,
threads, record_size, batch_size, segment_size, retention, flush, sync, rate,
consumers, groups, fetch_size, cache, size, every, every_records, background.
An engine's own options follow it: engine=uring:qd=8,direct.
- a read part reads a log of `size` written first; cold: evicted before each pass;
  rate: each group's fetch rate (tail consumers keeping up with the producers)
- a snapshot writes `size` (256MiB) and fsyncs it every `every_records`
  (snapCount, 100000) transactions of the first write part
- a checkpoint writes `size` (8MB = capacity x 8) and fsyncs it every `every` (30s)
- background=true: the part runs in every run (the others are compared without
  their foreground siblings only)
Each repetition runs the parts together, then each without the others; the results
pair each part's latency with and without them.

Examples:
  segbench mixed --write name=produce,engine=buffered,partitions=4,rate=40MB/s \\
      --read name=tail,engine=sendfile,cache=hot,size=64MiB,rate=40MB/s,background=true \\
      --read name=catch-up,engine=sendfile,cache=cold,size=512MiB --duration 5s
  segbench mixed --write name=txnlog,engine=buffered,record_size=512,batch_size=4KiB,flush=batch \\
      --snapshot size=256MiB,every_records=50000 --snap-dir /other-disk/zk --duration 10s
  segbench mixed --write name=put,engine=buffered,batch_size=50KiB,flush=batch,sync=fsync \\
      --read name=take,engine=readwrite,cache=cold,size=64MiB --checkpoint every=2s";

/// `segbench mixed`.
#[derive(Debug, Args, Clone)]
#[command(after_help = MIXED_HELP)]
pub struct MixedArgs {
    /// A write part (repeatable): KEY=VALUE,...
    #[arg(long = "write", value_name = "SPEC")]
    pub writes: Vec<String>,
    /// A read part (repeatable): KEY=VALUE,...
    #[arg(long = "read", value_name = "SPEC")]
    pub reads: Vec<String>,
    /// A snapshot writer part (ZooKeeper): KEY=VALUE,...
    #[arg(long = "snapshot", value_name = "SPEC")]
    pub snapshots: Vec<String>,
    /// A checkpoint writer part (Flume file channel): KEY=VALUE,...
    #[arg(long = "checkpoint", value_name = "SPEC")]
    pub checkpoints: Vec<String>,
    /// The common measured interval of every repetition.
    #[arg(long, default_value = "5s", value_parser = duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub duration: Duration,
    /// Measured repetitions (each: together, then each part alone).
    #[arg(
        long,
        default_value = "1",
        allow_hyphen_values = true,
        value_name = "N"
    )]
    pub repeat: u32,
    /// Warm-up with every part before the first repetition ("0" for none).
    #[arg(long, default_value = "1s", value_parser = duration_or_zero, value_name = "DURATION")]
    pub warmup: Duration,
    /// Data directory: created if missing, or empty; default a fresh one under the current directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Snapshot and checkpoint files go here (ZooKeeper's dataDir apart from dataLogDir):
    /// created if missing, or empty.
    #[arg(long, value_name = "DIR")]
    pub snap_dir: Option<PathBuf>,
    /// Verify every written segment and delivered batch.
    #[arg(long)]
    pub verify: bool,
    /// Keep the data written.
    #[arg(long)]
    pub keep: bool,
    /// Where results and progress go.
    #[command(flatten)]
    pub output: common::OutputArgs,
}

/// The mixed workload the arguments describe, checked; bad input names the flag.
pub fn workload(a: &MixedArgs) -> anyhow::Result<MixedSpec> {
    crate::parse::repeat(a.repeat).map_err(bad_input)?;
    let mut parts = Vec::new();
    for (kind, specs) in [
        ("write", &a.writes),
        ("read", &a.reads),
        ("snapshot", &a.snapshots),
        ("checkpoint", &a.checkpoints),
    ] {
        for s in specs {
            parts.push(spec::from_cli(kind, s).map_err(bad_input)?);
        }
    }
    if parts.len() < 2 {
        return Err(bad_input(format!(
            "mixed workload 'mixed' has {} part(s): give at least two, e.g. --write engine=buffered --read engine=sendfile",
            parts.len()
        )));
    }
    let w = MixedSpec {
        name: "mixed".into(),
        duration: Some(crate::parse::duration_text(a.duration)),
        verify: None,
        repeat: None,
        parts,
    };
    let origin = |p: &WorkloadSpec| format!("--{} {}", p.kind(), p.name());
    spec::check(&w, &|p| {
        crate::suite::check_workload(p, Path::new(&origin(p))).map_err(|e| e.0)
    })
    .map_err(|e| {
        bad_input(match e {
            spec::SpecError::At { msg, .. } => msg,
            spec::SpecError::Part(m) => m,
        })
    })?;
    Ok(w)
}

/// Runs `segbench mixed`.
pub fn run(a: MixedArgs) -> anyhow::Result<u8> {
    let w = workload(&a)?;
    check_in_suite(&w, a.snap_dir.as_ref())?;
    let cfg = spec::config(&w, a.snap_dir.as_ref()).map_err(bad_input)?;
    common::check_outputs(&a.output)?;
    let meta = RunMeta::now();
    let data = DataDir::acquire(a.dir.as_deref(), &meta.id, a.keep)
        .map_err(|e| bad_input(e.to_string()))?;
    let snap = snap_dir(a.snap_dir.as_deref(), &meta.id, a.keep)?;
    let progress = Progress::new(a.output.quiet);
    let probe = (!a.output.no_probe).then(|| {
        crate::probe::probe(&crate::probe::ProbeOptions {
            dir: data.path().to_path_buf(),
            micro: false,
        })
    });
    let opts = RunOptions {
        repeat: a.repeat,
        warmup: a.warmup,
        keep: a.keep,
        verify: a.verify,
        first_workload: 0,
        sync: None,
        until_steady: None,
    };
    let signals = crate::signals::install();
    let data = [data];
    let outcome = run_mixed(
        &cfg,
        &opts,
        &data,
        snap.as_ref(),
        workloads::pacing::best_clock().0,
        &signals.stop,
        &progress,
    )?;
    let [data] = data;
    let kept = data.finish();
    drop(snap);
    let file = crate::output::results_file(
        &meta,
        probe,
        results::Baseline::default(),
        outcome.workloads,
        Vec::new(),
        outcome.interrupted,
    );
    let table = results::export::detail::with_flushes(&file);
    common::deliver(&file, &table, &a.output)?;
    if let Some(k) = kept {
        progress.line(&format!("data kept in {}", k.display()));
    }
    common::finish(&file, outcome.check_failures, signals)
}

/// The data directory of `--snap-dir` (created if missing, or empty; marked and cleaned as
/// any data directory), when given.
pub fn snap_dir(dir: Option<&Path>, run_id: &str, keep: bool) -> anyhow::Result<Option<DataDir>> {
    dir.map(|d| DataDir::acquire(Some(d), run_id, keep))
        .transpose()
        .map_err(|e| bad_input(format!("--snap-dir: {e}")))
}

/// Checks, before any work, that the mixed workload `w` can be configured (sizes, engines,
/// what the machine has room for).
pub fn check_in_suite(w: &MixedSpec, snap_dir: Option<&PathBuf>) -> anyhow::Result<()> {
    spec::config(w, snap_dir)
        .map(|_| ())
        .map_err(|m| bad_input(format!("workload '{}': {m}", w.name)))
}
