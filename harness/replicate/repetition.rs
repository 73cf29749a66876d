//! One replication repetition: every replica's partition logs and engines set up before the
//! clock starts (leader in `<dir>/leader`, follower i in `<dir>/follower-<i>` — on the
//! follower's own host when it runs elsewhere), the roles started, the producer's measured
//! loop run, then the followers left to catch up (bounded) so each one's log ends where the
//! leader's does, and the figures assembled. [`lead`] is the leader's side over joined
//! followers' connections; [`run_repetition`] runs it with the followers as threads of this
//! process connected over loopback TCP.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use results::figures::{
    ExtraFigures, IsrChangeKind, IsrEventFigure, LagPoint, LostFollower, ReplicationFigures,
};
use results::{hist, Repetition, ThreadStats};
use workloads::pacing::Clock;
use workloads::EngineError;

use super::consumer::run_consumer;
use super::flush::FlushSetup;
use super::follower::{self, FollowerFailure};
use super::isr::{ReplicaState, Shared};
use super::lag::run_lag_sampler;
use super::leader::{create_replicas, run_leader, LeaderLog};
use super::prewrite::prewrite;
use super::producer::{run_producer, ProducerPlan};
use super::serve::{self, Link, Served};
use super::wire::{self, FollowerReport, Start};
use super::ReplicaConfig;
use crate::runner::RunError;
use crate::sink::protocol::FrameKind;
use crate::usage::CpuSnapshot;

/// How long followers get, after the producer stopped, to reach the leader's log end.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Produce requests the leader's channel holds (the producer's in-flight limit for acks=0).
pub const REQUEST_QUEUE: usize = 64;
/// How long the in-process followers get to connect and join.
pub const LOCAL_JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Faults injected into a run (tests): followers that send no fetch while their flag is set.
#[derive(Debug, Default)]
pub struct Faults {
    /// `pause[i]` stalls follower i + 1; missing entries are never paused.
    pub pause: Vec<Arc<AtomicBool>>,
}

/// What one repetition measured, and where its replicas' logs are.
#[derive(Debug, Clone)]
pub struct RepOutcome {
    /// The figures (replication ones in `extra`, see the module documentation).
    pub repetition: Repetition,
    /// The leader's data directory.
    pub leader_dir: PathBuf,
    /// Each follower's data directory (in-process followers only).
    pub follower_dirs: Vec<PathBuf>,
    /// Followers (unpaused, connected) that had not reached the leader's log end within [`DRAIN_TIMEOUT`].
    pub behind: Vec<u32>,
    /// Followers whose connection was lost, and why.
    pub lost: Vec<(u32, String)>,
    /// True when stopped by the stop flag.
    pub interrupted: bool,
}

fn io_error(what: &str, dir: &Path, e: std::io::Error) -> RunError {
    RunError::Engine(EngineError::io(
        "listen",
        dir,
        std::io::Error::new(e.kind(), format!("{what}: {e}")),
        0,
    ))
}

/// Runs one repetition of `cfg` in `dir` (created if missing, empty) with every role in this
/// process: the followers are threads that join over loopback TCP, numbered in `faults` order.
pub fn run_repetition(
    cfg: &ReplicaConfig,
    dir: &Path,
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    faults: &Faults,
) -> Result<RepOutcome, RunError> {
    cfg.check().map_err(RunError::Unsupported)?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| io_error("loopback listener", dir, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| io_error("loopback listener", dir, e))?;
    let never = &AtomicBool::new(false);
    std::thread::scope(|s| {
        let mut links = Vec::new();
        let mut threads = Vec::new();
        for f in 1..cfg.rf {
            let pause: &AtomicBool = faults
                .pause
                .get(f as usize - 1)
                .map_or(never, |a| a.as_ref());
            threads.push(s.spawn(move || {
                let (stream, n) =
                    follower::join(addr, LOCAL_JOIN_TIMEOUT).map_err(|reason| FollowerFailure {
                        reason,
                        partial: Default::default(),
                        done: Vec::new(),
                    })?;
                follower::run_session(
                    &stream,
                    n,
                    &mut |_| Ok(dir.to_path_buf()),
                    pause,
                    never,
                    &mut |_, _| {},
                )
            }));
            // One at a time, so follower f is thread f.
            match serve::accept_followers(&listener, f, 1, LOCAL_JOIN_TIMEOUT, stop) {
                Ok(l) => links.extend(l),
                Err(e) => {
                    serve::goodbye(&links);
                    return Err(RunError::Engine(EngineError::Corrupt {
                        path: dir.to_path_buf(),
                        position: 0,
                        reason: format!("in-process followers: {e}"),
                    }));
                }
            }
        }
        let out = lead(cfg, dir, "", clock, stop, faults, &mut links);
        serve::goodbye(&links);
        let mut out = out?;
        for (i, t) in threads.into_iter().enumerate() {
            if let Ok(Err(e)) = t.join() {
                let f = i as u32 + 1;
                out.lost.retain(|l| l.0 != f);
                out.lost.push((f, e.reason));
            }
        }
        out.follower_dirs = (1..cfg.rf)
            .map(|f| dir.join(format!("follower-{f}")))
            .collect();
        Ok(out)
    })
}

