//! The measured loop: one producer thread sends a batch to each partition in turn and waits
//! for its acknowledgement as the acks mode says (acks=0: the send; acks=1: the leader's
//! answer; acks=all: the answer, then the partition's HW reaching the batch's end).
//! Closed loop (default): the clock is read once per produce, the read that ends one produce
//! starts the next. Open loop (`rate`): each batch is due when the bytes before it, at the
//! rate, have been sent (the write runner's [`Pacer`]); its latency runs from that intended
//! start, so a stall is charged to every batch it delayed, not only to the one it hit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::time::Duration;

use results::hist::{self, Hist};
use workloads::kafka::batch::encode_batch;
use workloads::pacing::{wait_until, Clock, Pacer};
use workloads::payload::{PayloadPool, DEFAULT_POOL_BYTES};

use super::consumer::Produced;
use super::isr::Shared;
use super::leader::{Produce, ProduceReply};
use super::{Acks, ReplicaConfig, Shape, RETRY_BACKOFF};
use crate::runner::timeline::{TimelineRecorder, DEFAULT_INTERVAL_NS};

/// What the producer measured.
pub struct ProducerResult {
    /// Latency of each acknowledged produce, ns.
    pub latency: Hist,
    /// acks=all only: each acknowledged produce's latency up to the leader's append (its
    /// acks=1 moment, on the leader's read of the same clock), ns. Empty for acks 0 and 1.
    pub leader_append: Hist,
    /// Acknowledged bytes over time.
    pub timeline: TimelineRecorder,
    /// Bytes acknowledged.
    pub bytes: u64,
    /// Batches acknowledged.
    pub batches: u64,
    /// acks=all produces refused with NotEnoughReplicas.
    pub not_enough_replicas: u64,
    /// First and last clock reads of the measured loop.
    pub start_ns: u64,
    /// See `start_ns`.
    pub end_ns: u64,
    /// CPU of the thread, seconds.
    pub cpu: crate::usage::CpuSnapshot,
}

/// Waits until partition `p`'s HW reaches `end` (false when stopped first).
fn wait_for_hw(shared: &Shared, p: usize, end: i64, stop: &AtomicBool) -> bool {
    let mut st = shared.lock();
    while st.parts[p].hw < end {
        if stop.load(Ordering::Acquire) {
            return false;
        }
        st = shared
            .hw
            .wait_timeout(st, Duration::from_millis(10))
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    true
}

/// One producer's share of the workload: producer `id` of `--producers N` owns partitions
/// `id, id + N, …` (so each partition's batches come from one producer, in order), their
/// share of `--size` and of `--rate`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerPlan {
    /// Its number, 0-based (the leader answers it on its own channel).
    pub id: usize,
    /// The partitions it sends to in turn.
    pub partitions: Vec<u32>,
    /// Its byte budget.
    pub size: Option<u64>,
    /// Its open-loop rate, bytes/s.
    pub rate: Option<f64>,
}

impl ProducerPlan {
    /// The plans of `cfg.producers` producers.
    pub fn all(cfg: &ReplicaConfig) -> Vec<ProducerPlan> {
        let n = cfg.producers.max(1);
        (0..n)
            .map(|id| {
                let partitions: Vec<u32> = (id..cfg.partitions).step_by(n as usize).collect();
                let share = partitions.len() as f64 / f64::from(cfg.partitions);
                ProducerPlan {
                    id: id as usize,
                    size: cfg.size.map(|s| {
                        (u128::from(s) * partitions.len() as u128 / u128::from(cfg.partitions))
                            as u64
                    }),
                    rate: cfg.rate.map(|r| r * share),
                    partitions,
                }
            })
            .collect()
    }

    /// Batches each partition gets when every producer sends its whole budget of
    /// `batch_bytes` batches (whole batches until at least the budget, dealt in turn).
    pub fn batches_per_partition(cfg: &ReplicaConfig, batch_bytes: usize) -> Vec<u64> {
        let mut out = vec![0u64; cfg.partitions as usize];
        for plan in Self::all(cfg) {
            let n = plan.size.unwrap_or(0).div_ceil(batch_bytes as u64);
            let k = plan.partitions.len() as u64;
            for (j, &p) in plan.partitions.iter().enumerate() {
                out[p as usize] = n / k + u64::from((j as u64) < n % k);
            }
        }
        out
    }
}

impl ProducerResult {
    /// Adds another producer's figures (timelines on the same base) to these.
    pub fn merge(&mut self, o: &ProducerResult) {
        let _ = self.latency.add(&o.latency);
        let _ = self.leader_append.add(&o.leader_append);
        self.timeline.merge(&o.timeline);
        self.bytes += o.bytes;
        self.batches += o.batches;
        self.not_enough_replicas += o.not_enough_replicas;
        self.start_ns = self.start_ns.min(o.start_ns);
        self.end_ns = self.end_ns.max(o.end_ns);
        self.cpu.user_s += o.cpu.user_s;
        self.cpu.sys_s += o.cpu.sys_s;
        self.cpu.context_switches += o.cpu.context_switches;
    }
}

impl ProducerResult {
    /// Records a produce of `len` bytes started at `t0` and acknowledged at `now` (the
    /// leader's append at `appended_ns`, acks=all).
    fn acknowledged(&mut self, len: u64, t0: u64, now: u64, appended_ns: Option<u64>) {
        hist::record(&mut self.latency, now - t0);
        if let Some(at) = appended_ns {
            hist::record(&mut self.leader_append, at.saturating_sub(t0));
        }
        self.timeline.record(now, len);
        self.bytes += len;
        self.batches += 1;
    }
}

