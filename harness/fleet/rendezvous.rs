//! The run-scoped rendezvous: rank 0 listens and admits each rank once (token checked, refusals
//! logged), every other rank connects with retry and exponential back-off until the join
//! timeout. Each admitted connection becomes a [`Link`]: a reader thread that forwards messages
//! to one channel (answering pings at once, so the clock estimate does not include a queue), and
//! heartbeats both ways, so a rank that vanishes is noticed within [`SILENCE_LIMIT`].

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::clock::realtime_ns;
use super::proto::{
    read_msg, write_msg, Msg, ProtoError, MAX_FRAME_BYTES, MAX_RESULTS_FRAME_BYTES,
};
use crate::auth::{token_matches, ByDeadline, Failures, WaitingRoom, AUTH_DEADLINE};

/// Heartbeat period, both ways.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A link silent this long is lost (the host vanished or hangs).
pub const SILENCE_LIMIT: Duration = Duration::from_secs(3);
/// Writes that block this long fail.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a joining rank waits for rank 0's answer (rank 0 may delay it a little, see
/// [`crate::auth::Failures`]).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest pause between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What a link reports.
#[derive(Debug)]
pub enum Event {
    /// A message from rank `.0`.
    Msg(u32, Msg),
    /// The link to rank `.0` is gone, and why.
    Lost(u32, String),
}

/// One admitted connection: send side plus its reader and heartbeat threads.
#[derive(Debug)]
pub struct Link {
    writer: Arc<Mutex<TcpStream>>,
    open: Arc<AtomicBool>,
}

