//! Tests only: simulated ranks, threads that speak the rendezvous protocol with a null workload
//! (each local step: one barrier per repetition, then a small results file), so the
//! coordinator runs with hundreds of ranks on one machine: join, clock offsets, the barrier
//! before every repetition, the gather and the results written.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use results::testing::{buffered_write, file_of, repetitions};

use super::clock::realtime_ns;
use super::coordinator::{plan_steps, Coordinator, NetworkMode};
use super::proto::{Msg, Task};
use super::rendezvous::{admit, join, Event, Link};
use super::report;

const TOKEN: &str = "simulated-ranks-token";
/// Longest wait of a simulated rank for its next message.
const QUIET: Duration = Duration::from_secs(60);

/// The next message for a simulated rank (heartbeats are answered by its link).
fn next(rx: &Receiver<Event>) -> Result<Msg, String> {
    match rx.recv_timeout(QUIET) {
        Ok(Event::Msg(_, Msg::Abort { reason })) => Err(format!("aborted: {reason}")),
        Ok(Event::Msg(_, m)) => Ok(m),
        Ok(Event::Lost(_, why)) => Err(why),
        Err(RecvTimeoutError::Timeout) => Err("rank 0 silent".into()),
        Err(RecvTimeoutError::Disconnected) => Err("link closed".into()),
    }
}

/// A local step's part of a simulated rank: a barrier per repetition, then its results.
fn local(
    link: &Link,
    rx: &Receiver<Event>,
    rank: u32,
    step: u32,
    reps: u32,
) -> Result<Msg, String> {
    let start_ns = realtime_ns();
    for i in 0..reps {
        let label = format!("#{} w", i + 1);
        let ready = Msg::Ready {
            step,
            port: None,
            label: Some(label.clone()),
        };
        link.send(&ready).map_err(|e| e.to_string())?;
        loop {
            if let Msg::StartAt { label: Some(l), .. } = next(rx)? {
                if l == label {
                    break;
                }
            }
        }
    }
    let mbps: Vec<f64> = (0..reps).map(|i| 100.0 + f64::from(i)).collect();
    let mut file = file_of(vec![buffered_write("w", repetitions(&mbps))]);
    file.run.id = format!("sim-{rank}-{step}");
    file.run.host = format!("sim{rank}");
    Ok(Msg::PhaseDone {
        step,
        start_ns,
        end_ns: realtime_ns(),
        result: Some(Box::new(file)),
        error: None,
        retransmits: None,
        follower: None,
    })
}

/// One simulated rank, until Finish.
fn rank(addr: &str, r: u32, size: u32, reps: u32, stop: &AtomicBool) -> Result<(), String> {
    let register = Msg::Register {
        rank: r,
        size,
        host: format!("sim{r}"),
        addr: String::new(),
        fingerprint: Some("00ff00ff00ff00ff".into()),
    };
    let none = || None;
    let (link, rx) = join(addr, TOKEN, &register, QUIET, stop, &none).map_err(|e| e.to_string())?;
    let mut pending = None;
    loop {
        match next(&rx)? {
            Msg::Prepare { step, task, .. } => {
                pending = Some(task);
                let ready = Msg::Ready {
                    step,
                    port: None,
                    label: None,
                };
                link.send(&ready).map_err(|e| e.to_string())?;
            }
            Msg::StartAt {
                step, label: None, ..
            } => {
                let done = match pending.take() {
                    Some(Task::Local) => local(&link, &rx, r, step, reps)?,
                    _ => Msg::PhaseDone {
                        step,
                        start_ns: realtime_ns(),
                        end_ns: realtime_ns(),
                        result: None,
                        error: None,
                        retransmits: None,
                        follower: None,
                    },
                };
                link.send(&done).map_err(|e| e.to_string())?;
            }
            Msg::Finish => return Ok(()),
            _ => {}
        }
    }
}

/// What a simulated run measured.
#[derive(Debug)]
pub struct SimFigures {
    /// From the first rank's start to the results written.
    pub wall: Duration,
    /// Of which: the join.
    pub join: Duration,
    /// Of which: the clock offsets.
    pub clocks: Duration,
    /// Of which: the steps (barriers and gather).
    pub steps: Duration,
    /// Of which: building and writing the results.
    pub write: Duration,
    /// Rank 0's peak resident memory (this process: the coordinator, its links, the gather;
    /// the simulated ranks run in another), KiB.
    pub peak_kib: u64,
    /// The results file's size, bytes.
    pub results_bytes: u64,
}

