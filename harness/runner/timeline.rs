//! Throughput over time: bytes acknowledged per fixed interval (100 ms by default), one
//! recorder per thread, summed at the end. It shows page-cache bursts and writeback stalls.

/// Default interval, ns.
pub const DEFAULT_INTERVAL_NS: u64 = 100_000_000;

/// Bytes per interval since a start time.
#[derive(Debug, Clone)]
pub struct TimelineRecorder {
    start_ns: u64,
    interval_ns: u64,
    buckets: Vec<u64>,
}

impl TimelineRecorder {
    /// A recorder whose first interval starts at `start_ns`; buckets for `expected_ns` are
    /// allocated up front so recording does not allocate in the measured loop.
    pub fn new(start_ns: u64, interval_ns: u64, expected_ns: u64) -> Self {
        let n = (expected_ns / interval_ns.max(1) + 2) as usize;
        TimelineRecorder {
            start_ns,
            interval_ns: interval_ns.max(1),
            buckets: Vec::with_capacity(n.min(1 << 20)),
        }
    }

    /// Adds `bytes` completed at `at_ns`.
    #[inline]
    pub fn record(&mut self, at_ns: u64, bytes: u64) {
        let i = (at_ns.saturating_sub(self.start_ns) / self.interval_ns) as usize;
        if i >= self.buckets.len() {
            self.buckets.resize(i + 1, 0);
        }
        self.buckets[i] += bytes;
    }

    /// Sums other recorders (same start and interval) into this one.
    pub fn merge(&mut self, other: &TimelineRecorder) {
        if other.buckets.len() > self.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
    }

    /// The finished timeline, cut at `end_ns` (a partial last interval is kept).
    pub fn finish(mut self, end_ns: u64) -> results::Timeline {
        let n = (end_ns.saturating_sub(self.start_ns)).div_ceil(self.interval_ns) as usize;
        self.buckets.resize(n.max(self.buckets.len().min(n + 1)), 0);
        results::Timeline {
            interval_s: self.interval_ns as f64 / 1e9,
            bytes: self.buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_bytes_by_completion_time_and_merges() {
        let mut a = TimelineRecorder::new(1_000, 100, 1000);
        a.record(1_000, 5);
        a.record(1_099, 5);
        a.record(1_100, 7);
        a.record(1_350, 1);
        let mut b = TimelineRecorder::new(1_000, 100, 1000);
        b.record(1_050, 100);
        a.merge(&b);
        let t = a.finish(1_400);
        assert_eq!(t.bytes, vec![110, 7, 0, 1]);
        assert!((t.interval_s - 1e-7).abs() < 1e-12);
    }
}
