//! The sink: the consumer end of `segbench read`, in process (loopback, the default) or as
//! `segbench sink` on another host or network namespace. It drains what readers send (1 MiB
//! reads, one thread per connection, bounded connections and idle time, bounded memory),
//! optionally verifies every record batch, and answers each session with a summary.
//!
//! # Framing (version 1)
//!
//! A session is one TCP connection from one consumer. Every message is a 40-byte header,
//! big-endian, followed by `payload_len` bytes:
//!
//! | bytes  | field          | meaning                                                          |
//! |--------|----------------|------------------------------------------------------------------|
//! | 0..4   | magic          | `SGBF`                                                           |
//! | 4      | version        | 1                                                                |
//! | 5      | kind           | 1 HELLO, 2 DATA, 3 END                                           |
//! | 6..8   | group          | consumer group (DATA)                                            |
//! | 8..12  | partition      | partition id announced in HELLO (DATA)                           |
//! | 12..16 | pass           | 0 for the first pass over the log, +1 each time it starts over   |
//! | 16..24 | position       | byte position of the payload in its segment file (DATA)          |
//! | 24..32 | segment_base   | base offset of that segment, i.e. its file name (DATA)           |
//! | 32..36 | payload_len    | bytes that follow                                                |
//! | 36..40 | reserved       | 0                                                                |
//!
//! 1. The reader sends HELLO with a JSON payload ([`Hello`]: verify on/off, consumer name,
//!    and the partitions it will send, `id → topic, partition`); the sink answers one JSON line
//!    ([`HelloReply`]), `{"ok":false,"error":…}` when it refuses (too many connections).
//! 2. DATA frames: each payload is whole record batches, exactly the bytes of
//!    `segment[position .. position + payload_len]`. The reader writes the header with
//!    `MSG_MORE`, so it leaves in the same TCP segment as the zero-copy payload after it.
//! 3. END (no payload): the sink answers one JSON line ([`SessionSummary`]: bytes, frames,
//!    batches, verification errors with the segment file and byte position, the offset range
//!    seen per partition, and the sink's CPU seconds for the connection) and closes.
//!
//! With verification (the sink's `--verify`, or asked in HELLO) every batch's CRC-32C and
//! record framing is checked ([`verify_batch`]) and offsets must arrive exactly once, in order,
//! per (group, partition) and pass. Garbage (bad magic, unknown kind, an unannounced
//! partition) closes that connection with a logged line; nothing panics and other connections
//! carry on.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use workloads::kafka::batch::{parse_header, verify_batch, BATCH_HEADER_LEN, LOG_OVERHEAD};

use crate::runner::usage::CpuSnapshot;

/// First bytes of every frame.
pub const MAGIC: [u8; 4] = *b"SGBF";
/// Framing version.
pub const VERSION: u8 = 1;
/// Bytes of a frame header.
pub const HEADER_LEN: usize = 40;
/// Where `segbench sink` listens unless told otherwise (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";
/// Default bound on concurrent connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// Default idle timeout of a connection.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes per read from a connection.
pub const READ_BUF_BYTES: usize = 1 << 20;
/// Largest HELLO payload accepted.
pub const MAX_HELLO_BYTES: u32 = 1 << 20;
/// Largest record batch the verifier buffers (Kafka's default limit is about 1 MiB); with at
/// most `max_connections` sessions this bounds the sink's memory.
pub const MAX_BATCH_BYTES: usize = 16 << 20;
/// Verification errors described in a summary (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 32;
/// How long a reader waits for a sink's answer line.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest answer line a reader accepts.
const MAX_REPLY_BYTES: usize = 16 << 20;
/// Timeout of the sink's own writes (answers).
const SINK_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Kind of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// Session start; JSON [`Hello`] payload.
    Hello = 1,
    /// Whole record batches of one segment.
    Data = 2,
    /// Session end; the sink answers with a [`SessionSummary`] line.
    End = 3,
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Kind.
    pub kind: FrameKind,
    /// Consumer group.
    pub group: u16,
    /// Partition id from the HELLO table.
    pub partition: u32,
    /// Pass over the log (0 first).
    pub pass: u32,
    /// Byte position of the payload in its segment.
    pub position: u64,
    /// Base offset of the segment (its file name).
    pub segment_base: i64,
    /// Payload bytes after the header.
    pub payload_len: u32,
}

/// A header that is not segbench framing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not `SGBF`.
    #[error("bad magic {0:02x?} (not a segbench reader)")]
    BadMagic([u8; 4]),
    /// Another framing version.
    #[error("framing version {0} (this sink speaks version {VERSION})")]
    BadVersion(u8),
    /// Unknown kind byte.
    #[error("unknown frame kind {0}")]
    BadKind(u8),
}

