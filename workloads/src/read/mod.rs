//! Read engines: one file each behind [`ReadEngine`], the consumer-serving half of a broker.
//!
//! An engine moves exactly one [`Extent`] of a segment file (`len` bytes from `offset`) to a
//! connected stream socket, looping over partial transfers. One instance serves one consumer thread and
//! may keep state between calls (a user buffer, a pipe, cached mappings, an io_uring).
//! Engines never time, count or print: the runner owns the clock, the counters and the
//! framing written around each payload.
//!
//! | engine      | path                                                   | copies through user space |
//! |-------------|--------------------------------------------------------|---------------------------|
//! | `readwrite` | `pread` into a reusable buffer, `send` from it         | 2 (cache → user → socket) |
//! | `sendfile`  | `sendfile(2)` from the file to the socket              | 0                         |
//! | `splice`    | `splice(2)` file → pipe → socket, a pipe it owns       | 0                         |
//! | `mmap`      | `send` from a read-only mapping of the segment         | 1 (mapping → socket)      |
//! | `uring`     | io_uring `READ_FIXED` + `SEND` (or `SPLICE` pairs)      | 2 (0 with `splice`)       |
//!
//! Socket errors (`EPIPE`, `ECONNRESET`, a send timeout from `SO_SNDTIMEO`) come back as
//! [`EngineError::Io`] with the OS error; [`is_peer_gone`] tells them from file errors.

use std::fs::File;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;

use nix::sys::socket::MsgFlags;

use crate::{EngineError, EngineSpec};

pub mod mmap;
pub mod readwrite;
pub mod sendfile;
pub mod splice;
pub mod uring;

/// What an engine does with the bytes (fio's `fio_ioengine_flags`): reported with the
/// results, never matched on by the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps {
    /// The payload never passes through a user-space buffer (sendfile, splice).
    pub zero_copy: bool,
    /// The payload goes through a pipe the engine owns (splice).
    pub uses_pipe: bool,
    /// Segments are memory-mapped: page faults instead of read calls.
    pub mapped: bool,
    /// I/O is queued through io_uring.
    pub queued: bool,
    /// io_uring reads go into registered (fixed) buffers.
    pub registered_buffers: bool,
}

/// A read path. One instance per consumer thread.
pub trait ReadEngine: Send {
    /// What the engine does.
    fn caps(&self) -> Caps;

    /// Moves exactly the bytes of `extent` (`file[offset..offset + len]`) to the connected
    /// stream socket `sock`, looping over partial transfers, and returns `len`. The extent's
    /// `path` names the file in errors. The file must hold at least `offset + len` bytes; if
    /// it ends earlier the call fails with `UnexpectedEof` and the socket has received a prefix
    /// of the range. A range that does not fit an `off_t` is refused before any I/O
    /// ([`Extent::checked_end`]).
    fn send(&mut self, extent: &Extent<'_>, sock: BorrowedFd<'_>) -> Result<u64, EngineError>;
}

/// A byte range of one segment file: what one [`ReadEngine::send`] serves. Built on the
/// stack per fetch; it borrows the open file and its path.
#[derive(Debug, Clone, Copy)]
pub struct Extent<'a> {
    /// The open segment file.
    pub file: &'a File,
    /// The file's path, named in errors.
    pub path: &'a Path,
    /// First byte of the range in the file.
    pub offset: u64,
    /// Bytes in the range.
    pub len: u64,
}

impl Extent<'_> {
    /// The end of the range, `offset + len`; an error naming `op` and the file when the range
    /// does not fit an `off_t`.
    pub fn checked_end(&self, op: &'static str) -> Result<u64, EngineError> {
        let (offset, len) = (self.offset, self.len);
        offset
            .checked_add(len)
            .filter(|&e| e <= i64::MAX as u64)
            .ok_or_else(|| {
                crate::sys::invalid_use(
                    op,
                    self.path,
                    format!("range {offset}+{len} is out of bounds"),
                )
            })
    }
}

/// The read engines this build knows, for `--help` and error messages.
pub const ENGINE_NAMES: &[&str] = &["sendfile", "readwrite", "splice", "mmap", "uring"];

