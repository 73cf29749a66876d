//! Tests of the per-node limits taken from results files and their probes.

use super::*;
use crate::figures::{ExtraFigures, ReplicationFigures};
use crate::schema::Kind;
use crate::testing::{capacity_probe as probe, results_with, workload_with as workload};

const MB: f64 = 1e6;

#[test]
fn a_replication_workload_is_not_a_disk_write_figure() {
    // By name (replicate/...), or a suite's row by its config (rf, acks).
    let mut suite_row = crate::testing::replication_row("repl", "1", 900_000.0, 100_000);
    suite_row.medium = Medium::Device;
    for row in [
        workload("replicate/acks=1", Kind::Write, Medium::Device, 900.0 * MB),
        suite_row,
    ] {
        assert_eq!(disk_write_beside_a_400_mb_direct_write(row), 400.0 * MB);
    }
}

/// The disk write figure of results holding `row` and a plain 400 MB/s direct write.
fn disk_write_beside_a_400_mb_direct_write(row: WorkloadResult) -> f64 {
    let r = results_with(
        vec![
            row,
            workload("write/direct", Kind::Write, Medium::Device, 400.0 * MB),
        ],
        None,
    );
    limits_from_results(&r)
        .unwrap()
        .disk_write_bytes_per_s
        .unwrap()
        .value
}

#[test]
fn a_steady_figure_is_preferred_over_faster_short_runs_and_the_notes_say_so() {
    use crate::steady::SteadyState;
    let with_state = |name: &str, mbps: f64, rounds: Vec<f64>| {
        let mut w = workload(name, Kind::Write, Medium::Device, mbps * MB);
        for r in &mut w.repetitions {
            r.set_steady(&SteadyState::judge(5.0, rounds.clone(), 0));
        }
        w
    };
    let steady = with_state("sustained-kafka/direct", 250.0, vec![250.0 * MB; 5]);
    let unsteady = with_state(
        "sustained-kafka/buffered",
        600.0,
        vec![900.0 * MB, 700.0 * MB, 500.0 * MB, 300.0 * MB, 600.0 * MB],
    );
    let short = workload("write/direct", Kind::Write, Medium::Device, 400.0 * MB);
    let r = results_with(vec![short.clone(), unsteady, steady], None);
    let l = limits_from_results(&r).unwrap();
    let d = l.disk_write_bytes_per_s.unwrap();
    assert_eq!(d.value, 250.0 * MB);
    assert!(d.source.contains("sustained-kafka/direct") && d.source.contains("steady"));
    assert!(
        l.notes.iter().any(|n| n
            .contains("preferred the steady figure of sustained-kafka/direct")
            && n.contains("over figures not shown steady (short runs, or runs that never settled) such as sustained-kafka/buffered")),
        "{:?}",
        l.notes
    );
    // The chosen engine: its steady result before its short one.
    let l = limits_from_results_for(&r, Some("direct")).unwrap();
    assert_eq!(l.disk_write_bytes_per_s.unwrap().value, 250.0 * MB);
    assert!(
        l.notes
            .iter()
            .any(|n| n.contains("write/direct (400 MB/s)")),
        "{:?}",
        l.notes
    );
    // Without a steady result, the best device write as before.
    let r = results_with(vec![short], None);
    let l = limits_from_results(&r).unwrap();
    assert_eq!(l.disk_write_bytes_per_s.unwrap().value, 400.0 * MB);
    assert!(!l.notes.iter().any(|n| n.contains("steady")));
}

#[test]
fn a_mixed_workloads_part_is_not_a_disk_figure() {
    let snapshot = crate::testing::mixed_row("m", "snapshot", true, &[], 1000, 900.0);
    assert_eq!(
        disk_write_beside_a_400_mb_direct_write(snapshot),
        400.0 * MB
    );
}

#[test]
fn a_result_merged_from_hosts_gives_a_per_host_figure_not_their_sum() {
    let r = crate::testing::fleet_results();
    let l = limits_from_results(&r).unwrap();
    let d = l.disk_write_bytes_per_s.unwrap();
    let w = r
        .workloads
        .iter()
        .find(|w| d.source.contains(w.name.as_str()))
        .unwrap();
    let sum = w.summary.as_ref().unwrap().throughput_bytes_per_s.median;
    assert!(d.value < sum * 0.6, "{} vs the sum {sum}", d.value);
    assert!(
        d.source.contains("median per host, over 3 hosts"),
        "{}",
        d.source
    );
}

