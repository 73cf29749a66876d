//! The data directory: segbench writes only inside a directory it created or that was empty,
//! marks it with a file of its own, and removes only what it created.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Name of the marker file segbench puts in every data directory it owns.
pub const MARKER: &str = ".segbench-data";

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
    created_dir: bool,
    children: Mutex<Vec<PathBuf>>,
    keep: bool,
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
                    if path.join(MARKER).exists() {
                        return Err(DataDirError::Stale(path));
                    }
                    return Err(DataDirError::Foreign(path));
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
        let marker = format!(
            "segbench data directory\nrun: {run_id}\npid: {}\ncreated_dir: {created_dir}\n",
            std::process::id()
        );
        if let Err(e) = fs::write(path.join(MARKER), marker) {
            if created_dir {
                let _ = fs::remove_dir(&path);
            }
            return Err(DataDirError::Create { path, source: e });
        }
        let path = fs::canonicalize(&path).unwrap_or(path);
        Ok(DataDir {
            path,
            created_dir,
            children: Mutex::new(Vec::new()),
            keep,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates a new child directory (it must not exist) and remembers it for removal.
    pub fn create_child(&self, name: &str) -> io::Result<PathBuf> {
        let p = self.path.join(name);
        fs::create_dir(&p)?;
        if let Ok(mut c) = self.children.lock() {
            c.push(p.clone());
        }
        Ok(p)
    }

    /// Removes a child directory this run created (and everything in it: segbench's files).
    pub fn remove_child(&self, name: &str) {
        let p = self.path.join(name);
        if let Ok(mut c) = self.children.lock() {
            if let Some(i) = c.iter().position(|x| *x == p) {
                c.remove(i);
                let _ = fs::remove_dir_all(&p);
            }
        }
    }

    /// Removes everything this run created unless `keep`: its children, the marker, and the
    /// directory itself when this run created it. Returns the path when data was kept.
    pub fn finish(self) -> Option<PathBuf> {
        if self.keep {
            return Some(self.path.clone());
        }
        self.cleanup();
        None
    }

    fn cleanup(&self) {
        if let Ok(mut c) = self.children.lock() {
            for p in c.drain(..) {
                let _ = fs::remove_dir_all(&p);
            }
        }
        let _ = fs::remove_file(self.path.join(MARKER));
        if self.created_dir {
            let _ = fs::remove_dir(&self.path);
        }
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if !self.keep {
            self.cleanup();
        }
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
        fs::write(c.join("x.log"), b"1").unwrap();
        drop(dd.finish());
        assert!(!d.exists());
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
        fs::write(s.join(MARKER), b"x").unwrap();
        fs::create_dir(s.join("w0-r0")).unwrap();
        assert!(matches!(
            DataDir::acquire(Some(&s), "id", false).unwrap_err(),
            DataDirError::Stale(_)
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
