//! One replication repetition: every replica's partition logs and engines set up before the
//! clock starts (leader in `<dir>/leader`, follower i in `<dir>/follower-<i>`), the roles
//! started, the producer's measured loop run, then the followers left to catch up (bounded)
//! so each one's log ends where the leader's does, and the figures assembled.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use results::{hist, Repetition, ThreadStats};
use serde_json::json;
use workloads::kafka::log::{LogConfig, PartitionLog};
use workloads::pacing::Clock;
use workloads::write::{self, FileTarget};
use workloads::{EngineError, EngineSpec, SyncKind};

use super::consumer::run_consumer;
use super::flush::{FlushTimes, FlushingEngine};
use super::follower::{run_follower, FollowerStats};
use super::isr::{ReplicaState, Shared};
use super::lag::run_lag_sampler;
use super::leader::{run_leader, Replica};
use super::producer::run_producer;
use super::ReplicaConfig;
use crate::runner::RunError;
use crate::usage::CpuSnapshot;

/// How long followers get, after the producer stopped, to reach the leader's log end.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Produce requests the leader's channel holds (the producer's in-flight limit for acks=0).
pub const REQUEST_QUEUE: usize = 64;

/// Faults injected into a run (tests): followers that send no fetch while their flag is set.
#[derive(Debug, Default)]
pub struct Faults {
    /// `pause[i]` stalls follower i (0-based); missing entries are never paused.
    pub pause: Vec<Arc<AtomicBool>>,
}

/// What one repetition measured, and where its replicas' logs are.
#[derive(Debug, Clone)]
pub struct RepOutcome {
    /// The figures (replication ones in `extra`, see the module documentation).
    pub repetition: Repetition,
    /// The leader's data directory.
    pub leader_dir: PathBuf,
    /// Each follower's data directory.
    pub follower_dirs: Vec<PathBuf>,
    /// Followers (unpaused) that had not reached the leader's log end within [`DRAIN_TIMEOUT`].
    pub behind: Vec<u32>,
    /// True when stopped by the stop flag.
    pub interrupted: bool,
}

