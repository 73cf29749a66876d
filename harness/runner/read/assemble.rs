//! A read repetition's result: what the sink confirmed checked against what was sent and
//! against the log (`check_sessions`), the consumers' figures added up into a
//! [`Repetition`] (`assemble`), and what a finished workload measures (`classify`).

use std::collections::BTreeMap;

use results::figures::{ExtraFigures, ReadFigures};
use results::hist::{self, Hist};
use results::{Medium, Repetition, ThreadStats};
use workloads::read::Caps;

use super::config::{CacheMode, ReadConfig, SinkTarget};
use super::logset::{assign, LogSet};
use crate::runner::timeline::{TimelineRecorder, DEFAULT_INTERVAL_NS};
use crate::sink::protocol::SessionSummary;
use crate::usage::CpuSnapshot;

/// What one repetition measured.
#[derive(Debug, Clone)]
pub struct ReadMeasure {
    /// The figures.
    pub repetition: Repetition,
    /// Capabilities of the engine that ran.
    pub caps: Caps,
    /// Verification failures, each naming the segment file and byte position.
    pub check_failures: Vec<String>,
    /// True when stopped early by the stop flag.
    pub interrupted: bool,
}

/// One consumer of one group.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) group: u16,
    pub(super) consumer: u32,
    pub(super) partitions: Vec<usize>,
}

impl Plan {
    /// `g<group>-c<consumer>`.
    pub(super) fn name(&self) -> String {
        format!("g{}-c{}", self.group, self.consumer)
    }
}

pub(super) struct ConsumerOut {
    pub(super) group: u16,
    pub(super) consumer: u32,
    pub(super) bytes: u64,
    pub(super) records: u64,
    pub(super) fetches: u64,
    pub(super) batches: u64,
    pub(super) complete_passes: u32,
    pub(super) interrupted: bool,
    pub(super) latency: Hist,
    pub(super) timeline: TimelineRecorder,
    pub(super) start_ns: u64,
    pub(super) end_ns: u64,
    pub(super) cpu: CpuSnapshot,
    pub(super) summary: SessionSummary,
}

/// Compares what the sink confirmed with what was sent and with the log.
pub(super) fn check_sessions(
    cfg: &ReadConfig,
    log: &LogSet,
    plans: &[Plan],
    outs: &[ConsumerOut],
) -> Vec<String> {
    let mut failures = Vec::new();
    for o in outs {
        let s = &o.summary;
        let who = format!("g{}-c{}", o.group, o.consumer);
        if s.bytes != o.bytes {
            failures.push(format!(
                "consumer {who}: the sink received {} bytes, the reader sent {}",
                s.bytes, o.bytes
            ));
        }
        if !cfg.verify {
            continue;
        }
        if !s.verified {
            failures.push(format!(
                "consumer {who}: the sink did not verify the session"
            ));
        }
        for e in &s.errors {
            let path = log
                .segment_path(e.partition, e.segment_base)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| e.file.clone());
            failures.push(format!(
                "verification failed: {} in {path} at byte {} (group {}, consumer {who})",
                e.reason, e.position, e.group
            ));
        }
        if s.verify_errors > s.errors.len() as u64 {
            failures.push(format!(
                "consumer {who}: {} more verification errors not listed",
                s.verify_errors - s.errors.len() as u64
            ));
        }
        // Every partition read once, whole: the sink saw exactly the log's offsets.
        if cfg.duration.is_none() && !o.interrupted {
            let Some(plan) = plans
                .iter()
                .find(|p| p.group == o.group && p.consumer == o.consumer)
            else {
                continue;
            };
            for &pi in &plan.partitions {
                let p = &log.partitions[pi];
                let st = s
                    .streams
                    .iter()
                    .find(|st| st.group == o.group && st.partition == p.id);
                let (first, next, batches) = st
                    .map(|st| (st.first_offset, st.next_offset, st.batches))
                    .unwrap_or((None, None, 0));
                if first != p.first_offset || next != p.next_offset || batches != p.batches {
                    failures.push(format!(
                        "verification failed: {}-{} (group {}): the sink received {batches} batches, offsets {first:?}..{next:?}; the log holds {} batches, offsets {:?}..{:?}",
                        p.topic, p.partition, o.group, p.batches, p.first_offset, p.next_offset
                    ));
                }
            }
        }
    }
    failures
}

