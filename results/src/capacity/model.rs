//! The broker-count maths over the inputs of [`super::inputs`]: the terms of the formula in the
//! module documentation of [`crate::capacity`], its inverse [`max_ingest`], the per-broker loads
//! and the whole [`plan`].

use super::inputs::{
    CapacityError, NodeLimits, Resource, Shape, Targets, CEIL_TOLERANCE, MAX_BROKERS,
};
use super::plan::{BaselineComparison, BrokerLoads, Constraint, Highest, Plan, ResourceUse};
use crate::format;
use crate::schema::Baseline;

/// `ceil(x)`, forgiving floating-point noise above an integer (see [`CEIL_TOLERANCE`]).
fn ceil_tolerant(x: f64) -> f64 {
    (x * (1.0 - CEIL_TOLERANCE)).ceil()
}

fn check_limits(limits: &NodeLimits, required: &[Resource]) -> Result<(), CapacityError> {
    let missing: Vec<Resource> = required
        .iter()
        .copied()
        .filter(|r| limits.value(*r).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(CapacityError::MissingLimits(missing));
    }
    for r in Resource::ALL {
        if let Some(v) = limits.value(r) {
            if !(v.is_finite() && v > 0.0) {
                return Err(CapacityError::BadLimit {
                    resource: r,
                    value: v,
                });
            }
        }
    }
    Ok(())
}

fn check_shape(shape: &Shape, targets: &Targets) -> Result<(), CapacityError> {
    if shape.replication_factor == 0 {
        return Err(CapacityError::ReplicationFactor);
    }
    if let Some(t) = shape.retention_s {
        if !(t.is_finite() && t > 0.0) {
            return Err(CapacityError::Retention(t));
        }
    }
    let unit = |x: f64| x > 0.0 && x <= 1.0;
    if !unit(targets.utilization) {
        return Err(CapacityError::Utilization(targets.utilization));
    }
    if !unit(targets.fill) {
        return Err(CapacityError::Fill(targets.fill));
    }
    Ok(())
}

/// The resources with a known limit that the shape loads: (resource, per-node ingest it
/// allows at its target, i.e. `limit·target/coefficient`).
fn per_node_ceilings(
    limits: &NodeLimits,
    shape: &Shape,
    targets: &Targets,
) -> Vec<(Resource, f64)> {
    Resource::ALL
        .iter()
        .filter_map(|&r| {
            let limit = limits.value(r)?;
            let coef = shape.coefficient(r);
            (coef > 0.0).then(|| (r, limit * targets.of(r) / coef))
        })
        .collect()
}

/// Every term of the formula for ingest `w`, in [`Resource::ALL`] order; resources without a
/// known limit are left out (the read path is optional; [`plan`] requires the others).
pub fn constraints(
    limits: &NodeLimits,
    w: f64,
    shape: &Shape,
    targets: &Targets,
) -> Vec<Constraint> {
    let mut out: Vec<Constraint> = Resource::ALL
        .iter()
        .filter_map(|&r| {
            if r == Resource::ReplicationFloor {
                let rf = f64::from(shape.replication_factor);
                return Some(Constraint {
                    resource: r,
                    formula: r.formula().to_string(),
                    unit: "brokers".to_string(),
                    cluster_load: rf,
                    limit: None,
                    target: 1.0,
                    brokers_at_full: rf,
                    term: rf,
                    binding: false,
                });
            }
            if r.is_storage() && shape.retention_s.is_none() {
                return None;
            }
            let limit = limits.value(r)?;
            let cluster_load = shape.coefficient(r) * w;
            let target = targets.of(r);
            let brokers_at_full = cluster_load / limit;
            Some(Constraint {
                resource: r,
                formula: r.formula().to_string(),
                unit: if r.is_storage() {
                    "bytes"
                } else {
                    "bytes_per_s"
                }
                .to_string(),
                cluster_load,
                limit: Some(limit),
                target,
                brokers_at_full,
                term: brokers_at_full / target,
                binding: false,
            })
        })
        .collect();
    // The first of the largest terms binds; resources come before the floor, so a resource
    // that needs exactly r brokers is named rather than the floor.
    let mut best: Option<usize> = None;
    for (i, c) in out.iter().enumerate() {
        match best {
            Some(b) if c.term <= out[b].term => {}
            _ => best = Some(i),
        }
    }
    if let Some(b) = best {
        out[b].binding = true;
    }
    out
}

/// Brokers needed for ingest `w` (bytes/s): the formula of the module documentation, spare
/// included. Needs the disk write, NIC in, NIC out and (with a retention) storage figures.
pub fn brokers_needed(
    limits: &NodeLimits,
    w: f64,
    shape: &Shape,
    targets: &Targets,
) -> Result<u32, CapacityError> {
    validate(limits, w, shape, targets)?;
    let cs = constraints(limits, w, shape, targets);
    brokers_from(&cs, targets)
}

