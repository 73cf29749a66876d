//! The sink server: an accept thread and a thread per connection (bounded connections and
//! idle time, bounded memory), each draining its session into a `Session` and answering END
//! with the session's summary. A connection holds nothing before its HELLO: it waits in a
//! [`WaitingRoom`] of at most [`MAX_UNAUTHENTICATED`](crate::auth::MAX_UNAUTHENTICATED) (a new
//! one pushes the oldest out) and must say HELLO within [`AUTH_DEADLINE`]; only then does it
//! take one of the `--max-connections` session slots.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::protocol::{
    is_timeout, FrameHeader, FrameKind, Hello, HelloReply, SessionSummary, HEADER_LEN,
    MAX_HELLO_BYTES,
};
use super::session::Session;
use crate::auth::{ByDeadline, Seat, WaitingRoom, AUTH_DEADLINE};
use crate::usage::CpuSnapshot;

/// Where `segbench sink` listens unless told otherwise (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";
/// Default bound on concurrent connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// Default idle timeout of a connection.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes per read from a connection.
pub const READ_BUF_BYTES: usize = 1 << 20;
/// Timeout of the sink's own writes (answers).
const SINK_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a sink does.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// Concurrent connections; more are refused politely.
    pub max_connections: usize,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
    /// Verify every session, whatever its HELLO says.
    pub verify: bool,
    /// Print a line per finished session and per refused or broken connection on stderr.
    pub log: bool,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            verify: false,
            log: false,
        }
    }
}

struct Shared {
    cfg: SinkConfig,
    /// Connections waiting to say HELLO.
    room: WaitingRoom,
    /// Sessions being served (past their HELLO).
    active: AtomicUsize,
    finished: AtomicU64,
    refused: AtomicU64,
    broken: AtomicU64,
}

impl Shared {
    fn log(&self, msg: &str) {
        if self.cfg.log {
            eprintln!("segbench sink: {msg}");
        }
    }
}

/// A running sink server: an accept thread plus a thread per connection.
pub struct Sink {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Sink {
    /// Listens on `addr` (port 0: any free port) and serves until [`Sink::shutdown`].
    pub fn bind(addr: SocketAddr, cfg: SinkConfig) -> io::Result<Sink> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            cfg,
            room: WaitingRoom::default(),
            active: AtomicUsize::new(0),
            finished: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            broken: AtomicU64::new(0),
        });
        let (s2, sh2) = (stop.clone(), shared.clone());
        let accept = std::thread::Builder::new()
            .name("sink-accept".into())
            .spawn(move || accept_loop(listener, &s2, &sh2))?;
        Ok(Sink {
            addr,
            stop,
            accept: Some(accept),
            shared,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sessions that ended with END and got their summary.
    pub fn finished_sessions(&self) -> u64 {
        self.shared.finished.load(Ordering::Relaxed)
    }

    /// Connections refused (too many) or closed for bad framing, idleness or an abrupt end.
    pub fn refused_or_broken(&self) -> (u64, u64) {
        (
            self.shared.refused.load(Ordering::Relaxed),
            self.shared.broken.load(Ordering::Relaxed),
        )
    }

    /// Connections being served now.
    pub fn active_connections(&self) -> usize {
        self.shared.active.load(Ordering::Relaxed)
    }

    /// Stops accepting (within 200 ms). Connections being served finish on their own (their
    /// reader ends them, or the idle timeout does).
    pub fn shutdown(mut self) {
        self.stop_accepting();
    }

    fn stop_accepting(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop_accepting();
    }
}

fn accept_loop(listener: TcpListener, stop: &AtomicBool, shared: &Arc<Shared>) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(200u16)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => {
                shared.log(&format!(
                    "poll on the listening socket failed: {e}; stopping"
                ));
                return;
            }
        }
        let (stream, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                // EMFILE and friends: wait a little rather than spin.
                shared.log(&format!("accept failed: {e}"));
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        // Nothing holds a connection slot before its HELLO: it waits in the room (a new one
        // pushes the oldest waiting out) and has AUTH_DEADLINE to say HELLO.
        let seat = match shared.room.admit(&stream) {
            Ok(seat) => seat,
            Err(e) => {
                shared.log(&format!("cannot hold {peer}: {e}"));
                continue;
            }
        };
        let sh = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("sink-conn".into())
            .spawn(move || serve(stream, peer, seat, &sh));
        if let Err(e) = spawned {
            shared.log(&format!("cannot start a thread for {peer}: {e}"));
        }
    }
}

