//! `segbench clean DIR`: removes what a segbench run left behind (it was killed), and nothing else.

use std::fs;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::bad_input;
use crate::datadir::marker::is_live;
use crate::datadir::sweep::{sweep_dir, Left, Sweep};
use crate::datadir::{Marker, Owner, MARKER};
use crate::output::RESULTS_DIR_MARKER;
use crate::CheckFailed;

/// `segbench clean`.
#[derive(Debug, Args, Clone)]
pub struct CleanArgs {
    /// A data directory of segbench's (it holds the marker file .segbench-data), or a fleet
    /// rank's scratch directory (segbench-fleet-<pid>-rank<N>) whose rank is gone.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Removes segbench's files from `DIR`: only when the marker is there and its run is over, and
/// only inside the child directories the run recorded in the marker as it made them (markers
/// older than that ledger: the names segbench gave them, [`is_segbench_child`]), in the layout
/// segbench makes there ([`crate::datadir::sweep`]); then the directories left empty, and last —
/// only when nothing else is left — the marker, and `DIR` itself when segbench created it.
/// Anything left is listed with the reason and the exit is 1, the marker kept for the next try.
/// A directory whose marker a full disk cut short, and a fleet rank's scratch directory, are
/// cleaned too.
pub fn run(a: CleanArgs) -> anyhow::Result<u8> {
    let dir = &a.dir;
    if let Some(pid) = crate::fleet::child::scratch_owner(dir) {
        return clean_scratch(dir, pid);
    }
    let text = fs::read_to_string(dir.join(MARKER)).ok();
    let marker = match text.as_deref().map(|t| (t, Marker::parse(t))) {
        Some((_, Some(m))) => m,
        Some((t, None)) if Marker::is_truncated(t) => return clean_cut_short(dir, t),
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
    let ours = |name: &str| {
        if marker.ledger {
            marker.children.iter().any(|c| c == name)
        } else {
            is_segbench_child(name)
        }
    };
    let mut sweep = Sweep::default();
    let mut runs = 0;
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().to_string();
        if name == MARKER {
            continue;
        }
        // A link is never followed, even under a recorded name.
        if ours(&name) && e.file_type()?.is_dir() {
            sweep_dir(&e.path(), &mut sweep);
            runs += 1;
        } else {
            sweep.left.push(Left {
                path: e.path(),
                why: "not made by segbench".into(),
            });
        }
    }
    eprintln!(
        "segbench: removed {} files of {runs} run director{} from {}",
        sweep.removed_files,
        if runs == 1 { "y" } else { "ies" },
        dir.display()
    );
    if let Some(line) = sweep.left_line() {
        return Err(kept_marker(dir, &line));
    }
    fs::remove_file(dir.join(MARKER))?;
    if marker.created_dir {
        fs::remove_dir(dir)?;
    }
    Ok(0)
}

/// The failure of a clean that left something: what, and that the marker stays until it is gone.
fn kept_marker(dir: &Path, left: &str) -> anyhow::Error {
    anyhow::Error::new(CheckFailed(format!(
        "{left}; the marker stays: move these out of {0}, then run segbench clean {0} again",
        dir.display()
    )))
}

/// `DIR` holds a marker a full disk cut short (the run said "cannot create it"): when that is
/// all it holds, the marker goes, and `DIR` with it when the marker says segbench created it.
fn clean_cut_short(dir: &Path, text: &str) -> anyhow::Result<u8> {
    let others: Vec<String> = fs::read_dir(dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != MARKER)
        .collect();
    if !others.is_empty() {
        return Err(bad_input(format!(
            "{}: its {MARKER} marker is incomplete and it holds {}: nothing removed; remove it by hand if it is yours to remove",
            dir.display(),
            others.join(", ")
        )));
    }
    fs::remove_file(dir.join(MARKER))?;
    if text.contains("created_dir: true") {
        fs::remove_dir(dir)?;
        eprintln!(
            "segbench: removed {} (an incomplete marker, nothing else)",
            dir.display()
        );
    } else {
        eprintln!(
            "segbench: removed the incomplete marker from {}; the directory stays (empty: segbench cannot tell whether it made it)",
            dir.display()
        );
    }
    Ok(0)
}

/// A fleet rank's scratch directory whose rank `pid` is gone (a process-group SIGKILL left it):
/// the step outputs the rank's children wrote there go, then the directory.
fn clean_scratch(dir: &Path, pid: i32) -> anyhow::Result<u8> {
    if !fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Err(bad_input(format!(
            "{}: not a directory (a link is never followed): nothing removed",
            dir.display()
        )));
    }
    if u32::try_from(pid).is_ok_and(is_live) {
        return Err(bad_input(format!(
            "{}: the scratch directory of fleet rank pid {pid}, still going: nothing removed; stop that run or wait for it",
            dir.display()
        )));
    }
    let mut sweep = Sweep::default();
    sweep_scratch(dir, true, &mut sweep);
    if let Some(line) = sweep.left_line() {
        return Err(anyhow::Error::new(CheckFailed(line)));
    }
    eprintln!(
        "segbench: removed {} files of fleet rank scratch {}",
        sweep.removed_files,
        dir.display()
    );
    Ok(0)
}

