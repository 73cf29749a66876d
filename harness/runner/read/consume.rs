//! One read repetition: a session and an engine per active consumer, set up before the
//! clock starts, then one thread per consumer fetching round-robin over its partitions and
//! sending each fetch, framed, to the sink. Uses the sink's protocol and client only.

use std::fmt;
use std::net::TcpStream;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use results::hist::{self, Hist};
use workloads::pacing::{wait_until, Clock, Pacer};
use workloads::read::{self, Caps, Extent, ReadEngine};
use workloads::EngineError;

use super::assemble::{assemble, check_sessions, AroundRun, ConsumerOut, Plan, ReadMeasure};
use super::config::{CacheMode, ReadConfig, SinkTarget};
use super::logset::{assign, Cursor, LogSet};
use super::SEND_TIMEOUT;
use crate::probe::NicCounters;
use crate::runner::timeline::{TimelineRecorder, DEFAULT_INTERVAL_NS};
use crate::runner::LiveCounters;
use crate::sink::client::{self, ClientError};
use crate::sink::protocol::{FrameHeader, Hello, PartitionName};
use crate::usage::{CpuSnapshot, StorageIo};

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

fn sink_error(sink: &SinkTarget, what: &str, e: impl fmt::Display) -> ReadError {
    ReadError::Sink(format!("the sink at {} {what}: {e}", sink.addr))
}

fn open_session(
    plan: &Plan,
    log: &LogSet,
    sink: &SinkTarget,
    verify: bool,
) -> Result<TcpStream, ReadError> {
    let mut stream = client::connect(sink.addr, SEND_TIMEOUT)
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
    match client::hello(&mut stream, &hello) {
        Ok(r) if verify && !r.verify => {
            Err(sink_error(sink, "did not agree to verify", "HELLO answer"))
        }
        Ok(_) => Ok(stream),
        Err(ClientError::Refused(why)) => Err(sink_error(sink, "refused the session", why)),
        Err(e) => Err(sink_error(sink, "failed at HELLO", e)),
    }
}

/// What every consumer thread of a repetition shares: the workload, the log, the sink, the
/// clock, the start barrier and the flags that stop them.
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

/// One consumer thread: waits at the start barrier, runs, and on failure tells the other
/// consumers to stop.
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

/// One consumer from its release to its session's end: set-up, the measured loop, the drain.
fn consume_inner(
    ctx: &Ctx<'_>,
    plan: &Plan,
    stream: &mut TcpStream,
    engine: &mut dyn ReadEngine,
) -> Result<ConsumerOut, ReadError> {
    let mut consumer = Consumer::start(ctx, plan);
    consumer.measured_loop(stream.as_fd(), engine)?;
    consumer.finish(stream)
}

/// One consumer over its measured loop: what it reads, its clock and pacing, where it is in
/// each of its partitions, and what it has measured so far.
struct Consumer<'a> {
    ctx: &'a Ctx<'a>,
    plan: &'a Plan,
    cpu0: CpuSnapshot,
    start: u64,
    deadline: Option<u64>,
    latency: Hist,
    timeline: TimelineRecorder,
    pacer: Option<Pacer>,
    cursors: Vec<Cursor>,
    bytes: u64,
    records: u64,
    fetches: u64,
    batches: u64,
    pass: u32,
    complete_passes: u32,
    interrupted: bool,
}

