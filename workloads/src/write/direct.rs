//! `direct`: `O_DIRECT` appends from an aligned staging buffer, bypassing the page cache.
//!
//! Offsets and lengths of O_DIRECT writes must be multiples of the file system's block
//! (`statx(STATX_DIOALIGN)`, often 512 bytes, not always 4096), and the buffer must be aligned
//! too. A batch that ends mid-block keeps its tail in the staging buffer; the next append
//! rewrites that block with the tail followed by its own bytes. So every acknowledged batch is
//! on the device, at the cost of write amplification: each append is ONE `pwrite` from the
//! aligned start of the block holding its first byte to the aligned end of its last byte, zero
//! padded, and `device_bytes` is that write's length. `close` trims the padding off
//! (`ftruncate` to the data length).
//!
//! O_DIRECT does not flush the device's write cache: a flush is still `fdatasync` / `fsync`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{trim, Caps, Completion, FileTarget, Submitted, WriteEngine};
use crate::sys::{self, AlignedBuf};
use crate::{EngineError, EngineSpec, SyncKind};

/// Block size assumed when the kernel does not report an O_DIRECT alignment.
const FALLBACK_ALIGN_BYTES: usize = 4096;

/// The O_DIRECT alignment an engine uses for a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alignment {
    /// Alignment of user buffers, bytes.
    pub mem_bytes: usize,
    /// Alignment of file offsets and write lengths (the block rewritten for a partial tail), bytes.
    pub block_bytes: usize,
    /// True when the kernel reported it (`statx` `STATX_DIOALIGN`); false when it is the
    /// fallback (the larger of 4096 and the device's logical block size).
    pub reported: bool,
}

impl Alignment {
    /// Alignment for staging buffers: satisfies both the memory and the block alignment, and
    /// is at least a page. The kernel accepts a buffer aligned to only `mem_bytes` (often 512),
    /// but one that is not page-aligned spans an extra page per write, and a virtio disk then
    /// gets a request of N+1 unaligned segments: measured 3-4x slower than fio's page-aligned
    /// buffers on a virtio VM (scripts/crosscheck-fio.sh).
    pub fn buffer_bytes(&self) -> usize {
        self.mem_bytes.max(self.block_bytes).max(sys::page_size())
    }

    /// `n` rounded up to a whole number of blocks.
    pub fn round_up(&self, n: usize) -> usize {
        n.div_ceil(self.block_bytes) * self.block_bytes
    }
}

static PROBE_SEQ: AtomicU64 = AtomicU64::new(0);

/// Removes the probe file however the probe ends.
struct RemoveOnDrop<'a>(&'a Path);

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
    }
}

/// Checks that files in `dir` can be opened and written with `O_DIRECT` and finds the
/// alignment to use: creates a probe file, asks `statx(STATX_DIOALIGN)` about it, writes one
/// aligned block to it, then removes it. `engine` names the engine in an
/// [`EngineError::Unsupported`] (returned when the file system refuses O_DIRECT, e.g. tmpfs
/// before Linux 6.6).
pub fn probe(engine: &str, dir: &Path) -> Result<Alignment, EngineError> {
    let unsupported = |reason: String| EngineError::Unsupported {
        engine: engine.to_string(),
        reason,
    };
    let seq = PROBE_SEQ.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(
        ".segbench-odirect-probe-{}-{seq}",
        std::process::id()
    ));
    let file = match sys::create_file(&path, false, libc::O_DIRECT) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            return Err(unsupported(format!(
                "O_DIRECT is not supported by the file system at {} (tmpfs?)",
                dir.display()
            )))
        }
        Err(e) => return Err(EngineError::io("open O_DIRECT", &path, e, 0)),
    };
    let _remove = RemoveOnDrop(&path);
    let align = match sys::dio_alignment(&path)? {
        Some(a) => {
            let (mem, block) = (a.mem_align as usize, a.offset_align as usize);
            if !mem.is_power_of_two() || !block.is_power_of_two() {
                return Err(unsupported(format!(
                    "the kernel reports an O_DIRECT alignment that is not a power of two at {} \
                     (memory {mem}, offset {block} bytes)",
                    dir.display()
                )));
            }
            Alignment {
                mem_bytes: mem,
                block_bytes: block,
                reported: true,
            }
        }
        None => {
            let block = logical_block_bytes(&file)
                .unwrap_or(0)
                .max(FALLBACK_ALIGN_BYTES);
            Alignment {
                mem_bytes: block,
                block_bytes: block,
                reported: false,
            }
        }
    };
    let buf = AlignedBuf::new(align.block_bytes, align.buffer_bytes());
    match file.write_all_at(buf.as_slice(), 0) {
        Ok(()) => Ok(align),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Err(unsupported(format!(
            "an aligned O_DIRECT write of {} bytes failed with EINVAL at {}: the file system accepts the \
             flag but not the alignment {}",
            align.block_bytes,
            dir.display(),
            if align.reported { "it reports" } else { "assumed (the kernel reports none)" }
        ))),
        Err(e) => Err(EngineError::io("pwrite O_DIRECT", &path, e, 0)),
    }
}

