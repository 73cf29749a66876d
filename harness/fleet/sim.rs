//! Test only: the fleet at scale. Simulated ranks (a thread each, in a child process of the test
//! binary so rank 0's memory is its own) join through the real rank side
//! ([`super::rendezvous::join`], its [`super::rendezvous::Link`] answering pings and sending
//! heartbeats) and do a null workload: Ready for every step, a barrier per repetition of the
//! local step, and a small results file in PhaseDone. Rank 0 is the real coordinator: admit,
//! clock offsets, every step's barriers and gather, the report built and written.
//!
//! `FLEET_SCALE_RANKS=16,64,256 [FLEET_SCALE_REAL=1] cargo test -p segbench --lib
//! fleet::sim::tests::fleet_scale_figures -- --ignored --nocapture` prints the figures for
//! other counts (with real-sized results files).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use results::ResultsFile;

use super::clock::realtime_ns;
use super::coordinator::{plan_steps, Coordinator, NetworkMode};
use super::proto::{Msg, Task, TOKEN_ENV};
use super::rendezvous::{self, Event, Link};
use super::report;

/// The child process's instructions: `ADDR SIZE REPS REAL` (REAL: `true` for real-sized
/// results files).
const SIM_ENV: &str = "SEGBENCH_FLEET_SIM";
/// The child's test, which runs the simulated ranks.
const SIM_TEST: &str = "fleet::sim::tests::simulated_ranks";
/// The smallest time, ns, between a barrier's StartAt reaching a simulated rank and the start
/// it names (negative: late), and how many arrived late.
static MARGIN_NS: AtomicI64 = AtomicI64::new(i64::MAX);
static LATE: AtomicU64 = AtomicU64::new(0);
/// Held by a simulated rank while it sends its results.
static SENDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
/// Longest silence a simulated rank accepts from rank 0.
const QUIET: Duration = Duration::from_secs(300);

/// Workloads in each simulated rank's results.
const WORKLOADS: u32 = 4;

/// A host's results file: `WORKLOADS` writes of `reps` repetitions each (15 kB), or with
/// `real` the sample results of a real run (20 workloads, 345 kB). Built once: its histograms
/// cost CPU that 256 simulated hosts on two cores do not have.
fn host_file(reps: u32, real: bool) -> ResultsFile {
    if real {
        return results::testing::sample::results();
    }
    let workloads = WORKLOADS;
    let mbps: Vec<f64> = (0..reps).map(|i| 400.0 + f64::from(i)).collect();
    let ws = (0..workloads)
        .map(|w| {
            results::testing::buffered_write(
                &format!("write/w{w}"),
                results::testing::repetitions(&mbps),
            )
        })
        .collect();
    results::testing::file_of(ws)
}

/// The next message from rank 0 (heartbeats and pings are answered by the link).
fn next(rx: &Receiver<Event>) -> Result<Msg, String> {
    match rx.recv_timeout(QUIET) {
        Ok(Event::Msg(_, Msg::Abort { reason })) => Err(format!("aborted: {reason}")),
        Ok(Event::Msg(_, m)) => Ok(m),
        Ok(Event::Lost(_, why)) => Err(format!("lost rank 0: {why}")),
        Err(RecvTimeoutError::Timeout) => Err("rank 0 silent".into()),
        Err(RecvTimeoutError::Disconnected) => Err("link closed".into()),
    }
}

