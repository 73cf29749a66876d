//! The cluster tables on the three-host fixture, one figure checked by hand.

use super::*;
use crate::testing::{
    close, fleet_results, fleet_results_late, fleet_results_same_hardware, BUFFERED_MB_PER_S,
    OTHER_FINGERPRINT,
};

fn column(t: &Table, name: &str) -> usize {
    t.columns.iter().position(|(h, _)| h == name).unwrap()
}

#[test]
fn the_aggregate_is_compared_with_the_baseline_and_linear_scaling_at_the_same_host_count() {
    let r = fleet_results();
    let f = fleet(&r).unwrap();
    let points = baseline_points(&r, f);
    assert_eq!(points.len(), 6, "2 workloads on 1, 2 and 3 hosts");
    let p = points
        .iter()
        .find(|p| p.workload == "write/buffered" && p.hosts == 3)
        .unwrap();
    // By hand: the median repetition moves 500 + 480 + 400 MB in 1 s on each host; node-c
    // starts 4 ms after node-a, so last end − first start is 1.004 s.
    let sum: f64 = BUFFERED_MB_PER_S.iter().sum::<f64>() * 1e6;
    // (Windows are whole ns on an epoch timeline: equal to within a millionth.)
    assert!(
        (p.measured_bytes_per_s / (sum / 1.004) - 1.0).abs() < 1e-6,
        "{p:?}"
    );
    // Baseline at 3 nodes: 2 MB/s per node (20 MB/s on 10) × 3.
    assert!(close(p.baseline_bytes_per_s, 6e6), "{p:?}");
    // Linear: 3 × node-a alone (500 MB/s in its 1 s).
    assert!(close(p.linear_bytes_per_s.unwrap(), 1500e6), "{p:?}");
    assert_eq!(p.medium, Some(Medium::PageCache));
    let t = baseline_table(&r, f);
    let row = t
        .rows
        .iter()
        .find(|row| row[0] == "write/buffered" && row[2] == "3")
        .unwrap();
    assert_eq!(row[column(&t, "measured")], "page cache");
    assert_eq!(row[column(&t, "aggregate (MB/s)")], "1375"); // 1380 / 1.004 = 1374.5
    assert_eq!(row[column(&t, "baseline × hosts (MB/s)")], "6.00");
    assert_eq!(row[column(&t, "× baseline")], "229×"); // 1374.5 / 6
    assert_eq!(row[column(&t, "linear: hosts × 1 host (MB/s)")], "1500");
    assert_eq!(row[column(&t, "of linear")], "91.6%"); // 1374.5 / 1500
    assert!(baseline_note(&r).contains("2.00 MB/s per node (classic: ~20 MB/s"));
}

#[test]
fn without_scaling_the_local_phase_is_compared_and_linear_is_unknown() {
    let mut r = fleet_results();
    r.fleet.as_mut().unwrap().scaling.clear();
    let f = fleet(&r).unwrap();
    let points = baseline_points(&r, f);
    assert_eq!(points.len(), 2);
    assert!(points
        .iter()
        .all(|p| p.hosts == 3 && p.linear_bytes_per_s.is_none()));
    let t = baseline_table(&r, f);
    assert_eq!(t.rows[0][column(&t, "of linear")], MISSING);
}

#[test]
fn hosts_show_offsets_with_their_uncertainty_and_differing_fingerprints() {
    let r = fleet_results();
    let f = fleet(&r).unwrap();
    let t = hosts_table(f);
    assert_eq!(t.rows.len(), 3);
    let offset = column(&t, "clock offset to rank 0");
    assert_eq!(t.rows[0][offset], "0 (reference)");
    assert_eq!(t.rows[1][offset], "+0.152 ms ± 0.041 ms");
    assert_eq!(t.rows[2][offset], "−0.088 ms ± 0.038 ms");
    let fp = column(&t, "probe fingerprint");
    assert_eq!(
        t.rows[2][fp],
        format!("{OTHER_FINGERPRINT} (differs from rank 0)")
    );
    assert!(!t.rows[1][fp].contains("differs"));
    let w = warnings(f);
    assert!(
        w[0].starts_with("the hosts have different (or unknown) hardware"),
        "{w:?}"
    );
    assert_eq!(
        w.iter().filter(|x| x.contains("hardware")).count(),
        1,
        "once"
    );
    let same = fleet_results_same_hardware();
    assert!(warnings(fleet(&same).unwrap()).is_empty());
    assert!(summary_line(f).contains("within ± 0.041 ms"));
}

