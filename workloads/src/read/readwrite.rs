//! `readwrite`: `pread(2)` into a reusable, pre-faulted user buffer, then `send(2)` from it:
//! the classic path Kafka's design avoids (page cache → user buffer → socket buffer, two
//! copies and two system calls per buffer).
//!
//! Option `buf=SIZE` (default 1 MiB): the buffer; a larger range goes in several rounds, each
//! sent with `MSG_MORE` except the last.

use std::os::fd::BorrowedFd;
use std::os::unix::fs::FileExt;

use super::{send_all, short_file, size_option, Caps, Extent, ReadEngine};
use crate::sys;
use crate::{EngineError, EngineSpec};

/// Default buffer size (Kafka's consumer `max.partition.fetch.bytes`).
pub const DEFAULT_BUF_BYTES: u64 = 1 << 20;
/// Largest buffer accepted.
pub const MAX_BUF_BYTES: u64 = 1 << 30;

/// The read+write engine.
#[derive(Debug)]
pub struct ReadWrite {
    buf: Vec<u8>,
}

/// The options of `readwrite[:buf=SIZE]`, checked: what [`ReadWrite::new`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `buf=SIZE`: the buffer, bytes (1..=[`MAX_BUF_BYTES`], default [`DEFAULT_BUF_BYTES`]).
    pub buf_bytes: u64,
}

impl Options {
    /// Checks a `readwrite` spec's option names and values; allocates nothing.
    pub fn from_spec(spec: &EngineSpec) -> Result<Self, EngineError> {
        spec.check_options(&["buf"])?;
        let len = size_option(spec, "buf", DEFAULT_BUF_BYTES)?;
        if len > MAX_BUF_BYTES {
            return Err(spec.invalid(format!("buf={len} is too large (at most 1GiB)")));
        }
        Ok(Options { buf_bytes: len })
    }
}

impl ReadWrite {
    /// Builds it from `readwrite[:buf=SIZE]` with a pre-faulted buffer.
    pub fn new(spec: &EngineSpec) -> Result<Self, EngineError> {
        let len = Options::from_spec(spec)?.buf_bytes;
        let mut buf = vec![0u8; len as usize];
        sys::prefault(&mut buf);
        Ok(ReadWrite { buf })
    }
}

impl ReadEngine for ReadWrite {
    fn caps(&self) -> Caps {
        Caps::default()
    }

    fn send(&mut self, extent: &Extent<'_>, sock: BorrowedFd<'_>) -> Result<u64, EngineError> {
        let end = extent.checked_end("pread")?;
        let mut pos = extent.offset;
        while pos < end {
            let n = ((end - pos) as usize).min(self.buf.len());
            let chunk = &mut self.buf[..n];
            let mut got = 0;
            while got < n {
                match extent.file.read_at(&mut chunk[got..], pos + got as u64) {
                    Ok(0) => return Err(short_file("pread", extent.path, pos + got as u64, end)),
                    Ok(k) => got += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(EngineError::io("pread", extent.path, e, 0)),
                }
            }
            pos += n as u64;
            send_all(sock, chunk, pos < end, "send", extent.path)?;
        }
        Ok(extent.len)
    }
}
