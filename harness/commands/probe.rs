//! `segbench probe`: the hardware probe as a table or JSON.

use std::path::PathBuf;

use clap::Args;

use crate::probe::{self, ProbeOptions};

/// Help after the options.
pub const PROBE_HELP: &str =
    "Examples:\n  segbench probe\n  segbench probe --dir /data --json > probe.json";

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

/// Runs the probe and prints it.
pub fn run(a: ProbeArgs) -> anyhow::Result<u8> {
    let dir = a.dir.clone().unwrap_or_else(|| ".".into());
    if !dir.is_dir() {
        return Err(crate::bad_input(format!(
            "--dir {}: not a directory; give an existing directory",
            dir.display()
        )));
    }
    let p = probe::probe(&ProbeOptions {
        dir,
        micro: !a.no_micro,
    });
    if a.json {
        crate::output::println(&serde_json::to_string_pretty(&p)?)?;
    } else {
        crate::output::print(&probe::render(&p))?;
    }
    Ok(0)
}
