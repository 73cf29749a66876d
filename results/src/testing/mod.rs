//! Builders of results files for tests (compiled for this crate's tests and, with the
//! `test-util` feature, for other crates' tests): one hand-made [`results`] fixture that the
//! exporters, capacity, compare and merge tests share, and small builders around it.
//!
//! The fixture: two write engines (buffered at 500 MB/s, `uring:direct,qd=8` at 1000 MB/s),
//! two read engines (`sendfile` at 1600 MB/s and 0.55 CPU s/GB, `readwrite` at 1000 MB/s and
//! 1.0 CPU s/GB) and a skipped one.
//!
//! And [`check_well_formed`], the XML check of the HTML report and its SVG charts.

mod fleet;
mod replication;
pub mod sample;
mod xml;

pub use fleet::*;
pub use replication::*;
pub use xml::check_well_formed;

use std::collections::BTreeMap;

use crate::hist;
use crate::probe::Probe;
use crate::schema::*;
use crate::stats;

/// Skip reason of the skipped workload.
pub const SKIP_REASON: &str = "io_uring is disabled (kernel.io_uring_disabled=2)";

fn repetition(index: u32, bytes_per_s: f64, cpu_s_per_gb: f64, latencies_ns: &[u64]) -> Repetition {
    let mut h = hist::new_hist();
    for (i, &ns) in latencies_ns.iter().enumerate() {
        // Spread a little so percentiles differ; awkward values for the JSON round trip.
        hist::record(&mut h, ns + (i as u64 * 7919) % (ns / 10 + 1));
    }
    let elapsed_s = 1.0 / 3.0 + index as f64 * 0.1;
    let bytes = (bytes_per_s * elapsed_s) as u64;
    let records = bytes / 1000;
    Repetition {
        index,
        bytes,
        records,
        batches: records / 16,
        elapsed_s,
        throughput_bytes_per_s: bytes_per_s,
        records_per_s: records as f64 / elapsed_s,
        cpu_user_s: cpu_s_per_gb * 0.3 * bytes as f64 / 1e9,
        cpu_sys_s: cpu_s_per_gb * 0.7 * bytes as f64 / 1e9,
        cpu_s_per_gb: Some(cpu_s_per_gb),
        device_bytes: Some(bytes + 4096),
        storage_io_bytes: None,
        latency_ns: hist::summarize(&h),
        flush_latency_ns: None,
        roll_latency_ns: None,
        timeline: Timeline {
            interval_s: 0.1,
            bytes: vec![
                bytes / 4,
                bytes / 4,
                bytes / 3,
                bytes - bytes / 4 * 2 - bytes / 3,
            ],
        },
        threads: vec![ThreadStats {
            index: 0,
            bytes,
            cpu_user_s: 0.1 / 7.0,
            cpu_sys_s: 0.2 / 7.0,
        }],
        context_switches: Some(1234),
        harness_overhead_ratio: Some(0.001_234_567_891),
        extra: BTreeMap::new(),
        nic_traffic: Vec::new(),
    }
}

fn workload(
    name: &str,
    kind: Kind,
    engine: &str,
    medium: Medium,
    mb_per_s: [f64; 3],
    cpu_s_per_gb: f64,
    latency_ns: u64,
) -> WorkloadResult {
    let lat: Vec<u64> = (0..1000)
        .map(|i| latency_ns + i * latency_ns / 500)
        .collect();
    let repetitions: Vec<Repetition> = mb_per_s
        .iter()
        .enumerate()
        .map(|(i, &mb)| repetition(i as u32, mb * 1e6, cpu_s_per_gb, &lat))
        .collect();
    let mut config = BTreeMap::new();
    config.insert("engine".to_string(), serde_json::json!(engine));
    config.insert("batch_size_bytes".to_string(), serde_json::json!(16384));
    WorkloadResult {
        name: name.to_string(),
        kind,
        engine: engine.to_string(),
        config,
        status: Status::Completed,
        medium,
        summary: stats::summarize(&repetitions),
        repetitions,
        warnings: vec![],
        mixed: None,
    }
}