fn brokers_from(cs: &[Constraint], targets: &Targets) -> Result<u32, CapacityError> {
    let max = cs.iter().map(|c| c.term).fold(0.0f64, f64::max);
    let base = ceil_tolerant(max);
    let total = base + f64::from(targets.spare);
    if !total.is_finite() || total > f64::from(MAX_BROKERS) {
        return Err(CapacityError::TooManyBrokers(total));
    }
    Ok(total as u32)
}

fn required(shape: &Shape) -> Vec<Resource> {
    let mut v = vec![Resource::DiskWrite, Resource::NicIn, Resource::NicOut];
    if shape.retention_s.is_some() {
        v.push(Resource::Storage);
    }
    v
}

fn validate(
    limits: &NodeLimits,
    w: f64,
    shape: &Shape,
    targets: &Targets,
) -> Result<(), CapacityError> {
    if !(w.is_finite() && w > 0.0) {
        return Err(CapacityError::Ingest(w));
    }
    check_shape(shape, targets)?;
    check_limits(limits, &required(shape))
}

/// The largest ingest (bytes/s) that `brokers` brokers carry within `targets`: 0 when
/// `brokers - spare < r`. Resources without a known limit do not constrain it (infinite when
/// none is known). Consistent with [`brokers_needed`]: for this W (and any smaller one)
/// `brokers_needed` is at most `brokers`, for any larger one it is more.
pub fn max_ingest(limits: &NodeLimits, shape: &Shape, targets: &Targets, brokers: u32) -> f64 {
    let usable = i64::from(brokers) - i64::from(targets.spare);
    if usable < i64::from(shape.replication_factor.max(1)) {
        return 0.0;
    }
    let per_node = per_node_ceilings(limits, shape, targets)
        .into_iter()
        .filter(|(r, _)| !r.is_storage() || shape.retention_s.is_some())
        .map(|(_, v)| v)
        .fold(f64::INFINITY, f64::min);
    usable as f64 * per_node
}

/// Cluster throughput against broker count for the HTML report: `(brokers, max ingest
/// bytes/s)` for `brokers` from `max(rf, 1)` to `max_nodes`, flat out (100% of the measured
/// limits, no spare) and without storage (no retention). Resources without a figure (e.g. an
/// unknown NIC speed) do not constrain it; empty when no throughput figure is known.
pub fn cluster_curve(
    limits: &NodeLimits,
    rf: u32,
    consumers: u32,
    max_nodes: u32,
) -> Vec<(u32, f64)> {
    let shape = Shape {
        replication_factor: rf.max(1),
        consumer_groups: consumers,
        retention_s: None,
    };
    if per_node_ceilings(limits, &shape, &Targets::FLAT_OUT)
        .iter()
        .all(|(r, _)| r.is_storage())
    {
        return Vec::new();
    }
    (shape.replication_factor..=max_nodes)
        .map(|n| (n, max_ingest(limits, &shape, &Targets::FLAT_OUT, n)))
        .collect()
}

/// Per-broker loads of ingest `w` on `brokers` brokers.
pub fn loads(
    limits: &NodeLimits,
    w: f64,
    shape: &Shape,
    targets: &Targets,
    brokers: u32,
) -> BrokerLoads {
    let n = f64::from(brokers);
    let per = |x: f64| (brokers > 0).then(|| x / n);
    let rf = f64::from(shape.replication_factor);
    let readers = shape.readers();
    let mut utilization = Vec::new();
    for r in Resource::ALL {
        if r == Resource::ReplicationFloor || (r.is_storage() && shape.retention_s.is_none()) {
            continue;
        }
        let Some(limit) = limits.value(r) else {
            continue;
        };
        let load = shape.coefficient(r) * w / n;
        let u = (brokers > 0).then(|| load / limit);
        let target = targets.of(r);
        utilization.push(ResourceUse {
            resource: r,
            load: if brokers > 0 { load } else { f64::INFINITY },
            limit,
            utilization: u,
            target,
            within_target: u.is_some_and(|u| u <= target * (1.0 + CEIL_TOLERANCE)),
        });
    }
    let mut highest: Option<Highest> = None;
    for u in &utilization {
        if let Some(x) = u.utilization {
            match highest {
                Some(h) if x <= h.utilization => {}
                _ => {
                    highest = Some(Highest {
                        resource: u.resource,
                        utilization: x,
                    })
                }
            }
        }
    }
    // A broker count of zero has infinite loads: JSON cannot hold them, so they are null.
    for u in &mut utilization {
        if !u.load.is_finite() {
            u.load = 0.0;
        }
    }
    let replicas_placeable = brokers >= shape.replication_factor;
    let all_known = brokers > 0;
    BrokerLoads {
        brokers,
        disk_write_bytes_per_s: per(rf * w),
        nic_in_bytes_per_s: per(rf * w),
        nic_out_bytes_per_s: per(readers * w),
        catchup_read_bytes_per_s: per(readers * w),
        storage_bytes: shape.retention_s.and_then(|t| per(rf * w * t)),
        fits: all_known
            && replicas_placeable
            && utilization
                .iter()
                .all(|u| u.utilization.is_some_and(|x| x <= 1.0 + CEIL_TOLERANCE)),
        within_target: all_known
            && replicas_placeable
            && utilization.iter().all(|u| u.within_target),
        utilization,
        highest,
        replicas_placeable,
    }
}

