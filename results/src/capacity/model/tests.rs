//! Tests of the broker-count maths: which resource binds, refusals, the inverse and properties.

use super::*;
use crate::capacity::{range_split, render_text, Figure};
use crate::testing::close;
use proptest::prelude::*;

const MB: f64 = 1e6;
const DAY: f64 = 86_400.0;

/// D, NIC in, NIC out (bytes/s) and S (bytes), given explicitly.
fn limits(d: f64, nic_in: f64, nic_out: f64, s: f64) -> NodeLimits {
    NodeLimits {
        disk_write_bytes_per_s: Some(Figure::new(d, "given: --disk-bw")),
        read_path_bytes_per_s: None,
        nic_in_bytes_per_s: Some(Figure::new(nic_in, "given: --nic-in")),
        nic_out_bytes_per_s: Some(Figure::new(nic_out, "given: --nic-out")),
        disk_capacity_bytes: Some(Figure::new(s, "given: --disk-capacity")),
        notes: vec![],
    }
}

fn shape(rf: u32, c: u32, days: f64) -> Shape {
    Shape {
        replication_factor: rf,
        consumer_groups: c,
        retention_s: Some(days * DAY),
    }
}

/// U = 0.5 and F = 0.8 keep the hand arithmetic short; one spare.
const HALF: Targets = Targets {
    utilization: 0.5,
    fill: 0.8,
    spare: 1,
};

fn term(p: &Plan, r: Resource) -> f64 {
    p.constraints.iter().find(|c| c.resource == r).unwrap().term
}

// W = 100 MB/s, r = 3, c = 1, T = 1 d, S = 10 TB, U = 0.5, F = 0.8 in the cases below:
// storage term = 3·1e8·86400/(1e13·0.8) = 3.24; NIC terms with 1000 MB/s = 0.6.
#[test]
fn disk_bandwidth_binds() {
    // disk: 3·100/(100·0.5) = 6 -> 6 + 1 spare = 7.
    let l = limits(100.0 * MB, 1000.0 * MB, 1000.0 * MB, 1e13);
    let p = plan(
        &l,
        100.0 * MB,
        &shape(3, 1, 1.0),
        &HALF,
        &Baseline::default(),
    )
    .unwrap();
    assert_eq!(p.binding, Resource::DiskWrite);
    assert!(close(term(&p, Resource::DiskWrite), 6.0));
    assert!(close(term(&p, Resource::NicIn), 0.6));
    assert!(close(term(&p, Resource::NicOut), 0.6));
    assert!(close(term(&p, Resource::Storage), 3.24));
    assert!(close(term(&p, Resource::ReplicationFloor), 3.0));
    assert_eq!((p.brokers_before_spare, p.brokers), (6, 7));
    assert_eq!(p.constraints.iter().filter(|c| c.binding).count(), 1);
    // Per broker on 7: writes 300/7 MB/s, NIC out (3−1+1)·100/7, storage 2.592e13/7.
    assert!(close(
        p.loads.disk_write_bytes_per_s.unwrap(),
        300.0 * MB / 7.0
    ));
    assert!(close(
        p.loads.nic_out_bytes_per_s.unwrap(),
        300.0 * MB / 7.0
    ));
    assert!(close(
        p.loads.catchup_read_bytes_per_s.unwrap(),
        300.0 * MB / 7.0
    ));
    assert!(close(p.loads.storage_bytes.unwrap(), 2.592e13 / 7.0));
    // One broker down: 6 brokers, disk at 300/6/100 = 0.5 = U exactly: within target.
    assert_eq!(p.one_broker_down.brokers, 6);
    let Highest {
        resource: r,
        utilization: u,
    } = p.one_broker_down.highest.unwrap();
    assert_eq!(r, Resource::DiskWrite);
    assert!(close(u, 0.5));
    assert!(p.one_broker_down.fits && p.one_broker_down.within_target);
}

