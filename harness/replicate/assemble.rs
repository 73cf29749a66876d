//! A replication repetition's figures: what every role's thread gave (`Finished`) and the
//! replica state at the end turned into a [`Repetition`] — the producer's figures as any
//! runner's, the replication ones a [`ReplicationFigures`] kept in `extra`, one function per
//! group of them.

use std::collections::BTreeMap;

use results::figures::{
    ExtraFigures, IsrChangeKind, IsrEventFigure, LagPoint, LostFollower, ReplicationFigures,
};
use results::hist::{self, Hist};
use results::{Repetition, ThreadStats};

use super::consumer::ConsumerResult;
use super::isr::ReplicaState;
use super::lag::LagResult;
use super::producer::ProducerResult;
use super::serve::Served;
use super::wire::FollowerReport;
use super::{ReplicaConfig, Shape};
use crate::usage::CpuSnapshot;

/// What every role of a repetition gave, each thread joined and none failed.
pub(super) struct Finished {
    /// The producers' figures, merged.
    pub(super) produced: ProducerResult,
    /// The process's CPU from the start of the run to the producers' end.
    pub(super) cpu: CpuSnapshot,
    /// Largest leader LEO − follower LEO when the producers stopped.
    pub(super) lag_end: i64,
    /// Bytes the leader appended.
    pub(super) leader_bytes: u64,
    /// CPU of the leader's request loop, seconds.
    pub(super) leader_cpu_s: f64,
    /// The leader's flushes.
    pub(super) leader_flushes: Hist,
    /// Bytes written before the clock started (`--leader-engine null` only).
    pub(super) prewritten_bytes: Option<u64>,
    /// Followers (unpaused, connected) still behind after the drain.
    pub(super) behind: Vec<u32>,
    /// When the last live follower reached the leader's end, if it did (leader's clock).
    pub(super) caught_up_ns: Option<u64>,
    /// What serving each follower gave, follower 1 first.
    pub(super) by_follower: Vec<Served>,
    /// The end-to-end consumer's figures (none with `--no-consumer`).
    pub(super) consumed: Option<ConsumerResult>,
    /// What the lag sampler saw.
    pub(super) lag: LagResult,
}

impl Finished {
    /// Seconds from the producers' start to `ns` (leader's clock).
    fn since_start(&self, ns: u64) -> f64 {
        (ns as f64 - self.produced.start_ns as f64) / 1e9
    }
}

/// The repetition `f` measured, of `cfg` with `shape`; `st` is the replica state at the
/// end, `lost` the followers whose connection was lost and why.
pub(super) fn assemble(
    cfg: &ReplicaConfig,
    shape: Shape,
    f: Finished,
    st: &ReplicaState,
    lost: &[(u32, String)],
) -> Repetition {
    let mut figures = ReplicationFigures {
        replication_factor: cfg.rf,
        min_insync_replicas: Some(cfg.min_insync),
        acks: Some(cfg.acks.to_string()),
        not_enough_replicas: f.produced.not_enough_replicas,
        producer_cpu_s: Some(f.produced.cpu.user_s + f.produced.cpu.sys_s),
        ..ReplicationFigures::default()
    };
    leader(&mut figures, &f);
    isr(&mut figures, &f, st);
    lag(&mut figures, &f, st);
    followers(&mut figures, &f, lost);
    consumer(&mut figures, &f);
    let mut extra = BTreeMap::new();
    figures.insert_into(&mut extra);
    let produced = f.produced;
    let elapsed_s = (produced.end_ns - produced.start_ns) as f64 / 1e9;
    let per_s = |x: u64| {
        if elapsed_s > 0.0 {
            x as f64 / elapsed_s
        } else {
            0.0
        }
    };
    let records = produced.batches * u64::from(shape.records_per_batch);
    let cpu = f.cpu;
    let cpu_total = cpu.user_s + cpu.sys_s;
    let bytes = produced.bytes;
    Repetition {
        index: 0,
        bytes,
        records,
        batches: produced.batches,
        elapsed_s,
        throughput_bytes_per_s: per_s(bytes),
        records_per_s: per_s(records),
        cpu_user_s: cpu.user_s,
        cpu_sys_s: cpu.sys_s,
        cpu_s_per_gb: results::stats::cpu_s_per_gb(cpu_total, bytes),
        device_bytes: None,
        storage_io_bytes: None,
        latency_ns: hist::summarize(&produced.latency),
        flush_latency_ns: (!f.leader_flushes.is_empty())
            .then(|| hist::summarize(&f.leader_flushes)),
        roll_latency_ns: None,
        timeline: produced.timeline.finish(produced.end_ns),
        threads: vec![ThreadStats {
            index: 0,
            bytes,
            cpu_user_s: produced.cpu.user_s,
            cpu_sys_s: produced.cpu.sys_s,
        }],
        context_switches: Some(cpu.context_switches),
        harness_overhead_ratio: None,
        extra,
        nic_traffic: Vec::new(),
    }
}

