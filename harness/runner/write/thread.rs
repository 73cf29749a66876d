//! The measured loop of one runner thread: appends to its partitions through their engines,
//! paced or as fast as possible, reaps completions, flushes by the flush policy and rolls
//! segments, recording each batch's latency with one clock read per append.

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
    #[inline]
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

pub(super) fn run_thread(
    ctx: ThreadCtx<'_>,
    mut parts: Vec<Part>,
    clock: &dyn Clock,
) -> Result<ThreadResult, EngineError> {
    let cfg = ctx.cfg;
    let flush = cfg.effective_flush();
    let linked = flush == FlushPolicy::Batch && ctx.caps.linked_flush;
    let defer = matches!(flush, FlushPolicy::Bytes(_) | FlushPolicy::Millis(_));
    let len = ctx.shape.batch_bytes;
    let dsync = cfg.sync == SyncKind::Dsync;
    let cpu0 = CpuSnapshot::thread();
    let mut payload = PayloadPool::new(DEFAULT_POOL_BYTES, 0x5eb0_0000 + ctx.index as u64);
    let mut done: Vec<Completion> = Vec::with_capacity(4096);
    let mut filled: Vec<(usize, usize)> = Vec::with_capacity(RAW_REUSE_SLOTS);
    let wall0_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);

    let start_ns = clock.now_ns();
    let mono0 = start_ns;
    let deadline = ctx.duration.map(|d| start_ns + d.as_nanos() as u64);
    let expected = ctx
        .duration
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(10_000_000_000);
    let mut acc = Acc {
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
    let mut published = 0u64;
    let mut pacer = ctx.rate.map(|r| Pacer::new(start_ns, r));
    let mut submitted: u64 = 0;
    let mut token: u64 = 0;
    let mut now = start_ns;
    let mut i = 0usize;
    let nparts = parts.len();

    loop {
        if ctx.stop.load(Ordering::Relaxed)
            || deadline.is_some_and(|d| now >= d)
            || ctx.budget.is_some_and(|b| submitted >= b)
        {
            break;
        }
        let part = &mut parts[i];
        i += 1;
        if i == nparts {
            i = 0;
        }

        if part.log.needs_roll(len as u64) {
            let t0 = clock.now_ns();
            if defer {
                flush_part(part, cfg.sync, clock, &mut acc, &mut done)?;
            }
            part.engine.close(&mut done)?;
            let t_closed = clock.now_ns();
            take_completions(part, &mut done, &mut acc, t_closed, defer);
            acc.deleted_segments += part.log.roll()?.deleted_segments as u64;
            part.engine.open(&FileTarget {
                path: part.log.active_log_path(),
                capacity_bytes: cfg.segment_size,
                preallocate: cfg.preallocate,
                dsync,
            })?;
            now = clock.now_ns();
            hist::record(&mut acc.roll, now - t0);
        }

        let start = match pacer.as_mut() {
            Some(p) => {
                let due = p.next_due(len as u64);
                // Never wait past the run's end: at a low rate the next batch may be due hours
                // later. A stop request ends the wait within one sleep slice.
                let until = deadline.map_or(due, |d| d.min(due));
                now = wait_until(clock, until, ctx.stop);
                if now < due {
                    break;
                }
                due
            }
            None => now,
        };

        // Get a region, reaping when every slot is in flight; encode straight into it.
        let ts_ms = wall0_ms + ((now - mono0) / 1_000_000) as i64;
        loop {
            match part.engine.buffer(len)? {
                Some(buf) => {
                    match cfg.format {
                        LogFormat::Kafka => {
                            encode_batch(
                                buf,
                                part.log.next_offset(),
                                ts_ms,
                                ctx.shape.records_per_batch,
                                cfg.record_size,
                                &mut payload,
                            );
                        }
                        LogFormat::Raw => raw_fill(buf, token, &mut filled, &mut payload),
                    }
                    break;
                }
                None => {
                    part.engine.reap(1, &mut done)?;
                    let t = clock.now_ns();
                    take_completions(part, &mut done, &mut acc, t, defer);
                }
            }
        }

        let sync_link = if linked { Some(cfg.sync) } else { None };
        let outcome = part.engine.submit(len, token, sync_link)?;
        part.log
            .record_append(len as u64, ctx.shape.records_per_batch, ts_ms)?;
        submitted += len as u64;
        part.bytes_since_flush += len as u64;
        match outcome {
            Submitted::Completed { device_bytes } => {
                acc.device_bytes += device_bytes;
                match flush {
                    FlushPolicy::Batch if !linked => {
                        now = flush_part(part, cfg.sync, clock, &mut acc, &mut done)?;
                        // flush_part acked nothing for this batch (it was not in flight): ack it now.
                        acc.ack(start, now);
                    }
                    FlushPolicy::Bytes(_) | FlushPolicy::Millis(_) => {
                        part.unflushed.push(start);
                        now = clock.now_ns();
                    }
                    _ => {
                        now = clock.now_ns();
                        acc.ack(start, now);
                    }
                }
            }
            Submitted::Queued => {
                part.in_flight.push_back((token, start));
                part.engine.reap(0, &mut done)?;
                now = clock.now_ns();
                take_completions(part, &mut done, &mut acc, now, defer);
            }
        }
        token += 1;

        let due_flush = match flush {
            FlushPolicy::Bytes(n) => part.bytes_since_flush >= n,
            FlushPolicy::Millis(ms) => now.saturating_sub(part.last_flush_ns) >= ms * 1_000_000,
            _ => false,
        };
        if due_flush {
            now = flush_part(part, cfg.sync, clock, &mut acc, &mut done)?;
        }
        if acc.bytes - published >= LIVE_PUBLISH_BYTES {
            ctx.live
                .bytes
                .fetch_add(acc.bytes - published, Ordering::Relaxed);
            published = acc.bytes;
        }
    }

    // Drain: complete queued appends, flush what the policy still owes.
    for part in parts.iter_mut() {
        while part.engine.in_flight() > 0 {
            part.engine.reap(1, &mut done)?;
            let t = clock.now_ns();
            take_completions(part, &mut done, &mut acc, t, defer);
        }
        if defer && (!part.unflushed.is_empty() || part.bytes_since_flush > 0) {
            flush_part(part, cfg.sync, clock, &mut acc, &mut done)?;
        }
    }
    let end_ns = clock.now_ns();
    ctx.live
        .bytes
        .fetch_add(acc.bytes - published, Ordering::Relaxed);
    for part in parts.iter_mut() {
        part.engine.close(&mut done)?;
        take_completions(part, &mut done, &mut acc, end_ns, false);
        part.log.close()?;
    }
    let cpu = CpuSnapshot::thread().since(&cpu0);
    Ok(ThreadResult {
        stats: ThreadStats {
            index: ctx.index,
            bytes: acc.bytes,
            cpu_user_s: cpu.user_s,
            cpu_sys_s: cpu.sys_s,
        },
        records: acc.batches * ctx.shape.records_per_batch as u64,
        batches: acc.batches,
        device_bytes: acc.device_bytes,
        latency: acc.latency,
        flush: acc.flush,
        roll: acc.roll,
        deleted_segments: acc.deleted_segments,
        timeline: acc.timeline,
        start_ns,
        end_ns,
    })
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
