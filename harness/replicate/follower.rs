//! A follower (Kafka's `ReplicaFetcherThread`, one per follower), over its TCP connection to
//! the leader ([`super::wire`]): join, then for each repetition the leader starts, create
//! fresh partition logs and fetch every partition from its log end offset until the leader
//! ends the repetition. The leader holds a fetch up to `replica.fetch.wait.max.ms`; its
//! answer's whole batches are received from the socket straight into the follower's write
//! engine's region, a partition's frame at once, and appended as one write, as Kafka's
//! follower appends a fetched partition's records in one call (rolling where the leader
//! rolled: same segment size, same batches). A follower never appends a byte the leader did
//! not send: each batch's header is checked (offset, length inside the frame) before it is
//! submitted, and a batch the socket did not deliver whole is never submitted.

use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use workloads::kafka::batch::{parse_header, BATCH_HEADER_LEN};
use workloads::pacing::MonotonicClock;
use workloads::EngineError;

use super::flush::FlushSetup;
use super::replica::{create_replicas, BatchInfo, LogLayout, Replica};
use super::wire::{self, Filled, FollowerReport, Join, Joined, Start, WIRE_VERSION};
use crate::sink::protocol::{FrameHeader, FrameKind};

/// A leader that says nothing for this long past `replica.fetch.wait.max.ms` is gone.
pub const LEADER_SILENCE: Duration = Duration::from_secs(3);
/// How long a joined follower waits between repetitions for the next one.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How often a follower waiting for the next repetition checks for a stop signal.
const STOP_POLL: Duration = Duration::from_millis(100);
/// Why a follower stopped on a signal.
const STOPPED: &str = "stopped by a signal";

/// Why a follower stopped early, with what it did until then.
#[derive(Debug, Clone)]
pub struct FollowerFailure {
    /// What went wrong.
    pub reason: String,
    /// The repetition under way, up to the failure.
    pub partial: FollowerReport,
    /// Repetitions done before it.
    pub done: Vec<FollowerReport>,
}