impl FrameHeader {
    /// A DATA header.
    pub fn data(
        group: u16,
        partition: u32,
        pass: u32,
        position: u64,
        segment_base: i64,
        payload_len: u32,
    ) -> Self {
        FrameHeader {
            kind: FrameKind::Data,
            group,
            partition,
            pass,
            position,
            segment_base,
            payload_len,
        }
    }

    /// A header without payload fields (END, or HELLO with its payload length).
    pub fn control(kind: FrameKind, payload_len: u32) -> Self {
        FrameHeader {
            kind,
            group: 0,
            partition: 0,
            pass: 0,
            position: 0,
            segment_base: 0,
            payload_len,
        }
    }

    /// The 40 bytes on the wire.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4] = VERSION;
        b[5] = self.kind as u8;
        b[6..8].copy_from_slice(&self.group.to_be_bytes());
        b[8..12].copy_from_slice(&self.partition.to_be_bytes());
        b[12..16].copy_from_slice(&self.pass.to_be_bytes());
        b[16..24].copy_from_slice(&self.position.to_be_bytes());
        b[24..32].copy_from_slice(&self.segment_base.to_be_bytes());
        b[32..36].copy_from_slice(&self.payload_len.to_be_bytes());
        b
    }

    /// Parses 40 bytes.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<Self, FrameError> {
        let magic = [b[0], b[1], b[2], b[3]];
        if magic != MAGIC {
            return Err(FrameError::BadMagic(magic));
        }
        if b[4] != VERSION {
            return Err(FrameError::BadVersion(b[4]));
        }
        let kind = match b[5] {
            1 => FrameKind::Hello,
            2 => FrameKind::Data,
            3 => FrameKind::End,
            k => return Err(FrameError::BadKind(k)),
        };
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_be_bytes(a)
        };
        Ok(FrameHeader {
            kind,
            group: u16::from_be_bytes([b[6], b[7]]),
            partition: u32_at(8),
            pass: u32_at(12),
            position: u64_at(16),
            segment_base: u64_at(24) as i64,
            payload_len: u32_at(32),
        })
    }
}

/// One partition a session will send: the id used in DATA frames and what it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionName {
    /// Id in DATA frames.
    pub id: u32,
    /// Topic.
    pub topic: String,
    /// Kafka partition number.
    pub partition: u32,
}

impl PartitionName {
    /// `<topic>-<partition>/<20-digit base offset>.log`, the segment as a path relative to
    /// the log directory.
    pub fn segment_file(&self, segment_base: i64) -> String {
        format!("{}-{}/{:020}.log", self.topic, self.partition, segment_base)
    }
}

/// The HELLO payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Verify every batch.
    pub verify: bool,
    /// Who is reading, e.g. `g0-c1` (group 0, consumer 1).
    pub consumer: String,
    /// Partitions this session sends.
    pub partitions: Vec<PartitionName>,
}

/// The sink's answer to HELLO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloReply {
    /// The session is accepted.
    pub ok: bool,
    /// The sink verifies this session.
    #[serde(default)]
    pub verify: bool,
    /// Why not, when refused.
    #[serde(default)]
    pub error: Option<String>,
}

/// A batch that failed verification, or an offset out of order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyError {
    /// Consumer group.
    pub group: u16,
    /// Partition id.
    pub partition: u32,
    /// The segment, relative to the log directory: `<topic>-<partition>/<base>.log`.
    pub file: String,
    /// Base offset of the segment.
    pub segment_base: i64,
    /// Byte position of the batch in the segment.
    pub position: u64,
    /// What is wrong.
    pub reason: String,
}

/// What a session delivered for one (group, partition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StreamSummary {
    /// Consumer group.
    pub group: u16,
    /// Partition id.
    pub partition: u32,
    /// Payload bytes.
    pub bytes: u64,
    /// Passes started (verify only).
    pub passes: u32,
    /// First offset of the first pass (verify only).
    pub first_offset: Option<i64>,
    /// Offset after the last batch of the last pass (verify only).
    pub next_offset: Option<i64>,
    /// Batches verified, all passes.
    pub batches: u64,
}

