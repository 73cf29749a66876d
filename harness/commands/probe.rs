//! `segbench probe`: the hardware probe as a table or JSON.

use crate::cli::ProbeArgs;
use crate::probe::{self, ProbeOptions};

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
        println!("{}", serde_json::to_string_pretty(&p)?);
    } else {
        print!("{}", probe::render(&p));
    }
    Ok(0)
}