#[test]
fn hosts_that_did_not_run_at_once_are_a_warning() {
    let r = fleet_results_late(0.4);
    let w = warnings(fleet(&r).unwrap());
    assert!(
        w.iter().any(|x| x.contains("they did not run at once")),
        "{w:?}"
    );
}

#[test]
fn the_ring_fills_one_cell_per_sender() {
    let r = fleet_results();
    let f = fleet(&r).unwrap();
    assert_eq!(network_engines(f), ["sendfile", "readwrite"]);
    let m = network_matrix(f, "sendfile");
    for (i, row) in m.iter().enumerate() {
        for (j, cell) in row.iter().enumerate() {
            assert_eq!(cell.is_some(), j == (i + 1) % 3, "{i} → {j}");
        }
    }
    let t = network_matrix_table(f, "sendfile");
    assert_eq!(t.rows[0], ["rank 0 node-a", "–", "1100 MB/s", "–"]);
    assert_eq!(network_table(f).rows.len(), 6, "3 pairs × 2 engines");
}

#[test]
fn single_host_results_have_no_cluster_part() {
    let r = crate::testing::results();
    assert!(fleet(&r).is_none());
    let mut empty = r.clone();
    empty.fleet = Some(FleetInfo::default());
    assert!(fleet(&empty).is_none(), "a fleet without hosts");
}

#[test]
fn the_replication_table_has_the_leaders_acks_modes_and_each_follower_or_its_failure() {
    use crate::fleet::{FleetReplication, ReplicaFollower};
    use crate::testing::{buffered_write, plain_repetition};
    let mut r = fleet_results();
    assert!(replication_table(&r, fleet(&r).unwrap()).is_none());
    // The leader's row: 1000 records/s; latencies 0.5 … 1.5 ms, p99 about 1.49 ms.
    r.workloads.push(buffered_write(
        "replicate/acks=all",
        vec![plain_repetition(0, 1e6, 1_000_000, 0.5)],
    ));
    r.fleet.as_mut().unwrap().replication = Some(FleetReplication {
        leader_rank: 0,
        rf: 3,
        leader_addr: "198.18.0.11:4000".into(),
        followers: vec![
            ReplicaFollower {
                rank: 1,
                follower: Some(2),
                bytes: 2_000_000_000,
                cpu_s: 1.0,
                repetitions: 3,
                ..Default::default()
            },
            ReplicaFollower {
                rank: 2,
                error: Some("the leader went away".into()),
                ..Default::default()
            },
        ],
    });
    let f = fleet(&r).unwrap();
    let t = replication_table(&r, f).unwrap();
    assert_eq!(t.rows.len(), 3);
    assert!(t.rows[0][0].starts_with("rank 0 ") && t.rows[0][0].ends_with("leader, rf 3"));
    assert_eq!(t.rows[0][column(&t, "records/s")], "1.00 k/s");
    assert!(t.rows[0][column(&t, "produce p99")].ends_with(" ms"));
    assert!(t.rows[1][0].starts_with("rank 1 ") && t.rows[1][0].ends_with(" follower 2"));
    assert_eq!(t.rows[1][column(&t, "workload")], "3 repetitions");
    assert_eq!(t.rows[1][column(&t, "CPU (s/GB)")], "0.500");
    assert_eq!(
        t.rows[2][column(&t, "workload")],
        "failed: the leader went away"
    );
    assert_eq!(t.rows[2][column(&t, "CPU (s/GB)")], MISSING);
}