/// The leader's bytes, its pre-written log, its append latency (acks=all) and its CPU (the
/// request loop and the fetch serving).
fn leader(figures: &mut ReplicationFigures, f: &Finished) {
    figures.leader_bytes = Some(f.leader_bytes);
    figures.leader_prewritten_bytes = f.prewritten_bytes;
    figures.leader_append_latency_ns =
        (!f.produced.leader_append.is_empty()).then(|| hist::summarize(&f.produced.leader_append));
    figures.leader_cpu_s =
        Some(f.leader_cpu_s + f.by_follower.iter().map(|f| f.cpu_s).sum::<f64>());
}

/// The ISR's changes and the high watermark's violations.
fn isr(figures: &mut ReplicationFigures, f: &Finished, st: &ReplicaState) {
    figures.isr_events = st
        .events
        .iter()
        .map(|e| IsrEventFigure {
            at_s: f.since_start(e.at_ns),
            partition: u64::from(e.partition),
            follower: u64::from(e.follower) + 1,
            change: if e.shrink {
                IsrChangeKind::Shrink
            } else {
                IsrChangeKind::Expand
            },
        })
        .collect();
    figures.isr_shrinks = st.events.iter().filter(|e| e.shrink).count() as u64;
    figures.isr_expands = st.events.iter().filter(|e| !e.shrink).count() as u64;
    figures.high_watermark_violations = Some(st.hw_violations);
}

/// The followers' lag, in offsets and in time.
fn lag(figures: &mut ReplicationFigures, f: &Finished, st: &ReplicaState) {
    figures.follower_lag_end_offsets = Some(f.lag_end);
    figures.follower_lag_max_offsets = Some(st.max_lag);
    figures.follower_lag_time_ns = Some(hist::summarize(&f.lag.time_lag));
    figures.follower_lag_time_max_ns = f.lag.max_ns.clone();
    figures.follower_lag_timeline = f
        .lag
        .timeline
        .iter()
        .map(|p| LagPoint {
            at_s: f.since_start(p.at_ns),
            offsets: p.offsets.clone(),
            ms: p.ms.clone(),
        })
        .collect();
}

/// The followers: when they caught up, their flushes, each one's own counts and CPU (as it
/// reported them), what the leader sent each, and the lost.
fn followers(figures: &mut ReplicationFigures, f: &Finished, lost: &[(u32, String)]) {
    figures.followers_caught_up_s = f.caught_up_ns.map(|ns| f.since_start(ns));
    // The followers' flushes, each timed on its own host's clock (durations only), added up.
    let mut follower_flushes = hist::new_hist();
    for r in f.by_follower.iter().filter_map(|f| f.report.as_ref()) {
        if let Some(h) = r
            .flush_latency_hdr
            .as_deref()
            .and_then(|e| hist::decode(e).ok())
        {
            let _ = follower_flushes.add(&h);
        }
    }
    figures.follower_flush_latency_ns =
        (!follower_flushes.is_empty()).then(|| hist::summarize(&follower_flushes));
    // Each follower's own count (None for one that was lost).
    let reported = |count: fn(&FollowerReport) -> u64| {
        f.by_follower
            .iter()
            .map(|f| f.report.as_ref().map(count))
            .collect::<Vec<_>>()
    };
    figures.follower_bytes = reported(|r| r.bytes);
    figures.follower_fetches = reported(|r| r.fetches);
    figures.follower_appends = reported(|r| r.appends);
    figures.follower_bytes_sent = f.by_follower.iter().map(|f| f.bytes_sent).collect();
    figures.followers_lost = lost
        .iter()
        .map(|(f, why)| LostFollower {
            follower: *f,
            reason: why.clone(),
        })
        .collect();
    figures.follower_cpu_s = Some(
        f.by_follower
            .iter()
            .filter_map(|f| f.report.as_ref().map(|r| r.cpu_s))
            .sum::<f64>(),
    );
}

/// The end-to-end consumer's latency, bytes and CPU (none with `--no-consumer`).
fn consumer(figures: &mut ReplicationFigures, f: &Finished) {
    if let Some(consumed) = &f.consumed {
        figures.e2e_latency_ns = Some(hist::summarize(&consumed.e2e));
        figures.consumer_bytes = Some(consumed.bytes);
        figures.consumer_cpu_s = Some(consumed.cpu_s);
    }
}
