//! The barrier before every measured unit of a fleet run's local phase, IOR's way: each host's
//! child (`segbench run --fleet-sync PATH`) stops before each warm-up and measured repetition
//! and asks its rank, over a Unix socket, to go; the rank relays that to rank 0, which waits
//! until every host of the step is ready for the same unit and answers with one start instant,
//! given in each rank's own clock. The hosts' repetitions then run at once, and the cluster
//! aggregate (total bytes / (last end − first start)) is over windows that truly overlap.
//!
//! ```text
//! child (segbench run)        rank (worker)                       rank 0 (coordinator)
//!   "ready #3 w1-r0\n" ─────▶ Ready{step, label} ───────────────▶ Barrier: all ranks ready
//!                                                                 for "#3 w1-r0"?
//!   "go START OFFSET\n" ◀──── StartAt{step, start_ns, label} ◀─── start = now + lead, in
//!   sleeps until START                                            each rank's clock
//!   or "abort REASON\n" ◀──── Abort / lost link / child stopped
//! ```
//!
//! `START` is ns since the epoch on the host's realtime clock; `OFFSET` is ns from the rank's
//! phase start (its child's spawn, the phase window's start) to `START`. The child records
//! `OFFSET` plus how late it really woke as the repetition's start offset, so rank 0 places
//! the repetition where it ran (not where it was planned) and the skew it reports is real. Labels carry a sequence number (`#3`), so two hosts
//! whose suites diverged (a workload skipped on one) are caught at once. The same path lets
//! the hosts agree on a value each would pick on its own (`ready #5 best<TAB>direct` →
//! `pick uring:direct,qd=8`, rank 0's proposal): the suite's `best` write engine.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::clock::realtime_ns;
use crate::runner::RepSync;

/// The hidden option of `segbench run` naming the rank's socket.
pub const SYNC_ARG: &str = "--fleet-sync";
/// How often a blocked side looks at its stop flag.
const POLL: Duration = Duration::from_millis(50);
/// Longest line accepted on the socket.
const MAX_LINE: usize = 4096;

/// Separates a choice's unit from the value a host proposes (`#5 best\tdirect`).
pub const CHOICE_SEP: char = '\t';

/// What ranks must agree on in a label: all of it, or a choice's unit without the value.
pub fn label_key(label: &str) -> &str {
    label.split_once(CHOICE_SEP).map_or(label, |(k, _)| k)
}

/// The value a choice's label proposes, if it is a choice.
pub fn label_value(label: &str) -> Option<&str> {
    label.split_once(CHOICE_SEP).map(|(_, v)| v)
}

/// A line the child sends: `ready LABEL`.
pub fn ready_line(label: &str) -> String {
    format!("ready {}\n", label.replace('\n', " "))
}

/// What the rank answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Start at `start_ns` (host realtime), `offset_ns` after the phase's start.
    Go {
        /// ns since the epoch on this host's clock.
        start_ns: i64,
        /// ns from the rank's phase start to `start_ns`.
        offset_ns: i64,
    },
    /// The value the hosts agreed on for a choice ([`SyncClient::choose`]).
    Pick(String),
    /// Stop: why.
    Abort(String),
}

impl Answer {
    /// The line on the socket.
    pub fn line(&self) -> String {
        match self {
            Answer::Go {
                start_ns,
                offset_ns,
            } => format!("go {start_ns} {offset_ns}\n"),
            Answer::Pick(v) => format!("pick {}\n", v.replace('\n', " ")),
            Answer::Abort(r) => format!("abort {}\n", r.replace('\n', " ")),
        }
    }

    /// Parses a line (without its newline).
    pub fn parse(line: &str) -> Result<Answer, String> {
        let bad = || format!("malformed answer from the fleet rank: '{line}'");
        match line.split_once(' ').unwrap_or((line, "")) {
            ("go", rest) => {
                let mut it = rest.split(' ').map(|x| x.parse::<i64>());
                match (it.next(), it.next(), it.next()) {
                    (Some(Ok(start_ns)), Some(Ok(offset_ns)), None) => Ok(Answer::Go {
                        start_ns,
                        offset_ns,
                    }),
                    _ => Err(bad()),
                }
            }
            ("pick", v) => Ok(Answer::Pick(v.to_string())),
            ("abort", r) => Ok(Answer::Abort(r.to_string())),
            _ => Err(bad()),
        }
    }
}

