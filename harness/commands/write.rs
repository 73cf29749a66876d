//! `segbench write`: compares write engines on Kafka-format (or raw) segment logs.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use workloads::{write, SyncKind};

use crate::bad_input;
use crate::commands::common;
use crate::datadir::DataDir;
use crate::meta::RunMeta;
use crate::parse::{duration, duration_or_zero, rate, size};
use crate::runner::progress::Progress;
use crate::runner::write::{run_writes, RunOptions, WriteConfig, DEFAULT_SIZE};
use crate::suite::config::WriteSettings;

/// Help after the options.
pub const WRITE_HELP: &str = "Engines (repeat --engine to compare; repetitions are interleaved A B C A B C):
  buffered                 pwrite into the page cache
  mmap                     fallocate + shared mapping + copy; msync to flush
  direct                   O_DIRECT with aligned buffers (alignment from statx)
  uring[:qd=N,direct,fixed,sqpoll]   io_uring; fixed = registered buffers and files
  null                     writes nothing (measures segbench's own overhead)
Default: buffered, mmap, direct and uring:qd=8,direct.

Examples:
  segbench write --size 1GiB
  segbench write --engine buffered --engine uring:qd=32,direct --partitions 4 --threads 2 --duration 10s
  segbench write --engine direct --flush batch --sync fdatasync --record-size 512 --batch-size 4KiB
  segbench write --engine buffered --rate 50MB/s --duration 30s      (open loop)
  segbench write --format raw --batch-size 128KiB --engine direct     (like-for-like with fio)
  segbench write --engine direct --until-steady --duration 5m --repeat 1
                                      (5 s rounds until steady, SNIA PTS; at most 5 minutes)";

/// `segbench write`.
#[derive(Debug, Args, Clone)]
pub struct WriteArgs {
    /// Write engine spec NAME[:opt,opt=val]; repeat to compare several.
    #[arg(long = "engine", short = 'e', value_name = "SPEC")]
    pub engines: Vec<String>,
    /// Data directory: created if missing, or empty; default a fresh one under the current directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Partitions (one segment log each).
    #[arg(
        long,
        default_value = "1",
        allow_hyphen_values = true,
        value_name = "N"
    )]
    pub partitions: u32,
    /// Runner threads (partitions are dealt round-robin to them).
    #[arg(
        long,
        default_value = "1",
        allow_hyphen_values = true,
        value_name = "N"
    )]
    pub threads: u32,
    /// Record value size.
    #[arg(long, default_value = "1KiB", value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub record_size: u64,
    /// Batch size limit (Kafka batch.size); block size with --format raw.
    #[arg(long, default_value = "16KiB", value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub batch_size: u64,
    /// Roll a segment at this size.
    #[arg(long, default_value = "1GiB", value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub segment_size: u64,
    /// Bytes between sparse offset-index entries.
    #[arg(long, default_value = "4096", value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub index_interval: u64,
    /// Preallocate each segment with fallocate.
    #[arg(long)]
    pub preallocate: bool,
    /// Retention per partition: delete the oldest whole segments beyond this size.
    #[arg(long, value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub retention: Option<u64>,
    /// Flush policy: never (Kafka default), batch, bytes=SIZE, ms=N.
    #[arg(long, default_value = "never", value_name = "POLICY")]
    pub flush: String,
    /// Sync call: fdatasync, fsync, or dsync (O_DSYNC: every write durable).
    #[arg(long, default_value = "fdatasync", value_name = "CALL")]
    pub sync: String,
    /// kafka (v2 record batches + indexes) or raw (plain blocks, for comparison with fio).
    #[arg(long, default_value = "kafka", value_name = "FORMAT")]
    pub format: String,
    /// Bytes per repetition (all partitions); default 256MiB when --duration is not given.
    #[arg(long, value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub size: Option<u64>,
    /// Time per repetition.
    #[arg(long, value_parser = duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Run each repetition in rounds of ROUND (default 5s) until the SNIA PTS steady state holds
    /// over the last 5 rounds, or until --duration (then labelled not steady); --size becomes the
    /// minimum written before the window may start.
    #[arg(long, value_name = "ROUND", num_args = 0..=1, default_missing_value = "5s", value_parser = duration_or_zero, allow_hyphen_values = true)]
    pub until_steady: Option<Duration>,
    /// Open-loop target rate (all partitions); latency then runs from each batch's intended start.
    #[arg(long, value_parser = rate, allow_hyphen_values = true, value_name = "RATE")]
    pub rate: Option<f64>,
    /// Warm-up before each engine's first repetition (0 for none).
    #[arg(long, default_value = "1s", value_parser = duration_or_zero, allow_hyphen_values = true, value_name = "DURATION")]
    pub warmup: Duration,
    /// Measured repetitions per engine.
    #[arg(
        long,
        default_value = "3",
        allow_hyphen_values = true,
        value_name = "N"
    )]
    pub repeat: u32,
    /// Topic name for partition directories (<topic>-<partition>).
    #[arg(long, default_value = "segbench", value_name = "NAME")]
    pub topic: String,
    /// Re-read every segment after each repetition and check it against the counters (exit 1 on mismatch).
    #[arg(long)]
    pub verify: bool,
    /// Keep the data written (default: removed at the end).
    #[arg(long)]
    pub keep: bool,
    /// Where results and progress go.
    #[command(flatten)]
    pub output: common::OutputArgs,
}

