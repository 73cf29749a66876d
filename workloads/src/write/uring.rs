//! `uring`: appends through io_uring with up to `qd` writes in flight (fio's `io_uring` engine).
//!
//! Options (`uring:qd=32,direct,fixed,sqpoll`):
//! - `qd=N` (1..=4096, default 8): buffer slots, i.e. appends in flight;
//! - `direct`: `O_DIRECT`, with the alignment and partial-tail rules of the `direct` engine
//!   (each append rewrites the block holding the previous append's tail);
//! - `fixed`: registered buffers and file (`IORING_OP_WRITE_FIXED`, `types::Fixed`);
//! - `sqpoll`: a kernel thread polls the submission queue (`IORING_SETUP_SQPOLL`).
//!
//! `submit` pushes one `Write` (or `WriteFixed`) SQE whose `user_data` names the slot; with a
//! linked sync it pushes the write with `IO_LINK` and an `Fsync` after it, and the pair
//! completes as one append once the fsync's CQE arrives. Short writes are resubmitted for the
//! rest (with a new linked fsync); an error on either SQE is an error of the append.
//!
//! With `direct` and batches that are not whole blocks (the Kafka format), consecutive appends
//! share a block (the tail rewrite). Two in-flight writes to the same block could land in
//! either order, so [`WriteEngine::buffer`] answers `None` (reap first) while the write that
//! last wrote the tail block is still in flight: with unaligned batches the effective queue
//! depth of one file is 1. Raw batches whose sizes are whole blocks get the full depth.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use io_uring::{opcode, squeue, types, IoUring};

use super::direct::{self, Alignment};
use super::{trim, Caps, Completion, FileTarget, Submitted, WriteEngine};
use crate::sys::{self, AlignedBuf};
use crate::{EngineError, EngineSpec, SyncKind};

/// Most memory the queue's buffers (qd × batch size) may take: every slot is allocated up front.
pub const MAX_SLOT_BYTES: u64 = 1 << 30;

/// Default queue depth.
pub const DEFAULT_QD: u32 = 8;
/// Largest queue depth accepted.
pub const MAX_QD: u32 = 4096;
/// How long the SQPOLL thread spins without work before it sleeps, ms.
const SQPOLL_IDLE_MS: u32 = 1000;

/// One buffer and the append using it.
#[derive(Debug)]
struct Slot {
    buf: AlignedBuf,
    busy: bool,
    token: u64,
    /// File offset and length of the whole write.
    off: u64,
    len: u32,
    /// Bytes of it the kernel reported written so far (short writes are resubmitted).
    done: u32,
    /// Linked sync, if any (never `Dsync`: the file is O_DSYNC then).
    sync: Option<SyncKind>,
    device_bytes: u64,
    /// CQEs still expected for this append.
    pending: u8,
    /// Linked fsyncs cancelled by a short write whose `-ECANCELED` CQE is still expected.
    expect_cancel: u8,
    err: Option<(&'static str, io::Error)>,
}

#[derive(Debug)]
struct Open {
    file: File,
    path: PathBuf,
    /// Trim the file to its data at close (preallocated, or O_DIRECT padding).
    trim: bool,
}

/// The io_uring engine.
pub struct Uring {
    // Declared first so it is dropped first: the ring goes before the buffers it references.
    ring: IoUring,
    slots: Vec<Slot>,
    /// Free slot indexes.
    free: Vec<u16>,
    /// Slot handed out by `buffer` and not yet submitted, with the region's length.
    staged: Option<(usize, usize)>,
    in_flight: usize,
    align: Option<Alignment>,
    fixed: bool,
    sqpoll: bool,
    file: Option<Open>,
    /// Data bytes appended to the file (the append position).
    pos: u64,
    /// Direct mode: the partial last block's data, rewritten by the next append.
    tail: Vec<u8>,
    tail_len: usize,
    /// Slot of the last write submitted (it wrote the tail block).
    last_slot: Option<usize>,
    /// Scratch for draining the completion queue without allocating.
    cqes: Vec<(u64, i32)>,
}

impl std::fmt::Debug for Uring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uring")
            .field("qd", &self.slots.len())
            .field("align", &self.align)
            .field("fixed", &self.fixed)
            .field("sqpoll", &self.sqpoll)
            .field("in_flight", &self.in_flight)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

fn user_data(slot: usize, is_sync: bool) -> u64 {
    ((slot as u64) << 1) | is_sync as u64
}

fn not_open(op: &'static str) -> EngineError {
    sys::invalid_use(op, Path::new(""), "uring: no file is open".into())
}

/// The options of `uring[:qd=N,direct,fixed,sqpoll]`, checked: what [`Uring::new`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `qd=N`: buffer slots, i.e. appends in flight (1..=[`MAX_QD`], default [`DEFAULT_QD`]).
    pub qd: u32,
    /// `direct`: `O_DIRECT`.
    pub direct: bool,
    /// `fixed`: registered buffers and file.
    pub fixed: bool,
    /// `sqpoll`: a kernel thread polls the submission queue.
    pub sqpoll: bool,
}

