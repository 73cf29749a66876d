//! `mmap`: the segment is sized to its capacity up front (`fallocate`, or `ftruncate` when not
//! preallocating), mapped shared and writable, and the runner encodes each batch straight into
//! the mapping (zero copy). Only allocated blocks are ever handed out: without `preallocate` the
//! file is sparse, and a store into a hole on a full file system is a SIGBUS (the process dies
//! with no message and leaves its data), so `buffer` first reserves the next [`RESERVE_STEP`]
//! bytes with `posix_fallocate` whenever an append would pass the reserved end
//! ([`sys::reserve_ahead`]); a full file system is then an ordinary [`EngineError::NoSpace`].
//! A flush is `msync(MS_SYNC)` over the pages dirtied since the last
//! flush (plus `fsync` for [`SyncKind::Fsync`]). `close` unmaps and trims the file to its data.
//!
//! `O_DSYNC` has no effect on stores to a mapping, so for a [`FileTarget::dsync`] target every
//! append is `msync`ed in `submit` instead: each append is durable when acknowledged, which is
//! what `O_DSYNC` promises for the other engines.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::{trim, Caps, Completion, FileTarget, Submitted, WriteEngine};
use crate::sys::{self, MmapMut};
use crate::{EngineError, EngineSpec, SyncKind};

/// Bytes reserved (`posix_fallocate`) at a time ahead of the append position when the file was
/// not preallocated: one call per MiB appended.
pub const RESERVE_STEP: usize = 1 << 20;

/// The mmap engine: one mapped file at a time.
#[derive(Debug)]
pub struct Mmap {
    file: Option<Open>,
}

#[derive(Debug)]
struct Open {
    // Declared before `file`: unmapped before the file is closed.
    map: MmapMut,
    file: File,
    path: PathBuf,
    /// Append position = data bytes written so far.
    pos: usize,
    /// Everything before this offset was synced.
    synced: usize,
    /// Everything before this offset is allocated (`fallocate`d); only that is handed out.
    reserved: usize,
    /// Length of the region last handed out by `buffer`.
    staged: usize,
    /// Sync every append (the target asked for O_DSYNC).
    dsync: bool,
}

/// Checks an `mmap` spec: it takes no options.
pub fn check_spec(spec: &EngineSpec) -> Result<(), EngineError> {
    spec.check_options(&[])
}

impl Mmap {
    /// Builds it; it takes no options.
    pub fn new(spec: &EngineSpec) -> Result<Self, EngineError> {
        check_spec(spec)?;
        Ok(Mmap { file: None })
    }
}

fn not_open(op: &'static str) -> EngineError {
    sys::invalid_use(op, Path::new(""), "mmap: no file is open".into())
}

impl WriteEngine for Mmap {
    fn caps(&self) -> Caps {
        Caps {
            page_cache: true,
            ..Caps::default()
        }
    }

    fn open(&mut self, target: &FileTarget<'_>) -> Result<(), EngineError> {
        target.refuse_if_open("mmap", self.file.as_ref().map(|f| f.path.as_path()))?;
        let path = target.path;
        let cap = usize::try_from(target.capacity_bytes)
            .ok()
            .filter(|&c| c > 0)
            .ok_or_else(|| {
                sys::invalid_use(
                    "mmap",
                    path,
                    format!(
                        "mmap: capacity of {} bytes cannot be mapped",
                        target.capacity_bytes
                    ),
                )
            })?;
        let file =
            sys::create_file(path, true, 0).map_err(|e| EngineError::io("open", path, e, 0))?;
        let sized = if target.preallocate {
            sys::fallocate(&file, target.capacity_bytes, path)
        } else {
            file.set_len(target.capacity_bytes)
                .map_err(|e| EngineError::io("ftruncate", path, e, 0))
        };
        if let Err(e) = sized {
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
        let map = MmapMut::map(&file, cap, path)?;
        self.file = Some(Open {
            map,
            file,
            path: path.to_path_buf(),
            pos: 0,
            synced: 0,
            reserved: if target.preallocate { cap } else { 0 },
            staged: 0,
            dsync: target.dsync,
        });
        Ok(())
    }

    fn buffer(&mut self, len: usize) -> Result<Option<&mut [u8]>, EngineError> {
        let f = self.file.as_mut().ok_or_else(|| not_open("mmap append"))?;
        let end = f.pos.checked_add(len).filter(|&e| e <= f.map.len()).ok_or_else(|| {
            sys::invalid_use(
                "mmap append",
                &f.path,
                format!(
                    "an append of {len} bytes at {} exceeds the mapped capacity of {} bytes (roll the segment first)",
                    f.pos,
                    f.map.len()
                ),
            )
        })?;
        let cap = f.map.len();
        sys::reserve_ahead(&f.file, &mut f.reserved, end, RESERVE_STEP, cap, &f.path)?;
        f.staged = len;
        Ok(Some(&mut f.map.as_mut_slice()[f.pos..end]))
    }

    fn submit(
        &mut self,
        len: usize,
        _token: u64,
        _linked: Option<SyncKind>,
    ) -> Result<Submitted, EngineError> {
        let f = self.file.as_mut().ok_or_else(|| not_open("mmap append"))?;
        if len > f.staged {
            return Err(sys::invalid_use(
                "mmap append",
                &f.path,
                format!(
                    "submit of {len} bytes, but the last buffer was {} bytes",
                    f.staged
                ),
            ));
        }
        let start = f.pos;
        f.pos += len;
        f.staged = 0;
        if f.dsync {
            f.map.sync_range(start, f.pos, &f.path)?;
            f.synced = f.pos;
        }
        Ok(Submitted::Completed {
            device_bytes: len as u64,
        })
    }

    fn flush(&mut self, sync: SyncKind, _done: &mut Vec<Completion>) -> Result<(), EngineError> {
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        if sync == SyncKind::Dsync {
            // Already msynced append by append (see the module doc).
            return Ok(());
        }
        f.map.sync_range(f.synced, f.pos, &f.path)?;
        f.synced = f.pos;
        if sync == SyncKind::Fsync {
            sys::sync_file(&f.file, SyncKind::Fsync, &f.path, f.pos as u64)?;
        }
        Ok(())
    }

    fn close(&mut self, _done: &mut Vec<Completion>) -> Result<(), EngineError> {
        if let Some(Open {
            map,
            file,
            path,
            pos,
            ..
        }) = self.file.take()
        {
            drop(map);
            trim(&file, pos as u64, &path)?;
        }
        Ok(())
    }
}
