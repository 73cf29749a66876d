//! Tests of the fleet aggregation: sums, the union of histograms, real windows, warnings.

use std::collections::BTreeMap;

use super::*;
use crate::hist::{decode, new_hist, record, summarize};
use crate::schema::*;

/// A repetition of `bytes` over `elapsed_s` with latencies `lat` and a 100 ms timeline.
fn rep(bytes: u64, elapsed_s: f64, lat: &[u64], tl: &[u64]) -> Repetition {
    let mut h = new_hist();
    for &v in lat {
        record(&mut h, v);
    }
    Repetition {
        index: 0,
        bytes,
        records: bytes / 100,
        batches: bytes / 1000,
        elapsed_s,
        throughput_bytes_per_s: bytes as f64 / elapsed_s,
        records_per_s: 0.0,
        cpu_user_s: 0.1,
        cpu_sys_s: 0.1,
        cpu_s_per_gb: None,
        device_bytes: None,
        storage_io_bytes: None,
        latency_ns: summarize(&h),
        flush_latency_ns: None,
        roll_latency_ns: None,
        timeline: Timeline {
            interval_s: 0.1,
            bytes: tl.to_vec(),
        },
        threads: vec![],
        context_switches: None,
        harness_overhead_ratio: None,
        extra: BTreeMap::new(),
        nic_traffic: Vec::new(),
    }
}

fn host(name: &str, fp: &str, reps: Vec<Repetition>) -> ResultsFile {
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "segbench".into(),
            version: "0.1.0".into(),
            git: None,
        },
        run: RunInfo {
            id: format!("run-{name}"),
            start_time: "2026-11-30T02:00:00Z".into(),
            host: name.into(),
            command_line: vec![],
        },
        probe: Some(crate::probe::Probe {
            fingerprint: fp.into(),
            ..Default::default()
        }),
        baseline: Baseline::default(),
        workloads: vec![WorkloadResult {
            name: "w/buffered".into(),
            kind: Kind::Write,
            engine: "buffered".into(),
            config: BTreeMap::new(),
            status: Status::Completed,
            medium: Medium::PageCache,
            summary: crate::stats::summarize(&reps),
            repetitions: reps,
            warnings: vec![],
            mixed: None,
        }],
        warnings: vec![],
        interrupted: false,
        fleet: None,
    }
}

fn window(rank: u32, start_ms: i64, end_ms: i64) -> PhaseWindow {
    PhaseWindow {
        rank,
        start_ns: start_ms * 1_000_000,
        end_ns: end_ms * 1_000_000,
    }
}

#[test]
fn aggregate_bytes_are_the_sum_and_histograms_the_union() {
    let vals: [Vec<u64>; 3] = [
        (1..=2000).map(|v| v * 1000).collect(),
        (1..=500).map(|v| v * 7919 + 10).collect(),
        (1..=300).map(|v| v * 123_457).collect(),
    ];
    let files = [
        host("a", "f1", vec![rep(4000, 1.0, &vals[0], &[400; 10])]),
        host("b", "f1", vec![rep(2000, 2.0, &vals[1], &[100; 20])]),
        host("c", "f1", vec![rep(3000, 1.5, &vals[2], &[200; 15])]),
    ];
    let parts: Vec<HostPart<'_>> = files
        .iter()
        .enumerate()
        .map(|(i, f)| HostPart {
            rank: i as u32,
            file: f,
            window: window(i as u32, 1000 + i as i64 * 5, 3000 + i as i64 * 100),
        })
        .collect();
    let (merged, phase) = aggregate_phase("local", &parts).unwrap();
    let w = &phase.workloads[0];
    assert_eq!(w.bytes, 9000, "aggregate bytes = sum of the hosts' bytes");
    assert_eq!(merged.workloads[0].repetitions[0].bytes, 9000);
    let mut all = new_hist();
    for v in vals.iter().flatten() {
        record(&mut all, *v);
    }
    let lat = &merged.workloads[0].repetitions[0].latency_ns;
    assert_eq!(*lat, summarize(&all), "merged = every host's values in one");
    assert_eq!(decode(&lat.hdr).unwrap(), all);
    // Last-done: 9000 bytes over the slowest host's 2 s.
    assert!((w.aggregate_bytes_per_s - 4500.0).abs() < 1e-9);
    // First-done at 1 s: a 4000, b 1000 (10 buckets of 100), c 2000 (10 of 200).
    assert!((w.first_done_bytes_per_s - 7000.0).abs() < 1e-9);
    // Slowest b 1000 B/s, fastest a 4000 B/s.
    assert!((w.straggler_ratio - 0.25).abs() < 1e-12);
    assert_eq!(w.host_bytes_per_s, vec![4000.0, 1000.0, 2000.0]);
    assert!((phase.span_s - 2.2).abs() < 1e-9);
    assert!((phase.start_skew_s - 0.010).abs() < 1e-9);
    assert_eq!(phase.ranks, vec![0, 1, 2]);
}