#[test]
fn limits_from_results_prefers_device_writes_and_reads_the_probe() {
    let r = results_with(
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
            workload("write/null", Kind::Write, Medium::Memory, 9000.0 * MB),
            workload("read/sendfile", Kind::Read, Medium::Network, 1600.0 * MB),
            workload("read/readwrite", Kind::Read, Medium::Network, 1000.0 * MB),
        ],
        probe(),
    );
    let l = limits_from_results(&r).unwrap();
    let d = l.disk_write_bytes_per_s.as_ref().unwrap();
    assert_eq!(d.value, 600.0 * MB);
    assert_eq!(
        d.source,
        "measured: write/uring:direct,qd=8 median (device)"
    );
    assert!(
        l.notes
            .iter()
            .any(|n| n.contains("preferred the device result")),
        "{:?}",
        l.notes
    );
    let rp = l.read_path_bytes_per_s.as_ref().unwrap();
    assert_eq!(
        (rp.value, rp.source.as_str()),
        (1600.0 * MB, "measured: read/sendfile median (network)")
    );
    let nic = l.nic_in_bytes_per_s.as_ref().unwrap();
    assert_eq!(nic.value, 1250.0 * MB);
    assert_eq!(nic.source, "probe: eth0 speed 10000 Mbit/s");
    assert_eq!(l.nic_out_bytes_per_s, l.nic_in_bytes_per_s);
    let s = l.disk_capacity_bytes.as_ref().unwrap();
    assert_eq!(s.value, 2e12);
    assert!(
        s.source.starts_with("probe: storage total_bytes of /data"),
        "{}",
        s.source
    );

    // A chosen engine wins even when slower; a page-cache engine is flagged.
    let l = limits_from_results_for(&r, Some("direct")).unwrap();
    assert_eq!(l.disk_write_bytes_per_s.unwrap().value, 400.0 * MB);
    let l = limits_from_results_for(&r, Some("buffered")).unwrap();
    assert!(l
        .disk_write_bytes_per_s
        .unwrap()
        .source
        .contains("page cache"));
    assert!(
        l.notes.iter().any(|n| n.contains("overstates")),
        "{:?}",
        l.notes
    );
    let e = limits_from_results_for(&r, Some("mmap")).unwrap_err();
    assert!(e.to_string().contains("buffered, direct"), "{e}");
}

#[test]
fn limits_from_results_falls_back_and_tolerates_odd_probes() {
    // Only page-cache writes: used, with a note; a probe of another shape: no NIC, no disk.
    let mut skipped = workload("write/uring:sqpoll", Kind::Write, Medium::Device, 0.0);
    skipped.status = Status::Skipped {
        reason: "io_uring is disabled".into(),
    };
    let r = results_with(
        vec![
            workload(
                "write/buffered",
                Kind::Write,
                Medium::PageCache,
                2000.0 * MB,
            ),
            skipped,
        ],
        Some(Probe::from_json_lenient(serde_json::json!(
            {"cpus": 2, "nics": "eth0", "storage": {"total_bytes": -1}}
        ))),
    );
    let l = limits_from_results(&r).unwrap();
    assert!(l
        .disk_write_bytes_per_s
        .unwrap()
        .source
        .contains("page cache"));
    assert!(l
        .notes
        .iter()
        .any(|n| n.contains("no completed write reached the device")));
    assert_eq!(l.nic_in_bytes_per_s, None);
    assert_eq!(l.disk_capacity_bytes, None);
    assert_eq!(l.read_path_bytes_per_s, None);
    let e = limits_from_results_for(&r, Some("uring:sqpoll")).unwrap_err();
    assert!(
        e.to_string().contains("skipped (io_uring is disabled)"),
        "{e}"
    );
    // Nothing usable at all.
    let r = results_with(vec![], None);
    assert_eq!(limits_from_results(&r), None);
}

#[test]
fn measured_replication_replaces_the_formula_when_it_binds_and_says_so() {
    // Plain buffered write 500 MB/s; acks=all 60 MB/s with 2 follower bytes per produced
    // byte: 180 MB/s of replicated appends per node, the lower figure.
    let mut r = crate::testing::replication_results();
    r.probe = probe();
    let plain = limits_from_results(&r).unwrap();
    assert_eq!(
        with_measured_replication(&r, plain.clone(), 1),
        plain,
        "rf 1 replicates nothing"
    );
    let l = with_measured_replication(&r, plain.clone(), 3);
    let d = l.disk_write_bytes_per_s.as_ref().unwrap();
    let all = crate::replication::rows(&r)[1].bytes_per_s;
    assert!(crate::testing::close(d.value, all * 3.0), "{d:?}");
    assert!(d.source.contains("replicate/acks=all"), "{}", d.source);
    assert!(
        l.notes
            .iter()
            .any(|n| n.contains("used the measured replication cost")),
        "{:?}",
        l.notes
    );
    assert!(
        l.notes.iter().any(|n| n.contains("as the formula's r − 1")),
        "{:?}",
        l.notes
    );
    // The plan's text carries the source and the note.
    let text = crate::capacity::report_summary(&r).join(" ");
    assert!(
        text.contains("measured replication") && text.contains("replication cost"),
        "{text}"
    );

    // A slower plain disk (a device at 100 MB/s) binds first: the formula stands.
    r.workloads.push(workload(
        "write/direct",
        Kind::Write,
        Medium::Device,
        100.0 * MB,
    ));
    let l = with_measured_replication(&r, limits_from_results(&r).unwrap(), 3);
    assert_eq!(l.disk_write_bytes_per_s.as_ref().unwrap().value, 100.0 * MB);
    assert!(
        l.notes.iter().any(|n| n.contains("stands")),
        "{:?}",
        l.notes
    );
}

