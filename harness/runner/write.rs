//! The write runner: drives one write engine per partition from each runner thread, owns the
//! clock, the counters and the histograms, and turns one repetition into a [`Repetition`].
//!
//! Clock discipline: in the measured loop the clock is read once per append (the read that
//! ends one batch's latency starts the next batch's), plus once per flush or roll.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use results::hist::{self, Hist};
use results::{LatencySummary, Repetition, ThreadStats};
use workloads::kafka::batch::{batch_len, encode_batch, records_per_batch};
use workloads::kafka::log::{LogConfig, LogFormat, PartitionLog};
use workloads::pacing::{Clock, Pacer};
use workloads::payload::{PayloadPool, DEFAULT_POOL_BYTES};
use workloads::write::{self, Caps, Completion, FileTarget, Submitted, WriteEngine};
use workloads::{EngineError, EngineSpec, FlushPolicy, SyncKind};

use super::timeline::{TimelineRecorder, DEFAULT_INTERVAL_NS};
use super::usage::{CpuSnapshot, StorageIo};

/// A flush slower than this is counted (ZooKeeper's `fsync.warningthresholdms` default).
pub const SLOW_FLUSH_NS: u64 = 1_000_000_000;

/// Everything that defines one write workload.
#[derive(Debug, Clone)]
pub struct WriteConfig {
    /// The engine and its options.
    pub engine: EngineSpec,
    /// Topic name used for partition directories (`<topic>-<partition>`).
    pub topic: String,
    /// Partitions (one log each).
    pub partitions: u32,
    /// Runner threads; partitions are dealt round-robin to them.
    pub threads: u32,
    /// Value bytes per record.
    pub record_size: usize,
    /// Batch size limit, bytes (Kafka producer `batch.size`); in raw format the block size.
    pub batch_size: usize,
    /// Roll a segment at this many bytes.
    pub segment_size: u64,
    /// Bytes between sparse index entries.
    pub index_interval: u64,
    /// Preallocate segments with fallocate.
    pub preallocate: bool,
    /// Retention per partition, bytes.
    pub retention: Option<u64>,
    /// Flush policy.
    pub flush: FlushPolicy,
    /// Sync call.
    pub sync: SyncKind,
    /// Kafka batches or raw blocks.
    pub format: LogFormat,
    /// Bytes to append per repetition (all partitions together).
    pub size: Option<u64>,
    /// Time per repetition.
    pub duration: Option<Duration>,
    /// Open-loop target rate for all partitions together, bytes/s.
    pub rate: Option<f64>,
}

impl WriteConfig {
    /// The exact bytes and records of each append, or a one-line error naming the bad value.
    pub fn shape(&self) -> Result<Shape, String> {
        if self.partitions == 0 {
            return Err("--partitions 0: need at least one partition".into());
        }
        if self.threads == 0 {
            return Err("--threads 0: need at least one thread".into());
        }
        if self.size.is_none() && self.duration.is_none() {
            return Err(
                "neither --size nor --duration given: say how much to write, e.g. --size 1GiB"
                    .into(),
            );
        }
        let shape = match self.format {
            LogFormat::Kafka => {
                let records = records_per_batch(self.batch_size, self.record_size).ok_or_else(|| {
                    format!(
                        "--batch-size {} is smaller than one record of --record-size {} plus framing ({} bytes): raise --batch-size or lower --record-size",
                        self.batch_size,
                        self.record_size,
                        batch_len(1, self.record_size)
                    )
                })?;
                Shape {
                    records_per_batch: records,
                    batch_bytes: batch_len(records, self.record_size),
                }
            }
            LogFormat::Raw => Shape {
                records_per_batch: 1,
                batch_bytes: self.batch_size,
            },
        };
        if (shape.batch_bytes as u64) > self.segment_size {
            return Err(format!(
                "--segment-size {} is smaller than one batch ({} bytes): raise --segment-size or lower --batch-size",
                self.segment_size, shape.batch_bytes
            ));
        }
        if let Some(r) = self.retention {
            if r < self.segment_size {
                return Err(format!(
                    "--retention {r} is smaller than --segment-size {}: retention deletes whole segments; raise it",
                    self.segment_size
                ));
            }
        }
        Ok(shape)
    }

