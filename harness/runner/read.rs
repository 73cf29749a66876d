//! The read runner: serves a segment log to consumers through one read engine per consumer
//! thread, owns the clock, the counters and the histograms, and turns one repetition into a
//! [`Repetition`].
//!
//! - **Data**: a [`LogSet`] is every partition of a log directory (segbench's or a real
//!   broker's), opened read-only and scanned once, before any clock starts, for the batch
//!   boundaries of every segment, so the measured loop does no I/O beyond the engine's.
//! - **Consumers**: `consumers` per group in `groups` independent groups (fan-out); each
//!   group's partitions are dealt by Kafka's range assignor ([`range_assign`]): per topic,
//!   partitions and consumers sorted, each consumer gets `P / C`, the first `P mod C` one more,
//!   the rest nothing (idle, reported with the skew). One thread and one TCP connection per
//!   active consumer.
//! - **Fetches**: round-robin over a consumer's partitions; each fetch is the largest run of
//!   whole batches of at most `fetch_size` bytes from the partition's position (at least one
//!   batch, as a broker's `minOneMessage`), within one segment; at a segment's end the next
//!   fetch starts at the next segment, as in Kafka. A truncated last batch (a live broker's)
//!   is never fetched.
//! - **Clock**: a fetch's latency runs from the runner's decision to fetch (the previous
//!   fetch's end) to the engine returning, frame header included: one clock read per fetch.
//!   A repetition runs from the moment every consumer is connected and released to the last
//!   consumer's session summary arriving from the sink (so the bytes were received, not only
//!   queued in socket buffers).
//! - **CPU**: the repetition's `cpu_*_s` are the sending side's: the process's CPU over the
//!   repetition (`RUSAGE_SELF`, so io_uring's kernel workers count) minus what the in-process
//!   sink's threads report for their sessions (`RUSAGE_THREAD`); with a remote sink, the
//!   process's CPU. The sink's CPU is in `extra` (`sink_cpu_*`), with the consumer threads'
//!   own (`consumer_threads_cpu_s`). On loopback the kernel's receive processing partly runs
//!   in the sender's context and is charged to it.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use results::hist::{self, Hist};
use results::{Kind, Medium, Repetition, Status, ThreadStats, WorkloadResult};
use serde_json::json;
use workloads::kafka::reader::{
    list_partitions, list_segments, BatchMap, BatchScanner, StopReason,
};
use workloads::pacing::Clock;
use workloads::read::{self, Caps, ReadEngine};
use workloads::{EngineError, EngineSpec};

use super::progress::Progress;
use super::timeline::{TimelineRecorder, DEFAULT_INTERVAL_NS};
use super::usage::{CpuSnapshot, StorageIo};
use super::write::LiveCounters;
use crate::sink::{self, ClientError, FrameHeader, Hello, PartitionName, SessionSummary};

/// How long connecting to the sink may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest stall of any send to the sink (`SO_SNDTIMEO`, `TCP_USER_TIMEOUT`): a sink that
/// takes nothing for this long is gone.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Default fetch size (Kafka's `max.partition.fetch.bytes`).
pub const DEFAULT_FETCH_BYTES: u64 = 1 << 20;
/// Largest fetch size (a frame's payload length is 32 bits; Kafka's batches are below 2 GiB).
pub const MAX_FETCH_BYTES: u64 = 1 << 31;
/// Read size when warming the cache.
const WARM_CHUNK: usize = 1 << 20;

/// Page-cache state at the start of each repetition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    /// Every page of the log read first (tail readers).
    Hot,
    /// Flushed and evicted (`POSIX_FADV_DONTNEED`) first: reads come from the device
    /// (catch-up readers).
    Cold,
}

impl FromStr for CacheMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "hot" => Ok(CacheMode::Hot),
            "cold" => Ok(CacheMode::Cold),
            other => Err(format!("'{other}': use hot or cold")),
        }
    }
}

impl fmt::Display for CacheMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CacheMode::Hot => "hot",
            CacheMode::Cold => "cold",
        })
    }
}

/// Everything that defines one read workload.
#[derive(Debug, Clone)]
pub struct ReadConfig {
    /// The engine and its options.
    pub engine: EngineSpec,
    /// Page-cache state before each repetition.
    pub cache: CacheMode,
    /// Consumers per group.
    pub consumers: u32,
    /// Independent consumer groups, each reading everything.
    pub groups: u32,
    /// Largest fetch, bytes.
    pub fetch_size: u64,
    /// Read for this long, starting over at the beginning of the log; `None`: every group
    /// reads the whole log once.
    pub duration: Option<Duration>,
    /// Ask the sink to verify every batch.
    pub verify: bool,
}

impl ReadConfig {
    /// A one-line error naming the bad value, or `Ok`.
    pub fn check(&self) -> Result<(), String> {
        if self.consumers == 0 {
            return Err("--consumers 0: need at least one consumer".into());
        }
        if self.groups == 0 || self.groups > u32::from(u16::MAX) {
            return Err(format!("--groups {}: use 1..=65535", self.groups));
        }
        if self.fetch_size == 0 || self.fetch_size > MAX_FETCH_BYTES {
            return Err(format!(
                "--fetch-size {}: use 1 byte to 2GiB",
                self.fetch_size
            ));
        }
        Ok(())
    }

    /// The workload's name in results: `read/<engine>/<cache>`.
    pub fn name(&self) -> String {
        format!("read/{}/{}", self.engine, self.cache)
    }

    /// Every option, for the results file.
    pub fn config_map(
        &self,
        log: &LogSet,
        sink: &SinkTarget,
        caps: Option<&Caps>,
    ) -> BTreeMap<String, serde_json::Value> {
        let mut m = BTreeMap::new();
        m.insert("engine".into(), json!(self.engine.to_string()));
        m.insert("cache".into(), json!(self.cache.to_string()));
        m.insert("consumers".into(), json!(self.consumers));
        m.insert("groups".into(), json!(self.groups));
        m.insert("fetch_size_bytes".into(), json!(self.fetch_size));
        m.insert(
            "duration_s".into(),
            json!(self.duration.map(|d| d.as_secs_f64())),
        );
        m.insert("verify".into(), json!(self.verify));
        m.insert("partitions".into(), json!(log.partitions.len()));
        m.insert("log_bytes".into(), json!(log.bytes));
        m.insert(
            "log_dirs".into(),
            json!(log
                .roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()),
        );
        m.insert("sink".into(), json!(sink.describe()));
        if let Some(c) = caps {
            m.insert("zero_copy".into(), json!(c.zero_copy));
            m.insert("uses_pipe".into(), json!(c.uses_pipe));
            m.insert("mapped".into(), json!(c.mapped));
            m.insert("queued".into(), json!(c.queued));
            m.insert("registered_buffers".into(), json!(c.registered_buffers));
        }
        m
    }
}