#[allow(clippy::too_many_arguments)]
pub(super) fn assemble(
    cfg: &ReadConfig,
    log: &LogSet,
    sink: &SinkTarget,
    outs: Vec<ConsumerOut>,
    process_cpu: CpuSnapshot,
    storage_io_bytes: Option<u64>,
    caps: Caps,
    check_failures: Vec<String>,
) -> ReadMeasure {
    let start = outs.iter().map(|o| o.start_ns).min().unwrap_or(0);
    let end = outs.iter().map(|o| o.end_ns).max().unwrap_or(start);
    let mut latency = hist::new_hist();
    let mut timeline = TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, 0);
    let (mut bytes, mut records, mut fetches, mut batches) = (0u64, 0u64, 0u64, 0u64);
    let (mut user, mut sys, mut cs) = (0.0, 0.0, 0u64);
    let (mut sink_user, mut sink_sys, mut sink_bytes, mut verified, mut verify_errors) =
        (0.0, 0.0, 0u64, 0u64, 0u64);
    let mut consumer_bytes = vec![vec![0u64; cfg.consumers as usize]; cfg.groups as usize];
    let mut threads = Vec::new();
    let mut interrupted = false;
    let mut passes = u32::MAX;
    for (k, o) in outs.into_iter().enumerate() {
        // Same bounds on every histogram: add cannot fail.
        let _ = latency.add(&o.latency);
        let mut shifted = TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, 0);
        let tl = o.timeline.finish(o.end_ns);
        for (i, b) in tl.bytes.iter().enumerate() {
            shifted.record(o.start_ns + i as u64 * DEFAULT_INTERVAL_NS, *b);
        }
        timeline.merge(&shifted);
        bytes += o.bytes;
        records += o.records;
        fetches += o.fetches;
        batches += o.batches;
        user += o.cpu.user_s;
        sys += o.cpu.sys_s;
        cs += o.cpu.context_switches;
        sink_user += o.summary.cpu_user_s;
        sink_sys += o.summary.cpu_sys_s;
        sink_bytes += o.summary.bytes;
        verified += o.summary.batches;
        verify_errors += o.summary.verify_errors;
        consumer_bytes[o.group as usize][o.consumer as usize] = o.bytes;
        interrupted |= o.interrupted;
        passes = passes.min(o.complete_passes);
        threads.push(ThreadStats {
            index: k as u32,
            bytes: o.bytes,
            cpu_user_s: o.cpu.user_s,
            cpu_sys_s: o.cpu.sys_s,
        });
    }
    let elapsed_s = end.saturating_sub(start) as f64 / 1e9;
    let per_s = |x: u64| {
        if elapsed_s > 0.0 {
            x as f64 / elapsed_s
        } else {
            0.0
        }
    };
    let per_gb = |cpu: f64| results::stats::cpu_s_per_gb(cpu, bytes);
    let all: Vec<u64> = consumer_bytes.iter().flatten().copied().collect();
    let mean = all.iter().sum::<u64>() as f64 / all.len().max(1) as f64;
    let skew = (mean > 0.0).then(|| all.iter().copied().max().unwrap_or(0) as f64 / mean);
    let idle = assign(log, cfg.consumers)
        .iter()
        .filter(|a| a.is_empty())
        .count();

    // The sending side: the whole process, less the in-process sink's threads.
    let (sender_user, sender_sys) = if sink.remote {
        (process_cpu.user_s, process_cpu.sys_s)
    } else {
        (
            (process_cpu.user_s - sink_user).max(0.0),
            (process_cpu.sys_s - sink_sys).max(0.0),
        )
    };
    let figures = ReadFigures {
        sink_cpu_user_s: Some(sink_user),
        sink_cpu_sys_s: Some(sink_sys),
        sink_cpu_s_per_gb: per_gb(sink_user + sink_sys),
        sink_bytes: Some(sink_bytes),
        process_cpu_s: Some(process_cpu.user_s + process_cpu.sys_s),
        consumer_threads_cpu_s: Some(user + sys),
        consumer_bytes,
        idle_consumers: Some(idle as u64),
        consumer_skew: skew,
        groups: Some(cfg.groups),
        consumers: Some(cfg.consumers),
        kafka_batches: Some(batches),
        complete_passes: Some(if passes == u32::MAX { 0 } else { passes }),
        verified_batches: cfg.verify.then_some(verified),
        verify_errors: cfg.verify.then_some(verify_errors),
        residency_before_ratio: None,
    };
    let mut extra = BTreeMap::new();
    figures.insert_into(&mut extra);
    let repetition = Repetition {
        index: 0,
        bytes,
        records,
        batches: fetches,
        elapsed_s,
        throughput_bytes_per_s: per_s(bytes),
        records_per_s: per_s(records),
        cpu_user_s: sender_user,
        cpu_sys_s: sender_sys,
        cpu_s_per_gb: per_gb(sender_user + sender_sys),
        device_bytes: None,
        storage_io_bytes,
        latency_ns: hist::summarize(&latency),
        flush_latency_ns: None,
        roll_latency_ns: None,
        timeline: timeline.finish(end),
        threads,
        context_switches: Some(cs),
        harness_overhead_ratio: None,
        extra,
        nic_traffic: Vec::new(),
    };
    ReadMeasure {
        repetition,
        caps,
        check_failures,
        interrupted,
    }
}

