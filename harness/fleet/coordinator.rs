//! Rank 0: admit every rank, measure clock offsets, drive the phases step by step (barrier,
//! start time in each rank's own clock, gather), and turn what comes back into one results file
//! with the cluster view. A rank that fails, vanishes or is interrupted stops every rank; what
//! was gathered so far is written, naming the host and the reason.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use results::fleet::{FleetFailure, PhaseWindow};
use results::ResultsFile;

use super::clock::{self, estimate, realtime_ns, Offset, PINGS};
use super::proto::{Msg, Task};
use super::rendezvous::{Event, Members};
use super::sync::Barrier;

/// Longest wait for every rank to be ready for a step (a sink to start).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for a Pong.
const PONG_TIMEOUT: Duration = Duration::from_secs(5);
/// Time between the StartAt messages and the planned start, on top of the clock uncertainty.
const START_LEAD: Duration = Duration::from_millis(250);
/// A step's work has no time limit of its own: heartbeats notice a rank that is gone.
const NO_LIMIT: Duration = Duration::from_secs(365 * 24 * 3600);
/// Time between the start of a measured repetition and the barrier's release, on top of the
/// clock uncertainty: enough for the StartAt to reach every child through its rank.
const SYNC_LEAD: Duration = Duration::from_millis(50);
/// Rank 0's time to send one rank its start, assumed before a first fan-out is measured (85 µs
/// measured at 256 simulated ranks on two busy cores): the starts go out one rank after the
/// other, so the lead grows with the count, or the last ranks would start late.
const SEND_PER_RANK: Duration = Duration::from_micros(100);
/// Longest wait, once one rank is ready for a measured unit, for the others: hosts may differ
/// in setup (probe, writing a read workload's log), a rank that dies or vanishes is noticed at
/// once (its step ends, or its link falls silent for [`super::rendezvous::SILENCE_LIMIT`]).
pub const BARRIER_TIMEOUT: Duration = Duration::from_secs(60);

/// How the network phase pairs hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NetworkMode {
    /// Rank i sends to rank (i+1) mod N, all pairs at once.
    Ring,
    /// Every ordered pair, one pair at a time.
    Matrix,
    /// No network phase.
    Off,
}

/// What a step asks of the ranks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// Ranks below `hosts` run the suite; the others idle.
    Local {
        /// Ranks taking part.
        hosts: u32,
    },
    /// Every rank starts its sink.
    Sinks,
    /// These (sender, receiver) pairs send; the others idle.
    Pairs(Vec<(u32, u32)>),
    /// Every rank stops its sink.
    StopSinks,
    /// Rank 0 starts the replication leader and reports its port; the others idle.
    ReplicaListen,
    /// Rank 0 leads (its leader runs to the end), ranks 1 … rf − 1 follow it; the others idle.
    Replicate {
        /// Replication factor, the leader included.
        rf: u32,
    },
}

/// The steps of a run: the local phase, the network phase, the replication phase (with
/// `replicate`: its replication factor), then the scaling subsets (1, 2, 4, … hosts below N;
/// N hosts is the local phase itself).
pub fn plan_steps(
    size: u32,
    network: NetworkMode,
    replicate: Option<u32>,
    scaling: bool,
) -> Vec<(String, StepKind)> {
    let mut s = vec![("local".to_string(), StepKind::Local { hosts: size })];
    if size > 1 && network != NetworkMode::Off {
        s.push(("network/sinks".into(), StepKind::Sinks));
        if network == NetworkMode::Ring {
            let pairs = (0..size).map(|i| (i, (i + 1) % size)).collect();
            s.push(("network/ring".into(), StepKind::Pairs(pairs)));
        } else {
            for i in 0..size {
                for j in (0..size).filter(|j| *j != i) {
                    s.push((format!("network/{i}->{j}"), StepKind::Pairs(vec![(i, j)])));
                }
            }
        }
        s.push(("network/stop".into(), StepKind::StopSinks));
    }
    if let Some(rf) = replicate.filter(|&rf| rf > 1 && rf <= size) {
        s.push(("replicate/listen".into(), StepKind::ReplicaListen));
        s.push(("replicate".into(), StepKind::Replicate { rf }));
    }
    if scaling && size > 1 {
        let mut k = 1;
        while k < size {
            s.push((format!("scaling/{k}"), StepKind::Local { hosts: k }));
            k *= 2;
        }
    }
    s
}