/// Where the consumers send.
#[derive(Debug, Clone)]
pub struct SinkTarget {
    /// The sink's address.
    pub addr: SocketAddr,
    /// A `segbench sink` elsewhere (`--sink`), not the in-process one.
    pub remote: bool,
}

impl SinkTarget {
    /// `in-process 127.0.0.1:PORT` or `remote HOST:PORT`.
    pub fn describe(&self) -> String {
        format!(
            "{} {}",
            if self.remote { "remote" } else { "in-process" },
            self.addr
        )
    }
}

/// One segment of a [`LogSet`]: open read-only, with its batch boundaries.
#[derive(Debug)]
pub struct SegmentData {
    /// The `.log` file.
    pub path: PathBuf,
    /// Open read-only (shared by every consumer: engines use positional calls).
    pub file: File,
    /// Base offset (the file name).
    pub base_offset: i64,
    /// Whole batches: start positions and the end of the last.
    pub map: BatchMap,
    /// `records_before[k]` = records in batches `0..k` (one more entry than batches).
    pub records_before: Vec<u64>,
}

/// One partition of a [`LogSet`].
#[derive(Debug)]
pub struct PartitionData {
    /// Index in [`LogSet::partitions`], the id in frames.
    pub id: u32,
    /// Topic.
    pub topic: String,
    /// Kafka partition number.
    pub partition: u32,
    /// The partition directory.
    pub dir: PathBuf,
    /// Segments by base offset.
    pub segments: Vec<SegmentData>,
    /// Offset of the first batch, if any.
    pub first_offset: Option<i64>,
    /// Offset after the last whole batch.
    pub next_offset: Option<i64>,
    /// Bytes of whole batches.
    pub bytes: u64,
    /// Whole batches.
    pub batches: u64,
}

/// Where a consumer is in one partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Segment index.
    pub segment: usize,
    /// Byte position in it (a batch boundary).
    pub position: u64,
}

/// One fetch: whole batches `[start, end)` of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fetch {
    /// Segment index.
    pub segment: usize,
    /// First byte.
    pub start: u64,
    /// End (exclusive).
    pub end: u64,
    /// Batches in it.
    pub batches: u64,
    /// Records in it.
    pub records: u64,
}

impl PartitionData {
    /// The next fetch of up to `fetch_size` bytes from `cur`, advancing it; moves to the next
    /// segment at a segment's end. `None` when the partition is read to its end.
    pub fn next_fetch(&self, cur: &mut Cursor, fetch_size: u64) -> Option<Fetch> {
        while let Some(s) = self.segments.get(cur.segment) {
            if cur.position >= s.map.end {
                cur.segment += 1;
                cur.position = 0;
                continue;
            }
            let end = s.map.fetch_end(cur.position, fetch_size);
            if end <= cur.position {
                cur.segment += 1;
                cur.position = 0;
                continue;
            }
            let a = s.map.starts.partition_point(|&x| x < cur.position);
            let b = s.map.starts.partition_point(|&x| x < end);
            let f = Fetch {
                segment: cur.segment,
                start: cur.position,
                end,
                batches: (b - a) as u64,
                records: s.records_before[b] - s.records_before[a],
            };
            cur.position = end;
            return Some(f);
        }
        None
    }
}

/// Why a log cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Nothing to read there, or it cannot be opened (bad input).
    #[error("{0}")]
    BadInput(String),
    /// A batch header is not a valid batch (a check failure: the log is damaged).
    #[error("{0}")]
    Corrupt(EngineError),
}

/// A log to serve: every partition found, opened read-only and scanned.
#[derive(Debug)]
pub struct LogSet {
    /// The directories given.
    pub roots: Vec<PathBuf>,
    /// Partitions sorted by topic and partition.
    pub partitions: Vec<PartitionData>,
    /// Bytes of whole batches, all partitions.
    pub bytes: u64,
    /// Records in them.
    pub records: u64,
    /// What was skipped while scanning (truncated tails, padding).
    pub notes: Vec<String>,
}

/// Opens a segment read-only, without updating its access time when allowed.
fn open_read_only(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME)
        .open(path)
    {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => File::open(path),
        r => r,
    }
}

impl LogSet {
    /// Finds the partitions under each root: the root itself when it holds segments (a
    /// partition directory), else its `<topic>-<partition>` directories (a broker's
    /// `log.dirs` entry), else those of its subdirectories (a segbench data directory).
    pub fn open(roots: &[PathBuf]) -> Result<LogSet, LoadError> {
        let bad = |m: String| LoadError::BadInput(m);
        let mut found: Vec<(String, u32, PathBuf)> = Vec::new();
        for root in roots {
            if !root.is_dir() {
                return Err(bad(format!("--dir {}: not a directory", root.display())));
            }
            let segs =
                list_segments(root).map_err(|e| bad(format!("--dir {}: {e}", root.display())))?;
            if !segs.is_empty() {
                let name = root
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("log")
                    .to_string();
                let (topic, part) = match name.rsplit_once('-') {
                    Some((t, p)) if !t.is_empty() && p.parse::<u32>().is_ok() => {
                        (t.to_string(), p.parse().unwrap_or(0))
                    }
                    _ => (name, 0),
                };
                found.push((topic, part, root.clone()));
                continue;
            }
            let mut parts =
                list_partitions(root).map_err(|e| bad(format!("--dir {}: {e}", root.display())))?;
            if parts.is_empty() {
                let mut subs: Vec<PathBuf> = std::fs::read_dir(root)
                    .map_err(|e| bad(format!("--dir {}: {e}", root.display())))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_dir())
                    .collect();
                subs.sort();
                for s in subs {
                    parts.extend(
                        list_partitions(&s)
                            .map_err(|e| bad(format!("--dir {}: {e}", s.display())))?,
                    );
                }
            }
            found.extend(parts);
        }
        if found.is_empty() {
            let shown: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
            return Err(bad(format!(
                "--dir {}: no segment files found (expected <topic>-<partition>/<20-digit offset>.log)",
                shown.join(", ")
            )));
        }
        found.sort();
        let mut set = LogSet {
            roots: roots.to_vec(),
            partitions: Vec::new(),
            bytes: 0,
            records: 0,
            notes: Vec::new(),
        };
        for (topic, partition, dir) in found {
            let id = set.partitions.len() as u32;
            let p = load_partition(id, topic, partition, dir, &mut set.notes)?;
            set.bytes += p.bytes;
            set.records += p
                .segments
                .iter()
                .map(|s| s.records_before.last().copied().unwrap_or(0))
                .sum::<u64>();
            set.partitions.push(p);
        }
        if set.bytes == 0 {
            return Err(bad(
                "the log holds no whole record batch: nothing to read".into()
            ));
        }
        Ok(set)
    }

    /// The segment of partition `id` with base offset `base`, for naming it in messages.
    pub fn segment_path(&self, id: u32, base: i64) -> Option<&Path> {
        let p = self.partitions.get(id as usize)?;
        p.segments
            .iter()
            .find(|s| s.base_offset == base)
            .map(|s| s.path.as_path())
    }
}