impl Options {
    /// Checks a `uring` spec's option names and values; touches no file, ring or memory. The
    /// limit on the buffers' size, which depends on the batch size, is checked by [`Uring::new`].
    pub fn from_spec(spec: &EngineSpec) -> Result<Self, EngineError> {
        spec.check_options(&["qd", "direct", "fixed", "sqpoll"])?;
        let qd: u32 = spec.value("qd", DEFAULT_QD)?;
        if !(1..=MAX_QD).contains(&qd) {
            return Err(spec.invalid(format!("qd={qd} is out of range: use 1..={MAX_QD}")));
        }
        Ok(Options {
            qd,
            direct: spec.flag("direct"),
            fixed: spec.flag("fixed"),
            sqpoll: spec.flag("sqpoll"),
        })
    }
}

impl Uring {
    /// Builds it from `uring[:qd=N,direct,fixed,sqpoll]`: checks that io_uring works here (and
    /// O_DIRECT in `dir` with `direct`), sets up a ring for `qd` appends and `qd` pre-faulted
    /// buffers of `max_append_bytes` (plus two blocks with `direct`), registered with `fixed`.
    ///
    /// Returns [`EngineError::Unsupported`] when io_uring is disabled (sysctl
    /// `kernel.io_uring_disabled`, seccomp), when the kernel refuses SQPOLL or buffer
    /// registration, or when `dir` does not support O_DIRECT.
    pub fn new(
        spec: &EngineSpec,
        dir: &Path,
        max_append_bytes: usize,
    ) -> Result<Self, EngineError> {
        let Options {
            qd,
            direct,
            fixed,
            sqpoll,
        } = Options::from_spec(spec)?;
        let slots_bytes = qd as u64 * max_append_bytes as u64;
        if slots_bytes > MAX_SLOT_BYTES {
            return Err(spec.invalid(format!(
                "qd={qd} with {max_append_bytes}-byte batches needs {} MiB of buffers (limit {} MiB): lower qd or --batch-size",
                slots_bytes >> 20,
                MAX_SLOT_BYTES >> 20
            )));
        }
        let engine = spec.to_string();
        let gate = sys::IoUringGate::check(&engine)?;
        let align = if direct {
            Some(direct::probe(&engine, dir)?)
        } else {
            None
        };

        let mut builder = IoUring::builder();
        if sqpoll {
            builder.setup_sqpoll(SQPOLL_IDLE_MS);
        }
        // Two SQEs per append (write + linked fsync); the CQ is twice the SQ by default.
        let ring = builder
            .build(2 * qd)
            .map_err(|e| gate.setup_failed(&e, sqpoll))?;

        let (block, buf_align) = match align {
            Some(a) => (a.block_bytes, a.buffer_bytes()),
            None => (1, sys::page_size()),
        };
        let extra = if direct { 2 * block } else { 0 };
        let slot_len = (max_append_bytes.max(1) + extra).div_ceil(block) * block;
        if slot_len > u32::MAX as usize / 2 {
            return Err(spec.invalid(format!(
                "appends of {max_append_bytes} bytes are too large for io_uring (max 2 GiB)"
            )));
        }
        let mut slots = Vec::with_capacity(qd as usize);
        for _ in 0..qd {
            let mut buf = AlignedBuf::new(slot_len, buf_align);
            sys::prefault(buf.as_mut_slice());
            slots.push(Slot {
                buf,
                busy: false,
                token: 0,
                off: 0,
                len: 0,
                done: 0,
                sync: None,
                device_bytes: 0,
                pending: 0,
                expect_cancel: 0,
                err: None,
            });
        }
        if fixed {
            let iovecs: Vec<libc::iovec> = slots
                .iter_mut()
                .map(|s| libc::iovec {
                    iov_base: s.buf.as_mut_ptr() as *mut libc::c_void,
                    iov_len: s.buf.len(),
                })
                .collect();
            // SAFETY: the buffers live in `slots`, which the engine owns and never resizes in
            // fixed mode; the ring is dropped before them (field order), which unregisters them.
            unsafe { ring.submitter().register_buffers(&iovecs) }.map_err(|e| {
                gate.unsupported(format!(
                    "register_buffers of {qd} x {slot_len} bytes was refused ({e}); raise RLIMIT_MEMLOCK (ulimit -l) \
                     or use fewer/smaller buffers"
                ))
            })?;
        }
        let cq = ring.params().cq_entries() as usize;
        Ok(Uring {
            ring,
            slots,
            free: (0..qd as u16).rev().collect(),
            staged: None,
            in_flight: 0,
            align,
            fixed,
            sqpoll,
            file: None,
            pos: 0,
            tail: vec![0; block],
            tail_len: 0,
            last_slot: None,
            cqes: Vec::with_capacity(cq.max(4 * qd as usize)),
        })
    }

