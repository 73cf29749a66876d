//! One replication repetition: every replica's partition logs and engines set up before the
//! clock starts (leader in `<dir>/leader`, follower i in `<dir>/follower-<i>` — on the
//! follower's own host when it runs elsewhere), the roles started, the producer's measured
//! loop run, then the followers left to catch up (bounded) so each one's log ends where the
//! leader's does, and the figures assembled ([`super::assemble`]). [`lead`] is the leader's
//! side over joined followers' connections, one function per step (set-up, the roles'
//! threads, the drain, each thread's outcome); [`run_repetition`] runs it with the followers
//! as threads of this process connected over loopback TCP.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::Scope;
use std::time::{Duration, Instant};

use results::hist::Hist;
use results::Repetition;
use workloads::pacing::Clock;
use workloads::read::ReadEngine;
use workloads::EngineError;

use super::assemble::{assemble, Finished};
use super::consumer::{run_consumer, ConsumerResult, Produced};
use super::flush::FlushSetup;
use super::follower::{self, FollowerFailure};
use super::isr::{ReplicaState, Shared};
use super::lag::{run_lag_sampler, LagResult};
use super::leader::{run_leader, LeaderLog, Produce, ProduceReply};
use super::prewrite::prewrite;
use super::producer::{run_producer, ProducerPlan, ProducerResult};
use super::replica::{create_replicas, LogLayout};
use super::serve::{self, Link, Served};
use super::wire::{self, Start};
use super::{ReplicaConfig, Shape};
use crate::runner::RunError;
use crate::sink::protocol::FrameKind;
use crate::usage::CpuSnapshot;

