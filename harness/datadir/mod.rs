//! The data directory: segbench writes only inside a directory it created or that was empty,
//! marks it with a file of its own ([`marker`]) that records every child directory it creates
//! (the ledger `segbench clean` goes by), and removes only the files it wrote, in the layout it
//! makes ([`sweep`]).

pub mod marker;
pub mod sweep;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use marker::{Marker, Owner, MARKER};
use sweep::{sweep_dir, Sweep};

/// Why a data directory cannot be used (bad input: exit 2).
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// The path exists and is not a directory.
    #[error(
        "--dir {0}: not a directory; give a directory (segbench never writes to a device or file)"
    )]
    NotADirectory(PathBuf),
    /// A non-empty directory segbench did not create.
    #[error("--dir {0}: directory is not empty and was not created by segbench; give a new or empty directory")]
    Foreign(PathBuf),
    /// A directory left by a segbench run that did not finish.
    #[error("--dir {0}: holds data of an earlier segbench run that did not finish; remove it with `segbench clean {0}`")]
    Stale(PathBuf),
    /// A directory whose data an earlier run kept on purpose (`--keep`).
    #[error("--dir {0}: holds data kept by --keep from an earlier segbench run; remove it with `segbench clean {0}` or give another directory")]
    Kept(PathBuf),
    /// A directory a live segbench run is writing.
    #[error("--dir {path}: in use by pid {pid} (a segbench run that is still going); wait for it or give another directory")]
    InUse {
        /// The directory.
        path: PathBuf,
        /// The live owner.
        pid: u32,
    },
    /// The same directory given twice to this run.
    #[error("--dir {0}: given twice; give each data directory once")]
    GivenTwice(PathBuf),
    /// It cannot be created.
    #[error("--dir {path}: cannot create it: {source}; give a writable location")]
    Create {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// A data directory owned by this run.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    marker: Marker,
    children: Arc<Mutex<Vec<PathBuf>>>,
    keep: bool,
}

/// A data directory of this process that is still in use: what [`remove_all_now`] cleans.
struct Live {
    path: PathBuf,
    created_dir: bool,
    keep: bool,
    children: Arc<Mutex<Vec<PathBuf>>>,
}

/// The data directories this process holds, for a cleanup that cannot wait for the owners.
static LIVE: Mutex<Vec<Live>> = Mutex::new(Vec::new());

/// Removes the data of every data directory this process still holds (not those kept with
/// `--keep`), as the owners would at the end: for a second signal, which exits at once. Returns
/// one line saying what was removed and what was left.
pub fn remove_all_now() -> String {
    match LIVE.lock() {
        Ok(live) => remove_now(live.iter()),
        Err(_) => {
            "data directories unknown (a lock was poisoned); run segbench clean on them".into()
        }
    }
}