fn load_partition(
    id: u32,
    topic: String,
    partition: u32,
    dir: PathBuf,
    notes: &mut Vec<String>,
) -> Result<PartitionData, LoadError> {
    let files =
        list_segments(&dir).map_err(|e| LoadError::BadInput(format!("{}: {e}", dir.display())))?;
    let mut p = PartitionData {
        id,
        topic,
        partition,
        dir,
        segments: Vec::new(),
        first_offset: None,
        next_offset: None,
        bytes: 0,
        batches: 0,
    };
    for f in files {
        let file = open_read_only(&f.log_path).map_err(|e| {
            LoadError::BadInput(format!(
                "cannot open {} read-only: {e}",
                f.log_path.display()
            ))
        })?;
        let scan_file = file
            .try_clone()
            .map_err(|e| LoadError::BadInput(format!("{}: {e}", f.log_path.display())))?;
        let mut scanner = BatchScanner::new(scan_file, f.log_path.clone(), 0, f.len);
        let (mut starts, mut records_before, mut end) = (Vec::new(), vec![0u64], 0u64);
        for item in scanner.by_ref() {
            let (pos, h) = item.map_err(LoadError::Corrupt)?;
            starts.push(pos);
            records_before
                .push(records_before.last().copied().unwrap_or(0) + h.records_count.max(0) as u64);
            end = pos + h.total_len() as u64;
            p.first_offset.get_or_insert(h.base_offset);
            p.next_offset = Some(h.next_offset());
        }
        if let Some(stop) = scanner.stopped() {
            if let StopReason::Truncated {
                needed_bytes,
                available_bytes,
            } = stop.reason
            {
                notes.push(format!(
                    "{}: a truncated batch at byte {} ({available_bytes} of {needed_bytes} bytes) is not read",
                    f.log_path.display(),
                    stop.position
                ));
            }
        }
        p.bytes += end;
        p.batches += starts.len() as u64;
        p.segments.push(SegmentData {
            path: f.log_path,
            file,
            base_offset: f.base_offset,
            map: BatchMap { starts, end },
            records_before,
        });
    }
    Ok(p)
}

/// Kafka's range assignor for one topic: `consumers` ranges over `0..partitions` (sorted
/// partitions, sorted consumers): each consumer gets `partitions / consumers`, the first
/// `partitions % consumers` get one more; consumers beyond `partitions` get an empty range.
pub fn range_assign(partitions: usize, consumers: usize) -> Vec<std::ops::Range<usize>> {
    if consumers == 0 {
        return Vec::new();
    }
    let (each, extra) = (partitions / consumers, partitions % consumers);
    (0..consumers)
        .map(|c| {
            let start = c * each + c.min(extra);
            start..start + each + usize::from(c < extra)
        })
        .collect()
}

/// Partition indexes of `log` per consumer of one group: [`range_assign`] per topic.
pub fn assign(log: &LogSet, consumers: u32) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); consumers as usize];
    let mut by_topic: BTreeMap<&str, Vec<(u32, usize)>> = BTreeMap::new();
    for (i, p) in log.partitions.iter().enumerate() {
        by_topic.entry(&p.topic).or_default().push((p.partition, i));
    }
    for parts in by_topic.values_mut() {
        parts.sort();
        for (c, r) in range_assign(parts.len(), consumers as usize)
            .into_iter()
            .enumerate()
        {
            out[c].extend(parts[r].iter().map(|&(_, i)| i));
        }
    }
    out
}

/// Page-cache residency of a log (mincore).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Residency {
    /// Resident bytes.
    pub resident_bytes: u64,
    /// File bytes.
    pub file_bytes: u64,
}

impl Residency {
    /// `resident_bytes / file_bytes` (1 for an empty log).
    pub fn ratio(&self) -> f64 {
        if self.file_bytes == 0 {
            1.0
        } else {
            self.resident_bytes as f64 / self.file_bytes as f64
        }
    }
}

/// Measures the residency of every segment.
pub fn residency(log: &LogSet) -> Result<Residency, EngineError> {
    let mut r = Residency::default();
    for s in log.partitions.iter().flat_map(|p| &p.segments) {
        let (res, len) = workloads::sys::residency(&s.file, &s.path)?;
        r.resident_bytes += res;
        r.file_bytes += len;
    }
    Ok(r)
}

/// Puts the log in `mode` and returns the residency measured afterwards: hot reads every
/// segment through; cold flushes each (`fdatasync`, which changes no data) and evicts it
/// (`POSIX_FADV_DONTNEED`). Nothing is written to the log.
pub fn prepare_cache(log: &LogSet, mode: CacheMode) -> Result<Residency, EngineError> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; WARM_CHUNK];
    for s in log.partitions.iter().flat_map(|p| &p.segments) {
        match mode {
            CacheMode::Hot => {
                let mut pos = 0u64;
                loop {
                    match s.file.read_at(&mut buf, pos) {
                        Ok(0) => break,
                        Ok(n) => pos += n as u64,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(EngineError::io("pread", &s.path, e, 0)),
                    }
                }
            }
            CacheMode::Cold => {
                s.file
                    .sync_data()
                    .map_err(|e| EngineError::io("fdatasync", &s.path, e, 0))?;
                workloads::sys::evict(&s.file, &s.path)?;
            }
        }
    }
    residency(log)
}

/// Why a repetition did not produce figures.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The engine cannot run here: report a skip.
    #[error("{0}")]
    Unsupported(String),
    /// An engine or file error mid-run.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The sink refused, could not be reached, or went away: the run cannot go on.
    #[error("{0}")]
    Sink(String),
    /// Stopped because another consumer failed (never returned by `run_repetition`).
    #[error("stopped after another consumer failed")]
    Aborted,
}

/// What one repetition measured.
#[derive(Debug, Clone)]
pub struct ReadMeasure {
    /// The figures.
    pub repetition: Repetition,
    /// Capabilities of the engine that ran.
    pub caps: Caps,
    /// Verification failures, each naming the segment file and byte position.
    pub check_failures: Vec<String>,
    /// True when stopped early by the stop flag.
    pub interrupted: bool,
}

/// One consumer of one group.
#[derive(Debug, Clone)]
struct Plan {
    group: u16,
    consumer: u32,
    partitions: Vec<usize>,
}

impl Plan {
    fn name(&self) -> String {
        format!("g{}-c{}", self.group, self.consumer)
    }
}

struct ConsumerOut {
    group: u16,
    consumer: u32,
    bytes: u64,
    records: u64,
    fetches: u64,
    batches: u64,
    complete_passes: u32,
    interrupted: bool,
    latency: Hist,
    timeline: TimelineRecorder,
    start_ns: u64,
    end_ns: u64,
    cpu: CpuSnapshot,
    summary: SessionSummary,
}