/// Takes a session slot (`active` below `--max-connections`), or says the sink is full.
fn take_slot(shared: &Shared) -> bool {
    let max = shared.cfg.max_connections;
    shared
        .active
        .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
            (n < max).then_some(n + 1)
        })
        .is_ok()
}

/// Answers a HELLO over the limit with a refusal line.
fn refuse(stream: &mut TcpStream, max: usize) {
    let reply = HelloReply {
        ok: false,
        verify: false,
        error: Some(format!(
            "the sink serves at most {max} connections at once; try again later"
        )),
    };
    let _ = write_line(stream, &reply);
    let _ = stream.shutdown(Shutdown::Write);
}

/// Fills `buf` through `r`: `Ok(false)` on a clean end of stream before the first byte.
fn read_full(r: &mut ByDeadline<'_>, buf: &mut [u8]) -> io::Result<bool> {
    match r.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && r.got() == 0 => Ok(false),
        Err(e) => Err(e),
    }
}

fn write_line<T: Serialize>(stream: &mut TcpStream, v: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(v).map_err(io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

/// Reads a session's HELLO, all of it within [`AUTH_DEADLINE`]: the HELLO and whether the
/// session is verified (asked by the reader or by `--verify`); none when the peer connected
/// and left (a reachability check); why the connection is broken otherwise.
fn handshake(stream: &mut TcpStream, cfg: &SinkConfig) -> Result<Option<(Hello, bool)>, String> {
    let mut r = ByDeadline::new(stream, AUTH_DEADLINE, "no HELLO");
    let mut hdr = [0u8; HEADER_LEN];
    match read_full(&mut r, &mut hdr) {
        Ok(true) => {}
        Ok(false) => return Ok(None),
        Err(e) if is_timeout(&e) => return Err(format!("no HELLO within {AUTH_DEADLINE:?}")),
        Err(e) => return Err(format!("reading HELLO: {e}")),
    }
    let h = match FrameHeader::decode(&hdr) {
        Ok(h) if h.kind == FrameKind::Hello => h,
        Ok(h) => return Err(format!("expected HELLO, got {:?}", h.kind)),
        Err(e) => return Err(e.to_string()),
    };
    if h.payload_len > MAX_HELLO_BYTES {
        return Err(format!(
            "HELLO of {} bytes is over the limit of {MAX_HELLO_BYTES}",
            h.payload_len
        ));
    }
    let mut payload = vec![0u8; h.payload_len as usize];
    match read_full(&mut r, &mut payload) {
        Ok(true) => {}
        Ok(false) => return Err("reading HELLO: the peer closed the connection".into()),
        Err(e) if is_timeout(&e) => return Err(format!("no whole HELLO within {AUTH_DEADLINE:?}")),
        Err(e) => return Err(format!("reading HELLO: {e}")),
    }
    let hello: Hello = match serde_json::from_slice(&payload) {
        Ok(h) => h,
        Err(e) => {
            let reply = HelloReply {
                ok: false,
                verify: false,
                error: Some(format!("HELLO does not parse: {e}")),
            };
            let _ = write_line(stream, &reply);
            return Err(format!("HELLO does not parse: {e}"));
        }
    };
    let verify = cfg.verify || hello.verify;
    Ok(Some((hello, verify)))
}

/// Serves one connection to its end (its HELLO while it holds `seat`, then its session in
/// one of the `--max-connections` slots); never panics on what the peer sends.
fn serve(mut stream: TcpStream, peer: SocketAddr, seat: Seat, shared: &Shared) {
    let cfg = &shared.cfg;
    let _ = stream.set_write_timeout(Some(SINK_WRITE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let broken = |msg: String| {
        shared.broken.fetch_add(1, Ordering::Relaxed);
        shared.log(&format!("{peer}: {msg}; connection closed"));
    };
    let handshake = handshake(&mut stream, cfg);
    if !seat.leave() {
        return; // shut down to make room for a newer connection
    }
    let (hello, verify) = match handshake {
        Ok(Some(h)) => h,
        Ok(None) => return, // connected and left: a reachability check
        Err(msg) => return broken(msg),
    };
    if !take_slot(shared) {
        shared.refused.fetch_add(1, Ordering::Relaxed);
        shared.log(&format!(
            "refused {peer}: {} connections already (--max-connections)",
            cfg.max_connections
        ));
        return refuse(&mut stream, cfg.max_connections);
    }
    session(stream, peer, hello, verify, shared);
    shared.active.fetch_sub(1, Ordering::Relaxed);
}

/// Drains one session after its HELLO: answers it, reads until END, answers the summary.
fn session(mut stream: TcpStream, peer: SocketAddr, hello: Hello, verify: bool, shared: &Shared) {
    let cfg = &shared.cfg;
    let t0 = Instant::now();
    let cpu0 = CpuSnapshot::thread();
    let broken = |msg: String| {
        shared.broken.fetch_add(1, Ordering::Relaxed);
        shared.log(&format!("{peer}: {msg}; connection closed"));
    };
    let _ = stream.set_read_timeout(Some(cfg.idle_timeout));
    let ok = HelloReply {
        ok: true,
        verify,
        error: None,
    };
    if let Err(e) = write_line(&mut stream, &ok) {
        return broken(format!("answering HELLO: {e}"));
    }

    let mut session = Session::new(verify, &hello);
    let mut buf = vec![0u8; READ_BUF_BYTES];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => {
                return broken(format!(
                    "session {} ended without END after {} bytes",
                    hello.consumer,
                    session.bytes()
                ))
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => {
                return broken(format!(
                    "session {} idle for {:?}",
                    hello.consumer, cfg.idle_timeout
                ))
            }
            Err(e) => return broken(format!("session {}: {e}", hello.consumer)),
        };
        match session.feed(&buf[..n]) {
            Ok(false) => {}
            Ok(true) => break,
            Err(e) => return broken(format!("session {}: {e}", hello.consumer)),
        }
    }
    let cpu = CpuSnapshot::thread().since(&cpu0);
    let mut summary = session.finish();
    summary.peer = peer.to_string();
    summary.cpu_user_s = cpu.user_s;
    summary.cpu_sys_s = cpu.sys_s;
    summary.elapsed_s = t0.elapsed().as_secs_f64();
    // Counted before answering, so a reader that has its answer sees the count.
    shared.finished.fetch_add(1, Ordering::Relaxed);
    if let Err(e) = write_line(&mut stream, &summary) {
        return broken(format!("answering END: {e}"));
    }
    let _ = stream.shutdown(Shutdown::Write);
    shared.log(&session_line(&summary));
}

/// One line describing a finished session.
pub fn session_line(s: &SessionSummary) -> String {
    let verified = if s.verified {
        format!(
            ", {} batches verified, {} errors",
            s.batches, s.verify_errors
        )
    } else {
        String::new()
    };
    format!(
        "session {} from {}: {} in {} frames{verified}, {:.2} s, CPU {:.2} s",
        s.consumer,
        s.peer,
        results::format::bytes_iec(s.bytes),
        s.frames,
        s.elapsed_s,
        s.cpu_user_s + s.cpu_sys_s
    )
}
