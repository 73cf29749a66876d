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

/// The consumers' figures added up, in the consumers' order.
struct Totals {
    latency: Hist,
    timeline: TimelineRecorder,
    bytes: u64,
    records: u64,
    fetches: u64,
    batches: u64,
    user: f64,
    sys: f64,
    cs: u64,
    sink_user: f64,
    sink_sys: f64,
    sink_bytes: u64,
    verified: u64,
    verify_errors: u64,
    consumer_bytes: Vec<Vec<u64>>,
    threads: Vec<ThreadStats>,
    interrupted: bool,
    passes: u32,
}

impl Totals {
    /// Adds up `outs`: histograms merged, timelines shifted onto the repetition's `start`,
    /// counters and CPU summed, each consumer's bytes kept per group.
    fn of(cfg: &ReadConfig, start: u64, outs: Vec<ConsumerOut>) -> Self {
        let mut t = Totals {
            latency: hist::new_hist(),
            timeline: TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, 0),
            bytes: 0,
            records: 0,
            fetches: 0,
            batches: 0,
            user: 0.0,
            sys: 0.0,
            cs: 0,
            sink_user: 0.0,
            sink_sys: 0.0,
            sink_bytes: 0,
            verified: 0,
            verify_errors: 0,
            consumer_bytes: vec![vec![0u64; cfg.consumers as usize]; cfg.groups as usize],
            threads: Vec::new(),
            interrupted: false,
            passes: u32::MAX,
        };
        for (k, o) in outs.into_iter().enumerate() {
            // Same bounds on every histogram: add cannot fail.
            let _ = t.latency.add(&o.latency);
            let mut shifted = TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, 0);
            let tl = o.timeline.finish(o.end_ns);
            for (i, b) in tl.bytes.iter().enumerate() {
                shifted.record(o.start_ns + i as u64 * DEFAULT_INTERVAL_NS, *b);
            }
            t.timeline.merge(&shifted);
            t.bytes += o.bytes;
            t.records += o.records;
            t.fetches += o.fetches;
            t.batches += o.batches;
            t.user += o.cpu.user_s;
            t.sys += o.cpu.sys_s;
            t.cs += o.cpu.context_switches;
            t.sink_user += o.summary.cpu_user_s;
            t.sink_sys += o.summary.cpu_sys_s;
            t.sink_bytes += o.summary.bytes;
            t.verified += o.summary.batches;
            t.verify_errors += o.summary.verify_errors;
            t.consumer_bytes[o.group as usize][o.consumer as usize] = o.bytes;
            t.interrupted |= o.interrupted;
            t.passes = t.passes.min(o.complete_passes);
            t.threads.push(ThreadStats {
                index: k as u32,
                bytes: o.bytes,
                cpu_user_s: o.cpu.user_s,
                cpu_sys_s: o.cpu.sys_s,
            });
        }
        t
    }

    /// The read figures of the repetition (the sink's CPU and bytes, the consumers' spread,
    /// the verification), taking the per-consumer bytes.
    fn figures(
        &mut self,
        cfg: &ReadConfig,
        log: &LogSet,
        process_cpu: &CpuSnapshot,
    ) -> ReadFigures {
        let per_gb = |cpu: f64| results::stats::cpu_s_per_gb(cpu, self.bytes);
        let consumer_bytes = std::mem::take(&mut self.consumer_bytes);
        let all: Vec<u64> = consumer_bytes.iter().flatten().copied().collect();
        let mean = all.iter().sum::<u64>() as f64 / all.len().max(1) as f64;
        let skew = (mean > 0.0).then(|| all.iter().copied().max().unwrap_or(0) as f64 / mean);
        let idle = assign(log, cfg.consumers)
            .iter()
            .filter(|a| a.is_empty())
            .count();
        ReadFigures {
            sink_cpu_user_s: Some(self.sink_user),
            sink_cpu_sys_s: Some(self.sink_sys),
            sink_cpu_s_per_gb: per_gb(self.sink_user + self.sink_sys),
            sink_bytes: Some(self.sink_bytes),
            process_cpu_s: Some(process_cpu.user_s + process_cpu.sys_s),
            consumer_threads_cpu_s: Some(self.user + self.sys),
            consumer_bytes,
            idle_consumers: Some(idle as u64),
            consumer_skew: skew,
            groups: Some(cfg.groups),
            consumers: Some(cfg.consumers),
            kafka_batches: Some(self.batches),
            complete_passes: Some(if self.passes == u32::MAX {
                0
            } else {
                self.passes
            }),
            verified_batches: cfg.verify.then_some(self.verified),
            verify_errors: cfg.verify.then_some(self.verify_errors),
            residency_before_ratio: None,
        }
    }

    /// The sending side's CPU (user, sys): the whole process, less the in-process sink's
    /// threads; with a remote sink, the whole process.
    fn sender_cpu(&self, sink: &SinkTarget, process_cpu: &CpuSnapshot) -> (f64, f64) {
        if sink.remote {
            (process_cpu.user_s, process_cpu.sys_s)
        } else {
            (
                (process_cpu.user_s - self.sink_user).max(0.0),
                (process_cpu.sys_s - self.sink_sys).max(0.0),
            )
        }
    }
}

