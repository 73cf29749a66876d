//! `segbench compare` and `segbench merge` end to end, on results files built here: exit 0
//! without a regression, 1 with one, 2 for inputs that cannot be compared or merged.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::util::{assert_bad_input, assert_success, segbench_in};
use results::hist;
use results::io::{read_results, write_results};
use results::*;

/// A repetition at `mbps` MB/s whose latencies are spread around `lat_ns`.
fn rep(i: u32, mbps: f64, lat_ns: u64) -> Repetition {
    let mut h = hist::new_hist();
    for k in 0..500u64 {
        hist::record(&mut h, lat_ns / 2 + lat_ns * k / 500);
    }
    let bytes = (mbps * 1e6) as u64;
    Repetition {
        index: i,
        bytes,
        records: bytes / 1000,
        batches: bytes / 16_000,
        elapsed_s: 1.0,
        throughput_bytes_per_s: mbps * 1e6,
        records_per_s: (bytes / 1000) as f64,
        cpu_user_s: 0.1,
        cpu_sys_s: 0.2,
        cpu_s_per_gb: Some(0.3 / (bytes as f64 / 1e9)),
        device_bytes: Some(bytes),
        storage_io_bytes: None,
        latency_ns: hist::summarize(&h),
        flush_latency_ns: None,
        roll_latency_ns: None,
        timeline: Timeline {
            interval_s: 0.1,
            bytes: vec![bytes / 10; 10],
        },
        threads: vec![],
        context_switches: None,
        harness_overhead_ratio: None,
        extra: BTreeMap::new(),
        nic_traffic: Vec::new(),
    }
}

/// A results file of host `host` with one workload `write/buffered` at these MB/s.
fn results_file(host: &str, mbps: &[f64]) -> ResultsFile {
    let repetitions: Vec<Repetition> = mbps
        .iter()
        .enumerate()
        .map(|(i, &m)| rep(i as u32, m, 100_000))
        .collect();
    let mut config = BTreeMap::new();
    config.insert("engine".to_string(), serde_json::json!("buffered"));
    config.insert("size_bytes".to_string(), serde_json::json!(67_108_864));
    config.insert("rate_bytes_per_s".to_string(), serde_json::Value::Null);
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "segbench".into(),
            version: "0.1.0".into(),
            git: None,
        },
        run: RunInfo {
            id: format!("20261124T101500Z-{host}"),
            start_time: "2026-11-24T10:15:00Z".into(),
            host: host.into(),
            command_line: vec!["segbench".into(), "write".into()],
        },
        probe: Some(results::probe::Probe {
            fingerprint: "0123456789abcdef".into(),
            ..Default::default()
        }),
        baseline: Baseline::default(),
        workloads: vec![WorkloadResult {
            name: "write/buffered".into(),
            kind: Kind::Write,
            engine: "buffered".into(),
            config,
            status: Status::Completed,
            medium: Medium::Device,
            summary: stats::summarize(&repetitions),
            repetitions,
            warnings: vec![],
            mixed: None,
        }],
        warnings: vec![],
        interrupted: false,
        fleet: None,
    }
}

fn save(dir: &Path, name: &str, r: &ResultsFile) -> PathBuf {
    let p = dir.join(name);
    write_results(&p, r).unwrap();
    p
}

const STEADY: &[f64] = &[500.0, 505.0, 495.0, 502.0, 498.0];

