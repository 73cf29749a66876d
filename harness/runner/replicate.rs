//! Replicate workloads run: each acks mode's repetitions interleaved with the others' through
//! the runners' shared turns ([`Interleaved`], [`settle`]), each repetition in its own
//! directory, with the followers where the [`Placement`] has them — threads of this process,
//! or follower processes joined once (`segbench replicate --role leader`).

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use results::{Kind, Medium, Status, WorkloadResult};
use workloads::pacing::Clock;

use crate::bad_input;
use crate::datadir::DataDir;
use crate::replicate::serve::{self, Link};
use crate::replicate::{self, Faults, RepOutcome, ReplicaConfig, RunToken};
use crate::runner::progress::Progress;
use crate::runner::{settle, Interleaved, RunError};

/// Where the followers of the repetitions are.
pub enum Placement {
    /// Threads of this process, joined anew for each repetition.
    InProcess,
    /// Follower processes joined once, for every repetition.
    Leader(Vec<Link>),
}

impl Placement {
    /// No `listen` address (`--role all`): nothing to set up. With one and its token (`--role
    /// leader`): listens there and waits up to `join_timeout` for the `rf - 1` followers
    /// presenting the token (a line on stderr says where, before waiting, and gives the token
    /// when this process made it), until `stop` is set.
    pub fn set_up(
        listen: Option<(SocketAddr, &RunToken)>,
        rf: u32,
        join_timeout: Duration,
        stop: &AtomicBool,
    ) -> anyhow::Result<Placement> {
        let Some((addr, token)) = listen else {
            return Ok(Placement::InProcess);
        };
        let listener = TcpListener::bind(addr)
            .map_err(|e| bad_input(format!("--listen {addr}: cannot listen there: {e}")))?;
        let local = listener.local_addr()?;
        eprintln!(
            "segbench replicate: listening on {local} (waiting up to {join_timeout:?} for {} followers)",
            rf - 1
        );
        if token.generated {
            eprintln!(
                "segbench replicate: followers join with {}={} in their environment (made here: neither SEGBENCH_FLEET_TOKEN nor {} is set)",
                replicate::REPLICATION_TOKEN_ENV,
                token.value,
                replicate::REPLICATION_TOKEN_ENV
            );
        }
        let links = serve::accept_followers(&listener, 1, rf - 1, join_timeout, stop, &token.value)
            .map_err(anyhow::Error::msg)?;
        let peers: Vec<String> = links.iter().map(|l| l.peer.to_string()).collect();
        eprintln!(
            "segbench replicate: {} followers joined ({})",
            links.len(),
            peers.join(", ")
        );
        Ok(Placement::Leader(links))
    }

    /// Runs one repetition of `c` in `dir`; `rep` names it on the followers' side.
    pub fn run(
        &mut self,
        c: &ReplicaConfig,
        dir: &Path,
        rep: &str,
        clock: Arc<dyn workloads::pacing::Clock>,
        stop: &AtomicBool,
    ) -> Result<RepOutcome, RunError> {
        let faults = Faults::default();
        match self {
            Placement::InProcess => replicate::run_repetition(c, dir, clock, stop, &faults),
            Placement::Leader(links) => replicate::lead(c, dir, rep, clock, stop, &faults, links),
        }
    }

