//! The replication wire: what leader and followers say over one TCP connection per follower,
//! in the sink's framing ([`crate::sink::protocol`]: a 40-byte header, then the payload).
//!
//! | from     | frame                          | payload                                         |
//! |----------|--------------------------------|-------------------------------------------------|
//! | follower | HELLO                          | JSON [`Join`] (version, the run's token)        |
//! | leader   | HELLO                          | JSON [`Joined`]: accepted as follower *i*, or why not |
//! | leader   | HELLO (per repetition)         | JSON [`Start`]: the logs to create, the limits  |
//! | follower | FETCH                          | each partition's fetch offset (its LEO), 8 bytes big-endian |
//! | leader   | DATA × n, then FETCH_END       | whole batches `segment[position..+len]` sent by the read engine |
//! | leader   | END (instead of an answer)     | none: the repetition is over                    |
//! | follower | END                            | JSON [`FollowerReport`]                         |
//! | leader   | END (between repetitions)      | none: the session is over                       |
//!
//! Every payload is bounded: JSON at [`MAX_JSON_BYTES`], a FETCH at 8 bytes per partition, a
//! DATA frame at `replica.fetch.max.bytes`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::sink::protocol::{is_timeout, FrameHeader, FrameKind, HEADER_LEN};

/// Version of this exchange, checked at [`Join`] (2: the run's token in [`Join`]).
pub const WIRE_VERSION: u32 = 2;
/// Largest JSON payload accepted.
pub const MAX_JSON_BYTES: u32 = 1 << 20;
/// Largest [`Join`] accepted (before the peer is authenticated).
pub const MAX_JOIN_BYTES: u32 = 4096;

/// A follower asks to join (HELLO payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    /// [`WIRE_VERSION`] of the follower.
    pub version: u32,
    /// The run's token ([`crate::auth`]): the leader admits no follower without it.
    #[serde(default)]
    pub token: String,
}

/// The leader's answer to [`Join`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    /// Accepted.
    pub ok: bool,
    /// The follower's number, 1-based.
    pub follower: u32,
    /// Why not, when refused.
    #[serde(default)]
    pub error: Option<String>,
}

/// One repetition's follower side, sent by the leader: the follower creates these logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Start {
    /// Directory of the repetition under the follower's data directory ("" in one process:
    /// the repetition's own directory).
    pub rep: String,
    /// Partitions.
    pub partitions: u32,
    /// Topic.
    pub topic: String,
    /// Segment roll size (the leader's).
    pub segment_size: u64,
    /// Sparse index interval.
    pub index_interval: u64,
    /// The follower's write engine spec.
    pub engine: String,
    /// Largest batch, bytes (the engine's append buffer).
    pub batch_bytes: usize,
    /// `replica.fetch.max.bytes`: no DATA frame is larger.
    pub fetch_max_bytes: u64,
    /// `replica.fetch.wait.max.ms`: the longest the leader holds a fetch.
    pub fetch_wait_max_ms: u64,
    /// The flush policy of every replica (`never`, `batch`, `bytes=N`, `ms=N`).
    pub flush: String,
    /// The sync call (`fsync`, `fdatasync`, `dsync`).
    pub sync: String,
}