#[test]
fn more_bytes_to_followers_than_r_minus_1_scales_the_nic_out_limit() {
    let mut r = crate::testing::replication_results();
    r.probe = probe();
    for w in &mut r.workloads {
        for rep in &mut w.repetitions {
            if let Some(mut f) = ReplicationFigures::of(rep) {
                f.follower_bytes = vec![Some(12_500_000), Some(12_500_000)];
                f.insert_into(&mut rep.extra);
            }
        }
    }
    let l = with_measured_replication(&r, limits_from_results(&r).unwrap(), 3);
    let nic_in = l.nic_in_bytes_per_s.as_ref().unwrap().value;
    let out = l.nic_out_bytes_per_s.as_ref().unwrap();
    // 2.5 bytes sent per produced byte where the formula has 2: 0.8 of the NIC.
    assert!(crate::testing::close(out.value, nic_in * 0.8), "{out:?}");
    assert!(out.source.contains("measured"), "{}", out.source);
}

/// A write row as `--format raw` wrote it.
fn raw(mut w: WorkloadResult) -> WorkloadResult {
    w.config.insert("format".into(), serde_json::json!("raw"));
    w
}

#[test]
fn a_raw_format_row_never_sets_a_brokers_disk_limit_while_kafka_rows_exist() {
    let kafka = workload("write/direct", Kind::Write, Medium::Device, 250.0 * MB);
    let mut fast_raw = raw(workload(
        "scale-qd/qd=64/uring:direct,qd=64",
        Kind::Write,
        Medium::Device,
        1000.0 * MB,
    ));
    fast_raw.engine = "uring:direct,qd=64".into();
    let r = results_with(vec![kafka.clone(), fast_raw.clone()], None);
    let l = limits_from_results(&r).unwrap();
    let d = l.disk_write_bytes_per_s.unwrap();
    assert_eq!(d.value, 250.0 * MB);
    assert!(d.source.contains("write/direct"), "{}", d.source);
    assert!(
        l.notes
            .iter()
            .any(|n| n.contains("left out scale-qd/qd=64")),
        "{:?}",
        l.notes
    );
    // Naming the raw row's engine is refused with the reason.
    let e = limits_from_results_for(&r, Some("uring:direct,qd=64")).unwrap_err();
    assert!(e.to_string().contains("--format raw"), "{e}");
    // Raw rows alone: used, and said.
    let only = results_with(vec![fast_raw], None);
    let l = limits_from_results(&only).unwrap();
    assert_eq!(l.disk_write_bytes_per_s.unwrap().value, 1000.0 * MB);
    assert!(l.notes.iter().any(|n| n.contains("only --format raw")));
}

#[test]
fn the_read_path_is_sendfile_even_beside_a_faster_hot_mmap_read() {
    let r = results_with(
        vec![
            workload("read-hot/mmap", Kind::Read, Medium::PageCache, 4400.0 * MB),
            workload(
                "read-hot/sendfile",
                Kind::Read,
                Medium::PageCache,
                2900.0 * MB,
            ),
        ],
        None,
    );
    let l = limits_from_results_for(&r, None).unwrap();
    let p = l.read_path_bytes_per_s.unwrap();
    assert_eq!(p.value, 2900.0 * MB);
    assert!(l
        .notes
        .iter()
        .any(|n| n.contains("over the faster read-hot/mmap")));
    // No sendfile row: the best read, said.
    let r = results_with(
        vec![workload(
            "read/readwrite",
            Kind::Read,
            Medium::Network,
            1000.0 * MB,
        )],
        None,
    );
    let l = limits_from_results_for(&r, None).unwrap();
    assert_eq!(l.read_path_bytes_per_s.unwrap().value, 1000.0 * MB);
    assert!(l.notes.iter().any(|n| n.contains("no sendfile read")));
}