/// Engines compared when none is given.
pub const DEFAULT_ENGINES: &[&str] = &["buffered", "mmap", "direct", "uring:qd=8,direct"];

impl WriteArgs {
    /// The workload's settings (what defines it but its engines): what a suite's write
    /// workload builds too. No size nor duration: [`DEFAULT_SIZE`].
    pub fn settings(&self) -> WriteSettings {
        WriteSettings {
            topic: self.topic.clone(),
            partitions: self.partitions,
            threads: self.threads,
            record_size: self.record_size,
            batch_size: self.batch_size,
            segment_size: self.segment_size,
            index_interval: self.index_interval,
            preallocate: self.preallocate,
            retention: self.retention,
            flush: self.flush.clone(),
            sync: self.sync.clone(),
            format: self.format.clone(),
            size: match (self.size, self.duration) {
                (None, None) => Some(DEFAULT_SIZE),
                (s, _) => s,
            },
            duration: self.duration,
            rate: self.rate,
        }
    }
}

/// Turns the arguments into one configuration per engine; every bad value is a [`crate::BadInput`].
pub fn configs(a: &WriteArgs) -> anyhow::Result<Vec<WriteConfig>> {
    let names: Vec<String> = if a.engines.is_empty() {
        DEFAULT_ENGINES.iter().map(|s| s.to_string()).collect()
    } else {
        a.engines.clone()
    };
    crate::parse::unique_engines(&names).map_err(bad_input)?;
    let room = crate::budget::Room::here();
    let settings = a.settings();
    // The flags' own errors come first, as before any engine is built.
    crate::parse::flush_sync(&a.flush, &a.sync).map_err(bad_input)?;
    if a.format != "kafka" && a.format != "raw" {
        return Err(bad_input(format!(
            "--format '{}': use kafka or raw",
            a.format
        )));
    }
    crate::parse::repeat(a.repeat).map_err(bad_input)?;
    if let Some(round) = a.until_steady {
        crate::runner::steady::check_round("--until-steady", round, a.duration)
            .map_err(bad_input)?;
    }
    names
        .iter()
        .map(|n| settings.config(n, room).map_err(bad_input))
        .collect()
}

/// Checks each engine's options and support on the data directory. Invalid options are bad input;
/// engines this machine cannot run are returned as skip reasons.
pub fn precheck(
    cfgs: &[WriteConfig],
    dir: &std::path::Path,
) -> anyhow::Result<Vec<Option<String>>> {
    let mut skips = Vec::new();
    for c in cfgs {
        let len = c.shape().map_err(bad_input)?.batch_bytes;
        match write::build(&c.engine, dir, len) {
            Ok(_) => skips.push(None),
            Err(e) if e.is_unsupported() => skips.push(Some(e.to_string())),
            Err(e) => return Err(bad_input(e.about_spec("--engine", &c.engine.to_string()))),
        }
    }
    Ok(skips)
}

/// What the probe's warnings and free-space check need to know: the bytes on disk at once
/// (one repetition's data, or all of them with --keep), threads, engines, flushing.
fn run_plan(cfgs: &[WriteConfig], a: &WriteArgs, dir: &std::path::Path) -> crate::probe::RunPlan {
    let per_rep = cfgs.iter().filter_map(|c| c.size).max().unwrap_or(0);
    let at_once = if a.keep {
        per_rep * a.repeat as u64 * cfgs.len() as u64
    } else {
        per_rep
    };
    let capped = match a.retention {
        Some(r) => at_once.min(
            r.saturating_add(a.segment_size)
                * a.partitions as u64
                * if a.keep {
                    a.repeat as u64 * cfgs.len() as u64
                } else {
                    1
                },
        ),
        None => at_once,
    };
    crate::probe::RunPlan {
        data_bytes: capped,
        threads: a.threads,
        uses_direct: cfgs
            .iter()
            .any(|c| c.engine.name == "direct" || c.engine.flag("direct")),
        uses_uring: cfgs.iter().any(|c| c.engine.name == "uring"),
        flushes: cfgs
            .iter()
            .any(|c| c.flush.flushes() || c.sync == SyncKind::Dsync),
        dir: dir.to_path_buf(),
    }
}