impl Link {
    /// Starts the reader (frames up to `max_frame`) and heartbeat threads of `stream`, whose
    /// messages go to `tx` as coming from `peer`.
    pub fn start(
        stream: TcpStream,
        peer: u32,
        max_frame: u32,
        tx: Sender<Event>,
    ) -> io::Result<Link> {
        stream.set_read_timeout(Some(SILENCE_LIMIT))?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
        stream.set_nodelay(true)?;
        let writer = Arc::new(Mutex::new(stream.try_clone()?));
        let open = Arc::new(AtomicBool::new(true));
        let (w, o) = (writer.clone(), open.clone());
        std::thread::spawn(move || {
            let mut r = stream;
            loop {
                let m = read_msg(&mut r, max_frame);
                if !o.load(Ordering::Relaxed) {
                    return;
                }
                let m = match m {
                    Ok(m) => m,
                    Err(e) => {
                        let _ = tx.send(Event::Lost(peer, lost_reason(&e)));
                        return;
                    }
                };
                match m {
                    Msg::Heartbeat => {}
                    Msg::Ping { t0_ns } => {
                        let pong = Msg::Pong {
                            t0_ns,
                            t_rank_ns: realtime_ns(),
                        };
                        if let Ok(mut s) = w.lock() {
                            let _ = write_msg(&mut *s, &pong);
                        }
                    }
                    m => {
                        if tx.send(Event::Msg(peer, m)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let (w, o) = (writer.clone(), open.clone());
        std::thread::spawn(move || {
            while o.load(Ordering::Relaxed) {
                std::thread::sleep(HEARTBEAT);
                let ok = w
                    .lock()
                    .map(|mut s| write_msg(&mut *s, &Msg::Heartbeat).is_ok())
                    .unwrap_or(false);
                if !ok {
                    return;
                }
            }
        });
        Ok(Link { writer, open })
    }

    /// Sends one message.
    pub fn send(&self, m: &Msg) -> Result<(), ProtoError> {
        let mut s = self
            .writer
            .lock()
            .map_err(|_| ProtoError::Malformed("link poisoned".into()))?;
        write_msg(&mut *s, m)
    }

    /// Stops the threads and closes the connection.
    pub fn close(&self) {
        self.open.store(false, Ordering::Relaxed);
        if let Ok(s) = self.writer.lock() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.close();
    }
}

/// Why a link broke, in words.
fn lost_reason(e: &ProtoError) -> String {
    match e {
        ProtoError::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            "connection closed (the process exited or was killed)".into()
        }
        ProtoError::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            format!(
                "silent for {} s (the host vanished or hangs)",
                SILENCE_LIMIT.as_secs()
            )
        }
        e => format!("connection broken: {e}"),
    }
}

/// A rank admitted by rank 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its rank.
    pub rank: u32,
    /// Its host name.
    pub host: String,
    /// The address it connected from, as rank 0 sees it.
    pub peer_ip: IpAddr,
    /// Rank 0's address on that connection (how this rank reaches rank 0).
    pub local_ip: IpAddr,
    /// Its hardware fingerprint.
    pub fingerprint: Option<String>,
}

/// Every admitted rank: links, members, and the channel their messages arrive on.
#[derive(Debug)]
pub struct Members {
    /// Links by rank.
    pub links: BTreeMap<u32, Link>,
    /// Members by rank.
    pub members: BTreeMap<u32, Member>,
    /// Messages from every link.
    pub rx: Receiver<Event>,
    /// Connections refused so far (wrong token, bad registration).
    pub refused: u32,
}

impl Members {
    /// Sends `m` to every rank, ignoring the ones already gone.
    pub fn broadcast(&self, m: &Msg) {
        for l in self.links.values() {
            let _ = l.send(m);
        }
    }
}

/// The address rank 0 listens on: the coordinator's own address when it is a loopback one,
/// else every interface on the coordinator's port (also when the name does not resolve yet,
/// as a Kubernetes pod's own DNS name may not before it runs).
pub fn bind_address(coordinator: &str) -> Result<SocketAddr, String> {
    if let Some(a) = coordinator
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .filter(|a| a.ip().is_loopback())
    {
        return Ok(a);
    }
    let port = coordinator
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or_else(|| format!("no port in '{coordinator}'"))?;
    Ok(SocketAddr::from(([0, 0, 0, 0], port)))
}

/// Admits ranks on `listener` until all `size` have registered, `deadline` passes or `stop` is
/// set. Returns the members and, when incomplete, the ranks that never came.
///
/// Nothing holds the port before it authenticates: each new connection is authenticated on a
/// thread of its own within [`AUTH_DEADLINE`] (the whole Hello and Register, not per byte), at
/// most [`MAX_UNAUTHENTICATED`](crate::auth::MAX_UNAUTHENTICATED) at once ([`WaitingRoom`]: a new one shuts the oldest down, so
/// strangers that keep connecting cannot keep a rank out), and each wrong
/// token is answered later than the one before ([`Failures`]). This loop only accepts and
/// admits, so the deadline and `stop` are seen every [`ACCEPT_TICK`].
pub fn admit(
    listener: &TcpListener,
    run_id: &str,
    token: &str,
    size: u32,
    deadline: Instant,
    stop: &AtomicBool,
) -> io::Result<(Members, Vec<u32>)> {
    listener.set_nonblocking(true)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let (greeted_tx, greeted) = std::sync::mpsc::channel::<Greeted>();
    let room = WaitingRoom::default();
    let failures = Failures::default();
    let mut m = Members {
        links: BTreeMap::new(),
        members: BTreeMap::new(),
        rx,
        refused: 0,
    };
    while (m.members.len() as u32) < size
        && Instant::now() < deadline
        && !stop.load(Ordering::Relaxed)
    {
        match listener.accept() {
            Ok((stream, from)) => match room.admit(&stream) {
                Ok(seat) => {
                    let (token, out) = (token.to_string(), greeted_tx.clone());
                    let failures = failures.clone();
                    std::thread::spawn(move || {
                        let g = authenticate(stream, from, &token, size, &failures);
                        // A connection shut down to make room is neither a refusal nor a
                        // member: its rank retries.
                        if let (true, Some(g)) = (seat.leave(), g) {
                            let _ = out.send(g);
                        }
                    });
                }
                Err(e) => eprintln!("segbench fleet: cannot take a connection from {from}: {e}"),
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if let Ok(g) = greeted.recv_timeout(ACCEPT_TICK) {
                    admit_one(g, run_id, &mut m, &tx);
                }
            }
            Err(e) if is_transient(&e) => std::thread::sleep(ACCEPT_TICK),
            Err(e) => return Err(e),
        }
        while let Ok(g) = greeted.try_recv() {
            admit_one(g, run_id, &mut m, &tx);
        }
    }
    if room.evicted() > 0 {
        eprintln!(
            "segbench fleet: {} connection(s) closed unauthenticated to make room for newer ones",
            room.evicted()
        );
    }
    let missing = (0..size).filter(|r| !m.members.contains_key(r)).collect();
    Ok((m, missing))
}

/// How often the accept loop looks at the deadline, the stop flag and finished handshakes.
const ACCEPT_TICK: Duration = Duration::from_millis(20);

/// Errors of `accept` that concern one connection or a passing shortage (too many open
/// files), not the listener.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) || matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// An authenticated connection and its registration, or why a connection was refused.
type Greeted = Result<(TcpStream, Member), (SocketAddr, String)>;

/// Admits one authenticated rank (Welcome, its link) unless its rank has already joined.
fn admit_one(g: Greeted, run_id: &str, m: &mut Members, tx: &Sender<Event>) {
    let (mut s, member) = match g {
        Ok(ok) => ok,
        Err((from, why)) => {
            m.refused += 1;
            eprintln!("segbench fleet: refused a connection from {from}: {why}");
            return;
        }
    };
    let from = s
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| member.peer_ip.to_string());
    if m.members.contains_key(&member.rank) {
        let why = format!("rank {} has already joined", member.rank);
        let _ = write_msg(
            &mut s,
            &Msg::Abort {
                reason: why.clone(),
            },
        );
        m.refused += 1;
        eprintln!("segbench fleet: refused a connection from {from}: {why}");
        return;
    }
    let welcome = Msg::Welcome {
        run_id: run_id.to_string(),
    };
    let started = write_msg(&mut s, &welcome)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            Link::start(s, member.rank, MAX_RESULTS_FRAME_BYTES, tx.clone())
                .map_err(|e| e.to_string())
        });
    match started {
        Ok(link) => {
            eprintln!(
                "segbench fleet: rank {} joined from {from} ({})",
                member.rank, member.host
            );
            m.links.insert(member.rank, link);
            m.members.insert(member.rank, member);
        }
        Err(e) => {
            m.refused += 1;
            eprintln!(
                "segbench fleet: rank {} could not be welcomed: {e}",
                member.rank
            );
        }
    }
}

