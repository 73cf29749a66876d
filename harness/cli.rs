//! The command line (clap derive). Values are parsed with the same parsers as suite files, so a
//! bad value gets one line naming it and the expected form.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Parses a size for clap.
pub fn size(s: &str) -> Result<u64, String> {
    workloads::units::parse_size(s).map_err(|e| e.0)
}
/// Parses a duration for clap.
pub fn duration(s: &str) -> Result<Duration, String> {
    workloads::units::parse_duration(s).map_err(|e| e.0)
}
/// Parses a duration that may be zero (`0` disables), for clap.
pub fn duration_or_zero(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    duration(s)
}
/// Parses a rate for clap.
pub fn rate(s: &str) -> Result<f64, String> {
    workloads::units::parse_rate(s).map_err(|e| e.0)
}

const ABOUT: &str =
    "Benchmark and hardware probe for segment-style append-only logs (Kafka, Flume, ZooKeeper).";

const AFTER_HELP: &str = "Examples:
  segbench write --size 1GiB                      compare buffered, mmap, direct and io_uring appends
  segbench write --engine uring:qd=32,direct,fixed --duration 10s --flush batch
  segbench probe --dir /var/lib/kafka             describe the machine and the disk under a directory

Sizes take KiB/MiB/GiB (binary) or KB/MB/GB (decimal); durations 500ms/10s/2m; rates 100MB/s.
Exit codes: 0 success, 1 a check failed or the run failed, 2 bad input or environment.";

/// segbench.
#[derive(Debug, Parser)]
#[command(name = "segbench", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job: probe, then a suite of write and read workloads, then a report.
    Run(crate::commands::run::RunArgs),
    /// Append Kafka-format segment logs through one or more write engines and compare them.
    #[command(after_help = WRITE_HELP)]
    Write(WriteArgs),
    /// Serve a segment log to consumers through one or more read engines (sendfile against
    /// read+write, splice, mmap, io_uring), hot or cold, over TCP to a sink, and compare them.
    #[command(after_help = crate::commands::read::READ_HELP)]
    Read(crate::commands::read::ReadArgs),
    /// Receive what `segbench read --sink` sends (on another host or network namespace),
    /// verify it on request, and report per session; runs until Ctrl-C.
    #[command(after_help = crate::commands::sink::SINK_HELP)]
    Sink(crate::commands::sink::SinkArgs),
    /// Describe the machine, the disk under --dir and the NICs; warn about what distorts benchmarks.
    #[command(
        after_help = "Examples:\n  segbench probe\n  segbench probe --dir /data --json > probe.json"
    )]
    Probe(ProbeArgs),
    /// Remove the files a segbench run left in DIR (only segbench's own files).
    Clean(CleanArgs),
    /// How many brokers a target load needs on this hardware, which resource binds, and how it
    /// compares with the baseline cluster (limits from a results file or given explicitly).
    #[command(after_help = crate::commands::plan::PLAN_HELP)]
    Plan(crate::commands::plan::PlanArgs),
    /// Compare two results files: per workload and metric, the change of the median with a 95%
    /// interval and a verdict (improved / regressed / no significant change). Exit 1 on a regression.
    #[command(after_help = COMPARE_HELP)]
    Compare(crate::commands::compare::CompareArgs),
    /// Merge results of the same workloads from several hosts into one cluster-wide result
    /// (throughput summed, histograms added, each host kept in a breakdown).
    #[command(after_help = MERGE_HELP)]
    Merge(crate::commands::merge::MergeArgs),
    /// Regenerate report.html (self-contained, with charts) and summary.md from a results file,
    /// and print the comparison table and verdict.
    #[command(after_help = crate::commands::report::REPORT_HELP)]
    Report(crate::commands::report::ReportArgs),
    /// One run across many hosts, started by a launcher (srun, mpirun, ssh, Kubernetes).
    Fleet(crate::commands::fleet::FleetArgs),
}

const COMPARE_HELP: &str = "A change counts only when its whole 95% interval (percentile bootstrap of the ratio of
medians over the repetitions) lies beyond the threshold: regressed = throughput lower, or
p99 / p99.9 / CPU per GB higher. Workloads are matched by name and configuration.

Examples:
  segbench compare ci/perf-baseline.json new.json
  segbench compare base.json new.json --threshold 10% --metric throughput,p99 --markdown comment.md
  segbench compare base.json new.json --threshold throughput=40% --threshold cpu=10%
  segbench compare base.json paced.json --ignore-config rate_bytes_per_s

Exit codes: 0 no regression, 1 a regression, 2 the files cannot be compared (not results, other
schema version, different workload configuration, different hardware unless --allow-different-hardware).";

const MERGE_HELP: &str =
    "Repetition i of every host is merged with repetition i of the others: bytes, records and CPU
summed, elapsed = the longest host's, throughput = summed bytes / longest elapsed, timelines
summed bucket by bucket, latency histograms added (never averaged percentiles). Each host's own
figures stay in each repetition's extra[\"hosts\"].

With --append the inputs are runs of one machine: their repetitions are pooled into one result
(e.g. a baseline made of several sessions).

Examples:
  segbench merge broker1.json broker2.json broker3.json -o cluster.json
  segbench merge --append monday.json tuesday.json -o baseline.json

Exit code 2 when the inputs do not fit together (other workloads or configurations, schema).";

const WRITE_HELP: &str = "Engines (repeat --engine to compare; repetitions are interleaved A B C A B C):
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
  segbench write --format raw --batch-size 128KiB --engine direct     (like-for-like with fio)";

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
    pub output: OutputArgs,
}

/// Output options shared by the commands that measure (`write`, `read`).
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Print the results JSON on stdout (nothing else goes there).
    #[arg(long)]
    pub json: bool,
    /// Write the results JSON to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// No progress on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Do not embed the hardware probe in the results (faster; for tests).
    #[arg(long, hide = true)]
    pub no_probe: bool,
    /// Write HdrHistogram interval logs (standard text format), one `.hlog` per workload, into DIR.
    #[arg(long, value_name = "DIR")]
    pub hdr_log: Option<PathBuf>,
}

/// `segbench probe`.
#[derive(Debug, Args, Clone)]
pub struct ProbeArgs {
    /// Directory whose file system and device to describe (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Skip the micro-probes (memcpy, first touch, clock, loopback TCP).
    #[arg(long)]
    pub no_micro: bool,
}

/// `segbench clean`.
#[derive(Debug, Args, Clone)]
pub struct CleanArgs {
    /// A data directory of segbench's (it holds the marker file .segbench-data).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}