/// How long followers get, after the producer stopped, to reach the leader's log end.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Produce requests the leader's channel holds (the producer's in-flight limit for acks=0).
pub const REQUEST_QUEUE: usize = 64;
/// After a stop (a signal), how long the followers get to end the repetition before the
/// leader shuts their connections down.
pub const STOP_GRACE: Duration = Duration::from_millis(800);
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
    // The followers are this process's threads; a fresh token keeps any other peer out.
    let token = crate::auth::new_token().map_err(|e| io_error("a run token", dir, e))?;
    let token = token.as_str();
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
                    follower::join(addr, LOCAL_JOIN_TIMEOUT, token, stop).map_err(|reason| {
                        FollowerFailure {
                            reason,
                            partial: Default::default(),
                            done: Vec::new(),
                        }
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
            match serve::accept_followers(&listener, f, 1, LOCAL_JOIN_TIMEOUT, stop, token) {
                Ok(l) => links.extend(l),
                Err(e) if stop.load(Ordering::Relaxed) => {
                    serve::goodbye(&links);
                    return Err(RunError::Interrupted(format!(
                        "while the in-process followers joined: {e}"
                    )));
                }
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
/// and served by its own thread with a `--fetch-engine` instance. In four steps, as the read
/// runner's repetition: `set_up` before the clock starts, `Roles::run` (the threads, and the
/// followers' drain), `Ran::finish` (each thread's outcome, a panic or error turned into the
/// repetition's error), and `assemble` (the figures).
pub fn lead(
    cfg: &ReplicaConfig,
    dir: &Path,
    rep: &str,
    clock: Arc<dyn Clock>,
    stop: &AtomicBool,
    faults: &Faults,
    links: &mut [Link],
) -> Result<RepOutcome, RunError> {
    let Setup {
        shape,
        leader_dir,
        leader_log,
        leader_flushes,
        prewritten_bytes,
        mut engines,
        shared,
        gone,
    } = set_up(cfg, dir, rep, &clock, links)?;
    let roles = Roles {
        cfg,
        shape,
        clock: &clock,
        stop,
        faults,
        shared: &shared,
        gone: &gone,
        followers_stop: AtomicBool::new(false),
    };
    let ran = roles.run(leader_log, links, &mut engines);
    let finished = ran.finish(dir, cfg.rf - 1, prewritten_bytes, leader_flushes.times())?;
    if let Some(why) = finished.by_follower.iter().find_map(|f| f.refused.clone()) {
        return Err(RunError::Engine(EngineError::Corrupt {
            path: dir.to_path_buf(),
            position: 0,
            reason: why,
        }));
    }
    let lost: Vec<(u32, String)> = links
        .iter()
        .filter_map(|l| l.lost.clone().map(|why| (l.follower, why)))
        .collect();
    let behind = finished.behind.clone();
    let repetition = assemble(cfg, shape, finished, &shared.lock(), &lost);
    Ok(RepOutcome {
        repetition,
        leader_dir,
        follower_dirs: Vec::new(),
        behind,
        lost,
        interrupted: stop.load(Ordering::Relaxed),
    })
}

/// What [`set_up`] hands the run: everything made before the clock starts.
struct Setup {
    /// The size of every batch.
    shape: Shape,
    /// The leader's data directory.
    leader_dir: PathBuf,
    /// The leader's partition logs (or, `--leader-engine null`, its pre-written log).
    leader_log: LeaderLog,
    /// The leader's flush policy, which times its flushes.
    leader_flushes: FlushSetup,
    /// Bytes written before the clock started (`--leader-engine null` only).
    prewritten_bytes: Option<u64>,
    /// One `--fetch-engine` instance per link.
    engines: Vec<Box<dyn ReadEngine>>,
    /// The replica state every role shares.
    shared: Shared,
    /// Per link: set once its connection was lost or its fetch server ended.
    gone: Vec<AtomicBool>,
}

/// Sets one repetition up before the clock starts: the leader's log, a fetch engine per
/// link, each live follower told to start (a follower that cannot be told is lost), and the
/// replica state with every follower in sync.
fn set_up(
    cfg: &ReplicaConfig,
    dir: &Path,
    rep: &str,
    clock: &Arc<dyn Clock>,
    links: &mut [Link],
) -> Result<Setup, RunError> {
    let shape = cfg.check().map_err(RunError::Unsupported)?;
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
    start_followers(cfg, shape, &layout, rep, links);
    let gone = links
        .iter()
        .map(|l| AtomicBool::new(l.lost.is_some()))
        .collect();
    let shared = Shared::new(ReplicaState::new(
        cfg.partitions,
        cfg.rf - 1,
        cfg.lag_time_max.as_nanos() as u64,
        clock.now_ns(),
    ));
    Ok(Setup {
        shape,
        leader_dir,
        leader_log,
        leader_flushes,
        prewritten_bytes,
        engines,
        shared,
        gone,
    })
}

/// Tells each live follower how to lay out its logs for repetition `rep`; one that cannot be
/// told is marked lost.
fn start_followers(
    cfg: &ReplicaConfig,
    shape: Shape,
    layout: &LogLayout,
    rep: &str,
    links: &mut [Link],
) {
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
}

/// What every role's thread borrows for the run.
struct Roles<'a> {
    cfg: &'a ReplicaConfig,
    shape: Shape,
    clock: &'a Arc<dyn Clock>,
    /// The run's stop flag (a signal): the producers stop.
    stop: &'a AtomicBool,
    faults: &'a Faults,
    shared: &'a Shared,
    /// Per link: set once its connection was lost or its fetch server ended.
    gone: &'a [AtomicBool],
    /// Set after the drain: the fetch servers, the consumer and the lag sampler stop.
    followers_stop: AtomicBool,
}

/// What the roles' threads gave, joined (a thread that panicked is an `Err` here).
struct Ran {
    produced: std::thread::Result<ProducerResult>,
    /// The process's CPU from the start of the run to the producers' end.
    cpu: CpuSnapshot,
    /// Largest leader LEO − follower LEO when the producers stopped.
    lag_end: i64,
    leader: std::thread::Result<Result<(u64, f64), EngineError>>,
    behind: Vec<u32>,
    caught_up_ns: Option<u64>,
    served: Vec<std::thread::Result<Result<(u32, Served), EngineError>>>,
    consumed: Option<std::thread::Result<Result<ConsumerResult, EngineError>>>,
    lag: std::thread::Result<LagResult>,
}

impl Roles<'_> {
    /// Runs every role as a thread — the leader's request loop, a fetch server per live
    /// link, the end-to-end consumer (unless `--no-consumer`), the lag sampler and the
    /// producers — until the producers end; then lets the followers catch up
    /// ([`Roles::drain`]), stops them and joins everything.
    fn run(
        &self,
        leader_log: LeaderLog,
        links: &mut [Link],
        engines: &mut [Box<dyn ReadEngine>],
    ) -> Ran {
        let (cfg, clock, shared) = (self.cfg, self.clock, self.shared);
        let followers = cfg.rf - 1;
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
        let sockets: Vec<std::net::TcpStream> = links
            .iter()
            .filter(|l| l.lost.is_none())
            .filter_map(|l| l.stream.try_clone().ok())
            .collect();
        let joined = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| cut_after_stop(self.stop, &joined, &sockets));
            let leader = {
                let clock = clock.clone();
                s.spawn(move || {
                    run_leader(shared, leader_log, req_rx, rep_txs, cfg, clock.as_ref())
                })
            };
            let mut handles = Vec::new();
            for ((link, engine), gone) in links.iter_mut().zip(engines.iter_mut()).zip(self.gone) {
                if link.lost.is_some() {
                    continue;
                }
                let clock = clock.clone();
                let fstop = &self.followers_stop;
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
                let (clock, cstop) = (clock.clone(), &self.followers_stop);
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
                let (clock, lstop) = (clock.clone(), &self.followers_stop);
                s.spawn(move || run_lag_sampler(shared, followers as usize, lstop, clock.as_ref()))
            };
            let produced = self.produce(s, &plans, rep_rxs, req_tx, announce_tx);
            let cpu = CpuSnapshot::process().since(&cpu0);
            let lag_end = shared.lock().lag_now();
            let leader = leader.join();
            let behind = self.drain();
            // The last live follower reached the leader's end (leader's clock).
            let caught_up_ns = behind.is_empty().then(|| clock.now_ns());
            self.followers_stop.store(true, Ordering::Release);
            shared.data.notify_all();
            let served = handles.into_iter().map(|h| h.join()).collect();
            joined.store(true, Ordering::Release);
            Ran {
                produced,
                cpu,
                lag_end,
                leader,
                behind,
                caught_up_ns,
                served,
                consumed: consumer.map(|c| c.join()),
                lag: lag.join(),
            }
        })
    }

    /// Runs a producer thread per plan, on one timeline base (their figures merge), and
    /// merges their figures once every one has ended; the leader ends when the last one hangs up.
    fn produce<'s, 'e>(
        &'e self,
        s: &'s Scope<'s, 'e>,
        plans: &'e [ProducerPlan],
        replies: Vec<Receiver<ProduceReply>>,
        requests: SyncSender<Produce>,
        announce: Sender<Produced>,
    ) -> std::thread::Result<ProducerResult> {
        let base_ns = self.clock.now_ns();
        let handles: Vec<_> = plans
            .iter()
            .zip(replies)
            .map(|(plan, rep_rx)| {
                let (clock, req_tx) = (self.clock.clone(), requests.clone());
                let announce = announce.clone();
                s.spawn(move || {
                    run_producer(
                        self.shared,
                        self.cfg,
                        self.shape,
                        plan,
                        base_ns,
                        req_tx,
                        rep_rx,
                        &announce,
                        self.stop,
                        clock.as_ref(),
                    )
                })
            })
            .collect();
        drop((requests, announce));
        let mut all = handles.into_iter().map(|h| h.join());
        all.next()
            .unwrap_or(Err(Box::new("no producer")))
            .and_then(|mut first| {
                for r in all {
                    first.merge(&r?);
                }
                Ok(first)
            })
    }

    /// Waits, at most [`DRAIN_TIMEOUT`], until every follower that is neither paused nor gone
    /// has reached the leader's log end on every partition; returns those still behind.
    fn drain(&self) -> Vec<u32> {
        let followers = (self.cfg.rf - 1) as usize;
        let t0 = Instant::now();
        loop {
            let behind: Vec<u32> = {
                let st = self.shared.lock();
                (0..followers)
                    .filter(|&f| {
                        !self
                            .faults
                            .pause
                            .get(f)
                            .is_some_and(|a| a.load(Ordering::Acquire))
                    })
                    .filter(|&f| !self.gone.get(f).is_some_and(|g| g.load(Ordering::Acquire)))
                    .filter(|&f| st.parts.iter().any(|p| p.followers[f].leo < p.leo))
                    .map(|f| f as u32 + 1)
                    .collect()
            };
            // A stop (a signal) does not wait for the followers.
            if behind.is_empty()
                || t0.elapsed() >= DRAIN_TIMEOUT
                || self.stop.load(Ordering::Relaxed)
            {
                return behind;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Once `stop` is set (a signal), the followers get [`STOP_GRACE`] to end the repetition;
/// after it their connections are shut down, so no peer (silent, or not reading) holds the
/// leader past it. Ends when `joined` is set.
fn cut_after_stop(stop: &AtomicBool, joined: &AtomicBool, sockets: &[std::net::TcpStream]) {
    let mut stopped_at = None;
    while !joined.load(Ordering::Acquire) {
        if stop.load(Ordering::Relaxed) {
            let t = *stopped_at.get_or_insert_with(Instant::now);
            if t.elapsed() >= STOP_GRACE {
                for s in sockets {
                    let _ = s.shutdown(std::net::Shutdown::Both);
                }
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Ran {
    /// Each role's outcome: a thread that panicked, or a role that failed, is the
    /// repetition's error (producer, leader, consumer, lag sampler, then fetch servers);
    /// `followers` fetch servers' figures by follower (default for one not served).
    fn finish(
        self,
        dir: &Path,
        followers: u32,
        prewritten_bytes: Option<u64>,
        leader_flushes: Hist,
    ) -> Result<Finished, RunError> {
        let panicked = |role: &str| {
            RunError::Engine(EngineError::Corrupt {
                path: dir.to_path_buf(),
                position: 0,
                reason: format!("the {role} thread panicked"),
            })
        };
        let produced = self.produced.map_err(|_| panicked("producer"))?;
        let (leader_bytes, leader_cpu_s) = self.leader.map_err(|_| panicked("leader"))??;
        let consumed = match self.consumed {
            Some(c) => Some(c.map_err(|_| panicked("consumer"))??),
            None => None,
        };
        let lag = self.lag.map_err(|_| panicked("lag sampler"))?;
        let mut by_follower: Vec<Served> = vec![Served::default(); followers as usize];
        for s in self.served {
            let (f, s) = s.map_err(|_| panicked("fetch server"))??;
            by_follower[f as usize - 1] = s;
        }
        Ok(Finished {
            produced,
            cpu: self.cpu,
            lag_end: self.lag_end,
            leader_bytes,
            leader_cpu_s,
            leader_flushes,
            prewritten_bytes,
            behind: self.behind,
            caught_up_ns: self.caught_up_ns,
            by_follower,
            consumed,
            lag,
        })
    }
}
