//! Fleet: one segbench run across many hosts. segbench deploys nothing: a launcher (srun,
//! mpirun, ssh, a Kubernetes Indexed Job) starts one `segbench fleet run` per host; rank 0
//! hosts a run-scoped rendezvous (register, probe, clock offsets, a barrier and a start time per
//! phase, gather) and writes the cluster's results. Each rank's phase work is a child process of
//! the same binary, so the coordination stays a thin layer.
//!
//! - [`rank`]: who am I (Slurm, MPI, Kubernetes, flags);
//! - [`proto`]: size-bounded frames and messages, the run token;
//! - [`clock`]: minimum-RTT clock offsets;
//! - [`rendezvous`]: admitting ranks, joining, links with heartbeats;
//! - [`child`]: the phase's child processes; [`retrans`]: the kernel's TCP retransmissions;
//! - [`sync`]: the barrier before every measured repetition of a local phase;
//! - [`worker`]: one rank's side; [`coordinator`]: rank 0's; [`report`]: the results;
//! - [`ssh`]: `segbench fleet ssh`, a launcher over OpenSSH ([`exec`]: its bounded commands); [`k8s`]: `segbench fleet k8s`, an
//!   Indexed Job's manifest.

pub mod child;
pub mod clock;
pub mod coordinator;
pub mod exec;
pub mod k8s;
pub mod proto;
pub mod rank;
pub mod rendezvous;
pub mod report;
pub mod retrans;
#[cfg(test)]
pub mod sim;
pub mod ssh;
pub mod sync;
pub mod worker;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use results::fleet::FleetFailure;
use results::Baseline;

use crate::meta::RunMeta;
use crate::{bad_input, CheckFailed};
use coordinator::{plan_steps, Coordinator, NetworkMode, StepKind};
use proto::Msg;
use rank::Placement;
use worker::WorkerConfig;

/// A validated fleet run.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// This process's place.
    pub placement: Placement,
    /// The shared token (empty for a run of one rank without one).
    pub token: String,
    /// How long ranks may take to join.
    pub join_timeout: Duration,
    /// Network phase.
    pub network: NetworkMode,
    /// Replication phase: its replication factor (rank 0 leads, ranks 1 … rf − 1 follow).
    pub replicate: Option<u32>,
    /// Run the scaling subsets.
    pub scaling: bool,
    /// Results directory of rank 0 (default `segbench-results/<run-id>`).
    pub out: Option<PathBuf>,
    /// Baseline for the results file.
    pub baseline: Baseline,
    /// This rank's worker (children, host, fingerprint).
    pub worker: WorkerConfig,
}

/// Takes part in the run; rank 0 also leads it. Exit code as the other commands.
pub fn run(cfg: FleetConfig, stop: Arc<AtomicBool>) -> anyhow::Result<u8> {
    if cfg.placement.rank == 0 {
        return lead(cfg, stop);
    }
    match worker::run(&cfg.worker, &stop) {
        Ok(()) => Ok(0),
        Err(worker::WorkerError::Interrupted) => Ok(interrupted(cfg.placement.rank)),
        Err(e) => Err(worker_error(e, cfg.placement.rank)),
    }
}

/// The exit of a rank a signal stopped: 128 + the signal, as the other commands.
fn interrupted(rank: u32) -> u8 {
    eprintln!("segbench fleet: rank {rank} interrupted; every rank was told to stop");
    crate::signals::install().exit_code().unwrap_or(130)
}

/// The exit a worker's failure maps to: a refusal is bad input or environment (2), a signal
/// its code, anything else 1.
fn worker_error(e: worker::WorkerError, rank: u32) -> anyhow::Error {
    use rendezvous::JoinError;
    use worker::WorkerError as W;
    match e {
        W::Join(JoinError::Refused(r)) => bad_input(format!(
            "rank {rank}: the rendezvous refused this rank: {r} (check {} and --size)",
            proto::TOKEN_ENV
        )),
        e => anyhow::Error::new(CheckFailed(format!("rank {rank}: {e}"))),
    }
}