/// One rank's answer to a step.
#[derive(Debug, Clone)]
pub struct RankDone {
    /// The rank.
    pub rank: u32,
    /// Its window on rank 0's clock.
    pub window: PhaseWindow,
    /// Its results, when the task has some.
    pub result: Option<ResultsFile>,
    /// What went wrong, when the child failed.
    pub error: Option<String>,
    /// TCP segments the rank's host retransmitted during the step.
    pub retransmits: Option<u64>,
    /// A following rank's own replication figures.
    pub follower: Option<results::fleet::ReplicaFollower>,
}

/// Rank 0's view of the admitted ranks.
#[derive(Debug)]
pub struct Coordinator<'a> {
    /// The ranks.
    pub members: Members,
    /// Clock offsets by rank.
    pub offsets: BTreeMap<u32, Offset>,
    /// Sink ports by rank, once started.
    pub sink_ports: BTreeMap<u32, u16>,
    /// The replication leader's port on rank 0, once started.
    pub leader_port: Option<u16>,
    /// How long the last start took to send, per rank.
    send_per_rank: Duration,
    stop: &'a AtomicBool,
}

impl<'a> Coordinator<'a> {
    /// Wraps the admitted ranks.
    pub fn new(members: Members, stop: &'a AtomicBool) -> Self {
        Coordinator {
            members,
            offsets: BTreeMap::new(),
            sink_ports: BTreeMap::new(),
            leader_port: None,
            send_per_rank: SEND_PER_RANK,
            stop,
        }
    }

    /// A failure of `rank`, with its host name.
    pub fn failure(&self, rank: Option<u32>, reason: String) -> FleetFailure {
        FleetFailure {
            rank,
            host: rank.and_then(|r| self.members.members.get(&r).map(|m| m.host.clone())),
            reason,
        }
    }

