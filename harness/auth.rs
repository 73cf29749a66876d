//! Run tokens and the rules every listening side applies before it trusts a peer: the fleet's
//! rendezvous, a replication leader and the sink all use these.
//!
//! - A token is at least [`MIN_TOKEN_CHARS`] characters ([`check_token`]); `segbench fleet
//!   token` makes one from [`TOKEN_BYTES`] random bytes ([`new_token`]).
//! - Tokens are compared in time independent of where they differ ([`token_matches`]).
//! - A new connection presents its token within [`AUTH_DEADLINE`] or is closed.
//! - At most [`MAX_UNAUTHENTICATED`] connections wait to authenticate at once ([`WaitingRoom`]):
//!   a new one shuts the oldest waiting one down, so strangers can neither hold a port nor,
//!   by connecting again and again, keep a real peer out (the fleet's rendezvous, the
//!   replication leader and the sink all use it).
//! - Each failed attempt slows the next answer to a failure ([`Failures`]), so guessing is slow
//!   even for a weak token.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bytes of randomness in a token from [`new_token`] (hex: twice as many characters).
pub const TOKEN_BYTES: usize = 16;
/// Shortest token accepted anywhere.
pub const MIN_TOKEN_CHARS: usize = 16;
/// How long a new connection has to present its token.
pub const AUTH_DEADLINE: Duration = Duration::from_secs(2);
/// Connections allowed to wait for authentication at once.
pub const MAX_UNAUTHENTICATED: usize = 16;
/// Longest delay before answering a failed attempt.
pub const MAX_FAILURE_DELAY: Duration = Duration::from_secs(1);

/// A fresh token: [`TOKEN_BYTES`] bytes of /dev/urandom, hex.
pub fn new_token() -> io::Result<String> {
    let mut buf = [0u8; TOKEN_BYTES];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `token` is strong enough to guard a run; the error is one line naming the length and
/// the fix. `what` names where the token came from (e.g. "SEGBENCH_FLEET_TOKEN").
pub fn check_token(what: &str, token: &str) -> Result<(), String> {
    let n = token.chars().count();
    if n < MIN_TOKEN_CHARS {
        return Err(format!(
            "{what} is {n} characters long: a token needs at least {MIN_TOKEN_CHARS}; \
             make one with `segbench fleet token`"
        ));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{what} holds whitespace or control characters: use a token from `segbench fleet token`"
        ));
    }
    Ok(())
}

/// Compares two tokens in time independent of where they differ (an empty token matches
/// nothing).
pub fn token_matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Failed attempts so far; each one lengthens the wait before the next failure is answered
/// (10 ms doubling, at most [`MAX_FAILURE_DELAY`]).
#[derive(Debug, Clone, Default)]
pub struct Failures {
    count: Arc<AtomicU32>,
}

impl Failures {
    /// Records one failed attempt and gives how long to wait before answering it.
    pub fn record(&self) -> Duration {
        let k = self.count.fetch_add(1, Ordering::AcqRel);
        let ms = 10u64.saturating_mul(1u64 << k.min(20));
        Duration::from_millis(ms).min(MAX_FAILURE_DELAY)
    }

    /// How long to wait before checking the next attempt, whatever it brings: the delay the
    /// last failure was answered after (zero before any failure). Waiting before the check,
    /// not only before answering a failure, bounds how fast guesses are checked.
    pub fn delay(&self) -> Duration {
        match self.count.load(Ordering::Acquire) {
            0 => Duration::ZERO,
            k => {
                let ms = 10u64.saturating_mul(1u64 << (k - 1).min(20));
                Duration::from_millis(ms).min(MAX_FAILURE_DELAY)
            }
        }
    }

    /// Failed attempts recorded.
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }
}

/// Connections waiting to authenticate, at most a cap: one more arriving when the room is
/// full shuts the oldest waiting one down and takes its seat, so connections that stay silent
/// (or trickle) cannot keep a real peer out, and the waiting ones stay bounded. A [`Seat`]
/// leaves the room when dropped (authenticated, refused or closed).
#[derive(Debug, Clone)]
pub struct WaitingRoom {
    inner: Arc<Mutex<Room>>,
    cap: usize,
}

#[derive(Debug, Default)]
struct Room {
    next: u64,
    waiting: VecDeque<(u64, TcpStream)>,
    evicted: u64,
}

/// One connection's place in a [`WaitingRoom`].
#[derive(Debug)]
pub struct Seat {
    id: u64,
    room: Arc<Mutex<Room>>,
}

impl WaitingRoom {
    /// A room for `cap` (at least 1) waiting connections.
    pub fn new(cap: usize) -> Self {
        WaitingRoom {
            inner: Arc::default(),
            cap: cap.max(1),
        }
    }

    /// Seats `stream`, shutting the oldest waiting connection down when the room is full.
    pub fn admit(&self, stream: &TcpStream) -> io::Result<Seat> {
        let handle = stream.try_clone()?;
        let mut room = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        while room.waiting.len() >= self.cap {
            if let Some((_, oldest)) = room.waiting.pop_front() {
                let _ = oldest.shutdown(std::net::Shutdown::Both);
                room.evicted += 1;
            }
        }
        let id = room.next;
        room.next += 1;
        room.waiting.push_back((id, handle));
        Ok(Seat {
            id,
            room: Arc::clone(&self.inner),
        })
    }

