//! The leader's side of the followers' connections: accepting `rf − 1` followers (bounded by
//! a join timeout), and serving one follower's fetches in a repetition (Kafka's
//! `ReplicaManager.fetchMessages` for one replica): each FETCH carries the follower's log end
//! offsets; the leader books them ([`super::isr::ReplicaState::fetch`]), holds the fetch up to
//! `replica.fetch.wait.max.ms` until a byte is there (`replica.fetch.min.bytes` 1), and answers
//! with the whole-batch byte range of each partition's segment file, a DATA header then the
//! bytes through the read engine (`--fetch-engine`: sendfile, splice, … straight from the
//! page cache to the socket), then FETCH_END.

use std::collections::HashMap;
use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use workloads::pacing::Clock;
use workloads::read::{self, Extent, ReadEngine};
use workloads::EngineError;

use super::isr::{FetchRange, Shared};
use super::wire::{self, Filled, FollowerReport, Join, Joined, WIRE_VERSION};
use crate::auth::{token_matches, Failures, WaitingRoom, AUTH_DEADLINE};
use crate::sink::protocol::{FrameHeader, FrameKind};

/// How often a leader waiting for a fetch checks whether the repetition ended.
pub const POLL: Duration = Duration::from_millis(20);
/// How long the leader waits for a follower's report after the repetition's END.
pub const REPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// A send that stalls this long means the follower is gone.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// One follower's connection, as the leader holds it.
#[derive(Debug)]
pub struct Link {
    /// The connection.
    pub stream: TcpStream,
    /// The follower's number, 1-based.
    pub follower: u32,
    /// Its address.
    pub peer: SocketAddr,
    /// Why the connection was given up, once it was.
    pub lost: Option<String>,
}

/// Kafka's replica fetch limits, as the leader applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// `replica.fetch.max.bytes`, per partition (at least one whole batch is sent).
    pub max_bytes: u64,
    /// `replica.fetch.min.bytes`: hold the fetch until this many bytes are there...
    pub min_bytes: u64,
    /// ... or `replica.fetch.wait.max.ms` passed.
    pub wait_max: Duration,
}

/// What serving one follower for one repetition gave.
#[derive(Debug, Clone, Default)]
pub struct Served {
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// The follower's own figures (none when it was lost).
    pub report: Option<FollowerReport>,
    /// CPU of the serving thread, seconds (the leader's, for this follower).
    pub cpu_s: f64,
    /// Why the follower's input was refused (a FETCH outside the log, an impossible report):
    /// the repetition is an error naming it.
    pub refused: Option<String>,
}