/// The logical block size of the block device holding `file`, from sysfs (for partitions the
/// `queue` directory is the parent disk's). `None` when not a block device file system.
fn logical_block_bytes(file: &File) -> Option<usize> {
    use std::os::unix::fs::MetadataExt;
    let dev = file.metadata().ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    ["queue/logical_block_size", "../queue/logical_block_size"]
        .iter()
        .find_map(|rel| {
            let p = format!("/sys/dev/block/{major}:{minor}/{rel}");
            std::fs::read_to_string(p).ok()?.trim().parse().ok()
        })
}

/// The direct engine: one O_DIRECT file at a time, one aligned staging buffer.
#[derive(Debug)]
pub struct Direct {
    align: Alignment,
    /// `[0, tail_len)`: the kept tail (the data of the partial block at the end of the file);
    /// the next append's bytes follow it.
    buf: AlignedBuf,
    file: Option<Open>,
    /// Data bytes in the file (the append position).
    pos: u64,
    tail_len: usize,
    /// Length of the region last handed out by `buffer`.
    staged: usize,
}

#[derive(Debug)]
struct Open {
    file: File,
    path: PathBuf,
}

/// Checks a `direct` spec: it takes no options.
pub fn check_spec(spec: &EngineSpec) -> Result<(), EngineError> {
    spec.check_options(&[])
}

impl Direct {
    /// Builds it, probing `dir` for O_DIRECT support and alignment (see [`probe`]); the staging
    /// buffer holds `max_append_bytes` plus two blocks. It takes no options.
    pub fn new(
        spec: &EngineSpec,
        dir: &Path,
        max_append_bytes: usize,
    ) -> Result<Self, EngineError> {
        check_spec(spec)?;
        let align = probe(&spec.to_string(), dir)?;
        let mut buf = AlignedBuf::new(
            align.round_up(max_append_bytes.max(1) + 2 * align.block_bytes),
            align.buffer_bytes(),
        );
        sys::prefault(buf.as_mut_slice());
        Ok(Direct {
            align,
            buf,
            file: None,
            pos: 0,
            tail_len: 0,
            staged: 0,
        })
    }

    /// The alignment in use (what this machine's file system reported, or the fallback).
    pub fn alignment(&self) -> Alignment {
        self.align
    }
}

impl WriteEngine for Direct {
    fn caps(&self) -> Caps {
        Caps {
            direct: true,
            ..Caps::default()
        }
    }

    fn open(&mut self, target: &FileTarget<'_>) -> Result<(), EngineError> {
        target.refuse_if_open("direct", self.file.as_ref().map(|f| f.path.as_path()))?;
        let file = target.create(libc::O_DIRECT)?;
        self.file = Some(Open {
            file,
            path: target.path.to_path_buf(),
        });
        self.pos = 0;
        self.tail_len = 0;
        self.staged = 0;
        Ok(())
    }

