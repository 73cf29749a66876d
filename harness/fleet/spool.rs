//! Each host's own results of the local phase go to disk as they arrive (`rank<k>-<host>.json`
//! in rank 0's results directory), so rank 0 holds a rank's file only until its step is
//! aggregated, not for the whole run: at hundreds of ranks the files are most of its memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use results::ResultsFile;

/// The phase whose hosts' files are kept beside the cluster file.
pub const KEPT_PHASE: &str = "local";

/// Where the hosts' files go, and the ones written so far.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    written: BTreeMap<u32, String>,
}

impl Spool {
    /// Writes into `dir` (rank 0's results directory, created before the run).
    pub fn new(dir: &Path) -> Spool {
        Spool {
            dir: dir.to_path_buf(),
            written: BTreeMap::new(),
        }
    }

    /// Writes rank `rank`'s results of `phase` when that phase's files are kept: its file
    /// name, or none for another phase.
    pub fn keep(
        &mut self,
        phase: &str,
        rank: u32,
        host: &str,
        file: &ResultsFile,
    ) -> Result<Option<String>, String> {
        if phase != KEPT_PHASE {
            return Ok(None);
        }
        let name = file_name(rank, host);
        results::io::write_results(&self.dir.join(&name), file)
            .map_err(|e| format!("cannot keep rank {rank}'s results: {e}"))?;
        self.written.insert(rank, name.clone());
        Ok(Some(name))
    }

    /// The file rank `rank`'s results were written to, if any.
    pub fn written(&self, rank: u32) -> Option<&str> {
        self.written.get(&rank).map(String::as_str)
    }
}

/// `rank<k>-<host>.json`, the host name (a peer's word) reduced to a file name's characters.
pub fn file_name(rank: u32, host: &str) -> String {
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("rank{rank}-{}.json", host.trim_start_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_cannot_leave_the_results_directory() {
        assert_eq!(file_name(3, "node-a.lan"), "rank3-node-a.lan.json");
        assert_eq!(file_name(1, "../../etc/x"), "rank1-_.._etc_x.json");
        assert_eq!(file_name(2, "..x"), "rank2-x.json");
    }

    #[test]
    fn only_the_local_phase_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::new(dir.path());
        let f = results::testing::results();
        assert_eq!(s.keep("scaling/2", 1, "h", &f).unwrap(), None);
        assert_eq!(
            s.keep(KEPT_PHASE, 1, "h", &f).unwrap().as_deref(),
            Some("rank1-h.json")
        );
        assert_eq!(s.written(1), Some("rank1-h.json"));
        let back = results::io::read_results(dir.path().join("rank1-h.json")).unwrap();
        assert_eq!(back.workloads.len(), f.workloads.len());
    }
}