/// The fixture.
pub fn results() -> ResultsFile {
    let mut buffered = workload(
        "write/buffered",
        Kind::Write,
        "buffered",
        Medium::PageCache,
        [480.0, 500.0, 520.0],
        0.8,
        1_500,
    );
    buffered
        .warnings
        .push("wrote 0.5 GB, less than the dirty limit (1.6 GB): a page-cache number".into());
    let uring = workload(
        "write/uring:direct,qd=8",
        Kind::Write,
        "uring:direct,qd=8",
        Medium::Device,
        [950.0, 1000.0, 1010.0],
        0.5,
        120_000,
    );
    let skipped = WorkloadResult {
        name: "write/uring:sqpoll".to_string(),
        kind: Kind::Write,
        engine: "uring:sqpoll".to_string(),
        config: BTreeMap::new(),
        status: Status::Skipped {
            reason: SKIP_REASON.to_string(),
        },
        medium: Medium::Device,
        repetitions: vec![],
        summary: None,
        warnings: vec![],
        mixed: None,
    };
    let sendfile = workload(
        "read/sendfile",
        Kind::Read,
        "sendfile",
        Medium::Network,
        [1600.0, 1550.0, 1700.0],
        0.55,
        2_000_000,
    );
    let readwrite = workload(
        "read/readwrite",
        Kind::Read,
        "readwrite",
        Medium::Network,
        [1000.0, 990.0, 1020.0],
        1.0,
        3_000_000,
    );
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "segbench".into(),
            version: "0.1.0".into(),
            git: Some("v0.1.0-3-gabc1234".into()),
        },
        run: RunInfo {
            id: "20261124T101500Z-3f9a".into(),
            start_time: "2026-11-24T10:15:00Z".into(),
            host: "bench-01".into(),
            command_line: vec!["segbench".into(), "run".into()],
        },
        // A probe of another version's shape: every field unknown to this one.
        probe: Some(Probe::from_json_lenient(
            serde_json::json!({"cpus": 2, "disk": {"model": "virtio", "rotational": 1}}),
        )),
        baseline: Baseline::default(),
        workloads: vec![buffered, uring, skipped, sendfile, readwrite],
        warnings: vec!["the disk claims rotational=1 (virtio): not used to classify it".into()],
        interrupted: false,
        fleet: None,
    }
}

/// The fixture's first workload renamed `name` (its engine: what follows the `/`), of `kind`
/// and `medium`, with a median throughput of `median_bytes_per_s`.
pub fn workload_with(
    name: &str,
    kind: Kind,
    medium: Medium,
    median_bytes_per_s: f64,
) -> WorkloadResult {
    let mut w = results().workloads[0].clone();
    w.name = name.to_string();
    w.engine = name
        .split_once('/')
        .map(|x| x.1)
        .unwrap_or(name)
        .to_string();
    w.kind = kind;
    w.medium = medium;
    if let Some(s) = w.summary.as_mut() {
        s.throughput_bytes_per_s.median = median_bytes_per_s;
    }
    w
}

/// The fixture with `workloads` and `probe` instead of its own.
pub fn results_with(workloads: Vec<WorkloadResult>, probe: Option<Probe>) -> ResultsFile {
    let mut r = results();
    r.workloads = workloads;
    r.probe = probe;
    r
}

/// A probe with a 2 TB data file system (1.5 TB free) and, besides loopback and a virtual
/// interface, a 10 Gbit/s `eth0` and an `eth1` of unknown speed: what the capacity limits read.
pub fn capacity_probe() -> Option<Probe> {
    let nic = |name: &str, virtual_device: bool, speed: Option<u64>| crate::probe::Nic {
        name: name.into(),
        virtual_device,
        speed_mbit_per_s: speed,
        ..Default::default()
    };
    Some(Probe {
        storage: crate::probe::Storage {
            mount_point: Some("/data".into()),
            total_bytes: Some(2_000_000_000_000),
            free_bytes: Some(1_500_000_000_000),
            ..Default::default()
        },
        nics: vec![
            nic("lo", true, None),
            nic("veth1", true, Some(40000)),
            nic("eth0", false, Some(10000)),
            nic("eth1", false, None),
        ],
        ..Default::default()
    })
}

/// `a` equals `b` up to floating-point noise (a relative 1e-9).
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// A repetition with throughput `bytes_per_s`, latencies spread around `lat_ns`, CPU cost.
pub fn plain_repetition(i: u32, bytes_per_s: f64, lat_ns: u64, cpu_s_per_gb: f64) -> Repetition {
    let mut h = hist::new_hist();
    for k in 0..1000u64 {
        hist::record(&mut h, lat_ns / 2 + lat_ns * k / 1000);
    }
    Repetition {
        index: i,
        bytes: (bytes_per_s) as u64,
        records: 1000,
        batches: 100,
        elapsed_s: 1.0,
        throughput_bytes_per_s: bytes_per_s,
        records_per_s: 1000.0,
        cpu_user_s: 0.1,
        cpu_sys_s: 0.1,
        cpu_s_per_gb: Some(cpu_s_per_gb),
        device_bytes: None,
        storage_io_bytes: None,
        latency_ns: hist::summarize(&h),
        flush_latency_ns: None,
        roll_latency_ns: None,
        timeline: Timeline::default(),
        threads: Vec::new(),
        context_switches: None,
        harness_overhead_ratio: None,
        extra: BTreeMap::new(),
        nic_traffic: Vec::new(),
    }
}

