//! `mmap`: `send(2)` straight from a read-only shared mapping of the segment. Each segment is
//! mapped once and the mapping cached (up to [`MAX_MAPPINGS`], least recently used dropped
//! first); a range past the mapped length (a segment that grew) remaps the file. Pages come
//! in by page faults inside the kernel's copy to the socket: one copy, no read calls.
//!
//! A segment truncated by someone else while mapped would raise SIGBUS when its lost pages are
//! touched: segbench never truncates what it reads, and Kafka only truncates segments on
//! leader changes; point it at a live broker's log with that in mind. It takes no options.

use std::fs::File;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use super::{send_all, short_file, Caps, Extent, ReadEngine};
use crate::sys::MmapRo;
use crate::{EngineError, EngineSpec};

/// Mappings kept at most.
pub const MAX_MAPPINGS: usize = 64;

/// A read-only shared mapping of a whole file and when it was last used.
#[derive(Debug)]
struct Mapping {
    map: MmapRo,
    len: usize,
    last_use: u64,
}

impl Mapping {
    fn map(file: &File, path: &Path) -> Result<Self, EngineError> {
        let len = file
            .metadata()
            .map_err(|e| EngineError::io("stat", path, e, 0))?
            .len();
        if len == 0 || len > isize::MAX as u64 {
            return Err(short_file("mmap", path, len, len.saturating_add(1)));
        }
        Ok(Mapping {
            map: MmapRo::map(file, len as usize, path)?,
            len: len as usize,
            last_use: 0,
        })
    }

    fn bytes(&self) -> &[u8] {
        self.map.as_slice()
    }
}

/// The mmap engine: a small cache of mappings keyed by path.
#[derive(Debug, Default)]
pub struct Mmap {
    maps: Vec<(PathBuf, Mapping)>,
    clock: u64,
}

/// Checks an `mmap` spec: it takes no options.
pub fn check_spec(spec: &EngineSpec) -> Result<(), EngineError> {
    spec.check_options(&[])
}

impl Mmap {
    /// Builds it from `mmap` (no options).
    pub fn new(spec: &EngineSpec) -> Result<Self, EngineError> {
        check_spec(spec)?;
        Ok(Mmap::default())
    }

    /// Segments mapped now.
    pub fn mapped(&self) -> usize {
        self.maps.len()
    }

    fn mapping(&mut self, file: &File, path: &Path, end: u64) -> Result<&Mapping, EngineError> {
        self.clock += 1;
        let i = match self.maps.iter().position(|(p, _)| p == path) {
            Some(i) if self.maps[i].1.len as u64 >= end => i,
            found => {
                if let Some(i) = found {
                    self.maps.swap_remove(i); // the file grew: map it again
                } else if self.maps.len() >= MAX_MAPPINGS {
                    if let Some(lru) = (0..self.maps.len()).min_by_key(|&k| self.maps[k].1.last_use)
                    {
                        self.maps.swap_remove(lru);
                    }
                }
                let m = Mapping::map(file, path)?;
                if (m.len as u64) < end {
                    return Err(short_file("mmap", path, m.len as u64, end));
                }
                self.maps.push((path.to_path_buf(), m));
                self.maps.len() - 1
            }
        };
        let m = &mut self.maps[i].1;
        m.last_use = self.clock;
        Ok(m)
    }
}

impl ReadEngine for Mmap {
    fn caps(&self) -> Caps {
        Caps {
            mapped: true,
            ..Caps::default()
        }
    }

    fn send(&mut self, extent: &Extent<'_>, sock: BorrowedFd<'_>) -> Result<u64, EngineError> {
        let end = extent.checked_end("mmap")?;
        if extent.len == 0 {
            return Ok(0);
        }
        let m = self.mapping(extent.file, extent.path, end)?;
        send_all(
            sock,
            &m.bytes()[extent.offset as usize..end as usize],
            false,
            "send",
            extent.path,
        )?;
        Ok(extent.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_are_cached_remapped_when_the_file_grows_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let spec: EngineSpec = "mmap".parse().unwrap();
        let mut m = Mmap::new(&spec).unwrap();
        let path = dir.path().join("a.log");
        std::fs::write(&path, vec![1u8; 5000]).unwrap();
        let f = File::open(&path).unwrap();
        assert_eq!(m.mapping(&f, &path, 5000).unwrap().len, 5000);
        assert_eq!(m.mapped(), 1);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(9000)
            .unwrap();
        assert_eq!(m.mapping(&f, &path, 9000).unwrap().len, 9000);
        assert_eq!(m.mapped(), 1);
        assert!(m.mapping(&f, &path, 9001).is_err());
        for k in 0..MAX_MAPPINGS + 3 {
            let p = dir.path().join(format!("{k}.log"));
            std::fs::write(&p, [7u8; 10]).unwrap();
            let f = File::open(&p).unwrap();
            m.mapping(&f, &p, 10).unwrap();
        }
        assert_eq!(m.mapped(), MAX_MAPPINGS);
    }
}