/// The sink's answer to END: what one session delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SessionSummary {
    /// The session ended with END.
    pub ok: bool,
    /// The consumer named in HELLO.
    pub consumer: String,
    /// The reader's address as the sink saw it.
    pub peer: String,
    /// Payload bytes received (headers excluded).
    pub bytes: u64,
    /// DATA frames.
    pub frames: u64,
    /// Batches checked (verify only).
    pub batches: u64,
    /// Records in them.
    pub records: u64,
    /// Every batch was verified.
    pub verified: bool,
    /// Verification errors, all counted.
    pub verify_errors: u64,
    /// The first [`MAX_REPORTED_ERRORS`] of them.
    pub errors: Vec<VerifyError>,
    /// Per (group, partition).
    pub streams: Vec<StreamSummary>,
    /// User CPU of the sink thread serving the connection, seconds.
    pub cpu_user_s: f64,
    /// System CPU of that thread, seconds.
    pub cpu_sys_s: f64,
    /// From accept to END, seconds.
    pub elapsed_s: f64,
}

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
        if shared.active.load(Ordering::Relaxed) >= shared.cfg.max_connections {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            shared.log(&format!(
                "refused {peer}: {} connections already (--max-connections)",
                shared.cfg.max_connections
            ));
            refuse(stream, shared.cfg.max_connections);
            continue;
        }
        shared.active.fetch_add(1, Ordering::Relaxed);
        let sh = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("sink-conn".into())
            .spawn(move || {
                serve(stream, peer, &sh);
                sh.active.fetch_sub(1, Ordering::Relaxed);
            });
        if let Err(e) = spawned {
            shared.active.fetch_sub(1, Ordering::Relaxed);
            shared.log(&format!("cannot start a thread for {peer}: {e}"));
        }
    }
}

/// Answers a connection over the limit with a refusal line, after reading its HELLO briefly
/// (so that closing does not reset the connection before the reader sees the answer).
fn refuse(mut stream: TcpStream, max: usize) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let mut hdr = [0u8; HEADER_LEN];
    if read_full(&mut stream, &mut hdr).is_ok() {
        if let Ok(h) = FrameHeader::decode(&hdr) {
            if h.kind == FrameKind::Hello && h.payload_len <= MAX_HELLO_BYTES {
                let _ = io::copy(
                    &mut (&mut stream).take(u64::from(h.payload_len)),
                    &mut io::sink(),
                );
            }
        }
    }
    let reply = HelloReply {
        ok: false,
        verify: false,
        error: Some(format!(
            "the sink serves at most {max} connections at once; try again later"
        )),
    };
    let _ = write_line(&mut stream, &reply);
    let _ = stream.shutdown(Shutdown::Write);
}

