//! `uring`: serves a range through io_uring.
//!
//! Options (`uring:qd=4,buf=256KiB` or `uring:splice`):
//! - default mode: the range is cut into chunks of `buf` bytes (default 1 MiB); each chunk is
//!   read (`IORING_OP_READ_FIXED` into a registered buffer, or `IORING_OP_READ` when the kernel
//!   refuses the registration) and then sent (`IORING_OP_SEND`, `MSG_WAITALL`, `MSG_MORE`
//!   on all but the last chunk). Sends go out strictly in order, one at a time.
//! - `qd=N` (1..=64, default 1): buffers, i.e. chunks read ahead while an earlier one is being
//!   sent. With `qd=1` each read is linked to its send (`IOSQE_IO_LINK`): one `io_uring_enter`
//!   per chunk.
//! - `splice`: zero-copy through a pipe the engine owns: a linked pair of `IORING_OP_SPLICE`
//!   (file → pipe, pipe → socket) per pipe-full.
//!
//! A short read or splice breaks the link (the kernel cancels the linked send with
//! `-ECANCELED`); the engine then reads or drains the rest. Every wait for completions is
//! bounded by [`WAIT_TIMEOUT_S`] (io_uring does not honour `SO_SNDTIMEO`); on an error or a
//! timeout the engine cancels what is in flight and waits for it before returning, so no
//! buffer is freed while the kernel may still use it.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::path::Path;

use io_uring::{opcode, squeue, types, IoUring};

use super::splice::Pipe;
use super::{short_file, size_option, socket_error, Caps, Extent, ReadEngine};
use crate::sys::{self, AlignedBuf};
use crate::{EngineError, EngineSpec};

/// Default buffer (chunk) size.
pub const DEFAULT_BUF_BYTES: u64 = 1 << 20;
/// Largest queue depth accepted.
pub const MAX_QD: u32 = 64;
/// Longest wait for any completion, seconds: a peer that takes nothing for this long is gone.
pub const WAIT_TIMEOUT_S: u64 = 10;
/// `user_data` of the cancel request.
const CANCEL_UD: u64 = u64::MAX;
/// Longest wait for cancelled requests to complete after an error.
const CANCEL_TIMEOUT_S: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    Reading,
    Ready,
    Sending,
}

/// One buffer and the chunk in it.
#[derive(Debug, Clone, Copy)]
struct Slot {
    state: State,
    /// File offset of the chunk.
    off: u64,
    len: u32,
    read: u32,
    sent: u32,
    /// A send linked to the read is queued.
    linked_send: bool,
    /// More of the range follows this chunk (send with MSG_MORE).
    more: bool,
}

const FREE: Slot = Slot {
    state: State::Free,
    off: 0,
    len: 0,
    read: 0,
    sent: 0,
    linked_send: false,
    more: false,
};

/// The io_uring engine.
pub struct Uring {
    // Declared first so it is dropped first: the ring goes before the buffers it references.
    ring: IoUring,
    bufs: Vec<AlignedBuf>,
    slots: Vec<Slot>,
    registered: bool,
    pipe: Option<Pipe>,
    pipe_want: u64,
    /// The pipe may hold bytes of a failed range: replace it before the next.
    pipe_dirty: bool,
    ext_arg: bool,
    /// Requests submitted whose completion has not been reaped.
    in_flight: usize,
    /// A cancelled request never completed: the kernel may still use the buffers, which are
    /// then leaked instead of freed.
    poisoned: bool,
    cqes: Vec<(u64, i32)>,
}

impl std::fmt::Debug for Uring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uring")
            .field("qd", &self.bufs.len())
            .field("registered", &self.registered)
            .field("splice", &self.pipe.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for Uring {
    fn drop(&mut self) {
        if self.poisoned {
            for b in self.bufs.drain(..) {
                std::mem::forget(b);
            }
        }
    }
}

fn ud(slot: usize, is_send: bool) -> u64 {
    ((slot as u64) << 1) | is_send as u64
}

/// The options of `uring[:qd=N,buf=SIZE,splice]`, checked: what [`Uring::new`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `qd=N`: buffers, i.e. chunks read ahead (1..=[`MAX_QD`], default 1).
    pub qd: u32,
    /// `buf=SIZE`: a buffer (or with `splice` the pipe capacity asked for), bytes (at most
    /// 1 GiB, default [`DEFAULT_BUF_BYTES`]).
    pub buf_bytes: u64,
    /// `splice`: linked `IORING_OP_SPLICE` pairs through a pipe (no `qd` other than 1).
    pub splice: bool,
}