/// The whole plan for ingest `w` (bytes/s). Needs the disk write, NIC in, NIC out and (with a
/// retention) disk capacity figures; the read path is used when known.
pub fn plan(
    limits: &NodeLimits,
    w: f64,
    shape: &Shape,
    targets: &Targets,
    baseline: &Baseline,
) -> Result<Plan, CapacityError> {
    validate(limits, w, shape, targets)?;
    let cs = constraints(limits, w, shape, targets);
    let brokers = brokers_from(&cs, targets)?;
    let binding = cs
        .iter()
        .find(|c| c.binding)
        .map(|c| c.resource)
        .unwrap_or(Resource::ReplicationFloor);
    let at_n = loads(limits, w, shape, targets, brokers);
    let down = loads(limits, w, shape, targets, brokers.saturating_sub(1));
    let throughput_only = Shape {
        retention_s: None,
        ..*shape
    };
    let at_baseline = max_ingest(limits, &throughput_only, &Targets::FLAT_OUT, baseline.nodes);
    let comparison = BaselineComparison {
        baseline_cluster_bytes_per_s: baseline.cluster_bytes_per_s,
        baseline_nodes: baseline.nodes,
        baseline_source: baseline.source.clone(),
        brokers,
        carry_bytes_per_s: max_ingest(limits, shape, targets, brokers),
        ceiling_bytes_per_s: max_ingest(limits, shape, &Targets::FLAT_OUT, brokers),
        at_baseline_nodes_bytes_per_s: at_baseline,
        at_baseline_nodes_with_retention_bytes_per_s: max_ingest(
            limits,
            shape,
            &Targets::FLAT_OUT,
            baseline.nodes,
        ),
        ratio_to_baseline: if baseline.cluster_bytes_per_s > 0.0 {
            at_baseline / baseline.cluster_bytes_per_s
        } else {
            0.0
        },
    };
    let mut notes = Vec::new();
    if shape.readers() == 0.0 {
        notes.push(
            "rf 1 and no consumer groups: brokers send nothing, NIC out and the read path do not constrain"
                .to_string(),
        );
    }
    if let (Some(dw), Some(cr)) = (at_n.disk_write_bytes_per_s, at_n.catchup_read_bytes_per_s) {
        if let Some(d) = limits.value(Resource::DiskWrite) {
            if cr > 0.0 {
                notes.push(format!(
                    "catch-up reads (worst case: every follower and group behind, page cache cold) add {} \
                     per broker to {} of writes: together {} of the disk write bandwidth",
                    format::mb_per_s(cr),
                    format::mb_per_s(dw),
                    format::percent((dw + cr) / d)
                ));
            }
        }
    }
    Ok(Plan {
        brokers,
        brokers_before_spare: brokers - targets.spare.min(brokers),
        binding,
        ingest_bytes_per_s: w,
        shape: *shape,
        targets: *targets,
        limits: limits.clone(),
        constraints: cs,
        loads: at_n,
        one_broker_down: down,
        baseline: comparison,
        consumer_group: None,
        notes,
    })
}

/// Per-broker ingest of this hardware flat out (100% of each limit, no storage) for a
/// replication factor and consumer groups, and the resource that binds it; `None` when no
/// throughput figure is known.
pub fn per_node_ingest(limits: &NodeLimits, rf: u32, consumers: u32) -> Option<(Resource, f64)> {
    let shape = Shape {
        replication_factor: rf.max(1),
        consumer_groups: consumers,
        retention_s: None,
    };
    per_node_ceilings(limits, &shape, &Targets::FLAT_OUT)
        .into_iter()
        .filter(|(r, _)| !r.is_storage())
        .fold(None, |acc: Option<(Resource, f64)>, (r, v)| match acc {
            Some((_, b)) if b <= v => acc,
            _ => Some((r, v)),
        })
}

#[cfg(test)]
mod tests {
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
}