/// Reads one line (bounded) from `r`, whose read timeout is [`POLL`], looking at `stop` between
/// tries; `Ok(None)` at the end of the stream.
fn read_line(
    r: &mut BufReader<UnixStream>,
    buf: &mut Vec<u8>,
    stop: &dyn Fn() -> bool,
) -> io::Result<Option<String>> {
    loop {
        if stop() {
            return Err(io::Error::new(ErrorKind::Interrupted, "stopped"));
        }
        match r.read_until(b'\n', buf) {
            Ok(0) => return Ok(None),
            Ok(_) if buf.ends_with(b"\n") => {
                let line = String::from_utf8_lossy(&buf[..buf.len() - 1]).into_owned();
                buf.clear();
                return Ok(Some(line));
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if buf.len() > MAX_LINE {
            return Err(io::Error::new(ErrorKind::InvalidData, "line too long"));
        }
    }
}

/// The child's end: implements the runner's [`RepSync`].
#[derive(Debug)]
pub struct SyncClient {
    link: Mutex<(BufReader<UnixStream>, UnixStream, Vec<u8>)>,
    seq: AtomicU64,
    failure: Mutex<Option<String>>,
}

impl SyncClient {
    /// Connects to the rank's socket.
    pub fn connect(path: &Path) -> io::Result<SyncClient> {
        let s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(POLL))?;
        s.set_write_timeout(Some(Duration::from_secs(5)))?;
        Ok(SyncClient {
            link: Mutex::new((BufReader::new(s.try_clone()?), s, Vec::new())),
            seq: AtomicU64::new(0),
            failure: Mutex::new(None),
        })
    }

    /// Why a barrier failed, once one did (every later one then fails at once).
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    /// Agrees with the other hosts on one value (e.g. the `best` write engine, which each host
    /// measures on its own): proposes `mine`, returns the lowest rank's proposal (rank 0's).
    pub fn choose(&self, key: &str, mine: &str, stop: &AtomicBool) -> Result<String, String> {
        let label = format!("{key}{CHOICE_SEP}{}", mine.replace(CHOICE_SEP, " "));
        self.recorded(|| match self.exchange(&label, stop)? {
            Answer::Pick(v) => Ok(v),
            other => Err(format!("the fleet rank answered {other:?} to a choice")),
        })
    }

    /// In a fleet run, every host takes rank 0's `best` write engine (each host measured its own;
    /// hosts running different engines could not be added up). `None` when rank 0 has none or
    /// the barrier failed (the run then stops at the next workload).
    pub fn agreed_best(
        &self,
        mine: Option<String>,
        stop: &std::sync::atomic::AtomicBool,
        progress: &crate::runner::progress::Progress,
    ) -> Option<String> {
        const NONE: &str = "-";
        let own = mine.as_deref().unwrap_or(NONE);
        let chosen = self.choose("best", own, stop).ok()?;
        if chosen != own {
            progress.line(&format!(
                "best write engine: rank 0's {chosen} (this host's own: {own}), so the hosts add up"
            ));
        }
        (chosen != NONE).then_some(chosen)
    }

    /// Runs `f`; a failure is kept, and fails every later barrier at once.
    fn recorded<T>(&self, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        let r = f();
        if let (Err(e), Ok(mut f)) = (&r, self.failure.lock()) {
            *f = Some(e.clone());
        }
        r
    }

    /// Sends `ready #N LABEL`, returns the answer (an abort as an error).
    fn exchange(&self, label: &str, stop: &AtomicBool) -> Result<Answer, String> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut guard = self
            .link
            .lock()
            .map_err(|_| "the fleet sync link is poisoned".to_string())?;
        let (r, w, buf) = &mut *guard;
        w.write_all(ready_line(&format!("#{seq} {label}")).as_bytes())
            .map_err(|e| format!("cannot reach the fleet rank: {e}"))?;
        let line = match read_line(r, buf, &|| stop.load(Ordering::Relaxed)) {
            Ok(Some(l)) => l,
            Ok(None) => return Err("the fleet rank closed the sync link".into()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {
                return Err("stopped while waiting for the other hosts".into())
            }
            Err(e) => return Err(format!("fleet sync link: {e}")),
        };
        match Answer::parse(&line)? {
            Answer::Abort(r) => Err(format!("the fleet run stopped: {r}")),
            a => Ok(a),
        }
    }

    /// Waits at the barrier of `label` and until its start; the start offset to record.
    fn barrier(&self, label: &str, stop: &AtomicBool) -> Result<f64, String> {
        let Answer::Go {
            start_ns,
            offset_ns,
        } = self.exchange(label, stop)?
        else {
            return Err(format!(
                "the fleet rank did not answer '{label}' with a start"
            ));
        };
        loop {
            let left = start_ns - realtime_ns();
            if left <= 0 {
                break;
            }
            if stop.load(Ordering::Relaxed) {
                return Err("stopped while waiting for the start".into());
            }
            std::thread::sleep(Duration::from_nanos(left as u64).min(POLL));
        }
        // The real start, late by the wake-up (or a late answer), not the planned one.
        let late_ns = (realtime_ns() - start_ns).max(0);
        Ok((offset_ns + late_ns) as f64 / 1e9)
    }
}

impl RepSync for SyncClient {
    fn wait(&self, label: &str, stop: &AtomicBool) -> Result<f64, String> {
        self.recorded(|| self.barrier(label, stop))
    }
}

/// The rank's end: one child's connection on a socket the rank listens on.
#[derive(Debug)]
pub struct Relay {
    listener: UnixListener,
    conn: Mutex<Option<UnixStream>>,
    pending: Mutex<Option<String>>,
}

impl Relay {
    /// Listens on `path` (a fresh path in the rank's scratch directory).
    pub fn bind(path: &Path) -> io::Result<Relay> {
        let listener = UnixListener::bind(path)?;
        listener.set_nonblocking(true)?;
        Ok(Relay {
            listener,
            conn: Mutex::new(None),
            pending: Mutex::new(None),
        })
    }

    /// Serves the child until `done` is set or it closes the link: each `ready LABEL` is
    /// handed to `on_ready` (which tells rank 0). Errors are the child's protocol breaches.
    pub fn serve(
        &self,
        done: &AtomicBool,
        on_ready: &dyn Fn(&str) -> Result<(), String>,
    ) -> Result<(), String> {
        let stream = loop {
            if done.load(Ordering::Relaxed) {
                return Ok(());
            }
            match self.listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL / 5),
                Err(e) => return Err(format!("sync socket: {e}")),
            }
        };
        let setup = || -> io::Result<UnixStream> {
            stream.set_nonblocking(false)?;
            stream.set_read_timeout(Some(POLL))?;
            stream.set_write_timeout(Some(Duration::from_secs(5)))?;
            stream.try_clone()
        };
        let writer = setup().map_err(|e| format!("sync socket: {e}"))?;
        if let Ok(mut c) = self.conn.lock() {
            *c = Some(writer);
        }
        let mut r = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            let line = match read_line(&mut r, &mut buf, &|| done.load(Ordering::Relaxed)) {
                Ok(Some(l)) => l,
                Ok(None) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(()),
                Err(e) => return Err(format!("sync socket: {e}")),
            };
            let label = line
                .strip_prefix("ready ")
                .ok_or_else(|| format!("the child sent '{line}' on the sync socket"))?;
            self.ready(label)?;
            on_ready(label)?;
        }
    }

    /// The child is ready for `label`: an error when it already waits for another.
    pub fn ready(&self, label: &str) -> Result<(), String> {
        let mut p = self.pending.lock().map_err(|_| "poisoned".to_string())?;
        if let Some(old) = p.as_ref() {
            return Err(format!(
                "the child asked for '{label}' while still waiting for '{old}'"
            ));
        }
        *p = Some(label.to_string());
        Ok(())
    }

    /// Rank 0 says `label` starts at `start_ns` (this host's clock), `offset_ns` after the
    /// phase's start: tells the child (for a choice: the value chosen). An error when the child
    /// does not wait for that label.
    pub fn go(&self, label: &str, start_ns: i64, offset_ns: i64) -> Result<(), String> {
        {
            let mut p = self.pending.lock().map_err(|_| "poisoned".to_string())?;
            match p.as_deref() {
                Some(l) if label_key(l) == label_key(label) => *p = None,
                Some(l) => {
                    return Err(format!(
                        "rank 0 started '{label}' while this host waits for '{l}'"
                    ))
                }
                None => {
                    return Err(format!(
                        "rank 0 started '{label}' while this host waits for nothing"
                    ))
                }
            }
        }
        match label_value(label) {
            Some(v) => self.send(&Answer::Pick(v.to_string())),
            None => self.send(&Answer::Go {
                start_ns,
                offset_ns,
            }),
        }
    }

    /// Tells a waiting child to stop (best effort) and closes the link.
    pub fn abort(&self, reason: &str) {
        let _ = self.send(&Answer::Abort(reason.to_string()));
        if let Ok(mut c) = self.conn.lock() {
            if let Some(s) = c.take() {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    fn send(&self, a: &Answer) -> Result<(), String> {
        let mut c = self.conn.lock().map_err(|_| "poisoned".to_string())?;
        match c.as_mut() {
            Some(s) => s
                .write_all(a.line().as_bytes())
                .map_err(|e| format!("cannot answer the child: {e}")),
            None => Err("the child is not connected".into()),
        }
    }
}

/// Rank 0's barrier over one step's ranks: released when every rank is ready for the same
/// label (for a choice, the same unit: the lowest rank's proposal is released to all); a rank
/// ready for another label, or done while others wait, is an error that stops the run.
#[derive(Debug, Clone, Default)]
pub struct Barrier {
    ranks: BTreeSet<u32>,
    waiting: BTreeMap<u32, String>,
    finished: BTreeSet<u32>,
}

impl Barrier {
    /// A barrier over `ranks`.
    pub fn new(ranks: impl IntoIterator<Item = u32>) -> Barrier {
        Barrier {
            ranks: ranks.into_iter().collect(),
            ..Barrier::default()
        }
    }

    /// True while some rank waits.
    pub fn waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// The ranks not yet ready, while some rank waits.
    pub fn missing(&self) -> Vec<u32> {
        self.ranks
            .iter()
            .filter(|r| !self.waiting.contains_key(r))
            .copied()
            .collect()
    }

    /// The label ranks wait for, if any (a choice's unit without the value).
    pub fn label(&self) -> Option<&str> {
        self.waiting.values().next().map(|l| label_key(l))
    }

    /// Rank `rank` is ready for `label`: `Some(label)` when that releases the barrier.
    pub fn ready(&mut self, rank: u32, label: &str) -> Result<Option<String>, String> {
        if !self.ranks.contains(&rank) {
            return Err(format!(
                "rank {rank} is ready for '{label}' but takes no part in this step"
            ));
        }
        if let Some(f) = self.finished.iter().next() {
            return Err(format!(
                "rank {rank} is ready for '{label}' but rank {f} already finished its suite: \
                 the hosts' suites diverged (a workload skipped or failed on one host?)"
            ));
        }
        let key = label_key(label);
        if let Some((other, l)) = self.waiting.iter().find(|(_, l)| label_key(l) != key) {
            return Err(format!(
                "rank {rank} is ready for '{label}' but rank {other} for '{l}': the hosts' \
                 suites diverged (a workload skipped or failed on one host?)"
            ));
        }
        if self.waiting.insert(rank, label.to_string()).is_some() {
            return Err(format!("rank {rank} was ready for '{label}' twice"));
        }
        if self.waiting.len() == self.ranks.len() {
            // A choice takes the lowest rank's value: every rank gets the same label.
            let first = self.waiting.values().next().cloned();
            self.waiting.clear();
            return Ok(first);
        }
        Ok(None)
    }

    /// Rank `rank`'s part of the step ended: an error when others wait for it.
    /// Ranks outside the barrier (idle in a scaling step) may end any time.
    pub fn done(&mut self, rank: u32) -> Result<(), String> {
        if !self.ranks.contains(&rank) {
            return Ok(());
        }
        self.finished.insert(rank);
        let other = self
            .waiting
            .iter()
            .find(|(r, _)| **r != rank)
            .or_else(|| self.waiting.iter().next());
        match other {
            Some((other, l)) => Err(format!(
                "rank {rank} finished its part while rank {other} waits for it at '{l}' (the \
                 hosts' suites diverged, or the run failed on rank {rank})"
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