    /// The next message, or the failure that ends the run (lost rank, Abort, signal, timeout).
    fn next(&self, timeout: Duration, waiting: &str) -> Result<(u32, Msg), FleetFailure> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Err(self.failure(Some(0), "interrupted by a signal on rank 0".into()));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.failure(None, format!("timed out waiting for {waiting}")));
            }
            match self
                .members
                .rx
                .recv_timeout(left.min(Duration::from_millis(50)))
            {
                Ok(Event::Msg(r, Msg::Abort { reason })) => {
                    return Err(self.failure(Some(r), reason))
                }
                Ok(Event::Msg(r, m)) => return Ok((r, m)),
                Ok(Event::Lost(r, why)) => return Err(self.failure(Some(r), why)),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.failure(None, "every link closed".into()))
                }
            }
        }
    }

    fn send(&self, rank: u32, m: &Msg) -> Result<(), FleetFailure> {
        match self.members.links.get(&rank) {
            Some(l) => l
                .send(m)
                .map_err(|e| self.failure(Some(rank), format!("cannot send to it: {e}"))),
            None => Err(self.failure(Some(rank), "not connected".into())),
        }
    }

    /// Estimates every rank's clock offset from [`PINGS`] exchanges (minimum round trip).
    pub fn measure_clocks(&mut self) -> Result<(), FleetFailure> {
        let ranks: Vec<u32> = self.members.links.keys().copied().collect();
        for r in ranks {
            let mut ex = Vec::with_capacity(PINGS);
            for _ in 0..PINGS {
                let e = clock::exchange(|t0| {
                    self.send(r, &Msg::Ping { t0_ns: t0 })?;
                    loop {
                        match self.next(PONG_TIMEOUT, "a clock answer")? {
                            (from, Msg::Pong { t0_ns, t_rank_ns }) if from == r && t0_ns == t0 => {
                                return Ok(t_rank_ns)
                            }
                            _ => {}
                        }
                    }
                })?;
                ex.push(e);
            }
            self.offsets.insert(r, estimate(&ex).unwrap_or_default());
        }
        Ok(())
    }

    /// The IP rank `r`'s sink listens on: the address the others reach it by.
    pub fn sink_ip(&self, r: u32) -> IpAddr {
        let m = &self.members.members;
        if r != 0 {
            if let Some(x) = m.get(&r) {
                return x.peer_ip;
            }
        }
        m.values()
            .find(|x| x.rank != 0)
            .map(|x| x.local_ip)
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// Where the followers reach the replication leader on rank 0, HOST:PORT.
    pub fn leader_addr(&self) -> String {
        SocketAddr::new(self.sink_ip(0), self.leader_port.unwrap_or(0)).to_string()
    }

    /// The task of rank `r` in a step.
    pub fn task(&self, r: u32, kind: &StepKind) -> Task {
        match kind {
            StepKind::Local { hosts } if r < *hosts => Task::Local,
            StepKind::Local { .. } => Task::Idle,
            StepKind::Sinks => Task::Sink {
                listen_ip: self.sink_ip(r).to_string(),
            },
            StepKind::StopSinks => Task::StopSink,
            StepKind::ReplicaListen if r == 0 => Task::ReplicaLeader {
                listen_ip: self.sink_ip(0).to_string(),
            },
            StepKind::Replicate { .. } if r == 0 => Task::Lead,
            StepKind::Replicate { rf } if r < *rf => Task::Follow {
                leader: self.leader_addr(),
            },
            StepKind::ReplicaListen | StepKind::Replicate { .. } => Task::Idle,
            StepKind::Pairs(p) => match p.iter().find(|(from, _)| *from == r) {
                Some(&(_, to)) => Task::Read {
                    to_rank: to,
                    sink: SocketAddr::new(
                        self.sink_ip(to),
                        self.sink_ports.get(&to).copied().unwrap_or(0),
                    )
                    .to_string(),
                },
                None => Task::Idle,
            },
        }
    }

    /// Runs one step on every rank: Prepare, wait until all are Ready (the barrier), StartAt
    /// in each rank's clock, gather PhaseDone.
    pub fn step(
        &mut self,
        step: u32,
        phase: &str,
        kind: &StepKind,
    ) -> Result<Vec<RankDone>, FleetFailure> {
        let ranks: Vec<u32> = self.members.links.keys().copied().collect();
        for &r in &ranks {
            let task = self.task(r, kind);
            self.send(
                r,
                &Msg::Prepare {
                    step,
                    phase: phase.into(),
                    task,
                },
            )?;
        }
        self.wait_ready(step, kind, ranks.len())?;
        self.start_at(step, &ranks)?;
        self.gather(step, phase, kind, &ranks)
    }

    /// Waits until `n` ranks said they are Ready for `step`, noting the ports they listen on
    /// (the replication leader's, each sink's).
    fn wait_ready(&mut self, step: u32, kind: &StepKind, n: usize) -> Result<(), FleetFailure> {
        let mut ready = 0;
        while ready < n {
            if let (
                r,
                Msg::Ready {
                    step: s,
                    port,
                    label: None,
                },
            ) = self.next(READY_TIMEOUT, "every rank to be ready")?
            {
                if s == step {
                    ready += 1;
                    match (port, kind) {
                        (Some(p), StepKind::ReplicaListen) => self.leader_port = Some(p),
                        (Some(p), _) => {
                            self.sink_ports.insert(r, p);
                        }
                        (None, _) => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Sends every rank the step's planned start, in its own clock: far enough ahead for the
    /// message to arrive, given the worst clock uncertainty.
    fn start_at(&mut self, step: u32, ranks: &[u32]) -> Result<(), FleetFailure> {
        let worst = self
            .offsets
            .values()
            .map(|o| o.uncertainty_ns)
            .max()
            .unwrap_or(0);
        let planned = realtime_ns() + self.lead(START_LEAD, worst, ranks.len());
        let sending = Instant::now();
        for &r in ranks {
            let o = self.offsets.get(&r).copied().unwrap_or_default();
            self.send(
                r,
                &Msg::StartAt {
                    step,
                    start_ns: o.to_rank(planned),
                    label: None,
                },
            )?;
        }
        self.send_per_rank = sending.elapsed() / ranks.len().max(1) as u32;
        Ok(())
    }

    /// Until every rank's PhaseDone is in: the barrier before every measured unit of the ranks
    /// running the suite (released when all are ready, bounded by [`BARRIER_TIMEOUT`] once
    /// one is), and each rank's summary, its window in rank 0's clock.
    fn gather(
        &mut self,
        step: u32,
        phase: &str,
        kind: &StepKind,
        ranks: &[u32],
    ) -> Result<Vec<RankDone>, FleetFailure> {
        let synced: Vec<u32> = ranks
            .iter()
            .copied()
            .filter(|&r| self.task(r, kind) == Task::Local)
            .collect();
        let mut barrier = Barrier::new(synced.iter().copied());
        let mut first_ready: Option<Instant> = None;
        let mut done = BTreeMap::new();
        while done.len() < ranks.len() {
            let (limit, waiting) = match (first_ready, barrier.label()) {
                (Some(t), Some(l)) => (
                    BARRIER_TIMEOUT.saturating_sub(t.elapsed()),
                    format!(
                        "rank(s) {} to be ready for '{l}' (the others waited {} s)",
                        join(&barrier.missing()),
                        BARRIER_TIMEOUT.as_secs()
                    ),
                ),
                _ => (NO_LIMIT, "the step's end".to_string()),
            };
            let (r, m) = self.next(limit, &waiting)?;
            if let Msg::Ready {
                step: s,
                label: Some(label),
                ..
            } = &m
            {
                if *s == step {
                    first_ready.get_or_insert_with(Instant::now);
                    let go = barrier
                        .ready(r, label)
                        .map_err(|e| self.failure(Some(r), e))?;
                    if let Some(label) = go {
                        first_ready = None;
                        self.release(&synced, step, &label)?;
                    }
                }
                continue;
            }
            if let Msg::PhaseDone {
                step: s,
                start_ns,
                end_ns,
                result,
                error,
                retransmits,
                follower,
            } = m
            {
                if s != step {
                    continue;
                }
                barrier.done(r).map_err(|e| {
                    let why = error
                        .as_deref()
                        .map(|x| format!(" ({x})"))
                        .unwrap_or_default();
                    self.failure(Some(r), format!("{e}{why}"))
                })?;
                if let Some(why) = follower_never_joined(kind, r, &follower, &done) {
                    return Err(self.failure(Some(r), format!("phase {phase}: {why}")));
                }
                let o = self.offsets.get(&r).copied().unwrap_or_default();
                done.insert(
                    r,
                    RankDone {
                        rank: r,
                        window: PhaseWindow {
                            rank: r,
                            start_ns: o.to_rank0(start_ns),
                            end_ns: o.to_rank0(end_ns),
                        },
                        result: result.map(|b| *b),
                        error,
                        retransmits,
                        follower,
                    },
                );
            }
        }
        Ok(done.into_values().collect())
    }
}

/// Why a replication step must end now: following rank `r` failed before it joined the leader
/// (its summary has no follower number), which would otherwise wait for it until its join
/// timeout while rank 0 is still running.
fn follower_never_joined(
    kind: &StepKind,
    r: u32,
    follower: &Option<results::fleet::ReplicaFollower>,
    done: &BTreeMap<u32, RankDone>,
) -> Option<String> {
    if !matches!(kind, StepKind::Replicate { .. }) || r == 0 || done.contains_key(&0) {
        return None;
    }
    let f = follower.as_ref()?;
    if f.follower.is_some() {
        return None;
    }
    let why = f.error.as_deref().unwrap_or("no summary");
    Some(format!(
        "its follower failed before it joined the leader: {why}"
    ))
}

impl Coordinator<'_> {
    /// Releases the barrier of `label`: one start ~[`SYNC_LEAD`] ahead (plus four times the
    /// worst clock uncertainty and the fan-out: [`Coordinator::lead`]), sent to each of `ranks`
    /// in its own clock.
    fn release(&mut self, ranks: &[u32], step: u32, label: &str) -> Result<(), FleetFailure> {
        let worst = ranks
            .iter()
            .filter_map(|r| self.offsets.get(r))
            .map(|o| o.uncertainty_ns)
            .max()
            .unwrap_or(0);
        let planned = realtime_ns() + self.lead(SYNC_LEAD, worst, ranks.len());
        let sending = Instant::now();
        for &r in ranks {
            let o = self.offsets.get(&r).copied().unwrap_or_default();
            self.send(
                r,
                &Msg::StartAt {
                    step,
                    start_ns: o.to_rank(planned),
                    label: Some(label.to_string()),
                },
            )?;
        }
        self.send_per_rank = sending.elapsed() / ranks.len().max(1) as u32;
        Ok(())
    }

    /// ns from now to a start sent to `ranks` ranks: `base`, four times the worst clock
    /// uncertainty, and twice the time the starts take to go out (as the last ones did, at
    /// least [`SEND_PER_RANK`] per rank).
    fn lead(&self, base: Duration, worst_ns: u64, ranks: usize) -> i64 {
        let fanout = self.send_per_rank.max(SEND_PER_RANK) * ranks as u32;
        (base + 2 * fanout).as_nanos() as i64 + 4 * worst_ns as i64
    }
}

/// `1, 2`.
fn join(ranks: &[u32]) -> String {
    ranks
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::rendezvous::Member;

    fn member(rank: u32, peer: [u8; 4], local: [u8; 4]) -> Member {
        Member {
            rank,
            host: format!("h{rank}"),
            peer_ip: IpAddr::from(peer),
            local_ip: IpAddr::from(local),
            fingerprint: None,
        }
    }

    #[test]
    fn tasks_send_each_rank_to_the_next_ranks_sink_at_the_address_it_is_reached_by() {
        let (_tx, rx) = std::sync::mpsc::channel();
        let members = Members {
            links: BTreeMap::new(),
            members: [
                (0, member(0, [127, 0, 0, 1], [127, 0, 0, 1])),
                (1, member(1, [198, 18, 0, 2], [198, 18, 0, 1])),
                (2, member(2, [198, 18, 0, 3], [198, 18, 0, 1])),
            ]
            .into_iter()
            .collect(),
            rx,
            refused: 0,
        };
        let stop = AtomicBool::new(false);
        let mut c = Coordinator::new(members, &stop);
        // Rank 0's own worker came over loopback: its sink listens where the others reach it.
        assert_eq!(
            c.task(0, &StepKind::Sinks),
            Task::Sink {
                listen_ip: "198.18.0.1".into()
            }
        );
        assert_eq!(
            c.task(2, &StepKind::Sinks),
            Task::Sink {
                listen_ip: "198.18.0.3".into()
            }
        );
        c.sink_ports.extend([(0, 4000), (1, 4001), (2, 4002)]);
        let ring = StepKind::Pairs(vec![(0, 1), (1, 2), (2, 0)]);
        assert_eq!(
            c.task(2, &ring),
            Task::Read {
                to_rank: 0,
                sink: "198.18.0.1:4000".into()
            }
        );
        assert_eq!(c.task(1, &StepKind::Pairs(vec![(0, 2)])), Task::Idle);
        assert_eq!(c.task(1, &StepKind::Local { hosts: 2 }), Task::Local);
        assert_eq!(c.task(2, &StepKind::Local { hosts: 2 }), Task::Idle);
        // Rank 0 leads where the others reach it; ranks below rf follow it; the rest idle.
        assert_eq!(
            c.task(0, &StepKind::ReplicaListen),
            Task::ReplicaLeader {
                listen_ip: "198.18.0.1".into()
            }
        );
        assert_eq!(c.task(1, &StepKind::ReplicaListen), Task::Idle);
        c.leader_port = Some(5000);
        let repl = StepKind::Replicate { rf: 2 };
        assert_eq!(c.task(0, &repl), Task::Lead);
        assert_eq!(
            c.task(1, &repl),
            Task::Follow {
                leader: "198.18.0.1:5000".into()
            }
        );
        assert_eq!(c.task(2, &repl), Task::Idle);
    }

    #[test]
    fn only_a_follower_that_never_joined_while_the_leader_runs_ends_the_replication_step() {
        use results::fleet::ReplicaFollower;
        let repl = StepKind::Replicate { rf: 3 };
        let failed = Some(ReplicaFollower {
            rank: 2,
            error: Some("exited with exit status: 2".into()),
            ..Default::default()
        });
        let mut done = BTreeMap::new();
        let why = follower_never_joined(&repl, 2, &failed, &done).expect("ends the step");
        assert!(why.contains("exit status: 2"), "{why}");
        // A follower that joined (and then failed) is named in the replication results.
        let joined = failed.clone().map(|f| ReplicaFollower {
            follower: Some(2),
            ..f
        });
        assert_eq!(follower_never_joined(&repl, 2, &joined, &done), None);
        assert_eq!(
            follower_never_joined(&StepKind::StopSinks, 2, &failed, &done),
            None
        );
        assert_eq!(follower_never_joined(&repl, 0, &failed, &done), None);
        // The leader already ended: nobody waits.
        done.insert(
            0,
            RankDone {
                rank: 0,
                window: Default::default(),
                result: None,
                error: None,
                retransmits: None,
                follower: None,
            },
        );
        assert_eq!(follower_never_joined(&repl, 2, &failed, &done), None);
    }

    #[test]
    fn a_start_leaves_time_to_send_it_to_every_rank() {
        let (_tx, rx) = std::sync::mpsc::channel();
        let members = Members {
            links: BTreeMap::new(),
            members: BTreeMap::new(),
            rx,
            refused: 0,
        };
        let stop = AtomicBool::new(false);
        let mut c = Coordinator::new(members, &stop);
        let ms = |ns: i64| ns as f64 / 1e6;
        // 1024 ranks at 100 µs each: the last start leaves 102 ms after the first (at 1024
        // simulated ranks, 968 of 3072 starts came up to 42 ms late with a fixed 50 ms lead).
        assert_eq!(ms(c.lead(SYNC_LEAD, 0, 1024)), 50.0 + 2.0 * 102.4);
        assert_eq!(ms(c.lead(SYNC_LEAD, 1_000_000, 3)), 50.0 + 0.6 + 4.0);
        // A slower fan-out measured last time counts instead.
        c.send_per_rank = Duration::from_millis(1);
        assert_eq!(ms(c.lead(START_LEAD, 0, 256)), 250.0 + 512.0);
    }

    #[test]
    fn steps_cover_local_ring_and_scaling_subsets() {
        let s = plan_steps(3, NetworkMode::Ring, None, true);
        let names: Vec<&str> = s.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "local",
                "network/sinks",
                "network/ring",
                "network/stop",
                "scaling/1",
                "scaling/2"
            ]
        );
        assert_eq!(s[2].1, StepKind::Pairs(vec![(0, 1), (1, 2), (2, 0)]));
        let m = plan_steps(3, NetworkMode::Matrix, None, false);
        assert_eq!(m.len(), 1 + 1 + 6 + 1);
        let big: Vec<String> = plan_steps(9, NetworkMode::Off, None, true)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            big,
            ["local", "scaling/1", "scaling/2", "scaling/4", "scaling/8"]
        );
        assert_eq!(plan_steps(1, NetworkMode::Ring, None, true).len(), 1);
        // Replication after the network phase, before the scaling subsets.
        let r: Vec<(String, StepKind)> = plan_steps(4, NetworkMode::Off, Some(3), true);
        assert_eq!(r[1], ("replicate/listen".into(), StepKind::ReplicaListen));
        assert_eq!(r[2], ("replicate".into(), StepKind::Replicate { rf: 3 }));
        assert_eq!(r[3].0, "scaling/1");
        assert_eq!(plan_steps(2, NetworkMode::Off, Some(3), false).len(), 1);
    }
}
