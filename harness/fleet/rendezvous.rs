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
use crate::auth::token_matches;

/// Heartbeat period, both ways.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A link silent this long is lost (the host vanished or hangs).
pub const SILENCE_LIMIT: Duration = Duration::from_secs(3);
/// Writes that block this long fail.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a new connection has to say Hello and Register.
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
        let (stream, from) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(e) => return Err(e),
        };
        match handshake(stream, run_id, token, size, &m.members) {
            Ok((stream, member)) => {
                let link = Link::start(stream, member.rank, MAX_RESULTS_FRAME_BYTES, tx.clone())?;
                eprintln!(
                    "segbench fleet: rank {} joined from {} ({})",
                    member.rank, from, member.host
                );
                m.links.insert(member.rank, link);
                m.members.insert(member.rank, member);
            }
            Err(why) => {
                m.refused += 1;
                eprintln!("segbench fleet: refused a connection from {from}: {why}");
            }
        }
    }
    let missing = (0..size).filter(|r| !m.members.contains_key(r)).collect();
    Ok((m, missing))
}

/// Reads Hello and Register from a new connection; answers Welcome or Abort.
fn handshake(
    stream: TcpStream,
    run_id: &str,
    token: &str,
    size: u32,
    members: &BTreeMap<u32, Member>,
) -> Result<(TcpStream, Member), String> {
    let mut s = stream;
    let setup = s
        .set_nonblocking(false)
        .and_then(|_| s.set_read_timeout(Some(HANDSHAKE_TIMEOUT)))
        .and_then(|_| s.set_write_timeout(Some(HANDSHAKE_TIMEOUT)));
    setup.map_err(|e| e.to_string())?;
    let refuse = |s: &mut TcpStream, why: String| {
        let _ = write_msg(
            s,
            &Msg::Abort {
                reason: why.clone(),
            },
        );
        Err(why)
    };
    match read_msg(&mut s, MAX_FRAME_BYTES) {
        Ok(Msg::Hello { token: t, .. }) if token_matches(token, &t) => {}
        Ok(Msg::Hello { .. }) => return refuse(&mut s, "wrong token".into()),
        Ok(_) => return refuse(&mut s, "no Hello with the run's token".into()),
        Err(e) => return Err(format!("no Hello: {e}")),
    }
    let (rank, rsize, host, fingerprint) = match read_msg(&mut s, MAX_FRAME_BYTES) {
        Ok(Msg::Register {
            rank,
            size,
            host,
            fingerprint,
            ..
        }) => (rank, size, host, fingerprint),
        Ok(_) => return refuse(&mut s, "expected Register".into()),
        Err(e) => return Err(format!("no Register: {e}")),
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
    if members.contains_key(&rank) {
        return refuse(&mut s, format!("rank {rank} has already joined"));
    }
    let (peer_ip, local_ip) = match (s.peer_addr(), s.local_addr()) {
        (Ok(p), Ok(l)) => (p.ip(), l.ip()),
        _ => return Err("the connection closed during the handshake".into()),
    };
    write_msg(
        &mut s,
        &Msg::Welcome {
            run_id: run_id.to_string(),
        },
    )
    .map_err(|e| e.to_string())?;
    Ok((
        s,
        Member {
            rank,
            host,
            peer_ip,
            local_ip,
            fingerprint,
        },
    ))
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
