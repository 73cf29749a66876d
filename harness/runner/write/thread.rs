//! The measured loop of one runner thread: appends to its partitions through their engines,
//! paced or as fast as possible, reaps completions, flushes by the flush policy and rolls
//! segments, recording each batch's latency with one clock read per append. `run_thread`
//! in steps: the thread set up, its measured loop (a roll, the pacer, a region filled, the
//! submit and its acknowledgement, a flush, each a step of its own), the drain, the figures.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use results::hist::{self, Hist};
use results::ThreadStats;
use workloads::kafka::batch::encode_batch;
use workloads::kafka::log::{LogFormat, PartitionLog};
use workloads::pacing::{wait_until, Clock, Pacer};
use workloads::payload::{PayloadPool, DEFAULT_POOL_BYTES};
use workloads::write::{Caps, Completion, FileTarget, Submitted, WriteEngine};
use workloads::{EngineError, FlushPolicy, SyncKind};

use crate::runner::timeline::{TimelineRecorder, DEFAULT_INTERVAL_NS};
use crate::runner::LiveCounters;
use crate::usage::CpuSnapshot;

use super::{Shape, WriteConfig};

/// What one runner thread measured.
pub(super) struct ThreadResult {
    pub(super) stats: ThreadStats,
    pub(super) records: u64,
    pub(super) batches: u64,
    pub(super) device_bytes: u64,
    pub(super) latency: Hist,
    pub(super) flush: Hist,
    pub(super) roll: Hist,
    /// Old segments retention deleted at the rolls (their time is in `roll`).
    pub(super) deleted_segments: u64,
    pub(super) timeline: TimelineRecorder,
    pub(super) start_ns: u64,
    pub(super) end_ns: u64,
}

/// One partition as a runner thread writes it: its log, its engine, and the appends in flight
/// or waiting for a flush.
pub(super) struct Part {
    pub(super) log: PartitionLog,
    pub(super) engine: Box<dyn WriteEngine>,
    /// Appends in flight: (token, intended or actual start ns).
    pub(super) in_flight: VecDeque<(u64, u64)>,
    /// Appends completed but waiting for the next flush: start ns.
    pub(super) unflushed: Vec<u64>,
    pub(super) bytes_since_flush: u64,
    pub(super) last_flush_ns: u64,
}

pub(super) struct ThreadCtx<'a> {
    pub(super) index: u32,
    pub(super) cfg: &'a WriteConfig,
    pub(super) shape: Shape,
    pub(super) budget: Option<u64>,
    pub(super) duration: Option<Duration>,
    pub(super) rate: Option<f64>,
    pub(super) stop: &'a AtomicBool,
    pub(super) live: &'a LiveCounters,
    pub(super) caps: Caps,
}

struct Acc {
    latency: Hist,
    flush: Hist,
    roll: Hist,
    deleted_segments: u64,
    timeline: TimelineRecorder,
    bytes: u64,
    batches: u64,
    device_bytes: u64,
    batch_bytes: u64,
}

impl Acc {
    #[inline(always)]
    fn ack(&mut self, start_ns: u64, end_ns: u64) {
        hist::record(&mut self.latency, end_ns.saturating_sub(start_ns));
        self.timeline.record(end_ns, self.batch_bytes);
        self.bytes += self.batch_bytes;
        self.batches += 1;
    }
}

fn take_completions(
    part: &mut Part,
    done: &mut Vec<Completion>,
    acc: &mut Acc,
    now: u64,
    defer: bool,
) {
    for c in done.drain(..) {
        acc.device_bytes += c.device_bytes;
        let pos = if part.in_flight.front().map(|f| f.0) == Some(c.token) {
            Some(0)
        } else {
            part.in_flight.iter().position(|f| f.0 == c.token)
        };
        if let Some(i) = pos {
            if let Some((_, start)) = part.in_flight.remove(i) {
                if defer {
                    part.unflushed.push(start);
                } else {
                    acc.ack(start, now);
                }
            }
        }
    }
}

/// A runner thread adds its acknowledged bytes to the shared live counter in steps of at least
/// this much (all threads add to one counter; a step per append would cost an atomic add each).
const LIVE_PUBLISH_BYTES: u64 = 64 * 1024;

/// Engine buffers remembered as already holding raw payload (an io_uring queue's slots).
const RAW_REUSE_SLOTS: usize = 64;
/// Raw blocks get a sequence number stamped every this many bytes.
const RAW_STAMP_BYTES: usize = 4096;