impl<'a> Consumer<'a> {
    /// Set-up, once released: reads the clock (the first consumer to start marks the
    /// repetition's start for the round watcher), the deadline, the recorders, the pacer's
    /// share of the group's rate and a cursor per partition.
    fn start(ctx: &'a Ctx<'a>, plan: &'a Plan) -> Self {
        let (cfg, log, clock) = (ctx.cfg, ctx.log, ctx.clock);
        let cpu0 = CpuSnapshot::thread();
        let start = clock.now_ns();
        // The first consumer to start marks the repetition's start for the round watcher.
        let _ = ctx.live.start_ns.compare_exchange(
            0,
            start.max(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        let deadline = cfg.duration.map(|d| start + d.as_nanos() as u64);
        let expected = cfg
            .duration
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(10_000_000_000);
        // A paced group's rate, shared among its consumers by their partitions.
        let share = plan.partitions.len() as f64 / log.partitions.len().max(1) as f64;
        Consumer {
            ctx,
            plan,
            cpu0,
            start,
            deadline,
            latency: hist::new_hist(),
            timeline: TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, expected),
            pacer: cfg.rate.map(|r| Pacer::new(start, r * share)),
            cursors: vec![Cursor::default(); plan.partitions.len()],
            bytes: 0,
            records: 0,
            fetches: 0,
            batches: 0,
            pass: 0,
            complete_passes: 0,
            interrupted: false,
        }
    }

    /// The measured loop: round-robin over the consumer's partitions, one framed fetch each,
    /// until the log is read once, the deadline passes, the run is stopped or another
    /// consumer failed. One clock read per fetch.
    fn measured_loop(
        &mut self,
        sock: BorrowedFd<'_>,
        engine: &mut dyn ReadEngine,
    ) -> Result<(), ReadError> {
        let (ctx, plan) = (self.ctx, self.plan);
        let (cfg, log, clock) = (ctx.cfg, ctx.log, ctx.clock);
        let deadline = self.deadline;
        let mut now = self.start;
        'run: loop {
            let mut any = false;
            for (k, &pi) in plan.partitions.iter().enumerate() {
                if ctx.abort.load(Ordering::Relaxed) {
                    return Err(ReadError::Aborted);
                }
                if ctx.stop.load(Ordering::Relaxed) {
                    self.interrupted = true;
                    break 'run;
                }
                if deadline.is_some_and(|d| now >= d) {
                    break 'run;
                }
                let part = &log.partitions[pi];
                let Some(f) = part.next_fetch(&mut self.cursors[k], cfg.fetch_size) else {
                    continue;
                };
                any = true;
                let seg = &part.segments[f.segment];
                let len = f.end - f.start;
                let header = FrameHeader::data(
                    plan.group,
                    part.id,
                    self.pass,
                    f.start,
                    seg.base_offset,
                    len as u32,
                )
                .encode();
                let extent = Extent {
                    file: &seg.file,
                    path: &seg.path,
                    offset: f.start,
                    len,
                };
                // Open loop when paced: the latency runs from the fetch's intended start.
                let t0 = match self.pacer.as_mut() {
                    Some(p) => {
                        let due = p.next_due(len);
                        if deadline.is_some_and(|d| due >= d) {
                            break 'run;
                        }
                        wait_until(clock, due, ctx.stop);
                        due
                    }
                    None => now,
                };
                let sent = read::send_all(sock, &header, true, "send frame header", &seg.path)
                    .and_then(|_| engine.send(&extent, sock));
                if let Err(e) = sent {
                    return Err(if read::is_peer_gone(&e) {
                        sink_error(ctx.sink, "went away mid-run", e)
                    } else {
                        ReadError::Engine(e)
                    });
                }
                now = clock.now_ns();
                hist::record(&mut self.latency, now - t0);
                self.timeline.record(now, len);
                self.bytes += len;
                self.records += f.records;
                self.batches += f.batches;
                self.fetches += 1;
                ctx.live.bytes.fetch_add(len, Ordering::Relaxed);
            }
            if !any {
                self.complete_passes += 1;
                if deadline.is_none() {
                    break;
                }
                self.pass += 1;
                self.cursors.iter_mut().for_each(|c| *c = Cursor::default());
                // A catch-up reader stays one: its partitions leave the page cache before the
                // next pass (outside any fetch's latency).
                if cfg.cache == CacheMode::Cold {
                    self.evict_partitions()?;
                    now = clock.now_ns();
                }
            }
        }
        Ok(())
    }

    /// Between passes of a cold run: every segment of the consumer's partitions leaves the
    /// page cache.
    fn evict_partitions(&self) -> Result<(), ReadError> {
        for &pi in &self.plan.partitions {
            for seg in &self.ctx.log.partitions[pi].segments {
                super::cache::evict_segment(seg)?;
            }
        }
        Ok(())
    }

