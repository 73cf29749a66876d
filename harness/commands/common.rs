//! What the commands share: the output options (`--json`, `--out`, …) as a
//! [`crate::output::Destination`], and the exit code of a command that ran workloads.

use std::path::PathBuf;

use clap::Args;

use results::ResultsFile;

use crate::output::Destination;

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

impl OutputArgs {
    /// Where these options send the results.
    pub fn destination(&self) -> Destination {
        Destination {
            json: self.json,
            file: self.out.clone(),
            dir: None,
            hdr_log: self.hdr_log.clone(),
        }
    }
}

/// Checks `--out FILE` and `--hdr-log DIR` before any work (see [`crate::output`]).
pub fn check_outputs(o: &OutputArgs) -> anyhow::Result<()> {
    crate::output::check(&o.destination())
}

/// Hands the finished results over as the options say ([`crate::output::deliver`]).
pub fn deliver(file: &ResultsFile, table: &str, o: &OutputArgs) -> anyhow::Result<()> {
    crate::output::deliver(file, table, &o.destination())
}

/// The exit of a command that ran workloads: 130 / 143 when a signal stopped it, 1 with one line
/// per failed workload or failed check, else 0. Results were written before this is called.
pub fn finish(
    file: &ResultsFile,
    check_failures: Vec<String>,
    signals: &crate::signals::StopSignals,
) -> anyhow::Result<u8> {
    if let Some(code) = signals.exit_code() {
        eprintln!("segbench: interrupted; partial results kept, data removed");
        return Ok(code);
    }
    let mut lines = check_failures;
    for w in &file.workloads {
        if let results::Status::Failed { error } = &w.status {
            lines.push(format!("{} failed: {error}", w.name));
        }
    }
    if lines.is_empty() {
        return Ok(0);
    }
    Err(anyhow::Error::new(crate::CheckFailed(lines.join("; "))))
}