    /// The O_DIRECT alignment in use, with `direct`.
    pub fn alignment(&self) -> Option<Alignment> {
        self.align
    }

    /// The queue depth (buffer slots).
    pub fn queue_depth(&self) -> usize {
        self.slots.len()
    }

    fn path(&self) -> &Path {
        self.file
            .as_ref()
            .map(|f| f.path.as_path())
            .unwrap_or(Path::new(""))
    }

    /// Pushes slot `i`'s remaining write (and its linked fsync) to the submission queue.
    fn push_write(&mut self, i: usize) -> Result<(), EngineError> {
        let Some(open) = &self.file else {
            return Err(not_open("io_uring write"));
        };
        let fd = open.file.as_raw_fd();
        let s = &mut self.slots[i];
        let ptr = s.buf.as_slice()[s.done as usize..].as_ptr();
        let (len, off) = (s.len - s.done, s.off + s.done as u64);
        let write = if self.fixed {
            opcode::WriteFixed::new(types::Fixed(0), ptr, len, i as u16)
                .offset(off)
                .build()
        } else {
            opcode::Write::new(types::Fd(fd), ptr, len)
                .offset(off)
                .build()
        }
        .user_data(user_data(i, false));
        let (entries, n) = match s.sync {
            Some(kind) => {
                let flags = if kind == SyncKind::Fdatasync {
                    types::FsyncFlags::DATASYNC
                } else {
                    types::FsyncFlags::empty()
                };
                let fsync = if self.fixed {
                    opcode::Fsync::new(types::Fixed(0)).flags(flags).build()
                } else {
                    opcode::Fsync::new(types::Fd(fd)).flags(flags).build()
                };
                (
                    [
                        write.flags(squeue::Flags::IO_LINK),
                        fsync.user_data(user_data(i, true)),
                    ],
                    2,
                )
            }
            // The second entry is not pushed.
            None => ([write.clone(), write], 1),
        };
        loop {
            let mut sq = self.ring.submission();
            if sq.capacity() - sq.len() >= n {
                // SAFETY: the entries point into slot i's buffer, which stays allocated and is not
                // handed out, resized or dropped while the slot is busy (until every CQE of this
                // append is reaped; Drop drains first and the ring is dropped before the slots).
                // The fd (or fixed file 0) stays open until the file is closed, after draining.
                unsafe { sq.push_multiple(&entries[..n]) }.map_err(|_| {
                    sys::invalid_use("io_uring push", &open.path, "submission queue full".into())
                })?;
                // Counted only once pushed: a busy slot always has CQEs to come.
                self.slots[i].pending += n as u8;
                return Ok(());
            }
            drop(sq);
            let r = if self.sqpoll {
                self.ring.submitter().squeue_wait()
            } else {
                self.ring.submit()
            };
            if let Err(e) = r {
                if e.raw_os_error() != Some(libc::EINTR) {
                    return Err(EngineError::io("io_uring_enter", &open.path, e, self.pos));
                }
            }
        }
    }

