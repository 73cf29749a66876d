//! Follower lag over time, sampled on the leader's clock (never a follower's): every
//! [`SAMPLE_EVERY`] each follower's lag in offsets and in time
//! ([`ReplicaState::follower_lag`](super::isr::ReplicaState::follower_lag)) is read; the time
//! lag of the furthest follower goes into a histogram, and every [`TIMELINE_EVERY`] one point
//! per follower into a timeline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use results::hist::{self, Hist};
use workloads::pacing::Clock;

use super::isr::Shared;

/// How often the lag is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(10);
/// How often a sample goes into the timeline.
pub const TIMELINE_EVERY: Duration = Duration::from_millis(100);

/// One timeline point.
#[derive(Debug, Clone, PartialEq)]
pub struct LagPoint {
    /// When, the leader's clock, ns.
    pub at_ns: u64,
    /// Each follower's lag in offsets (follower 1 first).
    pub offsets: Vec<i64>,
    /// Each follower's lag in time, ms.
    pub ms: Vec<f64>,
}

/// What the sampler saw.
#[derive(Debug)]
pub struct LagResult {
    /// The furthest follower's time lag at each sample, ns (0, caught up, is recorded as 1 ns).
    pub time_lag: Hist,
    /// Each follower's largest time lag, ns.
    pub max_ns: Vec<u64>,
    /// Points every [`TIMELINE_EVERY`].
    pub timeline: Vec<LagPoint>,
}

/// Samples `followers` followers' lag until `stop`.
pub fn run_lag_sampler(
    shared: &Shared,
    followers: usize,
    stop: &AtomicBool,
    clock: &dyn Clock,
) -> LagResult {
    let mut out = LagResult {
        time_lag: hist::new_hist(),
        max_ns: vec![0; followers],
        timeline: Vec::new(),
    };
    let every = TIMELINE_EVERY.as_nanos() as u64;
    let mut next_point = 0;
    while followers > 0 && !stop.load(Ordering::Acquire) {
        let now = clock.now_ns();
        let lags: Vec<(i64, u64)> = {
            let st = shared.lock();
            (0..followers).map(|f| st.follower_lag(f, now)).collect()
        };
        let furthest = lags.iter().map(|l| l.1).max().unwrap_or(0);
        hist::record(&mut out.time_lag, furthest);
        for (m, l) in out.max_ns.iter_mut().zip(&lags) {
            *m = (*m).max(l.1);
        }
        if now >= next_point {
            next_point = now + every;
            out.timeline.push(LagPoint {
                at_ns: now,
                offsets: lags.iter().map(|l| l.0).collect(),
                ms: lags.iter().map(|l| l.1 as f64 / 1e6).collect(),
            });
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
    out
}
