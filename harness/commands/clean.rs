//! `segbench clean DIR`: removes what a segbench run left behind (it was killed), and nothing else.

use std::fs;
use std::path::PathBuf;

use clap::Args;

use crate::bad_input;
use crate::datadir::sweep::{sweep_dir, Left, Sweep};
use crate::datadir::{Marker, Owner, MARKER};

/// `segbench clean`.
#[derive(Debug, Args, Clone)]
pub struct CleanArgs {
    /// A data directory of segbench's (it holds the marker file .segbench-data).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Removes segbench's files from `DIR`: only when the marker is there and its run is over, and
/// only the files segbench writes (segments and their indexes) inside the run directories it
/// names (`w<N>-r<N>`, `w<N>-warmup`, `read-log`, …), the directories left empty, the marker,
/// and `DIR` itself when segbench created it and it is then empty. Everything else stays and is
/// listed with the reason.
pub fn run(a: CleanArgs) -> anyhow::Result<u8> {
    let dir = &a.dir;
    let marker = match Marker::read(dir) {
        Ok(Some(m)) => m,
        _ => {
            return Err(bad_input(format!(
                "{}: no {MARKER} marker: not a segbench data directory, nothing removed",
                dir.display()
            )))
        }
    };
    if matches!(marker.owner(), Owner::Live { .. } | Owner::ThisProcess) {
        return Err(bad_input(format!(
            "{}: in use by pid {} (segbench run {}, still going): nothing removed; stop that run or wait for it",
            dir.display(),
            marker.pid,
            marker.run
        )));
    }
    let mut sweep = Sweep::default();
    let mut runs = 0;
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().to_string();
        if name == MARKER {
            continue;
        }
        if is_segbench_child(&name) && e.file_type()?.is_dir() {
            sweep_dir(&e.path(), &mut sweep);
            runs += 1;
        } else {
            sweep.left.push(Left {
                path: e.path(),
                why: "not made by segbench".into(),
            });
        }
    }
    fs::remove_file(dir.join(MARKER))?;
    if marker.created_dir && sweep.left.is_empty() {
        fs::remove_dir(dir)?;
    }
    eprintln!(
        "segbench: removed {} files of {runs} run director{} from {}",
        sweep.removed_files,
        if runs == 1 { "y" } else { "ies" },
        dir.display()
    );
    if let Some(line) = sweep.left_line() {
        eprintln!("segbench: {line}");
    }
    Ok(0)
}

/// Names of the child directories segbench creates in a data directory.
pub fn is_segbench_child(name: &str) -> bool {
    let mut parts = name.splitn(2, '-');
    let head = parts.next().unwrap_or("");
    let tail = parts.next().unwrap_or("");
    let numbered = |s: &str, p: char| {
        s.len() > 1 && s.starts_with(p) && s[1..].chars().all(|c| c.is_ascii_digit())
    };
    (numbered(head, 'w') || numbered(head, 'r') || numbered(head, 'g'))
        && (tail == "warmup"
            || tail == "calibration"
            || numbered(tail, 'r')
            || tail.starts_with("data")
            || tail.is_empty())
        || name == "read-log"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_its_own_names() {
        for ok in ["w0-r0", "w12-r3", "w1-warmup", "r0-data", "read-log"] {
            assert!(is_segbench_child(ok), "{ok}");
        }
        for no in ["data", "w-r0", "wx-r0", "kafka-0", "w0-rX", "photos"] {
            assert!(!is_segbench_child(no), "{no}");
        }
    }
}