    /// Connections waiting now.
    pub fn waiting(&self) -> usize {
        self.inner.lock().map_or(0, |r| r.waiting.len())
    }

    /// Connections shut down to make room so far.
    pub fn evicted(&self) -> u64 {
        self.inner.lock().map_or(0, |r| r.evicted)
    }
}

impl Default for WaitingRoom {
    fn default() -> Self {
        WaitingRoom::new(MAX_UNAUTHENTICATED)
    }
}

impl Seat {
    /// Leaves the room: `true` when the connection is still open, `false` when it was shut
    /// down to make room for a newer one (its failure to authenticate, or its success, is then
    /// void: the peer retries). Once left, the room can no longer shut it down.
    pub fn leave(self) -> bool {
        let mut room = self.room.lock().unwrap_or_else(|e| e.into_inner());
        let before = room.waiting.len();
        room.waiting.retain(|(id, _)| *id != self.id);
        room.waiting.len() < before
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut room = self.room.lock().unwrap_or_else(|e| e.into_inner());
        room.waiting.retain(|(id, _)| *id != self.id);
    }
}

/// Reads from a stream until a fixed instant: each read waits at most the time left, so a peer
/// sending a byte at a time cannot stretch a handshake past it. Past the instant a read fails
/// with `TimedOut` ("`what` within N s"). Counts the bytes read, so a caller can tell a
/// connection closed before its first byte from one cut off mid-message.
#[derive(Debug)]
pub struct ByDeadline<'a> {
    s: &'a TcpStream,
    within: Duration,
    deadline: Instant,
    what: &'static str,
    got: usize,
}

impl<'a> ByDeadline<'a> {
    /// Reads `s` for at most `within` from now; `what` names what did not happen in time.
    pub fn new(s: &'a TcpStream, within: Duration, what: &'static str) -> Self {
        ByDeadline {
            s,
            within,
            deadline: Instant::now() + within,
            what,
            got: 0,
        }
    }

    /// Bytes read so far.
    pub fn got(&self) -> usize {
        self.got
    }
}

impl io::Read for ByDeadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let late = || {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{} within {} s", self.what, self.within.as_secs()),
            )
        };
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(late());
        }
        self.s.set_read_timeout(Some(left))?;
        let mut s = self.s;
        match io::Read::read(&mut s, buf) {
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(late())
            }
            Ok(n) => {
                self.got += n;
                Ok(n)
            }
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_waiting_room_shuts_its_oldest_connection_down() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let room = WaitingRoom::new(2);
        let mut clients = Vec::new();
        let mut seats = Vec::new();
        for _ in 0..3 {
            clients.push(TcpStream::connect(addr).unwrap());
            let (s, _) = l.accept().unwrap();
            seats.push((room.admit(&s).unwrap(), s));
        }
        assert_eq!((room.waiting(), room.evicted()), (2, 1));
        // The first one was shut down: its client reads the end at once.
        let mut b = [0u8; 1];
        clients[0]
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(clients[0].read(&mut b).unwrap(), 0);
        let mut seats = seats.into_iter().map(|(seat, _)| seat.leave());
        assert_eq!(
            (seats.next(), seats.next()),
            (Some(false), Some(true)),
            "the evicted seat leaves as evicted, the others as open"
        );
        drop(seats);
        assert_eq!(
            room.waiting(),
            0,
            "dropped seats leave (the evicted one too)"
        );
    }

    #[test]
    fn tokens_must_match_exactly() {
        assert!(token_matches("abcdef0123456789", "abcdef0123456789"));
        assert!(!token_matches("abcdef0123456789", "abcdef012345678"));
        assert!(!token_matches("abcdef0123456789", "abcdef0123456780"));
        assert!(!token_matches("", ""));
    }

    #[test]
    fn short_or_spaced_tokens_are_refused_with_the_fix() {
        let e = check_token("SEGBENCH_FLEET_TOKEN", "ab").unwrap_err();
        assert!(
            e.contains("2 characters") && e.contains("segbench fleet token"),
            "{e}"
        );
        assert!(check_token("t", "0123456789abcde").is_err());
        assert!(check_token("t", "0123456789abcdef").is_ok());
        assert!(check_token("t", "0123456789 abcdef").is_err());
        let fresh = new_token().unwrap();
        assert_eq!(fresh.len(), 2 * TOKEN_BYTES);
        assert!(check_token("fresh", &fresh).is_ok());
    }

    #[test]
    fn failures_slow_down_to_a_bound() {
        let f = Failures::default();
        let first = f.record();
        let second = f.record();
        assert!(second > first);
        for _ in 0..40 {
            f.record();
        }
        assert_eq!(f.record(), MAX_FAILURE_DELAY);
        assert_eq!(f.count(), 43);
        assert_eq!(f.delay(), MAX_FAILURE_DELAY);
        let fresh = Failures::default();
        assert_eq!(fresh.delay(), Duration::ZERO);
        let first = fresh.record();
        assert_eq!(
            fresh.delay(),
            first,
            "the next attempt waits as the last failure did"
        );
    }
}