/// One simulated rank: joins, then answers every step until Finish.
fn sim_rank(
    addr: &str,
    token: &str,
    (rank, size, reps): (u32, u32, u32),
    file: &ResultsFile,
) -> Result<(), String> {
    let register = Msg::Register {
        rank,
        size,
        host: format!("sim{rank}"),
        addr: String::new(),
        fingerprint: Some("00ff00ff00ff00ff".into()),
    };
    let stop = AtomicBool::new(false);
    let (link, rx) = rendezvous::join(addr, token, &register, QUIET, &stop, &|| None)
        .map_err(|e| e.to_string())?;
    let send = |l: &Link, m: &Msg| l.send(m).map_err(|e| e.to_string());
    let mut task = None;
    loop {
        match next(&rx)? {
            Msg::Prepare { step, task: t, .. } => {
                let port = matches!(t, Task::Sink { .. } | Task::ReplicaLeader { .. }).then_some(9);
                send(
                    &link,
                    &Msg::Ready {
                        step,
                        port,
                        label: None,
                    },
                )?;
                task = Some(t);
            }
            Msg::StartAt {
                step, label: None, ..
            } => {
                let start_ns = realtime_ns();
                let result = if task.take() == Some(Task::Local) {
                    for i in 0..reps {
                        let label = Some(format!("#{i} write/w-r{i}"));
                        send(
                            &link,
                            &Msg::Ready {
                                step,
                                port: None,
                                label: label.clone(),
                            },
                        )?;
                        let start = loop {
                            if let Msg::StartAt {
                                label: l, start_ns, ..
                            } = next(&rx)?
                            {
                                if l == label {
                                    break start_ns;
                                }
                            }
                        };
                        let margin = start - realtime_ns();
                        MARGIN_NS.fetch_min(margin, Ordering::Relaxed);
                        if margin < 0 {
                            LATE.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    let mut f = file.clone();
                    f.run.host = format!("sim{rank}");
                    f.run.id = format!("sim-run-{rank}");
                    Some(Box::new(f))
                } else {
                    None
                };
                let done = Msg::PhaseDone {
                    step,
                    start_ns,
                    end_ns: realtime_ns(),
                    result,
                    error: None,
                    retransmits: None,
                    follower: None,
                };
                // One send at a time: 256 hosts serializing at once on two cores would starve
                // their own heartbeats (the link's lock is held while it serializes).
                let _cpu = SENDING.lock().map_err(|e| e.to_string())?;
                send(&link, &done)?;
            }
            Msg::Finish => return Ok(()),
            _ => {}
        }
    }
}

/// A line of `/proc/self/status`, in kB (or a count).
fn status(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Open file descriptors of this process.
fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// What one run at scale measured on rank 0.
#[derive(Debug)]
struct Figures {
    size: u32,
    join_s: f64,
    clocks_s: f64,
    steps_s: f64,
    report_s: f64,
    total_s: f64,
    rss_before_kb: u64,
    rss_joined_kb: u64,
    hwm_gather_kb: u64,
    hwm_kb: u64,
    fds: usize,
    threads: u64,
    file_bytes: usize,
}

/// Rank 0 with `size` simulated ranks (in a child process), `reps` barriers in the local
/// step and the scaling subsets; the report is written to `out`.
fn at_scale(size: u32, reps: u32, real: bool, out: &Path) -> Figures {
    // Rank 0's own peak from here on (Linux: "5" resets VmHWM to the current RSS).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before_kb = status("VmRSS");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let token = crate::auth::new_token().unwrap();
    let mut sims = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            SIM_TEST,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SIM_ENV, format!("{addr} {size} {reps} {real}"))
        .env(TOKEN_ENV, &token)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stop = AtomicBool::new(false);
    let t = Instant::now();
    let deadline = t + Duration::from_secs(60);
    let (members, missing) =
        rendezvous::admit(&listener, "scale", &token, size, deadline, &stop).unwrap();
    drop(listener);
    assert!(missing.is_empty(), "ranks never joined: {missing:?}");
    let join_s = t.elapsed().as_secs_f64();
    eprintln!("fleet at scale: {size} ranks joined in {join_s:.2} s");
    let (fds, threads) = (fds(), status("Threads"));
    let rss_joined_kb = status("VmRSS");
    let mut c = Coordinator::new(members, &stop);
    let t1 = Instant::now();
    c.measure_clocks().unwrap();
    assert_eq!(c.offsets.len(), size as usize);
    let clocks_s = t1.elapsed().as_secs_f64();
    eprintln!("fleet at scale: clock offsets of {size} ranks in {clocks_s:.2} s");
    let t2 = Instant::now();
    let mut g = report::Gathered::new(out);
    for (i, (name, kind)) in plan_steps(size, NetworkMode::Off, None, true)
        .into_iter()
        .enumerate()
    {
        let ts = Instant::now();
        let done = c.step(i as u32, &name, &kind).unwrap();
        eprintln!(
            "fleet at scale: step {name} in {:.2} s",
            ts.elapsed().as_secs_f64()
        );
        assert_eq!(done.len(), size as usize, "{name}");
        g.add(&name, &kind, done, &c);
    }
    let steps_s = t2.elapsed().as_secs_f64();
    let hwm_gather_kb = status("VmHWM");
    let t3 = Instant::now();
    let meta = crate::meta::RunMeta::now();
    let facts = report::RunFacts {
        meta: &meta,
        launcher: "sim",
        coordinator: &addr,
        size,
        baseline: Default::default(),
    };
    let file = report::build(&facts, &c, g, None);
    report::write(out, &file).unwrap();
    let report_s = t3.elapsed().as_secs_f64();
    c.members.broadcast(&Msg::Finish);
    let total_s = t.elapsed().as_secs_f64();
    let hwm_kb = status("VmHWM");
    let exit = sims.wait().unwrap();
    assert!(exit.success(), "simulated ranks: {exit}");
    let fleet = file.fleet.as_ref().unwrap();
    assert_eq!(fleet.hosts.len(), size as usize);
    let local = &fleet.phases[0];
    // A null workload's phases last milliseconds: clock uncertainty is a fair warning there.
    let other: Vec<&String> = (fleet.warnings.iter())
        .filter(|w| !w.contains("its window is approximate"))
        .collect();
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(
        (local.name.as_str(), local.ranks.len()),
        ("local", size as usize)
    );
    assert!(real || local.workloads.len() == WORKLOADS as usize);
    assert!(!local.workloads.is_empty());
    let files = std::fs::read_dir(out).unwrap().count();
    assert!(files > size as usize, "{files} files for {size} ranks");
    Figures {
        size,
        join_s,
        clocks_s,
        steps_s,
        report_s,
        total_s,
        rss_before_kb,
        rss_joined_kb,
        hwm_gather_kb,
        hwm_kb,
        fds,
        threads,
        file_bytes: serde_json::to_vec(&host_file(reps, real)).unwrap().len(),
    }
}

fn print(f: &Figures) {
    eprintln!(
        "fleet at scale: {} ranks: join {:.2} s, clocks {:.2} s, steps {:.2} s, report {:.2} s, \
         total {:.2} s; rank 0 RSS {} kB before, {} kB with every rank joined, peak (VmHWM) {} kB after the gather, {} kB \
         after the report (+{} kB); {} fds and {} \
         threads with every rank joined; {} bytes per rank's results",
        f.size,
        f.join_s,
        f.clocks_s,
        f.steps_s,
        f.report_s,
        f.total_s,
        f.rss_before_kb,
        f.rss_joined_kb,
        f.hwm_gather_kb,
        f.hwm_kb,
        f.hwm_kb.saturating_sub(f.rss_before_kb),
        f.fds,
        f.threads,
        f.file_bytes
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The child process of [`at_scale`]: ranks 0 … SIZE − 1, a thread each.
    #[test]
    #[ignore = "the simulated ranks' process, started by the scale tests"]
    fn simulated_ranks() {
        let Ok(spec) = std::env::var(SIM_ENV) else {
            return;
        };
        let token = std::env::var(TOKEN_ENV).unwrap();
        let mut it = spec.split(' ');
        let (addr, size, reps, real) = (
            it.next().unwrap().to_string(),
            it.next().unwrap().parse::<u32>().unwrap(),
            it.next().unwrap().parse::<u32>().unwrap(),
            it.next().unwrap() == "true",
        );
        let file = std::sync::Arc::new(host_file(reps, real));
        let ranks: Vec<_> = (0..size)
            .map(|r| {
                let (a, t, f) = (addr.clone(), token.clone(), file.clone());
                std::thread::Builder::new()
                    .spawn(move || {
                        let t0 = Instant::now();
                        let res = sim_rank(&a, &t, (r, size, reps), &f);
                        if let Err(e) = &res {
                            eprintln!("simulated rank {r} after {:?}: {e}", t0.elapsed());
                        }
                        res
                    })
                    .unwrap()
            })
            .collect();
        for (r, h) in ranks.into_iter().enumerate() {
            if let Err(e) = h.join().unwrap() {
                panic!("simulated rank {r}: {e}");
            }
        }
        eprintln!(
            "simulated ranks: {size} ranks x {reps} barriers: the last StartAt came {:.1} ms \
             before its start; {} late",
            MARGIN_NS.load(Ordering::Relaxed) as f64 / 1e6,
            LATE.load(Ordering::Relaxed)
        );
    }

    #[test]
    fn rank_0_leads_256_simulated_ranks() {
        let out = tempfile::tempdir().unwrap();
        let f = at_scale(256, 3, false, out.path());
        print(&f);
    }

    /// Figures at other counts: `FLEET_SCALE_RANKS=16,64,256`, with real-sized results files
    /// when `FLEET_SCALE_REAL=1`.
    #[test]
    #[ignore = "figures only: the counts in FLEET_SCALE_RANKS"]
    fn fleet_scale_figures() {
        let counts = std::env::var("FLEET_SCALE_RANKS").unwrap_or_else(|_| "16,64,256".into());
        for n in counts.split(',').filter_map(|n| n.trim().parse().ok()) {
            let out = tempfile::tempdir().unwrap();
            let real = std::env::var("FLEET_SCALE_REAL").is_ok_and(|v| v == "1");
            print(&at_scale(n, 3, real, out.path()));
        }
    }
}