impl Start {
    /// Whether a follower may act on this Start: every size within the limits a leader's own
    /// options have ([`super::ReplicaConfig::check`]), the topic a plain name; the error names
    /// the field, its value and the limit.
    pub fn check(&self) -> Result<(), String> {
        use super::{MAX_FETCH_MAX_BYTES, MAX_FETCH_REGIONS_BYTES, MAX_FETCH_WAIT_MAX};
        use super::{MAX_PARTITIONS, MAX_SEGMENT_SIZE};
        use workloads::kafka::batch::BATCH_HEADER_LEN;
        let bad = |what: &str, v: u64, limit: String| {
            Err(format!(
                "the leader's start: {what} {v} is out of bounds ({limit})"
            ))
        };
        if self.partitions == 0 || self.partitions > MAX_PARTITIONS {
            return bad(
                "partitions",
                self.partitions.into(),
                format!("1..={MAX_PARTITIONS}"),
            );
        }
        let batch = self.batch_bytes as u64;
        if batch < BATCH_HEADER_LEN as u64 || batch > MAX_FETCH_MAX_BYTES {
            let limit = format!("{BATCH_HEADER_LEN}..={MAX_FETCH_MAX_BYTES}");
            return bad("batch_bytes", batch, limit);
        }
        if self.fetch_max_bytes == 0 || self.fetch_max_bytes > MAX_FETCH_MAX_BYTES {
            let limit = format!("1..={MAX_FETCH_MAX_BYTES}");
            return bad("fetch_max_bytes", self.fetch_max_bytes, limit);
        }
        let regions = u64::from(self.partitions) * self.fetch_max_bytes.max(batch);
        if regions > MAX_FETCH_REGIONS_BYTES {
            let limit = format!("partitions × fetch at most {MAX_FETCH_REGIONS_BYTES}");
            return bad("partitions × fetch_max_bytes", regions, limit);
        }
        if self.segment_size < batch || self.segment_size > MAX_SEGMENT_SIZE {
            let limit = format!("{batch}..={MAX_SEGMENT_SIZE}");
            return bad("segment_size", self.segment_size, limit);
        }
        if self.index_interval == 0 || self.index_interval > MAX_SEGMENT_SIZE {
            return bad(
                "index_interval",
                self.index_interval,
                format!("1..={MAX_SEGMENT_SIZE}"),
            );
        }
        let wait_max = MAX_FETCH_WAIT_MAX.as_millis() as u64;
        if self.fetch_wait_max_ms > wait_max {
            return bad(
                "fetch_wait_max_ms",
                self.fetch_wait_max_ms,
                format!("0..={wait_max}"),
            );
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if self.topic.is_empty()
            || self.topic.len() > 249
            || self.topic == "."
            || self.topic == ".."
            || !self.topic.chars().all(plain)
        {
            return Err(format!(
                "the leader's start: topic {:?} is not a Kafka topic name (1..=249 of [a-zA-Z0-9._-])",
                self.topic.chars().take(64).collect::<String>()
            ));
        }
        Ok(())
    }
}

/// What a follower did in one repetition, its own figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FollowerReport {
    /// Bytes appended.
    pub bytes: u64,
    /// Fetches answered with data.
    pub fetches: u64,
    /// Appends: one write per partition frame of a fetch answer (a flush policy of `batch`
    /// flushes after each, as Kafka's follower appends a fetched partition in one call).
    #[serde(default)]
    pub appends: u64,
    /// CPU of the follower's thread, seconds.
    pub cpu_s: f64,
    /// Its flushes' latencies on its own clock (durations, never compared across hosts), an
    /// encoded HdrHistogram; none without a flush policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_latency_hdr: Option<String>,
}

/// An `InvalidData` error: the peer said something this exchange does not allow.
pub fn protocol(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Sends a frame without payload.
pub fn send_control(mut s: &TcpStream, kind: FrameKind) -> io::Result<()> {
    s.write_all(&FrameHeader::control(kind, 0).encode())
}

/// Sends a frame with a JSON payload.
pub fn send_json<T: Serialize>(mut s: &TcpStream, kind: FrameKind, v: &T) -> io::Result<()> {
    let payload = serde_json::to_vec(v).map_err(io::Error::other)?;
    let mut msg = FrameHeader::control(kind, payload.len() as u32)
        .encode()
        .to_vec();
    msg.extend_from_slice(&payload);
    s.write_all(&msg)
}

/// Sends a FETCH from the given offsets (one per partition).
pub fn send_fetch(mut s: &TcpStream, offsets: &[i64]) -> io::Result<()> {
    let mut msg = FrameHeader::control(FrameKind::Fetch, (offsets.len() * 8) as u32)
        .encode()
        .to_vec();
    for o in offsets {
        msg.extend_from_slice(&o.to_be_bytes());
    }
    s.write_all(&msg)
}

/// How a patient read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filled {
    /// The buffer is full.
    Full,
    /// The peer closed the connection before the first byte.
    Closed,
    /// `give_up` said so while no byte had come.
    GaveUp,
}

/// Reads exactly `buf.len()` bytes. On a socket timeout it asks `give_up`: before the first
/// byte it then returns [`Filled::GaveUp`]; inside a message it is an error (a peer that stops
/// mid-message); `give_up` false: it waits on.
pub fn fill(s: &TcpStream, buf: &mut [u8], give_up: &dyn Fn() -> bool) -> io::Result<Filled> {
    fill_counting(s, buf, give_up, &mut 0)
}

/// [`fill`], counting in `got` the bytes that arrived (also when it fails).
fn fill_counting(
    mut s: &TcpStream,
    buf: &mut [u8],
    give_up: &dyn Fn() -> bool,
    got: &mut usize,
) -> io::Result<Filled> {
    while *got < buf.len() {
        match s.read(&mut buf[*got..]) {
            Ok(0) if *got == 0 => return Ok(Filled::Closed),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => *got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) && give_up() => {
                return if *got == 0 {
                    Ok(Filled::GaveUp)
                } else {
                    Err(e)
                };
            }
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Filled::Full)
}

/// Reads one frame header; `None` when the peer closed the connection cleanly first or
/// `give_up` said so (see [`fill`]; `closed` tells which).
pub fn read_header(
    s: &TcpStream,
    give_up: &dyn Fn() -> bool,
) -> io::Result<Result<FrameHeader, Filled>> {
    let mut b = [0u8; HEADER_LEN];
    match fill(s, &mut b, give_up)? {
        Filled::Full => FrameHeader::decode(&b)
            .map(Ok)
            .map_err(|e| protocol(e.to_string())),
        other => Ok(Err(other)),
    }
}