fn sink_error(sink: &SinkTarget, what: &str, e: impl fmt::Display) -> ReadError {
    ReadError::Sink(format!("the sink at {} {what}: {e}", sink.addr))
}

fn open_session(
    plan: &Plan,
    log: &LogSet,
    sink: &SinkTarget,
    verify: bool,
) -> Result<TcpStream, ReadError> {
    let mut stream = sink::connect(sink.addr, SEND_TIMEOUT)
        .map_err(|e| sink_error(sink, "cannot be reached", e))?;
    let hello = Hello {
        verify,
        consumer: plan.name(),
        partitions: plan
            .partitions
            .iter()
            .map(|&i| {
                let p = &log.partitions[i];
                PartitionName {
                    id: p.id,
                    topic: p.topic.clone(),
                    partition: p.partition,
                }
            })
            .collect(),
    };
    match sink::hello(&mut stream, &hello) {
        Ok(r) if verify && !r.verify => {
            Err(sink_error(sink, "did not agree to verify", "HELLO answer"))
        }
        Ok(_) => Ok(stream),
        Err(ClientError::Refused(why)) => Err(sink_error(sink, "refused the session", why)),
        Err(e) => Err(sink_error(sink, "failed at HELLO", e)),
    }
}

struct Ctx<'a> {
    cfg: &'a ReadConfig,
    log: &'a LogSet,
    sink: &'a SinkTarget,
    clock: &'a dyn Clock,
    barrier: &'a Barrier,
    stop: &'a AtomicBool,
    abort: &'a AtomicBool,
    live: &'a LiveCounters,
}

fn consume(
    ctx: &Ctx<'_>,
    plan: &Plan,
    mut stream: TcpStream,
    mut engine: Box<dyn ReadEngine>,
) -> Result<ConsumerOut, ReadError> {
    ctx.barrier.wait();
    let r = consume_inner(ctx, plan, &mut stream, engine.as_mut());
    if r.is_err() {
        ctx.abort.store(true, Ordering::Relaxed);
    }
    r
}

fn consume_inner(
    ctx: &Ctx<'_>,
    plan: &Plan,
    stream: &mut TcpStream,
    engine: &mut dyn ReadEngine,
) -> Result<ConsumerOut, ReadError> {
    let (cfg, log, clock) = (ctx.cfg, ctx.log, ctx.clock);
    let cpu0 = CpuSnapshot::thread();
    let start = clock.now_ns();
    let deadline = cfg.duration.map(|d| start + d.as_nanos() as u64);
    let expected = cfg
        .duration
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(10_000_000_000);
    let mut latency = hist::new_hist();
    let mut timeline = TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, expected);
    let mut cursors = vec![Cursor::default(); plan.partitions.len()];
    let (mut bytes, mut records, mut fetches, mut batches) = (0u64, 0u64, 0u64, 0u64);
    let (mut pass, mut complete_passes) = (0u32, 0u32);
    let mut interrupted = false;
    let mut now = start;
    let sock = stream.as_fd();
    'run: loop {
        let mut any = false;
        for (k, &pi) in plan.partitions.iter().enumerate() {
            if ctx.abort.load(Ordering::Relaxed) {
                return Err(ReadError::Aborted);
            }
            if ctx.stop.load(Ordering::Relaxed) {
                interrupted = true;
                break 'run;
            }
            if deadline.is_some_and(|d| now >= d) {
                break 'run;
            }
            let part = &log.partitions[pi];
            let Some(f) = part.next_fetch(&mut cursors[k], cfg.fetch_size) else {
                continue;
            };
            any = true;
            let seg = &part.segments[f.segment];
            let len = f.end - f.start;
            let header = FrameHeader::data(
                plan.group,
                part.id,
                pass,
                f.start,
                seg.base_offset,
                len as u32,
            )
            .encode();
            let t0 = now;
            let sent = read::send_all(sock, &header, true, "send frame header", &seg.path)
                .and_then(|_| engine.send(&seg.file, &seg.path, f.start, len, sock));
            if let Err(e) = sent {
                return Err(if read::is_peer_gone(&e) {
                    sink_error(ctx.sink, "went away mid-run", e)
                } else {
                    ReadError::Engine(e)
                });
            }
            now = clock.now_ns();
            hist::record(&mut latency, now - t0);
            timeline.record(now, len);
            bytes += len;
            records += f.records;
            batches += f.batches;
            fetches += 1;
            ctx.live.bytes.fetch_add(len, Ordering::Relaxed);
        }
        if !any {
            complete_passes += 1;
            if deadline.is_none() {
                break;
            }
            pass += 1;
            cursors.iter_mut().for_each(|c| *c = Cursor::default());
        }
    }
    let summary = sink::end(stream)
        .map_err(|e| sink_error(ctx.sink, "did not confirm the end of the session", e))?;
    let end_ns = clock.now_ns();
    Ok(ConsumerOut {
        group: plan.group,
        consumer: plan.consumer,
        bytes,
        records,
        fetches,
        batches,
        complete_passes,
        interrupted,
        latency,
        timeline,
        start_ns: start,
        end_ns,
        cpu: CpuSnapshot::thread().since(&cpu0),
        summary,
    })
}

