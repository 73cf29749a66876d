//! `sendfile`: `sendfile(2)` from the segment straight to the socket, Kafka's
//! `FileChannel.transferTo` path: no copy through user space, one system call per fetch
//! (more only when the socket takes a part at a time). It takes no options.

use std::os::fd::{AsFd, BorrowedFd};

use super::{errno_error, short_file, Caps, Extent, ReadEngine};
use crate::{EngineError, EngineSpec};

/// Largest count one `sendfile` call moves (Linux's `MAX_RW_COUNT`).
const MAX_SENDFILE: u64 = 0x7fff_f000;

/// The sendfile engine (stateless).
#[derive(Debug)]
pub struct SendFile;

/// Checks a `sendfile` spec: it takes no options.
pub fn check_spec(spec: &EngineSpec) -> Result<(), EngineError> {
    spec.check_options(&[])
}

impl SendFile {
    /// Builds it from `sendfile` (no options).
    pub fn new(spec: &EngineSpec) -> Result<Self, EngineError> {
        check_spec(spec)?;
        Ok(SendFile)
    }
}

impl ReadEngine for SendFile {
    fn caps(&self) -> Caps {
        Caps {
            zero_copy: true,
            ..Caps::default()
        }
    }

    fn send(&mut self, extent: &Extent<'_>, sock: BorrowedFd<'_>) -> Result<u64, EngineError> {
        let end = extent.checked_end("sendfile")?;
        let mut off = extent.offset as libc::off64_t;
        while (off as u64) < end {
            let count = (end - off as u64).min(MAX_SENDFILE) as usize;
            match nix::sys::sendfile::sendfile64(sock, extent.file.as_fd(), Some(&mut off), count) {
                Ok(0) => return Err(short_file("sendfile", extent.path, off as u64, end)),
                // `off` was advanced by the kernel.
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(errno_error("sendfile", extent.path, e)),
            }
        }
        Ok(extent.len)
    }
}