#[test]
fn a_load_beyond_any_cluster_is_refused_not_clamped() {
    // 1 PB/s on 1 MB/s disks: 3e9 brokers. No broker count is right: refuse.
    let l = limits(1.0 * MB, 1000.0 * MB, 1000.0 * MB, 1e13);
    let e = plan(&l, 1e15, &shape(3, 1, 1.0), &HALF, &Baseline::default()).unwrap_err();
    assert!(matches!(e, CapacityError::TooManyBrokers(_)), "{e}");
    assert!(e.to_string().contains("6.000e9 brokers"), "{e}");
    assert!(brokers_needed(&l, 1e15, &shape(3, 1, 1.0), &HALF).is_err());
}

#[test]
fn nic_in_binds() {
    // NIC in: 300/(100·0.5) = 6; disk 300/(1000·0.5) = 0.6 -> 7.
    let l = limits(1000.0 * MB, 100.0 * MB, 1000.0 * MB, 1e13);
    let p = plan(
        &l,
        100.0 * MB,
        &shape(3, 1, 1.0),
        &HALF,
        &Baseline::default(),
    )
    .unwrap();
    assert_eq!(p.binding, Resource::NicIn);
    assert!(close(term(&p, Resource::DiskWrite), 0.6));
    assert_eq!(p.brokers, 7);
}

#[test]
fn nic_out_binds() {
    // c = 3: readers r−1+c = 5; NIC out: 500/(100·0.5) = 10 -> 11.
    let l = limits(1000.0 * MB, 1000.0 * MB, 100.0 * MB, 1e13);
    let p = plan(
        &l,
        100.0 * MB,
        &shape(3, 3, 1.0),
        &HALF,
        &Baseline::default(),
    )
    .unwrap();
    assert_eq!(p.binding, Resource::NicOut);
    assert!(close(term(&p, Resource::NicOut), 10.0));
    assert_eq!(p.brokers, 11);
}

#[test]
fn storage_binds() {
    // T = 7 d: 3·1e8·604800/(1e13·0.8) = 22.68 -> 23 + 1 = 24.
    let l = limits(1000.0 * MB, 1000.0 * MB, 1000.0 * MB, 1e13);
    let p = plan(
        &l,
        100.0 * MB,
        &shape(3, 1, 7.0),
        &HALF,
        &Baseline::default(),
    )
    .unwrap();
    assert_eq!(p.binding, Resource::Storage);
    assert!(close(term(&p, Resource::Storage), 22.68));
    assert_eq!(p.brokers, 24);
    // Storage per broker on 23 (one down) = 1.8144e14/23 = 7.89e12 = 78.9% of S: under F.
    let s = p
        .one_broker_down
        .utilization
        .iter()
        .find(|u| u.resource == Resource::Storage)
        .unwrap();
    assert!(close(s.utilization.unwrap(), 1.8144e14 / 23.0 / 1e13));
    assert!(s.within_target);
}

#[test]
fn replication_factor_floor_binds() {
    // W = 1 MB/s, T = 1 h: every resource term is tiny; r = 3 -> 3 + 1 = 4.
    let l = limits(1000.0 * MB, 1000.0 * MB, 1000.0 * MB, 1e13);
    let s = Shape {
        replication_factor: 3,
        consumer_groups: 1,
        retention_s: Some(3600.0),
    };
    let p = plan(&l, 1.0 * MB, &s, &HALF, &Baseline::default()).unwrap();
    assert_eq!(p.binding, Resource::ReplicationFloor);
    assert_eq!(p.brokers, 4);
    // With one down, 3 brokers still hold 3 replicas; with no spare, 2 would not.
    assert!(p.one_broker_down.replicas_placeable);
    let no_spare = Targets { spare: 0, ..HALF };
    let p = plan(&l, 1.0 * MB, &s, &no_spare, &Baseline::default()).unwrap();
    assert_eq!(p.brokers, 3);
    assert!(!p.one_broker_down.replicas_placeable);
    assert!(!p.one_broker_down.fits);
}

#[test]
fn read_path_is_one_more_limit_when_measured() {
    // R = 50 MB/s, readers 3: 300/(50·0.5) = 12 -> 13.
    let mut l = limits(1000.0 * MB, 1000.0 * MB, 1000.0 * MB, 1e13);
    l.read_path_bytes_per_s = Some(Figure::new(50.0 * MB, "measured: read/sendfile median"));
    let p = plan(
        &l,
        100.0 * MB,
        &shape(3, 1, 1.0),
        &HALF,
        &Baseline::default(),
    )
    .unwrap();
    assert_eq!(p.binding, Resource::ReadPath);
    assert_eq!(p.brokers, 13);
}

