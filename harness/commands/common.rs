//! What the commands share: the output options (`--json`, `--out`, …) and how the results
//! are handed over (files, stdout, the exit code).

use std::path::{Path, PathBuf};

use clap::Args;

use results::ResultsFile;

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

/// Checks `--out FILE` and `--hdr-log DIR` before any work (see [`crate::output`]).
pub fn check_outputs(o: &OutputArgs) -> anyhow::Result<()> {
    if let Some(out) = &o.out {
        crate::output::check_file("--out", out, &[], true)?;
    }
    if let Some(dir) = &o.hdr_log {
        crate::output::check_dir("--hdr-log", dir)?;
    }
    Ok(())
}

/// Hands the finished results over: `--out` (atomically) and `--hdr-log`, the JSON on stdout
/// with `--json`, and the terminal `table` (on stderr with `--json`, else on stdout). The table
/// is printed even when writing a file fails, so a run never ends with nothing to show; the
/// first failure is returned after it.
pub fn deliver(file: &ResultsFile, table: &str, o: &OutputArgs) -> anyhow::Result<()> {
    let mut first_error = None;
    if let Some(path) = &o.out {
        if let Err(e) = serde_json::to_vec_pretty(file)
            .map_err(anyhow::Error::from)
            .and_then(|b| Ok(results::export::json::write_atomic(path, &b)?))
        {
            first_error = Some(anyhow::anyhow!(
                "writing results to {}: {e:#}",
                path.display()
            ));
        }
    }
    if let Err(e) = emit_hdr_logs(file, o.hdr_log.as_deref()) {
        first_error.get_or_insert(e);
    }
    if o.json {
        crate::output::println(&serde_json::to_string_pretty(file)?)?;
        eprint!("{table}");
    } else {
        crate::output::print(table)?;
    }
    first_error.map_or(Ok(()), Err)
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