    /// `io_uring_enter`: submits what is queued and waits for `want` CQEs.
    fn enter(&mut self, want: usize) -> Result<(), EngineError> {
        loop {
            match self.ring.submit_and_wait(want) {
                Ok(_) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {
                    if want > 0 {
                        // Interrupted while waiting: the caller re-checks the CQ and waits again.
                        return Ok(());
                    }
                }
                Err(e) => return Err(EngineError::io("io_uring_enter", self.path(), e, self.pos)),
            }
        }
    }

    /// Processes every available CQE; pushes finished appends to `done` and returns how many.
    fn drain(&mut self, done: &mut Vec<Completion>) -> Result<usize, EngineError> {
        let mut cqes = std::mem::take(&mut self.cqes);
        cqes.clear();
        cqes.extend(self.ring.completion().map(|c| (c.user_data(), c.result())));
        let mut finished = 0;
        let mut resubmitted = false;
        let mut first_err: Option<EngineError> = None;
        for &(ud, res) in &cqes {
            let (i, is_sync) = ((ud >> 1) as usize, ud & 1 == 1);
            let Some(s) = self.slots.get_mut(i).filter(|s| s.busy && s.pending > 0) else {
                first_err.get_or_insert_with(|| {
                    sys::invalid_use(
                        "io_uring reap",
                        self.path(),
                        format!("unexpected completion {ud:#x} ({res})"),
                    )
                });
                continue;
            };
            s.pending -= 1;
            let mut resubmit = false;
            if is_sync {
                if res == -libc::ECANCELED && s.expect_cancel > 0 {
                    s.expect_cancel -= 1;
                } else if res < 0 {
                    s.err
                        .get_or_insert(("io_uring fsync", io::Error::from_raw_os_error(-res)));
                }
            } else if res < 0 {
                s.err
                    .get_or_insert(("io_uring write", io::Error::from_raw_os_error(-res)));
            } else if res == 0 {
                s.err
                    .get_or_insert(("io_uring write", io::Error::from(io::ErrorKind::WriteZero)));
            } else if s.err.is_none() {
                s.done += (res as u32).min(s.len - s.done);
                if s.done < s.len {
                    // Short write: the linked fsync (if any) is cancelled; write the rest again.
                    if s.sync.is_some() {
                        s.expect_cancel += 1;
                    }
                    resubmit = true;
                }
            }
            if resubmit {
                match self.push_write(i) {
                    Ok(()) => resubmitted = true,
                    Err(e) => {
                        // The rest was not written: the append fails.
                        self.slots[i].err.get_or_insert((
                            "io_uring write",
                            io::Error::other("short write, and resubmitting the rest failed"),
                        ));
                        first_err.get_or_insert(e);
                    }
                }
            }
            let s = &mut self.slots[i];
            if s.pending == 0 {
                s.busy = false;
                self.free.push(i as u16);
                self.in_flight -= 1;
                match s.err.take() {
                    Some((op, e)) => {
                        let path = self
                            .file
                            .as_ref()
                            .map(|f| f.path.clone())
                            .unwrap_or_default();
                        first_err.get_or_insert(EngineError::io(op, path, e, self.pos));
                    }
                    None => {
                        done.push(Completion {
                            token: s.token,
                            device_bytes: s.device_bytes,
                        });
                        finished += 1;
                    }
                }
            }
        }
        self.cqes = cqes;
        if resubmitted {
            self.enter(0)?;
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(finished),
        }
    }

