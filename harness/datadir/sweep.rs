//! Removing a run's data the safe way: inside a child directory the run created (its ledger,
//! [`super::marker`]), only the files segbench writes (Kafka segment, offset index and time
//! index files, named by their 20-digit base offset; a mixed workload's snapshots and
//! checkpoints), and only in the directories of the layout segbench makes there ([`Level`]: a
//! replica's `leader` / `follower-<i>`, a partition's `<topic>-<p>`), then the directories left
//! empty. Anything else stays and is listed with the reason: a user's file or directory put
//! inside a run directory (never descended into), a link (never followed), and a directory
//! holding a data-directory marker — another run's, started inside this one: a fence.

use std::fs;
use std::path::{Path, PathBuf};

/// Extensions of the files segbench writes into a partition directory.
const SEGMENT_EXTENSIONS: &[&str] = &["log", "index", "timeindex"];
/// How many left entries a summary names before it only counts.
const SHOWN: usize = 8;

/// Something a sweep did not remove, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    /// The entry.
    pub path: PathBuf,
    /// Why it stayed.
    pub why: String,
}

/// What a sweep removed and what it left.
#[derive(Debug, Default)]
pub struct Sweep {
    /// Files removed.
    pub removed_files: u64,
    /// Directories removed (they were empty once segbench's files were gone).
    pub removed_dirs: u64,
    /// Entries left in place.
    pub left: Vec<Left>,
}

impl Sweep {
    /// One line naming what was left and why (the first few), or `None` when nothing was.
    pub fn left_line(&self) -> Option<String> {
        if self.left.is_empty() {
            return None;
        }
        let mut names: Vec<String> = self
            .left
            .iter()
            .take(SHOWN)
            .map(|l| format!("{} ({})", l.path.display(), l.why))
            .collect();
        if self.left.len() > SHOWN {
            names.push(format!("and {} more", self.left.len() - SHOWN));
        }
        Some(format!(
            "left {} entr{} segbench did not create: {}",
            self.left.len(),
            if self.left.len() == 1 { "y" } else { "ies" },
            names.join(", ")
        ))
    }

    fn leave(&mut self, path: &Path, why: impl Into<String>) {
        self.left.push(Left {
            path: path.to_path_buf(),
            why: why.into(),
        });
    }
}

/// Prefixes of the files a mixed workload's periodic writer writes: `<prefix>.<20 digits>`.
const PERIODIC_PREFIXES: &[&str] = &["snapshot", "checkpoint"];

/// True for the names of the files segbench writes: `<20 digits>.log|index|timeindex`, and a
/// mixed workload's `snapshot.<20 digits>` and `checkpoint.<20 digits>`.
pub fn is_segbench_file(name: &str) -> bool {
    let Some((stem, ext)) = name.split_once('.') else {
        return false;
    };
    let digits = |s: &str| s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit());
    (digits(stem) && SEGMENT_EXTENSIONS.contains(&ext))
        || (PERIODIC_PREFIXES.contains(&stem) && digits(ext))
}

/// Where in a child directory a sweep is, by what segbench makes at that depth: a child holds
/// replicas (`leader`, `follower-<i>`: replication), partitions (`<topic>-<p>`) and a mixed
/// workload's periodic files; a replica holds partitions; a partition holds segments only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A child directory of a data directory (`w0-r0`, `acks1-r0`, `m0-r0-with-w`, …).
    Child,
    /// A replica's directory inside a replication repetition's child.
    Replica,
    /// A partition's directory: segment files, nothing below.
    Partition,
}