/// Fills a raw block. A region the engine handed out before (its own reusable buffer) still
/// holds payload: like fio's default `scramble_buffers`, only a sequence number is stamped into
/// every 4 KiB, so blocks stay unique without copying the whole block again per write. A new
/// region (a fresh mapping, a first use) is filled from the payload pool.
#[inline]
fn raw_fill(buf: &mut [u8], seq: u64, filled: &mut Vec<(usize, usize)>, payload: &mut PayloadPool) {
    let key = (buf.as_ptr() as usize, buf.len());
    if filled.contains(&key) {
        let stamp = seq.to_le_bytes();
        for block in buf.chunks_mut(RAW_STAMP_BYTES) {
            let n = block.len().min(stamp.len());
            block[..n].copy_from_slice(&stamp[..n]);
        }
    } else {
        payload.fill(buf);
        if filled.len() < RAW_REUSE_SLOTS {
            filled.push(key);
        }
    }
}

fn flush_part(
    part: &mut Part,
    sync: SyncKind,
    clock: &dyn Clock,
    acc: &mut Acc,
    done: &mut Vec<Completion>,
) -> Result<u64, EngineError> {
    let t0 = clock.now_ns();
    part.engine.flush(sync, done)?;
    let t1 = clock.now_ns();
    take_completions(part, done, acc, t1, true);
    hist::record(&mut acc.flush, t1 - t0);
    for start in part.unflushed.drain(..) {
        acc.ack(start, t1);
    }
    part.bytes_since_flush = 0;
    part.last_flush_ns = t1;
    Ok(t1)
}

/// One runner thread over its measured loop: what it writes with, its clock, its place in
/// the run, and what it has measured so far.
struct Writer<'a> {
    ctx: ThreadCtx<'a>,
    clock: &'a dyn Clock,
    /// The flush policy in effect.
    flush: FlushPolicy,
    /// A flush per batch linked to each append (the engine can).
    linked: bool,
    /// Acknowledgements wait for a flush every N bytes or N ms.
    defer: bool,
    /// Bytes per batch.
    len: usize,
    cpu0: CpuSnapshot,
    payload: PayloadPool,
    done: Vec<Completion>,
    /// Engine regions already holding raw payload (see [`raw_fill`]).
    filled: Vec<(usize, usize)>,
    /// The wall clock at the start, ms: a batch's timestamp is this plus the time since.
    wall0_ms: i64,
    /// The thread's first clock read.
    start_ns: u64,
    /// When the run ends (with a duration).
    deadline: Option<u64>,
    /// Acknowledged bytes already added to the live counter.
    published: u64,
    acc: Acc,
}

/// Runs one thread's share of a repetition over `parts`: set up, the measured loop, the
/// drain of what is queued or owed a flush, the figures.
pub(super) fn run_thread(
    ctx: ThreadCtx<'_>,
    mut parts: Vec<Part>,
    clock: &dyn Clock,
) -> Result<ThreadResult, EngineError> {
    let mut w = Writer::new(ctx, clock, &mut parts);
    w.measured_loop(&mut parts)?;
    w.drain(&mut parts)?;
    let end_ns = clock.now_ns();
    w.publish_all();
    w.close(&mut parts, end_ns)?;
    Ok(w.finish(end_ns))
}

impl<'a> Writer<'a> {
    /// Sets the thread up before its first append and marks the repetition's start.
    fn new(ctx: ThreadCtx<'a>, clock: &'a dyn Clock, parts: &mut [Part]) -> Self {
        let cfg = ctx.cfg;
        let flush = cfg.effective_flush();
        let linked = flush == FlushPolicy::Batch && ctx.caps.linked_flush;
        let defer = matches!(flush, FlushPolicy::Bytes(_) | FlushPolicy::Millis(_));
        let len = ctx.shape.batch_bytes;
        let cpu0 = CpuSnapshot::thread();
        let payload = PayloadPool::new(DEFAULT_POOL_BYTES, 0x5eb0_0000 + ctx.index as u64);
        let done: Vec<Completion> = Vec::with_capacity(4096);
        let filled: Vec<(usize, usize)> = Vec::with_capacity(RAW_REUSE_SLOTS);
        let wall0_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);