/// One replica's partition logs and engines in `dir`, the engines wrapped in a
/// [`FlushingEngine`] (timing into `flushes`) when the workload has a flush policy or dsync.
fn replicas(
    cfg: &ReplicaConfig,
    dir: &Path,
    spec: &EngineSpec,
    batch_bytes: usize,
    clock: &Arc<dyn Clock>,
    flushes: &FlushTimes,
) -> Result<Vec<Replica>, RunError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| RunError::Engine(EngineError::io("mkdir", dir, e, 0)))?;
    let log_cfg = LogConfig {
        segment_bytes: cfg.segment_size,
        index_interval_bytes: cfg.index_interval,
        ..LogConfig::default()
    };
    let mut out = Vec::new();
    for p in 0..cfg.partitions {
        let log = PartitionLog::create(dir, &cfg.topic, p, log_cfg.clone())?;
        let mut engine = match write::build(spec, log.dir(), batch_bytes) {
            Ok(e) => e,
            Err(e) if e.is_unsupported() => return Err(RunError::Unsupported(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        if cfg.flush.flushes() || cfg.sync == SyncKind::Dsync {
            engine = Box::new(FlushingEngine::new(
                engine,
                cfg.flush,
                cfg.sync,
                clock.clone(),
                flushes.clone(),
            ));
        }
        engine.open(&FileTarget {
            path: log.active_log_path(),
            capacity_bytes: cfg.segment_size,
            preallocate: false,
            dsync: false,
        })?;
        out.push(Replica { log, engine });
    }
    Ok(out)
}

/// Runs one repetition of `cfg` in `dir` (created if missing, empty).
pub fn run_repetition(
    cfg: &ReplicaConfig,
    dir: &Path,
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    faults: &Faults,
) -> Result<RepOutcome, RunError> {
    let shape = cfg.check().map_err(RunError::Unsupported)?;
    let followers = cfg.rf - 1;
    let leader_dir = dir.join("leader");
    let flush_times = || FlushTimes::new(std::sync::Mutex::new(hist::new_hist()));
    let (leader_flushes, follower_flushes) = (flush_times(), flush_times());
    let leader_parts = replicas(
        cfg,
        &leader_dir,
        &cfg.leader_engine,
        shape.batch_bytes,
        &clock,
        &leader_flushes,
    )?;
    let mut follower_dirs = Vec::new();
    let mut follower_parts = Vec::new();
    for f in 1..=followers {
        let d = dir.join(format!("follower-{f}"));
        follower_parts.push(replicas(
            cfg,
            &d,
            &cfg.follower_engine,
            shape.batch_bytes,
            &clock,
            &follower_flushes,
        )?);
        follower_dirs.push(d);
    }
    let shared = Shared::new(ReplicaState::new(
        cfg.partitions,
        followers,
        cfg.lag_time_max.as_nanos() as u64,
        clock.now_ns(),
    ));
    let never = AtomicBool::new(false);
    let followers_stop = AtomicBool::new(false);
    let (req_tx, req_rx) = mpsc::sync_channel(REQUEST_QUEUE);
    let (rep_tx, rep_rx) = mpsc::channel();
    let (announce_tx, announce_rx) = mpsc::channel();

    let cpu0 = CpuSnapshot::process();
    let outcome = std::thread::scope(|s| {
        let shared = &shared;
        let leader = {
            let clock = clock.clone();
            s.spawn(move || run_leader(shared, leader_parts, req_rx, rep_tx, cfg, clock.as_ref()))
        };
        let mut handles = Vec::new();
        for (i, parts) in follower_parts.into_iter().enumerate() {
            let clock = clock.clone();
            let pause: &AtomicBool = faults.pause.get(i).map_or(&never, |a| a.as_ref());
            let fstop = &followers_stop;
            handles.push(
                s.spawn(move || run_follower(shared, i, parts, cfg, pause, fstop, clock.as_ref())),
            );
        }
        let consumer = {
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
        };
        let lag = {
            let (clock, lstop) = (clock.clone(), &followers_stop);
            s.spawn(move || run_lag_sampler(shared, followers as usize, lstop, clock.as_ref()))
        };
        let produced = {
            let clock = clock.clone();
            let announce = announce_tx;
            s.spawn(move || {
                run_producer(
                    shared,
                    cfg,
                    shape,
                    req_tx,
                    rep_rx,
                    &announce,
                    stop,
                    clock.as_ref(),
                )
            })
            .join()
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
                    .filter(|&f| st.parts.iter().any(|p| p.followers[f].leo < p.leo))
                    .map(|f| f as u32 + 1)
                    .collect()
            };
            if behind.is_empty() || t0.elapsed() >= DRAIN_TIMEOUT {
                break behind;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        followers_stop.store(true, Ordering::Release);
        shared.data.notify_all();
        let fstats: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        let consumed = consumer.join();
        let lag = lag.join();
        (
            produced, cpu, lag_end, leader, behind, fstats, consumed, lag,
        )
    });
    let (produced, cpu, lag_end, leader, behind, fstats, consumed, lag) = outcome;
    let panicked = |role: &str| {
        RunError::Engine(EngineError::Corrupt {
            path: dir.to_path_buf(),
            position: 0,
            reason: format!("the {role} thread panicked"),
        })
    };
    let produced = produced.map_err(|_| panicked("producer"))?;
    let (leader_bytes, leader_cpu_s) = leader.map_err(|_| panicked("leader"))??;
    let consumed = consumed.map_err(|_| panicked("consumer"))??;
    let lag = lag.map_err(|_| panicked("lag sampler"))?;
    let mut followers_done: Vec<FollowerStats> = Vec::new();
    for f in fstats {
        followers_done.push(f.map_err(|_| panicked("follower"))??);
    }

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
    let events: Vec<serde_json::Value> = st
        .events
        .iter()
        .map(|e| {
            json!({
                "at_s": since_start(e.at_ns),
                "partition": e.partition,
                "follower": e.follower + 1,
                "change": if e.shrink { "shrink" } else { "expand" },
            })
        })
        .collect();
    let mut extra = BTreeMap::new();
    extra.insert("replication_factor".into(), json!(cfg.rf));
    extra.insert("min_insync_replicas".into(), json!(cfg.min_insync));
    extra.insert("acks".into(), json!(cfg.acks.to_string()));
    extra.insert(
        "not_enough_replicas".into(),
        json!(produced.not_enough_replicas),
    );
    if !produced.leader_append.is_empty() {
        extra.insert(
            "leader_append_latency_ns".into(),
            json!(hist::summarize(&produced.leader_append)),
        );
    }
    extra.insert(
        "isr_shrinks".into(),
        json!(st.events.iter().filter(|e| e.shrink).count()),
    );
    extra.insert(
        "isr_expands".into(),
        json!(st.events.iter().filter(|e| !e.shrink).count()),
    );
    extra.insert("isr_events".into(), json!(events));
    extra.insert("follower_lag_end_offsets".into(), json!(lag_end));
    extra.insert("follower_lag_max_offsets".into(), json!(st.max_lag));
    extra.insert(
        "follower_lag_time_ns".into(),
        json!(hist::summarize(&lag.time_lag)),
    );
    extra.insert("follower_lag_time_max_ns".into(), json!(lag.max_ns));
    let timeline: Vec<serde_json::Value> = lag
        .timeline
        .iter()
        .map(|p| json!({"at_s": since_start(p.at_ns), "offsets": p.offsets, "ms": p.ms}))
        .collect();
    extra.insert("follower_lag_timeline".into(), json!(timeline));
    let summary = |h: &FlushTimes| {
        let h = h.lock().unwrap_or_else(|e| e.into_inner());
        (!h.is_empty()).then(|| hist::summarize(&h))
    };
    if let Some(f) = summary(&follower_flushes) {
        extra.insert("follower_flush_latency_ns".into(), json!(f));
    }
    extra.insert(
        "follower_bytes".into(),
        json!(followers_done.iter().map(|f| f.bytes).collect::<Vec<_>>()),
    );
    extra.insert("leader_bytes".into(), json!(leader_bytes));
    extra.insert("high_watermark_violations".into(), json!(st.hw_violations));
    extra.insert("leader_cpu_s".into(), json!(leader_cpu_s));
    extra.insert(
        "e2e_latency_ns".into(),
        json!(hist::summarize(&consumed.e2e)),
    );
    extra.insert("consumer_bytes".into(), json!(consumed.bytes));
    extra.insert("consumer_cpu_s".into(), json!(consumed.cpu_s));
    extra.insert(
        "producer_cpu_s".into(),
        json!(produced.cpu.user_s + produced.cpu.sys_s),
    );
    extra.insert(
        "follower_cpu_s".into(),
        json!(followers_done.iter().map(|f| f.cpu_s).sum::<f64>()),
    );
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
        flush_latency_ns: summary(&leader_flushes),
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
        follower_dirs,
        behind,
        interrupted: stop.load(Ordering::Relaxed),
    })
}
