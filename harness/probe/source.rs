//! Reading `/proc` and `/sys` under a root directory, so every parser also runs against a
//! fixture tree (`tests/fixtures/probe/<case>/`). A missing or unreadable file is never an
//! error: readers return `None` and the caller records a note.

use std::path::{Path, PathBuf};

/// A file-system root holding `proc/`, `sys/` and `etc/`: `/` on the live system, a fixture
/// directory in tests.
#[derive(Debug, Clone)]
pub(crate) struct Root {
    base: PathBuf,
}

impl Root {
    /// A root at `base`.
    pub(crate) fn new(base: &Path) -> Self {
        Root {
            base: base.to_path_buf(),
        }
    }

    /// True when this is the live system's `/` (live-only checks such as statvfs, io_uring rings
    /// and micro-probes run only then).
    pub(crate) fn is_live(&self) -> bool {
        self.base == Path::new("/")
    }

    /// The root directory.
    pub(crate) fn base(&self) -> &Path {
        &self.base
    }

    /// `rel` (an absolute system path such as `/proc/meminfo`) under the root.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.base.join(rel.trim_start_matches('/'))
    }

    /// The whole file at `rel`, or `None`.
    pub(crate) fn read(&self, rel: &str) -> Option<String> {
        read_path(&self.path(rel))
    }

    /// The trimmed first line of the file at `rel`, or `None` when missing, unreadable or empty.
    pub(crate) fn line(&self, rel: &str) -> Option<String> {
        line_path(&self.path(rel))
    }

    /// The file at `rel` parsed as an unsigned integer.
    pub(crate) fn u64(&self, rel: &str) -> Option<u64> {
        self.line(rel).and_then(|s| s.parse().ok())
    }
}

/// The whole file, or `None`.
pub(crate) fn read_path(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

/// The trimmed first line of a file, or `None` when missing, unreadable or empty.
pub(crate) fn line_path(p: &Path) -> Option<String> {
    let s = read_path(p)?;
    let l = s.lines().next().unwrap_or("").trim().to_string();
    if l.is_empty() {
        None
    } else {
        Some(l)
    }
}

/// A file parsed as an unsigned integer.
pub(crate) fn u64_path(p: &Path) -> Option<u64> {
    line_path(p).and_then(|s| s.parse().ok())
}

/// The last component of a symbolic link's target (e.g. a driver name from `device/driver`).
pub(crate) fn link_name(p: &Path) -> Option<String> {
    let t = std::fs::read_link(p).ok()?;
    t.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Names of the entries of a directory, sorted; empty when it cannot be read.
pub(crate) fn dir_names(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(p) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Parses a kernel CPU list such as `0-3,8,10-11` into CPU numbers.
pub(crate) fn parse_cpu_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if b < a || b - a > 65_536 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.trim().parse().ok()?),
        }
    }
    Some(out)
}

/// The bracketed choice of a sysfs selector such as `always [madvise] never`.
pub(crate) fn bracketed(s: &str) -> Option<String> {
    let a = s.find('[')?;
    let b = s[a..].find(']')? + a;
    Some(s[a + 1..b].to_string())
}

/// `key: value` lines (as in `/proc/meminfo`, `/proc/self/status`): the value of the first
/// line whose key is `key`, trimmed.
pub(crate) fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if k.trim() == key {
            Some(v.trim())
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11\n"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list("0"), Some(vec![0]));
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(parse_cpu_list("3-1"), None);
    }

    #[test]
    fn selectors_and_fields() {
        assert_eq!(
            bracketed("always [madvise] never").as_deref(),
            Some("madvise")
        );
        assert_eq!(bracketed("none"), None);
        assert_eq!(
            field("MemTotal:  10 kB\nSwapTotal: 0 kB", "SwapTotal"),
            Some("0 kB")
        );
        assert_eq!(field("a: 1", "b"), None);
    }
}