    /// Every option, for the results file.
    pub fn config_map(&self) -> BTreeMap<String, serde_json::Value> {
        use serde_json::json;
        let mut m = BTreeMap::new();
        m.insert("engine".into(), json!(self.engine.to_string()));
        m.insert("topic".into(), json!(self.topic));
        m.insert("partitions".into(), json!(self.partitions));
        m.insert("threads".into(), json!(self.threads));
        m.insert("record_size_bytes".into(), json!(self.record_size));
        m.insert("batch_size_bytes".into(), json!(self.batch_size));
        m.insert("segment_size_bytes".into(), json!(self.segment_size));
        m.insert("index_interval_bytes".into(), json!(self.index_interval));
        m.insert("preallocate".into(), json!(self.preallocate));
        m.insert("retention_bytes".into(), json!(self.retention));
        m.insert("flush".into(), json!(self.flush.to_string()));
        m.insert("sync".into(), json!(self.sync.to_string()));
        m.insert(
            "format".into(),
            json!(if self.format == LogFormat::Raw {
                "raw"
            } else {
                "kafka"
            }),
        );
        m.insert("size_bytes".into(), json!(self.size));
        m.insert(
            "duration_s".into(),
            json!(self.duration.map(|d| d.as_secs_f64())),
        );
        m.insert("rate_bytes_per_s".into(), json!(self.rate));
        m
    }

    fn effective_flush(&self) -> FlushPolicy {
        if self.sync == SyncKind::Dsync {
            FlushPolicy::Never
        } else {
            self.flush
        }
    }
}

/// The size of every append of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Records per batch.
    pub records_per_batch: u32,
    /// Bytes per batch, framing included.
    pub batch_bytes: usize,
}

/// Why a repetition did not produce figures.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The engine cannot run here: report a skip.
    #[error("{0}")]
    Unsupported(String),
    /// An engine or file-system error mid-run.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Limits of one repetition (a warm-up uses its own).
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Stop after this many bytes (all threads).
    pub bytes: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

/// Live counters a progress display may read while a repetition runs.
#[derive(Debug, Default)]
pub struct LiveCounters {
    /// Bytes acknowledged so far (all threads).
    pub bytes: AtomicU64,
}

/// What one repetition measured.
#[derive(Debug, Clone)]
pub struct RepMeasure {
    /// The figures.
    pub repetition: Repetition,
    /// Capabilities of the engine that ran.
    pub caps: Caps,
    /// The partition directories written.
    pub partition_dirs: Vec<PathBuf>,
    /// True when stopped early by the stop flag.
    pub interrupted: bool,
}

struct ThreadResult {
    stats: ThreadStats,
    records: u64,
    batches: u64,
    device_bytes: u64,
    latency: Hist,
    flush: Hist,
    roll: Hist,
    timeline: TimelineRecorder,
    start_ns: u64,
    end_ns: u64,
}

struct Part {
    log: PartitionLog,
    engine: Box<dyn WriteEngine>,
    /// Appends in flight: (token, intended or actual start ns).
    in_flight: VecDeque<(u64, u64)>,
    /// Appends completed but waiting for the next flush: start ns.
    unflushed: Vec<u64>,
    bytes_since_flush: u64,
    last_flush_ns: u64,
}