/// Accepts followers on `listener` until `n` have joined, `timeout` passed or `stop` is set
/// (a signal: a fleet rank stops its leader when a follower failed); each gets its number in
/// the order it joined, from `first`. Nothing holds the port before it is authenticated: each
/// connection is read on its own thread and must present its [`Join`] with `token` within
/// [`AUTH_DEADLINE`]; at most [`MAX_UNAUTHENTICATED`](crate::auth::MAX_UNAUTHENTICATED) wait at
/// once (a new one shuts the oldest down: [`WaitingRoom`]); a wrong token is logged and answered after a delay that
/// grows with each failure ([`Failures`]).
pub fn accept_followers(
    listener: &TcpListener,
    first: u32,
    n: u32,
    timeout: Duration,
    stop: &AtomicBool,
    token: &str,
) -> Result<Vec<Link>, String> {
    let deadline = Instant::now() + timeout;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("listener: {e}"))?;
    let room = WaitingRoom::default();
    let failures = Failures::default();
    let token: Arc<str> = Arc::from(token);
    let (tx, rx) = mpsc::channel::<(TcpStream, SocketAddr)>();
    let mut links = Vec::new();
    while (links.len() as u32) < n {
        // Checked at every turn: a flood of connections does not hold off a stop or the
        // deadline.
        if stop.load(Ordering::Relaxed) {
            return Err(format!(
                "stopped while waiting for followers ({} of {n} joined)",
                links.len()
            ));
        }
        if Instant::now() >= deadline {
            let crowd = match room.evicted() {
                0 => String::new(),
                k => format!(" ({k} connections closed unauthenticated to make room)"),
            };
            return Err(format!(
                "{} of {n} followers joined within {timeout:?} on {}{crowd}",
                links.len(),
                listener.local_addr().map_or("?".into(), |a| a.to_string())
            ));
        }
        match listener.accept() {
            Ok((stream, peer)) => match room.admit(&stream) {
                Ok(seat) => {
                    let (token, failures, tx) = (token.clone(), failures.clone(), tx.clone());
                    let spawned = std::thread::Builder::new()
                        .name("replica-auth".into())
                        .spawn(move || {
                            let authenticated = authenticate(&stream, &token, &failures);
                            if !seat.leave() {
                                return; // shut down to make room: the follower retries
                            }
                            match authenticated {
                                Ok(()) => {
                                    let _ = tx.send((stream, peer));
                                }
                                Err(why) => {
                                    eprintln!("segbench replicate: refused {peer}: {why}")
                                }
                            }
                        });
                    if let Err(e) = spawned {
                        eprintln!("segbench replicate: cannot read {peer}: {e}");
                    }
                }
                Err(e) => eprintln!("segbench replicate: cannot hold {peer}: {e}"),
            },
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => {
                // EMFILE and friends (a flood): wait a little rather than give up or spin.
                eprintln!("segbench replicate: accept: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        while let Ok((stream, peer)) = rx.try_recv() {
            if links.len() as u32 >= n {
                let _ = refuse(&stream, "the leader has all its followers".into());
                continue;
            }
            let follower = first + links.len() as u32;
            let yes = Joined {
                ok: true,
                follower,
                error: None,
            };
            match wire::send_json(&stream, FrameKind::Hello, &yes) {
                Ok(()) => links.push(Link {
                    stream,
                    follower,
                    peer,
                    lost: None,
                }),
                Err(e) => eprintln!("segbench replicate: {peer} left while joining: {e}"),
            }
        }
    }
    Ok(links)
}

/// Reads a connection's [`Join`] (by [`AUTH_DEADLINE`]) and checks its version and token
/// (after the back-off of [`Failures`], once an attempt failed); a refusal is answered and
/// says why.
fn authenticate(stream: &TcpStream, token: &str, failures: &Failures) -> Result<(), String> {
    let deadline = Instant::now() + AUTH_DEADLINE;
    let setup = stream
        .set_nonblocking(false)
        .and_then(|_| stream.set_nodelay(true))
        .and_then(|_| stream.set_write_timeout(Some(AUTH_DEADLINE)));
    setup.map_err(|e| e.to_string())?;
    let join: Join = wire::json_by(stream, FrameKind::Hello, wire::MAX_JOIN_BYTES, deadline)
        .map_err(|e| format!("no valid join within {AUTH_DEADLINE:?}: {e}"))?;
    if join.version != WIRE_VERSION {
        let why = format!(
            "follower speaks version {}, this leader {WIRE_VERSION}",
            join.version
        );
        let _ = refuse(stream, why.clone());
        return Err(why);
    }
    // After failures, every attempt waits before its check (holding its seat in the room),
    // so guesses are checked at most MAX_UNAUTHENTICATED per delay.
    std::thread::sleep(failures.delay());
    if !token_matches(token, &join.token) {
        failures.record();
        let why =
            "wrong token (use the leader's: SEGBENCH_FLEET_TOKEN or SEGBENCH_REPLICATION_TOKEN)";
        let _ = refuse(stream, why.into());
        return Err(format!(
            "{why}; {} failed attempts so far",
            failures.count()
        ));
    }
    stream
        .set_read_timeout(Some(REPORT_TIMEOUT))
        .and_then(|_| stream.set_write_timeout(Some(SEND_TIMEOUT)))
        .map_err(|e| e.to_string())
}

/// Answers a join with a refusal.
fn refuse(stream: &TcpStream, error: String) -> std::io::Result<()> {
    let no = Joined {
        ok: false,
        follower: 0,
        error: Some(error),
    };
    wire::send_json(stream, FrameKind::Hello, &no)
}

/// Serves `link`'s fetches until `stop`, then ends the repetition (END, the follower's report).
/// A follower that goes away is marked lost (`link.lost`) and the repetition goes on without
/// it; an error reading the leader's own segment files is returned.
pub fn serve(
    link: &mut Link,
    shared: &Shared,
    engine: &mut dyn ReadEngine,
    limits: FetchLimits,
    stop: &AtomicBool,
    clock: &dyn Clock,
) -> Result<Served, EngineError> {
    let cpu0 = crate::usage::CpuSnapshot::thread();
    let t0 = Instant::now();
    let mut out = Served::default();
    let result = fetch_loop(link, shared, engine, limits, stop, clock, &mut out);
    match result {
        Ok(()) => match finish(&link.stream, shared.lock().parts.len() as u32) {
            Ok(r) => match check_report(&r, out.bytes_sent, t0.elapsed()) {
                Ok(()) => out.report = Some(r),
                Err(why) => {
                    let why = format!("follower {} reported {why}: report refused", link.follower);
                    link.lost = Some(why.clone());
                    out.refused = Some(why);
                }
            },
            Err(e) => link.lost = Some(format!("no report after the repetition: {e}")),
        },
        Err(Fetching::Gone(why)) => link.lost = Some(why),
        Err(Fetching::Refused(why)) => {
            link.lost = Some(why.clone());
            out.refused = Some(why);
        }
        Err(Fetching::Engine(e)) => return Err(e),
    }
    out.cpu_s = {
        let c = crate::usage::CpuSnapshot::thread().since(&cpu0);
        c.user_s + c.sys_s
    };
    Ok(out)
}

/// Whether a follower's report is possible: it appended exactly the bytes it was sent, and
/// its CPU is a number between 0 and the time it was served (plus a little: its clock
/// started when it was told to start, just before). Why not otherwise.
pub fn check_report(r: &FollowerReport, bytes_sent: u64, served: Duration) -> Result<(), String> {
    if r.bytes != bytes_sent {
        return Err(format!(
            "{} bytes appended where the leader sent it {bytes_sent}",
            r.bytes
        ));
    }
    let most = served.as_secs_f64() * 1.1 + 1.0;
    if !r.cpu_s.is_finite() || r.cpu_s < 0.0 || r.cpu_s > most {
        return Err(format!(
            "{} s of CPU in {:.3} s served (possible: 0 to {most:.3} s)",
            r.cpu_s,
            served.as_secs_f64()
        ));
    }
    if r.appends > r.fetches.saturating_mul(super::MAX_PARTITIONS as u64) {
        return Err(format!("{} appends in {} fetches", r.appends, r.fetches));
    }
    Ok(())
}

enum Fetching {
    Gone(String),
    Refused(String),
    Engine(EngineError),
}

fn fetch_loop(
    link: &Link,
    shared: &Shared,
    engine: &mut dyn ReadEngine,
    limits: FetchLimits,
    stop: &AtomicBool,
    clock: &dyn Clock,
    out: &mut Served,
) -> Result<(), Fetching> {
    let s = &link.stream;
    let f = link.follower as usize - 1;
    let partitions = shared.lock().parts.len() as u32;
    let gone = |e: std::io::Error| Fetching::Gone(format!("follower {}: {e}", link.follower));
    s.set_read_timeout(Some(POLL)).map_err(gone)?;
    let mut files: HashMap<PathBuf, File> = HashMap::new();
    loop {
        let h = match wire::read_header(s, &|| stop.load(Ordering::Acquire)).map_err(gone)? {
            Ok(h) => h,
            Err(Filled::GaveUp) => return Ok(()),
            Err(_) => {
                return Err(Fetching::Gone(format!(
                    "follower {} closed the connection",
                    link.follower
                )))
            }
        };
        if h.kind != FrameKind::Fetch {
            return Err(gone(wire::protocol(format!(
                "expected FETCH, got {:?}",
                h.kind
            ))));
        }
        let offsets = wire::read_fetch(s, &h, partitions).map_err(gone)?;
        check_fetch(shared, link.follower, &offsets)?;
        let ranges = long_poll(shared, f, &offsets, limits, stop, clock);
        if ranges.is_empty() && stop.load(Ordering::Acquire) {
            return Ok(());
        }
        for (p, range) in ranges {
            let file = match files.get(&range.path) {
                Some(file) => file,
                None => {
                    let file = File::open(&range.path).map_err(|e| {
                        Fetching::Engine(EngineError::io("open", &range.path, e, 0))
                    })?;
                    files.entry(range.path.clone()).or_insert(file)
                }
            };
            let len = range.end - range.start;
            let header =
                FrameHeader::data(0, p as u32, 0, range.start, range.base, len as u32).encode();
            let extent = Extent {
                file,
                path: &range.path,
                offset: range.start,
                len,
            };
            read::send_all(s.as_fd(), &header, true, "send frame header", &range.path)
                .and_then(|_| engine.send(&extent, s.as_fd()))
                .map_err(|e| {
                    if read::is_peer_gone(&e) {
                        Fetching::Gone(format!("follower {}: {e}", link.follower))
                    } else {
                        Fetching::Engine(e)
                    }
                })?;
            out.bytes_sent += len;
        }
        wire::send_control(s, FrameKind::FetchEnd).map_err(gone)?;
    }
}

/// A FETCH's offsets must each be a place in the partition's log (see
/// [`PartState::check_fetch_offset`](super::isr::PartState::check_fetch_offset)).
fn check_fetch(shared: &Shared, follower: u32, offsets: &[i64]) -> Result<(), Fetching> {
    let st = shared.lock();
    for (p, (&o, part)) in offsets.iter().zip(&st.parts).enumerate() {
        part.check_fetch_offset(o).map_err(|why| {
            Fetching::Refused(format!(
                "follower {follower}: a FETCH of partition {p} from {why}: refused"
            ))
        })?;
    }
    Ok(())
}

/// Books the fetch and waits (at most `replica.fetch.wait.max.ms`, or until `stop`) until
/// `replica.fetch.min.bytes` are there past the follower's offsets; returns each partition's
/// byte range (what is there when the wait ends, maybe nothing).
fn long_poll(
    shared: &Shared,
    f: usize,
    offsets: &[i64],
    limits: FetchLimits,
    stop: &AtomicBool,
    clock: &dyn Clock,
) -> Vec<(usize, FetchRange)> {
    let mut st = shared.lock();
    let deadline = clock.now_ns() + limits.wait_max.as_nanos() as u64;
    loop {
        let now = clock.now_ns();
        let ranges: Vec<(usize, FetchRange)> = offsets
            .iter()
            .enumerate()
            .filter_map(|(p, &o)| st.fetch(p, f, o, limits.max_bytes, now).map(|r| (p, r)))
            .collect();
        shared.hw.notify_all();
        let bytes: u64 = ranges.iter().map(|(_, r)| r.end - r.start).sum();
        if bytes >= limits.min_bytes || now >= deadline || stop.load(Ordering::Acquire) {
            return ranges;
        }
        let left = Duration::from_nanos(deadline - now).min(POLL);
        st = shared
            .data
            .wait_timeout(st, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// Ends a repetition on a connection: END, then the follower's report (a FETCH it sent
/// before seeing END is read and dropped).
fn finish(s: &TcpStream, partitions: u32) -> std::io::Result<FollowerReport> {
    wire::send_control(s, FrameKind::End)?;
    let deadline = Instant::now() + REPORT_TIMEOUT;
    loop {
        let late = || Instant::now() >= deadline;
        match wire::read_header(s, &late)? {
            Ok(h) if h.kind == FrameKind::End => return wire::read_json(s, &h),
            Ok(h) if h.kind == FrameKind::Fetch => {
                wire::read_fetch(s, &h, partitions)?;
            }
            Ok(h) => return Err(wire::protocol(format!("expected END, got {:?}", h.kind))),
            Err(Filled::Closed) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the follower closed the connection",
                ))
            }
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no report within {REPORT_TIMEOUT:?}"),
                ))
            }
        }
    }
}

/// Sends the session's END to every connection still up (no more repetitions).
pub fn goodbye(links: &[Link]) {
    for l in links.iter().filter(|l| l.lost.is_none()) {
        let _ = wire::send_control(&l.stream, FrameKind::End);
    }
}
