//! The leader's view of its replicas, per partition, as Kafka's `Partition` keeps it: each
//! follower's log end offset (LEO, the offset of its last fetch) and last caught-up time,
//! the in-sync replica set, and the high watermark = min LEO over the ISR (leader included).
//! Followers leave the ISR when not caught up for `replica.lag.time.max.ms` and rejoin when
//! their LEO reaches the HW. Times are the leader's clock (ns from the runner's clock).

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard};

use workloads::kafka::reader::BatchMap;

/// One leader segment and where its whole batches are.
#[derive(Debug)]
pub struct Segment {
    /// Offset of its first batch.
    pub base_offset: i64,
    /// The `.log` file.
    pub path: PathBuf,
    /// Batches appended so far.
    pub map: BatchMap,
}

/// What the leader knows of one follower of one partition.
#[derive(Debug, Clone)]
pub struct FollowerView {
    /// Offset of the follower's last fetch.
    pub leo: i64,
    /// Kafka's `lastCaughtUpTimeMs`.
    pub last_caught_up_ns: u64,
    /// The leader's LEO when the previous fetch was answered.
    pub last_fetch_leader_leo: i64,
    /// When the previous fetch was answered.
    pub last_fetch_ns: u64,
    /// Member of the ISR.
    pub in_isr: bool,
}

/// One partition on the leader.
#[derive(Debug)]
pub struct PartState {
    /// Segments, oldest first.
    pub segments: Vec<Segment>,
    /// The leader's log end offset.
    pub leo: i64,
    /// High watermark.
    pub hw: i64,
    /// Followers, 0-based (follower 1 is `followers[0]`).
    pub followers: Vec<FollowerView>,
}

impl PartState {
    /// Whether a follower may fetch from `offset`: not negative, not past the log end, and
    /// on a batch boundary (the log end, or a batch's first offset); why not otherwise.
    pub fn check_fetch_offset(&self, offset: i64) -> Result<(), String> {
        if offset < 0 {
            return Err(format!("offset {offset} is negative"));
        }
        if offset > self.leo {
            return Err(format!(
                "offset {offset} is beyond the log end offset {}",
                self.leo
            ));
        }
        if offset == self.leo {
            return Ok(());
        }
        let on_boundary = self
            .segments
            .iter()
            .rev()
            .find(|s| s.base_offset <= offset)
            .is_some_and(|s| {
                s.map
                    .records_before
                    .binary_search(&((offset - s.base_offset) as u64))
                    .is_ok()
            });
        if on_boundary {
            Ok(())
        } else {
            Err(format!(
                "offset {offset} is inside a batch, not where one starts"
            ))
        }
    }

    /// Whole batches from the batch at `offset` (a batch start), at most `max_bytes` (at
    /// least one batch), none ending past offset `upto` (a batch boundary above `offset`).
    fn range(&self, offset: i64, max_bytes: u64, upto: i64) -> Option<FetchRange> {
        let seg = self
            .segments
            .iter()
            .rev()
            .find(|s| s.base_offset <= offset)?;
        let map = &seg.map;
        let k = map
            .records_before
            .binary_search(&((offset - seg.base_offset) as u64))
            .ok()?;
        let start = *map.starts.get(k)?;
        // Batches 0..j end at or below `upto`; batch j (if any) starts where they end.
        let below = (upto - seg.base_offset) as u64;
        let j = map.records_before.partition_point(|&r| r <= below) - 1;
        let upto_end = map.starts.get(j).copied().unwrap_or(map.end);
        Some(FetchRange {
            path: seg.path.clone(),
            base: seg.base_offset,
            start,
            end: map.fetch_end(start, max_bytes).min(upto_end),
        })
    }
}

/// An ISR change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsrEvent {
    /// When, leader's clock, ns.
    pub at_ns: u64,
    /// Partition.
    pub partition: u32,
    /// Follower index, 0-based.
    pub follower: u32,
    /// True: left the ISR; false: rejoined.
    pub shrink: bool,
}

