//! `splice`: `splice(2)` file → pipe → socket through a pipe the engine owns: page references
//! move through the pipe, no copy through user space (what `sendfile` does inside the kernel,
//! made explicit).
//!
//! Option `pipe=SIZE` (default 1 MiB): the pipe's capacity asked with `F_SETPIPE_SZ`; when the
//! kernel refuses it (`fs.pipe-max-size`, `fs.pipe-user-pages-soft`) the default capacity
//! (64 KiB) is kept and each fetch takes more rounds. A round fills the pipe from the file,
//! then drains it into the socket (`SPLICE_F_MORE` while more of the range follows).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag, SpliceFFlags};

use super::{errno_error, short_file, size_option, socket_error, Caps, Extent, ReadEngine};
use crate::{EngineError, EngineSpec};

/// Default pipe capacity asked for.
pub const DEFAULT_PIPE_BYTES: u64 = 1 << 20;

/// A pipe and its capacity.
#[derive(Debug)]
pub(crate) struct Pipe {
    pub(crate) read: OwnedFd,
    pub(crate) write: OwnedFd,
    pub(crate) capacity: usize,
}

impl Pipe {
    /// A close-on-exec pipe with `want` bytes of capacity if the kernel allows it.
    pub(crate) fn new(want: u64, engine: &str) -> Result<Self, EngineError> {
        let (read, write) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| EngineError::Unsupported {
                engine: engine.to_string(),
                reason: format!("cannot create a pipe: {e}"),
            })?;
        let want = want.min(i32::MAX as u64) as i32;
        // Refused above fs.pipe-max-size for unprivileged users: keep the default then.
        let _ = fcntl(write.as_raw_fd(), FcntlArg::F_SETPIPE_SZ(want));
        let capacity = fcntl(write.as_raw_fd(), FcntlArg::F_GETPIPE_SZ)
            .unwrap_or(65536)
            .max(4096) as usize;
        Ok(Pipe {
            read,
            write,
            capacity,
        })
    }
}

/// The splice engine.
#[derive(Debug)]
pub struct Splice {
    pipe: Pipe,
    want: u64,
    /// A failed send left bytes in the pipe: replace it before the next range.
    dirty: bool,
}

/// The options of `splice[:pipe=SIZE]`, checked: what [`Splice::new`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `pipe=SIZE`: the pipe capacity asked for, bytes (default [`DEFAULT_PIPE_BYTES`]).
    pub pipe_bytes: u64,
}

impl Options {
    /// Checks a `splice` spec's option names and values; creates no pipe.
    pub fn from_spec(spec: &EngineSpec) -> Result<Self, EngineError> {
        spec.check_options(&["pipe"])?;
        Ok(Options {
            pipe_bytes: size_option(spec, "pipe", DEFAULT_PIPE_BYTES)?,
        })
    }
}

impl Splice {
    /// Builds it from `splice[:pipe=SIZE]`.
    pub fn new(spec: &EngineSpec) -> Result<Self, EngineError> {
        let want = Options::from_spec(spec)?.pipe_bytes;
        Ok(Splice {
            pipe: Pipe::new(want, "splice")?,
            want,
            dirty: false,
        })
    }

    /// The pipe's capacity, bytes.
    pub fn pipe_capacity(&self) -> usize {
        self.pipe.capacity
    }
}

impl ReadEngine for Splice {
    fn caps(&self) -> Caps {
        Caps {
            zero_copy: true,
            uses_pipe: true,
            ..Caps::default()
        }
    }

    fn send(&mut self, extent: &Extent<'_>, sock: BorrowedFd<'_>) -> Result<u64, EngineError> {
        let end = extent.checked_end("splice")?;
        if self.dirty {
            self.pipe = Pipe::new(self.want, "splice")?;
            self.dirty = false;
        }
        let mut off = extent.offset as libc::loff_t;
        let mut in_pipe = 0usize;
        while (off as u64) < end || in_pipe > 0 {
            if in_pipe == 0 {
                let want = ((end - off as u64) as usize).min(self.pipe.capacity);
                let flags = SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_MORE;
                match nix::fcntl::splice(
                    extent.file.as_fd(),
                    Some(&mut off),
                    self.pipe.write.as_fd(),
                    None,
                    want,
                    flags,
                ) {
                    Ok(0) => {
                        return Err(short_file("splice from file", extent.path, off as u64, end))
                    }
                    Ok(n) => in_pipe = n,
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => {
                        return Err(EngineError::io(
                            "splice from file",
                            extent.path,
                            io::Error::from_raw_os_error(e as i32),
                            0,
                        ))
                    }
                }
            }
            let mut flags = SpliceFFlags::SPLICE_F_MOVE;
            if (off as u64) < end {
                flags |= SpliceFFlags::SPLICE_F_MORE;
            }
            match nix::fcntl::splice(self.pipe.read.as_fd(), None, sock, None, in_pipe, flags) {
                Ok(0) => {
                    self.dirty = true;
                    return Err(socket_error(
                        "splice to socket",
                        extent.path,
                        io::ErrorKind::WriteZero.into(),
                    ));
                }
                Ok(m) => in_pipe -= m,
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => {
                    self.dirty = true;
                    return Err(errno_error("splice to socket", extent.path, e));
                }
            }
        }
        Ok(extent.len)
    }
}