/// The batch a produce carries: encoded from `pool` (base offset 0: the leader assigns it),
/// or empty when the leader serves a pre-written log (no pool: the produce names its next batch).
fn encode(
    pool: Option<&mut PayloadPool>,
    cfg: &ReplicaConfig,
    shape: Shape,
    ts_ms: i64,
) -> Vec<u8> {
    match pool {
        None => Vec::new(),
        Some(pool) => {
            let mut batch = vec![0u8; shape.batch_bytes];
            encode_batch(
                &mut batch,
                0,
                ts_ms,
                shape.records_per_batch,
                cfg.record_size,
                pool,
            );
            batch
        }
    }
}

/// What became of one produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Acknowledged as the acks mode says; acks=all also gives the leader's append moment.
    Acked {
        /// The leader's clock at the append (acks=all only).
        appended_ns: Option<u64>,
    },
    /// Refused: NotEnoughReplicas (acks=all).
    Refused,
    /// The leader went away, or the run stopped while waiting for the HW.
    Unanswered,
}

/// Waits for the answer `acks` asks for to a produce to partition `p`: none (acks=0), the
/// leader's append (acks=1), or the append and then the partition's HW reaching the batch's
/// end (acks=all).
fn wait_for_ack(
    shared: &Shared,
    acks: Acks,
    replies: &Receiver<ProduceReply>,
    p: u32,
    stop: &AtomicBool,
) -> Answer {
    let acked = |ok: bool, appended_ns| {
        if ok {
            Answer::Acked { appended_ns }
        } else {
            Answer::Unanswered
        }
    };
    match acks {
        Acks::Zero => acked(true, None),
        Acks::One => acked(replies.recv().is_ok_and(|r| r.is_ok()), None),
        Acks::All => match replies.recv() {
            Ok(Ok(a)) => acked(wait_for_hw(shared, p as usize, a.end, stop), Some(a.at_ns)),
            Ok(Err(_)) => Answer::Refused,
            Err(_) => Answer::Unanswered,
        },
    }
}

/// Produces `plan`'s share until its byte budget, the deadline or `stop`, announcing each
/// batch to the end-to-end consumer on `announce`; `base_ns` is every producer's timeline start.
#[allow(clippy::too_many_arguments)]
pub fn run_producer(
    shared: &Shared,
    cfg: &ReplicaConfig,
    shape: Shape,
    plan: &ProducerPlan,
    base_ns: u64,
    requests: SyncSender<Produce>,
    replies: Receiver<ProduceReply>,
    announce: &Sender<Produced>,
    stop: &AtomicBool,
    clock: &dyn Clock,
) -> ProducerResult {
    let cpu0 = crate::usage::CpuSnapshot::thread();
    let len = shape.batch_bytes;
    // A null-engine leader serves batches written before the clock started: nothing to encode.
    let mut payload =
        (!cfg.prewritten()).then(|| PayloadPool::new(DEFAULT_POOL_BYTES, 0x5eb0_0015));
    let wall0_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let start_ns = clock.now_ns();
    let deadline = cfg.duration.map(|d| base_ns + d.as_nanos() as u64);
    let expected = cfg.duration.map_or(10_000_000_000, |d| d.as_nanos() as u64);
    let mut out = ProducerResult {
        latency: hist::new_hist(),
        leader_append: hist::new_hist(),
        timeline: TimelineRecorder::new(base_ns, DEFAULT_INTERVAL_NS, expected),
        bytes: 0,
        batches: 0,
        not_enough_replicas: 0,
        start_ns,
        end_ns: start_ns,
        cpu: crate::usage::CpuSnapshot::default(),
    };
    let mut pacer = plan.rate.map(|r| Pacer::new(start_ns, r));
    let mut sent = 0u64;
    // The offset after each partition's last accepted batch, for the consumer's announcements.
    let mut ends = vec![0i64; cfg.partitions as usize];
    let records = i64::from(shape.records_per_batch);
    let mut now = start_ns;
    let mut turn = 0usize;
    while !stop.load(Ordering::Relaxed)
        && !deadline.is_some_and(|d| now >= d)
        && !plan.size.is_some_and(|b| sent >= b)
        && !plan.partitions.is_empty()
    {
        let p = plan.partitions[turn];
        let t0 = match pacer.as_mut() {
            Some(pacer) => {
                let due = pacer.next_due(len as u64);
                // Never wait past the run's end; a stop request ends the wait within a slice.
                now = wait_until(clock, deadline.map_or(due, |d| d.min(due)), stop);
                if now < due {
                    break;
                }
                due
            }
            None => now,
        };
        let ts_ms = wall0_ms + ((now - start_ns) / 1_000_000) as i64;
        let req = Produce {
            partition: p,
            batch: encode(payload.as_mut(), cfg, shape, ts_ms),
            records: shape.records_per_batch,
            max_timestamp_ms: ts_ms,
            acks: cfg.acks,
            producer: plan.id,
        };
        ends[p as usize] += records;
        let _ = announce.send(Produced::Sent {
            partition: p,
            end: ends[p as usize],
            start_ns: t0,
        });
        if requests.send(req).is_err() {
            break; // the leader stopped (its error is reported by the repetition)
        }
        sent += len as u64;
        let answer = wait_for_ack(shared, cfg.acks, &replies, p, stop);
        if answer == Answer::Refused {
            ends[p as usize] -= records;
            let _ = announce.send(Produced::Refused { partition: p });
            out.not_enough_replicas += 1;
            std::thread::sleep(RETRY_BACKOFF);
        }
        now = clock.now_ns();
        if let Answer::Acked { appended_ns } = answer {
            out.acknowledged(len as u64, t0, now, appended_ns);
        }
        turn = (turn + 1) % plan.partitions.len();
    }
    out.end_ns = now;
    out.cpu = crate::usage::CpuSnapshot::thread().since(&cpu0);
    out
}
