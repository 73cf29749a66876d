//! `segbench merge A.json B.json … -o OUT.json`: results of the same workloads from several
//! hosts become one cluster-wide result (see `results::merge` for the rules); with `--append`,
//! several runs of one machine become one result holding all their repetitions. Exit 2 when the
//! inputs do not fit together.

use std::path::PathBuf;

use clap::Args;
use results::io::{read_results, write_results};

use crate::bad_input;

/// Help after the options.
pub const MERGE_HELP: &str =
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

/// `segbench merge`.
#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// Results files of the same workloads, one per host (at least two).
    #[arg(value_name = "RESULTS.json", num_args = 2.., required = true)]
    pub inputs: Vec<PathBuf>,
    /// The inputs are runs of one machine made one after the other: append their repetitions
    /// (pools run-to-run variation, e.g. for the CI gate) instead of summing hosts.
    #[arg(long)]
    pub append: bool,
    /// Where to write the merged results (atomically).
    #[arg(long, short = 'o', value_name = "OUT.json")]
    pub out: PathBuf,
    /// Print nothing on stdout.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Runs `segbench merge`.
pub fn run(a: MergeArgs) -> anyhow::Result<u8> {
    let named: Vec<&std::path::Path> = a.inputs.iter().map(PathBuf::as_path).collect();
    crate::output::check_file("-o", &a.out, &named, crate::output::OutputKind::Results)?;
    let mut inputs = Vec::with_capacity(a.inputs.len());
    for p in &a.inputs {
        inputs.push(read_results(p).map_err(|e| bad_input(e.to_string()))?);
    }
    let merged = if a.append {
        results::merge::append(&inputs)
    } else {
        results::merge::merge(&inputs)
    };
    let mut merged = merged.map_err(|e| bad_input(format!("cannot merge: {e}")))?;
    merged.run.command_line = std::env::args().collect();
    write_results(&a.out, &merged).map_err(|e| bad_input(e.to_string()))?;
    if !a.quiet {
        crate::output::print(&results::export::terminal::render(&merged))?;
        let what = if a.append { "runs" } else { "hosts" };
        crate::output::println(&format!(
            "\nmerged {} {what} into {}",
            inputs.len(),
            a.out.display()
        ))?;
    }
    Ok(0)
}