fn remove_now<'a>(live: impl Iterator<Item = &'a Live>) -> String {
    let mut removed = Vec::new();
    let mut left = Sweep::default();
    for l in live {
        if l.keep {
            left.left.push(sweep::Left {
                path: l.path.clone(),
                why: "kept by --keep".into(),
            });
            continue;
        }
        let children: Vec<PathBuf> = match l.children.lock() {
            Ok(mut c) => c.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        let s = sweep_children(&children);
        left.left.extend(s.left);
        let _ = fs::remove_file(l.path.join(MARKER));
        if l.created_dir {
            let _ = fs::remove_dir(&l.path);
        }
        removed.push(l.path.display().to_string());
    }
    let mut line = if removed.is_empty() {
        "no data to remove".to_string()
    } else {
        format!("data removed from {}", removed.join(", "))
    };
    if let Some(l) = left.left_line() {
        line.push_str(&format!("; {l}"));
    }
    line
}

impl DataDir {
    /// Takes `dir` (creating it when missing), or a fresh `segbench-data-<id>` under the
    /// current directory when `None`.
    pub fn acquire(dir: Option<&Path>, run_id: &str, keep: bool) -> Result<Self, DataDirError> {
        let path = match dir {
            Some(d) => d.to_path_buf(),
            None => PathBuf::from(format!("segbench-data-{run_id}")),
        };
        let created_dir = match fs::symlink_metadata(&path) {
            Ok(md) => {
                if !md.is_dir() {
                    return Err(DataDirError::NotADirectory(path));
                }
                let mut entries = fs::read_dir(&path).map_err(|e| DataDirError::Create {
                    path: path.clone(),
                    source: e,
                })?;
                if entries.next().is_some() {
                    if !path.join(MARKER).exists() {
                        return Err(DataDirError::Foreign(path));
                    }
                    let text = fs::read_to_string(path.join(MARKER)).unwrap_or_default();
                    return Err(match Marker::parse(&text) {
                        // A marker cut short (a full disk): its run is no longer around, and
                        // `segbench clean` takes it.
                        None if Marker::is_truncated(&text) => DataDirError::Stale(path),
                        // A file of that name segbench did not write.
                        None => DataDirError::Foreign(path),
                        Some(m) => match m.owner() {
                            Owner::Live { pid } => DataDirError::InUse { path, pid },
                            Owner::ThisProcess => DataDirError::GivenTwice(path),
                            Owner::Kept => DataDirError::Kept(path),
                            Owner::Gone => DataDirError::Stale(path),
                        },
                    });
                }
                false
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&path).map_err(|e| DataDirError::Create {
                    path: path.clone(),
                    source: e,
                })?;
                true
            }
            Err(e) => return Err(DataDirError::Create { path, source: e }),
        };
        let marker = Marker::for_this_process(run_id, created_dir);
        if let Err(e) = marker.write(&path) {
            // A full disk may leave the marker empty or cut short: it goes, and the directory
            // this run created with it, so nothing is left that `clean` would have to judge.
            let _ = fs::remove_file(path.join(MARKER));
            if created_dir {
                let _ = fs::remove_dir(&path);
            }
            return Err(DataDirError::Create { path, source: e });
        }
        let path = fs::canonicalize(&path).unwrap_or(path);
        let children = Arc::new(Mutex::new(Vec::new()));
        if let Ok(mut live) = LIVE.lock() {
            live.push(Live {
                path: path.clone(),
                created_dir,
                keep,
                children: children.clone(),
            });
        }
        Ok(DataDir {
            path,
            marker,
            children,
            keep,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates a new child directory `name` (one plain name; it must not exist), recorded first
    /// in the marker's ledger (for `segbench clean` after a kill) and remembered for removal.
    pub fn create_child(&self, name: &str) -> io::Result<PathBuf> {
        if !marker::is_plain_name(name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{name}' is not a plain directory name"),
            ));
        }
        let p = self.path.join(name);
        Marker::record_child(&self.path, name)?;
        fs::create_dir(&p)?;
        if let Ok(mut c) = self.children.lock() {
            c.push(p.clone());
        }
        Ok(p)
    }

    /// Removes the files segbench wrote in a child directory this run created, then the
    /// directories left empty; anything else found there stays and is named on stderr.
    pub fn remove_child(&self, name: &str) {
        let p = self.path.join(name);
        if let Ok(mut c) = self.children.lock() {
            if let Some(i) = c.iter().position(|x| *x == p) {
                c.remove(i);
                report_left(&sweep_children(&[p]));
            }
        }
    }

    /// Removes everything this run created unless `keep`: the files it wrote, the directories
    /// left empty, the marker, and the directory itself when this run created it and it is empty.
    /// With `keep` the marker says so. Returns the path when data was kept.
    pub fn finish(self) -> Option<PathBuf> {
        if self.keep {
            return Some(self.path.clone());
        }
        self.cleanup();
        None
    }

    fn cleanup(&self) {
        if let Ok(mut c) = self.children.lock() {
            let children: Vec<PathBuf> = c.drain(..).collect();
            report_left(&sweep_children(&children));
        }
        let _ = fs::remove_file(self.path.join(MARKER));
        if self.marker.created_dir && fs::remove_dir(&self.path).is_err() {
            // Something this run did not create (or did not register) is still there: say so
            // rather than leave a directory behind without a word.
            let names: Vec<String> = fs::read_dir(&self.path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            if !names.is_empty() {
                eprintln!(
                    "segbench: left {}: it still holds {}",
                    self.path.display(),
                    names.join(", ")
                );
            }
        }
    }

    fn mark_kept(&self) {
        // The marker on disk holds the ledger of the children made since: keep it.
        let current = Marker::read(&self.path)
            .ok()
            .flatten()
            .unwrap_or_else(|| self.marker.clone());
        let kept = Marker {
            kept: true,
            ..current
        };
        if let Err(e) = kept.write(&self.path) {
            eprintln!(
                "segbench: could not mark {} as kept: {e}",
                self.path.display()
            );
        }
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if let Ok(mut live) = LIVE.lock() {
            live.retain(|l| !Arc::ptr_eq(&l.children, &self.children));
        }
        if self.keep {
            self.mark_kept();
        } else {
            self.cleanup();
        }
    }
}

/// Sweeps each of `dirs` (see [`sweep::sweep_dir`]).
fn sweep_children(dirs: &[PathBuf]) -> Sweep {
    let mut s = Sweep::default();
    for d in dirs {
        sweep_dir(d, &mut s);
    }
    s
}

/// Names on stderr what a sweep left behind.
fn report_left(s: &Sweep) {
    if let Some(line) = s.left_line() {
        eprintln!("segbench: {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_marks_and_removes_only_its_own() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("data");
        let dd = DataDir::acquire(Some(&d), "id", false).unwrap();
        assert!(d.join(MARKER).exists());
        let c = dd.create_child("w0-r0").unwrap();
        fs::write(c.join("00000000000000000000.log"), b"1").unwrap();
        drop(dd.finish());
        assert!(!d.exists());
    }

    #[test]
    fn every_child_is_in_the_ledger_before_it_exists_and_kept_data_keeps_it() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("data");
        let dd = DataDir::acquire(Some(&d), "id", true).unwrap();
        for name in ["acks1-r0", "m0-r0-with-w", "rep-acksall-r0"] {
            dd.create_child(name).unwrap();
        }
        for bad in ["../x", "a/b", ".", "..", MARKER, ""] {
            assert!(dd.create_child(bad).is_err(), "{bad}");
        }
        let m = Marker::read(&d).unwrap().unwrap();
        assert_eq!(m.children, ["acks1-r0", "m0-r0-with-w", "rep-acksall-r0"]);
        drop(dd.finish());
        let kept = Marker::read(&d).unwrap().unwrap();
        assert!(kept.kept && kept.ledger);
        assert_eq!(kept.children, m.children);
    }

    #[test]
    fn a_repetition_directory_made_through_the_data_directory_is_swept_with_it() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("data");
        let dd = DataDir::acquire(Some(&d), "id", false).unwrap();
        let c = dd.create_child("repl-acks1-r0").unwrap();
        fs::create_dir_all(c.join("follower-1/t-0")).unwrap();
        fs::write(c.join("follower-1/t-0/00000000000000000000.log"), b"1").unwrap();
        dd.remove_child("repl-acks1-r0");
        assert!(!c.exists());
        drop(dd.finish());
        assert!(!d.exists());
    }

    #[test]
    fn cleanup_leaves_a_users_file_inside_a_run_directory() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("data");
        let dd = DataDir::acquire(Some(&d), "id", false).unwrap();
        let c = dd.create_child("w0-r0").unwrap();
        fs::create_dir(c.join("t-0")).unwrap();
        fs::write(c.join("t-0/00000000000000000000.log"), b"1").unwrap();
        fs::write(c.join("t-0/keep-me.txt"), b"mine").unwrap();
        dd.remove_child("w0-r0");
        assert!(!c.join("t-0/00000000000000000000.log").exists());
        assert_eq!(fs::read(c.join("t-0/keep-me.txt")).unwrap(), b"mine");
        drop(dd.finish());
        assert_eq!(fs::read(c.join("t-0/keep-me.txt")).unwrap(), b"mine");
        assert!(!d.join(MARKER).exists(), "the marker goes");
    }

    #[test]
    fn a_cleanup_that_cannot_wait_removes_what_the_live_directories_hold() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("data");
        let dd = DataDir::acquire(Some(&d), "id", false).unwrap();
        let c = dd.create_child("w0-r0").unwrap();
        fs::write(c.join("00000000000000000000.log"), b"1").unwrap();
        // Only this test's directory: other tests hold live ones at the same time.
        let line = remove_now(
            LIVE.lock()
                .unwrap()
                .iter()
                .filter(|l| l.path.starts_with(fs::canonicalize(t.path()).unwrap())),
        );
        assert!(line.contains("data removed from"), "{line}");
        assert!(!d.exists(), "{line}");
        drop(dd);
        assert!(!LIVE
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.path.starts_with(t.path())));
    }

    #[test]
    fn a_directory_given_twice_or_kept_is_told_apart_from_a_stale_one() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("data");
        let first = DataDir::acquire(Some(&d), "id", true).unwrap();
        first.create_child("w0-r0").unwrap();
        let e = DataDir::acquire(Some(&d), "id", true).unwrap_err();
        assert!(matches!(e, DataDirError::GivenTwice(_)), "{e}");
        assert!(e.to_string().contains("given twice"), "{e}");
        assert_eq!(first.finish(), Some(fs::canonicalize(&d).unwrap()));
        let e = DataDir::acquire(Some(&d), "id2", false).unwrap_err();
        assert!(matches!(e, DataDirError::Kept(_)), "{e}");
        assert!(e.to_string().contains("kept by --keep"), "{e}");
        assert!(d.join("w0-r0").exists(), "kept data is untouched");
    }

    #[test]
    fn refuses_foreign_and_stale_directories_and_files() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("precious.txt"), b"user data").unwrap();
        let e = DataDir::acquire(Some(t.path()), "id", false).unwrap_err();
        assert!(matches!(e, DataDirError::Foreign(_)), "{e}");
        assert_eq!(
            fs::read(t.path().join("precious.txt")).unwrap(),
            b"user data"
        );

        let s = t.path().join("stale");
        fs::create_dir(&s).unwrap();
        // A marker cut short (a full disk): stale, for `segbench clean`.
        fs::write(s.join(MARKER), b"segbench data dir").unwrap();
        fs::create_dir(s.join("w0-r0")).unwrap();
        assert!(matches!(
            DataDir::acquire(Some(&s), "id", false).unwrap_err(),
            DataDirError::Stale(_)
        ));
        // A file of the marker's name that segbench did not write: not segbench's directory.
        fs::write(s.join(MARKER), b"x").unwrap();
        assert!(matches!(
            DataDir::acquire(Some(&s), "id", false).unwrap_err(),
            DataDirError::Foreign(_)
        ));

        let f = t.path().join("precious.txt");
        assert!(matches!(
            DataDir::acquire(Some(&f), "id", false).unwrap_err(),
            DataDirError::NotADirectory(_)
        ));
    }

    #[test]
    fn an_empty_existing_directory_is_kept_after_cleanup() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("empty");
        fs::create_dir(&d).unwrap();
        let dd = DataDir::acquire(Some(&d), "id", false).unwrap();
        dd.create_child("a").unwrap();
        dd.finish();
        assert!(d.exists());
        assert_eq!(fs::read_dir(&d).unwrap().count(), 0);
    }
}