/// Rank 0's rendezvous listener on `coordinator` (HOST:PORT; loopback, any port, when empty):
/// the listener, its address, and the address rank 0's own worker connects to.
fn listen(coordinator: &str) -> anyhow::Result<(TcpListener, SocketAddr, SocketAddr)> {
    let bind = if coordinator.is_empty() {
        SocketAddr::from(([127, 0, 0, 1], 0))
    } else {
        rendezvous::bind_address(coordinator).map_err(|e| {
            bad_input(format!(
                "--coordinator {coordinator}: {e} (give HOST:PORT of rank 0)"
            ))
        })?
    };
    let listener = TcpListener::bind(bind).map_err(|e| {
        bad_input(format!(
            "cannot listen on {bind}: {e} (another run on this port? choose one with --port)"
        ))
    })?;
    let local = listener.local_addr()?;
    let connect = if local.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], local.port()))
    } else {
        local
    };
    Ok((listener, local, connect))
}

/// File descriptors rank 0 needs for `size` ranks: each link holds its socket and a clone
/// (reader and writer), plus the listener, the unauthenticated connections, the children and
/// their pipes, and the results files.
pub fn fds_needed(size: u32) -> u64 {
    2 * u64::from(size) + crate::auth::MAX_UNAUTHENTICATED as u64 + 64
}

/// Raises the soft limit of open files to what `size` ranks need (up to the hard limit); one
/// line naming the limit and the fix when the hard limit is too low.
pub fn raise_fd_limit(size: u32) -> Result<(), String> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let need = fds_needed(size);
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|e| format!("cannot read the open-file limit: {e}"))?;
    if soft >= need {
        return Ok(());
    }
    if hard < need {
        return Err(format!(
            "{size} ranks need about {need} open files on rank 0 and the limit is {hard}: \
             raise it (ulimit -n {need}, or LimitNOFILE= for a service) or use fewer ranks"
        ));
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
        .map_err(|e| format!("cannot raise the open-file limit to {hard}: {e}"))
}

/// Threads rank 0 starts for `size` ranks: each link's reader and heartbeat, and a margin.
fn threads_needed(size: u32) -> u64 {
    2 * u64::from(size) + 64
}

/// The most threads this process may have: the kernel's `threads-max` and `pid_max` (a thread
/// takes a pid) and `RLIMIT_NPROC`, whichever is lowest.
fn thread_limit() -> u64 {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(u64::MAX)
    };
    let nproc = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NPROC)
        .map_or(u64::MAX, |(soft, _)| soft);
    read("/proc/sys/kernel/threads-max")
        .min(read("/proc/sys/kernel/pid_max"))
        .min(nproc)
}

/// Refuses `size` ranks whose link threads rank 0 could not start under `limit` (a failed
/// thread spawn while ranks join), naming the limits and the fix.
fn check_threads(size: u32, limit: u64) -> Result<(), String> {
    let need = threads_needed(size);
    if need > limit {
        return Err(format!(
            "{size} ranks need about {need} threads on rank 0 (2 per rank) and this machine \
             allows {limit} (kernel.threads-max, kernel.pid_max, ulimit -u): raise them or use \
             fewer ranks"
        ));
    }
    Ok(())
}