#[test]
fn an_exact_integer_term_does_not_round_up_on_float_noise() {
    // 3·100/(100·0.6): 0.6 is not exact in binary, the term may be 5.000000000000001.
    let l = limits(100.0 * MB, 1e12, 1e12, 1e15);
    let t = Targets {
        utilization: 0.6,
        fill: 0.8,
        spare: 1,
    };
    assert_eq!(brokers_needed(&l, 100.0 * MB, &shape(3, 1, 1.0), &t), Ok(6));
    assert_eq!(ceil_tolerant(3.0000000001), 3.0);
    assert_eq!(ceil_tolerant(3.001), 4.0);
}

#[test]
fn one_broker_down_without_spare_goes_over_target_or_limit() {
    let l = limits(100.0 * MB, 1000.0 * MB, 1000.0 * MB, 1e13);
    // Disk term 6 at U = 0.5, no spare: 6 brokers; on 5, disk at 300/5/100 = 60%: over 50%.
    let t = Targets { spare: 0, ..HALF };
    let p = plan(&l, 100.0 * MB, &shape(3, 1, 1.0), &t, &Baseline::default()).unwrap();
    assert_eq!(p.brokers, 6);
    assert!(p.loads.within_target);
    assert!(p.one_broker_down.fits);
    assert!(!p.one_broker_down.within_target);
    // At U = 1: 3 brokers at 100%; on 2, disk at 150%: does not fit.
    let t = Targets {
        utilization: 1.0,
        fill: 1.0,
        spare: 0,
    };
    let p = plan(&l, 100.0 * MB, &shape(3, 1, 1.0), &t, &Baseline::default()).unwrap();
    assert_eq!(p.brokers, 3);
    assert!(close(p.one_broker_down.highest.unwrap().utilization, 1.5));
    assert!(!p.one_broker_down.fits);
    let text = render_text(&p);
    assert!(text.contains("does NOT fit"), "{text}");
}

#[test]
fn baseline_comparison() {
    // D = 100 MB/s, NIC 1000, r = 3, c = 1, T = 1 d, S = 1e13.
    // Per node flat out: disk 100/3, NIC in 1000/3, out 1000/2, storage 1e13/(3·86400)
    // = 38.58 MB/s -> disk binds at 33.3 MB/s per node; 10 nodes: 333 MB/s = 16.7x of 20 MB/s.
    let l = limits(100.0 * MB, 1000.0 * MB, 1000.0 * MB, 1e13);
    let p = plan(
        &l,
        100.0 * MB,
        &shape(3, 1, 1.0),
        &HALF,
        &Baseline::default(),
    )
    .unwrap();
    let b = &p.baseline;
    assert_eq!((b.baseline_nodes, b.brokers), (10, 7));
    assert!(close(b.at_baseline_nodes_bytes_per_s, 1000.0 * MB / 3.0));
    assert!(close(b.ratio_to_baseline, 1000.0 / 3.0 / 20.0));
    assert!(close(
        b.at_baseline_nodes_with_retention_bytes_per_s,
        b.at_baseline_nodes_bytes_per_s
    ));
    // With 7 d, storage binds: 10·1e13/(3·604800) = 55.1 MB/s on 10 nodes.
    let p7 = plan(
        &l,
        100.0 * MB,
        &shape(3, 1, 7.0),
        &HALF,
        &Baseline::default(),
    )
    .unwrap();
    assert!(close(
        p7.baseline.at_baseline_nodes_bytes_per_s,
        1000.0 * MB / 3.0
    ));
    assert!(close(
        p7.baseline.at_baseline_nodes_with_retention_bytes_per_s,
        10.0 * 1e13 / (3.0 * 7.0 * DAY)
    ));
    assert!(render_text(&p7).contains("; 55.1 MB/s with 7 d retention on these disks"));
    // 7 brokers, 1 spare, U = 0.5: 6·min(50/3, 500/3, 250, 1e13·0.8/(3·86400)) = 100 MB/s.
    assert!(close(b.carry_bytes_per_s, 100.0 * MB));
    assert!(close(b.ceiling_bytes_per_s, 7.0 * 100.0 * MB / 3.0));
    let text = render_text(&p);
    assert!(
        text.contains("7 nodes of this hardware carry 100 MB/s")
            && text.contains("vs baseline 20.0 MB/s on 10"),
        "{text}"
    );
}