/// The leader's side of one repetition of `cfg` in `dir` over the joined followers' `links`:
/// each live one is told to start (`rep`: the repetition's directory under its data directory)
/// and served by its own thread with a `--fetch-engine` instance.
pub fn lead(
    cfg: &ReplicaConfig,
    dir: &Path,
    rep: &str,
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    faults: &Faults,
    links: &mut [Link],
) -> Result<RepOutcome, RunError> {
    let shape = cfg.check().map_err(RunError::Unsupported)?;
    let followers = cfg.rf - 1;
    let leader_dir = dir.join("leader");
    let layout = cfg.layout();
    let leader_flushes = FlushSetup::new(cfg.flush, cfg.sync, clock.clone());
    let leader_log = if cfg.prewritten() {
        LeaderLog::Prewritten(prewrite(
            &layout,
            &leader_dir,
            shape,
            cfg.record_size,
            &ProducerPlan::batches_per_partition(cfg, shape.batch_bytes),
            clock.clone(),
        )?)
    } else {
        LeaderLog::Appending(create_replicas(
            &layout,
            &leader_dir,
            &cfg.leader_engine,
            shape.batch_bytes,
            &leader_flushes,
        )?)
    };
    let prewritten_bytes = match &leader_log {
        LeaderLog::Prewritten(pre) => Some(pre.bytes()),
        LeaderLog::Appending(_) => None,
    };
    let mut engines = Vec::new();
    for _ in links.iter() {
        engines.push(match workloads::read::build(&cfg.fetch_engine) {
            Ok(e) => e,
            Err(e) if e.is_unsupported() => return Err(RunError::Unsupported(e.to_string())),
            Err(e) => return Err(e.into()),
        });
    }
    let start = Start {
        rep: rep.to_string(),
        partitions: layout.partitions,
        topic: layout.topic.clone(),
        segment_size: layout.segment_size,
        index_interval: layout.index_interval,
        engine: cfg.follower_engine.to_string(),
        batch_bytes: shape.batch_bytes,
        fetch_max_bytes: cfg.fetch_max_bytes,
        fetch_wait_max_ms: cfg.fetch_wait_max.as_millis() as u64,
        flush: cfg.flush.to_string(),
        sync: cfg.sync.to_string(),
    };
    for l in links.iter_mut().filter(|l| l.lost.is_none()) {
        if let Err(e) = wire::send_json(&l.stream, FrameKind::Hello, &start) {
            l.lost = Some(format!("starting the repetition: {e}"));
        }
    }
    let gone: Vec<AtomicBool> = links
        .iter()
        .map(|l| AtomicBool::new(l.lost.is_some()))
        .collect();
    let shared = Shared::new(ReplicaState::new(
        cfg.partitions,
        followers,
        cfg.lag_time_max.as_nanos() as u64,
        clock.now_ns(),
    ));
    let followers_stop = AtomicBool::new(false);
    let limits = serve::FetchLimits {
        max_bytes: cfg.fetch_max_bytes,
        min_bytes: cfg.fetch_min_bytes,
        wait_max: cfg.fetch_wait_max,
    };
    let (req_tx, req_rx) = mpsc::sync_channel(REQUEST_QUEUE);
    let plans = ProducerPlan::all(cfg);
    let (rep_txs, rep_rxs): (Vec<_>, Vec<_>) = plans.iter().map(|_| mpsc::channel()).unzip();
    let (announce_tx, announce_rx) = mpsc::channel();

    let cpu0 = CpuSnapshot::process();
    let outcome = std::thread::scope(|s| {
        let shared = &shared;
        let leader = {
            let clock = clock.clone();
            s.spawn(move || run_leader(shared, leader_log, req_rx, rep_txs, cfg, clock.as_ref()))
        };
        let mut handles = Vec::new();
        for ((link, engine), gone) in links.iter_mut().zip(engines.iter_mut()).zip(&gone) {
            if link.lost.is_some() {
                continue;
            }
            let clock = clock.clone();
            let fstop = &followers_stop;
            handles.push(s.spawn(move || {
                let served =
                    serve::serve(link, shared, engine.as_mut(), limits, fstop, clock.as_ref());
                gone.store(true, Ordering::Release);
                served.map(|s| (link.follower, s))
            }));
        }
        // Without a consumer the announcements go nowhere (the producer ignores a closed channel).
        let announce_rx = cfg.consumer.then_some(announce_rx);
        let consumer = announce_rx.map(|announce_rx| {
            let (clock, cstop) = (clock.clone(), &followers_stop);
            let parts = cfg.partitions as usize;
            s.spawn(move || {
                run_consumer(
                    shared,
                    parts,
                    cfg.fetch_max_bytes,
                    announce_rx,
                    cstop,
                    clock.as_ref(),
                )
            })
        });
        let lag = {
            let (clock, lstop) = (clock.clone(), &followers_stop);
            s.spawn(move || run_lag_sampler(shared, followers as usize, lstop, clock.as_ref()))
        };
        let produced = {
            // One timeline base for every producer (they merge).
            let base_ns = clock.now_ns();
            let handles: Vec<_> = plans
                .iter()
                .zip(rep_rxs)
                .map(|(plan, rep_rx)| {
                    let (clock, req_tx) = (clock.clone(), req_tx.clone());
                    let announce = announce_tx.clone();
                    s.spawn(move || {
                        run_producer(
                            shared,
                            cfg,
                            shape,
                            plan,
                            base_ns,
                            req_tx,
                            rep_rx,
                            &announce,
                            stop,
                            clock.as_ref(),
                        )
                    })
                })
                .collect();
            // The leader ends when the last producer hangs up.
            drop((req_tx, announce_tx));
            let mut all = handles.into_iter().map(|h| h.join());
            all.next()
                .unwrap_or(Err(Box::new("no producer")))
                .and_then(|mut first| {
                    for r in all {
                        first.merge(&r?);
                    }
                    Ok(first)
                })
        };
        let cpu = CpuSnapshot::process().since(&cpu0);
        let lag_end = shared.lock().lag_now();
        let leader = leader.join();
        // Let the followers reach the leader's end, then stop them.
        let t0 = Instant::now();
        let behind = loop {
            let behind: Vec<u32> = {
                let st = shared.lock();
                (0..followers as usize)
                    .filter(|&f| {
                        !faults
                            .pause
                            .get(f)
                            .is_some_and(|a| a.load(Ordering::Acquire))
                    })
                    .filter(|&f| !gone.get(f).is_some_and(|g| g.load(Ordering::Acquire)))
                    .filter(|&f| st.parts.iter().any(|p| p.followers[f].leo < p.leo))
                    .map(|f| f as u32 + 1)
                    .collect()
            };
            if behind.is_empty() || t0.elapsed() >= DRAIN_TIMEOUT {
                break behind;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        // The last live follower reached the leader's end (leader's clock).
        let caught_up_ns = behind.is_empty().then(|| clock.now_ns());
        followers_stop.store(true, Ordering::Release);
        shared.data.notify_all();
        let served: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        let consumed = consumer.map(|c| c.join());
        let lag = lag.join();
        (
            produced,
            cpu,
            lag_end,
            leader,
            (behind, caught_up_ns),
            served,
            consumed,
            lag,
        )
    });
    let (produced, cpu, lag_end, leader, (behind, caught_up_ns), served, consumed, lag) = outcome;
    let panicked = |role: &str| {
        RunError::Engine(EngineError::Corrupt {
            path: dir.to_path_buf(),
            position: 0,
            reason: format!("the {role} thread panicked"),
        })
    };
    let produced = produced.map_err(|_| panicked("producer"))?;
    let (leader_bytes, leader_cpu_s) = leader.map_err(|_| panicked("leader"))??;
    let consumed = match consumed {
        Some(c) => Some(c.map_err(|_| panicked("consumer"))??),
        None => None,
    };
    let lag = lag.map_err(|_| panicked("lag sampler"))?;
    let mut by_follower: Vec<Served> = vec![Served::default(); followers as usize];
    for s in served {
        let (f, s) = s.map_err(|_| panicked("fetch server"))??;
        by_follower[f as usize - 1] = s;
    }
    let lost: Vec<(u32, String)> = links
        .iter()
        .filter_map(|l| l.lost.clone().map(|why| (l.follower, why)))
        .collect();

    let st = shared.lock();
    let elapsed_s = (produced.end_ns - produced.start_ns) as f64 / 1e9;
    let per_s = |x: u64| {
        if elapsed_s > 0.0 {
            x as f64 / elapsed_s
        } else {
            0.0
        }
    };
    let records = produced.batches * u64::from(shape.records_per_batch);
    let t_start = produced.start_ns;
    let since_start = |ns: u64| (ns as f64 - t_start as f64) / 1e9;
    let isr_events = st
        .events
        .iter()
        .map(|e| IsrEventFigure {
            at_s: since_start(e.at_ns),
            partition: u64::from(e.partition),
            follower: u64::from(e.follower) + 1,
            change: if e.shrink {
                IsrChangeKind::Shrink
            } else {
                IsrChangeKind::Expand
            },
        })
        .collect();
    let follower_lag_timeline = lag
        .timeline
        .iter()
        .map(|p| LagPoint {
            at_s: since_start(p.at_ns),
            offsets: p.offsets.clone(),
            ms: p.ms.clone(),
        })
        .collect();
    // The followers' flushes, each timed on its own host's clock (durations only), added up.
    let mut follower_flushes = hist::new_hist();
    for r in by_follower.iter().filter_map(|f| f.report.as_ref()) {
        if let Some(h) = r
            .flush_latency_hdr
            .as_deref()
            .and_then(|e| hist::decode(e).ok())
        {
            let _ = follower_flushes.add(&h);
        }
    }
    // Each follower's own count (None for one that was lost).
    let reported = |count: fn(&FollowerReport) -> u64| {
        by_follower
            .iter()
            .map(|f| f.report.as_ref().map(count))
            .collect::<Vec<_>>()
    };
    let figures = ReplicationFigures {
        replication_factor: cfg.rf,
        min_insync_replicas: Some(cfg.min_insync),
        acks: Some(cfg.acks.to_string()),
        followers_caught_up_s: caught_up_ns.map(since_start),
        leader_prewritten_bytes: prewritten_bytes,
        not_enough_replicas: produced.not_enough_replicas,
        leader_append_latency_ns: (!produced.leader_append.is_empty())
            .then(|| hist::summarize(&produced.leader_append)),
        isr_shrinks: st.events.iter().filter(|e| e.shrink).count() as u64,
        isr_expands: st.events.iter().filter(|e| !e.shrink).count() as u64,
        isr_events,
        follower_lag_end_offsets: Some(lag_end),
        follower_lag_max_offsets: Some(st.max_lag),
        follower_lag_time_ns: Some(hist::summarize(&lag.time_lag)),
        follower_lag_time_max_ns: lag.max_ns.clone(),
        follower_lag_timeline,
        follower_flush_latency_ns: (!follower_flushes.is_empty())
            .then(|| hist::summarize(&follower_flushes)),
        follower_bytes: reported(|r| r.bytes),
        follower_fetches: reported(|r| r.fetches),
        follower_appends: reported(|r| r.appends),
        follower_bytes_sent: by_follower.iter().map(|f| f.bytes_sent).collect(),
        followers_lost: lost
            .iter()
            .map(|(f, why)| LostFollower {
                follower: *f,
                reason: why.clone(),
            })
            .collect(),
        leader_bytes: Some(leader_bytes),
        high_watermark_violations: Some(st.hw_violations),
        leader_cpu_s: Some(leader_cpu_s + by_follower.iter().map(|f| f.cpu_s).sum::<f64>()),
        e2e_latency_ns: consumed.as_ref().map(|c| hist::summarize(&c.e2e)),
        consumer_bytes: consumed.as_ref().map(|c| c.bytes),
        consumer_cpu_s: consumed.as_ref().map(|c| c.cpu_s),
        producer_cpu_s: Some(produced.cpu.user_s + produced.cpu.sys_s),
        follower_cpu_s: Some(
            by_follower
                .iter()
                .filter_map(|f| f.report.as_ref().map(|r| r.cpu_s))
                .sum::<f64>(),
        ),
    };
    let mut extra = BTreeMap::new();
    figures.insert_into(&mut extra);
    let cpu_total = cpu.user_s + cpu.sys_s;
    let bytes = produced.bytes;
    let repetition = Repetition {
        index: 0,
        bytes,
        records,
        batches: produced.batches,
        elapsed_s,
        throughput_bytes_per_s: per_s(bytes),
        records_per_s: per_s(records),
        cpu_user_s: cpu.user_s,
        cpu_sys_s: cpu.sys_s,
        cpu_s_per_gb: results::stats::cpu_s_per_gb(cpu_total, bytes),
        device_bytes: None,
        storage_io_bytes: None,
        latency_ns: hist::summarize(&produced.latency),
        flush_latency_ns: {
            let h = leader_flushes.times();
            (!h.is_empty()).then(|| hist::summarize(&h))
        },
        roll_latency_ns: None,
        timeline: produced.timeline.finish(produced.end_ns),
        threads: vec![ThreadStats {
            index: 0,
            bytes,
            cpu_user_s: produced.cpu.user_s,
            cpu_sys_s: produced.cpu.sys_s,
        }],
        context_switches: Some(cpu.context_switches),
        harness_overhead_ratio: None,
        extra,
        nic_traffic: Vec::new(),
    };
    Ok(RepOutcome {
        repetition,
        leader_dir,
        follower_dirs: Vec::new(),
        behind,
        lost,
        interrupted: stop.load(Ordering::Relaxed),
    })
}
