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