/// Runs one repetition of `cfg` in `dirs` (created by the caller, empty); partition `p` goes
/// to `dirs[p % dirs.len()]` (several data directories, as on several disks).
pub fn run_repetition(
    cfg: &WriteConfig,
    dirs: &[PathBuf],
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    limit: Limit,
    live: &LiveCounters,
) -> Result<RepMeasure, RunError> {
    let shape = cfg.shape().map_err(RunError::Unsupported)?;
    let threads = cfg.threads.min(cfg.partitions).max(1);
    let log_cfg = LogConfig {
        segment_bytes: cfg.segment_size,
        index_interval_bytes: cfg.index_interval,
        retention_bytes: cfg.retention,
        format: cfg.format,
        ..LogConfig::default()
    };

    // Set up every partition (engines, logs, first segment) before the clock starts.
    let mut per_thread: Vec<Vec<Part>> = (0..threads).map(|_| Vec::new()).collect();
    let mut caps = Caps::default();
    let mut partition_dirs = Vec::new();
    let Some(first_dir) = dirs.first() else {
        return Err(RunError::Unsupported("no data directory".into()));
    };
    for p in 0..cfg.partitions {
        let dir = &dirs[p as usize % dirs.len()];
        let log = PartitionLog::create(dir, &cfg.topic, p, log_cfg.clone())?;
        partition_dirs.push(log.dir().to_path_buf());
        let mut engine = match write::build(&cfg.engine, log.dir(), shape.batch_bytes) {
            Ok(e) => e,
            Err(e) if e.is_unsupported() => return Err(RunError::Unsupported(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        caps = engine.caps();
        engine.open(&FileTarget {
            path: log.active_log_path(),
            capacity_bytes: cfg.segment_size,
            preallocate: cfg.preallocate,
            dsync: cfg.sync == SyncKind::Dsync,
        })?;
        per_thread[(p % threads) as usize].push(Part {
            log,
            engine,
            in_flight: VecDeque::new(),
            unflushed: Vec::new(),
            bytes_since_flush: 0,
            last_flush_ns: 0,
        });
    }

    let barrier = Barrier::new(threads as usize + 1);
    type Outcomes = Vec<Result<ThreadResult, EngineError>>;
    let (cpu0, io0, outcomes): (CpuSnapshot, Option<StorageIo>, Outcomes) =
        std::thread::scope(|s| {
            let mut handles = Vec::new();
            for (t, parts) in per_thread.into_iter().enumerate() {
                let share = parts.len() as u64;
                let budget = limit
                    .bytes
                    .map(|b| (b * share).div_ceil(cfg.partitions as u64));
                let rate = cfg.rate.map(|r| r * share as f64 / cfg.partitions as f64);
                let clock = clock.clone();
                let barrier = &barrier;
                let ctx = ThreadCtx {
                    index: t as u32,
                    cfg,
                    shape,
                    budget,
                    duration: limit.duration,
                    rate,
                    stop,
                    live,
                    caps,
                };
                handles.push(s.spawn(move || {
                    barrier.wait();
                    run_thread(ctx, parts, clock.as_ref())
                }));
            }
            let cpu0 = CpuSnapshot::process();
            let io0 = StorageIo::now();
            barrier.wait();
            let outcomes = handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(EngineError::Corrupt {
                            path: first_dir.clone(),
                            position: 0,
                            reason: "a runner thread panicked".into(),
                        })
                    })
                })
                .collect();
            (cpu0, io0, outcomes)
        });
    let cpu = CpuSnapshot::process().since(&cpu0);
    let io1 = StorageIo::now();

    let mut results = Vec::new();
    for o in outcomes {
        results.push(o?);
    }
    Ok(assemble(
        results,
        cpu,
        io0,
        io1,
        caps,
        partition_dirs,
        stop.load(Ordering::Relaxed),
    ))
}

struct ThreadCtx<'a> {
    index: u32,
    cfg: &'a WriteConfig,
    shape: Shape,
    budget: Option<u64>,
    duration: Option<Duration>,
    rate: Option<f64>,
    stop: &'a AtomicBool,
    live: &'a LiveCounters,
    caps: Caps,
}

struct Acc {
    latency: Hist,
    flush: Hist,
    roll: Hist,
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

fn run_thread(
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
        timeline: TimelineRecorder::new(start_ns, DEFAULT_INTERVAL_NS, expected),
        bytes: 0,
        batches: 0,
        device_bytes: 0,
        batch_bytes: len as u64,
    };
    for p in parts.iter_mut() {
        p.last_flush_ns = start_ns;
    }
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
            part.log.roll()?;
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
                while now < due {
                    let wait = due - now;
                    if wait > 200_000 {
                        std::thread::sleep(Duration::from_nanos(wait - 100_000));
                    } else {
                        std::hint::spin_loop();
                    }
                    now = clock.now_ns();
                    if ctx.stop.load(Ordering::Relaxed) {
                        break;
                    }
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
        ctx.live.bytes.store(acc.bytes, Ordering::Relaxed);
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
    ctx.live.bytes.store(acc.bytes, Ordering::Relaxed);
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
        timeline: acc.timeline,
        start_ns,
        end_ns,
    })
}

fn opt_summary(h: &Hist) -> Option<LatencySummary> {
    (!h.is_empty()).then(|| hist::summarize(h))
}