/// Removes what a rank's children write into its scratch directory (`top`) or into a step's
/// results directory in it, then the directory when empty.
fn sweep_scratch(dir: &Path, top: bool, out: &mut Sweep) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let (path, name) = (e.path(), e.file_name().to_string_lossy().into_owned());
        let Ok(t) = e.file_type() else { continue };
        let leave = |out: &mut Sweep| {
            out.left.push(Left {
                path: path.clone(),
                why: "not written by a fleet rank".into(),
            })
        };
        if t.is_dir() && top && is_step_results_dir(&name) {
            sweep_scratch(&path, false, out);
        } else if !t.is_dir() && !t.is_symlink() && is_scratch_file(&name, top) {
            match fs::remove_file(&path) {
                Ok(()) => out.removed_files += 1,
                Err(e) => out.left.push(Left {
                    path,
                    why: format!("cannot remove it: {e}"),
                }),
            }
        } else {
            leave(out);
        }
    }
    if fs::remove_dir(dir).is_ok() {
        out.removed_dirs += 1;
    }
}

/// `step<N>`: a step's `run --out` directory in a rank's scratch.
fn is_step_results_dir(name: &str) -> bool {
    name.strip_prefix("step")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The files a rank's children write: at the top `step<N>.sock`, `step<N>-leader.json`,
/// `step<N>-read.json`, `step<N>-follower.json`; in a step's results directory what `run --out`
/// writes; anywhere an atomic write's temporary file (`.<name>.tmp-<pid>-<n>`).
fn is_scratch_file(name: &str, top: bool) -> bool {
    if let Some(tmp) = name.strip_prefix('.') {
        if let Some((target, _)) = tmp.split_once(".tmp-") {
            return is_scratch_file(target, top);
        }
    }
    if !top {
        return name == RESULTS_DIR_MARKER
            || crate::output::RUN_OUTPUTS.iter().any(|(n, _)| *n == name);
    }
    let Some(rest) = name.strip_prefix("step") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && matches!(
            &rest[digits..],
            ".sock" | "-leader.json" | "-read.json" | "-follower.json"
        )
}

/// Names of the child directories segbench gave in a data directory before the marker kept a
/// ledger of them (markers without one): `w<N>-r<N>`, `w<N>-warmup`, `read-log`, a replication
/// repetition's `…acks<A>-r<N>`, a mixed workload's `m<N>-…`.
pub fn is_segbench_child(name: &str) -> bool {
    let mut parts = name.splitn(2, '-');
    let head = parts.next().unwrap_or("");
    let tail = parts.next().unwrap_or("");
    let numbered = |s: &str, p: char| {
        s.len() > 1 && s.starts_with(p) && s[1..].chars().all(|c| c.is_ascii_digit())
    };
    let replication = name.rsplit_once("-r").is_some_and(|(acks, rep)| {
        numbered(&format!("r{rep}"), 'r')
            && acks.rsplit_once("acks").is_some_and(|(pre, mode)| {
                (pre.is_empty() || pre.ends_with('-')) && matches!(mode, "0" | "1" | "all")
            })
    });
    (numbered(head, 'w') || numbered(head, 'r') || numbered(head, 'g'))
        && (tail == "warmup"
            || tail == "calibration"
            || numbered(tail, 'r')
            || tail.starts_with("data")
            || tail.is_empty())
        || name == "read-log"
        || replication
        || (numbered(head, 'm') && !tail.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_its_own_names() {
        for ok in [
            "w0-r0",
            "w12-r3",
            "w1-warmup",
            "r0-data",
            "read-log",
            "acks1-r0",
            "rep-acksall-r0",
            "m0-r0-with-w",
            "m3-tail-log",
        ] {
            assert!(is_segbench_child(ok), "{ok}");
        }
        for no in [
            "data", "w-r0", "wx-r0", "kafka-0", "w0-rX", "photos", "acks2-r0", "m-x", "m0",
        ] {
            assert!(!is_segbench_child(no), "{no}");
        }
    }

    #[test]
    fn the_files_a_fleet_rank_s_children_write_in_its_scratch() {
        for ok in [
            "step0.sock",
            "step12-leader.json",
            "step3-read.json",
            ".step1-read.json.tmp-9-0",
        ] {
            assert!(is_scratch_file(ok, true), "{ok}");
        }
        for no in [
            "step.sock",
            "stepx-read.json",
            "notes.txt",
            "step1-read.json.bak",
        ] {
            assert!(!is_scratch_file(no, true), "{no}");
        }
        assert!(
            is_scratch_file("results.json", false) && is_scratch_file(".segbench-results", false)
        );
        assert!(!is_scratch_file("step0.sock", false));
        assert!(is_step_results_dir("step4") && !is_step_results_dir("steps"));
    }
}