    /// Reaps until nothing is in flight, even past a failed append (so no write is left
    /// running against the file), then returns the first error.
    fn drain_all(&mut self, done: &mut Vec<Completion>) -> Result<(), EngineError> {
        let mut first_err = None;
        while self.in_flight > 0 {
            let before = self.in_flight;
            if let Err(e) = self.reap(usize::MAX, done) {
                let stuck = self.in_flight == before;
                first_err.get_or_insert(e);
                if stuck {
                    // The ring itself fails (not an append): waiting again would not progress.
                    break;
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl WriteEngine for Uring {
    fn caps(&self) -> Caps {
        let direct = self.align.is_some();
        Caps {
            queued: true,
            linked_flush: true,
            direct,
            page_cache: !direct,
        }
    }

    fn open(&mut self, target: &FileTarget<'_>) -> Result<(), EngineError> {
        target.refuse_if_open("uring", self.file.as_ref().map(|f| f.path.as_path()))?;
        let direct = self.align.is_some();
        let file = target.create(if direct { libc::O_DIRECT } else { 0 })?;
        if self.fixed {
            self.ring
                .submitter()
                .register_files(&[file.as_raw_fd()])
                .map_err(|e| EngineError::io("io_uring register_files", target.path, e, 0))?;
        }
        self.file = Some(Open {
            file,
            path: target.path.to_path_buf(),
            trim: direct || target.preallocate,
        });
        self.pos = 0;
        self.tail_len = 0;
        self.last_slot = None;
        Ok(())
    }

    fn buffer(&mut self, len: usize) -> Result<Option<&mut [u8]>, EngineError> {
        let i = match self.staged {
            Some((i, _)) => i,
            None => {
                if self.tail_len > 0 && self.last_slot.is_some_and(|s| self.slots[s].busy) {
                    // The tail block is still being written: no racing rewrite of it.
                    return Ok(None);
                }
                let Some(i) = self.free.pop() else {
                    return Ok(None);
                };
                i as usize
            }
        };
        self.staged = Some((i, len));
        let start = self.tail_len;
        let need = match self.align {
            Some(a) => a.round_up(start + len),
            None => len,
        };
        if need > self.slots[i].buf.len() {
            if self.fixed {
                let have = self.slots[i].buf.len();
                return Err(sys::invalid_use(
                    "io_uring buffer",
                    self.path(),
                    format!("an append of {len} bytes needs {need} of a registered buffer of {have}: raise max_append_bytes"),
                ));
            }
            // Only when the runner exceeds the max_append_bytes it promised: not the hot path.
            let (grow, al) = match self.align {
                Some(a) => (need + a.block_bytes, a.buffer_bytes()),
                None => (need, sys::page_size()),
            };
            if grow > u32::MAX as usize / 2 {
                return Err(sys::invalid_use(
                    "io_uring buffer",
                    self.path(),
                    format!("an append of {len} bytes is too large"),
                ));
            }
            let mut buf = AlignedBuf::new(grow, al);
            sys::prefault(buf.as_mut_slice());
            self.slots[i].buf = buf;
        }
        Ok(Some(
            &mut self.slots[i].buf.as_mut_slice()[start..start + len],
        ))
    }

    fn submit(
        &mut self,
        len: usize,
        token: u64,
        linked_sync: Option<SyncKind>,
    ) -> Result<Submitted, EngineError> {
        let Some((i, staged_len)) = self.staged.take() else {
            return Err(sys::invalid_use(
                "io_uring write",
                self.path(),
                "uring: submit without buffer".into(),
            ));
        };
        if self.file.is_none() || len > staged_len {
            self.free.push(i as u16);
            if self.file.is_none() {
                return Err(not_open("io_uring write"));
            }
            return Err(sys::invalid_use(
                "io_uring write",
                self.path(),
                format!("uring: submit of {len} bytes, but the last buffer was {staged_len} bytes"),
            ));
        }
        if len == 0 {
            self.free.push(i as u16);
            return Ok(Submitted::Completed { device_bytes: 0 });
        }
        let (off, wlen) = match self.align {
            Some(a) => {
                let start = self.tail_len;
                let end = start + len;
                let aligned_end = a.round_up(end);
                let new_tail = end % a.block_bytes;
                let buf = self.slots[i].buf.as_mut_slice();
                buf[..start].copy_from_slice(&self.tail[..start]);
                self.tail[..new_tail].copy_from_slice(&buf[end - new_tail..end]);
                buf[end..aligned_end].fill(0);
                let off = self.pos - start as u64;
                self.tail_len = new_tail;
                (off, aligned_end)
            }
            None => (self.pos, len),
        };
        self.pos += len as u64;
        self.last_slot = Some(i);
        let s = &mut self.slots[i];
        s.busy = true;
        s.token = token;
        s.off = off;
        s.len = wlen as u32;
        s.done = 0;
        s.sync = linked_sync.filter(|k| *k != SyncKind::Dsync);
        s.device_bytes = wlen as u64;
        s.pending = 0;
        s.expect_cancel = 0;
        s.err = None;
        self.in_flight += 1;
        if let Err(e) = self.push_write(i) {
            // Nothing was queued for it: release the slot.
            self.slots[i].busy = false;
            self.free.push(i as u16);
            self.in_flight -= 1;
            return Err(e);
        }
        self.enter(0)?;
        Ok(Submitted::Queued)
    }

    fn reap(&mut self, min: usize, done: &mut Vec<Completion>) -> Result<(), EngineError> {
        let mut got = 0;
        loop {
            got += self.drain(done)?;
            if got >= min || self.in_flight == 0 {
                return Ok(());
            }
            self.enter(1)?;
        }
    }

    fn in_flight(&self) -> usize {
        self.in_flight
    }

    fn flush(&mut self, sync: SyncKind, done: &mut Vec<Completion>) -> Result<(), EngineError> {
        self.drain_all(done)?;
        match &self.file {
            Some(f) => sys::sync_file(&f.file, sync, &f.path, self.pos),
            None => Ok(()),
        }
    }

    fn close(&mut self, done: &mut Vec<Completion>) -> Result<(), EngineError> {
        let drained = self.drain_all(done);
        if self.in_flight > 0 {
            // The ring failed: the file and buffers must stay while writes may still run.
            return drained;
        }
        if let Some((i, _)) = self.staged.take() {
            self.free.push(i as u16);
        }
        let mut closed = Ok(());
        if let Some(f) = self.file.take() {
            if self.fixed {
                if let Err(e) = self.ring.submitter().unregister_files() {
                    closed = Err(EngineError::io(
                        "io_uring unregister_files",
                        &f.path,
                        e,
                        self.pos,
                    ));
                }
            }
            if f.trim {
                if let Err(e) = trim(&f.file, self.pos, &f.path) {
                    closed = closed.and(Err(e));
                }
            }
        }
        self.pos = 0;
        self.tail_len = 0;
        self.last_slot = None;
        drained.and(closed)
    }
}

impl Drop for Uring {
    fn drop(&mut self) {
        // Let in-flight writes finish before their buffers and file go away (errors ignored:
        // nobody is left to report them to).
        let _ = self.drain_all(&mut Vec::new());
    }
}
