//! One rank's side of a fleet run (rank 0 runs it too, in a thread, over loopback): join the
//! rendezvous, then per step get ready (start a sink when asked), wait for the start time in
//! this host's clock, run the step's child, and report its window and results. While a local
//! step's child runs, the rank relays its barrier before every measured repetition to rank 0
//! and rank 0's start back ([`super::sync`]). Rank 0's Abort, a lost link or a signal stops the
//! child at once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::child::{free_port, start_sink, Running, Scratch};
use super::clock::realtime_ns;
use super::proto::{Msg, Task};
use super::rendezvous::{join, Event, JoinError, Link};
use super::sync::{Relay, SYNC_ARG};
use results::fleet::ReplicaFollower;

/// Fault injection for tests (documented in the README, "Fleet"): set in a following rank's
/// environment, its `replicate --role follower` child is given this value as `--leader`
/// instead of rank 0's address, so a test can make one follower fail before it joins.
pub const TEST_LEADER_ENV: &str = "SEGBENCH_FLEET_TEST_FOLLOWER_LEADER";

/// How often the worker looks at its messages, the stop flag and its child.
const TICK: Duration = Duration::from_millis(50);

/// The command lines of a rank's children (without their per-step outputs).
#[derive(Debug, Clone, Default)]
pub struct ChildPlan {
    /// `run …` arguments of the local phase, without `--out`.
    pub local: Vec<String>,
    /// `read …` arguments of the network phase, without `--sink` and `--out`.
    pub read: Vec<String>,
    /// `replicate --role leader …` arguments of the replication phase, without `--listen`
    /// and `--out`.
    pub leader: Vec<String>,
    /// `replicate --role follower …` arguments of the replication phase, without `--leader`.
    pub follower: Vec<String>,
    /// Working directory of the children (their data directories go there by default).
    pub cwd: PathBuf,
}

/// What a rank needs to take part.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Its rank.
    pub rank: u32,
    /// Ranks in the run.
    pub size: u32,
    /// Rank 0's rendezvous, HOST:PORT.
    pub coordinator: String,
    /// The run's token.
    pub token: String,
    /// How long to keep trying to reach rank 0.
    pub join_timeout: Duration,
    /// The first Slurm node, whose NodeAddr is looked up when the coordinator does not resolve.
    pub slurm_node: Option<String>,
    /// Host name.
    pub host: String,
    /// Hardware fingerprint.
    pub fingerprint: Option<String>,
    /// The children to run.
    pub plan: ChildPlan,
}

/// How a rank's part ended badly.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// It could not join.
    #[error(transparent)]
    Join(#[from] JoinError),
    /// Rank 0 vanished.
    #[error("lost rank 0: {0}")]
    Lost(String),
    /// Rank 0 stopped the run.
    #[error("rank 0 stopped the run: {0}")]
    Aborted(String),
    /// This rank's own work failed.
    #[error("{0}")]
    Failed(String),
    /// A signal stopped this rank.
    #[error("interrupted by a signal")]
    Interrupted,
}

/// Why a wait was cut short.
enum Cut {
    Abort(String),
    Lost(String),
    Signal,
}

impl From<Cut> for WorkerError {
    fn from(c: Cut) -> Self {
        match c {
            Cut::Abort(r) => WorkerError::Aborted(r),
            Cut::Lost(r) => WorkerError::Lost(r),
            Cut::Signal => WorkerError::Interrupted,
        }
    }
}

/// Looks for a message that ends the wait (Abort, lost link, signal); another message is
/// returned (callers that expect none drop it).
fn check(rx: &Receiver<Event>, stop: &AtomicBool, wait: Duration) -> Result<Option<Msg>, Cut> {
    if stop.load(Ordering::Relaxed) {
        return Err(Cut::Signal);
    }
    match rx.recv_timeout(wait) {
        Ok(Event::Msg(_, Msg::Abort { reason })) => Err(Cut::Abort(reason)),
        Ok(Event::Msg(_, m)) => Ok(Some(m)),
        Ok(Event::Lost(_, why)) => Err(Cut::Lost(why)),
        Err(RecvTimeoutError::Disconnected) => Err(Cut::Lost("link closed".into())),
        Err(RecvTimeoutError::Timeout) => Ok(None),
    }
}

