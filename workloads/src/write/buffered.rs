//! `buffered`: `pwrite(2)` at the append position from one reusable, pre-faulted buffer, into
//! the page cache (Kafka's `FileChannel.write` path). A flush is `fdatasync` / `fsync`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{trim, Caps, Completion, FileTarget, Submitted, WriteEngine};
use crate::sys::{self, AlignedBuf};
use crate::{EngineError, EngineSpec, SyncKind};

/// The buffered engine: one file open at a time, one staging buffer.
#[derive(Debug)]
pub struct Buffered {
    /// Page-aligned: a copy into the page cache from an unaligned source is measurably slower
    /// (a plain `Vec` of 128 KiB comes from `mmap` at page + 16 bytes).
    buf: AlignedBuf,
    file: Option<Open>,
}

#[derive(Debug)]
struct Open {
    file: File,
    path: PathBuf,
    /// Append position = data bytes written so far.
    pos: u64,
    /// The file was extended by `fallocate`, so `close` trims it back to `pos`.
    preallocated: bool,
}

/// Checks a `buffered` spec: it takes no options.
pub fn check_spec(spec: &EngineSpec) -> Result<(), EngineError> {
    spec.check_options(&[])
}

impl Buffered {
    /// Builds it with a pre-faulted buffer of `max_append_bytes`; it takes no options.
    pub fn new(spec: &EngineSpec, max_append_bytes: usize) -> Result<Self, EngineError> {
        check_spec(spec)?;
        let mut buf = AlignedBuf::new(max_append_bytes.max(1), sys::page_size());
        sys::prefault(buf.as_mut_slice());
        Ok(Buffered { buf, file: None })
    }
}

impl WriteEngine for Buffered {
    fn caps(&self) -> Caps {
        Caps {
            page_cache: true,
            ..Caps::default()
        }
    }

    fn open(&mut self, target: &FileTarget<'_>) -> Result<(), EngineError> {
        target.refuse_if_open("buffered", self.file.as_ref().map(|f| f.path.as_path()))?;
        let file = target.create(0)?;
        self.file = Some(Open {
            file,
            path: target.path.to_path_buf(),
            pos: 0,
            preallocated: target.preallocate,
        });
        Ok(())
    }

    fn buffer(&mut self, len: usize) -> Result<Option<&mut [u8]>, EngineError> {
        if len > self.buf.len() {
            // Only when the runner exceeds the max_append_bytes it promised: not the hot path.
            self.buf = AlignedBuf::new(len, sys::page_size());
            sys::prefault(self.buf.as_mut_slice());
        }
        Ok(Some(&mut self.buf.as_mut_slice()[..len]))
    }

    fn submit(
        &mut self,
        len: usize,
        _token: u64,
        _linked: Option<SyncKind>,
    ) -> Result<Submitted, EngineError> {
        let buf_len = self.buf.len();
        if len > buf_len {
            let path = self
                .file
                .as_ref()
                .map(|f| f.path.clone())
                .unwrap_or_default();
            return Err(sys::invalid_use(
                "pwrite",
                &path,
                format!("buffered: submit of {len} bytes > buffer of {buf_len}"),
            ));
        }
        let Some(f) = self.file.as_mut() else {
            return Err(sys::invalid_use(
                "pwrite",
                Path::new(""),
                "buffered: submit without an open file".into(),
            ));
        };
        // write_all_at retries short writes and EINTR; any other error is returned.
        f.file
            .write_all_at(&self.buf.as_slice()[..len], f.pos)
            .map_err(|e| EngineError::io("pwrite", &f.path, e, f.pos))?;
        f.pos += len as u64;
        Ok(Submitted::Completed {
            device_bytes: len as u64,
        })
    }

    fn flush(&mut self, sync: SyncKind, _done: &mut Vec<Completion>) -> Result<(), EngineError> {
        match &self.file {
            Some(f) => sys::sync_file(&f.file, sync, &f.path, f.pos),
            None => Ok(()),
        }
    }

    fn close(&mut self, _done: &mut Vec<Completion>) -> Result<(), EngineError> {
        if let Some(f) = self.file.take() {
            if f.preallocated {
                trim(&f.file, f.pos, &f.path)?;
            }
        }
        Ok(())
    }
}