/// A byte range of a leader segment to send to a follower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRange {
    /// Segment file.
    pub path: PathBuf,
    /// The segment's base offset (its file name).
    pub base: i64,
    /// First byte (a batch start).
    pub start: u64,
    /// End (a batch end).
    pub end: u64,
}

/// Every partition's replica state.
#[derive(Debug)]
pub struct ReplicaState {
    /// Per partition.
    pub parts: Vec<PartState>,
    /// ISR changes, in order.
    pub events: Vec<IsrEvent>,
    /// HW updates that left the HW above an in-sync follower's LEO (must stay 0).
    pub hw_violations: u64,
    /// Largest leader LEO − fetch offset seen at a fetch.
    pub max_lag: i64,
    /// `replica.lag.time.max.ms`, ns.
    lag_time_ns: u64,
}

impl ReplicaState {
    /// `partitions` empty partitions with `followers` followers each, all in sync at `now_ns`.
    pub fn new(partitions: u32, followers: u32, lag_time_ns: u64, now_ns: u64) -> Self {
        let view = FollowerView {
            leo: 0,
            last_caught_up_ns: now_ns,
            last_fetch_leader_leo: 0,
            last_fetch_ns: now_ns,
            in_isr: true,
        };
        ReplicaState {
            parts: (0..partitions)
                .map(|_| PartState {
                    segments: Vec::new(),
                    leo: 0,
                    hw: 0,
                    followers: vec![view.clone(); followers as usize],
                })
                .collect(),
            events: Vec::new(),
            hw_violations: 0,
            max_lag: 0,
            lag_time_ns,
        }
    }

    /// Replicas in the ISR of partition `p`, the leader included.
    pub fn isr_size(&self, p: usize) -> u32 {
        1 + self.parts[p].followers.iter().filter(|f| f.in_isr).count() as u32
    }

    /// Books a batch the leader appended to partition `p`: `records` records, `len` bytes at
    /// `position` of the segment whose base offset is `segment_base` (a new one when it
    /// differs from the last).
    pub fn appended(
        &mut self,
        p: usize,
        segment_base: i64,
        path: &std::path::Path,
        position: u64,
        len: u64,
        records: u32,
    ) {
        let part = &mut self.parts[p];
        if part.segments.last().map(|s| s.base_offset) != Some(segment_base) {
            part.segments.push(Segment {
                base_offset: segment_base,
                path: path.to_path_buf(),
                map: BatchMap::empty(),
            });
        }
        let leo = part.leo;
        if let Some(seg) = part.segments.last_mut() {
            let map = &mut seg.map;
            debug_assert_eq!(map.end, position, "batches are appended back to back");
            map.starts.push(position);
            map.end = position + len;
            let before = map.records_before.last().copied().unwrap_or(0);
            map.records_before.push(before + u64::from(records));
            map.first_offset.get_or_insert(leo);
            map.next_offset = Some(leo + i64::from(records));
        }
        part.leo += i64::from(records);
        self.update_hw(p);
    }

    /// A fetch by follower `f` of partition `p` from `offset` at `now_ns`: records the
    /// follower's LEO and caught-up time (Kafka's `Replica.updateFetchState`), may move the
    /// HW or add the follower back to the ISR, and returns the whole batches to send (at most
    /// `max_bytes`, at least one batch), or `None` when the follower is at the leader's end.
    pub fn fetch(
        &mut self,
        p: usize,
        f: usize,
        offset: i64,
        max_bytes: u64,
        now_ns: u64,
    ) -> Option<FetchRange> {
        let part = &mut self.parts[p];
        let leader_leo = part.leo;
        let view = &mut part.followers[f];
        if offset >= leader_leo {
            view.last_caught_up_ns = now_ns;
        } else if offset >= view.last_fetch_leader_leo {
            view.last_caught_up_ns = view.last_caught_up_ns.max(view.last_fetch_ns);
        }
        view.last_fetch_leader_leo = leader_leo;
        view.last_fetch_ns = now_ns;
        view.leo = offset;
        self.max_lag = self.max_lag.max(leader_leo - offset);
        if !view.in_isr && offset >= part.hw {
            view.in_isr = true;
            self.events.push(IsrEvent {
                at_ns: now_ns,
                partition: p as u32,
                follower: f as u32,
                shrink: false,
            });
        }
        self.update_hw(p);
        if offset >= leader_leo {
            return None;
        }
        self.parts[p].range(offset, max_bytes, leader_leo)
    }