        let start_ns = clock.now_ns();
        let deadline = ctx.duration.map(|d| start_ns + d.as_nanos() as u64);
        let expected = ctx
            .duration
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(10_000_000_000);
        let acc = Acc {
            latency: hist::new_hist(),
            flush: hist::new_hist(),
            roll: hist::new_hist(),
            deleted_segments: 0,
            timeline: TimelineRecorder::new(start_ns, DEFAULT_INTERVAL_NS, expected),
            bytes: 0,
            batches: 0,
            device_bytes: 0,
            batch_bytes: len as u64,
        };
        for p in parts.iter_mut() {
            p.last_flush_ns = start_ns;
        }
        // The first thread to start marks the repetition's start for the round watcher.
        let _ = ctx.live.start_ns.compare_exchange(
            0,
            start_ns.max(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        Writer {
            ctx,
            clock,
            flush,
            linked,
            defer,
            len,
            cpu0,
            payload,
            done,
            filled,
            wall0_ms,
            start_ns,
            deadline,
            published: 0,
            acc,
        }
    }

    /// Appends round-robin over `parts` until the stop flag, the deadline or the byte budget:
    /// per append a roll when due, the pacer's wait, a region filled, the submit and its
    /// acknowledgement, a flush when due.
    fn measured_loop(&mut self, parts: &mut [Part]) -> Result<(), EngineError> {
        let len = self.len;
        let mut pacer = self.ctx.rate.map(|r| Pacer::new(self.start_ns, r));
        let mut submitted: u64 = 0;
        let mut token: u64 = 0;
        let mut now = self.start_ns;
        let mut i = 0usize;
        let nparts = parts.len();
        loop {
            if self.ctx.stop.load(Ordering::Relaxed)
                || self.deadline.is_some_and(|d| now >= d)
                || self.ctx.budget.is_some_and(|b| submitted >= b)
            {
                return Ok(());
            }
            let part = &mut parts[i];
            i += 1;
            if i == nparts {
                i = 0;
            }

            if part.log.needs_roll(len as u64) {
                now = self.roll(part)?;
            }

            let start = match pacer.as_mut() {
                Some(p) => {
                    let due = p.next_due(len as u64);
                    // Never wait past the run's end: at a low rate the next batch may be due hours
                    // later. A stop request ends the wait within one sleep slice.
                    let until = self.deadline.map_or(due, |d| d.min(due));
                    now = wait_until(self.clock, until, self.ctx.stop);
                    if now < due {
                        return Ok(());
                    }
                    due
                }
                None => now,
            };

            let ts_ms = self.wall0_ms + ((now - self.start_ns) / 1_000_000) as i64;
            self.fill(part, ts_ms, token)?;
            now = self.submit(part, start, token, ts_ms)?;
            submitted += len as u64;
            token += 1;

            let due_flush = match self.flush {
                FlushPolicy::Bytes(n) => part.bytes_since_flush >= n,
                FlushPolicy::Millis(ms) => now.saturating_sub(part.last_flush_ns) >= ms * 1_000_000,
                _ => false,
            };
            if due_flush {
                now = flush_part(
                    part,
                    self.ctx.cfg.sync,
                    self.clock,
                    &mut self.acc,
                    &mut self.done,
                )?;
            }
            if self.acc.bytes - self.published >= LIVE_PUBLISH_BYTES {
                self.publish_all();
            }
        }
    }

    /// Rolls `part`'s segment (flushing first what a deferred policy owes), timing it;
    /// returns the clock after.
    fn roll(&mut self, part: &mut Part) -> Result<u64, EngineError> {
        let cfg = self.ctx.cfg;
        let (clock, defer) = (self.clock, self.defer);
        let t0 = clock.now_ns();
        if defer {
            flush_part(part, cfg.sync, clock, &mut self.acc, &mut self.done)?;
        }
        part.engine.close(&mut self.done)?;
        let t_closed = clock.now_ns();
        take_completions(part, &mut self.done, &mut self.acc, t_closed, defer);
        self.acc.deleted_segments += part.log.roll()?.deleted_segments as u64;
        part.engine.open(&FileTarget {
            path: part.log.active_log_path(),
            capacity_bytes: cfg.segment_size,
            preallocate: cfg.preallocate,
            dsync: cfg.sync == SyncKind::Dsync,
        })?;
        let now = clock.now_ns();
        hist::record(&mut self.acc.roll, now - t0);
        Ok(now)
    }

    /// Gets a region of `part`'s engine, reaping while every slot is in flight, and encodes
    /// the next batch (timestamp `ts_ms`) straight into it.
    #[inline]
    fn fill(&mut self, part: &mut Part, ts_ms: i64, token: u64) -> Result<(), EngineError> {
        let cfg = self.ctx.cfg;
        loop {
            match part.engine.buffer(self.len)? {
                Some(buf) => {
                    match cfg.format {
                        LogFormat::Kafka => {
                            encode_batch(
                                buf,
                                part.log.next_offset(),
                                ts_ms,
                                self.ctx.shape.records_per_batch,
                                cfg.record_size,
                                &mut self.payload,
                            );
                        }
                        LogFormat::Raw => raw_fill(buf, token, &mut self.filled, &mut self.payload),
                    }
                    return Ok(());
                }
                None => {
                    part.engine.reap(1, &mut self.done)?;
                    let t = self.clock.now_ns();
                    take_completions(part, &mut self.done, &mut self.acc, t, self.defer);
                }
            }
        }
    }

    /// Submits the filled region as the append that started at `start`, books it in the
    /// log, and acknowledges it as the flush policy says (now, after a flush, at a later
    /// flush, or when the queued append completes); returns the clock after.
    #[inline]
    fn submit(
        &mut self,
        part: &mut Part,
        start: u64,
        token: u64,
        ts_ms: i64,
    ) -> Result<u64, EngineError> {
        let (len, clock, sync) = (self.len, self.clock, self.ctx.cfg.sync);
        let sync_link = if self.linked { Some(sync) } else { None };
        let outcome = part.engine.submit(len, token, sync_link)?;
        part.log
            .record_append(len as u64, self.ctx.shape.records_per_batch, ts_ms)?;
        part.bytes_since_flush += len as u64;
        let now = match outcome {
            Submitted::Completed { device_bytes } => {
                self.acc.device_bytes += device_bytes;
                match self.flush {
                    FlushPolicy::Batch if !self.linked => {
                        let now = flush_part(part, sync, clock, &mut self.acc, &mut self.done)?;
                        // flush_part acked nothing for this batch (it was not in flight): ack it now.
                        self.acc.ack(start, now);
                        now
                    }
                    FlushPolicy::Bytes(_) | FlushPolicy::Millis(_) => {
                        part.unflushed.push(start);
                        clock.now_ns()
                    }
                    _ => {
                        let now = clock.now_ns();
                        self.acc.ack(start, now);
                        now
                    }
                }
            }
            Submitted::Queued => {
                part.in_flight.push_back((token, start));
                part.engine.reap(0, &mut self.done)?;
                let now = clock.now_ns();
                take_completions(part, &mut self.done, &mut self.acc, now, self.defer);
                now
            }
        };
        Ok(now)
    }

    /// Adds the acknowledged bytes not yet published to the live counter.
    #[inline]
    fn publish_all(&mut self) {
        self.ctx
            .live
            .bytes
            .fetch_add(self.acc.bytes - self.published, Ordering::Relaxed);
        self.published = self.acc.bytes;
    }

    /// After the loop: completes the queued appends and flushes what the policy still owes.
    fn drain(&mut self, parts: &mut [Part]) -> Result<(), EngineError> {
        let (clock, defer) = (self.clock, self.defer);
        for part in parts.iter_mut() {
            while part.engine.in_flight() > 0 {
                part.engine.reap(1, &mut self.done)?;
                let t = clock.now_ns();
                take_completions(part, &mut self.done, &mut self.acc, t, defer);
            }
            if defer && (!part.unflushed.is_empty() || part.bytes_since_flush > 0) {
                flush_part(
                    part,
                    self.ctx.cfg.sync,
                    clock,
                    &mut self.acc,
                    &mut self.done,
                )?;
            }
        }
        Ok(())
    }

    /// Closes every partition's engine and log (after the clock stopped at `end_ns`).
    fn close(&mut self, parts: &mut [Part], end_ns: u64) -> Result<(), EngineError> {
        for part in parts.iter_mut() {
            part.engine.close(&mut self.done)?;
            take_completions(part, &mut self.done, &mut self.acc, end_ns, false);
            part.log.close()?;
        }
        Ok(())
    }

    /// The thread's figures, its clock stopped at `end_ns`.
    fn finish(self, end_ns: u64) -> ThreadResult {
        let cpu = CpuSnapshot::thread().since(&self.cpu0);
        let acc = self.acc;
        ThreadResult {
            stats: ThreadStats {
                index: self.ctx.index,
                bytes: acc.bytes,
                cpu_user_s: cpu.user_s,
                cpu_sys_s: cpu.sys_s,
            },
            records: acc.batches * self.ctx.shape.records_per_batch as u64,
            batches: acc.batches,
            device_bytes: acc.device_bytes,
            latency: acc.latency,
            flush: acc.flush,
            roll: acc.roll,
            deleted_segments: acc.deleted_segments,
            timeline: acc.timeline,
            start_ns: self.start_ns,
            end_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_buffer_is_stamped_not_refilled_and_blocks_stay_unique() {
        let mut pool = PayloadPool::new(1 << 16, 3);
        let mut filled = Vec::new();
        let mut buf = vec![0u8; 16384];
        raw_fill(&mut buf, 0, &mut filled, &mut pool);
        let first = buf.clone();
        assert!(
            first.iter().filter(|b| **b == 0).count() < 200,
            "filled with payload"
        );
        raw_fill(&mut buf, 7, &mut filled, &mut pool);
        // Only the 8-byte stamps changed, one per 4 KiB block.
        let changed: Vec<usize> = (0..buf.len()).filter(|&i| buf[i] != first[i]).collect();
        assert!(changed.iter().all(|i| i % 4096 < 8), "{changed:?}");
        assert_eq!(&buf[4096..4104], &7u64.to_le_bytes());
        // A region never seen before is filled from the pool.
        let mut other = vec![0u8; 16384];
        raw_fill(&mut other, 8, &mut filled, &mut pool);
        assert!(other.iter().filter(|b| **b == 0).count() < 200);
    }
}