    fn buffer(&mut self, len: usize) -> Result<Option<&mut [u8]>, EngineError> {
        let start = self.tail_len;
        let need = self.align.round_up(start + len);
        if need > self.buf.len() {
            // Only when the runner exceeds the max_append_bytes it promised: not the hot path.
            let mut bigger =
                AlignedBuf::new(need + self.align.block_bytes, self.align.buffer_bytes());
            bigger.as_mut_slice()[..start].copy_from_slice(&self.buf.as_slice()[..start]);
            sys::prefault(bigger.as_mut_slice());
            self.buf = bigger;
        }
        self.staged = len;
        Ok(Some(&mut self.buf.as_mut_slice()[start..start + len]))
    }

    fn submit(
        &mut self,
        len: usize,
        _token: u64,
        _linked: Option<SyncKind>,
    ) -> Result<Submitted, EngineError> {
        let Some(f) = &self.file else {
            return Err(sys::invalid_use(
                "pwrite",
                Path::new(""),
                "direct: submit without an open file".into(),
            ));
        };
        if len > self.staged {
            return Err(sys::invalid_use(
                "pwrite",
                &f.path,
                format!(
                    "direct: submit of {len} bytes, but the last buffer was {} bytes",
                    self.staged
                ),
            ));
        }
        self.staged = 0;
        if len == 0 {
            return Ok(Submitted::Completed { device_bytes: 0 });
        }
        let block = self.align.block_bytes;
        let start_off = self.pos - self.tail_len as u64;
        let end = self.tail_len + len;
        let aligned_end = self.align.round_up(end);
        let buf = self.buf.as_mut_slice();
        buf[end..aligned_end].fill(0);
        f.file
            .write_all_at(&buf[..aligned_end], start_off)
            .map_err(|e| EngineError::io("pwrite", &f.path, e, self.pos))?;
        self.pos += len as u64;
        // Keep the partial last block (if any) at the front for the next append to rewrite.
        let new_tail = end % block;
        buf.copy_within(end - new_tail..end, 0);
        self.tail_len = new_tail;
        Ok(Submitted::Completed {
            device_bytes: aligned_end as u64,
        })
    }

    fn flush(&mut self, sync: SyncKind, _done: &mut Vec<Completion>) -> Result<(), EngineError> {
        match &self.file {
            Some(f) => sys::sync_file(&f.file, sync, &f.path, self.pos),
            None => Ok(()),
        }
    }

    fn close(&mut self, _done: &mut Vec<Completion>) -> Result<(), EngineError> {
        if let Some(f) = self.file.take() {
            trim(&f.file, self.pos, &f.path)?;
        }
        self.pos = 0;
        self.tail_len = 0;
        self.staged = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: staging buffers aligned to only the 512 bytes statx allows made every 128 KiB
    // O_DIRECT write span 33 pages; on a virtio VM that ran 3-4x slower than fio.
    #[test]
    fn staging_buffers_are_page_aligned_even_when_512_bytes_would_do() {
        let page = sys::page_size();
        let a = Alignment {
            mem_bytes: 512,
            block_bytes: 512,
            reported: true,
        };
        assert_eq!(a.buffer_bytes() % page, 0);

        let dir = tempfile::tempdir().unwrap();
        let spec: EngineSpec = "direct".parse().unwrap();
        let d = match Direct::new(&spec, dir.path(), 128 * 1024) {
            Ok(d) => d,
            Err(e) if e.is_unsupported() => {
                return crate::skip::skip(crate::skip::Skip::Platform, &e.to_string());
            }
            Err(e) => panic!("{e}"),
        };
        assert_eq!(d.buf.as_slice().as_ptr() as usize % page, 0);
    }
}
