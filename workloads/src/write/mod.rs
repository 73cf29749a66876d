//! Write engines: one file each behind [`WriteEngine`], after fio's `ioengine_ops`
//! (open / prep / submit / reap / close) and ripgrep's `Sink` (one essential method set,
//! the rest defaulted).
//!
//! An engine writes one `.log` (or raw) file at a time. The runner asks it for a writable
//! region ([`WriteEngine::buffer`]), encodes the batch straight into it, then submits it.
//! The engine answers [`Submitted::Completed`] (synchronous engines) or [`Submitted::Queued`]
//! (io_uring); queued appends come back through [`WriteEngine::reap`]. Engines never time,
//! count or print: they report the bytes each append put on the device, and the runner counts.

use std::path::Path;

use crate::{EngineError, EngineSpec, SyncKind};

pub mod buffered;
pub mod direct;
pub mod mmap;
pub mod null;
pub mod uring;

/// What an engine needs from, or offers to, the runner (fio's `fio_ioengine_flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps {
    /// Appends may be queued and complete later through `reap` (io_uring).
    pub queued: bool,
    /// A flush can be linked to an append in `submit` (io_uring linked fsync), so the runner
    /// passes `Some(sync)` to `submit` instead of calling `flush`.
    pub linked_flush: bool,
    /// Bytes reach the device in aligned blocks (O_DIRECT); `device_bytes` may exceed the data.
    pub direct: bool,
    /// The data goes through the page cache (a result may be a cache number, not a disk number).
    pub page_cache: bool,
}

/// The file an engine writes next.
#[derive(Debug, Clone, Copy)]
pub struct FileTarget<'a> {
    /// Path of the file; the engine creates it (it must not exist).
    pub path: &'a Path,
    /// The most bytes that will be appended to this file (the segment size); used to
    /// preallocate and to size mappings.
    pub capacity_bytes: u64,
    /// Reserve `capacity_bytes` with `fallocate` before writing.
    pub preallocate: bool,
    /// Open with `O_DSYNC` (every write durable when it completes).
    pub dsync: bool,
}

impl FileTarget<'_> {
    /// Creates the file for an engine that writes with `pwrite`-like calls: `O_CREAT | O_EXCL`,
    /// plus `extra_flags` (e.g. `O_DIRECT`), plus `O_DSYNC` when asked, reserving
    /// `capacity_bytes` with `fallocate` when `preallocate` is set.
    pub fn create(&self, extra_flags: i32) -> Result<std::fs::File, EngineError> {
        let flags = extra_flags | if self.dsync { libc::O_DSYNC } else { 0 };
        let file = crate::sys::create_file(self.path, false, flags)
            .map_err(|e| EngineError::io("open", self.path, e, 0))?;
        if self.preallocate && self.capacity_bytes > 0 {
            crate::sys::fallocate(&file, self.capacity_bytes, self.path)?;
        }
        Ok(file)
    }

    /// Refuses to open this target while the engine still has the file `open` open (the runner
    /// closes a file before it opens the next): an `InvalidInput` error naming `engine`.
    pub(crate) fn refuse_if_open(
        &self,
        engine: &str,
        open: Option<&Path>,
    ) -> Result<(), EngineError> {
        match open {
            Some(open) => Err(crate::sys::invalid_use(
                "open",
                self.path,
                format!("{engine}: {} is still open", open.display()),
            )),
            None => Ok(()),
        }
    }
}

/// Trims `file` to its `data_bytes` (`ftruncate`), as `close` does to a file that was
/// preallocated, sized for a mapping or padded to blocks.
pub(crate) fn trim(file: &std::fs::File, data_bytes: u64, path: &Path) -> Result<(), EngineError> {
    file.set_len(data_bytes)
        .map_err(|e| EngineError::io("ftruncate", path, e, data_bytes))
}

/// Answer of [`WriteEngine::submit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// The append is done (and flushed, if a linked flush was asked for).
    Completed {
        /// Bytes this append put on the device or in the page cache (more than the data for
        /// O_DIRECT when a partial block is rewritten).
        device_bytes: u64,
    },
    /// The append is in flight; its token comes back from `reap`.
    Queued,
}

/// One append that finished, from [`WriteEngine::reap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The token passed to `submit`.
    pub token: u64,
    /// As in [`Submitted::Completed`].
    pub device_bytes: u64,
}

/// A write path. One instance writes one partition's files, from one thread.
pub trait WriteEngine: Send {
    /// What the engine needs or offers.
    fn caps(&self) -> Caps;