#[test]
fn workloads_only_some_hosts_ran_are_left_out_with_a_warning() {
    let mut a = host("a", "f1", vec![rep(4000, 1.0, &[1000], &[400; 10])]);
    let mut b = host("b", "f1", vec![rep(2000, 1.0, &[1000], &[200; 10])]);
    for (f, engine) in [(&mut a, "uring"), (&mut b, "direct")] {
        let mut w = f.workloads[0].clone();
        w.name = format!("sweep/{engine}");
        f.workloads.push(w);
    }
    let parts: Vec<HostPart<'_>> = [&a, &b]
        .iter()
        .enumerate()
        .map(|(i, f)| HostPart {
            rank: i as u32,
            file: f,
            window: window(i as u32, 1000, 2000),
        })
        .collect();
    let (merged, phase) = aggregate_phase("local", &parts).unwrap();
    let names: Vec<&str> = phase.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["w/buffered"]);
    assert_eq!(merged.workloads.len(), 1);
    assert_eq!(phase.workloads[0].bytes, 6000);
    assert!(
        phase.warnings[0].contains("sweep/direct, sweep/uring"),
        "{:?}",
        phase.warnings
    );
}

#[test]
fn hosts_that_did_not_run_at_once_are_warned_about() {
    let placed = |offset: f64| {
        let mut r = rep(1000, 1.0, &[1], &[100; 10]);
        r.extra
            .insert(START_OFFSET_KEY.into(), serde_json::json!(offset));
        r
    };
    let files = [
        host("a", "f1", vec![placed(1.0)]),
        host("b", "f1", vec![placed(1.5)]),
    ];
    let parts: Vec<HostPart<'_>> = files
        .iter()
        .enumerate()
        .map(|(i, f)| HostPart {
            rank: i as u32,
            file: f,
            window: window(i as u32, 0, 3000),
        })
        .collect();
    let (_, phase) = aggregate_phase("local", &parts).unwrap();
    let w = &phase.workloads[0];
    assert_eq!(w.repetition_start_skew_s, Some(0.5));
    assert!((w.aggregate_bytes_per_s - 2000.0 / 1.5).abs() < 1e-9);
    assert_eq!(phase.warnings.len(), 1, "{:?}", phase.warnings);
    assert!(
        phase.warnings[0].contains("500 ms apart"),
        "{:?}",
        phase.warnings
    );
}

#[test]
fn bytes_at_interpolates_inside_a_bucket_and_without_a_timeline() {
    let r = rep(1000, 1.0, &[1], &[100; 10]);
    assert!((bytes_at(&r, 0.25) - 250.0).abs() < 1e-9);
    assert_eq!(bytes_at(&r, 5.0), 1000.0);
    let flat = rep(1000, 2.0, &[1], &[]);
    assert!((bytes_at(&flat, 0.5) - 250.0).abs() < 1e-9);
    // A repetition shorter than one bucket: the bucket is only as long as the repetition.
    let short = rep(1000, 0.04, &[1], &[1000]);
    assert!((bytes_at(&short, 0.02) - 500.0).abs() < 1e-9);
    assert_eq!(bytes_at(&short, 0.04 - 1e-9), 1000.0, "rounding at the end");
    // The last, partial bucket of a longer one.
    let tail = rep(1100, 0.15, &[1], &[1000, 100]);
    assert!((bytes_at(&tail, 0.125) - 1050.0).abs() < 1e-9);
}

