//! A write repetition's figures: the runner threads' counters, histograms, timelines and CPU
//! added up into a [`Repetition`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use results::figures::{ExtraFigures, WriteFigures};
use results::hist::{self, Hist};
use results::{LatencySummary, Repetition};
use workloads::write::Caps;

use crate::runner::timeline::{TimelineRecorder, DEFAULT_INTERVAL_NS};
use crate::usage::{CpuSnapshot, StorageIo};

use super::thread::ThreadResult;
use super::SLOW_FLUSH_NS;

/// What one repetition measured.
#[derive(Debug, Clone)]
pub struct RepMeasure {
    /// The figures.
    pub repetition: Repetition,
    /// Capabilities of the engine that ran.
    pub caps: Caps,
    /// The partition directories written.
    pub partition_dirs: Vec<PathBuf>,
    /// True when stopped early by the stop flag.
    pub interrupted: bool,
}

fn opt_summary(h: &Hist) -> Option<LatencySummary> {
    (!h.is_empty()).then(|| hist::summarize(h))
}

pub(super) fn assemble(
    results: Vec<ThreadResult>,
    cpu: CpuSnapshot,
    io0: Option<StorageIo>,
    io1: Option<StorageIo>,
    caps: Caps,
    partition_dirs: Vec<PathBuf>,
    interrupted: bool,
) -> RepMeasure {
    let start = results.iter().map(|r| r.start_ns).min().unwrap_or(0);
    let end = results.iter().map(|r| r.end_ns).max().unwrap_or(start);
    let mut latency = hist::new_hist();
    let mut flush = hist::new_hist();
    let mut roll = hist::new_hist();
    let mut timeline = TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, 0);
    let (mut bytes, mut records, mut batches, mut device) = (0u64, 0u64, 0u64, 0u64);
    let mut threads = Vec::new();
    let mut deleted = 0;
    for r in results {
        deleted += r.deleted_segments;
        // Same bounds on every histogram: add cannot fail.
        let _ = latency.add(&r.latency);
        let _ = flush.add(&r.flush);
        let _ = roll.add(&r.roll);
        // Thread timelines may start a few µs apart; re-base on the earliest start.
        let mut shifted = TimelineRecorder::new(start, DEFAULT_INTERVAL_NS, 0);
        let tl = r.timeline.finish(r.end_ns);
        for (k, b) in tl.bytes.iter().enumerate() {
            shifted.record(r.start_ns + k as u64 * DEFAULT_INTERVAL_NS, *b);
        }
        timeline.merge(&shifted);
        bytes += r.stats.bytes;
        records += r.records;
        batches += r.batches;
        device += r.device_bytes;
        threads.push(r.stats);
    }
    let elapsed_s = (end - start) as f64 / 1e9;
    let figures = WriteFigures {
        // Retention runs at the roll: the roll latency includes these deletions.
        segments_deleted: (deleted > 0).then_some(deleted),
        flushes_over_1000ms: (!flush.is_empty())
            .then(|| flush.count_between(SLOW_FLUSH_NS, hist::HIGHEST_NS)),
    };
    let mut extra = BTreeMap::new();
    figures.insert_into(&mut extra);
    let per_s = |x: u64| {
        if elapsed_s > 0.0 {
            x as f64 / elapsed_s
        } else {
            0.0
        }
    };
    let cpu_total = cpu.user_s + cpu.sys_s;
    let repetition = Repetition {
        index: 0,
        bytes,
        records,
        batches,
        elapsed_s,
        throughput_bytes_per_s: per_s(bytes),
        records_per_s: per_s(records),
        cpu_user_s: cpu.user_s,
        cpu_sys_s: cpu.sys_s,
        cpu_s_per_gb: results::stats::cpu_s_per_gb(cpu_total, bytes),
        device_bytes: Some(device),
        storage_io_bytes: match (io0, io1) {
            (Some(a), Some(b)) => Some(b.write_bytes.saturating_sub(a.write_bytes)),
            _ => None,
        },
        latency_ns: hist::summarize(&latency),
        flush_latency_ns: opt_summary(&flush),
        roll_latency_ns: opt_summary(&roll),
        timeline: timeline.finish(end),
        threads,
        context_switches: Some(cpu.context_switches),
        harness_overhead_ratio: None,
        extra,
        nic_traffic: Vec::new(),
    };
    RepMeasure {
        repetition,
        caps,
        partition_dirs,
        interrupted,
    }
}
