//! Clock offsets between ranks, NTP's way: rank 0 pings a rank several times, keeps the exchange
//! with the smallest round trip, and takes offset = t_rank − (t0 + rtt/2), known to ± rtt/2.
//!
//! Instants that cross hosts use the realtime clock (ns since the Unix epoch); round trips and
//! other durations use the monotonic clock. An offset only places a rank's phase window on
//! rank 0's timeline and turns rank 0's planned start into the rank's own clock; no latency is
//! ever computed by subtracting two hosts' clocks.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Ping exchanges per rank.
pub const PINGS: usize = 16;

/// The realtime clock, ns since the Unix epoch.
pub fn realtime_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// One ping exchange as rank 0 saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange {
    /// Rank 0's realtime clock when it sent the ping, ns.
    pub t0_ns: i64,
    /// The rank's realtime clock when it answered, ns.
    pub t_rank_ns: i64,
    /// Round trip on rank 0's monotonic clock, ns.
    pub rtt_ns: u64,
}

/// A rank's clock offset from rank 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offset {
    /// Rank clock − rank 0 clock, ns.
    pub offset_ns: i64,
    /// ± this, ns (half the minimum round trip).
    pub uncertainty_ns: u64,
}

impl Offset {
    /// A rank-0 instant in the rank's clock.
    pub fn to_rank(&self, rank0_ns: i64) -> i64 {
        rank0_ns + self.offset_ns
    }

    /// A rank's instant on rank 0's timeline.
    pub fn to_rank0(&self, rank_ns: i64) -> i64 {
        rank_ns - self.offset_ns
    }
}

/// The estimate from the exchange with the smallest round trip; `None` without exchanges.
pub fn estimate(exchanges: &[Exchange]) -> Option<Offset> {
    let best = exchanges.iter().min_by_key(|e| e.rtt_ns)?;
    let half = best.rtt_ns / 2;
    Some(Offset {
        offset_ns: best.t_rank_ns - (best.t0_ns + half as i64),
        uncertainty_ns: half,
    })
}

/// Measures one exchange: `send(t0)` must send a ping stamped `t0` and return the rank's
/// answer time.
pub fn exchange<E>(send: impl FnOnce(i64) -> Result<i64, E>) -> Result<Exchange, E> {
    let start = Instant::now();
    let t0_ns = realtime_ns();
    let t_rank_ns = send(t0_ns)?;
    Ok(Exchange {
        t0_ns,
        t_rank_ns,
        rtt_ns: start.elapsed().as_nanos() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_exchange_with_the_smallest_round_trip() {
        // The rank's clock is 5 ms ahead; one-way delays vary, the fastest exchange is symmetric.
        let skew = 5_000_000i64;
        let fake = |t0: i64, out: i64, back: i64| Exchange {
            t0_ns: t0,
            t_rank_ns: t0 + out + skew,
            rtt_ns: (out + back) as u64,
        };
        let ex = [
            fake(1_000, 900_000, 100_000),   // asymmetric, slow
            fake(2_000, 40_000, 40_000),     // the best: symmetric, 80 µs
            fake(3_000, 300_000, 700_000),   // slow
            fake(4_000, 100_000, 2_000_000), // very slow
        ];
        let o = estimate(&ex).unwrap();
        assert_eq!(o.offset_ns, skew);
        assert_eq!(o.uncertainty_ns, 40_000);
        // Any exchange's true offset lies within its own ± rtt/2; the best is the tightest.
        for e in &ex {
            let own = estimate(&[*e]).unwrap();
            assert!((own.offset_ns - skew).unsigned_abs() <= own.uncertainty_ns);
        }
        assert_eq!(o.to_rank(10), 10 + skew);
        assert_eq!(o.to_rank0(o.to_rank(10)), 10);
        assert!(estimate(&[]).is_none());
    }

    #[test]
    fn a_real_exchange_on_one_host_has_no_offset_to_speak_of() {
        let e = exchange(|_t0| Ok::<_, ()>(realtime_ns())).unwrap();
        let o = estimate(&[e]).unwrap();
        assert!(
            o.offset_ns.unsigned_abs() <= o.uncertainty_ns + 1_000_000,
            "{o:?}"
        );
    }
}