#[test]
fn one_host_has_no_straggler() {
    let r = rep(1000, 1.0, &[5], &[]);
    let f = repetition_figures(&[PlacedRepetition {
        repetition: &r,
        start_s: None,
    }]);
    assert_eq!(
        (f.bytes, f.last_done_bytes_per_s, f.first_done_bytes_per_s),
        (1000, 1000.0, 1000.0)
    );
    assert_eq!((f.straggler_ratio, f.start_skew_s), (1.0, None));
}

#[test]
fn recorded_starts_give_the_real_window() {
    // a runs 0 .. 1 s, b 0.5 .. 1.5 s, 1000 bytes each at an even pace.
    let (a, b) = (
        rep(1000, 1.0, &[1], &[100; 10]),
        rep(1000, 1.0, &[1], &[100; 10]),
    );
    let f = repetition_figures(&[
        PlacedRepetition {
            repetition: &a,
            start_s: Some(100.0),
        },
        PlacedRepetition {
            repetition: &b,
            start_s: Some(100.5),
        },
    ]);
    // IOR: 2000 bytes over 1.5 s, not over the longest host's 1 s.
    assert!((f.last_done_bytes_per_s - 2000.0 / 1.5).abs() < 1e-9);
    // elbencho: at 1 s a is done (1000) and b half way (500).
    assert!((f.first_done_bytes_per_s - 1500.0).abs() < 1e-9);
    assert_eq!(f.start_skew_s, Some(0.5));
    // The start comes from the host's window plus the repetition's recorded offset.
    let mut r = rep(10, 1.0, &[1], &[]);
    let w = window(0, 2_000, 3_000);
    assert_eq!(placed_start_s(&w, &r), None);
    r.extra
        .insert(START_OFFSET_KEY.into(), serde_json::json!(0.25));
    assert_eq!(placed_start_s(&w, &r), Some(2.25));
}

#[test]
fn warns_on_uncertain_clocks_and_different_hardware() {
    let hosts = vec![
        FleetHost {
            rank: 0,
            host: "a".into(),
            fingerprint: Some("f1".into()),
            ..Default::default()
        },
        FleetHost {
            rank: 1,
            host: "b".into(),
            uncertainty_ns: 20_000_000,
            fingerprint: Some("f2".into()),
            ..Default::default()
        },
    ];
    let phase = FleetPhase {
        name: "local".into(),
        ranks: vec![0, 1],
        span_s: 1.0,
        ..Default::default()
    };
    let w = skew_warnings(&hosts, &[phase]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("rank 1"), "{w:?}");
    assert!(hardware_warning(&hosts).unwrap().contains("rank 1 f2"));
    assert!(hardware_warning(&hosts[..1]).is_none());
}

#[test]
fn scaling_rows_follow_host_counts() {
    let p = |n: u32, v: f64| FleetPhase {
        name: format!("scaling/{n}"),
        ranks: (0..n).collect(),
        workloads: vec![WorkloadAggregate {
            name: "w".into(),
            aggregate_bytes_per_s: v,
            ..Default::default()
        }],
        ..Default::default()
    };
    let (a, b, c) = (p(3, 30.0), p(1, 10.0), p(2, 20.0));
    let rows = scaling_rows(&[&a, &b, &c]);
    let hosts: Vec<u32> = rows.iter().map(|r| r.hosts).collect();
    assert_eq!(hosts, vec![1, 2, 3]);
}

#[test]
fn the_sample_results_file_of_schema_1_still_loads() {
    let text = include_str!("../../../tests/fixtures/results/sample.json");
    let f: ResultsFile = serde_json::from_str(text).unwrap();
    assert_eq!(f.schema_version, SCHEMA_VERSION);
    assert!(f.fleet.is_none());
}

#[test]
fn a_results_file_without_fleet_still_parses_and_round_trips() {
    let mut f = host("a", "f1", vec![rep(10, 1.0, &[1], &[])]);
    let text = serde_json::to_string(&f).unwrap();
    assert!(!text.contains("\"fleet\""), "absent when None");
    let back: ResultsFile = serde_json::from_str(&text).unwrap();
    assert_eq!(back.fleet, None);
    f.fleet = Some(FleetInfo {
        size: 3,
        launcher: "flags".into(),
        ..Default::default()
    });
    let back: ResultsFile = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
    assert_eq!(back, f);
}