/// The Slurm NodeAddr of `node` (`scontrol show node NAME`), bounded to a few seconds.
pub fn slurm_node_addr(node: &str) -> Option<String> {
    let mut child = std::process::Command::new("scontrol")
        .args(["show", "node", node])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    node_addr(&String::from_utf8_lossy(&out.stdout))
}

/// The `NodeAddr=` of `scontrol show node` output.
pub fn node_addr(scontrol: &str) -> Option<String> {
    scontrol
        .split_whitespace()
        .find_map(|w| w.strip_prefix("NodeAddr=").map(str::to_string))
        .filter(|a| !a.is_empty())
}

/// Takes part in the run until rank 0 says Finish (Ok) or something stops it.
pub fn run(cfg: &WorkerConfig, stop: &AtomicBool) -> Result<(), WorkerError> {
    let register = Msg::Register {
        rank: cfg.rank,
        size: cfg.size,
        host: cfg.host.clone(),
        addr: String::new(),
        fingerprint: cfg.fingerprint.clone(),
    };
    let port = cfg.coordinator.rsplit(':').next().unwrap_or("").to_string();
    let fallback = || {
        cfg.slurm_node
            .as_deref()
            .and_then(slurm_node_addr)
            .map(|a| format!("{a}:{port}"))
    };
    let (link, rx) = join(
        &cfg.coordinator,
        &cfg.token,
        &register,
        cfg.join_timeout,
        stop,
        &fallback,
    )?;
    let scratch = Scratch::create(cfg.rank)
        .map_err(|e| WorkerError::Failed(format!("cannot create a scratch directory: {e}")))?;
    let mut held = Held::default();
    let outcome = steps(cfg, &link, &rx, stop, &scratch, &mut held);
    if let Some(s) = held.sink.take() {
        s.stop();
    }
    if let Some((l, _)) = held.leader.take() {
        l.stop();
    }
    if let Err(e) = &outcome {
        let reason = match e {
            WorkerError::Interrupted => {
                format!(
                    "interrupted by a signal on rank {} ({})",
                    cfg.rank, cfg.host
                )
            }
            WorkerError::Failed(m) => format!("rank {} ({}): {m}", cfg.rank, cfg.host),
            _ => String::new(),
        };
        if !reason.is_empty() {
            let _ = link.send(&Msg::Abort { reason });
        }
    }
    link.close();
    outcome
}

/// Children that outlive the step that started them.
#[derive(Debug, Default)]
struct Held {
    /// The network phase's sink.
    sink: Option<Running>,
    /// The replication leader, with the file it writes its results to.
    leader: Option<(Running, PathBuf)>,
}

fn steps(
    cfg: &WorkerConfig,
    link: &Link,
    rx: &Receiver<Event>,
    stop: &AtomicBool,
    scratch: &Scratch,
    held: &mut Held,
) -> Result<(), WorkerError> {
    let send = |m: &Msg| {
        link.send(m)
            .map_err(|e| WorkerError::Lost(format!("cannot send to rank 0: {e}")))
    };
    let mut pending: Option<(u32, Task)> = None;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(WorkerError::Interrupted);
        }
        let m = match rx.recv_timeout(TICK) {
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(WorkerError::Lost("link closed".into()))
            }
            Ok(Event::Lost(_, why)) => return Err(WorkerError::Lost(why)),
            Ok(Event::Msg(_, m)) => m,
        };
        match m {
            Msg::Prepare { step, task, .. } => {
                let mut port = None;
                match &task {
                    Task::Sink { listen_ip } => {
                        let ip = listen_ip.parse().map_err(|e| {
                            WorkerError::Failed(format!("sink address {listen_ip}: {e}"))
                        })?;
                        let p = free_port(ip).map_err(|e| {
                            WorkerError::Failed(format!("no free port on {ip}: {e}"))
                        })?;
                        let s = start_sink(std::net::SocketAddr::new(ip, p), &cfg.plan.cwd)
                            .map_err(WorkerError::Failed)?;
                        held.sink = Some(s);
                        port = Some(p);
                    }
                    Task::StopSink => {
                        if let Some(s) = held.sink.take() {
                            s.stop();
                        }
                    }
                    Task::ReplicaLeader { listen_ip } => {
                        let (l, p) = start_leader(cfg, step, listen_ip, scratch)?;
                        held.leader = Some(l);
                        port = Some(p);
                    }
                    _ => {}
                }
                pending = Some((step, task));
                send(&Msg::Ready {
                    step,
                    port,
                    label: None,
                })?;
            }
            Msg::StartAt {
                step,
                start_ns,
                label: None,
            } => {
                let Some((s, task)) = pending.take().filter(|(s, _)| *s == step) else {
                    return Err(WorkerError::Failed(format!(
                        "start of step {step} without Prepare"
                    )));
                };
                while realtime_ns() < start_ns {
                    let left = Duration::from_nanos((start_ns - realtime_ns()).max(0) as u64);
                    check(rx, stop, left.min(TICK))?;
                }
                let done = execute(cfg, s, &task, link, rx, stop, scratch, held)?;
                send(&done)?;
            }
            Msg::Finish => return Ok(()),
            Msg::Abort { reason } => return Err(WorkerError::Aborted(reason)),
            _ => {}
        }
    }
}

