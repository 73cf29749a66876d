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

use workloads::kafka::batch::{parse_header, verify_batch, BATCH_HEADER_LEN};
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

/// Connects to the leader at `addr` and joins with the run's `token`, retrying until
/// `timeout` while it does not listen yet or closes the connection without an answer (its
/// room for unauthenticated connections was full); returns the connection and the
/// follower's number. A refusal (wrong token, other version) is final; `stop` (a signal)
/// ends the wait within [`STOP_POLL`].
pub fn join(
    addr: SocketAddr,
    timeout: Duration,
    token: &str,
    stop: &AtomicBool,
) -> Result<(TcpStream, u32), String> {
    let deadline = Instant::now() + timeout;
    loop {
        match try_join(addr, timeout, token, stop) {
            Ok(Ok(joined)) => return Ok(joined),
            Ok(Err(refused)) => return Err(refused),
            Err(_) if stop.load(Ordering::Acquire) => {
                return Err(format!("{STOPPED} while joining the leader at {addr}"))
            }
            Err(e) if Instant::now() >= deadline => {
                return Err(format!(
                    "cannot join the leader at {addr} within {timeout:?}: {e}"
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// One attempt of [`join`]: an I/O error (worth retrying), or the leader's answer.
fn try_join(
    addr: SocketAddr,
    timeout: Duration,
    token: &str,
    stop: &AtomicBool,
) -> std::io::Result<Result<(TcpStream, u32), String>> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(STOP_POLL))?;
    stream.set_write_timeout(Some(LEADER_SILENCE))?;
    let join = Join {
        version: WIRE_VERSION,
        token: token.to_string(),
    };
    wire::send_json(&stream, FrameKind::Hello, &join)?;
    // The leader answers within its deadline and failure back-off.
    let patience = timeout.clamp(
        Duration::from_secs(1),
        crate::auth::AUTH_DEADLINE + crate::auth::MAX_FAILURE_DELAY + LEADER_SILENCE,
    );
    let asked = Instant::now();
    let give_up = || stop.load(Ordering::Acquire) || asked.elapsed() >= patience;
    let h = match wire::read_header(&stream, &give_up)? {
        Ok(h) if h.kind == FrameKind::Hello => h,
        Ok(h) => return Err(wire::protocol(format!("expected HELLO, got {:?}", h.kind))),
        Err(Filled::Closed) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
        Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
    };
    let joined: Joined = wire::read_json(&stream, &h)?;
    if !joined.ok {
        return Ok(Err(format!(
            "the leader at {addr} refused: {}",
            joined.error.unwrap_or_default()
        )));
    }
    Ok(Ok((stream, joined.follower)))
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
                start
                    .check()
                    .map_err(|e| fail(e, FollowerReport::default(), &done))?;
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
    // Reads wake every STOP_POLL to look at `stop`; the leader is gone after `silence`.
    s.set_read_timeout(Some(STOP_POLL))
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
                let asked = Instant::now();
                let give_up = || stop.load(Ordering::Acquire) || asked.elapsed() >= silence;
                let h = match wire::read_header(s, &give_up).map_err(leader)? {
                    Ok(h) => h,
                    Err(Filled::Closed) => return Err("the leader closed the connection".into()),
                    Err(_) if stop.load(Ordering::Acquire) => return Err(STOPPED.into()),
                    Err(_) => return Err(format!("no answer from the leader within {silence:?}")),
                };
                match h.kind {
                    FrameKind::Data => {
                        receive(s, &h, start, &mut parts, dir, &mut done, report, &give_up)?;
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

/// What a follower checks of each whole batch before appending it: the CRC-32C, the record
/// count against the batch's length (records tile the body, `recordsCount` of them) and
/// against its offsets (`lastOffsetDelta + 1`, at least one record).
pub fn check_batch(batch: &[u8]) -> Result<(), String> {
    let b = verify_batch(batch).map_err(|e| e.to_string())?;
    if b.records_count < 1 || i64::from(b.last_offset_delta) + 1 != i64::from(b.records_count) {
        return Err(format!(
            "records count {} does not match last offset delta {} (offsets {}..={})",
            b.records_count,
            b.last_offset_delta,
            b.base_offset,
            b.last_offset()
        ));
    }
    Ok(())
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
/// A socket timeout asks `give_up` whether to stop waiting (a signal, or the leader silent).
#[allow(clippy::too_many_arguments)]
fn receive(
    s: &TcpStream,
    h: &FrameHeader,
    start: &Start,
    parts: &mut [Replica],
    dir: &Path,
    done: &mut Vec<workloads::write::Completion>,
    report: &mut FollowerReport,
    give_up: &dyn Fn() -> bool,
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
    let p = h.partition;
    let corrupt = |at: usize, reason: String| EngineError::Corrupt {
        path: path.clone(),
        position: h.position + at as u64,
        reason: format!("refused from the leader: partition {p}: {reason}"),
    };
    if n < BATCH_HEADER_LEN {
        return Err(format!("{n} bytes in a frame: not a whole batch"));
    }
    let mut first = [0u8; BATCH_HEADER_LEN];
    wire::read_body_counting(s, &mut first, give_up)
        .1
        .map_err(|e| format!("the leader: {e}"))?;
    let next = part.log.next_offset();
    let first_len = parse_header(&first)
        .map_err(|e| corrupt(0, format!("batch at offset {next}: {e}")).to_string())?
        .total_len();
    let appended = part.append_run(n, first_len.min(n), start.segment_size, done, |buf| {
        buf[..BATCH_HEADER_LEN].copy_from_slice(&first);
        let (got, recv) = wire::read_body_counting(s, &mut buf[BATCH_HEADER_LEN..], give_up);
        let got = BATCH_HEADER_LEN + got;
        let (mut batches, mut pos, mut expect) = (Vec::new(), 0usize, next);
        let mut bad = None;
        while got - pos >= BATCH_HEADER_LEN {
            let b = match parse_header(&buf[pos..got]) {
                Ok(b) => b,
                Err(e) => {
                    bad = Some(corrupt(pos, format!("batch at offset {expect}: {e}")));
                    break;
                }
            };
            let total = b.total_len();
            if b.base_offset != expect {
                let why = format!(
                    "batch at offset {} where the log ends at offset {expect} (offsets must continue the log)",
                    b.base_offset
                );
                bad = Some(corrupt(pos, why));
                break;
            }
            if pos + total > n {
                let why = format!(
                    "batch at offset {expect} of {total} bytes runs past the frame's {n} bytes"
                );
                bad = Some(corrupt(pos, why));
                break;
            }
            if pos + total > got {
                break; // cut short: the rest never arrived
            }
            if let Err(why) = check_batch(&buf[pos..pos + total]) {
                bad = Some(corrupt(pos, format!("batch at offset {expect}: {why}")));
                break;
            }
            let records = b.records_count as u32;
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