/// Reads exactly `buf.len()` bytes. `Ok(false)` on a clean end of stream before the first byte.
fn read_full(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn write_line<T: Serialize>(stream: &mut TcpStream, v: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(v).map_err(io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Serves one connection to its end; never panics on what the peer sends.
fn serve(mut stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    let cfg = &shared.cfg;
    let t0 = Instant::now();
    let cpu0 = CpuSnapshot::thread();
    let _ = stream.set_read_timeout(Some(cfg.idle_timeout));
    let _ = stream.set_write_timeout(Some(SINK_WRITE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let broken = |msg: String| {
        shared.broken.fetch_add(1, Ordering::Relaxed);
        shared.log(&format!("{peer}: {msg}; connection closed"));
    };

    // HELLO.
    let mut hdr = [0u8; HEADER_LEN];
    match read_full(&mut stream, &mut hdr) {
        Ok(true) => {}
        Ok(false) => return, // connected and left: a reachability check
        Err(e) if is_timeout(&e) => {
            return broken(format!("no HELLO within {:?}", cfg.idle_timeout))
        }
        Err(e) => return broken(format!("reading HELLO: {e}")),
    }
    let h = match FrameHeader::decode(&hdr) {
        Ok(h) if h.kind == FrameKind::Hello => h,
        Ok(h) => return broken(format!("expected HELLO, got {:?}", h.kind)),
        Err(e) => return broken(e.to_string()),
    };
    if h.payload_len > MAX_HELLO_BYTES {
        return broken(format!(
            "HELLO of {} bytes is over the limit of {MAX_HELLO_BYTES}",
            h.payload_len
        ));
    }
    let mut payload = vec![0u8; h.payload_len as usize];
    if let Err(e) = read_full(&mut stream, &mut payload) {
        return broken(format!("reading HELLO: {e}"));
    }
    let hello: Hello = match serde_json::from_slice(&payload) {
        Ok(h) => h,
        Err(e) => {
            let reply = HelloReply {
                ok: false,
                verify: false,
                error: Some(format!("HELLO does not parse: {e}")),
            };
            let _ = write_line(&mut stream, &reply);
            return broken(format!("HELLO does not parse: {e}"));
        }
    };
    let verify = cfg.verify || hello.verify;
    if let Err(e) = write_line(
        &mut stream,
        &HelloReply {
            ok: true,
            verify,
            error: None,
        },
    ) {
        return broken(format!("answering HELLO: {e}"));
    }

    let mut session = Session::new(verify, &hello);
    let mut buf = vec![0u8; READ_BUF_BYTES];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => {
                return broken(format!(
                    "session {} ended without END after {} bytes",
                    hello.consumer, session.summary.bytes
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

/// A protocol error that ends a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A header that is not segbench framing.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A well-formed frame that does not belong here.
    #[error("{0}")]
    Unexpected(String),
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    h: FrameHeader,
    /// Payload bytes consumed so far.
    consumed: u64,
    /// A framing error inside the payload: skip the rest of it.
    skip: bool,
}

#[derive(Debug, Default)]
struct Stream {
    bytes: u64,
    batches: u64,
    /// The pass being received, once one started.
    pass: Option<u32>,
    passes: u32,
    first_offset: Option<i64>,
    next_offset: Option<i64>,
}

/// The receiving state of one session after HELLO: frame decoding and, with verify, batch
/// reassembly and checks. Fed with whatever the socket returns, in any split.
struct Session {
    verify: bool,
    names: HashMap<u32, PartitionName>,
    hdr: [u8; HEADER_LEN],
    hdr_have: usize,
    frame: Option<Frame>,
    /// A batch split across reads, and its offset in the frame payload.
    pending: Vec<u8>,
    pending_at: u64,
    streams: BTreeMap<(u16, u32), Stream>,
    summary: SessionSummary,
}

impl Session {
    fn new(verify: bool, hello: &Hello) -> Self {
        Session {
            verify,
            names: hello.partitions.iter().map(|p| (p.id, p.clone())).collect(),
            hdr: [0; HEADER_LEN],
            hdr_have: 0,
            frame: None,
            pending: Vec::new(),
            pending_at: 0,
            streams: BTreeMap::new(),
            summary: SessionSummary {
                consumer: hello.consumer.clone(),
                verified: verify,
                ..Default::default()
            },
        }
    }

    /// Consumes `data`; `Ok(true)` once END was received.
    fn feed(&mut self, mut data: &[u8]) -> Result<bool, ProtocolError> {
        while !data.is_empty() {
            if let Some(mut f) = self.frame {
                let n = (data.len() as u64).min(u64::from(f.h.payload_len) - f.consumed) as usize;
                let chunk = &data[..n];
                if self.verify && !f.skip {
                    f.skip = !self.verify_chunk(&f, chunk);
                }
                f.consumed += n as u64;
                self.summary.bytes += n as u64;
                self.streams
                    .entry((f.h.group, f.h.partition))
                    .or_default()
                    .bytes += n as u64;
                data = &data[n..];
                if f.consumed == u64::from(f.h.payload_len) {
                    if self.verify && !f.skip && !self.pending.is_empty() {
                        let at = self.pending_at;
                        self.error(&f.h, at, "the frame ends inside a batch".into());
                    }
                    self.pending.clear();
                    self.frame = None;
                } else {
                    self.frame = Some(f);
                }
                continue;
            }
            let take = (HEADER_LEN - self.hdr_have).min(data.len());
            self.hdr[self.hdr_have..self.hdr_have + take].copy_from_slice(&data[..take]);
            self.hdr_have += take;
            data = &data[take..];
            if self.hdr_have < HEADER_LEN {
                break;
            }
            self.hdr_have = 0;
            let h = FrameHeader::decode(&self.hdr)?;
            match h.kind {
                FrameKind::Data => {
                    if !self.names.contains_key(&h.partition) {
                        return Err(ProtocolError::Unexpected(format!(
                            "DATA for partition id {} that HELLO did not announce",
                            h.partition
                        )));
                    }
                    self.summary.frames += 1;
                    if h.payload_len > 0 {
                        self.frame = Some(Frame {
                            h,
                            consumed: 0,
                            skip: false,
                        });
                    }
                }
                FrameKind::End => {
                    if !data.is_empty() {
                        return Err(ProtocolError::Unexpected(format!(
                            "{} bytes after END",
                            data.len()
                        )));
                    }
                    return Ok(true);
                }
                FrameKind::Hello => return Err(ProtocolError::Unexpected("a second HELLO".into())),
            }
        }
        Ok(false)
    }

    /// Checks the batches in `chunk`, the next bytes of frame `f`'s payload. Returns false when
    /// the rest of the frame cannot be parsed (a bad batch length).
    fn verify_chunk(&mut self, f: &Frame, chunk: &[u8]) -> bool {
        let mut i = 0usize;
        if !self.pending.is_empty() {
            if self.pending.len() < LOG_OVERHEAD {
                let take = (LOG_OVERHEAD - self.pending.len()).min(chunk.len());
                self.pending.extend_from_slice(&chunk[..take]);
                i += take;
                if self.pending.len() < LOG_OVERHEAD {
                    return true;
                }
            }
            let at = self.pending_at;
            let mut prefix = [0u8; LOG_OVERHEAD];
            prefix.copy_from_slice(&self.pending[..LOG_OVERHEAD]);
            let Some(total) = self.batch_total(f, at, &prefix) else {
                self.pending.clear();
                return false;
            };
            let take = (total - self.pending.len()).min(chunk.len() - i);
            self.pending.extend_from_slice(&chunk[i..i + take]);
            i += take;
            if self.pending.len() < total {
                return true;
            }
            let batch = std::mem::take(&mut self.pending);
            self.check_batch(&f.h, at, &batch);
            self.pending = batch;
            self.pending.clear();
        }
        while i < chunk.len() {
            let at = f.consumed + i as u64;
            let rest = &chunk[i..];
            if rest.len() < LOG_OVERHEAD {
                self.pending.extend_from_slice(rest);
                self.pending_at = at;
                break;
            }
            let Some(total) = self.batch_total(f, at, rest) else {
                return false;
            };
            if rest.len() >= total {
                self.check_batch(&f.h, at, &rest[..total]);
                i += total;
            } else {
                self.pending.extend_from_slice(rest);
                self.pending_at = at;
                break;
            }
        }
        true
    }

    /// The length of the batch whose first 12+ bytes are `prefix`, at payload offset `at`;
    /// `None` (and an error recorded) when it cannot be a batch of this frame.
    fn batch_total(&mut self, f: &Frame, at: u64, prefix: &[u8]) -> Option<usize> {
        let len = i32::from_be_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]);
        let total = LOG_OVERHEAD as i64 + i64::from(len);
        let left = i64::from(f.h.payload_len) - at as i64;
        let reason = if total < BATCH_HEADER_LEN as i64 {
            format!("batchLength {len} is shorter than a batch header")
        } else if total > left {
            format!("a batch of {total} bytes runs past the end of its frame ({left} bytes left)")
        } else if total as usize > MAX_BATCH_BYTES {
            format!("a batch of {total} bytes is over the sink's limit of {MAX_BATCH_BYTES}")
        } else {
            return Some(total as usize);
        };
        self.error(
            &f.h,
            at,
            format!("{reason}; the rest of the frame is skipped"),
        );
        None
    }

    fn check_batch(&mut self, h: &FrameHeader, at: u64, batch: &[u8]) {
        let header = match verify_batch(batch) {
            Ok(b) => {
                self.summary.batches += 1;
                self.summary.records += b.records_count.max(0) as u64;
                b
            }
            Err(e) => {
                self.error(h, at, e.to_string());
                // Keep following the offsets if the header itself is readable.
                match parse_header(batch) {
                    Ok(b) => b,
                    Err(_) => return,
                }
            }
        };
        let st = self.streams.entry((h.group, h.partition)).or_default();
        st.batches += 1;
        let mut complaint = None;
        if st.pass != Some(h.pass) {
            if st.pass.is_some_and(|p| h.pass < p) {
                complaint = Some(format!(
                    "pass {} after pass {}",
                    h.pass,
                    st.pass.unwrap_or(0)
                ));
            } else if let Some(first) = st.first_offset.filter(|&f| f != header.base_offset) {
                complaint = Some(format!(
                    "pass {} starts at offset {}, the first pass at offset {first}",
                    h.pass, header.base_offset
                ));
            }
            st.pass = Some(h.pass);
            st.passes += 1;
            st.first_offset.get_or_insert(header.base_offset);
        } else if let Some(next) = st.next_offset {
            if header.base_offset < next {
                complaint = Some(format!(
                    "offset {} delivered again or out of order (expected {next})",
                    header.base_offset
                ));
            } else if header.base_offset > next {
                complaint = Some(format!(
                    "offsets {next}..{} are missing",
                    header.base_offset - 1
                ));
            }
        }
        st.next_offset = Some(header.next_offset());
        if let Some(c) = complaint {
            self.error(h, at, c);
        }
    }

    fn error(&mut self, h: &FrameHeader, payload_at: u64, reason: String) {
        self.summary.verify_errors += 1;
        if self.summary.errors.len() >= MAX_REPORTED_ERRORS {
            return;
        }
        let file = match self.names.get(&h.partition) {
            Some(n) => n.segment_file(h.segment_base),
            None => format!("partition-{}/{:020}.log", h.partition, h.segment_base),
        };
        self.summary.errors.push(VerifyError {
            group: h.group,
            partition: h.partition,
            file,
            segment_base: h.segment_base,
            position: h.position + payload_at,
            reason,
        });
    }

    fn finish(&mut self) -> SessionSummary {
        let mut s = std::mem::take(&mut self.summary);
        s.ok = true;
        s.streams = self
            .streams
            .iter()
            .map(|(&(group, partition), st)| StreamSummary {
                group,
                partition,
                bytes: st.bytes,
                passes: st.passes,
                first_offset: st.first_offset,
                next_offset: st.next_offset,
                batches: st.batches,
            })
            .collect();
        s
    }
}

/// What went wrong talking to a sink, from the reader's side.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A socket error or timeout.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The sink refused the session.
    #[error("the sink refused the session: {0}")]
    Refused(String),
    /// The sink answered something that is not a segbench answer.
    #[error("the sink answered something unexpected: {0}")]
    Protocol(String),
}

/// Connects to a sink with a timeout, with the reader's socket options: `TCP_NODELAY`, send
/// and receive timeouts of `timeout` (no send may stall longer), and `TCP_USER_TIMEOUT` of the
/// same (unacknowledged data for that long aborts the connection; io_uring sends honour it).
pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_nodelay(true)?;
    s.set_write_timeout(Some(timeout))?;
    s.set_read_timeout(Some(REPLY_TIMEOUT))?;
    let ms = timeout.as_millis().min(u32::MAX as u128) as u32;
    nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::TcpUserTimeout, &ms)
        .map_err(io::Error::from)?;
    Ok(s)
}

/// Reads one answer line (up to `\n`), bounded in size and by the socket's read timeout.
fn read_line(stream: &mut TcpStream) -> Result<Vec<u8>, ClientError> {
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => {
                return Err(ClientError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the sink closed the connection without answering",
                )))
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => {
                return Err(ClientError::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the sink did not answer within {REPLY_TIMEOUT:?}"),
                )))
            }
            Err(e) => return Err(e.into()),
        };
        line.extend_from_slice(&buf[..n]);
        if let Some(i) = line.iter().position(|&b| b == b'\n') {
            line.truncate(i);
            return Ok(line);
        }
        if line.len() > MAX_REPLY_BYTES {
            return Err(ClientError::Protocol(format!(
                "an answer line longer than {MAX_REPLY_BYTES} bytes"
            )));
        }
    }
}