    /// What a consumer fetching partition `p` from `offset` gets: whole batches below the
    /// high watermark only (as Kafka serves consumers), at most `max_bytes` (at least one
    /// batch); `None` when `offset` is at the HW. Changes nothing.
    pub fn committed_range(&self, p: usize, offset: i64, max_bytes: u64) -> Option<FetchRange> {
        let part = &self.parts[p];
        if offset >= part.hw {
            return None;
        }
        part.range(offset, max_bytes, part.hw)
    }

    /// Removes from the ISR every follower not caught up for the lag time (Kafka's
    /// `maybeShrinkIsr`); returns whether anything changed.
    pub fn shrink_isr(&mut self, now_ns: u64) -> bool {
        let mut changed = false;
        for p in 0..self.parts.len() {
            let lag = self.lag_time_ns;
            let part = &mut self.parts[p];
            for (f, view) in part.followers.iter_mut().enumerate() {
                if view.in_isr
                    && view.leo < part.leo
                    && now_ns.saturating_sub(view.last_caught_up_ns) > lag
                {
                    view.in_isr = false;
                    changed = true;
                    self.events.push(IsrEvent {
                        at_ns: now_ns,
                        partition: p as u32,
                        follower: f as u32,
                        shrink: true,
                    });
                }
            }
            if changed {
                self.update_hw(p);
            }
        }
        changed
    }

    /// HW = max(HW, min LEO over the ISR, leader included); it never moves back. Checks
    /// the invariant the acks=all guarantee rests on: HW ≤ every in-sync follower's LEO.
    fn update_hw(&mut self, p: usize) {
        let part = &mut self.parts[p];
        let min = part
            .followers
            .iter()
            .filter(|f| f.in_isr)
            .map(|f| f.leo)
            .fold(part.leo, i64::min);
        part.hw = part.hw.max(min);
        if part.followers.iter().any(|f| f.in_isr && f.leo < part.hw) {
            self.hw_violations += 1;
        }
    }

    /// Follower `f`'s lag now, the largest over partitions: in offsets (leader LEO − its
    /// LEO) and in time (ns since its LEO last reached the leader's, Kafka's
    /// `lastCaughtUpTimeMs`; 0 while caught up), both on the leader's clock.
    pub fn follower_lag(&self, f: usize, now_ns: u64) -> (i64, u64) {
        self.parts.iter().fold((0, 0), |(offsets, ns), p| {
            let v = &p.followers[f];
            let behind = p.leo - v.leo;
            let since = if behind > 0 {
                now_ns.saturating_sub(v.last_caught_up_ns)
            } else {
                0
            };
            (offsets.max(behind), ns.max(since))
        })
    }

    /// Largest leader LEO − follower LEO now, over partitions and followers.
    pub fn lag_now(&self) -> i64 {
        self.parts
            .iter()
            .flat_map(|p| p.followers.iter().map(move |f| p.leo - f.leo))
            .max()
            .unwrap_or(0)
    }
}

/// The replica state shared by the roles, with the two wake-ups: `data` (the leader appended:
/// long-polling fetches re-check) and `hw` (a HW or the ISR moved: acks=all produces re-check).
#[derive(Debug)]
pub struct Shared {
    state: Mutex<ReplicaState>,
    /// Signalled after every leader append.
    pub data: Condvar,
    /// Signalled when a HW or the ISR may have moved.
    pub hw: Condvar,
}

impl Shared {
    /// Wraps `state`.
    pub fn new(state: ReplicaState) -> Self {
        Shared {
            state: Mutex::new(state),
            data: Condvar::new(),
            hw: Condvar::new(),
        }
    }

    /// Locks the state (a poisoned lock — a role panicked — is taken over as is).
    pub fn lock(&self) -> MutexGuard<'_, ReplicaState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