/// Builds the engine a spec names, checking its options.
///
/// Returns [`EngineError::Unsupported`] when this kernel cannot run it (e.g. io_uring
/// disabled), [`EngineError::InvalidSpec`] for an unknown engine or option.
pub fn build(spec: &EngineSpec) -> Result<Box<dyn ReadEngine>, EngineError> {
    match spec.name.as_str() {
        "readwrite" => Ok(Box::new(readwrite::ReadWrite::new(spec)?)),
        "sendfile" => Ok(Box::new(sendfile::SendFile::new(spec)?)),
        "splice" => Ok(Box::new(splice::Splice::new(spec)?)),
        "mmap" => Ok(Box::new(mmap::Mmap::new(spec)?)),
        "uring" => Ok(Box::new(uring::Uring::new(spec)?)),
        _ => Err(unknown_engine(spec)),
    }
}

/// Checks a spec's engine name, option names and option values as [`build`] does (each
/// engine's constructor runs the same check), without building anything: no file, pipe,
/// memory or kernel resource is touched, so a spec can be refused when it is read (a command
/// line, a suite file). Whether this kernel can run the engine is left to [`build`].
pub fn check_spec(spec: &EngineSpec) -> Result<(), EngineError> {
    match spec.name.as_str() {
        "readwrite" => readwrite::Options::from_spec(spec).map(drop),
        "sendfile" => sendfile::check_spec(spec),
        "splice" => splice::Options::from_spec(spec).map(drop),
        "mmap" => mmap::check_spec(spec),
        "uring" => uring::Options::from_spec(spec).map(drop),
        _ => Err(unknown_engine(spec)),
    }
}

/// The [`EngineError::InvalidSpec`] for a spec whose engine name no read engine has.
fn unknown_engine(spec: &EngineSpec) -> EngineError {
    spec.invalid(format!(
        "unknown read engine '{}' (engines: {})",
        spec.name,
        ENGINE_NAMES.join(", ")
    ))
}

/// True when `e` says the peer of the socket is gone or stopped reading: broken pipe,
/// connection reset or aborted, not connected, a send timeout (`SO_SNDTIMEO`, `EAGAIN`), a TCP
/// user timeout (`ETIMEDOUT`), or an unreachable host or network.
pub fn is_peer_gone(e: &EngineError) -> bool {
    let EngineError::Io { source, .. } = e else {
        return false;
    };
    matches!(
        source.raw_os_error(),
        Some(
            libc::EPIPE
                | libc::ECONNRESET
                | libc::ECONNABORTED
                | libc::ENOTCONN
                | libc::ETIMEDOUT
                | libc::EAGAIN
                | libc::EHOSTUNREACH
                | libc::ENETUNREACH
                | libc::ENETDOWN
        )
    )
}