/// Starts a session: sends HELLO and reads the answer.
pub fn hello(stream: &mut TcpStream, hello: &Hello) -> Result<HelloReply, ClientError> {
    let payload = serde_json::to_vec(hello).map_err(|e| ClientError::Protocol(e.to_string()))?;
    let mut msg = FrameHeader::control(FrameKind::Hello, payload.len() as u32)
        .encode()
        .to_vec();
    msg.extend_from_slice(&payload);
    stream.write_all(&msg)?;
    let line = read_line(stream)?;
    let reply: HelloReply = serde_json::from_slice(&line)
        .map_err(|e| ClientError::Protocol(format!("{e}: {}", String::from_utf8_lossy(&line))))?;
    if !reply.ok {
        return Err(ClientError::Refused(
            reply.error.unwrap_or_else(|| "no reason given".into()),
        ));
    }
    Ok(reply)
}

/// Ends a session: sends END and reads the summary.
pub fn end(stream: &mut TcpStream) -> Result<SessionSummary, ClientError> {
    stream.write_all(&FrameHeader::control(FrameKind::End, 0).encode())?;
    let line = read_line(stream)?;
    serde_json::from_slice(&line)
        .map_err(|e| ClientError::Protocol(format!("{e}: {}", String::from_utf8_lossy(&line))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use workloads::kafka::batch::{batch_len, encode_batch};
    use workloads::payload::PayloadPool;

    /// Batches of `counts` records (100-byte values) from offset `base`, concatenated.
    fn batches(base: i64, counts: &[u32]) -> (Vec<u8>, Vec<usize>) {
        let mut pool = PayloadPool::new(1 << 16, 3);
        let (mut out, mut starts, mut off) = (Vec::new(), Vec::new(), base);
        for &n in counts {
            starts.push(out.len());
            let mut b = vec![0u8; batch_len(n, 100)];
            encode_batch(&mut b, off, 1_700_000_000_000, n, 100, &mut pool);
            out.extend_from_slice(&b);
            off += i64::from(n);
        }
        (out, starts)
    }

    fn hello_for(verify: bool) -> Hello {
        Hello {
            verify,
            consumer: "g0-c0".into(),
            partitions: vec![PartitionName {
                id: 7,
                topic: "t".into(),
                partition: 3,
            }],
        }
    }

    fn frame(pass: u32, position: u64, payload: &[u8]) -> Vec<u8> {
        let mut v = FrameHeader::data(0, 7, pass, position, 100, payload.len() as u32)
            .encode()
            .to_vec();
        v.extend_from_slice(payload);
        v
    }

    /// Feeds `bytes` to a session in pieces of `step` bytes.
    fn feed_in_steps(s: &mut Session, bytes: &[u8], step: usize) -> Result<bool, ProtocolError> {
        let mut ended = false;
        for c in bytes.chunks(step) {
            ended = s.feed(c)?;
        }
        Ok(ended)
    }

    #[test]
    fn headers_round_trip_and_garbage_is_named() {
        let h = FrameHeader::data(3, 70_000, 2, 1 << 40, -5, 123_456);
        assert_eq!(FrameHeader::decode(&h.encode()).unwrap(), h);
        let mut b = h.encode();
        b[0] = b'X';
        assert!(matches!(
            FrameHeader::decode(&b),
            Err(FrameError::BadMagic(_))
        ));
        let mut b = h.encode();
        b[4] = 9;
        assert_eq!(FrameHeader::decode(&b), Err(FrameError::BadVersion(9)));
        let mut b = h.encode();
        b[5] = 0;
        assert_eq!(FrameHeader::decode(&b), Err(FrameError::BadKind(0)));
        assert_eq!(&h.encode()[..4], b"SGBF");
    }

    #[test]
    fn verified_stream_split_anywhere_counts_every_batch_once() {
        let (log, starts) = batches(100, &[1, 5, 30, 2, 9]);
        let mut wire = frame(0, 0, &log[..starts[2]]);
        wire.extend(frame(0, starts[2] as u64, &log[starts[2]..]));
        wire.extend(FrameHeader::control(FrameKind::End, 0).encode());
        for step in [1, 7, 12, 61, 1000, wire.len()] {
            let mut s = Session::new(true, &hello_for(true));
            assert!(feed_in_steps(&mut s, &wire, step).unwrap(), "step {step}");
            let sum = s.finish();
            assert_eq!(sum.verify_errors, 0, "step {step}: {:?}", sum.errors);
            assert_eq!((sum.batches, sum.records, sum.frames), (5, 47, 2));
            assert_eq!(sum.bytes, log.len() as u64);
            let st = &sum.streams[0];
            assert_eq!(
                (st.first_offset, st.next_offset, st.passes),
                (Some(100), Some(147), 1)
            );
        }
    }

    #[test]
    fn a_flipped_byte_is_named_with_its_segment_and_position() {
        let (mut log, starts) = batches(100, &[3, 3, 3]);
        log[starts[1] + 70] ^= 0x40; // inside the second batch's records
        let mut wire = frame(0, 4096, &log);
        wire.extend(FrameHeader::control(FrameKind::End, 0).encode());
        let mut s = Session::new(true, &hello_for(true));
        assert!(feed_in_steps(&mut s, &wire, 1000).unwrap());
        let sum = s.finish();
        assert_eq!(sum.verify_errors, 1, "{:?}", sum.errors);
        let e = &sum.errors[0];
        assert_eq!(e.file, "t-3/00000000000000000100.log");
        assert_eq!(e.position, 4096 + starts[1] as u64);
        assert!(e.reason.contains("CRC"), "{}", e.reason);
    }

    #[test]
    fn gaps_duplicates_and_passes_are_checked_per_partition() {
        let (log, starts) = batches(0, &[2, 2, 2]);
        let b = |k: usize| {
            &log[starts[k]..if k + 1 < starts.len() {
                starts[k + 1]
            } else {
                log.len()
            }]
        };
        let mut wire = frame(0, 0, b(0));
        wire.extend(frame(0, 0, b(2))); // gap: offsets 2..3 missing
        wire.extend(frame(0, 0, b(2))); // duplicate
        wire.extend(frame(1, 0, b(0))); // a new pass from the start: fine
        wire.extend(frame(1, 0, b(1)));
        wire.extend(frame(2, 0, b(1))); // a pass that does not start at the first offset
        wire.extend(FrameHeader::control(FrameKind::End, 0).encode());
        let mut s = Session::new(true, &hello_for(true));
        assert!(s.feed(&wire).unwrap());
        let sum = s.finish();
        let reasons: Vec<&str> = sum.errors.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(sum.verify_errors, 3, "{reasons:?}");
        assert!(
            reasons[0].contains("offsets 2..3 are missing"),
            "{reasons:?}"
        );
        assert!(reasons[1].contains("delivered again"), "{reasons:?}");
        assert!(
            reasons[2].contains("pass 2 starts at offset 2"),
            "{reasons:?}"
        );
        assert_eq!(sum.streams[0].passes, 3);
    }

    #[test]
    fn a_bad_batch_length_skips_the_frame_and_the_next_frame_is_checked() {
        let (log, starts) = batches(0, &[2, 2]);
        let mut bad = log[..starts[1]].to_vec();
        bad[8..12].copy_from_slice(&1_000_000i32.to_be_bytes());
        let mut wire = frame(0, 0, &bad);
        wire.extend(frame(0, starts[1] as u64, &log[starts[1]..]));
        wire.extend(FrameHeader::control(FrameKind::End, 0).encode());
        let mut s = Session::new(true, &hello_for(true));
        assert!(s.feed(&wire).unwrap());
        let sum = s.finish();
        assert_eq!(sum.verify_errors, 1, "{:?}", sum.errors);
        assert!(sum.errors[0]
            .reason
            .contains("runs past the end of its frame"));
        assert_eq!(sum.batches, 1);
    }

    #[test]
    fn protocol_errors_end_the_session() {
        let mut s = Session::new(false, &hello_for(false));
        let mut wire = FrameHeader::data(0, 8, 0, 0, 0, 0).encode().to_vec();
        assert!(matches!(s.feed(&wire), Err(ProtocolError::Unexpected(_))));
        let mut s = Session::new(false, &hello_for(false));
        wire = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n0123456789abc".to_vec();
        assert!(matches!(
            s.feed(&wire),
            Err(ProtocolError::Frame(FrameError::BadMagic(_)))
        ));
    }

    fn start(cfg: SinkConfig) -> Sink {
        Sink::bind("127.0.0.1:0".parse().unwrap(), cfg).unwrap()
    }

    fn good_session(addr: SocketAddr, verify: bool) -> SessionSummary {
        let (log, _) = batches(0, &[4, 4, 4]);
        let mut s = connect(addr, Duration::from_secs(5)).unwrap();
        let r = hello(&mut s, &hello_for(verify)).unwrap();
        assert_eq!(r.verify, verify);
        s.write_all(&frame(0, 0, &log)).unwrap();
        end(&mut s).unwrap()
    }

    #[test]
    fn the_sink_survives_garbage_and_abrupt_disconnects() {
        let sink = start(SinkConfig {
            idle_timeout: Duration::from_secs(2),
            ..SinkConfig::default()
        });
        let addr = sink.local_addr();
        // Garbage instead of HELLO.
        let mut g = TcpStream::connect(addr).unwrap();
        g.write_all(&[0xAB; 5000]).unwrap();
        let mut rest = Vec::new();
        let _ = g.read_to_end(&mut rest); // closed by the sink
                                          // HELLO, half a frame, then gone.
        let mut a = connect(addr, Duration::from_secs(5)).unwrap();
        hello(&mut a, &hello_for(true)).unwrap();
        a.write_all(&frame(0, 0, &[1u8; 500])[..300]).unwrap();
        drop(a);
        // Connected and silent, then gone.
        drop(TcpStream::connect(addr).unwrap());
        // A good client is still served, verified.
        let sum = good_session(addr, true);
        assert!(sum.ok && sum.verified);
        assert_eq!((sum.batches, sum.records, sum.verify_errors), (3, 12, 0));
        assert!(sum.cpu_user_s + sum.cpu_sys_s >= 0.0);
        let deadline = Instant::now() + Duration::from_secs(5);
        while sink.refused_or_broken().1 < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            sink.refused_or_broken().1,
            2,
            "garbage and the abrupt end are counted"
        );
        assert_eq!(sink.finished_sessions(), 1);
        sink.shutdown();
    }

    #[test]
    fn connections_beyond_the_limit_are_refused_politely() {
        let sink = start(SinkConfig {
            max_connections: 1,
            ..SinkConfig::default()
        });
        let addr = sink.local_addr();
        let mut first = connect(addr, Duration::from_secs(5)).unwrap();
        hello(&mut first, &hello_for(false)).unwrap();
        let mut second = connect(addr, Duration::from_secs(5)).unwrap();
        match hello(&mut second, &hello_for(false)) {
            Err(ClientError::Refused(why)) => assert!(why.contains("at most 1"), "{why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        let sum = end(&mut first).unwrap();
        assert!(sum.ok && !sum.verified);
        // The slot is free again.
        let deadline = Instant::now() + Duration::from_secs(5);
        while sink.active_connections() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(good_session(addr, false).ok);
    }

    #[test]
    fn an_idle_connection_is_closed_after_the_timeout() {
        let sink = start(SinkConfig {
            idle_timeout: Duration::from_millis(300),
            ..SinkConfig::default()
        });
        let mut s = connect(sink.local_addr(), Duration::from_secs(5)).unwrap();
        hello(&mut s, &hello_for(false)).unwrap();
        let t = Instant::now();
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "closed without an answer");
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(sink.refused_or_broken().1, 1);
    }
}