/// Runs `segbench write`.
pub fn run(a: WriteArgs) -> anyhow::Result<u8> {
    let cfgs = configs(&a)?;
    common::check_outputs(&a.output)?;
    let meta = RunMeta::now();
    let data = DataDir::acquire(a.dir.as_deref(), &meta.id, a.keep)
        .map_err(|e| bad_input(e.to_string()))?;
    let skips = precheck(&cfgs, data.path())?;
    if skips.iter().all(|s| s.is_some()) {
        let reasons: Vec<String> = skips.into_iter().flatten().collect();
        return Err(bad_input(reasons.join("; ")));
    }
    let progress = Progress::new(a.output.quiet);
    for s in skips.iter().flatten() {
        progress.line(&format!("skipping: {s}"));
    }
    let plan = run_plan(&cfgs, &a, data.path());
    crate::budget::check_space(
        data.path(),
        plan.data_bytes,
        "lower --size (or --repeat with --keep), or use --dir on a larger file system",
    )
    .map_err(bad_input)?;
    let mut run_warnings = Vec::new();
    let probe = if a.output.no_probe {
        None
    } else {
        let p = crate::probe::probe(&crate::probe::ProbeOptions {
            dir: data.path().to_path_buf(),
            micro: false,
        });
        run_warnings = crate::probe::warnings(&p, &plan);
        Some(p)
    };
    let opts = RunOptions {
        repeat: a.repeat,
        warmup: a.warmup,
        keep: a.keep,
        verify: a.verify,
        first_workload: 0,
        sync: None,
        until_steady: a.until_steady,
    };
    let signals = crate::signals::install();
    let data = [data];
    let outcome = run_writes(
        &cfgs,
        &opts,
        &data,
        workloads::pacing::best_clock().0,
        &signals.stop,
        &progress,
    );
    let [data] = data;
    let kept = data.finish();
    let file = crate::output::results_file(
        &meta,
        probe,
        results::Baseline::default(),
        outcome.workloads,
        run_warnings,
        outcome.interrupted,
    );
    let table = results::export::detail::with_flushes(&file);
    common::deliver(&file, &table, &a.output)?;
    if let Some(k) = kept {
        progress.line(&format!("data kept in {}", k.display()));
    }
    common::finish(&file, outcome.check_failures, signals)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: WriteArgs,
    }

    /// The same options as flags and as a suite workload give the same configurations.
    #[test]
    fn flags_and_suite_options_give_the_same_configs() {
        let a = T::try_parse_from([
            "write",
            "-e",
            "buffered",
            "-e",
            "uring:qd=8,direct",
            "--topic",
            "w",
            "--partitions",
            "4",
            "--threads",
            "2",
            "--record-size",
            "512",
            "--batch-size",
            "8KiB",
            "--segment-size",
            "64MiB",
            "--index-interval",
            "8KiB",
            "--preallocate",
            "--retention",
            "256MiB",
            "--flush",
            "bytes=1MiB",
            "--sync",
            "fsync",
            "--format",
            "raw",
            "--size",
            "32MiB",
            "--duration",
            "2s",
            "--rate",
            "20MB/s",
        ])
        .unwrap()
        .a;
        let flags = configs(&a).unwrap();
        let text = "name = \"s\"\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"buffered\", \"uring:qd=8,direct\"]\npartitions = 4\nthreads = 2\nrecord_size = \"512\"\nbatch_size = \"8KiB\"\nsegment_size = \"64MiB\"\nindex_interval = \"8KiB\"\npreallocate = true\nretention = \"256MiB\"\nflush = \"bytes=1MiB\"\nsync = \"fsync\"\nformat = \"raw\"\nsize = \"32MiB\"\nduration = \"2s\"\nrate = \"20MB/s\"\n";
        let s = crate::suite::parse(text, std::path::Path::new("s.toml")).unwrap();
        let crate::suite::WorkloadSpec::Write(w) = &s.workloads[0] else {
            panic!("{:?}", s.workloads[0]);
        };
        let suite: Vec<WriteConfig> = w
            .engines
            .iter()
            .map(|e| crate::suite::config::write_config(w, e, &None).unwrap())
            .collect();
        assert_eq!(format!("{flags:?}"), format!("{suite:?}"));
    }
}