/// Starts the replication leader listening on `listen_ip` (a free port); it waits for its
/// followers, which start with the next step. Returns it, with its results file, and the port.
fn start_leader(
    cfg: &WorkerConfig,
    step: u32,
    listen_ip: &str,
    scratch: &Scratch,
) -> Result<((Running, PathBuf), u16), WorkerError> {
    let ip: std::net::IpAddr = listen_ip
        .parse()
        .map_err(|e| WorkerError::Failed(format!("leader address {listen_ip}: {e}")))?;
    let p = free_port(ip).map_err(|e| WorkerError::Failed(format!("no free port on {ip}: {e}")))?;
    let out = scratch.path().join(format!("step{step}-leader.json"));
    let mut a = cfg.plan.leader.clone();
    a.extend([
        "--listen".into(),
        std::net::SocketAddr::new(ip, p).to_string(),
        "--out".into(),
        out.display().to_string(),
    ]);
    let what = "segbench replicate --role leader";
    let l = Running::spawn(&a, &cfg.plan.cwd, what)
        .map_err(|e| WorkerError::Failed(format!("cannot start {what}: {e}")))?;
    Ok(((l, out), p))
}

/// A following rank's figures from its `segbench replicate --role follower` summary (stdout)
/// and its exit (`failed`: why it failed, when it did).
pub fn follower_figures(rank: u32, stdout: &str, failed: Option<String>) -> ReplicaFollower {
    let mut f = ReplicaFollower {
        rank,
        error: failed,
        ..Default::default()
    };
    let doc: serde_json::Value = match serde_json::from_str(stdout.trim()) {
        Ok(d) => d,
        Err(e) => {
            let why = format!("no summary from the follower ({e})");
            f.error = Some(f.error.map_or(why.clone(), |x| format!("{x}; {why}")));
            return f;
        }
    };
    f.follower = doc["follower"].as_u64().map(|n| n as u32);
    if let Some(e) = doc["error"].as_str() {
        f.error = Some(e.to_string());
    }
    for r in doc["repetitions"].as_array().into_iter().flatten() {
        f.bytes += r["bytes"].as_u64().unwrap_or(0);
        f.fetches += r["fetches"].as_u64().unwrap_or(0);
        f.cpu_s += r["cpu_s"].as_f64().unwrap_or(0.0);
        f.repetitions += 1;
    }
    f
}