impl Options {
    /// Checks a `uring` spec's option names and values; touches no ring, pipe or memory.
    pub fn from_spec(spec: &EngineSpec) -> Result<Self, EngineError> {
        spec.check_options(&["qd", "buf", "splice"])?;
        let qd: u32 = spec.value("qd", 1)?;
        if !(1..=MAX_QD).contains(&qd) {
            return Err(spec.invalid(format!("qd={qd} is out of range: use 1..={MAX_QD}")));
        }
        let buf_bytes = size_option(spec, "buf", DEFAULT_BUF_BYTES)?;
        if buf_bytes > (1 << 30) {
            return Err(spec.invalid(format!("buf={buf_bytes} is too large (at most 1GiB)")));
        }
        let splice = spec.flag("splice");
        if splice && spec.options.contains_key("qd") && qd != 1 {
            return Err(
                spec.invalid("splice runs one pipe-full at a time: qd does not apply".into())
            );
        }
        Ok(Options {
            qd,
            buf_bytes,
            splice,
        })
    }
}

impl Uring {
    /// Builds it from `uring[:qd=N,buf=SIZE,splice]`: sets up a ring and `qd` pre-faulted
    /// buffers of `buf` bytes, registered when the kernel allows it (or a pipe with `splice`).
    ///
    /// Returns [`EngineError::Unsupported`] when io_uring is disabled here (sysctl
    /// `kernel.io_uring_disabled`, a seccomp filter).
    pub fn new(spec: &EngineSpec) -> Result<Self, EngineError> {
        let Options {
            qd,
            buf_bytes: buf_len,
            splice,
        } = Options::from_spec(spec)?;
        let engine = spec.to_string();
        let gate = sys::IoUringGate::check(&engine)?;
        let entries = (2 * qd + 2).next_power_of_two();
        let ring = IoUring::new(entries).map_err(|e| gate.setup_failed(&e, false))?;
        let ext_arg = ring.params().is_feature_ext_arg();
        let mut me = Uring {
            ring,
            bufs: Vec::new(),
            slots: Vec::new(),
            registered: false,
            pipe: None,
            pipe_want: buf_len,
            pipe_dirty: false,
            ext_arg,
            in_flight: 0,
            poisoned: false,
            cqes: Vec::with_capacity(2 * qd as usize + 2),
        };
        if splice {
            me.pipe = Some(Pipe::new(buf_len, &engine)?);
            return Ok(me);
        }
        for _ in 0..qd {
            let mut b = AlignedBuf::new(buf_len as usize, sys::page_size());
            sys::prefault(b.as_mut_slice());
            me.bufs.push(b);
        }
        me.slots = vec![FREE; qd as usize];
        let iovs: Vec<libc::iovec> = me
            .bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr() as *mut libc::c_void,
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: the buffers live as long as the ring (the ring is dropped first, and a
        // poisoned engine leaks them) and are never moved: AlignedBuf owns a heap allocation.
        me.registered = unsafe { me.ring.submitter().register_buffers(&iovs) }.is_ok();
        Ok(me)
    }

    /// Submits what is queued and waits for `want` completions, at most [`WAIT_TIMEOUT_S`].
    fn wait(&mut self, want: usize) -> io::Result<()> {
        loop {
            let r = if self.ext_arg {
                let ts = types::Timespec::new().sec(WAIT_TIMEOUT_S);
                let args = types::SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(want, &args)
            } else {
                self.ring.submitter().submit_and_wait(want)
            };
            match r {
                Ok(_) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                // No completion for WAIT_TIMEOUT_S: report it as a timed-out connection.
                Err(e) if e.raw_os_error() == Some(libc::ETIME) => {
                    return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves completions into `self.cqes`.
    fn reap(&mut self) {
        self.cqes.clear();
        for c in self.ring.completion() {
            self.cqes.push((c.user_data(), c.result()));
        }
        self.in_flight -= self
            .cqes
            .iter()
            .filter(|c| c.0 != CANCEL_UD)
            .count()
            .min(self.in_flight);
    }

    /// Pushes one SQE.
    ///
    /// # Safety
    /// Every buffer and fd the entry references must stay valid until its completion is reaped.
    unsafe fn push(&mut self, e: &squeue::Entry) -> io::Result<()> {
        // SAFETY: guaranteed by the caller.
        let pushed = unsafe { self.ring.submission().push(e) };
        if pushed.is_err() {
            // The queue holds at most qd reads + one send + one cancel: flush and retry.
            self.ring.submit()?;
            // SAFETY: as above.
            unsafe { self.ring.submission().push(e) }
                .map_err(|_| io::Error::other("io_uring submission queue full"))?;
        }
        self.in_flight += 1;
        Ok(())
    }

    /// After an error: cancels everything in flight and waits for it, so the buffers are free.
    fn abort(&mut self) {
        if self.in_flight == 0 {
            return;
        }
        let cancel = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(CANCEL_UD);
        // SAFETY: a cancel request references no memory.
        let _ = unsafe { self.ring.submission().push(&cancel) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(CANCEL_TIMEOUT_S);
        while self.in_flight > 0 && std::time::Instant::now() < deadline {
            let _ = self.wait(1);
            self.reap();
        }
        if self.in_flight > 0 {
            self.poisoned = true;
        }
    }

    fn read_entry(&mut self, s: usize, file: &File) -> squeue::Entry {
        let slot = self.slots[s];
        let ptr = self.bufs[s].as_mut_ptr().wrapping_add(slot.read as usize);
        let len = slot.len - slot.read;
        let off = slot.off + u64::from(slot.read);
        let fd = types::Fd(file.as_raw_fd());
        let e = if self.registered {
            opcode::ReadFixed::new(fd, ptr, len, s as u16)
                .offset(off)
                .build()
        } else {
            opcode::Read::new(fd, ptr, len).offset(off).build()
        };
        e.user_data(ud(s, false))
    }

    fn send_entry(&mut self, s: usize, sock: BorrowedFd<'_>) -> squeue::Entry {
        let slot = self.slots[s];
        let ptr = self.bufs[s].as_mut_ptr().wrapping_add(slot.sent as usize);
        let mut flags = libc::MSG_NOSIGNAL | libc::MSG_WAITALL;
        if slot.more {
            flags |= libc::MSG_MORE;
        }
        opcode::Send::new(types::Fd(sock.as_raw_fd()), ptr, slot.len - slot.sent)
            .flags(flags)
            .build()
            .user_data(ud(s, true))
    }

    /// Default mode: chunks read into the buffers, then sent in order. `extent` was checked by [`ReadEngine::send`].
    fn buffered(&mut self, extent: &Extent<'_>, sock: BorrowedFd<'_>) -> Result<(), EngineError> {
        let (file, path, offset) = (extent.file, extent.path, extent.offset);
        let end = offset + extent.len;
        let qd = self.bufs.len();
        let chunk = self.bufs[0].len() as u64;
        let nchunks = (end - offset).div_ceil(chunk) as usize;
        self.slots.iter_mut().for_each(|s| *s = FREE);
        let (mut next_assign, mut next_send) = (0usize, 0usize);
        let mut send_in_flight = false;
        let mut pair_outstanding = false;
        let io_err = |op: &'static str, e: io::Error| EngineError::io(op, path, e, 0);
        while next_send < nchunks {
            // Start reads for free buffers, in order.
            while next_assign < nchunks && next_assign < next_send + qd {
                let s = next_assign % qd;
                let off = offset + next_assign as u64 * chunk;
                let len = (end - off).min(chunk) as u32;
                self.slots[s] = Slot {
                    state: State::Reading,
                    off,
                    len,
                    more: off + u64::from(len) < end,
                    ..FREE
                };
                let link = qd == 1 && !send_in_flight && next_assign == next_send;
                let mut read = self.read_entry(s, file);
                if link {
                    read = read.flags(squeue::Flags::IO_LINK);
                }
                // SAFETY: the buffer and the fds outlive the request: this call reaps every
                // completion (or aborts and waits) before it returns.
                if let Err(e) = unsafe { self.push(&read) } {
                    self.abort();
                    return Err(io_err("io_uring read", e));
                }
                if link {
                    let send = self.send_entry(s, sock);
                    // SAFETY: as above.
                    if let Err(e) = unsafe { self.push(&send) } {
                        self.abort();
                        return Err(io_err("io_uring send", e));
                    }
                    self.slots[s].linked_send = true;
                    send_in_flight = true;
                    pair_outstanding = true;
                }
                next_assign += 1;
            }
            // Send the next chunk in order once it is read.
            let s = next_send % qd;
            if !send_in_flight && self.slots[s].state == State::Ready {
                let send = self.send_entry(s, sock);
                // SAFETY: as above.
                if let Err(e) = unsafe { self.push(&send) } {
                    self.abort();
                    return Err(io_err("io_uring send", e));
                }
                self.slots[s].state = State::Sending;
                send_in_flight = true;
            }
            let want = if pair_outstanding { 2 } else { 1 };
            if let Err(e) = self.wait(want) {
                self.abort();
                return Err(socket_error("io_uring wait", path, e));
            }
            pair_outstanding = false;
            self.reap();
            let resubmit = match self.on_completions(path, end, &mut send_in_flight, &mut next_send)
            {
                Ok(r) => r,
                Err(e) => {
                    self.abort();
                    return Err(e);
                }
            };
            for s in resubmit {
                let read = self.read_entry(s, file);
                // SAFETY: as above.
                if let Err(e) = unsafe { self.push(&read) } {
                    self.abort();
                    return Err(io_err("io_uring read", e));
                }
            }
        }
        Ok(())
    }

    /// Buffered mode's reaped completions applied to the slots: a read that completed makes its
    /// slot ready (or sending, when its send was linked), a short read is read again (returned,
    /// to resubmit), a send that completed frees its slot and moves `next_send` on;
    /// `send_in_flight` is cleared by any send's completion. The first error wins.
    fn on_completions(
        &mut self,
        path: &Path,
        end: u64,
        send_in_flight: &mut bool,
        next_send: &mut usize,
    ) -> Result<Vec<usize>, EngineError> {
        let io_err = |op: &'static str, e: io::Error| EngineError::io(op, path, e, 0);
        let mut err: Option<EngineError> = None;
        let mut resubmit: Vec<usize> = Vec::new();
        for k in 0..self.cqes.len() {
            let (u, res) = self.cqes[k];
            if u == CANCEL_UD {
                continue;
            }
            let s = (u >> 1) as usize;
            let slot = &mut self.slots[s];
            if u & 1 == 0 {
                if res < 0 {
                    err.get_or_insert_with(|| {
                        io_err("io_uring read", io::Error::from_raw_os_error(-res))
                    });
                } else if res == 0 {
                    err.get_or_insert_with(|| {
                        short_file("io_uring read", path, slot.off + u64::from(slot.read), end)
                    });
                } else {
                    slot.read += res as u32;
                    if slot.read < slot.len {
                        slot.state = State::Reading;
                        resubmit.push(s);
                    } else {
                        slot.state = if slot.linked_send {
                            State::Sending
                        } else {
                            State::Ready
                        };
                    }
                }
            } else {
                *send_in_flight = false;
                let linked = std::mem::replace(&mut slot.linked_send, false);
                if res == -libc::ECANCELED && linked {
                    // The linked read was short: the rest is being read; send afterwards.
                    if slot.state == State::Sending {
                        slot.state = State::Ready;
                    }
                } else if res < 0 {
                    err.get_or_insert_with(|| {
                        socket_error("io_uring send", path, io::Error::from_raw_os_error(-res))
                    });
                } else {
                    slot.sent += res as u32;
                    if slot.sent < slot.len {
                        slot.state = State::Ready;
                    } else {
                        slot.state = State::Free;
                        *next_send += 1;
                    }
                }
            }
        }
        match err {
            Some(e) => Err(e),
            None => Ok(resubmit),
        }
    }

    /// `splice` mode: linked file → pipe → socket splices, a pipe-full at a time. `extent` was checked by [`ReadEngine::send`].
    fn spliced(&mut self, extent: &Extent<'_>, sock: BorrowedFd<'_>) -> Result<(), EngineError> {
        let (file, path, offset) = (extent.file, extent.path, extent.offset);
        let end = offset + extent.len;
        if self.pipe_dirty {
            self.pipe = Some(Pipe::new(self.pipe_want, "uring:splice")?);
            self.pipe_dirty = false;
        }
        let Some(pipe) = self.pipe.as_ref() else {
            return Err(sys::invalid_use(
                "io_uring splice",
                path,
                "uring: no pipe".into(),
            ));
        };
        let (pr, pw, cap) = (
            pipe.read.as_raw_fd(),
            pipe.write.as_raw_fd(),
            pipe.capacity as u64,
        );
        let sock = sock.as_raw_fd();
        let mut off = offset;
        while off < end {
            let want = (end - off).min(cap) as u32;
            let more_after = off + u64::from(want) < end;
            let fill = opcode::Splice::new(
                types::Fd(file.as_raw_fd()),
                off as i64,
                types::Fd(pw),
                -1,
                want,
            )
            .flags(libc::SPLICE_F_MOVE | libc::SPLICE_F_MORE)
            .build()
            .flags(squeue::Flags::IO_LINK)
            .user_data(0);
            let drain = drain_sqe(pr, sock, want, more_after);
            // SAFETY: splices reference only fds, which stay open until both complete: this
            // call reaps them (or aborts and waits) before it returns.
            let pushed = unsafe { self.push(&fill).and_then(|_| self.push(&drain)) };
            if let Err(e) = pushed {
                self.abort();
                self.pipe_dirty = true;
                return Err(EngineError::io("io_uring splice", path, e, 0));
            }
            let (mut filled, mut drained): (Option<i32>, Option<i32>) = (None, None);
            while filled.is_none() || drained.is_none() {
                if let Err(e) = self.wait(1) {
                    self.abort();
                    self.pipe_dirty = true;
                    return Err(socket_error("io_uring wait", path, e));
                }
                self.reap();
                for &(u, res) in &self.cqes {
                    match u {
                        0 => filled = Some(res),
                        1 => drained = Some(res),
                        _ => {}
                    }
                }
            }
            let (filled, drained) = (filled.unwrap_or(0), drained.unwrap_or(0));
            if filled < 0 {
                self.pipe_dirty = true;
                return Err(EngineError::io(
                    "io_uring splice from file",
                    path,
                    io::Error::from_raw_os_error(-filled),
                    0,
                ));
            }
            if filled == 0 {
                return Err(short_file("io_uring splice from file", path, off, end));
            }
            if drained < 0 && drained != -libc::ECANCELED {
                self.pipe_dirty = true;
                return Err(socket_error(
                    "io_uring splice to socket",
                    path,
                    io::Error::from_raw_os_error(-drained),
                ));
            }
            let mut in_pipe = filled as u32 - drained.max(0) as u32;
            off += filled as u64;
            while in_pipe > 0 {
                let d = drain_sqe(pr, sock, in_pipe, off < end);
                // SAFETY: as above.
                if let Err(e) = unsafe { self.push(&d) } {
                    self.pipe_dirty = true;
                    return Err(EngineError::io("io_uring splice", path, e, 0));
                }
                if let Err(e) = self.wait(1) {
                    self.abort();
                    self.pipe_dirty = true;
                    return Err(socket_error("io_uring wait", path, e));
                }
                self.reap();
                let res = self
                    .cqes
                    .iter()
                    .find(|c| c.0 == 1)
                    .map(|c| c.1)
                    .unwrap_or(0);
                if res <= 0 {
                    self.pipe_dirty = true;
                    let e = if res == 0 {
                        io::ErrorKind::WriteZero.into()
                    } else {
                        io::Error::from_raw_os_error(-res)
                    };
                    return Err(socket_error("io_uring splice to socket", path, e));
                }
                in_pipe -= res as u32;
            }
        }
        Ok(())
    }
}

/// The SQE (`user_data` 1) that splices `len` bytes from the pipe's read end `pipe_read` to
/// `sock`, with `SPLICE_F_MORE` when `more` of the range follows.
fn drain_sqe(pipe_read: RawFd, sock: RawFd, len: u32, more: bool) -> squeue::Entry {
    let flags = if more {
        libc::SPLICE_F_MOVE | libc::SPLICE_F_MORE
    } else {
        libc::SPLICE_F_MOVE
    };
    opcode::Splice::new(types::Fd(pipe_read), -1, types::Fd(sock), -1, len)
        .flags(flags)
        .build()
        .user_data(1)
}

impl ReadEngine for Uring {
    fn caps(&self) -> Caps {
        Caps {
            zero_copy: self.pipe.is_some(),
            uses_pipe: self.pipe.is_some(),
            queued: true,
            registered_buffers: self.registered,
            ..Caps::default()
        }
    }

    fn send(&mut self, extent: &Extent<'_>, sock: BorrowedFd<'_>) -> Result<u64, EngineError> {
        extent.checked_end("io_uring")?;
        if extent.len == 0 {
            return Ok(0);
        }
        if self.poisoned {
            return Err(sys::invalid_use(
                "io_uring",
                extent.path,
                "uring: an earlier request could not be cancelled; the engine is unusable".into(),
            ));
        }
        if self.pipe.is_some() || self.pipe_dirty {
            self.spliced(extent, sock)?;
        } else {
            self.buffered(extent, sock)?;
        }
        Ok(extent.len)
    }
}