#[test]
fn bad_inputs_are_refused() {
    let l = limits(100.0 * MB, 1000.0 * MB, 1000.0 * MB, 1e13);
    let b = Baseline::default();
    let s = shape(3, 1, 1.0);
    assert_eq!(
        plan(&l, 1.0, &shape(0, 1, 1.0), &HALF, &b).unwrap_err(),
        CapacityError::ReplicationFactor
    );
    for u in [0.0, -0.1, 1.01, f64::NAN] {
        let t = Targets {
            utilization: u,
            ..HALF
        };
        assert!(matches!(
            plan(&l, 1.0, &s, &t, &b),
            Err(CapacityError::Utilization(_))
        ));
        let t = Targets { fill: u, ..HALF };
        assert!(matches!(
            plan(&l, 1.0, &s, &t, &b),
            Err(CapacityError::Fill(_))
        ));
    }
    assert!(matches!(
        plan(&l, 0.0, &s, &HALF, &b),
        Err(CapacityError::Ingest(_))
    ));
    let mut missing = l.clone();
    missing.nic_in_bytes_per_s = None;
    missing.disk_capacity_bytes = None;
    let e = plan(&missing, 1.0, &s, &HALF, &b).unwrap_err();
    assert_eq!(
        e,
        CapacityError::MissingLimits(vec![Resource::NicIn, Resource::Storage])
    );
    assert_eq!(e.to_string(), "missing per-node figures: NIC in, storage");
    // Without a retention, storage is not needed.
    let no_t = Shape {
        retention_s: None,
        ..s
    };
    missing.nic_in_bytes_per_s = l.nic_in_bytes_per_s.clone();
    assert!(plan(&missing, 1.0, &no_t, &HALF, &b).is_ok());
    let mut zero = l.clone();
    zero.disk_write_bytes_per_s = Some(Figure::new(0.0, "x"));
    assert!(matches!(
        plan(&zero, 1.0, &s, &HALF, &b),
        Err(CapacityError::BadLimit { .. })
    ));
}

#[test]
fn cluster_curve_is_max_ingest_flat_out() {
    let l = limits(100.0 * MB, 1000.0 * MB, 1000.0 * MB, 1e13);
    let c = cluster_curve(&l, 3, 1, 10);
    assert_eq!(c.first().map(|p| p.0), Some(3));
    assert_eq!(c.len(), 8);
    for (n, w) in &c {
        assert!(close(*w, f64::from(*n) * 100.0 * MB / 3.0), "{n}: {w}");
    }
    // rf 1, one group: disk binds at 100 MB/s per node.
    let c1 = cluster_curve(&l, 1, 1, 10);
    assert!(close(c1[9].1, 1000.0 * MB));
    // An unknown NIC does not constrain the curve; no figure at all gives no curve.
    let mut only_disk = l.clone();
    only_disk.nic_in_bytes_per_s = None;
    only_disk.nic_out_bytes_per_s = None;
    assert_eq!(cluster_curve(&only_disk, 3, 1, 10), c);
    assert!(cluster_curve(&NodeLimits::default(), 3, 1, 10).is_empty());
}

#[test]
fn plan_serializes_with_a_top_level_brokers_field() {
    let l = limits(100.0 * MB, 1000.0 * MB, 1000.0 * MB, 1e13);
    let mut p = plan(
        &l,
        100.0 * MB,
        &shape(3, 1, 1.0),
        &HALF,
        &Baseline::default(),
    )
    .unwrap();
    p.consumer_group = Some(range_split(10, 4, Some(100.0 * MB)).unwrap());
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["brokers"], 7);
    assert_eq!(v["binding"], "disk_write");
    assert_eq!(v["constraints"].as_array().unwrap().len(), 5);
    assert_eq!(
        v["limits"]["disk_write_bytes_per_s"]["source"],
        "given: --disk-bw"
    );
    let back: Plan = serde_json::from_value(v).unwrap();
    assert_eq!(back, p);
}