/// Runs one repetition of `cfg` over `log`, sending to `sink`. The cache state is the
/// caller's business ([`prepare_cache`]).
pub fn run_repetition(
    cfg: &ReadConfig,
    log: &LogSet,
    sink: &SinkTarget,
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    live: &LiveCounters,
) -> Result<ReadMeasure, ReadError> {
    cfg.check().map_err(ReadError::Unsupported)?;
    let assignment = assign(log, cfg.consumers);
    let mut plans = Vec::new();
    for g in 0..cfg.groups {
        for (c, parts) in assignment.iter().enumerate() {
            if !parts.is_empty() {
                plans.push(Plan {
                    group: g as u16,
                    consumer: c as u32,
                    partitions: parts.clone(),
                });
            }
        }
    }
    // Engines and sessions are set up before the clock starts.
    let mut setups = Vec::new();
    let mut caps = Caps::default();
    for plan in &plans {
        let engine = match read::build(&cfg.engine) {
            Ok(e) => e,
            Err(e) if e.is_unsupported() => return Err(ReadError::Unsupported(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        caps = engine.caps();
        let stream = open_session(plan, log, sink, cfg.verify)?;
        setups.push((plan, stream, engine));
    }

    let barrier = Barrier::new(setups.len() + 1);
    let abort = AtomicBool::new(false);
    let ctx = Ctx {
        cfg,
        log,
        sink,
        clock: clock.as_ref(),
        barrier: &barrier,
        stop,
        abort: &abort,
        live,
    };
    let (cpu0, io0, outcomes) = std::thread::scope(|s| {
        let handles: Vec<_> = setups
            .into_iter()
            .map(|(plan, stream, engine)| {
                let ctx = &ctx;
                s.spawn(move || consume(ctx, plan, stream, engine))
            })
            .collect();
        let cpu0 = CpuSnapshot::process();
        let io0 = StorageIo::now();
        barrier.wait();
        let outcomes: Vec<Result<ConsumerOut, ReadError>> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(ReadError::Sink("a consumer thread panicked".into())))
            })
            .collect();
        (cpu0, io0, outcomes)
    });
    let process_cpu = CpuSnapshot::process().since(&cpu0);
    let io1 = StorageIo::now();

    let mut outs = Vec::new();
    let mut first_err = None;
    for o in outcomes {
        match o {
            Ok(c) => outs.push(c),
            Err(ReadError::Aborted) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let storage = match (io0, io1) {
        (Some(a), Some(b)) => Some(b.read_bytes.saturating_sub(a.read_bytes)),
        _ => None,
    };
    let check_failures = check_sessions(cfg, log, &plans, &outs);
    Ok(assemble(
        cfg,
        log,
        sink,
        outs,
        process_cpu,
        storage,
        caps,
        check_failures,
    ))
}

/// Compares what the sink confirmed with what was sent and with the log.
fn check_sessions(
    cfg: &ReadConfig,
    log: &LogSet,
    plans: &[Plan],
    outs: &[ConsumerOut],
) -> Vec<String> {
    let mut failures = Vec::new();
    for o in outs {
        let s = &o.summary;
        let who = format!("g{}-c{}", o.group, o.consumer);
        if s.bytes != o.bytes {
            failures.push(format!(
                "consumer {who}: the sink received {} bytes, the reader sent {}",
                s.bytes, o.bytes
            ));
        }
        if !cfg.verify {
            continue;
        }
        if !s.verified {
            failures.push(format!(
                "consumer {who}: the sink did not verify the session"
            ));
        }
        for e in &s.errors {
            let path = log
                .segment_path(e.partition, e.segment_base)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| e.file.clone());
            failures.push(format!(
                "verification failed: {} in {path} at byte {} (group {}, consumer {who})",
                e.reason, e.position, e.group
            ));
        }
        if s.verify_errors > s.errors.len() as u64 {
            failures.push(format!(
                "consumer {who}: {} more verification errors not listed",
                s.verify_errors - s.errors.len() as u64
            ));
        }
        // Every partition read once, whole: the sink saw exactly the log's offsets.
        if cfg.duration.is_none() && !o.interrupted {
            let Some(plan) = plans
                .iter()
                .find(|p| p.group == o.group && p.consumer == o.consumer)
            else {
                continue;
            };
            for &pi in &plan.partitions {
                let p = &log.partitions[pi];
                let st = s
                    .streams
                    .iter()
                    .find(|st| st.group == o.group && st.partition == p.id);
                let (first, next, batches) = st
                    .map(|st| (st.first_offset, st.next_offset, st.batches))
                    .unwrap_or((None, None, 0));
                if first != p.first_offset || next != p.next_offset || batches != p.batches {
                    failures.push(format!(
                        "verification failed: {}-{} (group {}): the sink received {batches} batches, offsets {first:?}..{next:?}; the log holds {} batches, offsets {:?}..{:?}",
                        p.topic, p.partition, o.group, p.batches, p.first_offset, p.next_offset
                    ));
                }
            }
        }
    }
    failures
}

#[allow(clippy::too_many_arguments)]
fn assemble(
    cfg: &ReadConfig,
    log: &LogSet,
    sink: &SinkTarget,
    outs: Vec<ConsumerOut>,
    process_cpu: CpuSnapshot,
    storage_io_bytes: Option<u64>,
    caps: Caps,
    check_failures: Vec<String>,
) -> ReadMeasure {
    let start = outs.iter().map(|o| o.start_ns).min().unwrap_or(0);
    let end = outs.iter().map(|o| o.end_ns).max().unwrap_or(start);
    let mut latency = hist::new_hist();
    let mut timeline = TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, 0);
    let (mut bytes, mut records, mut fetches, mut batches) = (0u64, 0u64, 0u64, 0u64);
    let (mut user, mut sys, mut cs) = (0.0, 0.0, 0u64);
    let (mut sink_user, mut sink_sys, mut sink_bytes, mut verified, mut verify_errors) =
        (0.0, 0.0, 0u64, 0u64, 0u64);
    let mut consumer_bytes = vec![vec![0u64; cfg.consumers as usize]; cfg.groups as usize];
    let mut threads = Vec::new();
    let mut interrupted = false;
    let mut passes = u32::MAX;
    for (k, o) in outs.into_iter().enumerate() {
        // Same bounds on every histogram: add cannot fail.
        let _ = latency.add(&o.latency);
        let mut shifted = TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, 0);
        let tl = o.timeline.finish(o.end_ns);
        for (i, b) in tl.bytes.iter().enumerate() {
            shifted.record(o.start_ns + i as u64 * DEFAULT_INTERVAL_NS, *b);
        }
        timeline.merge(&shifted);
        bytes += o.bytes;
        records += o.records;
        fetches += o.fetches;
        batches += o.batches;
        user += o.cpu.user_s;
        sys += o.cpu.sys_s;
        cs += o.cpu.context_switches;
        sink_user += o.summary.cpu_user_s;
        sink_sys += o.summary.cpu_sys_s;
        sink_bytes += o.summary.bytes;
        verified += o.summary.batches;
        verify_errors += o.summary.verify_errors;
        consumer_bytes[o.group as usize][o.consumer as usize] = o.bytes;
        interrupted |= o.interrupted;
        passes = passes.min(o.complete_passes);
        threads.push(ThreadStats {
            index: k as u32,
            bytes: o.bytes,
            cpu_user_s: o.cpu.user_s,
            cpu_sys_s: o.cpu.sys_s,
        });
    }
    let elapsed_s = end.saturating_sub(start) as f64 / 1e9;
    let per_s = |x: u64| {
        if elapsed_s > 0.0 {
            x as f64 / elapsed_s
        } else {
            0.0
        }
    };
    let gb = bytes as f64 / 1e9;
    let per_gb = |cpu: f64| if bytes > 0 { Some(cpu / gb) } else { None };
    let all: Vec<u64> = consumer_bytes.iter().flatten().copied().collect();
    let mean = all.iter().sum::<u64>() as f64 / all.len().max(1) as f64;
    let skew = (mean > 0.0).then(|| all.iter().copied().max().unwrap_or(0) as f64 / mean);
    let idle = assign(log, cfg.consumers)
        .iter()
        .filter(|a| a.is_empty())
        .count();

    // The sending side: the whole process, less the in-process sink's threads.
    let (sender_user, sender_sys) = if sink.remote {
        (process_cpu.user_s, process_cpu.sys_s)
    } else {
        (
            (process_cpu.user_s - sink_user).max(0.0),
            (process_cpu.sys_s - sink_sys).max(0.0),
        )
    };
    let mut extra = BTreeMap::new();
    extra.insert("sink_cpu_user_s".into(), json!(sink_user));
    extra.insert("sink_cpu_sys_s".into(), json!(sink_sys));
    extra.insert(
        "sink_cpu_s_per_gb".into(),
        json!(per_gb(sink_user + sink_sys)),
    );
    extra.insert("sink_bytes".into(), json!(sink_bytes));
    extra.insert(
        "process_cpu_s".into(),
        json!(process_cpu.user_s + process_cpu.sys_s),
    );
    extra.insert("consumer_threads_cpu_s".into(), json!(user + sys));
    extra.insert("consumer_bytes".into(), json!(consumer_bytes));
    extra.insert("idle_consumers".into(), json!(idle));
    extra.insert("consumer_skew".into(), json!(skew));
    extra.insert("groups".into(), json!(cfg.groups));
    extra.insert("consumers".into(), json!(cfg.consumers));
    extra.insert("kafka_batches".into(), json!(batches));
    extra.insert(
        "complete_passes".into(),
        json!(if passes == u32::MAX { 0 } else { passes }),
    );
    if cfg.verify {
        extra.insert("verified_batches".into(), json!(verified));
        extra.insert("verify_errors".into(), json!(verify_errors));
    }
    let repetition = Repetition {
        index: 0,
        bytes,
        records,
        batches: fetches,
        elapsed_s,
        throughput_bytes_per_s: per_s(bytes),
        records_per_s: per_s(records),
        cpu_user_s: sender_user,
        cpu_sys_s: sender_sys,
        cpu_s_per_gb: per_gb(sender_user + sender_sys),
        device_bytes: None,
        storage_io_bytes,
        latency_ns: hist::summarize(&latency),
        flush_latency_ns: None,
        roll_latency_ns: None,
        timeline: timeline.finish(end),
        threads,
        context_switches: Some(cs),
        harness_overhead_ratio: None,
        extra,
        nic_traffic: Vec::new(),
    };
    ReadMeasure {
        repetition,
        caps,
        check_failures,
        interrupted,
    }
}