/// What the machine measured around a repetition, beside the consumers' own figures.
pub(super) struct AroundRun {
    /// The process's CPU over the repetition.
    pub(super) process_cpu: CpuSnapshot,
    /// Bytes read from storage over the repetition (`/proc/self/io`), when known.
    pub(super) storage_io_bytes: Option<u64>,
    /// Capabilities of the engine that ran.
    pub(super) caps: Caps,
    /// Verification failures ([`check_sessions`]).
    pub(super) check_failures: Vec<String>,
}

/// One repetition's [`ReadMeasure`]: the consumers' figures added up, over the time from the
/// first consumer's start to the last one's end, with the read figures in `extra`.
pub(super) fn assemble(
    cfg: &ReadConfig,
    log: &LogSet,
    sink: &SinkTarget,
    outs: Vec<ConsumerOut>,
    around: AroundRun,
) -> ReadMeasure {
    let start = outs.iter().map(|o| o.start_ns).min().unwrap_or(0);
    let end = outs.iter().map(|o| o.end_ns).max().unwrap_or(start);
    let mut t = Totals::of(cfg, start, outs);
    let elapsed_s = end.saturating_sub(start) as f64 / 1e9;
    let per_s = |x: u64| {
        if elapsed_s > 0.0 {
            x as f64 / elapsed_s
        } else {
            0.0
        }
    };
    let bytes = t.bytes;
    let per_gb = |cpu: f64| results::stats::cpu_s_per_gb(cpu, bytes);
    let (sender_user, sender_sys) = t.sender_cpu(sink, &around.process_cpu);
    let mut extra = BTreeMap::new();
    t.figures(cfg, log, &around.process_cpu)
        .insert_into(&mut extra);
    let repetition = Repetition {
        index: 0,
        bytes,
        records: t.records,
        batches: t.fetches,
        elapsed_s,
        throughput_bytes_per_s: per_s(bytes),
        records_per_s: per_s(t.records),
        cpu_user_s: sender_user,
        cpu_sys_s: sender_sys,
        cpu_s_per_gb: per_gb(sender_user + sender_sys),
        device_bytes: None,
        storage_io_bytes: around.storage_io_bytes,
        latency_ns: hist::summarize(&t.latency),
        flush_latency_ns: None,
        roll_latency_ns: None,
        timeline: t.timeline.finish(end),
        threads: t.threads,
        context_switches: Some(t.cs),
        harness_overhead_ratio: None,
        extra,
        nic_traffic: Vec::new(),
    };
    ReadMeasure {
        repetition,
        caps: around.caps,
        check_failures: around.check_failures,
        interrupted: t.interrupted,
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