#[test]
fn the_same_results_compare_clean_and_a_twenty_percent_drop_exits_1() {
    let t = tempfile::tempdir().unwrap();
    let base = save(t.path(), "base.json", &results_file("a", STEADY));
    let same = save(t.path(), "same.json", &results_file("b", STEADY));
    let out = segbench_in(t.path(), &["compare", "base.json", "same.json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("0 regressed"), "{stdout}");
    assert!(!stdout.contains("| regressed"), "{stdout}");
    let _ = (base, same);

    let slower: Vec<f64> = STEADY.iter().map(|m| m * 0.8).collect();
    save(t.path(), "slow.json", &results_file("b", &slower));
    let out = segbench_in(
        t.path(),
        &[
            "compare",
            "base.json",
            "slow.json",
            "--metric",
            "throughput",
            "--markdown",
            "comment.md",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("-20.0%") && stdout.contains("regressed"),
        "{stdout}"
    );
    let md = fs::read_to_string(t.path().join("comment.md")).unwrap();
    assert!(md.starts_with("### segbench compare: regression"), "{md}");
    assert!(md.contains("**regressed**"), "{md}");

    // Above a 25% threshold the same drop is noise.
    let out = segbench_in(
        t.path(),
        &["compare", "base.json", "slow.json", "--threshold", "25%"],
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn compare_refuses_files_that_cannot_be_compared() {
    let t = tempfile::tempdir().unwrap();
    save(t.path(), "base.json", &results_file("a", STEADY));

    // Another schema version.
    let mut v = serde_json::to_value(results_file("b", STEADY)).unwrap();
    v["schema_version"] = serde_json::json!(999);
    fs::write(t.path().join("future.json"), v.to_string()).unwrap();
    let out = segbench_in(t.path(), &["compare", "base.json", "future.json"]);
    assert_bad_input(&out, "schema_version 999");

    // Not a results file.
    fs::write(t.path().join("package.json"), r#"{"name": "x"}"#).unwrap();
    let out = segbench_in(t.path(), &["compare", "package.json", "base.json"]);
    assert_bad_input(&out, "package.json is not a segbench results file");

    // Another workload configuration: the differing key is named.
    let mut other = results_file("b", STEADY);
    other.workloads[0]
        .config
        .insert("rate_bytes_per_s".into(), serde_json::json!(250e6));
    save(t.path(), "paced.json", &other);
    let out = segbench_in(t.path(), &["compare", "base.json", "paced.json"]);
    assert_bad_input(&out, "rate_bytes_per_s: null -> 250000000.0");
    // ... unless that key is ignored on purpose.
    let out = segbench_in(
        t.path(),
        &[
            "compare",
            "base.json",
            "paced.json",
            "--ignore-config",
            "rate_bytes_per_s",
        ],
    );
    assert_eq!(out.status.code(), Some(0));

    // Other hardware.
    let mut elsewhere = results_file("b", STEADY);
    elsewhere.probe = Some(results::probe::Probe {
        fingerprint: "fedcba9876543210".into(),
        ..Default::default()
    });
    save(t.path(), "elsewhere.json", &elsewhere);
    let out = segbench_in(t.path(), &["compare", "base.json", "elsewhere.json"]);
    assert_bad_input(
        &out,
        "different hardware (fingerprint 0123456789abcdef vs fedcba9876543210)",
    );
    let out = segbench_in(
        t.path(),
        &[
            "compare",
            "base.json",
            "elsewhere.json",
            "--allow-different-hardware",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("different hardware"));

    // Bad options are bad input too.
    let out = segbench_in(
        t.path(),
        &["compare", "base.json", "base.json", "--metric", "p42"],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = segbench_in(t.path(), &["compare", "base.json", "absent.json"]);
    assert_bad_input(&out, "absent.json");
}

#[test]
fn merge_sums_hosts_and_refuses_inputs_that_do_not_fit() {
    let t = tempfile::tempdir().unwrap();
    save(
        t.path(),
        "a.json",
        &results_file("broker1", &[100.0, 110.0, 120.0]),
    );
    save(
        t.path(),
        "b.json",
        &results_file("broker2", &[200.0, 210.0, 220.0]),
    );
    let out = segbench_in(
        t.path(),
        &["merge", "a.json", "b.json", "-o", "cluster.json"],
    );
    assert_success(&out);
    let m = read_results(t.path().join("cluster.json")).unwrap();
    assert_eq!(m.run.host, "broker1+broker2");
    let w = &m.workloads[0];
    assert_eq!(w.repetitions.len(), 3);
    let r = &w.repetitions[0];
    assert_eq!(r.bytes, 300_000_000);
    assert_eq!(r.throughput_bytes_per_s, 300e6);
    assert_eq!(r.latency_ns.count, 1000); // 500 + 500: histograms added
    assert_eq!(r.timeline.bytes, vec![30_000_000; 10]);
    assert_eq!(w.summary.as_ref().unwrap().latency_ns.count, 3000);
    let hosts = results::merge::host_figures(r);
    assert_eq!(hosts.len(), 2);
    assert_eq!(hosts[1].host, "broker2");
    assert_eq!(hosts[1].bytes, 200_000_000);

    // Different configurations: exit 2 naming the key.
    let mut c = results_file("broker3", &[100.0, 110.0, 120.0]);
    c.workloads[0]
        .config
        .insert("size_bytes".into(), serde_json::json!(1024));
    save(t.path(), "c.json", &c);
    let out = segbench_in(t.path(), &["merge", "a.json", "c.json", "-o", "bad.json"]);
    assert_bad_input(&out, "size_bytes: 67108864 -> 1024");
    assert!(!t.path().join("bad.json").exists());

    // One input is not enough.
    let out = segbench_in(t.path(), &["merge", "a.json", "-o", "one.json"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn merge_append_pools_runs_of_one_machine() {
    let t = tempfile::tempdir().unwrap();
    save(
        t.path(),
        "monday.json",
        &results_file("vm", &[100.0, 110.0, 120.0]),
    );
    let mut tuesday = results_file("vm", &[130.0, 140.0]);
    tuesday.run.id = "20261125T101500Z-vm".into();
    save(t.path(), "tuesday.json", &tuesday);
    let out = segbench_in(
        t.path(),
        &[
            "merge",
            "--append",
            "monday.json",
            "tuesday.json",
            "-o",
            "all.json",
            "-q",
        ],
    );
    assert_success(&out);
    assert!(out.stdout.is_empty());
    let all = read_results(t.path().join("all.json")).unwrap();
    let w = &all.workloads[0];
    let mbps: Vec<f64> = w
        .repetitions
        .iter()
        .map(|r| r.throughput_bytes_per_s / 1e6)
        .collect();
    assert_eq!(mbps, vec![100.0, 110.0, 120.0, 130.0, 140.0]);
    assert_eq!(
        w.summary.as_ref().unwrap().throughput_bytes_per_s.median,
        120e6
    );
    // Another machine's run does not pool.
    let mut other = results_file("elsewhere", &[100.0]);
    other.probe = Some(results::probe::Probe {
        fingerprint: "ffffffffffffffff".into(),
        ..Default::default()
    });
    save(t.path(), "other.json", &other);
    let out = segbench_in(
        t.path(),
        &[
            "merge",
            "--append",
            "monday.json",
            "other.json",
            "-o",
            "x.json",
        ],
    );
    assert_bad_input(&out, "other hardware");
}