/// Connects to the leader at `addr` (retrying until `timeout`: it may not listen yet) and
/// joins; returns the connection and the follower's number.
pub fn join(addr: SocketAddr, timeout: Duration) -> Result<(TcpStream, u32), String> {
    let deadline = Instant::now() + timeout;
    let stream = loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(s) => break s,
            Err(e) if Instant::now() >= deadline => {
                return Err(format!(
                    "cannot reach the leader at {addr} within {timeout:?}: {e}"
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let io = |e: std::io::Error| format!("joining the leader at {addr}: {e}");
    stream.set_nodelay(true).map_err(io)?;
    stream
        .set_read_timeout(Some(timeout.max(Duration::from_secs(1))))
        .map_err(io)?;
    stream.set_write_timeout(Some(LEADER_SILENCE)).map_err(io)?;
    wire::send_json(
        &stream,
        FrameKind::Hello,
        &Join {
            version: WIRE_VERSION,
        },
    )
    .map_err(io)?;
    let joined: Joined = wire::expect_json(&stream, FrameKind::Hello).map_err(io)?;
    if !joined.ok {
        return Err(format!(
            "the leader at {addr} refused: {}",
            joined.error.unwrap_or_default()
        ));
    }
    Ok((stream, joined.follower))
}

/// Runs the joined follower `follower` until the leader ends the session: each repetition's
/// logs go to `<rep_dir(rep)>/follower-<i>` (`rep` as the leader names it); `rep_done` is
/// called after each with its name and report. While `pause` is set the follower sends no
/// fetch (a stalled follower); `stop` (a signal) ends it as a failure.
pub fn run_session(
    stream: &TcpStream,
    follower: u32,
    rep_dir: &mut dyn FnMut(&str) -> Result<PathBuf, String>,
    pause: &AtomicBool,
    stop: &AtomicBool,
    rep_done: &mut dyn FnMut(&str, &FollowerReport),
) -> Result<Vec<FollowerReport>, FollowerFailure> {
    let mut done = Vec::new();
    let fail =
        |reason: String, partial: FollowerReport, done: &Vec<FollowerReport>| FollowerFailure {
            reason,
            partial,
            done: done.clone(),
        };
    loop {
        let _ = stream.set_read_timeout(Some(STOP_POLL));
        let idle = Instant::now();
        let give_up = || stop.load(Ordering::Acquire) || idle.elapsed() >= IDLE_TIMEOUT;
        let h = match wire::read_header(stream, &give_up) {
            Ok(Ok(h)) => h,
            Ok(Err(Filled::Closed)) => {
                return Err(fail(
                    "the leader closed the connection".into(),
                    FollowerReport::default(),
                    &done,
                ))
            }
            Ok(Err(_)) if stop.load(Ordering::Acquire) => {
                return Err(fail(STOPPED.into(), FollowerReport::default(), &done))
            }
            Ok(Err(_)) => {
                return Err(fail(
                    format!("no word from the leader for {IDLE_TIMEOUT:?}"),
                    FollowerReport::default(),
                    &done,
                ))
            }
            Err(e) => {
                return Err(fail(
                    format!("the leader: {e}"),
                    FollowerReport::default(),
                    &done,
                ))
            }
        };
        match h.kind {
            FrameKind::End => return Ok(done),
            FrameKind::Hello => {
                let start: Start = wire::read_json(stream, &h).map_err(|e| {
                    fail(format!("the leader: {e}"), FollowerReport::default(), &done)
                })?;
                let mut report = FollowerReport::default();
                let dir = rep_dir(&start.rep)
                    .map_err(|e| fail(e, report.clone(), &done))?
                    .join(format!("follower-{follower}"));
                run_repetition(stream, &start, &dir, pause, stop, &mut report)
                    .map_err(|reason| fail(reason, report.clone(), &done))?;
                rep_done(&start.rep, &report);
                done.push(report);
            }
            k => {
                return Err(fail(
                    format!("the leader sent {k:?} between repetitions"),
                    FollowerReport::default(),
                    &done,
                ))
            }
        }
    }
}

/// One repetition: fetch until the leader's END, then report.
fn run_repetition(
    s: &TcpStream,
    start: &Start,
    dir: &Path,
    pause: &AtomicBool,
    stop: &AtomicBool,
    report: &mut FollowerReport,
) -> Result<(), String> {
    let cpu0 = crate::usage::CpuSnapshot::thread();
    let layout = LogLayout {
        partitions: start.partitions,
        topic: start.topic.clone(),
        segment_size: start.segment_size,
        index_interval: start.index_interval,
    };
    let spec = start
        .engine
        .parse()
        .map_err(|e| format!("--follower-engine {}: {e}", start.engine))?;
    let (policy, sync) = crate::parse::flush_sync(&start.flush, &start.sync)?;
    let flush = FlushSetup::new(policy, sync, Arc::new(MonotonicClock::new()));
    // A fetched partition's whole frame is received into the engine's region at once.
    let region = start.fetch_max_bytes.max(start.batch_bytes as u64) as usize;
    let mut parts =
        create_replicas(&layout, dir, &spec, region, &flush).map_err(|e| e.to_string())?;
    let silence = Duration::from_millis(start.fetch_wait_max_ms) + LEADER_SILENCE;
    s.set_read_timeout(Some(silence))
        .map_err(|e| e.to_string())?;
    let mut done = Vec::new();
    let leader = |e: std::io::Error| format!("the leader: {e}");
    let result = (|| -> Result<(), String> {
        loop {
            if stop.load(Ordering::Acquire) {
                return Err(STOPPED.into());
            }
            if pause.load(Ordering::Acquire) {
                // Stalled: no fetch, but the leader may end the repetition.
                if !readable(s, Duration::from_millis(1)).map_err(leader)? {
                    continue;
                }
            } else {
                let offsets: Vec<i64> = parts.iter().map(|r| r.log.next_offset()).collect();
                wire::send_fetch(s, &offsets).map_err(leader)?;
            }
            let mut got = false;
            loop {
                let h = match wire::read_header(s, &|| true).map_err(leader)? {
                    Ok(h) => h,
                    Err(Filled::Closed) => return Err("the leader closed the connection".into()),
                    Err(_) => return Err(format!("no answer from the leader within {silence:?}")),
                };
                match h.kind {
                    FrameKind::Data => {
                        receive(s, &h, start, &mut parts, dir, &mut done, report)?;
                        got = true;
                    }
                    FrameKind::FetchEnd => break,
                    FrameKind::End => return Ok(()),
                    k => return Err(format!("the leader sent {k:?} in a fetch answer")),
                }
            }
            report.fetches += u64::from(got);
        }
    })();
    let closed = parts
        .iter_mut()
        .try_for_each(|p| p.close(&mut done))
        .map_err(|e| e.to_string());
    let cpu = crate::usage::CpuSnapshot::thread().since(&cpu0);
    report.cpu_s = cpu.user_s + cpu.sys_s;
    let flushes = flush.times();
    report.flush_latency_hdr = (!flushes.is_empty()).then(|| results::hist::encode(&flushes));
    result?;
    closed?;
    wire::send_json(s, FrameKind::End, report).map_err(leader)
}

/// Whether the socket has something to read within `wait`.
fn readable(s: &TcpStream, wait: Duration) -> std::io::Result<bool> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(s.as_fd(), PollFlags::POLLIN)];
    let ms = PollTimeout::try_from(wait.as_millis().min(i32::MAX as u128) as i32)
        .unwrap_or(PollTimeout::MAX);
    match poll(&mut fds, ms) {
        Ok(n) => Ok(n > 0),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Receives one DATA frame's whole batches into partition `h.partition`'s log: the first
/// batch's header (to roll where the leader did), then the rest of the frame in one go into
/// the engine's region, each batch header checked (offset, length inside the frame), and the
/// whole batches appended as one write (a run cut short appends what came whole, then fails).
fn receive(
    s: &TcpStream,
    h: &FrameHeader,
    start: &Start,
    parts: &mut [Replica],
    dir: &Path,
    done: &mut Vec<workloads::write::Completion>,
    report: &mut FollowerReport,
) -> Result<(), String> {
    let n = h.payload_len as usize;
    if n as u64 > start.fetch_max_bytes.max(start.batch_bytes as u64) {
        return Err(format!(
            "the leader sent {n} bytes in one frame, over replica.fetch.max.bytes {}",
            start.fetch_max_bytes
        ));
    }
    let Some(part) = parts.get_mut(h.partition as usize) else {
        return Err(format!("the leader sent partition {}", h.partition));
    };
    let path: PathBuf = dir.join(format!("{}-{}", start.topic, h.partition));
    let corrupt = |at: usize, reason: String| EngineError::Corrupt {
        path: path.clone(),
        position: h.position + at as u64,
        reason,
    };
    if n < BATCH_HEADER_LEN {
        return Err(format!("{n} bytes in a frame: not a whole batch"));
    }
    let mut first = [0u8; BATCH_HEADER_LEN];
    wire::read_body(s, &mut first).map_err(|e| format!("the leader: {e}"))?;
    let first_len = parse_header(&first)
        .map_err(|e| corrupt(0, e.to_string()).to_string())?
        .total_len();
    let next = part.log.next_offset();
    let appended = part.append_run(n, first_len.min(n), start.segment_size, done, |buf| {
        buf[..BATCH_HEADER_LEN].copy_from_slice(&first);
        let (got, recv) = wire::read_body_counting(s, &mut buf[BATCH_HEADER_LEN..]);
        let got = BATCH_HEADER_LEN + got;
        let (mut batches, mut pos, mut expect) = (Vec::new(), 0usize, next);
        let mut bad = None;
        while got - pos >= BATCH_HEADER_LEN {
            let b = match parse_header(&buf[pos..got]) {
                Ok(b) => b,
                Err(e) => {
                    bad = Some(corrupt(pos, e.to_string()));
                    break;
                }
            };
            let total = b.total_len();
            if b.base_offset != expect || pos + total > n {
                let why = format!(
                    "batch at offset {} of {total} bytes does not follow offset {expect} inside the frame",
                    b.base_offset
                );
                bad = Some(corrupt(pos, why));
                break;
            }
            if pos + total > got {
                break; // cut short: the rest never arrived
            }
            let records = b.records_count.max(1) as u32;
            batches.push(BatchInfo {
                len: total,
                records,
                max_timestamp_ms: b.max_timestamp,
            });
            expect += i64::from(records);
            pos += total;
        }
        let filled = match (recv, bad) {
            (Err(e), _) => Err(EngineError::io("recv from the leader", &path, e, 0)),
            (Ok(()), Some(bad)) => Err(bad),
            (Ok(()), None) if pos < n => {
                Err(corrupt(pos, format!("{} bytes at the end of a frame: not a whole batch", n - pos)))
            }
            (Ok(()), None) => Ok(()),
        };
        (batches, filled)
    });
    report.bytes += appended.0;
    report.appends += u64::from(appended.0 > 0);
    appended.1.map_err(|e| e.to_string())
}