/// Reads Hello and Register from a new connection within [`AUTH_DEADLINE`]; a wrong token is
/// answered with Abort after the [`Failures`] delay. The caller answers Welcome. `None`: the
/// connection closed before sending a byte.
fn authenticate(
    stream: TcpStream,
    from: SocketAddr,
    token: &str,
    size: u32,
    failures: &Failures,
) -> Option<Greeted> {
    let mut s = stream;
    let fail = |why: String| Some(Err((from, why)));
    let setup = s
        .set_nonblocking(false)
        .and_then(|_| s.set_write_timeout(Some(AUTH_DEADLINE)));
    if let Err(e) = setup {
        return fail(e.to_string());
    }
    let mut r = ByDeadline::new(&s, AUTH_DEADLINE, "not authenticated");
    let refuse = |s: &mut TcpStream, why: String| {
        let _ = write_msg(
            s,
            &Msg::Abort {
                reason: why.clone(),
            },
        );
        Some(Err((from, why)))
    };
    match read_msg(&mut r, MAX_FRAME_BYTES) {
        Ok(Msg::Hello { token: t, .. }) if token_matches(token, &t) => {}
        Ok(Msg::Hello { .. }) => {
            std::thread::sleep(failures.record());
            return refuse(&mut s, "wrong token".into());
        }
        Ok(_) => {
            std::thread::sleep(failures.record());
            return refuse(&mut s, "no Hello with the run's token".into());
        }
        // Closed before saying anything: a reachability check, or a rank that gave up this
        // connect and retries; neither a refusal nor a member.
        Err(ProtoError::Io(e)) if r.got() == 0 && e.kind() == io::ErrorKind::UnexpectedEof => {
            return None
        }
        Err(e) => return fail(format!("no Hello: {e}")),
    }
    let (rank, rsize, host, fingerprint) = match read_msg(&mut r, MAX_FRAME_BYTES) {
        Ok(Msg::Register {
            rank,
            size,
            host,
            fingerprint,
            ..
        }) => (rank, size, host, fingerprint),
        Ok(_) => return refuse(&mut s, "expected Register".into()),
        Err(e) => return fail(format!("no Register: {e}")),
    };
    if rsize != size {
        return refuse(
            &mut s,
            format!("rank {rank} was started with size {rsize}, rank 0 with {size}"),
        );
    }
    if rank >= size {
        return refuse(&mut s, format!("rank {rank} is out of range 0..{size}"));
    }
    let (peer_ip, local_ip) = match (s.peer_addr(), s.local_addr()) {
        (Ok(p), Ok(l)) => (p.ip(), l.ip()),
        _ => return fail("the connection closed during the handshake".into()),
    };
    Some(Ok((
        s,
        Member {
            rank,
            host,
            peer_ip,
            local_ip,
            fingerprint,
        },
    )))
}