/// VmHWM of this process, KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Rank 0's coordinator with `size` simulated ranks (rank 0's own worker simulated too), the
/// local phase of `reps` repetitions and the scaling subsets, results written to `out`.
pub fn run(size: u32, reps: u32, out: &Path) -> SimFigures {
    super::raise_fd_limit(size).expect("file descriptors for every rank");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    // The simulated ranks run in another process (this test binary again), so this process's
    // peak memory is rank 0's alone.
    let mut ranks = Elsewhere(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", RANKS_TEST, "--ignored", "--nocapture"])
            .env(ADDR_ENV, &addr)
            .env(SIZE_ENV, format!("{size} {reps}"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let (members, missing) = admit(&listener, "sim", TOKEN, size, deadline, &stop).unwrap();
    assert!(missing.is_empty(), "never joined: {missing:?}");
    let join = t0.elapsed();
    let mut c = Coordinator::new(members, &stop);
    c.measure_clocks().unwrap();
    let clocks = t0.elapsed() - join;
    let mut g = report::Gathered::new(out);
    for (i, (name, kind)) in plan_steps(size, NetworkMode::Off, None, true)
        .into_iter()
        .enumerate()
    {
        let done = c.step(i as u32, &name, &kind).unwrap();
        assert_eq!(done.len(), size as usize, "{name}");
        g.add(&name, &kind, done, &c);
    }
    let steps = t0.elapsed() - join - clocks;
    c.members.broadcast(&Msg::Finish);
    let ended = ranks.0.wait().unwrap();
    assert!(ended.success(), "the simulated ranks: {ended}");
    let meta = crate::meta::RunMeta::now();
    let facts = report::RunFacts {
        meta: &meta,
        launcher: "simulated",
        coordinator: &addr,
        size,
        baseline: Default::default(),
    };
    let file = report::build(&facts, &c, g, None);
    report::write(out, &file).unwrap();
    stop.store(true, Ordering::Relaxed);
    let wall = t0.elapsed();
    SimFigures {
        wall,
        join,
        clocks,
        steps,
        write: wall - join - clocks - steps,
        peak_kib: peak_kib(),
        results_bytes: std::fs::metadata(out.join("results.json"))
            .map(|m| m.len())
            .unwrap_or(0),
    }
}

/// The test that runs the simulated ranks when [`ADDR_ENV`] is set.
const RANKS_TEST: &str = "fleet::sim::tests::simulated_ranks";
/// Rank 0's address, for the simulated ranks' process.
const ADDR_ENV: &str = "SEGBENCH_SIM_RANKS_ADDR";
/// "SIZE REPS", for the simulated ranks' process.
const SIZE_ENV: &str = "SEGBENCH_SIM_RANKS_SIZE";

/// The simulated ranks' process, killed if the test ends before it.
struct Elsewhere(std::process::Child);

impl Drop for Elsewhere {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs every simulated rank of `size` against `addr`, each in a thread, until Finish.
fn ranks_here(addr: &str, size: u32, reps: u32) {
    let stop = Arc::new(AtomicBool::new(false));
    let ranks: Vec<_> = (0..size)
        .map(|r| {
            let (a, s) = (addr.to_string(), stop.clone());
            std::thread::spawn(move || rank(&a, r, size, reps, &s))
        })
        .collect();
    for (r, t) in ranks.into_iter().enumerate() {
        if let Err(e) = t.join().unwrap() {
            panic!("simulated rank {r}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(size: u32) {
        let dir = tempfile::tempdir().unwrap();
        let f = run(size, 3, dir.path());
        let file = results::io::read_results(dir.path().join("results.json")).unwrap();
        let fleet = file.fleet.expect("cluster view");
        assert_eq!(fleet.hosts.len(), size as usize);
        assert!(fleet
            .hosts
            .iter()
            .all(|h| h.uncertainty_ns > 0 || h.rank == 0));
        assert!(fleet.failure.is_none());
        assert!(fleet.warnings.is_empty(), "{:?}", fleet.warnings);
        let hosts_written = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("rank"))
            })
            .count();
        assert_eq!(hosts_written, size as usize);
        eprintln!("{size} simulated ranks: {f:?}");
    }

    /// Not a test of its own: the simulated ranks' process of [`run`].
    #[test]
    #[ignore = "started by the_coordinator_runs_256_simulated_ranks, with its rank 0's address"]
    fn simulated_ranks() {
        let (Ok(addr), Ok(sr)) = (std::env::var(ADDR_ENV), std::env::var(SIZE_ENV)) else {
            return;
        };
        let mut it = sr.split(' ').map(|x| x.parse::<u32>().unwrap());
        let (size, reps) = (it.next().unwrap(), it.next().unwrap());
        crate::fleet::raise_fd_limit(size).unwrap();
        ranks_here(&addr, size, reps);
    }

    /// 256 ranks take ~15 s on 2 cores (debug build): join, clocks, 9 local steps of 3
    /// barriers each, the gather and the results written.
    #[test]
    fn the_coordinator_runs_256_simulated_ranks() {
        check(256);
    }
}
