//! Helpers shared by the commands: results assembly and output.

use std::path::Path;

use results::{Baseline, ResultsFile, WorkloadResult, SCHEMA_VERSION};

use crate::meta::{self, RunMeta};

/// A results file for finished workloads.
pub fn results_file(
    meta: &RunMeta,
    probe: Option<serde_json::Value>,
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
        fleet: None,
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
        println!("{text}");
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

/// One line per flushing write workload: sync-call p99 and how many took over 1000 ms
/// (ZooKeeper's `fsync.warningthresholdms`), from the repetitions' flush histograms added up.
pub fn flush_lines(file: &ResultsFile) -> Vec<String> {
    let mut out = Vec::new();
    for w in &file.workloads {
        let flushes = w
            .config
            .get("flush")
            .and_then(|v| v.as_str())
            .unwrap_or("never");
        if w.kind != results::Kind::Write || flushes == "never" || w.repetitions.is_empty() {
            continue;
        }
        let sync = w
            .config
            .get("sync")
            .and_then(|v| v.as_str())
            .unwrap_or("fdatasync");
        let hists: Vec<&results::LatencySummary> = w
            .repetitions
            .iter()
            .filter_map(|r| r.flush_latency_ns.as_ref())
            .collect();
        if hists.is_empty() {
            out.push(format!(
                "{}: {sync} linked to each write (io_uring): its time is inside the batch latency",
                w.name
            ));
            continue;
        }
        let Ok(all) = results::hist::merge_summaries(hists) else {
            continue;
        };
        let slow: u64 = w
            .repetitions
            .iter()
            .filter_map(|r| r.extra.get("flushes_over_1000ms").and_then(|v| v.as_u64()))
            .sum();
        out.push(format!(
            "{}: {} {sync} calls, p50 {}, p99 {}, max {}, {slow} over 1000 ms",
            w.name,
            all.count,
            workloads::units::format_ns(all.p50 as f64),
            workloads::units::format_ns(all.p99 as f64),
            workloads::units::format_ns(all.max as f64),
        ));
    }
    out
}

/// The terminal report: the table, then the flush lines when there are any.
pub fn terminal_report(file: &ResultsFile) -> String {
    let mut text = results::export::terminal::render(file);
    let lines = flush_lines(file);
    if !lines.is_empty() {
        text.push_str("\nflushes:\n");
        for l in lines {
            text.push_str(&format!("  {l}\n"));
        }
    }
    text
}