/// Why a rank could not join.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// Rank 0 answered with a refusal (wrong token, duplicate rank, other size).
    #[error("rank 0 refused this rank: {0}")]
    Refused(String),
    /// Rank 0 could not be reached in time.
    #[error("could not reach rank 0 at {addr} within {secs} s: {last}")]
    Timeout {
        /// The coordinator.
        addr: String,
        /// The join timeout, seconds.
        secs: u64,
        /// The last error.
        last: String,
    },
    /// Stopped by a signal while joining.
    #[error("interrupted while joining")]
    Interrupted,
}

/// Resolves `coordinator` with `fallback` (e.g. the Slurm NodeAddr lookup) when the name does
/// not resolve.
fn resolve(coordinator: &str, fallback: &dyn Fn() -> Option<String>) -> io::Result<SocketAddr> {
    match coordinator.to_socket_addrs() {
        Ok(mut a) => a
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "resolves to no address")),
        Err(e) => match fallback() {
            Some(alt) => alt
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "resolves to no address")),
            None => Err(e),
        },
    }
}

/// Connects to rank 0 with back-off until `timeout`, says Hello and `register`, and starts the
/// link. `fallback` gives another HOST:PORT when the coordinator's name does not resolve.
pub fn join(
    coordinator: &str,
    token: &str,
    register: &Msg,
    timeout: Duration,
    stop: &AtomicBool,
    fallback: &dyn Fn() -> Option<String>,
) -> Result<(Link, Receiver<Event>), JoinError> {
    let deadline = Instant::now() + timeout;
    let mut backoff = Duration::from_millis(50);
    let mut last = String::from("not tried");
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            return Err(JoinError::Interrupted);
        }
        match try_join(coordinator, token, register, fallback) {
            Ok(Ok(s)) => {
                let (tx, rx) = std::sync::mpsc::channel();
                let link =
                    Link::start(s, 0, MAX_FRAME_BYTES, tx).map_err(|e| JoinError::Timeout {
                        addr: coordinator.into(),
                        secs: timeout.as_secs(),
                        last: e.to_string(),
                    })?;
                return Ok((link, rx));
            }
            Ok(Err(reason)) => return Err(JoinError::Refused(reason)),
            Err(e) => last = e.to_string(),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(backoff.min(left));
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    Err(JoinError::Timeout {
        addr: coordinator.into(),
        secs: timeout.as_secs(),
        last,
    })
}