impl Level {
    /// The level of the directory `name` found at this level, or `None` when segbench makes
    /// no such directory here (the sweep then leaves it, unopened).
    pub fn below(self, name: &str) -> Option<Level> {
        let numbered = |prefix: &str| {
            name.strip_prefix(prefix)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        match self {
            Level::Child if name == "leader" || numbered("follower-") => Some(Level::Replica),
            Level::Child | Level::Replica if is_partition_dir(name) => Some(Level::Partition),
            _ => None,
        }
    }
}

/// True for a partition directory's name as the log writes it: `<topic>-<partition>`, the
/// topic of Kafka's legal characters.
pub fn is_partition_dir(name: &str) -> bool {
    name.rsplit_once('-').is_some_and(|(topic, p)| {
        !topic.is_empty()
            && topic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
    })
}

/// True when `dir` holds a data-directory marker: another run's directory, a fence.
fn fenced(dir: &Path) -> bool {
    fs::symlink_metadata(dir.join(super::MARKER)).is_ok()
}

/// Removes from the child directory `dir` every file segbench writes in the layout it makes
/// there ([`Level`]), then every directory that is empty afterwards, `dir` included. Whatever
/// else is found stays and is recorded in `out`.
pub fn sweep_dir(dir: &Path, out: &mut Sweep) {
    sweep_at(dir, Level::Child, out);
}

fn sweep_at(dir: &Path, level: Level, out: &mut Sweep) {
    // A child replaced by a link since the run made it is never followed.
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Ok(m) if !m.is_dir() => return out.leave(dir, "a link"),
        _ => {}
    }
    if fenced(dir) {
        return out.leave(dir, "another segbench run's data directory");
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        // Gone already (moved away or removed by hand): nothing of it is left here.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => return out.leave(dir, format!("cannot list it: {e}")),
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.leave(dir, format!("cannot list it: {e}"));
                continue;
            }
        };
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        match entry.file_type() {
            Ok(t) if t.is_dir() => match level.below(&name) {
                Some(next) => sweep_at(&path, next, out),
                None => out.leave(&path, "a directory segbench does not make there"),
            },
            Ok(t) if t.is_file() && is_segbench_file(&name) => match fs::remove_file(&path) {
                Ok(()) => out.removed_files += 1,
                Err(e) => out.leave(&path, format!("cannot remove it: {e}")),
            },
            Ok(t) if t.is_symlink() => out.leave(&path, "a link"),
            Ok(_) => out.leave(&path, "not a file segbench writes"),
            Err(e) => out.leave(&path, format!("cannot stat it: {e}")),
        }
    }
    // Fails when something stayed inside: that was recorded above.
    if fs::remove_dir(dir).is_ok() {
        out.removed_dirs += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_segbench_files() {
        for ok in [
            "00000000000000000000.log",
            "00000000000000001234.index",
            "00000000000000001234.timeindex",
            "snapshot.00000000000000000003",
            "checkpoint.00000000000000000000",
        ] {
            assert!(is_segbench_file(ok), "{ok}");
        }
        for no in [
            "0000000000000000000.log",
            "00000000000000000000.txt",
            "00000000000000000000.log.bak",
            "snapshot.1",
            "snapshot.00000000000000000001.bak",
            "notes.log",
            "0000000000000000000a.log",
        ] {
            assert!(!is_segbench_file(no), "{no}");
        }
    }

    #[test]
    fn a_users_file_inside_a_run_directory_survives_and_is_listed() {
        let t = tempfile::tempdir().unwrap();
        let run = t.path().join("w0-r0");
        let part = run.join("write-0");
        fs::create_dir_all(&part).unwrap();
        for ext in SEGMENT_EXTENSIONS {
            fs::write(part.join(format!("00000000000000000000.{ext}")), b"x").unwrap();
        }
        fs::create_dir_all(run.join("write-1")).unwrap();
        fs::write(part.join("precious.txt"), b"mine").unwrap();
        std::os::unix::fs::symlink("/etc", run.join("link")).unwrap();

        let mut s = Sweep::default();
        sweep_dir(&run, &mut s);
        assert_eq!(s.removed_files, 3);
        assert_eq!(s.removed_dirs, 1, "only the empty write-1");
        assert_eq!(fs::read(part.join("precious.txt")).unwrap(), b"mine");
        assert!(run.join("link").exists(), "a link is left, never followed");
        assert!(fs::metadata("/etc/hostname").is_ok() || fs::metadata("/etc").is_ok());
        let line = s.left_line().unwrap();
        assert!(line.starts_with("left 2 entries"), "{line}");
        assert!(
            line.contains("precious.txt (not a file segbench writes)"),
            "{line}"
        );
        assert!(line.contains("link (a link)"), "{line}");
    }

    #[test]
    fn a_users_directory_and_a_nested_run_are_never_entered() {
        let t = tempfile::tempdir().unwrap();
        let run = t.path().join("acks1-r0");
        let part = run.join("leader/t-0");
        fs::create_dir_all(&part).unwrap();
        fs::write(part.join("00000000000000000000.log"), b"x").unwrap();
        for mine in [
            run.join("mine"),
            part.join("deeper"),
            run.join("leader/notes"),
        ] {
            fs::create_dir_all(&mine).unwrap();
            fs::write(mine.join("00000000000000000000.log"), b"mine").unwrap();
        }
        // Another run's data directory, named like a partition.
        let nested = run.join("t-1");
        fs::create_dir_all(nested.join("w0-r0/t-0")).unwrap();
        fs::write(
            nested.join(super::super::MARKER),
            b"segbench data directory\n",
        )
        .unwrap();
        fs::write(nested.join("w0-r0/t-0/00000000000000000000.log"), b"its").unwrap();
        let mut s = Sweep::default();
        sweep_dir(&run, &mut s);
        assert_eq!(s.removed_files, 1);
        assert!(!part.join("00000000000000000000.log").exists());
        for mine in [
            run.join("mine"),
            part.join("deeper"),
            run.join("leader/notes"),
        ] {
            assert_eq!(
                fs::read(mine.join("00000000000000000000.log")).unwrap(),
                b"mine"
            );
        }
        assert_eq!(
            fs::read(nested.join("w0-r0/t-0/00000000000000000000.log")).unwrap(),
            b"its"
        );
        let line = s.left_line().unwrap();
        assert!(line.contains("another segbench run's"), "{line}");
        assert!(
            line.contains("a directory segbench does not make there"),
            "{line}"
        );
    }

    #[test]
    fn a_child_replaced_by_a_link_is_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let elsewhere = t.path().join("elsewhere/t-0");
        fs::create_dir_all(&elsewhere).unwrap();
        fs::write(elsewhere.join("00000000000000000000.log"), b"mine").unwrap();
        std::os::unix::fs::symlink(t.path().join("elsewhere"), t.path().join("w0-r0")).unwrap();
        let mut s = Sweep::default();
        sweep_dir(&t.path().join("w0-r0"), &mut s);
        assert_eq!(
            fs::read(elsewhere.join("00000000000000000000.log")).unwrap(),
            b"mine"
        );
        assert_eq!(s.left.len(), 1);
    }

    #[test]
    fn the_layout_segbench_makes() {
        assert_eq!(Level::Child.below("leader"), Some(Level::Replica));
        assert_eq!(Level::Child.below("follower-2"), Some(Level::Replica));
        assert_eq!(Level::Child.below("segbench-0"), Some(Level::Partition));
        assert_eq!(Level::Replica.below("my.topic-12"), Some(Level::Partition));
        assert_eq!(Level::Replica.below("leader"), None);
        assert_eq!(Level::Partition.below("t-0"), None);
        for no in ["mine", "t-", "-0", "t-0x", "a b-0"] {
            assert_eq!(Level::Child.below(no), None, "{no}");
        }
    }

    #[test]
    fn a_run_directory_of_segbench_files_only_is_removed_whole() {
        let t = tempfile::tempdir().unwrap();
        let run = t.path().join("w0-r0");
        fs::create_dir_all(run.join("t-0")).unwrap();
        fs::write(run.join("t-0/00000000000000000000.log"), b"x").unwrap();
        let mut s = Sweep::default();
        sweep_dir(&run, &mut s);
        assert!(!run.exists());
        assert_eq!((s.removed_files, s.removed_dirs), (1, 2));
        assert_eq!(s.left_line(), None);
    }
}