fn arb_limits() -> impl Strategy<Value = NodeLimits> {
    (
        1.0f64..5000.0,
        1.0f64..5000.0,
        1.0f64..5000.0,
        1.0f64..100_000.0,
    )
        .prop_map(|(d, i, o, s)| limits(d * MB, i * MB, o * MB, s * 1e9))
}

fn arb_shape() -> impl Strategy<Value = Shape> {
    (1u32..6, 0u32..6, 0.01f64..30.0).prop_map(|(r, c, days)| shape(r, c, days))
}

fn arb_targets() -> impl Strategy<Value = Targets> {
    (0.05f64..=1.0, 0.05f64..=1.0, 0u32..3).prop_map(|(u, f, s)| Targets {
        utilization: u,
        fill: f,
        spare: s,
    })
}

/// Brokers needed as a number: infinite where the load needs more than a plan counts
/// ([`CapacityError::TooManyBrokers`]), so "needs more" stays comparable.
fn needed(l: &NodeLimits, w: f64, s: &Shape, t: &Targets) -> f64 {
    match brokers_needed(l, w, s, t) {
        Ok(n) => f64::from(n),
        Err(CapacityError::TooManyBrokers(_)) => f64::INFINITY,
        Err(e) => panic!("{e}"),
    }
}

proptest! {
    #[test]
    fn more_ingest_or_retention_never_needs_fewer_brokers(
        l in arb_limits(), s in arb_shape(), t in arb_targets(),
        w in 0.1f64..5000.0, more in 1.0f64..10.0,
    ) {
        let n = needed(&l, w * MB, &s, &t);
        prop_assert!(needed(&l, w * MB * more, &s, &t) >= n);
        let longer = Shape { retention_s: s.retention_s.map(|r| r * more), ..s };
        prop_assert!(needed(&l, w * MB, &longer, &t) >= n);
        prop_assert!(n >= f64::from(s.replication_factor + t.spare));
    }

    #[test]
    fn more_disk_bandwidth_never_needs_more_brokers(
        l in arb_limits(), s in arb_shape(), t in arb_targets(),
        w in 0.1f64..5000.0, more in 1.0f64..10.0,
    ) {
        let n = needed(&l, w * MB, &s, &t);
        let mut faster = l.clone();
        faster.disk_write_bytes_per_s.as_mut().unwrap().value *= more;
        prop_assert!(needed(&faster, w * MB, &s, &t) <= n);
    }

    #[test]
    fn max_ingest_is_the_inverse_of_brokers_needed(
        l in arb_limits(), s in arb_shape(), t in arb_targets(), n in 1u32..300,
    ) {
        let w = max_ingest(&l, &s, &t, n);
        if n < s.replication_factor + t.spare {
            prop_assert_eq!(w, 0.0);
        } else {
            prop_assert!(w > 0.0 && w.is_finite());
            prop_assert_eq!(brokers_needed(&l, w, &s, &t).unwrap(), n);
            prop_assert!(brokers_needed(&l, w * 0.999, &s, &t).unwrap() <= n);
            prop_assert!(brokers_needed(&l, w * 1.001, &s, &t).unwrap() > n);
        }
    }

    #[test]
    fn the_plan_fits_on_its_own_brokers(
        l in arb_limits(), s in arb_shape(), t in arb_targets(), w in 0.1f64..5000.0,
    ) {
        // A load past the broker limit has no plan to check (it is refused, never clamped).
        let p = match plan(&l, w * MB, &s, &t, &Baseline::default()) {
            Err(CapacityError::TooManyBrokers(_)) => return Ok(()),
            p => p.unwrap(),
        };
        prop_assert!(p.loads.within_target, "{:?}", p.loads);
        prop_assert!(p.baseline.carry_bytes_per_s >= w * MB * (1.0 - 1e-6));
        if t.spare >= 1 {
            prop_assert!(p.one_broker_down.within_target);
        }
    }
}