/// Sends all of `buf` on `sock` (`send(2)` with `MSG_NOSIGNAL`, plus `MSG_MORE` when `more`:
/// more bytes of the same message follow, so TCP may coalesce them), looping over partial
/// sends and `EINTR`. A send timeout (`SO_SNDTIMEO`) is an error with `EAGAIN`.
pub fn send_all(
    sock: BorrowedFd<'_>,
    mut buf: &[u8],
    more: bool,
    op: &'static str,
    path: &Path,
) -> Result<(), EngineError> {
    use std::os::fd::AsRawFd;
    let mut flags = MsgFlags::MSG_NOSIGNAL;
    if more {
        flags |= MsgFlags::from_bits_retain(libc::MSG_MORE);
    }
    while !buf.is_empty() {
        match nix::sys::socket::send(sock.as_raw_fd(), buf, flags) {
            Ok(0) => return Err(socket_error(op, path, io::ErrorKind::WriteZero.into())),
            Ok(n) => buf = &buf[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(errno_error(op, path, e)),
        }
    }
    Ok(())
}

/// An [`EngineError::Io`] for a socket operation, naming the file being served.
pub(crate) fn socket_error(op: &'static str, path: &Path, source: io::Error) -> EngineError {
    EngineError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// [`socket_error`] for an error number from a `nix` call.
pub(crate) fn errno_error(op: &'static str, path: &Path, e: nix::errno::Errno) -> EngineError {
    socket_error(op, path, io::Error::from_raw_os_error(e as i32))
}

/// The file ended before the requested range did.
pub(crate) fn short_file(op: &'static str, path: &Path, at: u64, end: u64) -> EngineError {
    EngineError::Io {
        op,
        path: path.to_path_buf(),
        source: io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the file ends at byte {at}, before the end of the range at byte {end}"),
        ),
    }
}

/// The value of a size option (`buf=256KiB`), `default` when absent; zero is refused.
pub(crate) fn size_option(spec: &EngineSpec, key: &str, default: u64) -> Result<u64, EngineError> {
    match spec.options.get(key) {
        None => Ok(default),
        Some(None) => Err(spec.invalid(format!("option '{key}' needs a size, e.g. {key}=256KiB"))),
        Some(Some(v)) => {
            crate::units::parse_size(v).map_err(|e| spec.invalid(format!("option '{key}': {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skip::{skip, Skip};
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    /// A file of `len` pseudo-random bytes.
    fn data_file(dir: &Path, len: usize) -> (std::path::PathBuf, Vec<u8>) {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let path = dir.join("00000000000000000000.log");
        let mut f = File::create(&path).unwrap();
        f.write_all(&bytes).unwrap();
        (path, bytes)
    }

    /// Sends `ranges` through a fresh engine to a loopback receiver; returns what it received.
    fn through(spec: &str, path: &Path, ranges: &[(u64, u64)]) -> Option<Vec<u8>> {
        let spec: EngineSpec = spec.parse().unwrap();
        let mut engine = match build(&spec) {
            Ok(e) => e,
            Err(e) if e.is_unsupported() => {
                skip(Skip::Platform, &format!("{spec}: {e}"));
                return None;
            }
            Err(e) => panic!("{e}"),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let rx = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            got
        });
        let sock = TcpStream::connect(addr).unwrap();
        let file = File::open(path).unwrap();
        for &(off, len) in ranges {
            let extent = Extent {
                file: &file,
                path,
                offset: off,
                len,
            };
            let n = engine.send(&extent, sock.as_fd()).unwrap();
            assert_eq!(n, len, "{spec}");
        }
        drop(sock);
        drop(engine);
        Some(rx.join().unwrap())
    }

    #[test]
    fn every_engine_sends_exactly_the_bytes_of_each_range() {
        let dir = tempfile::tempdir().unwrap();
        // Not a multiple of any buffer, pipe or page size.
        let len = (3 << 20) + 12_345;
        let (path, bytes) = data_file(dir.path(), len);
        let ranges: &[(u64, u64)] = &[
            (0, 1),
            (1, 4095),
            (4096, 1 << 20),
            ((1 << 20) + 4096, (2 << 20) + 7), // larger than buffers and pipes
            (len as u64 - 100, 100),           // up to the end
            (17, 0),                           // empty
        ];
        let mut want = Vec::new();
        for &(o, l) in ranges {
            want.extend_from_slice(&bytes[o as usize..(o + l) as usize]);
        }
        for spec in [
            "readwrite",
            "readwrite:buf=4KiB",
            "sendfile",
            "splice",
            "splice:pipe=64KiB",
            "mmap",
            "uring",
            "uring:qd=4,buf=64KiB",
            "uring:splice",
        ] {
            let Some(got) = through(spec, &path, ranges) else {
                continue;
            };
            assert_eq!(got.len(), want.len(), "{spec}: length");
            assert!(got == want, "{spec}: bytes differ");
        }
    }

    #[test]
    fn a_range_past_the_end_of_the_file_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = data_file(dir.path(), 10_000);
        for_each_engine(|spec, engine, sock, _peer| {
            let file = File::open(&path).unwrap();
            let extent = Extent {
                file: &file,
                path: &path,
                offset: 9_000,
                len: 5_000,
            };
            let e = engine.send(&extent, sock.as_fd()).unwrap_err();
            assert!(
                e.to_string().contains("00000000000000000000.log"),
                "{spec}: {e}"
            );
            assert!(!is_peer_gone(&e), "{spec}: {e}");
        });
    }

    #[test]
    fn a_closed_peer_is_reported_as_gone() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = data_file(dir.path(), 4 << 20);
        for_each_engine(|spec, engine, sock, peer| {
            // Unread data at close makes the peer answer with RST.
            (&peer).write_all(b"x").unwrap();
            drop(peer);
            let file = File::open(&path).unwrap();
            let extent = Extent {
                file: &file,
                path: &path,
                offset: 0,
                len: 4 << 20,
            };
            let mut err = None;
            for _ in 0..50 {
                if let Err(e) = engine.send(&extent, sock.as_fd()) {
                    err = Some(e);
                    break;
                }
            }
            let e = err.unwrap_or_else(|| panic!("{spec}: sends to a closed peer kept succeeding"));
            assert!(is_peer_gone(&e), "{spec}: {e}");
        });
    }

    /// Runs `f` for every engine spec this kernel can run (the others are reported skips), each
    /// with a fresh loopback connection: (spec, engine, sending socket, peer).
    fn for_each_engine(mut f: impl FnMut(&EngineSpec, &mut dyn ReadEngine, TcpStream, TcpStream)) {
        for spec in [
            "readwrite",
            "sendfile",
            "splice",
            "mmap",
            "uring",
            "uring:splice",
        ] {
            let spec: EngineSpec = spec.parse().unwrap();
            let mut engine = match build(&spec) {
                Ok(e) => e,
                Err(e) if e.is_unsupported() => {
                    skip(Skip::Platform, &format!("{spec}: {e}"));
                    continue;
                }
                Err(e) => panic!("{e}"),
            };
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let sock = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (peer, _) = listener.accept().unwrap();
            f(&spec, engine.as_mut(), sock, peer);
        }
    }

    #[test]
    fn an_extent_past_the_largest_off_t_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = data_file(dir.path(), 10);
        let file = File::open(&path).unwrap();
        let extent = |offset, len| Extent {
            file: &file,
            path: &path,
            offset,
            len,
        };
        assert_eq!(extent(7, 3).checked_end("op").unwrap(), 10);
        assert_eq!(
            extent(i64::MAX as u64, 0).checked_end("op").unwrap(),
            i64::MAX as u64
        );
        for (offset, len) in [(i64::MAX as u64, 1), (u64::MAX, 1), (1, u64::MAX)] {
            let e = extent(offset, len).checked_end("op").unwrap_err();
            assert!(e.to_string().contains("00000000000000000000.log"), "{e}");
            assert!(e.to_string().contains("out of bounds"), "{e}");
        }
    }

    /// Every engine's options, checked without building: a bad name or value is refused with a
    /// reason naming the option, the same one the engine's constructor gives.
    #[test]
    fn check_spec_refuses_what_build_refuses_and_names_the_option() {
        for good in [
            "sendfile",
            "readwrite",
            "readwrite:buf=1GiB",
            "splice:pipe=64KiB",
            "mmap",
            "uring:qd=64,buf=64KiB",
            "uring:splice,qd=1",
        ] {
            let spec: EngineSpec = good.parse().unwrap();
            check_spec(&spec).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for (bad, reason) in [
            (
                "sendfile:qd=2",
                "unknown option 'qd' for engine 'sendfile' (options: none)",
            ),
            ("mmap:buf=1MiB", "unknown option 'buf' for engine 'mmap'"),
            ("readwrite:buf=0", "option 'buf': invalid size '0'"),
            ("readwrite:buf", "option 'buf' needs a size"),
            (
                "readwrite:buf=2GiB",
                "buf=2147483648 is too large (at most 1GiB)",
            ),
            (
                "readwrite:pipe=1MiB",
                "unknown option 'pipe' for engine 'readwrite' (options: buf)",
            ),
            ("splice:pipe=lots", "option 'pipe': invalid size 'lots'"),
            (
                "splice:buf=1MiB",
                "unknown option 'buf' for engine 'splice' (options: pipe)",
            ),
            ("uring:qd=0", "qd=0 is out of range: use 1..=64"),
            ("uring:qd=65", "qd=65 is out of range: use 1..=64"),
            ("uring:qd=x", "option 'qd=x' has an invalid value"),
            (
                "uring:buf=2GiB",
                "buf=2147483648 is too large (at most 1GiB)",
            ),
            (
                "uring:splice,qd=2",
                "splice runs one pipe-full at a time: qd does not apply",
            ),
            (
                "uring:pipe=1MiB",
                "unknown option 'pipe' for engine 'uring' (options: qd, buf, splice)",
            ),
            ("bogus", "unknown read engine 'bogus'"),
        ] {
            let spec: EngineSpec = bad.parse().unwrap();
            let checked = check_spec(&spec).unwrap_err();
            assert!(
                checked.spec_reason().starts_with(reason),
                "{bad}: {checked}"
            );
            // The constructor refuses it for the same reason, before setting anything up.
            let built = build(&spec).map(drop).unwrap_err();
            assert_eq!(built.spec_reason(), checked.spec_reason(), "{bad}");
        }
    }

    #[test]
    fn unknown_engines_and_options_are_refused() {
        for bad in [
            "bogus",
            "sendfile:qd=2",
            "uring:qd=0",
            "uring:qd=100000",
            "readwrite:buf=0",
        ] {
            let spec: EngineSpec = bad.parse().unwrap();
            match build(&spec) {
                Err(EngineError::InvalidSpec { .. }) => {}
                Err(e) if e.is_unsupported() => {}
                Err(e) => panic!("{bad}: unexpected error {e}"),
                Ok(_) => panic!("{bad} accepted"),
            }
        }
    }
}