fn assemble(
    results: Vec<ThreadResult>,
    cpu: CpuSnapshot,
    io0: Option<StorageIo>,
    io1: Option<StorageIo>,
    caps: Caps,
    partition_dirs: Vec<PathBuf>,
    interrupted: bool,
) -> RepMeasure {
    let start = results.iter().map(|r| r.start_ns).min().unwrap_or(0);
    let end = results.iter().map(|r| r.end_ns).max().unwrap_or(start);
    let mut latency = hist::new_hist();
    let mut flush = hist::new_hist();
    let mut roll = hist::new_hist();
    let mut timeline = TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, 0);
    let (mut bytes, mut records, mut batches, mut device) = (0u64, 0u64, 0u64, 0u64);
    let mut threads = Vec::new();
    for r in results {
        // Same bounds on every histogram: add cannot fail.
        let _ = latency.add(&r.latency);
        let _ = flush.add(&r.flush);
        let _ = roll.add(&r.roll);
        // Thread timelines may start a few µs apart; re-base on the earliest start.
        let mut shifted = TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, 0);
        let tl = r.timeline.finish(r.end_ns);
        for (k, b) in tl.bytes.iter().enumerate() {
            shifted.record(r.start_ns + k as u64 * DEFAULT_INTERVAL_NS, *b);
        }
        timeline.merge(&shifted);
        bytes += r.stats.bytes;
        records += r.records;
        batches += r.batches;
        device += r.device_bytes;
        threads.push(r.stats);
    }
    let elapsed_s = (end - start) as f64 / 1e9;
    let mut extra = BTreeMap::new();
    if !flush.is_empty() {
        // ZooKeeper warns when an fsync takes over 1000 ms (fsync.warningthresholdms).
        let slow = flush.count_between(SLOW_FLUSH_NS, hist::HIGHEST_NS);
        extra.insert("flushes_over_1000ms".to_string(), serde_json::json!(slow));
    }
    let per_s = |x: u64| {
        if elapsed_s > 0.0 {
            x as f64 / elapsed_s
        } else {
            0.0
        }
    };
    let cpu_total = cpu.user_s + cpu.sys_s;
    let repetition = Repetition {
        index: 0,
        bytes,
        records,
        batches,
        elapsed_s,
        throughput_bytes_per_s: per_s(bytes),
        records_per_s: per_s(records),
        cpu_user_s: cpu.user_s,
        cpu_sys_s: cpu.sys_s,
        cpu_s_per_gb: (bytes > 0).then(|| cpu_total / (bytes as f64 / 1e9)),
        device_bytes: Some(device),
        storage_io_bytes: match (io0, io1) {
            (Some(a), Some(b)) => Some(b.write_bytes.saturating_sub(a.write_bytes)),
            _ => None,
        },
        latency_ns: hist::summarize(&latency),
        flush_latency_ns: opt_summary(&flush),
        roll_latency_ns: opt_summary(&roll),
        timeline: timeline.finish(end),
        threads,
        context_switches: Some(cpu.context_switches),
        harness_overhead_ratio: None,
        extra,
    };
    RepMeasure {
        repetition,
        caps,
        partition_dirs,
        interrupted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workloads::pacing::SteppingClock;

    fn null_cfg(format: LogFormat) -> WriteConfig {
        WriteConfig {
            engine: "null".parse().unwrap(),
            topic: "t".into(),
            partitions: 1,
            threads: 1,
            record_size: 100,
            batch_size: 4096,
            segment_size: 1 << 30,
            index_interval: 4096,
            preallocate: false,
            retention: None,
            flush: FlushPolicy::Never,
            sync: SyncKind::Fdatasync,
            format,
            size: Some(100 * 4096),
            duration: None,
            rate: None,
        }
    }

    fn run(cfg: &WriteConfig, clock: Arc<dyn Clock>) -> RepMeasure {
        let dir = tempfile::tempdir().unwrap();
        let stop = AtomicBool::new(false);
        let live = LiveCounters::default();
        let limit = Limit {
            bytes: cfg.size,
            duration: cfg.duration,
        };
        run_repetition(cfg, &[dir.path().to_path_buf()], clock, &stop, limit, &live).unwrap()
    }

    #[test]
    fn closed_loop_counts_every_batch_and_times_it_with_one_clock_read() {
        let cfg = null_cfg(LogFormat::Raw);
        let m = run(&cfg, Arc::new(SteppingClock::new(1_000_000, 1_000)));
        let r = &m.repetition;
        assert_eq!(r.batches, 100);
        assert_eq!(r.bytes, 100 * 4096);
        assert_eq!(r.records, 100);
        assert_eq!(r.latency_ns.count, 100);
        // One clock read per append: every batch took exactly one step.
        assert_eq!((r.latency_ns.min, r.latency_ns.max), (1_000, 1_000));
        assert_eq!(r.timeline.bytes.iter().sum::<u64>(), r.bytes);
        // 100 appends of one step each, plus the start and end reads.
        assert!(
            r.elapsed_s > 99e-6 && r.elapsed_s < 103e-6,
            "{}",
            r.elapsed_s
        );
        assert_eq!(
            r.device_bytes,
            Some(0),
            "the null engine writes to no device"
        );
        assert!(r.flush_latency_ns.is_none() && r.roll_latency_ns.is_none());
    }

    #[test]
    fn kafka_format_counts_records_per_batch() {
        let cfg = null_cfg(LogFormat::Kafka);
        let shape = cfg.shape().unwrap();
        assert_eq!(
            shape.records_per_batch,
            records_per_batch(4096, 100).unwrap()
        );
        let m = run(&cfg, Arc::new(SteppingClock::new(0, 500)));
        let r = &m.repetition;
        assert_eq!(r.records, r.batches * shape.records_per_batch as u64);
        assert_eq!(r.bytes, r.batches * shape.batch_bytes as u64);
        assert!(r.bytes >= 100 * 4096 - shape.batch_bytes as u64);
    }

    #[test]
    fn flush_policies_ack_at_the_flush() {
        let mut cfg = null_cfg(LogFormat::Raw);
        cfg.flush = FlushPolicy::Batch;
        let m = run(&cfg, Arc::new(SteppingClock::new(0, 1_000)));
        let r = &m.repetition;
        let f = r.flush_latency_ns.as_ref().expect("flushes measured");
        assert_eq!(f.count, 100);
        // flush: two reads around it (one step); the batch ends at the flush end.
        assert_eq!(f.max, 1_000);
        assert_eq!(r.latency_ns.min, 2_000);

        cfg.flush = FlushPolicy::Bytes(10 * 4096);
        let m = run(&cfg, Arc::new(SteppingClock::new(0, 1_000)));
        let r = &m.repetition;
        assert_eq!(r.flush_latency_ns.as_ref().unwrap().count, 10);
        assert_eq!(r.latency_ns.count, 100);
        // The first batch of each group waits for the nine after it.
        assert!(r.latency_ns.max >= 10_000, "{}", r.latency_ns.max);
    }

    #[test]
    fn segments_roll_and_rolls_are_timed() {
        let mut cfg = null_cfg(LogFormat::Kafka);
        cfg.segment_size = 16 * 1024;
        let m = run(&cfg, Arc::new(SteppingClock::new(0, 1_000)));
        let roll = m.repetition.roll_latency_ns.as_ref().expect("rolled");
        assert!(roll.count >= 20, "{}", roll.count);
    }

    #[test]
    fn open_loop_latency_runs_from_the_intended_start() {
        let mut cfg = null_cfg(LogFormat::Raw);
        // 4096 bytes every 40 µs.
        cfg.rate = Some(4096.0 / 40e-6);
        let clock = Arc::new(SteppingClock::new(0, 1_000));
        let m = run(&cfg, clock.clone());
        let r = &m.repetition;
        assert_eq!(r.batches, 100);
        // Paced: elapsed close to 100 x 40 µs, latencies small.
        assert!(
            r.elapsed_s > 3.9e-3 && r.elapsed_s < 4.2e-3,
            "{}",
            r.elapsed_s
        );
        assert!(r.latency_ns.max <= 3_000, "{}", r.latency_ns.max);
    }

    #[test]
    fn a_stall_is_charged_to_every_batch_it_delayed() {
        /// Stalls 1 ms once, at its 50th read.
        struct Stall {
            inner: SteppingClock,
            reads: AtomicU64,
        }
        impl Clock for Stall {
            fn now_ns(&self) -> u64 {
                if self.reads.fetch_add(1, Ordering::SeqCst) == 50 {
                    self.inner.advance(1_000_000);
                }
                self.inner.now_ns()
            }
        }
        let mut cfg = null_cfg(LogFormat::Raw);
        cfg.rate = Some(4096.0 / 40e-6);
        let clock = Arc::new(Stall {
            inner: SteppingClock::new(0, 1_000),
            reads: AtomicU64::new(0),
        });
        let r = run(&cfg, clock).repetition;
        // 1 ms / 40 µs = 25 batches were due during the stall: each is charged its wait.
        let h = hist::decode(&r.latency_ns.hdr).unwrap();
        let delayed = h
            .iter_recorded()
            .filter(|v| v.value_iterated_to() > 100_000)
            .map(|v| v.count_at_value())
            .sum::<u64>();
        assert!(
            (20..=27).contains(&delayed),
            "{delayed} batches charged with the stall"
        );
        assert!(r.latency_ns.max >= 950_000, "{}", r.latency_ns.max);
    }

    #[test]
    fn stop_flag_ends_a_duration_run() {
        let mut cfg = null_cfg(LogFormat::Raw);
        cfg.size = None;
        cfg.duration = Some(Duration::from_secs(3600));
        let dir = tempfile::tempdir().unwrap();
        let stop = AtomicBool::new(true);
        let live = LiveCounters::default();
        let limit = Limit {
            bytes: None,
            duration: cfg.duration,
        };
        let dirs = [dir.path().to_path_buf()];
        let m = run_repetition(
            &cfg,
            &dirs,
            Arc::new(workloads::pacing::MonotonicClock::new()),
            &stop,
            limit,
            &live,
        )
        .unwrap();
        assert!(m.interrupted);
        assert_eq!(m.repetition.batches, 0);
    }

    #[test]
    fn bad_shapes_are_refused_with_the_value() {
        let mut cfg = null_cfg(LogFormat::Kafka);
        cfg.batch_size = 50;
        assert!(cfg.shape().unwrap_err().contains("--batch-size 50"));
        let mut cfg = null_cfg(LogFormat::Kafka);
        cfg.segment_size = 1000;
        assert!(cfg.shape().unwrap_err().contains("--segment-size 1000"));
        let mut cfg = null_cfg(LogFormat::Kafka);
        cfg.retention = Some(10);
        assert!(cfg.shape().unwrap_err().contains("--retention"));
    }
}

