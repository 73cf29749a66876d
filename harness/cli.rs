//! The command line (clap derive): assembles the [`Command`] enum from the commands' own
//! arguments and help texts (in `commands::*`); the value parsers are in [`crate::parse`].

use clap::{Parser, Subcommand};

use crate::commands::{
    clean, compare, fit, merge, mixed, plan, probe, read, replicate, report, run, sink, write,
};

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
    Run(run::RunArgs),
    /// Append Kafka-format segment logs through one or more write engines and compare them.
    #[command(after_help = write::WRITE_HELP)]
    Write(write::WriteArgs),
    /// Serve a segment log to consumers through one or more read engines (sendfile against
    /// read+write, splice, mmap, io_uring), hot or cold, over TCP to a sink, and compare them.
    #[command(after_help = read::READ_HELP)]
    Read(read::ReadArgs),
    /// Kafka replication in one process: producer → leader → rf − 1 long-polling followers, acks 0 / 1 / all.
    #[command(after_help = replicate::REPLICATE_HELP)]
    Replicate(replicate::ReplicateArgs),
    /// Writes, reads, snapshots and checkpoints at once: each part measured with the others
    /// running and alone, and the interference between them.
    #[command(after_help = mixed::MIXED_HELP)]
    Mixed(mixed::MixedArgs),
    /// Receive what `segbench read --sink` sends (on another host or network namespace),
    /// verify it on request, and report per session; runs until Ctrl-C.
    #[command(after_help = sink::SINK_HELP)]
    Sink(sink::SinkArgs),
    /// Describe the machine, the disk under --dir and the NICs; warn about what distorts benchmarks.
    #[command(after_help = probe::PROBE_HELP)]
    Probe(probe::ProbeArgs),
    /// Remove the files a segbench run left in DIR (only segbench's own files).
    Clean(clean::CleanArgs),
    /// How many brokers a target load needs on this hardware, which resource binds, and how it
    /// compares with the baseline cluster (limits from a results file or given explicitly).
    #[command(after_help = plan::PLAN_HELP)]
    Plan(plan::PlanArgs),
    /// Compare two results files: per workload and metric, the change of the median with a 95%
    /// interval and a verdict (improved / regressed / no significant change). Exit 1 on a regression.
    #[command(after_help = compare::COMPARE_HELP)]
    Compare(compare::CompareArgs),
    /// Merge results of the same workloads from several hosts into one cluster-wide result
    /// (throughput summed, histograms added, each host kept in a breakdown).
    #[command(after_help = merge::MERGE_HELP)]
    Merge(merge::MergeArgs),
    /// Fit the Universal Scalability Law to every sweep of a results file: contention σ,
    /// coherency κ, the peak N*, as a table or --json.
    #[command(after_help = fit::FIT_HELP)]
    Fit(fit::FitArgs),
    /// Regenerate report.html (self-contained, with charts) and summary.md from a results file,
    /// and print the comparison table and verdict.
    #[command(after_help = report::REPORT_HELP)]
    Report(report::ReportArgs),
    /// One run across many hosts, started by a launcher (srun, mpirun, ssh, Kubernetes).
    Fleet(crate::commands::fleet::FleetArgs),
}