/// Rank 0: listen, run its own worker in a thread, admit, measure clocks, drive the steps,
/// write the results.
fn lead(cfg: FleetConfig, stop: Arc<AtomicBool>) -> anyhow::Result<u8> {
    let p = &cfg.placement;
    raise_fd_limit(p.size).map_err(bad_input)?;
    check_threads(p.size, thread_limit()).map_err(bad_input)?;
    let (listener, local, connect) = listen(&p.coordinator)?;
    let meta = RunMeta::now();
    eprintln!(
        "segbench fleet: rank 0 of {} ({}), run {}, rendezvous on {local}",
        p.size,
        p.launcher.name(),
        meta.id
    );
    let mut own_cfg = cfg.worker.clone();
    own_cfg.coordinator = connect.to_string();
    let own_stop = stop.clone();
    let own = std::thread::spawn(move || worker::run(&own_cfg, &own_stop));

    let deadline = Instant::now() + cfg.join_timeout;
    let (members, missing) =
        rendezvous::admit(&listener, &meta.id, &cfg.token, p.size, deadline, &stop)?;
    drop(listener);
    if !missing.is_empty() && stop.load(std::sync::atomic::Ordering::Relaxed) {
        // A signal during the join: not a rank's fault, the run was interrupted.
        members.broadcast(&Msg::Abort {
            reason: "rank 0 was interrupted by a signal during the join".into(),
        });
        drop(members);
        let _ = own.join();
        eprintln!(
            "segbench fleet: interrupted during the join ({} of {} ranks had joined); nothing was run",
            p.size as usize - missing.len(),
            p.size
        );
        return Ok(interrupted(0));
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|r| r.to_string()).collect();
        let reason = format!(
            "rank{} {} never joined within {} s",
            if missing.len() > 1 { "s" } else { "" },
            list.join(", "),
            cfg.join_timeout.as_secs_f64()
        );
        members.broadcast(&Msg::Abort {
            reason: reason.clone(),
        });
        drop(members);
        let _ = own.join();
        return Err(anyhow::Error::new(CheckFailed(format!(
            "{reason} (rendezvous {local}; start every rank with the same --size, {} and --coordinator)",
            proto::TOKEN_ENV
        ))));
    }
    let mut c = Coordinator::new(members, &stop);
    let dir = cfg
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("segbench-results").join(&meta.id));
    let mut gathered = report::Gathered::new(&dir);
    let outcome = drive(&cfg, &mut c, &mut gathered);
    match &outcome {
        Ok(()) => c.members.broadcast(&Msg::Finish),
        Err(f) => {
            eprintln!(
                "segbench fleet: stopping every rank: rank {} ({}): {}",
                f.rank.map(|r| r.to_string()).unwrap_or_else(|| "?".into()),
                f.host.as_deref().unwrap_or("unknown host"),
                f.reason
            );
            c.members.broadcast(&Msg::Abort {
                reason: f.reason.clone(),
            });
        }
    }
    let _ = own.join();
    let facts = report::RunFacts {
        meta: &meta,
        launcher: p.launcher.name(),
        coordinator: if p.coordinator.is_empty() {
            "none (one rank)"
        } else {
            &p.coordinator
        },
        size: p.size,
        baseline: cfg.baseline.clone(),
    };
    let failure = outcome.err();
    let file = report::build(&facts, &c, gathered, failure.clone());
    report::write(&dir, &file)?;
    crate::output::print(&report::summary(&file))?;
    eprintln!("segbench fleet: results in {}/results.json", dir.display());
    match failure {
        None => Ok(0),
        Some(f) if f.rank == Some(0) && crate::signals::install().exit_code().is_some() => {
            Ok(interrupted(0))
        }
        Some(f) => Err(anyhow::Error::new(CheckFailed(format!(
            "the fleet run stopped: rank {} ({}): {}; partial results in {}",
            f.rank.map(|r| r.to_string()).unwrap_or_else(|| "?".into()),
            f.host.as_deref().unwrap_or("unknown host"),
            f.reason,
            dir.display()
        )))),
    }
}

/// Clocks, then every step; a rank whose child produced nothing ends the run.
fn drive(
    cfg: &FleetConfig,
    c: &mut Coordinator<'_>,
    g: &mut report::Gathered,
) -> Result<(), FleetFailure> {
    c.measure_clocks()?;
    let steps = plan_steps(cfg.placement.size, cfg.network, cfg.replicate, cfg.scaling);
    for (i, (name, kind)) in steps.into_iter().enumerate() {
        eprintln!("segbench fleet: step {i}: {name}");
        let done = c.step(i as u32, &name, &kind)?;
        // A follower that fails is named in the replication results; the leader must produce.
        let produces = |rank: u32| match kind {
            StepKind::Local { .. } | StepKind::Pairs(_) => true,
            StepKind::Replicate { .. } => rank == 0,
            _ => false,
        };
        let broken = done
            .iter()
            .find(|d| d.result.is_none() && d.error.is_some() && produces(d.rank))
            .map(|d| (d.rank, d.error.clone().unwrap_or_default()));
        g.add(&name, &kind, done, c);
        if let Some((rank, e)) = broken {
            return Err(c.failure(Some(rank), format!("phase {name}: {e}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_file_limit_is_raised_or_the_size_refused_naming_the_fix() {
        use nix::sys::resource::{getrlimit, Resource};
        assert!(fds_needed(256) > 512);
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let size = rank::MAX_RANKS;
        match raise_fd_limit(size) {
            Ok(()) => assert!(hard >= fds_needed(size)),
            Err(e) => {
                assert!(hard < fds_needed(size));
                assert!(
                    e.contains("ulimit -n") && e.contains(&hard.to_string()),
                    "{e}"
                );
            }
        }
        assert!(raise_fd_limit(4).is_ok());
        // Threads: 65,536 ranks need 131,136, past a pid_max of 32,768.
        assert!(check_threads(256, 32_768).is_ok());
        let e = check_threads(65_536, 32_768).unwrap_err();
        assert!(e.contains("131136") && e.contains("pid_max"), "{e}");
        let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert!(soft >= fds_needed(4));
    }
}