/// Runs one step's task; returns its PhaseDone.
#[allow(clippy::too_many_arguments)]
fn execute(
    cfg: &WorkerConfig,
    step: u32,
    task: &Task,
    link: &Link,
    rx: &Receiver<Event>,
    stop: &AtomicBool,
    scratch: &Scratch,
    held: &mut Held,
) -> Result<Msg, WorkerError> {
    // A local step's child waits at the fleet barrier before every measured unit.
    let relay = match task {
        Task::Local => {
            let path = scratch.path().join(format!("step{step}.sock"));
            let r = Relay::bind(&path).map_err(|e| {
                WorkerError::Failed(format!("cannot listen on {}: {e}", path.display()))
            })?;
            Some((r, path))
        }
        _ => None,
    };
    let start_ns = realtime_ns();
    let retrans0 = super::retrans::read().filter(|_| matches!(task, Task::Read { .. }));
    let Some((child, out, results_path)) = start_child(
        cfg,
        step,
        task,
        relay.as_ref().map(|(_, p)| p.as_path()),
        scratch,
        held,
    )?
    else {
        return Ok(Msg::PhaseDone {
            step,
            start_ns,
            end_ns: start_ns,
            result: None,
            error: None,
            retransmits: None,
            follower: None,
        });
    };
    let what = child.what().to_string();
    let status = match &relay {
        None => watch(child, step, start_ns, None, rx, stop)?,
        Some((r, _)) => watch_relayed(child, step, start_ns, r, link, rx, stop)?,
    };
    let end_ns = realtime_ns();
    let retransmits = retrans0.and_then(|a| super::retrans::read().map(|b| b.saturating_sub(a)));
    let error = (!status.success()).then(|| format!("{what} exited with {status}"));
    let (result, follower) = if matches!(task, Task::Follow { .. }) {
        let stdout = std::fs::read_to_string(&results_path).unwrap_or_default();
        (
            None,
            Some(follower_figures(cfg.rank, &stdout, error.clone())),
        )
    } else {
        (results::io::read_results(&results_path).ok(), None)
    };
    let _ = if out.is_dir() {
        std::fs::remove_dir_all(&out)
    } else {
        std::fs::remove_file(&out)
    };
    Ok(Msg::PhaseDone {
        step,
        start_ns,
        end_ns,
        result: result.map(Box::new),
        error,
        retransmits,
        follower,
    })
}

/// The relay of a local step's child and where the relay thread puts its failure.
type Relayed<'a> = (&'a Relay, &'a std::sync::Mutex<Option<String>>);

/// Starts the child of a step that has one: `segbench run` for a local step (told the relay's
/// socket `relay`), `segbench read` for the network phase, the replication leader started
/// earlier ([`Held`]) or a follower. Returns the child, the output it writes (removed after
/// the step) and the results file in it; `None` for a step with no child on this rank.
fn start_child(
    cfg: &WorkerConfig,
    step: u32,
    task: &Task,
    relay: Option<&Path>,
    scratch: &Scratch,
    held: &mut Held,
) -> Result<Option<(Running, PathBuf, PathBuf)>, WorkerError> {
    let spawn = |args: &[String], what: &str, stdout: std::process::Stdio| {
        Running::spawn_to(args, &cfg.plan.cwd, what, stdout)
            .map_err(|e| WorkerError::Failed(format!("cannot start {what}: {e}")))
    };
    let null = std::process::Stdio::null;
    let started = match task {
        Task::Local => {
            let out = scratch.path().join(format!("step{step}"));
            let mut a = cfg.plan.local.clone();
            a.extend(["--out".into(), out.display().to_string(), "-q".into()]);
            if let Some(path) = relay {
                a.extend([SYNC_ARG.into(), path.display().to_string()]);
            }
            let r = out.join("results.json");
            (spawn(&a, "segbench run", null())?, out, r)
        }
        Task::Read { sink, .. } => {
            let out = scratch.path().join(format!("step{step}-read.json"));
            let mut a = cfg.plan.read.clone();
            a.extend([
                "--sink".into(),
                sink.clone(),
                "--out".into(),
                out.display().to_string(),
            ]);
            (spawn(&a, "segbench read", null())?, out.clone(), out)
        }
        Task::Lead => match held.leader.take() {
            Some((l, out)) => (l, out.clone(), out),
            None => {
                return Err(WorkerError::Failed(
                    "no replication leader was started".into(),
                ))
            }
        },
        Task::Follow { leader } => {
            let out = scratch.path().join(format!("step{step}-follower.json"));
            let file = std::fs::File::create(&out).map_err(|e| {
                WorkerError::Failed(format!("cannot create {}: {e}", out.display()))
            })?;
            let mut a = cfg.plan.follower.clone();
            let leader = std::env::var(TEST_LEADER_ENV).unwrap_or_else(|_| leader.clone());
            a.extend(["--leader".into(), leader]);
            let what = "segbench replicate --role follower";
            (spawn(&a, what, file.into())?, out.clone(), out)
        }
        _ => return Ok(None),
    };
    Ok(Some(started))
}

