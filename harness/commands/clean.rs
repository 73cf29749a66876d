//! `segbench clean DIR`: removes what a segbench run left behind (it was killed), and nothing else.

use std::fs;
use std::path::PathBuf;

use clap::Args;

use crate::bad_input;
use crate::datadir::MARKER;

/// `segbench clean`.
#[derive(Debug, Args, Clone)]
pub struct CleanArgs {
    /// A data directory of segbench's (it holds the marker file .segbench-data).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Removes segbench's files from `DIR`: only when the marker is there, and only the marker, the
/// repetition directories segbench names `w<N>-r<N>` / `w<N>-warmup` / `r<N>-…`, and the directory
/// itself when it is then empty and segbench created it.
pub fn run(a: CleanArgs) -> anyhow::Result<u8> {
    let dir = &a.dir;
    let marker = dir.join(MARKER);
    let text = fs::read_to_string(&marker).map_err(|_| {
        bad_input(format!(
            "{}: no {MARKER} marker: not a segbench data directory, nothing removed",
            dir.display()
        ))
    })?;
    let created_dir = text.contains("created_dir: true");
    let mut removed = 0;
    let mut left = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().to_string();
        if name == MARKER {
            continue;
        }
        if is_segbench_child(&name) && e.file_type()?.is_dir() {
            fs::remove_dir_all(e.path())?;
            removed += 1;
        } else {
            left.push(name);
        }
    }
    fs::remove_file(&marker)?;
    if created_dir && left.is_empty() {
        fs::remove_dir(dir)?;
    }
    eprintln!(
        "segbench: removed {removed} run director{} from {}",
        if removed == 1 { "y" } else { "ies" },
        dir.display()
    );
    if !left.is_empty() {
        eprintln!(
            "segbench: left {} entries segbench did not create: {}",
            left.len(),
            left.join(", ")
        );
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_its_own_names() {
        for ok in ["w0-r0", "w12-r3", "w1-warmup", "r0-data"] {
            assert!(is_segbench_child(ok), "{ok}");
        }
        for no in ["data", "w-r0", "wx-r0", "kafka-0", "w0-rX", "photos"] {
            assert!(!is_segbench_child(no), "{no}");
        }
    }
}