/// Every read workload's results, plus what stopped the run.
#[derive(Debug)]
pub struct ReadOutcome {
    /// Results per configuration, in the order given.
    pub workloads: Vec<WorkloadResult>,
    /// Verification failures (the run worked but a check failed: exit 1).
    pub check_failures: Vec<String>,
    /// True when stopped early (signal, or the sink went away).
    pub interrupted: bool,
    /// The sink failed: the run stopped there, the results are partial.
    pub sink_failure: Option<String>,
}

/// Runs every read workload `repeat` times, interleaved (A B A B …), putting the cache in
/// the workload's state before each repetition. An engine this kernel cannot run is reported
/// as skipped; a sink failure stops the whole run.
pub fn run_reads(
    configs: &[ReadConfig],
    repeat: u32,
    log: &LogSet,
    sink: &SinkTarget,
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    progress: &Progress,
) -> ReadOutcome {
    let n = configs.len();
    let mut reps: Vec<Vec<Repetition>> = vec![Vec::new(); n];
    let mut status = vec![Status::Completed; n];
    let mut caps: Vec<Option<Caps>> = vec![None; n];
    let mut failures = Vec::new();
    let mut failed_checks = vec![0usize; n];
    let mut interrupted = false;
    let mut sink_failure = None;

    'outer: for rep in 0..repeat {
        for (w, cfg) in configs.iter().enumerate() {
            if !matches!(status[w], Status::Completed) {
                continue;
            }
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break 'outer;
            }
            let label = format!(
                "read {} {} rep {}/{}",
                cfg.engine,
                cfg.cache,
                rep + 1,
                repeat
            );
            let before = match prepare_cache(log, cfg.cache) {
                Ok(r) => r,
                Err(e) => {
                    progress.line(&format!("{label}: preparing the cache: {e}"));
                    status[w] = Status::Failed {
                        error: format!("preparing the {} cache: {e}", cfg.cache),
                    };
                    continue;
                }
            };
            let live = LiveCounters::default();
            let expected = cfg
                .duration
                .is_none()
                .then(|| log.bytes * u64::from(cfg.groups));
            let r = progress.track(&label, expected, cfg.duration, &live, || {
                run_repetition(cfg, log, sink, clock.clone(), stop, &live)
            });
            match r {
                Ok(mut m) => {
                    m.repetition.index = rep;
                    m.repetition
                        .extra
                        .insert("residency_before_ratio".into(), json!(before.ratio()));
                    progress.done(&label, &m.repetition);
                    failed_checks[w] += m.check_failures.len();
                    failures.extend(
                        m.check_failures
                            .iter()
                            .map(|f| format!("{}: {f}", cfg.name())),
                    );
                    caps[w] = Some(m.caps);
                    if m.interrupted {
                        interrupted = true;
                        status[w] = Status::Interrupted;
                    }
                    reps[w].push(m.repetition);
                }
                Err(ReadError::Unsupported(reason)) => {
                    progress.line(&format!("{label}: skipped: {reason}"));
                    status[w] = Status::Skipped { reason };
                }
                Err(ReadError::Sink(msg)) => {
                    progress.line(&format!("{label}: {msg}"));
                    status[w] = Status::Failed { error: msg.clone() };
                    sink_failure = Some(msg);
                    interrupted = true;
                    break 'outer;
                }
                Err(e) => {
                    progress.line(&format!("{label}: {e}"));
                    status[w] = Status::Failed {
                        error: e.to_string(),
                    };
                }
            }
        }
    }

    let workloads = configs
        .iter()
        .enumerate()
        .map(|(w, cfg)| {
            let reps = std::mem::take(&mut reps[w]);
            let (medium, mut warnings) = classify(cfg, &reps);
            if let Status::Skipped { reason } = &status[w] {
                warnings.push(format!("skipped: {reason}"));
            }
            if failed_checks[w] > 0 {
                warnings.push(format!(
                    "verification failed ({} problems): the delivered bytes do not match a valid log; see the error message",
                    failed_checks[w]
                ));
            }
            WorkloadResult {
                name: cfg.name(),
                kind: Kind::Read,
                engine: cfg.engine.to_string(),
                config: cfg.config_map(log, sink, caps[w].as_ref()),
                status: status[w].clone(),
                medium,
                summary: results::stats::summarize(&reps),
                repetitions: reps,
                warnings,
            }
        })
        .collect();
    ReadOutcome {
        workloads,
        check_failures: failures,
        interrupted,
        sink_failure,
    }
}