#[cfg(test)]
mod kernel_feature_tests {
    use super::*;
    use crate::datadir::DataDir;
    use crate::runner::progress::Progress;
    use crate::runner::{run_writes, RunOptions};
    use results::Status;

    /// io_uring refused by seccomp (as in many containers): the uring engine is a reported
    /// skip with the reason, the buffered engine beside it still runs.
    #[test]
    fn io_uring_refused_by_seccomp_is_a_skip_and_others_still_run() {
        let t = tempfile::tempdir().unwrap();
        let outcome = std::thread::spawn(move || {
            if let Err(e) = workloads::sys::deny_io_uring_in_this_thread() {
                return Err(format!("SKIP: cannot install a seccomp filter here: {e}"));
            }
            let read_uring = workloads::read::build(&"uring".parse().unwrap());
            assert!(
                matches!(&read_uring, Err(e) if e.is_unsupported()),
                "read uring under seccomp: {:?}",
                read_uring.err()
            );
            assert!(workloads::read::build(&"sendfile".parse().unwrap()).is_ok());
            let data = [DataDir::acquire(Some(&t.path().join("d")), "t", false).unwrap()];
            let mk = |e: &str| WriteConfig {
                engine: e.parse().unwrap(),
                topic: "t".into(),
                partitions: 1,
                threads: 1,
                record_size: 100,
                batch_size: 4096,
                segment_size: 1 << 20,
                index_interval: 4096,
                preallocate: false,
                retention: None,
                flush: FlushPolicy::Never,
                sync: SyncKind::Fdatasync,
                format: LogFormat::Kafka,
                size: Some(256 * 1024),
                duration: None,
                rate: None,
            };
            let cfgs = [
                mk("buffered"),
                mk("uring:qd=4"),
                mk("uring:qd=4,direct,fixed"),
            ];
            let opts = RunOptions {
                repeat: 1,
                warmup: Duration::ZERO,
                keep: false,
                verify: true,
            };
            let stop = AtomicBool::new(false);
            let clock: Arc<dyn Clock> = Arc::new(workloads::pacing::MonotonicClock::new());
            Ok(run_writes(
                &cfgs,
                &opts,
                &data,
                clock,
                &stop,
                &Progress::silent(),
            ))
        })
        .join()
        .unwrap();
        let outcome = match outcome {
            Ok(o) => o,
            Err(skip) => {
                eprintln!("{skip}");
                return;
            }
        };
        let w = &outcome.workloads;
        assert_eq!(w[0].status, Status::Completed);
        assert!(w[0].repetitions[0].bytes >= 256 * 1024);
        for u in &w[1..] {
            match &u.status {
                Status::Skipped { reason } => assert!(reason.contains("io_uring"), "{reason}"),
                other => panic!("{} should be skipped, got {other:?}", u.name),
            }
            assert!(u.repetitions.is_empty());
        }
        assert!(
            outcome.check_failures.is_empty(),
            "{:?}",
            outcome.check_failures
        );
    }
}

#[cfg(test)]
mod raw_fill_tests {
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