/// What a read result measures, and what may distort it.
pub(crate) fn classify(cfg: &ReadConfig, reps: &[Repetition]) -> (Medium, Vec<String>) {
    let mut warnings = Vec::new();
    let figures: Vec<ReadFigures> = reps.iter().filter_map(ReadFigures::of).collect();
    let residency: Vec<f64> = figures
        .iter()
        .filter_map(|f| f.residency_before_ratio)
        .collect();
    if let Some(f) = figures.first() {
        if let Some(idle) = f.idle_consumers.filter(|&i| i > 0) {
            warnings.push(format!(
                "{idle} of {} consumers in each group were idle: there are fewer partitions than consumers (range assignor)",
                cfg.consumers
            ));
        }
    }
    let medium = match cfg.cache {
        CacheMode::Hot => {
            if let Some(low) = residency
                .iter()
                .copied()
                .reduce(f64::min)
                .filter(|&r| r < 0.9)
            {
                warnings.push(format!(
                    "only {:.0}% of the log was resident before a hot run (memory pressure?): part came from the device",
                    low * 100.0
                ));
            }
            Medium::PageCache
        }
        CacheMode::Cold => {
            let high = residency.iter().copied().reduce(f64::max).unwrap_or(0.0);
            if high > 0.2 {
                warnings.push(format!(
                    "eviction did not take: {:.0}% of the log stayed resident before a cold run (file system without POSIX_FADV_DONTNEED support, or mapped by another process); these are page-cache figures",
                    high * 100.0
                ));
                Medium::PageCache
            } else {
                for r in reps {
                    if let Some(io) = r
                        .storage_io_bytes
                        .filter(|&io| (io as f64) < 0.5 * r.bytes as f64)
                    {
                        warnings.push(format!(
                            "repetition {}: only {:.0} MB of {:.0} MB were read from the device (/proc/self/io)",
                            r.index,
                            io as f64 / 1e6,
                            r.bytes as f64 / 1e6
                        ));
                    }
                }
                Medium::Device
            }
        }
    };
    (medium, warnings)
}