/// Reads exactly `buf.len()` bytes before `deadline` (a peer trickling bytes is cut off at
/// it): [`Filled::GaveUp`] when no byte came by then, an error when a message was under way.
pub fn fill_by(s: &TcpStream, buf: &mut [u8], deadline: Instant) -> io::Result<Filled> {
    let mut got = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return if got == 0 {
                Ok(Filled::GaveUp)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the peer did not finish its message in time",
                ))
            };
        }
        s.set_read_timeout(Some(left))?;
        match fill_counting(s, buf, &|| Instant::now() >= deadline, &mut got)? {
            Filled::Full => return Ok(Filled::Full),
            Filled::Closed => return Ok(Filled::Closed),
            Filled::GaveUp => {}
        }
    }
}

/// Reads one frame with a JSON payload of at most `max` bytes, all of it before `deadline`.
pub fn json_by<T: DeserializeOwned>(
    s: &TcpStream,
    kind: FrameKind,
    max: u32,
    deadline: Instant,
) -> io::Result<T> {
    let mut b = [0u8; HEADER_LEN];
    let late = || io::Error::new(io::ErrorKind::TimedOut, format!("no {kind:?} in time"));
    match fill_by(s, &mut b, deadline)? {
        Filled::Full => {}
        Filled::Closed => {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the connection",
            ))
        }
        Filled::GaveUp => return Err(late()),
    }
    let h = FrameHeader::decode(&b).map_err(|e| protocol(e.to_string()))?;
    if h.kind != kind {
        return Err(protocol(format!("expected {kind:?}, got {:?}", h.kind)));
    }
    if h.payload_len > max {
        return Err(protocol(format!(
            "a {kind:?} payload of {} bytes, over the limit of {max}",
            h.payload_len
        )));
    }
    let mut payload = vec![0u8; h.payload_len as usize];
    if fill_by(s, &mut payload, deadline)? != Filled::Full {
        return Err(late());
    }
    serde_json::from_slice(&payload)
        .map_err(|e| protocol(format!("a {kind:?} payload that does not parse: {e}")))
}

/// Reads exactly `buf.len()` bytes of a message under way: a timeout or an end is an error.
pub fn read_body(s: &TcpStream, buf: &mut [u8]) -> io::Result<()> {
    read_body_counting(s, buf, &|| true).1
}

/// [`read_body`], also saying how many bytes arrived (all of `buf` when it succeeded); on a
/// socket timeout it asks `give_up` (true: the read fails; false: it waits on).
pub fn read_body_counting(
    s: &TcpStream,
    buf: &mut [u8],
    give_up: &dyn Fn() -> bool,
) -> (usize, io::Result<()>) {
    let mut got = 0;
    let r = match fill_counting(s, buf, give_up, &mut got) {
        Ok(Filled::Full) => Ok(()),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the peer stopped in the middle of a message",
        )),
        Err(e) => Err(e),
    };
    (got, r)
}

/// Reads the JSON payload of the frame `h` (at most [`MAX_JSON_BYTES`]).
pub fn read_json<T: DeserializeOwned>(s: &TcpStream, h: &FrameHeader) -> io::Result<T> {
    if h.payload_len > MAX_JSON_BYTES {
        return Err(protocol(format!(
            "a {:?} payload of {} bytes, over the limit of {MAX_JSON_BYTES}",
            h.kind, h.payload_len
        )));
    }
    let mut payload = vec![0u8; h.payload_len as usize];
    read_body(s, &mut payload)?;
    serde_json::from_slice(&payload)
        .map_err(|e| protocol(format!("a {:?} payload that does not parse: {e}", h.kind)))
}

/// Reads the next frame, which must be `kind` with a JSON payload (timeouts are errors).
pub fn expect_json<T: DeserializeOwned>(s: &TcpStream, kind: FrameKind) -> io::Result<T> {
    match read_header(s, &|| true)? {
        Ok(h) if h.kind == kind => read_json(s, &h),
        Ok(h) => Err(protocol(format!("expected {kind:?}, got {:?}", h.kind))),
        Err(Filled::Closed) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the peer closed the connection",
        )),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no {kind:?} in time"),
        )),
    }
}

/// Reads a FETCH's offsets; it must name exactly `partitions` partitions.
pub fn read_fetch(s: &TcpStream, h: &FrameHeader, partitions: u32) -> io::Result<Vec<i64>> {
    if h.payload_len != partitions * 8 {
        return Err(protocol(format!(
            "a FETCH of {} bytes for {partitions} partitions (8 bytes each)",
            h.payload_len
        )));
    }
    let mut b = vec![0u8; h.payload_len as usize];
    read_body(s, &mut b)?;
    Ok(b.chunks_exact(8)
        .map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            i64::from_be_bytes(a)
        })
        .collect())
}
