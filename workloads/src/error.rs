//! The typed error shared by the engines and the segment-log model.

use std::io;
use std::path::PathBuf;

/// What went wrong in an engine or in the segment-log model. Every variant says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// This kernel, file system or build cannot run the engine; the runner reports a skip.
    #[error("{engine} is not supported here: {reason}")]
    Unsupported {
        /// Engine name, e.g. `uring`.
        engine: String,
        /// Why, in words a user can act on.
        reason: String,
    },
    /// An engine spec or option that does not parse or is not known.
    #[error("invalid engine spec '{spec}': {reason}")]
    InvalidSpec {
        /// The spec as given.
        spec: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// The file system is full (ENOSPC or EDQUOT).
    #[error("no space left on the device holding {path} ({written_bytes} bytes written to it)")]
    NoSpace {
        /// The file being written.
        path: PathBuf,
        /// Bytes written to that file so far.
        written_bytes: u64,
    },
    /// Any other I/O error, with the operation and the file.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation, e.g. `pwrite`.
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Data read back is not what was written, or is not a valid batch.
    #[error("corrupt data in {path} at byte {position}: {reason}")]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Byte position in that file.
        position: u64,
        /// What is wrong.
        reason: String,
    },
}

impl EngineError {
    /// Wraps an I/O error, mapping ENOSPC / EDQUOT to [`EngineError::NoSpace`].
    pub fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
        source: io::Error,
        written_bytes: u64,
    ) -> Self {
        let path = path.into();
        match source.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => EngineError::NoSpace {
                path,
                written_bytes,
            },
            _ => EngineError::Io { op, path, source },
        }
    }

    /// Wraps a nix errno like [`EngineError::io`].
    pub fn errno(
        op: &'static str,
        path: impl Into<PathBuf>,
        errno: nix::errno::Errno,
        written_bytes: u64,
    ) -> Self {
        Self::io(
            op,
            path,
            io::Error::from_raw_os_error(errno as i32),
            written_bytes,
        )
    }

    /// True when the runner should report a skip rather than a failure.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, EngineError::Unsupported { .. })
    }
}