/// A completed write row of mixed workload `workload`: part `part` with (`alone` false) or
/// without its siblings, one repetition at `mbps` MB/s with latencies around `lat_ns`.
pub fn mixed_row(
    workload: &str,
    part: &str,
    alone: bool,
    beside: &[&str],
    lat_ns: u64,
    mbps: f64,
) -> WorkloadResult {
    let rep = plain_repetition(0, mbps * 1e6, lat_ns, 1.0);
    let suffix = if alone { " alone" } else { "" };
    let mut w = WorkloadResult::new(
        format!("{workload}/{part}{suffix}"),
        Kind::Write,
        "buffered".into(),
        BTreeMap::new(),
        Status::Completed,
        Medium::Device,
    )
    .with_repetitions(vec![rep], vec![]);
    w.mixed = Some(crate::schema::MixedRole {
        workload: workload.into(),
        part: part.into(),
        part_kind: "write".into(),
        alone,
        beside: beside.iter().map(|b| b.to_string()).collect(),
        placement: None,
        interference: None,
    });
    w
}

/// A completed buffered page-cache write `name` with repetitions `reps` and their summary.
pub fn buffered_write(name: &str, reps: Vec<Repetition>) -> WorkloadResult {
    let mut config = BTreeMap::new();
    config.insert("engine".to_string(), serde_json::json!("buffered"));
    config.insert("size_bytes".to_string(), serde_json::json!(67108864));
    config.insert("repeat".to_string(), serde_json::json!(reps.len()));
    WorkloadResult {
        name: name.to_string(),
        kind: Kind::Write,
        engine: "buffered".to_string(),
        config,
        status: Status::Completed,
        medium: Medium::PageCache,
        summary: stats::summarize(&reps),
        repetitions: reps,
        warnings: Vec::new(),
        mixed: None,
    }
}

/// A results file of `workloads` with a probe holding only a fingerprint.
pub fn file_of(workloads: Vec<WorkloadResult>) -> ResultsFile {
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "segbench".into(),
            version: "0.1.0".into(),
            git: None,
        },
        run: RunInfo {
            id: "r".into(),
            start_time: "2026-11-24T10:15:00Z".into(),
            host: "h".into(),
            command_line: vec![],
        },
        probe: Some(crate::probe::Probe {
            fingerprint: "00ff00ff00ff00ff".into(),
            ..Default::default()
        }),
        baseline: Baseline::default(),
        workloads,
        warnings: Vec::new(),
        interrupted: false,
        fleet: None,
    }
}

/// Throughputs (MB/s) as repetitions with matching latency and CPU.
pub fn repetitions(mbps: &[f64]) -> Vec<Repetition> {
    mbps.iter()
        .enumerate()
        .map(|(i, &m)| plain_repetition(i as u32, m * 1e6, 100_000, 1.0))
        .collect()
}

/// The exporters' fixture plus a partitions sweep and a queue-depth sweep.
pub fn with_sweeps() -> ResultsFile {
    let mut r = crate::testing::results();
    let template = r.workloads[0].clone();
    for (i, p) in [1u32, 2, 4, 8].into_iter().enumerate() {
        let mut w = template.clone();
        w.name = format!("scale-partitions/buffered/partitions={p}");
        w.config
            .insert("sweep".into(), serde_json::json!("partitions"));
        w.config.insert("sweep_value".into(), serde_json::json!(p));
        for rep in &mut w.repetitions {
            rep.throughput_bytes_per_s *= 1.0 + i as f64 * 0.3;
        }
        w.summary = stats::summarize(&w.repetitions);
        r.workloads.push(w);
    }
    let template = r.workloads[1].clone();
    for qd in [1u32, 4, 16] {
        let mut w = template.clone();
        w.engine = format!("uring:direct,qd={qd}");
        w.name = format!("scale-qd/uring:direct,qd={qd}");
        w.config.insert("sweep".into(), serde_json::json!("qd"));
        w.config.insert("sweep_value".into(), serde_json::json!(qd));
        r.workloads.push(w);
    }
    r
}

/// The HTML of the section with `id` in an HTML report.
pub fn html_section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = html[start..].find("</section>").unwrap() + start;
    &html[start..end]
}
