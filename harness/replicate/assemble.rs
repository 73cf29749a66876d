//! A replication repetition's figures: what every role's thread gave (`Finished`) and the
//! replica state at the end turned into a [`Repetition`] — the producer's figures as any
//! runner's, the replication ones in `extra` (keys listed in the [module documentation](super)),
//! one function per group of them.

use std::collections::BTreeMap;

use results::hist::{self, Hist};
use results::{Repetition, ThreadStats};
use serde_json::{json, Value};

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
    let mut extra = BTreeMap::new();
    configuration(&mut extra, cfg);
    producers(&mut extra, &f);
    leader(&mut extra, &f);
    isr(&mut extra, &f, st);
    lag(&mut extra, &f, st);
    followers(&mut extra, &f, lost);
    consumer(&mut extra, &f);
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

/// The configuration measured.
fn configuration(extra: &mut BTreeMap<String, Value>, cfg: &ReplicaConfig) {
    extra.insert("replication_factor".into(), json!(cfg.rf));
    extra.insert("min_insync_replicas".into(), json!(cfg.min_insync));
    extra.insert("acks".into(), json!(cfg.acks.to_string()));
}

/// The producers' refused produces and CPU.
fn producers(extra: &mut BTreeMap<String, Value>, f: &Finished) {
    extra.insert(
        "not_enough_replicas".into(),
        json!(f.produced.not_enough_replicas),
    );
    extra.insert(
        "producer_cpu_s".into(),
        json!(f.produced.cpu.user_s + f.produced.cpu.sys_s),
    );
}

/// The leader's bytes, its pre-written log, its append latency (acks=all) and its CPU (the
/// request loop and the fetch serving).
fn leader(extra: &mut BTreeMap<String, Value>, f: &Finished) {
    extra.insert("leader_bytes".into(), json!(f.leader_bytes));
    if let Some(b) = f.prewritten_bytes {
        extra.insert("leader_prewritten_bytes".into(), json!(b));
    }
    if !f.produced.leader_append.is_empty() {
        extra.insert(
            "leader_append_latency_ns".into(),
            json!(hist::summarize(&f.produced.leader_append)),
        );
    }
    extra.insert(
        "leader_cpu_s".into(),
        json!(f.leader_cpu_s + f.by_follower.iter().map(|f| f.cpu_s).sum::<f64>()),
    );
}

/// The ISR's changes and the high watermark's violations.
fn isr(extra: &mut BTreeMap<String, Value>, f: &Finished, st: &ReplicaState) {
    let events: Vec<Value> = st
        .events
        .iter()
        .map(|e| {
            json!({
                "at_s": f.since_start(e.at_ns),
                "partition": e.partition,
                "follower": e.follower + 1,
                "change": if e.shrink { "shrink" } else { "expand" },
            })
        })
        .collect();
    extra.insert(
        "isr_shrinks".into(),
        json!(st.events.iter().filter(|e| e.shrink).count()),
    );
    extra.insert(
        "isr_expands".into(),
        json!(st.events.iter().filter(|e| !e.shrink).count()),
    );
    extra.insert("isr_events".into(), json!(events));
    extra.insert("high_watermark_violations".into(), json!(st.hw_violations));
}

/// The followers' lag, in offsets and in time.
fn lag(extra: &mut BTreeMap<String, Value>, f: &Finished, st: &ReplicaState) {
    extra.insert("follower_lag_end_offsets".into(), json!(f.lag_end));
    extra.insert("follower_lag_max_offsets".into(), json!(st.max_lag));
    extra.insert(
        "follower_lag_time_ns".into(),
        json!(hist::summarize(&f.lag.time_lag)),
    );
    extra.insert("follower_lag_time_max_ns".into(), json!(f.lag.max_ns));
    let timeline: Vec<Value> = f
        .lag
        .timeline
        .iter()
        .map(|p| json!({"at_s": f.since_start(p.at_ns), "offsets": p.offsets, "ms": p.ms}))
        .collect();
    extra.insert("follower_lag_timeline".into(), json!(timeline));
}

/// The followers: when they caught up, their flushes, each one's own counts and CPU (as it
/// reported them), what the leader sent each, and the lost.
fn followers(extra: &mut BTreeMap<String, Value>, f: &Finished, lost: &[(u32, String)]) {
    extra.insert(
        "followers_caught_up_s".into(),
        json!(f.caught_up_ns.map(|ns| f.since_start(ns))),
    );
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
    if !follower_flushes.is_empty() {
        extra.insert(
            "follower_flush_latency_ns".into(),
            json!(hist::summarize(&follower_flushes)),
        );
    }
    // Each follower's own count (null for one that was lost).
    let reported = |count: fn(&FollowerReport) -> u64| {
        json!(f
            .by_follower
            .iter()
            .map(|f| f.report.as_ref().map(count))
            .collect::<Vec<_>>())
    };
    extra.insert("follower_bytes".into(), reported(|r| r.bytes));
    extra.insert("follower_fetches".into(), reported(|r| r.fetches));
    extra.insert("follower_appends".into(), reported(|r| r.appends));
    extra.insert(
        "follower_bytes_sent".into(),
        json!(f
            .by_follower
            .iter()
            .map(|f| f.bytes_sent)
            .collect::<Vec<_>>()),
    );
    extra.insert(
        "followers_lost".into(),
        json!(lost
            .iter()
            .map(|(f, why)| json!({"follower": f, "reason": why}))
            .collect::<Vec<_>>()),
    );
    extra.insert(
        "follower_cpu_s".into(),
        json!(f
            .by_follower
            .iter()
            .filter_map(|f| f.report.as_ref().map(|r| r.cpu_s))
            .sum::<f64>()),
    );
}

/// The end-to-end consumer's latency, bytes and CPU (none with `--no-consumer`).
fn consumer(extra: &mut BTreeMap<String, Value>, f: &Finished) {
    if let Some(consumed) = &f.consumed {
        extra.insert(
            "e2e_latency_ns".into(),
            json!(hist::summarize(&consumed.e2e)),
        );
        extra.insert("consumer_bytes".into(), json!(consumed.bytes));
        extra.insert("consumer_cpu_s".into(), json!(consumed.cpu_s));
    }
}
