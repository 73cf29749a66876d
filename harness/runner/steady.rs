//! `--until-steady[=ROUND]`: a repetition that runs in rounds of ROUND until its throughput is
//! steady by the SNIA PTS criteria ([`results::steady`]) over the last 5 rounds, or until its
//! duration runs out (then it is labelled not steady, with the window's range and slope).
//!
//! The runner owns the clock: a watcher thread reads the runner's clock and the live byte
//! counter at each round boundary (rounds start at the runner threads' start,
//! [`LiveCounters::start_ns`]) and ends the repetition once the rounds it sampled are steady.
//! The record kept with the results is then re-cut from the repetition's own timeline (bytes by
//! completion time, [`results::steady::rounds_from_timeline`]) and judged again, so the figures
//! in the file are the timeline's, never the watcher's samples.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use results::steady::{self, SteadyState};
use results::Repetition;
use workloads::pacing::Clock;

use super::LiveCounters;

/// The key of a workload's config that holds its round length, seconds (absent when the
/// workload did not run until steady).
pub const CONFIG_KEY: &str = "until_steady_round_s";

/// Default round length.
pub const DEFAULT_ROUND: Duration = Duration::from_secs(5);

/// Longest sleep of the watcher between looks at the stop flags.
const WATCH_SLICE: Duration = Duration::from_millis(10);

/// How a repetition runs until steady.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UntilSteady {
    /// Length of a round.
    pub round: Duration,
    /// Rounds that start before this many bytes were written may not be in the window (a
    /// workload's `size`, e.g. past the dirty limit); none: every round may.
    pub min_bytes: Option<u64>,
}

/// Checks a round length against the repetition's duration (which caps the rounds); the error is
/// one line naming the value and the fix. `flag` names the option (`--until-steady`, or the
/// suite key).
pub fn check_round(flag: &str, round: Duration, duration: Option<Duration>) -> Result<(), String> {
    let ms = round.as_millis();
    if round.is_zero() {
        return Err(format!("{flag} 0: a round needs a length, e.g. {flag}=5s"));
    }
    let interval = super::timeline::DEFAULT_INTERVAL_NS as u128;
    if round.as_nanos() % interval != 0 {
        return Err(format!(
            "{flag} {ms}ms: a round must be a whole number of the {} ms timeline intervals, e.g. 200ms or 5s",
            interval / 1_000_000
        ));
    }
    match duration {
        None => Err(format!(
            "{flag} needs --duration (the longest a repetition may run before it is called not steady), e.g. --duration 5m"
        )),
        Some(d) if round > d => Err(format!(
            "{flag} {ms}ms is longer than --duration {}ms: a round must fit in the duration; shorten the round or lengthen the duration",
            d.as_millis()
        )),
        Some(_) => Ok(()),
    }
}

/// Runs `repetition` (given the flag that ends it) while a watcher ends it once the rounds are
/// steady; `stop` (a signal) ends it too. The caller reads `stop`, not the returned flag, to know
/// whether the run was interrupted.
pub fn run_rounds<R>(
    clock: &dyn Clock,
    live: &LiveCounters,
    stop: &AtomicBool,
    until: UntilSteady,
    repetition: impl FnOnce(&AtomicBool) -> R,
) -> R {
    let end = AtomicBool::new(false);
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| watch(clock, live, until, stop, &end, &finished));
        let r = repetition(&end);
        finished.store(true, Ordering::Relaxed);
        r
    })
}

/// Sleeps until the runner's clock reaches `due_ns`; false when the repetition finished
/// meanwhile. A signal (`stop`) is passed on to `end` at once.
fn wait(
    clock: &dyn Clock,
    due_ns: u64,
    stop: &AtomicBool,
    end: &AtomicBool,
    finished: &AtomicBool,
) -> bool {
    loop {
        if finished.load(Ordering::Relaxed) {
            return false;
        }
        if stop.load(Ordering::Relaxed) {
            end.store(true, Ordering::Relaxed);
        }
        let now = clock.now_ns();
        if now >= due_ns {
            return true;
        }
        std::thread::sleep(Duration::from_nanos(due_ns - now).min(WATCH_SLICE));
    }
}

fn watch(
    clock: &dyn Clock,
    live: &LiveCounters,
    until: UntilSteady,
    stop: &AtomicBool,
    end: &AtomicBool,
    finished: &AtomicBool,
) {
    // Rounds start when the runner threads do.
    let start = loop {
        let s = live.start_ns.load(Ordering::Relaxed);
        if s != 0 {
            break s;
        }
        if !wait(clock, clock.now_ns() + 1_000_000, stop, end, finished) {
            return;
        }
    };
    let round_ns = until.round.as_nanos() as u64;
    let round_s = until.round.as_secs_f64();
    let mut rounds = Vec::new();
    let mut before = 0u64;
    // The first round that may be in the window: the one starting once min_bytes are written.
    let mut eligible = match until.min_bytes {
        None | Some(0) => Some(0),
        Some(_) => None,
    };
    for k in 1u64.. {
        if !wait(clock, start + k * round_ns, stop, end, finished) {
            return;
        }
        let bytes = live.bytes.load(Ordering::Relaxed);
        rounds.push(bytes.saturating_sub(before) as f64 / round_s);
        before = bytes;
        if eligible.is_none() && until.min_bytes.is_some_and(|m| bytes >= m) {
            eligible = Some(k as usize);
        }
        let first = eligible.unwrap_or(usize::MAX);
        if steady::assess(&rounds, first).is_some_and(|w| w.steady) {
            end.store(true, Ordering::Relaxed);
            return;
        }
    }
}

