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
mod tests;