/// Watches a local step's child while `relay` serves its barrier requests (each one a Ready to
/// rank 0 over `link`); a relay failure or a failed watch aborts the other.
fn watch_relayed(
    child: Running,
    step: u32,
    start_ns: i64,
    r: &Relay,
    link: &Link,
    rx: &Receiver<Event>,
    stop: &AtomicBool,
) -> Result<std::process::ExitStatus, WorkerError> {
    let done = AtomicBool::new(false);
    let relay_failure = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        s.spawn(|| {
            let on_ready = |label: &str| {
                link.send(&Msg::Ready {
                    step,
                    port: None,
                    label: Some(label.to_string()),
                })
                .map_err(|e| format!("cannot send to rank 0: {e}"))
            };
            if let Err(e) = r.serve(&done, &on_ready) {
                if let Ok(mut f) = relay_failure.lock() {
                    *f = Some(e);
                }
            }
        });
        let out = watch(child, step, start_ns, Some((r, &relay_failure)), rx, stop);
        if let Err(e) = &out {
            r.abort(&e.to_string());
        }
        done.store(true, Ordering::Relaxed);
        out
    })
}

/// Watches `child` until it exits (its status), relaying rank 0's starts to it through
/// `relay`; rank 0's Abort, a lost link, a signal, or a broken relay stop it.
fn watch(
    mut child: Running,
    step: u32,
    phase_start_ns: i64,
    relay: Option<Relayed<'_>>,
    rx: &Receiver<Event>,
    stop: &AtomicBool,
) -> Result<std::process::ExitStatus, WorkerError> {
    let what = child.what().to_string();
    loop {
        match child.poll() {
            Ok(Some(s)) => return Ok(s),
            Ok(None) => {}
            Err(e) => {
                child.stop();
                return Err(WorkerError::Failed(format!("{what}: {e}")));
            }
        }
        let m = match check(rx, stop, TICK) {
            Ok(m) => m,
            Err(cut) => {
                child.stop();
                return Err(cut.into());
            }
        };
        let mut failed = relay.and_then(|(_, f)| f.lock().ok().and_then(|mut f| f.take()));
        if let (
            Some(Msg::StartAt {
                step: s,
                start_ns,
                label: Some(label),
            }),
            Some((r, _)),
        ) = (m, relay)
        {
            if s == step {
                if let Err(e) = r.go(&label, start_ns, start_ns - phase_start_ns) {
                    failed = failed.or(Some(e));
                }
            }
        }
        if let Some(e) = failed {
            child.stop();
            return Err(WorkerError::Failed(format!("fleet barrier: {e}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_addr_is_read_from_scontrol() {
        let text = "NodeName=sbn1 Arch=x86_64 CoresPerSocket=1\n   \
                    NodeAddr=198.18.0.2 NodeHostName=sbn1 Version=22.05.8\n";
        assert_eq!(node_addr(text).as_deref(), Some("198.18.0.2"));
        assert_eq!(node_addr("NodeName=x NodeAddr= State=IDLE"), None);
        assert_eq!(node_addr("Node sbn9 not found"), None);
    }

    #[test]
    fn follower_figures_sum_its_repetitions_and_name_its_failure() {
        let ok = r#"{"role":"follower","follower":2,"ok":true,"repetitions":[
            {"rep":"acks1-r0","bytes":100,"fetches":3,"cpu_s":0.25,"cpu_s_per_gb":null},
            {"rep":"acksall-r0","bytes":50,"fetches":2,"cpu_s":0.5,"cpu_s_per_gb":null}]}"#;
        let f = follower_figures(1, ok, None);
        assert_eq!(
            (f.rank, f.follower, f.bytes, f.fetches, f.repetitions),
            (1, Some(2), 150, 5, 2)
        );
        assert!((f.cpu_s - 0.75).abs() < 1e-9 && f.error.is_none());
        let lost = r#"{"role":"follower","follower":1,"ok":false,"error":"the leader went away",
            "repetitions":[],"partial":{"bytes":7}}"#;
        let f = follower_figures(2, lost, Some("exited with 1".into()));
        assert_eq!(f.error.as_deref(), Some("the leader went away"));
        assert_eq!(f.bytes, 0);
        let f = follower_figures(2, "", Some("exited with signal 9".into()));
        let e = f.error.unwrap();
        assert!(e.starts_with("exited with signal 9; no summary"), "{e}");
    }
}