/// Finishes a repetition run with [`run_rounds`]: interrupted only when `stop` (a signal) was
/// set, not when the watcher ended it; its rounds [`record`]ed.
pub fn finish(rep: &mut Repetition, interrupted: &mut bool, stop: &AtomicBool, until: UntilSteady) {
    *interrupted = stop.load(Ordering::Relaxed);
    record(rep, until);
}

/// The rounds of a finished repetition, re-cut from its timeline and judged; the repetition's
/// headline figure becomes the window's mean ([`Repetition::set_steady`]).
pub fn record(rep: &mut Repetition, until: UntilSteady) {
    let round_s = until.round.as_secs_f64();
    let rounds =
        steady::rounds_from_timeline(&rep.timeline, round_s, rep.elapsed_s).unwrap_or_default();
    let eligible = first_eligible(&rounds, round_s, until.min_bytes);
    let s = SteadyState::judge(round_s, rounds, eligible);
    rep.set_steady(&s);
}

/// The first round that starts once `min_bytes` were written (0 without a minimum; the number
/// of rounds when never).
fn first_eligible(rounds: &[f64], round_s: f64, min_bytes: Option<u64>) -> usize {
    let Some(min) = min_bytes else { return 0 };
    let mut written = 0.0;
    for (k, r) in rounds.iter().enumerate() {
        if written >= min as f64 {
            return k;
        }
        written += r * round_s;
    }
    if written >= min as f64 {
        rounds.len()
    } else {
        usize::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rounds_are_refused_with_the_fix() {
        let d = Some(Duration::from_secs(10));
        assert!(check_round("--until-steady", Duration::from_secs(5), d).is_ok());
        assert!(check_round("--until-steady", Duration::from_millis(200), d).is_ok());
        let zero = check_round("--until-steady", Duration::ZERO, d).unwrap_err();
        assert!(zero.starts_with("--until-steady 0:"), "{zero}");
        let odd = check_round("--until-steady", Duration::from_millis(250), d).unwrap_err();
        assert!(odd.contains("250ms") && odd.contains("100 ms"), "{odd}");
        let long = check_round("--until-steady", Duration::from_secs(11), d).unwrap_err();
        assert!(
            long.contains("11000ms") && long.contains("10000ms"),
            "{long}"
        );
        let none = check_round("--until-steady", Duration::from_secs(5), None).unwrap_err();
        assert!(none.contains("--duration"), "{none}");
    }

    #[test]
    fn a_round_is_eligible_once_the_minimum_was_written_before_it() {
        // 100 bytes/s in rounds of 1 s: 250 bytes are written by the end of round 2 (0-based),
        // so round 3 is the first to start past them.
        let r = [100.0; 6];
        assert_eq!(first_eligible(&r, 1.0, None), 0);
        assert_eq!(first_eligible(&r, 1.0, Some(250)), 3);
        assert_eq!(first_eligible(&r, 1.0, Some(300)), 3);
        assert_eq!(first_eligible(&r, 1.0, Some(301)), 4);
        assert_eq!(first_eligible(&r, 1.0, Some(600)), 6);
        assert_eq!(first_eligible(&r, 1.0, Some(601)), usize::MAX);
    }

    #[test]
    fn the_watcher_ends_a_steady_repetition_and_passes_a_signal_on() {
        use std::sync::atomic::AtomicU64;
        let clock = workloads::pacing::MonotonicClock::new();
        let live = LiveCounters::default();
        let until = UntilSteady {
            // Long against a loaded machine's scheduling delays (the sampler sleeps 1 ms).
            round: Duration::from_millis(200),
            min_bytes: None,
        };
        let stop = AtomicBool::new(false);
        // A steady 1 byte per µs until the watcher says stop; bounded at 10 s.
        let ended = run_rounds(&clock, &live, &stop, until, |end| {
            live.start_ns
                .store(clock.now_ns().max(1), Ordering::Relaxed);
            let t0 = std::time::Instant::now();
            while !end.load(Ordering::Relaxed) && t0.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(1));
                live.bytes
                    .store(t0.elapsed().as_micros() as u64, Ordering::Relaxed);
            }
            end.load(Ordering::Relaxed)
        });
        assert!(ended, "a constant rate is steady within 10 s");
        // A signal ends a repetition that never becomes steady (nothing moves).
        let live = LiveCounters::default();
        let stop = AtomicBool::new(false);
        let ticks = AtomicU64::new(0);
        let ended = run_rounds(&clock, &live, &stop, until, |end| {
            live.start_ns
                .store(clock.now_ns().max(1), Ordering::Relaxed);
            let t0 = std::time::Instant::now();
            while !end.load(Ordering::Relaxed) && t0.elapsed() < Duration::from_secs(10) {
                if ticks.fetch_add(1, Ordering::Relaxed) == 50 {
                    stop.store(true, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            end.load(Ordering::Relaxed)
        });
        assert!(ended, "the signal reached the repetition");
    }
}