/// What a read result measures, and what may distort it.
fn classify(cfg: &ReadConfig, reps: &[Repetition]) -> (Medium, Vec<String>) {
    let mut warnings = Vec::new();
    let extra_f64 = |r: &Repetition, k: &str| r.extra.get(k).and_then(|v| v.as_f64());
    let residency: Vec<f64> = reps
        .iter()
        .filter_map(|r| extra_f64(r, "residency_before_ratio"))
        .collect();
    if let Some(r) = reps.first() {
        if let Some(idle) = r
            .extra
            .get("idle_consumers")
            .and_then(|v| v.as_u64())
            .filter(|&i| i > 0)
        {
            warnings.push(format!(
                "{idle} of {} consumers in each group were idle: there are fewer partitions than consumers (range assignor)",
                cfg.consumers
            ));
        }
    }
    let medium = match cfg.cache {
        CacheMode::Hot => {
            if let Some(low) = residency
                .iter()
                .copied()
                .reduce(f64::min)
                .filter(|&r| r < 0.9)
            {
                warnings.push(format!(
                    "only {:.0}% of the log was resident before a hot run (memory pressure?): part came from the device",
                    low * 100.0
                ));
            }
            Medium::PageCache
        }
        CacheMode::Cold => {
            let high = residency.iter().copied().reduce(f64::max).unwrap_or(0.0);
            if high > 0.2 {
                warnings.push(format!(
                    "eviction did not take: {:.0}% of the log stayed resident before a cold run (file system without POSIX_FADV_DONTNEED support, or mapped by another process); these are page-cache figures",
                    high * 100.0
                ));
                Medium::PageCache
            } else {
                for r in reps {
                    if let Some(io) = r
                        .storage_io_bytes
                        .filter(|&io| (io as f64) < 0.5 * r.bytes as f64)
                    {
                        warnings.push(format!(
                            "repetition {}: only {:.0} MB of {:.0} MB were read from the device (/proc/self/io)",
                            r.index,
                            io as f64 / 1e6,
                            r.bytes as f64 / 1e6
                        ));
                    }
                }
                Medium::Device
            }
        }
    };
    (medium, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{Sink, SinkConfig};
    use workloads::kafka::batch::{batch_len, encode_batch};
    use workloads::pacing::MonotonicClock;
    use workloads::payload::PayloadPool;

    #[test]
    fn range_assignor_matches_kafka() {
        let r = |p, c| {
            range_assign(p, c)
                .into_iter()
                .map(|r| r.len())
                .collect::<Vec<_>>()
        };
        assert_eq!(r(4, 2), vec![2, 2]); // P = 2C
        assert_eq!(r(3, 3), vec![1, 1, 1]); // P = C
        assert_eq!(r(7, 3), vec![3, 2, 2]); // P mod C = 1: the first takes one more
        assert_eq!(r(8, 3), vec![3, 3, 2]);
        assert_eq!(r(2, 5), vec![1, 1, 0, 0, 0]); // P < C: the last consumers idle
        assert_eq!(range_assign(7, 3), vec![0..3, 3..5, 5..7]);
        assert_eq!(range_assign(2, 5)[1], 1..2);
        // Every partition exactly once, in order.
        for p in 0..20 {
            for c in 1..8 {
                let flat: Vec<usize> = range_assign(p, c).into_iter().flatten().collect();
                assert_eq!(flat, (0..p).collect::<Vec<_>>(), "{p} {c}");
            }
        }
    }

    /// Writes a partition directory `<topic>-<p>` with segments of `batches_per_segment`
    /// batches of `records` records (100-byte values), offsets continuing across segments.
    fn write_partition(root: &Path, topic: &str, p: u32, segments: &[usize], records: u32) {
        let dir = root.join(format!("{topic}-{p}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut pool = PayloadPool::new(1 << 16, 9);
        let mut off = 0i64;
        for &n in segments {
            let base = off;
            let mut bytes = Vec::new();
            for _ in 0..n {
                let mut b = vec![0u8; batch_len(records, 100)];
                encode_batch(&mut b, off, 1_700_000_000_000, records, 100, &mut pool);
                bytes.extend_from_slice(&b);
                off += i64::from(records);
            }
            std::fs::write(dir.join(format!("{base:020}.log")), &bytes).unwrap();
        }
    }

    #[test]
    fn fetches_end_on_batch_edges_and_cross_segments() {
        let t = tempfile::tempdir().unwrap();
        write_partition(t.path(), "t", 0, &[5, 3, 0], 2); // the last one empty, just rolled
        let log = LogSet::open(&[t.path().to_path_buf()]).unwrap();
        let p = &log.partitions[0];
        let one = batch_len(2, 100) as u64;
        assert_eq!(p.segments.len(), 3);
        assert_eq!(
            (p.first_offset, p.next_offset, p.batches),
            (Some(0), Some(16), 8)
        );
        let mut c = Cursor::default();
        let mut got = Vec::new();
        // 2.5 batches per fetch: ends after 2 whole batches.
        while let Some(f) = p.next_fetch(&mut c, one * 5 / 2) {
            assert_eq!(f.end - f.start, f.batches * one);
            got.push((f.segment, f.start / one, f.batches, f.records));
        }
        assert_eq!(
            got,
            vec![
                (0, 0, 2, 4),
                (0, 2, 2, 4),
                (0, 4, 1, 2),
                (1, 0, 2, 4),
                (1, 2, 1, 2)
            ]
        );
        // A fetch smaller than a batch still takes one.
        let mut c = Cursor::default();
        assert_eq!(p.next_fetch(&mut c, 1).map(|f| f.end), Some(one));
    }

    #[test]
    fn a_truncated_last_batch_is_not_read() {
        let t = tempfile::tempdir().unwrap();
        write_partition(t.path(), "t", 0, &[4], 3);
        let path = t.path().join("t-0/00000000000000000000.log");
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 10)
            .unwrap();
        let log = LogSet::open(&[t.path().join("t-0")]).unwrap();
        assert_eq!(log.partitions[0].batches, 3);
        assert_eq!(log.partitions[0].next_offset, Some(9));
        assert_eq!(log.notes.len(), 1, "{:?}", log.notes);
    }

    #[test]
    fn an_empty_directory_is_bad_input() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("t-0")).unwrap();
        match LogSet::open(&[t.path().to_path_buf()]) {
            Err(LoadError::BadInput(m)) => assert!(m.contains("no segment files"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    fn serve(
        log: &LogSet,
        engine: &str,
        consumers: u32,
        groups: u32,
        verify: bool,
    ) -> Result<ReadMeasure, ReadError> {
        let sink = Sink::bind("127.0.0.1:0".parse().unwrap(), SinkConfig::default()).unwrap();
        let target = SinkTarget {
            addr: sink.local_addr(),
            remote: false,
        };
        let cfg = ReadConfig {
            engine: engine.parse().unwrap(),
            cache: CacheMode::Hot,
            consumers,
            groups,
            fetch_size: 64 << 10,
            duration: None,
            verify,
        };
        let stop = AtomicBool::new(false);
        run_repetition(
            &cfg,
            log,
            &target,
            Arc::new(MonotonicClock::new()),
            &stop,
            &LiveCounters::default(),
        )
    }

    fn small_log(t: &Path) -> LogSet {
        for p in 0..3 {
            write_partition(t, "a", p, &[40, 25], 10);
        }
        write_partition(t, "b", 0, &[30], 10);
        LogSet::open(&[t.to_path_buf()]).unwrap()
    }

    #[test]
    fn every_engine_delivers_the_whole_log_verified() {
        let t = tempfile::tempdir().unwrap();
        let log = small_log(t.path());
        assert_eq!(log.partitions.len(), 4);
        for engine in read::ENGINE_NAMES {
            let m = match serve(&log, engine, 2, 2, true) {
                Ok(m) => m,
                Err(ReadError::Unsupported(r)) => {
                    eprintln!("SKIP: {engine}: {r}");
                    continue;
                }
                Err(e) => panic!("{engine}: {e}"),
            };
            assert!(
                m.check_failures.is_empty(),
                "{engine}: {:?}",
                m.check_failures
            );
            let r = &m.repetition;
            assert_eq!(
                r.bytes,
                2 * log.bytes,
                "{engine}: two groups read everything"
            );
            assert_eq!(r.records, 2 * log.records);
            assert_eq!(r.extra["sink_bytes"], json!(2 * log.bytes));
            let batches: u64 = log.partitions.iter().map(|p| p.batches).sum();
            assert_eq!(r.extra["verified_batches"], json!(2 * batches), "{engine}");
            assert_eq!(r.extra["verify_errors"], json!(0));
            assert_eq!(r.latency_ns.count, r.batches);
            assert_eq!(r.timeline.bytes.iter().sum::<u64>(), r.bytes);
            // Topic a: 3 partitions over 2 consumers (2 + 1); topic b: 1 (1 + 0).
            let cb: Vec<Vec<u64>> =
                serde_json::from_value(r.extra["consumer_bytes"].clone()).unwrap();
            let size = |i: usize| log.partitions[i].bytes;
            assert_eq!(cb[0], vec![size(0) + size(1) + size(3), size(2)]);
            assert_eq!(cb[0], cb[1]);
            assert!(r.cpu_user_s + r.cpu_sys_s > 0.0);
        }
    }

    #[test]
    fn idle_consumers_and_skew_are_reported() {
        let t = tempfile::tempdir().unwrap();
        for p in 0..2 {
            write_partition(t.path(), "t", p, &[10], 5);
        }
        let log = LogSet::open(&[t.path().to_path_buf()]).unwrap();
        let m = serve(&log, "sendfile", 5, 1, false).unwrap();
        let r = &m.repetition;
        assert_eq!(r.extra["idle_consumers"], json!(3));
        assert_eq!(r.threads.len(), 2, "one thread per active consumer");
        let skew = r.extra["consumer_skew"].as_f64().unwrap();
        assert!((skew - 2.5).abs() < 1e-9, "max / mean = 1 / (2/5): {skew}");
    }

    #[test]
    fn a_corrupted_copy_is_caught_and_named() {
        let t = tempfile::tempdir().unwrap();
        write_partition(t.path(), "t", 0, &[6, 6], 4);
        let seg = t.path().join("t-0/00000000000000000024.log");
        let mut bytes = std::fs::read(&seg).unwrap();
        let one = batch_len(4, 100);
        let at = 3 * one + 100; // inside the fourth batch's records
        bytes[at] ^= 0x01;
        std::fs::write(&seg, &bytes).unwrap();
        let log = LogSet::open(&[t.path().to_path_buf()]).unwrap();
        let m = serve(&log, "sendfile", 1, 1, true).unwrap();
        assert_eq!(m.check_failures.len(), 1, "{:?}", m.check_failures);
        let f = &m.check_failures[0];
        assert!(f.contains(&seg.display().to_string()), "{f}");
        assert!(f.contains(&format!("at byte {}", 3 * one)), "{f}");
        assert!(f.contains("CRC"), "{f}");
    }

    #[test]
    fn a_sink_that_goes_away_stops_the_reader() {
        let t = tempfile::tempdir().unwrap();
        write_partition(t.path(), "t", 0, &[200], 50);
        let log = LogSet::open(&[t.path().to_path_buf()]).unwrap();
        // A sink that accepts the session and then closes without reading.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let fake = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = l.accept().unwrap();
            let mut hdr = [0u8; sink::HEADER_LEN];
            s.read_exact(&mut hdr).unwrap();
            let h = FrameHeader::decode(&hdr).unwrap();
            let mut p = vec![0u8; h.payload_len as usize];
            s.read_exact(&mut p).unwrap();
            s.write_all(b"{\"ok\":true,\"verify\":false}\n").unwrap();
            let mut some = [0u8; 1000];
            let _ = s.read(&mut some);
            drop(s); // unread data: the reader gets a reset
        });
        let cfg = ReadConfig {
            engine: "sendfile".parse().unwrap(),
            cache: CacheMode::Hot,
            consumers: 1,
            groups: 1,
            fetch_size: 64 << 10,
            duration: Some(Duration::from_secs(30)),
            verify: false,
        };
        let t0 = std::time::Instant::now();
        let stop = AtomicBool::new(false);
        let target = SinkTarget { addr, remote: true };
        let r = run_repetition(
            &cfg,
            &log,
            &target,
            Arc::new(MonotonicClock::new()),
            &stop,
            &LiveCounters::default(),
        );
        fake.join().unwrap();
        match r {
            Err(ReadError::Sink(m)) => assert!(m.contains("went away"), "{m}"),
            other => panic!(
                "expected a sink failure, got {:?}",
                other.map(|m| m.repetition.bytes)
            ),
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    }

    #[test]
    fn cold_mode_evicts_the_log() {
        let t = tempfile::tempdir().unwrap();
        write_partition(t.path(), "t", 0, &[300], 40); // about 1.2 MiB
        let log = LogSet::open(&[t.path().to_path_buf()]).unwrap();
        let hot = prepare_cache(&log, CacheMode::Hot).unwrap();
        assert!(hot.ratio() > 0.99, "{hot:?}");
        let cold = prepare_cache(&log, CacheMode::Cold).unwrap();
        let fs = crate::runner::storage::StorageContext::for_dir(t.path()).fs_type;
        if cold.ratio() > 0.5 {
            eprintln!(
                "SKIP: the file system here ({fs:?}) does not evict with POSIX_FADV_DONTNEED"
            );
            return;
        }
        assert!(cold.ratio() < 0.05, "{cold:?}");
        assert_eq!(cold.file_bytes, hot.file_bytes);
    }
}
