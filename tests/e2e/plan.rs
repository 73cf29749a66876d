//! `segbench plan` end to end: broker counts from explicit figures and from a results file,
//! one-line refusals of bad input.

use std::path::Path;

use crate::util::{assert_bad_input, segbench_in};
use results::probe::Probe;
use results::testing::{capacity_probe as probe, results_with, workload_with as workload};
use results::{Kind, Medium, ResultsFile};

const MB: f64 = 1e6;

fn plan_json(cwd: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = segbench_in(cwd, &all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn bad(args: &[&str], needle: &str) {
    let t = tempfile::tempdir().unwrap();
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    let out = segbench_in(t.path(), &all);
    assert_bad_input(&out, needle);
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `args` with the value after `flag` replaced by `value`.
fn with<'a>(args: &[&'a str], flag: &str, value: &'a str) -> Vec<&'a str> {
    let mut v = args.to_vec();
    let i = v.iter().position(|a| *a == flag).expect("flag present");
    v[i + 1] = value;
    v
}

/// W = 100 MB/s, r = 3, c = 1, T = 1 d, U = 0.5: disk term 3·100/(100·0.5) = 6 binds
/// (NIC 0.6, storage 3·1e8·86400/(1e13·0.8) = 3.24, floor 3) -> 6 + 1 spare = 7.
pub(crate) const EXPLICIT: &[&str] = &[
    "--ingest",
    "100MB/s",
    "--rf",
    "3",
    "--consumers",
    "1",
    "--retention",
    "1d",
    "--disk-bw",
    "100MB/s",
    "--nic",
    "8Gbit/s",
    "--disk-capacity",
    "10TB",
    "--utilization",
    "0.5",
];

#[test]
fn explicit_figures_give_the_broker_count() {
    let t = tempfile::tempdir().unwrap();
    let v = plan_json(t.path(), EXPLICIT);
    assert_eq!(v["brokers"], 7, "{v:#}");
    assert_eq!(v["brokers_before_spare"], 6);
    assert_eq!(v["binding"], "disk_write");
    assert_eq!(v["limits"]["nic_in_bytes_per_s"]["value"], 1e9);
    assert_eq!(v["limits"]["nic_out_bytes_per_s"]["source"], "given: --nic");
    assert_eq!(
        v["limits"]["disk_write_bytes_per_s"]["source"],
        "given: --disk-bw"
    );
    assert!(v["one_broker_down"]["within_target"].as_bool().unwrap());
    assert_eq!(v["baseline"]["baseline_nodes"], 10);

    // Storage binds with a week: 22.68 -> 24. --nic-out overrides --nic for NIC out only.
    let mut week = with(EXPLICIT, "--retention", "1w");
    week = with(&week, "--disk-bw", "1000MB/s");
    week.extend_from_slice(&["--nic-out", "1250MB/s"]);
    let v = plan_json(t.path(), &week);
    assert_eq!(
        (v["brokers"].as_u64(), v["binding"].as_str()),
        (Some(24), Some("storage"))
    );
    assert_eq!(
        v["limits"]["nic_out_bytes_per_s"]["source"],
        "given: --nic-out"
    );
    assert_eq!(v["limits"]["nic_in_bytes_per_s"]["source"], "given: --nic");

    // Consumer group split and a custom baseline.
    let mut group = EXPLICIT.to_vec();
    group.extend_from_slice(&[
        "--partitions",
        "10",
        "--consumer-instances",
        "4",
        "--baseline",
        "50MB/s@5",
    ]);
    let v = plan_json(t.path(), &group);
    let g = &v["consumer_group"];
    assert_eq!(
        (
            g["most_partitions"].as_u64(),
            g["least_partitions"].as_u64()
        ),
        (Some(3), Some(2))
    );
    assert_eq!(g["even_partition_counts"], serde_json::json!([8, 12]));
    assert_eq!(v["baseline"]["baseline_nodes"], 5);
    assert_eq!(v["baseline"]["baseline_cluster_bytes_per_s"], 5e7);
}

#[test]
fn the_table_explains_the_answer() {
    let t = tempfile::tempdir().unwrap();
    let mut args = vec!["plan"];
    args.extend_from_slice(EXPLICIT);
    let out = segbench_in(t.path(), &args);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Brokers: 7 (disk write binds)",
        "r·W/(D·U)",
        "<- binding",
        "given: --disk-bw",
        "One broker down (6 brokers)",
        "7 nodes of this hardware carry",
        "vs baseline 20.0 MB/s on 10",
    ] {
        assert!(text.contains(needle), "'{needle}' not in:\n{text}");
    }
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let cases: [(&str, &str, &str); 9] = [
        ("--rf", "0", "at least 1"),
        ("--consumers", "-1", "0 or more"),
        ("--utilization", "1.5", "outside (0, 1]"),
        ("--utilization", "0", "outside (0, 1]"),
        ("--disk-capacity", "12XB", "invalid size"),
        ("--ingest", "fast", "invalid rate"),
        ("--retention", "forever", "invalid duration"),
        ("--nic", "10Gbps", "ambiguous"),
        ("--disk-bw", "0MB/s", "invalid rate"),
    ];
    for (flag, value, needle) in cases {
        bad(&with(EXPLICIT, flag, value), needle);
    }
    let mut fill = EXPLICIT.to_vec();
    fill.extend_from_slice(&["--fill", "1.2"]);
    bad(&fill, "outside (0, 1]");
    // No figures at all: one line naming the flags to pass.
    bad(
        &[
            "--ingest",
            "100MB/s",
            "--rf",
            "3",
            "--consumers",
            "1",
            "--retention",
            "7d",
        ],
        "pass --disk-bw RATE for disk write, --nic RATE (or --nic-in and --nic-out) for NIC speed",
    );
    // Only the NIC missing.
    bad(
        &[
            "--ingest",
            "1MB/s",
            "--rf",
            "1",
            "--consumers",
            "0",
            "--retention",
            "1h",
            "--disk-bw",
            "1MB/s",
            "--disk-capacity",
            "1TB",
        ],
        "missing per-node figures: pass --nic RATE",
    );
    // A required flag left out: named on the one line.
    bad(
        &["--ingest", "1MB/s", "--rf", "1", "--consumers", "0"],
        "not provided: --retention",
    );
}

/// Device writes 400 and 600 MB/s, a page-cache write of 2000 MB/s, a read of 1600 MB/s;
/// probe: eth0 at 10 Gbit/s (1250 MB/s), 2 TB of disk.
fn results_file(probe: Option<Probe>) -> ResultsFile {
    results_with(
        vec![
            workload(
                "write/buffered",
                Kind::Write,
                Medium::PageCache,
                2000.0 * MB,
            ),
            workload("write/direct", Kind::Write, Medium::Device, 400.0 * MB),
            workload(
                "write/uring:direct,qd=8",
                Kind::Write,
                Medium::Device,
                600.0 * MB,
            ),
            workload("read/sendfile", Kind::Read, Medium::Network, 1600.0 * MB),
        ],
        probe,
    )
}

#[test]
fn limits_from_a_results_file() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("results.json");
    results::io::write_results(&path, &results_file(probe())).unwrap();
    let from = path.to_str().unwrap();
    // W = 100 MB/s, r = 3, c = 1, T = 1 d, U = 0.7, F = 0.8: storage
    // 3·1e8·86400/(2e12·0.8) = 16.2 binds (disk 300/(600·0.7) = 0.714) -> 17 + 1 = 18.
    let args = [
        "--ingest",
        "100MB/s",
        "--rf",
        "3",
        "--consumers",
        "1",
        "--retention",
        "1d",
        "--from",
        from,
    ];
    let v = plan_json(t.path(), &args);
    assert_eq!(
        (v["brokers"].as_u64(), v["binding"].as_str()),
        (Some(18), Some("storage")),
        "{v:#}"
    );
    let l = &v["limits"];
    assert_eq!(l["disk_write_bytes_per_s"]["value"], 600.0 * MB);
    assert_eq!(
        l["disk_write_bytes_per_s"]["source"],
        "measured: write/uring:direct,qd=8 median (device)"
    );
    assert_eq!(l["read_path_bytes_per_s"]["value"], 1600.0 * MB);
    assert_eq!(l["nic_in_bytes_per_s"]["value"], 1250.0 * MB);
    assert_eq!(
        l["nic_in_bytes_per_s"]["source"],
        "probe: eth0 speed 10000 Mbit/s"
    );
    assert_eq!(l["disk_capacity_bytes"]["value"], 2e12);
    let notes = l["notes"].to_string();
    assert!(notes.contains("preferred the device result"), "{notes}");

    // --engine picks the slower device engine; an explicit figure overrides the file's.
    let mut chosen = args.to_vec();
    chosen.extend_from_slice(&["--engine", "direct", "--disk-capacity", "100TB"]);
    // (--disk-capacity is not in `args`: a flag given twice is a clap error.)
    let v = plan_json(t.path(), &chosen);
    assert_eq!(v["limits"]["disk_write_bytes_per_s"]["value"], 400.0 * MB);
    assert_eq!(
        v["limits"]["disk_capacity_bytes"]["source"],
        "given: --disk-capacity"
    );
    // Disk: 300/(400·0.7) = 1.07; storage 2.592e13/(1e14·0.8) = 0.324; floor 3 -> 4.
    assert_eq!(
        (v["brokers"].as_u64(), v["binding"].as_str()),
        (Some(4), Some("replication_floor"))
    );

    let mut unknown = args.to_vec();
    unknown.extend_from_slice(&["--engine", "mmap"]);
    bad(&unknown, "write engine `mmap` is not in the results");

    // Without a probe the NIC and disk size are unknown: the flags to pass, and the file.
    let bare = t.path().join("bare.json");
    results::io::write_results(&bare, &results_file(None)).unwrap();
    let mut no_probe = with(&args, "--from", bare.to_str().unwrap());
    bad(
        &no_probe,
        "--nic RATE (or --nic-in and --nic-out) for NIC speed",
    );
    bad(&no_probe, "bare.json does not hold them");
    no_probe.extend_from_slice(&["--nic", "10Gbit/s", "--disk-capacity", "2TB"]);
    let v = plan_json(t.path(), &no_probe);
    assert_eq!(v["brokers"], 18);

    // Not a results file.
    let junk = t.path().join("junk.json");
    std::fs::write(&junk, "{}").unwrap();
    bad(&with(&args, "--from", junk.to_str().unwrap()), "junk.json");
}

#[test]
fn a_load_no_cluster_can_carry_is_refused_not_clamped() {
    // 1000 TB/s on 1 MB/s disks: 4.3e9 brokers, which used to print as 2147483648.
    bad(
        &[
            "--ingest",
            "1000TB/s",
            "--rf",
            "3",
            "--consumers",
            "1",
            "--retention",
            "1d",
            "--disk-bw",
            "1MB/s",
            "--nic",
            "10Gbit/s",
            "--disk-capacity",
            "2TB",
        ],
        "more than 1000000",
    );
}
