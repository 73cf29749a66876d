//! How a test says it did not run: one line `SKIP: test: reason` on stderr, and, when
//! `SEGBENCH_SKIP_LOG` names a file (`.ci/run` sets it), one line appended there, so a skipped
//! test is counted, not taken for a pass.
//!
//! Two kinds: a [`Skip::Prerequisite`] is something a CI runner can install or be given (root,
//! a Debian package); a [`Skip::Platform`] is something this kernel, file system or CPU lacks.
//! `.ci/run` under `CI=true` as root, where every prerequisite is installable, fails on the
//! first kind and lists the second.

use std::io::Write;
use std::path::Path;

/// Environment variable naming the file skips are appended to.
pub const SKIP_LOG_ENV: &str = "SEGBENCH_SKIP_LOG";

/// Why a test did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Something installable or grantable is missing (root, a package, a Python module).
    Prerequisite,
    /// The kernel, file system or hardware lacks the feature under test.
    Platform,
}

impl Skip {
    /// The word written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::Prerequisite => "prerequisite",
            Skip::Platform => "platform",
        }
    }
}

/// Reports that the calling test did not run, and why: a `SKIP:` line on stderr and, when
/// [`SKIP_LOG_ENV`] is set, a tab-separated line (kind, test, reason) appended to that file.
/// The test is named by its thread (the test harness names each test's thread after it).
pub fn skip(kind: Skip, reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("(unnamed test thread)");
    let reason = reason.replace(['\n', '\t'], " ");
    eprintln!("SKIP: {test}: {reason}");
    if let Some(path) = std::env::var_os(SKIP_LOG_ENV) {
        append(Path::new(&path), kind, test, &reason);
    }
}

/// Appends one skip line to the log at `path` (a failure to is said on stderr, not fatal).
fn append(path: &Path, kind: Skip, test: &str, reason: &str) {
    let line = format!("{}\t{test}\t{reason}\n", kind.as_str());
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = appended {
        eprintln!("cannot append to {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_is_one_tab_separated_line_in_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("skips");
        append(&log, Skip::Platform, "t1", "no thing here");
        append(&log, Skip::Prerequisite, "t2", "needs root");
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            text,
            "platform\tt1\tno thing here\nprerequisite\tt2\tneeds root\n"
        );
    }
}
