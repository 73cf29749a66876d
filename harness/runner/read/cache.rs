//! The page-cache state of a log: how much of it is resident (mincore), and putting it hot
//! (read through) or cold (flushed and evicted) before a repetition. Nothing is written to the log.

use workloads::EngineError;

use super::config::CacheMode;
use super::logset::{LogSet, SegmentData};

/// Read size when warming the cache.
const WARM_CHUNK: usize = 1 << 20;

/// Page-cache residency of a log (mincore).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Residency {
    /// Resident bytes.
    pub resident_bytes: u64,
    /// File bytes.
    pub file_bytes: u64,
}

impl Residency {
    /// `resident_bytes / file_bytes` (1 for an empty log).
    pub fn ratio(&self) -> f64 {
        if self.file_bytes == 0 {
            1.0
        } else {
            self.resident_bytes as f64 / self.file_bytes as f64
        }
    }
}

/// Measures the residency of every segment.
pub fn residency(log: &LogSet) -> Result<Residency, EngineError> {
    let mut r = Residency::default();
    for s in log.partitions.iter().flat_map(|p| &p.segments) {
        let (res, len) = workloads::sys::residency(&s.file, &s.path)?;
        r.resident_bytes += res;
        r.file_bytes += len;
    }
    Ok(r)
}

/// Puts the log in `mode` and returns the residency measured afterwards: hot reads every
/// segment through; cold flushes each (`fdatasync`, which changes no data) and evicts it
/// (`POSIX_FADV_DONTNEED`). Nothing is written to the log.
pub fn prepare_cache(log: &LogSet, mode: CacheMode) -> Result<Residency, EngineError> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; WARM_CHUNK];
    for s in log.partitions.iter().flat_map(|p| &p.segments) {
        match mode {
            CacheMode::Hot => {
                let mut pos = 0u64;
                loop {
                    match s.file.read_at(&mut buf, pos) {
                        Ok(0) => break,
                        Ok(n) => pos += n as u64,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(EngineError::io("pread", &s.path, e, 0)),
                    }
                }
            }
            CacheMode::Cold => evict_segment(s)?,
        }
    }
    residency(log)
}

/// Flushes (`fdatasync`, which changes no data) and evicts one segment from the page cache.
pub fn evict_segment(s: &SegmentData) -> Result<(), EngineError> {
    s.file
        .sync_data()
        .map_err(|e| EngineError::io("fdatasync", &s.path, e, 0))?;
    workloads::sys::evict(&s.file, &s.path)
}
