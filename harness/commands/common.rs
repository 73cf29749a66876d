//! What the commands share: the output options (`--json`, `--out`, …), results assembly and
//! output.

use std::path::{Path, PathBuf};

use clap::Args;

use results::{Baseline, ResultsFile, WorkloadResult, SCHEMA_VERSION};

use crate::meta::{self, RunMeta};

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

/// A results file for finished workloads.
pub fn results_file(
    meta: &RunMeta,
    probe: Option<results::probe::Probe>,
    baseline: Baseline,
    workloads: Vec<WorkloadResult>,
    warnings: Vec<String>,
    interrupted: bool,
) -> ResultsFile {
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: meta::tool(),
        run: meta.run_info(),
        probe,
        baseline,
        workloads,
        warnings,
        interrupted,
    }
}

/// Writes `--out` atomically and `--json` to stdout.
pub fn emit_json(file: &ResultsFile, out: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(file)?;
    if let Some(path) = out {
        results::export::json::write_atomic(path, text.as_bytes())
            .map_err(|e| anyhow::anyhow!("writing results to {}: {e}", path.display()))?;
    }
    if json {
        crate::output::println(&text)?;
    }
    Ok(())
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

/// Writes `--hdr-log DIR`: one HdrHistogram interval log per workload.
pub fn emit_hdr_logs(file: &ResultsFile, dir: Option<&Path>) -> anyhow::Result<()> {
    if let Some(dir) = dir {
        results::hdrlog::write_interval_logs(dir, file)
            .map_err(|e| crate::bad_input(format!("--hdr-log {}: {e}", dir.display())))?;
    }
    Ok(())
}
