//! Pacing for open-loop runs: when each operation is due, from a target rate.
//!
//! In an open loop, an operation's latency runs from its *intended* start time, not from when
//! the runner got round to it, so a stall is charged to every operation it delayed
//! (coordinated omission; HdrHistogram's `record_correct` solves the same problem).

use std::time::Instant;

/// A monotonic nanosecond clock. The runner reads it; tests substitute a fake.
pub trait Clock: Send + Sync {
    /// Nanoseconds since an arbitrary fixed origin; never goes backwards.
    fn now_ns(&self) -> u64;
}

/// The real monotonic clock (`CLOCK_MONOTONIC` through `Instant`).
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        MonotonicClock {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    #[inline]
    fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}

/// A clock that moves only when told to, for tests of the runner and the pacer.
#[derive(Debug, Default)]
pub struct FakeClock {
    now: std::sync::atomic::AtomicU64,
}

impl FakeClock {
    /// A fake clock at `start_ns`.
    pub fn new(start_ns: u64) -> Self {
        FakeClock {
            now: std::sync::atomic::AtomicU64::new(start_ns),
        }
    }

    /// Moves the clock forward by `ns`.
    pub fn advance(&self, ns: u64) {
        self.now.fetch_add(ns, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ns(&self) -> u64 {
        self.now.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Schedules operations of known sizes at a target rate: operation `i` is due when the bytes
/// before it, at `rate` bytes per second, have been sent since `start_ns`.
#[derive(Debug, Clone)]
pub struct Pacer {
    start_ns: u64,
    ns_per_byte: f64,
    bytes_scheduled: u64,
}

impl Pacer {
    /// A pacer starting at `start_ns` for `rate_bytes_per_s` (> 0).
    pub fn new(start_ns: u64, rate_bytes_per_s: f64) -> Self {
        Pacer {
            start_ns,
            ns_per_byte: 1e9 / rate_bytes_per_s,
            bytes_scheduled: 0,
        }
    }

    /// The intended start time of the next operation of `len` bytes, and books it.
    #[inline]
    pub fn next_due(&mut self, len: u64) -> u64 {
        let due = self.start_ns + (self.bytes_scheduled as f64 * self.ns_per_byte) as u64;
        self.bytes_scheduled += len;
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_spaces_operations_by_size_over_rate() {
        // 1 MB/s: a 1000-byte op every 1 ms.
        let mut p = Pacer::new(500, 1e6);
        assert_eq!(p.next_due(1000), 500);
        assert_eq!(p.next_due(1000), 1_000_500);
        assert_eq!(p.next_due(2000), 2_000_500);
        assert_eq!(p.next_due(1), 4_000_500);
    }

    #[test]
    fn fake_clock_moves_only_when_told() {
        let c = FakeClock::new(10);
        assert_eq!(c.now_ns(), 10);
        c.advance(5);
        assert_eq!(c.now_ns(), 15);
        let m = MonotonicClock::new();
        let a = m.now_ns();
        assert!(m.now_ns() >= a);
    }
}

/// A fake clock that advances by a fixed step on every read: each read is one "tick", so a
/// runner that reads the clock once per operation sees every operation take exactly one step.
#[derive(Debug)]
pub struct SteppingClock {
    now: std::sync::atomic::AtomicU64,
    step: u64,
}

impl SteppingClock {
    /// Starts at `start_ns` and advances `step_ns` per read.
    pub fn new(start_ns: u64, step_ns: u64) -> Self {
        SteppingClock {
            now: std::sync::atomic::AtomicU64::new(start_ns),
            step: step_ns,
        }
    }

    /// Jumps forward by `ns` (a stall).
    pub fn advance(&self, ns: u64) {
        self.now.fetch_add(ns, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for SteppingClock {
    fn now_ns(&self) -> u64 {
        self.now
            .fetch_add(self.step, std::sync::atomic::Ordering::SeqCst)
    }
}
