//! Pacing for open-loop runs: when each operation is due, from a target rate.
//!
//! In an open loop, an operation's latency runs from its *intended* start time, not from when
//! the runner got round to it, so a stall is charged to every operation it delayed
//! (coordinated omission; HdrHistogram's `record_correct` solves the same problem).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// The longest single sleep while an operation waits for its due time: a stop request is seen
/// within it, whatever the rate (at 1 B/s a 16 KiB batch is due hours after the one before).
pub const MAX_SLEEP_SLICE: Duration = Duration::from_millis(50);
/// Within this much of the due time the wait spins instead of sleeping: a sleep overshoots by
/// tens of microseconds.
const SPIN_NS: u64 = 200_000;
/// How far before the due time a sleep aims to end (the rest is spun).
const SLEEP_MARGIN_NS: u64 = 100_000;

/// Waits until `clock` reaches `due_ns` or `stop` is set, sleeping in slices of at most
/// [`MAX_SLEEP_SLICE`] and spinning the last 200 µs. Returns the clock's last reading.
pub fn wait_until<C: Clock + ?Sized>(clock: &C, due_ns: u64, stop: &AtomicBool) -> u64 {
    let mut now = clock.now_ns();
    while now < due_ns && !stop.load(Ordering::Relaxed) {
        let wait = due_ns - now;
        if wait > SPIN_NS {
            std::thread::sleep(Duration::from_nanos(wait - SLEEP_MARGIN_NS).min(MAX_SLEEP_SLICE));
        } else {
            std::hint::spin_loop();
        }
        now = clock.now_ns();
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_for_a_far_due_time_stops_on_request() {
        let clock = MonotonicClock::new();
        let stop = AtomicBool::new(false);
        let t0 = Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(100));
                stop.store(true, Ordering::Relaxed);
            });
            // Due in an hour (a 16 KiB batch at 4.5 B/s).
            let now = wait_until(&clock, clock.now_ns() + 3_600_000_000_000, &stop);
            assert!(now < 3_600_000_000_000);
        });
        let waited = t0.elapsed();
        assert!(
            waited < Duration::from_millis(100) + MAX_SLEEP_SLICE * 4,
            "stopped after {waited:?}"
        );
    }

    #[test]
    fn a_wait_ends_at_the_due_time() {
        let clock = MonotonicClock::new();
        let stop = AtomicBool::new(false);
        let due = clock.now_ns() + 120_000_000;
        let now = wait_until(&clock, due, &stop);
        assert!(now >= due);
        // A due time already past returns at once.
        assert!(wait_until(&clock, 0, &stop) >= due);
    }

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

/// The CPU's invariant time-stamp counter, scaled to nanoseconds: about a third of the cost of
/// `clock_gettime` in a VM (11 ns against 28 ns measured here), which matters at millions of
/// operations per second. Used only where the kernel itself trusts the TSC (current clock
/// source `tsc`, CPU flags `constant_tsc` and `nonstop_tsc`), so it is monotonic and
/// synchronised across cores; elsewhere [`best_clock`] falls back to [`MonotonicClock`].
#[derive(Debug, Clone, Copy)]
pub struct TscClock {
    tsc0: u64,
    ns_per_tick: f64,
}

/// How long [`TscClock::calibrate`] compares the TSC with `CLOCK_MONOTONIC`.
const TSC_CALIBRATION: std::time::Duration = std::time::Duration::from_millis(30);

#[cfg(target_arch = "x86_64")]
#[inline]
fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no memory effects and exists on every x86_64 CPU.
    unsafe { core::arch::x86_64::_rdtsc() }
}

impl TscClock {
    /// A TSC clock calibrated against `CLOCK_MONOTONIC`, or `None` when the TSC is not
    /// trustworthy here (not x86_64, the kernel does not use it as its clock source, or the
    /// CPU lacks an invariant TSC) or calibrates to an implausible frequency.
    pub fn calibrate() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            let source = std::fs::read_to_string(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .ok()?;
            if source.trim() != "tsc" {
                return None;
            }
            let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
            let flags = cpuinfo.lines().find(|l| l.starts_with("flags"))?;
            let has = |f: &str| flags.split_whitespace().any(|x| x == f);
            if !(has("constant_tsc") && has("nonstop_tsc")) {
                return None;
            }
            let i0 = Instant::now();
            let t0 = rdtsc();
            std::thread::sleep(TSC_CALIBRATION);
            let t1 = rdtsc();
            let ns = i0.elapsed().as_nanos() as f64;
            let ticks = t1.wrapping_sub(t0) as f64;
            let ghz = ticks / ns;
            if !(0.2..=20.0).contains(&ghz) {
                return None;
            }
            Some(TscClock {
                tsc0: rdtsc(),
                ns_per_tick: ns / ticks,
            })
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            None
        }
    }

    /// The calibrated TSC frequency, GHz.
    pub fn ghz(&self) -> f64 {
        1.0 / self.ns_per_tick
    }
}

impl Clock for TscClock {
    #[inline]
    fn now_ns(&self) -> u64 {
        #[cfg(target_arch = "x86_64")]
        {
            (rdtsc().wrapping_sub(self.tsc0) as f64 * self.ns_per_tick) as u64
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            0
        }
    }
}

/// The cheapest trustworthy monotonic clock here: [`TscClock`] when the kernel trusts the TSC,
/// else [`MonotonicClock`]. `SEGBENCH_CLOCK=monotonic` forces the latter. Returns the clock and
/// its name for the results.
pub fn best_clock() -> (std::sync::Arc<dyn Clock>, &'static str) {
    if std::env::var("SEGBENCH_CLOCK").as_deref() != Ok("monotonic") {
        if let Some(t) = TscClock::calibrate() {
            return (std::sync::Arc::new(t), "tsc");
        }
    }
    (
        std::sync::Arc::new(MonotonicClock::new()),
        "clock_gettime(CLOCK_MONOTONIC)",
    )
}

#[cfg(test)]
mod tsc_tests {
    use super::*;

    #[test]
    fn tsc_clock_agrees_with_the_monotonic_clock() {
        let Some(t) = TscClock::calibrate() else {
            return crate::skip::skip(crate::skip::Skip::Platform, "no trusted invariant TSC here");
        };
        let m = MonotonicClock::new();
        let (t0, m0) = (t.now_ns(), m.now_ns());
        std::thread::sleep(std::time::Duration::from_millis(50));
        let (t1, m1) = (t.now_ns(), m.now_ns());
        let (dt, dm) = ((t1 - t0) as f64, (m1 - m0) as f64);
        assert!(
            (dt - dm).abs() / dm < 0.01,
            "tsc {dt} ns vs monotonic {dm} ns"
        );
        let mut last = t.now_ns();
        for _ in 0..100_000 {
            let now = t.now_ns();
            assert!(now >= last);
            last = now;
        }
        assert!(t.ghz() > 0.2);
    }
}