/// One attempt: `Err` to retry, `Ok(Err(reason))` when refused.
fn try_join(
    coordinator: &str,
    token: &str,
    register: &Msg,
    fallback: &dyn Fn() -> Option<String>,
) -> Result<Result<TcpStream, String>, ProtoError> {
    let addr = resolve(coordinator, fallback)?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    s.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    s.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let hello = Msg::Hello {
        token: token.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut register = register.clone();
    if let Msg::Register { addr, .. } = &mut register {
        *addr = s
            .local_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
    }
    write_msg(&mut s, &hello)?;
    write_msg(&mut s, &register)?;
    match read_msg(&mut s, MAX_FRAME_BYTES)? {
        Msg::Welcome { .. } => Ok(Ok(s)),
        Msg::Abort { reason } => Ok(Err(reason)),
        other => Err(ProtoError::Malformed(format!(
            "expected Welcome, got {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(rank: u32) -> Msg {
        Msg::Register {
            rank,
            size: 2,
            host: format!("h{rank}"),
            addr: String::new(),
            fingerprint: None,
        }
    }

    /// A connection closed before sending a byte (a reachability check, a rank that gave up a
    /// connect) is neither a refusal nor a member; one that sends garbage is refused.
    #[test]
    fn a_connection_closed_before_a_byte_is_not_a_refusal() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let failures = Failures::default();
        let silent = TcpStream::connect(addr).unwrap();
        drop(silent);
        let (s, from) = listener.accept().unwrap();
        assert!(authenticate(s, from, "secret", 1, &failures).is_none());
        let mut garbage = TcpStream::connect(addr).unwrap();
        io::Write::write_all(&mut garbage, &[0, 0, 0, 2, b'{', b'}']).unwrap();
        let (s, from) = listener.accept().unwrap();
        match authenticate(s, from, "secret", 1, &failures) {
            Some(Err((_, why))) => assert!(why.contains("no Hello"), "{why}"),
            other => panic!("garbage not refused: {:?}", other.map(|g| g.is_ok())),
        }
    }

    #[test]
    fn a_wrong_token_is_refused_and_the_right_ones_admitted() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = AtomicBool::new(false);
        let a = addr.clone();
        let joiner = std::thread::spawn(move || {
            let stop = AtomicBool::new(false);
            let none = || None;
            let bad = join(
                &a,
                "wrong",
                &register(1),
                Duration::from_secs(5),
                &stop,
                &none,
            );
            let good0 = join(
                &a,
                "secret",
                &register(0),
                Duration::from_secs(5),
                &stop,
                &none,
            );
            let good1 = join(
                &a,
                "secret",
                &register(1),
                Duration::from_secs(5),
                &stop,
                &none,
            );
            (
                bad.map(|_| ()).unwrap_err().to_string(),
                good0.is_ok(),
                good1.map(|(l, _)| l),
            )
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let (m, missing) = admit(&listener, "run", "secret", 2, deadline, &stop).unwrap();
        let (bad, ok0, ok1) = joiner.join().unwrap();
        assert!(bad.contains("wrong token"), "{bad}");
        assert!(ok0 && ok1.is_ok());
        assert!(missing.is_empty());
        assert_eq!(m.refused, 1);
        assert_eq!(m.members[&1].host, "h1");
    }

    #[test]
    fn missing_ranks_are_named_when_the_deadline_passes() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stop = AtomicBool::new(false);
        let deadline = Instant::now() + Duration::from_millis(200);
        let (m, missing) = admit(&listener, "run", "t", 3, deadline, &stop).unwrap();
        assert!(m.members.is_empty());
        assert_eq!(missing, vec![0, 1, 2]);
    }
}