    /// Drain: ends the session (the sink's summary says what it received), reads the clock
    /// and the thread's CPU, and hands over the figures.
    fn finish(self, stream: &mut TcpStream) -> Result<ConsumerOut, ReadError> {
        let summary = client::end(stream)
            .map_err(|e| sink_error(self.ctx.sink, "did not confirm the end of the session", e))?;
        let end_ns = self.ctx.clock.now_ns();
        Ok(ConsumerOut {
            group: self.plan.group,
            consumer: self.plan.consumer,
            bytes: self.bytes,
            records: self.records,
            fetches: self.fetches,
            batches: self.batches,
            complete_passes: self.complete_passes,
            interrupted: self.interrupted,
            latency: self.latency,
            timeline: self.timeline,
            start_ns: self.start,
            end_ns,
            cpu: CpuSnapshot::thread().since(&self.cpu0),
            summary,
        })
    }
}

/// Runs one repetition of `cfg` over `log`, sending to `sink`. The cache state is the
/// caller's business ([`prepare_cache`](super::prepare_cache)).
pub fn run_repetition(
    cfg: &ReadConfig,
    log: &LogSet,
    sink: &SinkTarget,
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    live: &LiveCounters,
) -> Result<ReadMeasure, ReadError> {
    cfg.check().map_err(ReadError::Unsupported)?;
    let plans = plans(cfg, log);
    // Engines and sessions are set up before the clock starts.
    let (setups, caps) = set_up(cfg, log, sink, &plans)?;

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
    let (cpu0, io0, nic0, outcomes) = std::thread::scope(|s| {
        let handles: Vec<_> = setups
            .into_iter()
            .map(|(plan, stream, engine)| {
                let ctx = &ctx;
                s.spawn(move || consume(ctx, plan, stream, engine))
            })
            .collect();
        live.wait_start();
        let cpu0 = CpuSnapshot::process();
        let io0 = StorageIo::now();
        let nic0 = NicCounters::snapshot();
        barrier.wait();
        let outcomes: Vec<Result<ConsumerOut, ReadError>> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(ReadError::Sink("a consumer thread panicked".into())))
            })
            .collect();
        (cpu0, io0, nic0, outcomes)
    });
    let process_cpu = CpuSnapshot::process().since(&cpu0);
    let io1 = StorageIo::now();
    // The bytes and packets that really crossed each interface (loopback included).
    let nic_traffic = NicCounters::snapshot().since(&nic0);

    let outs = consumers_out(outcomes)?;
    let storage = match (io0, io1) {
        (Some(a), Some(b)) => Some(b.read_bytes.saturating_sub(a.read_bytes)),
        _ => None,
    };
    let check_failures = check_sessions(cfg, log, &plans, &outs);
    let around = AroundRun {
        process_cpu,
        storage_io_bytes: storage,
        caps,
        check_failures,
    };
    let mut m = assemble(cfg, log, sink, outs, around);
    m.repetition.nic_traffic = nic_traffic;
    Ok(m)
}

/// Every active consumer of every group, group by group: the range assignor's share of the
/// partitions for each consumer that gets any.
fn plans(cfg: &ReadConfig, log: &LogSet) -> Vec<Plan> {
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
    plans
}

/// A consumer ready to start: its plan, its session with the sink, its engine.
type Setup<'p> = (&'p Plan, TcpStream, Box<dyn ReadEngine>);

/// Set-up, before the clock starts: an engine and a sink session per consumer, and the
/// engine's capabilities. An engine this kernel cannot build is [`ReadError::Unsupported`].
fn set_up<'p>(
    cfg: &ReadConfig,
    log: &LogSet,
    sink: &SinkTarget,
    plans: &'p [Plan],
) -> Result<(Vec<Setup<'p>>, Caps), ReadError> {
    let mut setups = Vec::new();
    let mut caps = Caps::default();
    for plan in plans {
        let engine = match read::build(&cfg.engine) {
            Ok(e) => e,
            Err(e) if e.is_unsupported() => return Err(ReadError::Unsupported(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        caps = engine.caps();
        let stream = open_session(plan, log, sink, cfg.verify)?;
        setups.push((plan, stream, engine));
    }
    Ok((setups, caps))
}

/// Drain: every consumer's figures, or the first consumer's error (those that stopped only
/// because another failed are not errors of their own).
fn consumers_out(
    outcomes: Vec<Result<ConsumerOut, ReadError>>,
) -> Result<Vec<ConsumerOut>, ReadError> {
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
    match first_err {
        Some(e) => Err(e),
        None => Ok(outs),
    }
}