    /// Creates and opens `target` for appending. The previous file, if any, was closed.
    fn open(&mut self, target: &FileTarget<'_>) -> Result<(), EngineError>;

    /// A writable region of exactly `len` bytes for the next append, or `None` when every
    /// slot is in flight (the runner must `reap` first). The region's contents are undefined.
    fn buffer(&mut self, len: usize) -> Result<Option<&mut [u8]>, EngineError>;

    /// Appends the `len` bytes written into the last region from `buffer`.
    /// `linked_sync` is `Some` only for engines with [`Caps::linked_flush`]: the append is
    /// acknowledged after that sync completes.
    fn submit(
        &mut self,
        len: usize,
        token: u64,
        linked_sync: Option<SyncKind>,
    ) -> Result<Submitted, EngineError>;

    /// Waits until at least `min` queued appends completed (0: do not wait) and pushes them
    /// to `done`. Synchronous engines have nothing queued.
    fn reap(&mut self, min: usize, done: &mut Vec<Completion>) -> Result<(), EngineError> {
        let _ = (min, done);
        Ok(())
    }

    /// Appends submitted and not yet reaped.
    fn in_flight(&self) -> usize {
        0
    }

    /// Makes everything appended so far durable with `sync`. Queued appends are completed
    /// first and pushed to `done`.
    fn flush(&mut self, sync: SyncKind, done: &mut Vec<Completion>) -> Result<(), EngineError>;

    /// Completes queued appends (pushed to `done`), trims the file to its data, and closes it.
    fn close(&mut self, done: &mut Vec<Completion>) -> Result<(), EngineError>;
}

/// The write engines this build knows, for `--help` and error messages.
pub const ENGINE_NAMES: &[&str] = &["buffered", "mmap", "direct", "uring", "null"];

/// Builds the engine a spec names, checking its options. `dir` is where its files will go
/// (O_DIRECT alignment and io_uring support are checked against it); `max_append_bytes` is
/// the largest append the runner will ask for (buffers are sized for it).
///
/// Returns [`EngineError::Unsupported`] when this kernel or file system cannot run it.
pub fn build(
    spec: &EngineSpec,
    dir: &Path,
    max_append_bytes: usize,
) -> Result<Box<dyn WriteEngine>, EngineError> {
    match spec.name.as_str() {
        "buffered" => Ok(Box::new(buffered::Buffered::new(spec, max_append_bytes)?)),
        "mmap" => Ok(Box::new(mmap::Mmap::new(spec)?)),
        "direct" => Ok(Box::new(direct::Direct::new(spec, dir, max_append_bytes)?)),
        "uring" => Ok(Box::new(uring::Uring::new(spec, dir, max_append_bytes)?)),
        "null" => Ok(Box::new(null::Null::new(spec, max_append_bytes)?)),
        _ => Err(unknown_engine(spec)),
    }
}

/// Checks a spec's engine name, option names and option values as [`build`] does (each
/// engine's constructor runs the same check), without building anything: no file, device,
/// memory or kernel resource is touched, so a spec can be refused when it is read (a command
/// line, a suite file). What depends on the run or the machine is left to [`build`]: the size
/// of io_uring's buffers (`qd` × the batch size), O_DIRECT and io_uring support.
pub fn check_spec(spec: &EngineSpec) -> Result<(), EngineError> {
    match spec.name.as_str() {
        "buffered" => buffered::check_spec(spec),
        "mmap" => mmap::check_spec(spec),
        "direct" => direct::check_spec(spec),
        "uring" => uring::Options::from_spec(spec).map(drop),
        "null" => null::check_spec(spec),
        _ => Err(unknown_engine(spec)),
    }
}

/// The [`EngineError::InvalidSpec`] for a spec whose engine name no write engine has.
fn unknown_engine(spec: &EngineSpec) -> EngineError {
    spec.invalid(format!(
        "unknown write engine '{}' (engines: {})",
        spec.name,
        ENGINE_NAMES.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every engine's options, checked without building: a bad name or value is refused with a
    /// reason naming the option, the same one the engine's constructor gives.
    #[test]
    fn check_spec_refuses_what_build_refuses_and_names_the_option() {
        let dir = tempfile::tempdir().unwrap();
        for good in [
            "buffered",
            "mmap",
            "direct",
            "null",
            "uring",
            "uring:qd=1",
            "uring:qd=4096,direct,fixed,sqpoll",
        ] {
            let spec: EngineSpec = good.parse().unwrap();
            check_spec(&spec).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for (bad, reason) in [
            (
                "buffered:qd=4",
                "unknown option 'qd' for engine 'buffered' (options: none)",
            ),
            ("mmap:direct", "unknown option 'direct' for engine 'mmap'"),
            ("direct:qd=2", "unknown option 'qd' for engine 'direct'"),
            ("null:fast", "unknown option 'fast' for engine 'null'"),
            ("uring:qd=0", "qd=0 is out of range: use 1..=4096"),
            ("uring:qd=4097", "qd=4097 is out of range: use 1..=4096"),
            ("uring:qd=x", "option 'qd=x' has an invalid value"),
            ("uring:qd", "option 'qd' needs a value"),
            (
                "uring:bogus",
                "unknown option 'bogus' for engine 'uring' (options: qd, direct, fixed, sqpoll)",
            ),
            ("turbo", "unknown write engine 'turbo'"),
        ] {
            let spec: EngineSpec = bad.parse().unwrap();
            let checked = check_spec(&spec).unwrap_err();
            assert!(
                checked.spec_reason().starts_with(reason),
                "{bad}: {checked}"
            );
            // The constructor refuses it for the same reason, before probing anything.
            let built = build(&spec, dir.path(), 4096).map(drop).unwrap_err();
            assert_eq!(built.spec_reason(), checked.spec_reason(), "{bad}");
        }
    }
}