    /// How the results describe it.
    pub fn describe(&self) -> String {
        match self {
            Placement::InProcess => replicate::PLACEMENT_IN_PROCESS.into(),
            Placement::Leader(links) => format!(
                "leader process; follower processes from {}",
                links
                    .iter()
                    .map(|l| l.peer.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Tells follower processes the session is over.
    pub fn finish(self) {
        if let Placement::Leader(links) = self {
            serve::goodbye(&links);
        }
    }
}

/// Where and how a set of acks modes runs.
pub struct ModesRun<'a> {
    /// Measured repetitions per acks mode.
    pub repeat: u32,
    /// The data directory: each repetition's replicas go in a child directory of it,
    /// `<prefix>acks<A>-r<i>`, created for the repetition and swept after it (segbench's files
    /// only) unless `keep`.
    pub data: &'a DataDir,
    /// Starts the repetitions' directory names (`""` for `segbench replicate`, `"<workload>-"`
    /// in a suite).
    pub prefix: &'a str,
    /// Keep every replica's log (else each repetition's is removed after it).
    pub keep: bool,
    /// The run's clock.
    pub clock: Arc<dyn Clock>,
    /// The stop flag (signals).
    pub stop: &'a AtomicBool,
    /// Progress lines.
    pub progress: &'a Progress,
}

/// What a repetition's outcome warns of: followers behind at the end, followers lost.
fn repetition_warnings(rep: u32, o: &RepOutcome) -> Vec<String> {
    let mut out = Vec::new();
    if !o.behind.is_empty() && o.interrupted {
        out.push(format!(
            "rep {rep}: followers {:?} had not reached the leader's log end when the run was stopped",
            o.behind
        ));
    } else if !o.behind.is_empty() {
        out.push(format!(
            "rep {rep}: followers {:?} had not reached the leader's log end {}s after the producer stopped",
            o.behind,
            replicate::repetition::DRAIN_TIMEOUT.as_secs()
        ));
    }
    for (f, why) in &o.lost {
        out.push(format!("rep {rep}: follower {f} was lost: {why}"));
    }
    out
}

/// Runs every acks mode of `cfgs` as `run` says, with the followers where `place` has them,
/// repetitions interleaved (A B C A B C). One result per acks mode, named `<name>/acks=<A>`;
/// true when stopped.
pub fn run_modes(
    cfgs: &[ReplicaConfig],
    run: &ModesRun<'_>,
    name: &str,
    place: &mut Placement,
) -> (Vec<WorkloadResult>, bool) {
    let ModesRun {
        repeat,
        data,
        prefix,
        keep,
        ref clock,
        stop,
        progress,
    } = *run;
    let mut reps = vec![Vec::new(); cfgs.len()];
    let mut status = vec![Status::Completed; cfgs.len()];
    let mut warnings: Vec<Vec<String>> = vec![Vec::new(); cfgs.len()];
    let mut interrupted = false;
    let mut turns = Interleaved::new(repeat, cfgs.len());
    while let Some((rep, w)) = turns.next_turn(&status, stop) {
        let c = &cfgs[w];
        let label = format!("{name} acks={} rep {}/{}", c.acks, rep + 1, repeat);
        let rep_name = format!("{prefix}acks{}-r{rep}", c.acks);
        let dir = match data.create_child(&rep_name) {
            Ok(d) => d,
            Err(e) => {
                let error = format!("{}: {e}", data.path().join(&rep_name).display());
                progress.line(&format!("{label}: {error}"));
                status[w] = Status::Failed { error };
                continue;
            }
        };
        match place.run(c, &dir, &rep_name, clock.clone(), stop) {
            Ok(mut o) => {
                o.repetition.index = rep;
                progress.done(&label, &o.repetition);
                warnings[w].extend(repetition_warnings(rep, &o));
                if o.interrupted {
                    interrupted = true;
                    status[w] = Status::Interrupted;
                }
                reps[w].push(o.repetition);
            }
            Err(e) => {
                progress.line(&format!("{label}: {e}"));
                interrupted |= matches!(e, RunError::Interrupted(_));
                status[w] = e.status();
            }
        }
        if !keep {
            data.remove_child(&rep_name);
        }
    }
    interrupted |= turns.stopped();
    // A mode the stop came before never ran: not a completed row without figures. (Its
    // rows carry no skip warning, as before.)
    for (st, r) in status.iter_mut().zip(&reps) {
        settle(st, r.len(), interrupted);
    }
    for (w, c) in cfgs.iter().enumerate().filter(|(_, c)| c.prewritten()) {
        warnings[w].push(format!(
            "--leader-engine null: the leader served a log written and synced before the clock started, and the producer named batches without sending bytes; MB/s is the rate produces were acknowledged{} — the replication pipeline's rate is \"follower writes\" (each follower's bytes over the time until the followers caught up)",
            if c.acks == replicate::Acks::Zero { " (acks=0: on sending, not bounded by the followers)" } else { "" }
        ));
    }
    let placement = place.describe();
    let medium = if cfgs.iter().any(|c| c.leader_engine.name == "direct") {
        Medium::Device
    } else {
        Medium::PageCache
    };
    let workloads = cfgs
        .iter()
        .enumerate()
        .map(|(w, c)| {
            WorkloadResult::new(
                format!("{name}/acks={}", c.acks),
                Kind::Write,
                format!("{} -> {}", c.leader_engine, c.follower_engine),
                {
                    let mut m = c.config_map();
                    m.insert("placement".into(), placement.clone().into());
                    m
                },
                status[w].clone(),
                medium,
            )
            .with_repetitions(
                std::mem::take(&mut reps[w]),
                std::mem::take(&mut warnings[w]),
            )
        })
        .collect();
    (workloads, interrupted)
}
