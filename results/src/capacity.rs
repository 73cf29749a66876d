//! The capacity model: how many brokers a target load needs on measured hardware, which
//! resource binds first, and how that compares with a baseline cluster.
//!
//! With W the produced bytes/s, r the replication factor, c the consumer groups, T the
//! retention and N brokers, each broker of a balanced cluster carries (`REFERENCE.md`,
//! "Capacity planning"):
//!
//! | load                   | per broker        | limited by                 |
//! |------------------------|-------------------|----------------------------|
//! | disk writes            | r·W/N             | disk write bandwidth D     |
//! | NIC in                 | r·W/N             | NIC receive speed          |
//! | NIC out                | (r−1+c)·W/N       | NIC send speed             |
//! | catch-up disk reads    | up to (r−1+c)·W/N | (shares the disk)          |
//! | storage                | r·W·T/N           | disk capacity S            |
//!
//! so `N = ceil(max(r·W/(D·U), r·W/(NICin·U), (r−1+c)·W/(NICout·U), r·W·T/(S·F), r)) + spare`,
//! U the target utilisation of a measured maximum and F the target disk fill. When the read
//! path (the serving engine, e.g. `sendfile`) was measured, it is one more limit on what a
//! broker sends: `(r−1+c)·W/(R·U)`.
//!
//! The inverse, [`max_ingest`], is the largest W that N brokers carry; it is consistent with
//! [`brokers_needed`]: `brokers_needed(max_ingest(N)) == N`.
//!
//! Everything here is a pure function of its arguments; the binary reads files and prints.

use serde::{Deserialize, Serialize};

use crate::format;
use crate::probe::Probe;
use crate::schema::{Baseline, Kind, Medium, ResultsFile, Status, WorkloadResult};

/// Default target utilisation of a measured sustained maximum (REFERENCE: 0.6–0.7).
pub const DEFAULT_UTILIZATION: f64 = 0.7;

/// Default target disk fill.
pub const DEFAULT_FILL: f64 = 0.8;

/// Default spare brokers, so the load still fits with one broker down.
pub const DEFAULT_SPARE: u32 = 1;

/// Relative tolerance of the final `ceil`: the inputs are measurements rounded far coarser
/// than this, so a term of `3.0000000001` (floating-point noise of an exact 3) needs 3
/// brokers, not 4.
const CEIL_TOLERANCE: f64 = 1e-9;

/// One per-node figure and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The value, in the unit of the field holding it.
    pub value: f64,
    /// Where it came from, e.g. `measured: write/uring:direct,qd=8 median (device)`,
    /// `given: --nic-in`, `probe: eth0 speed 10000 Mbit/s`.
    pub source: String,
}

impl Figure {
    /// A figure with its source.
    pub fn new(value: f64, source: impl Into<String>) -> Self {
        Figure {
            value,
            source: source.into(),
        }
    }
}

/// What one broker of this hardware can sustain. A missing figure is `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeLimits {
    /// Sustained disk write bandwidth D, bytes/s.
    pub disk_write_bytes_per_s: Option<Figure>,
    /// What the read path (the serving engine) delivers, bytes/s; optional limit on egress.
    pub read_path_bytes_per_s: Option<Figure>,
    /// NIC receive speed, bytes/s.
    pub nic_in_bytes_per_s: Option<Figure>,
    /// NIC send speed, bytes/s.
    pub nic_out_bytes_per_s: Option<Figure>,
    /// Disk capacity S for log data, bytes.
    pub disk_capacity_bytes: Option<Figure>,
    /// How the figures were chosen (e.g. a device result preferred over page-cache ones).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl NodeLimits {
    fn value(&self, r: Resource) -> Option<f64> {
        let f = match r {
            Resource::DiskWrite => &self.disk_write_bytes_per_s,
            Resource::NicIn => &self.nic_in_bytes_per_s,
            Resource::NicOut => &self.nic_out_bytes_per_s,
            Resource::ReadPath => &self.read_path_bytes_per_s,
            Resource::Storage => &self.disk_capacity_bytes,
            Resource::ReplicationFloor => return None,
        };
        f.as_ref().map(|f| f.value)
    }
}

/// A resource that limits the cluster size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// Disk write bandwidth.
    DiskWrite,
    /// NIC receive speed.
    NicIn,
    /// NIC send speed.
    NicOut,
    /// The measured read (serving) path.
    ReadPath,
    /// Disk capacity.
    Storage,
    /// At least `r` brokers to place `r` replicas.
    ReplicationFloor,
}

impl Resource {
    /// Every resource, in the order constraints are listed.
    pub const ALL: [Resource; 6] = [
        Resource::DiskWrite,
        Resource::NicIn,
        Resource::NicOut,
        Resource::ReadPath,
        Resource::Storage,
        Resource::ReplicationFloor,
    ];

    /// Name for people: `disk write`, `NIC in`, ...
    pub fn label(self) -> &'static str {
        match self {
            Resource::DiskWrite => "disk write",
            Resource::NicIn => "NIC in",
            Resource::NicOut => "NIC out",
            Resource::ReadPath => "read path",
            Resource::Storage => "storage",
            Resource::ReplicationFloor => "replication floor",
        }
    }

    /// The constraint's term in the broker-count formula.
    pub fn formula(self) -> &'static str {
        match self {
            Resource::DiskWrite => "r·W/(D·U)",
            Resource::NicIn => "r·W/(NICin·U)",
            Resource::NicOut => "(r−1+c)·W/(NICout·U)",
            Resource::ReadPath => "(r−1+c)·W/(R·U)",
            Resource::Storage => "r·W·T/(S·F)",
            Resource::ReplicationFloor => "r",
        }
    }

    /// Whether the resource is a capacity in bytes (storage) rather than bytes/s.
    fn is_storage(self) -> bool {
        self == Resource::Storage
    }
}

/// How produced bytes turn into per-broker load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// Replication factor r (at least 1).
    pub replication_factor: u32,
    /// Consumer groups c, each reading everything once.
    pub consumer_groups: u32,
    /// Retention T, seconds; `None` leaves storage out (throughput only).
    pub retention_s: Option<f64>,
}

impl Shape {
    /// r·(unit) of each resource per produced byte/s (storage: per produced byte).
    fn coefficient(&self, r: Resource) -> f64 {
        let rf = f64::from(self.replication_factor);
        match r {
            Resource::DiskWrite | Resource::NicIn => rf,
            Resource::NicOut | Resource::ReadPath => rf - 1.0 + f64::from(self.consumer_groups),
            Resource::Storage => rf * self.retention_s.unwrap_or(0.0),
            Resource::ReplicationFloor => 0.0,
        }
    }

    /// Readers of every produced byte besides the leader's write: followers plus groups.
    fn readers(&self) -> f64 {
        self.coefficient(Resource::NicOut)
    }
}

/// Head-room targets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// Target utilisation U of each measured throughput limit, in (0, 1].
    pub utilization: f64,
    /// Target disk fill F, in (0, 1].
    pub fill: f64,
    /// Brokers added on top, for failures and maintenance.
    pub spare: u32,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            utilization: DEFAULT_UTILIZATION,
            fill: DEFAULT_FILL,
            spare: DEFAULT_SPARE,
        }
    }
}

impl Targets {
    /// Flat out: 100% utilisation and fill, no spare (the hardware's ceiling).
    pub const FLAT_OUT: Targets = Targets {
        utilization: 1.0,
        fill: 1.0,
        spare: 0,
    };

    fn of(&self, r: Resource) -> f64 {
        if r.is_storage() {
            self.fill
        } else {
            self.utilization
        }
    }
}

/// Why a plan cannot be made. Messages are one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CapacityError {
    /// Per-node figures the plan needs are unknown.
    #[error("missing per-node figures: {}", labels(.0))]
    MissingLimits(Vec<Resource>),
    /// A per-node figure is zero, negative or not finite.
    #[error("the {} figure {value} is not a positive number", .resource.label())]
    BadLimit {
        /// The resource.
        resource: Resource,
        /// The value.
        value: f64,
    },
    /// Replication factor 0.
    #[error("the replication factor must be at least 1")]
    ReplicationFactor,
    /// Ingest rate zero, negative or not finite.
    #[error("the ingest rate must be a positive number of bytes/s, got {0}")]
    Ingest(f64),
    /// Retention zero, negative or not finite.
    #[error("the retention must be a positive number of seconds, got {0}")]
    Retention(f64),
    /// Utilisation outside (0, 1].
    #[error("the target utilisation must be in (0, 1], got {0}")]
    Utilization(f64),
    /// Fill outside (0, 1].
    #[error("the target disk fill must be in (0, 1], got {0}")]
    Fill(f64),
    /// Zero partitions or consumer instances.
    #[error("partitions and consumer instances must be at least 1 (got {partitions} partitions, {instances} instances)")]
    Group {
        /// Partitions given.
        partitions: u32,
        /// Instances given.
        instances: u32,
    },
    /// The chosen write engine has no usable figure in the results.
    #[error("write engine `{engine}` {reason}")]
    Engine {
        /// The engine asked for.
        engine: String,
        /// Why it cannot be used (absent, skipped, no summary), with the engines available.
        reason: String,
    },
}

fn labels(v: &[Resource]) -> String {
    v.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ")
}

/// One term of the broker-count formula.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    /// The resource.
    pub resource: Resource,
    /// The term, e.g. `r·W/(D·U)`.
    pub formula: String,
    /// `bytes_per_s`, `bytes` or `brokers`: the unit of `cluster_load` and `limit`.
    pub unit: String,
    /// What the whole cluster must carry on this resource (e.g. r·W).
    pub cluster_load: f64,
    /// Per-broker limit (D, NIC speed, S); null for the replication floor.
    pub limit: Option<f64>,
    /// Target share of the limit (U, F; 1 for the floor).
    pub target: f64,
    /// Brokers needed at 100% of the limit: `cluster_load / limit`.
    pub brokers_at_full: f64,
    /// The term: `brokers_at_full / target`.
    pub term: f64,
    /// True for the largest term (the first of equals).
    pub binding: bool,
}

/// Use of one resource on each broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceUse {
    /// The resource.
    pub resource: Resource,
    /// Per-broker load (bytes/s, or bytes for storage).
    pub load: f64,
    /// Per-broker limit.
    pub limit: f64,
    /// `load / limit`; null with no broker.
    pub utilization: Option<f64>,
    /// The target (U, or F for storage).
    pub target: f64,
    /// `utilization <= target`.
    pub within_target: bool,
}

/// The most used resource on each broker.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Highest {
    /// The resource.
    pub resource: Resource,
    /// Its utilisation (load / limit).
    pub utilization: f64,
}

/// Per-broker loads on a given number of brokers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerLoads {
    /// Brokers sharing the load.
    pub brokers: u32,
    /// Disk writes r·W/N, bytes/s.
    pub disk_write_bytes_per_s: Option<f64>,
    /// NIC in r·W/N, bytes/s.
    pub nic_in_bytes_per_s: Option<f64>,
    /// NIC out (r−1+c)·W/N, bytes/s.
    pub nic_out_bytes_per_s: Option<f64>,
    /// Catch-up disk reads, worst case (every follower and group behind, page cache cold):
    /// (r−1+c)·W/N, bytes/s.
    pub catchup_read_bytes_per_s: Option<f64>,
    /// Retained data r·W·T/N, bytes.
    pub storage_bytes: Option<f64>,
    /// Each limited resource's utilisation.
    pub utilization: Vec<ResourceUse>,
    /// Highest utilisation and its resource.
    pub highest: Option<Highest>,
    /// Every replica of a partition can be placed on a different broker (brokers >= r).
    pub replicas_placeable: bool,
    /// Every utilisation is at most 1 and the replicas can be placed.
    pub fits: bool,
    /// Every utilisation is within its target and the replicas can be placed.
    pub within_target: bool,
}

/// The planned cluster against the baseline cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineComparison {
    /// The baseline cluster's throughput, bytes/s.
    pub baseline_cluster_bytes_per_s: f64,
    /// The baseline cluster's nodes.
    pub baseline_nodes: u32,
    /// Where the baseline comes from.
    pub baseline_source: String,
    /// Brokers of the plan.
    pub brokers: u32,
    /// Largest ingest those brokers carry within the targets (utilisation, fill, spare).
    pub carry_bytes_per_s: f64,
    /// Largest ingest those brokers carry flat out (100%, no spare).
    pub ceiling_bytes_per_s: f64,
    /// Largest ingest `baseline_nodes` brokers of this hardware carry flat out, same r and c,
    /// throughput alone (the hardware comparison: the baseline is a throughput figure).
    pub at_baseline_nodes_bytes_per_s: f64,
    /// The same with the retention's storage constraint on this hardware's disks.
    pub at_baseline_nodes_with_retention_bytes_per_s: f64,
    /// `at_baseline_nodes_bytes_per_s / baseline_cluster_bytes_per_s`.
    pub ratio_to_baseline: f64,
}

/// A consumer group's partitions under Kafka's range assignor: each of K instances gets
/// floor(P/K), the first P mod K one more; instances beyond P stay idle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeSplit {
    /// Partitions P.
    pub partitions: u32,
    /// Instances K.
    pub instances: u32,
    /// Instances with at least one partition.
    pub active_instances: u32,
    /// Instances with none.
    pub idle_instances: u32,
    /// Partitions of the most loaded instance: ceil(P/K).
    pub most_partitions: u32,
    /// Partitions of the least loaded instance: floor(P/K) (0 when some are idle).
    pub least_partitions: u32,
    /// Instances holding `most_partitions`.
    pub instances_with_most: u32,
    /// Every instance has the same number of partitions.
    pub even: bool,
    /// The multiples of K nearest P (below, if any, and above): partition counts that split
    /// evenly over K instances.
    pub even_partition_counts: Vec<u32>,
    /// The divisors of P nearest K (below and above, up to P): instance counts that split P evenly.
    pub even_instance_counts: Vec<u32>,
    /// Ingest share of the most loaded instance, bytes/s, when the ingest is known (partitions
    /// assumed equally busy).
    pub busiest_instance_bytes_per_s: Option<f64>,
    /// Ingest share of the least loaded instance, bytes/s.
    pub quietest_instance_bytes_per_s: Option<f64>,
}

/// A capacity plan: the answer of `segbench plan`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Brokers needed, spare included.
    pub brokers: u32,
    /// Brokers needed before the spare: the ceiling of the largest term.
    pub brokers_before_spare: u32,
    /// The resource of the largest term.
    pub binding: Resource,
    /// Produced bytes/s W.
    pub ingest_bytes_per_s: f64,
    /// Replication, consumer groups, retention.
    pub shape: Shape,
    /// Utilisation, fill, spare.
    pub targets: Targets,
    /// The per-node figures used and where each came from.
    pub limits: NodeLimits,
    /// Every term of the formula.
    pub constraints: Vec<Constraint>,
    /// Per-broker loads on `brokers`.
    pub loads: BrokerLoads,
    /// Per-broker loads with one broker down (`brokers - 1`).
    pub one_broker_down: BrokerLoads,
    /// This hardware against the baseline cluster.
    pub baseline: BaselineComparison,
    /// The consumer group split, when partitions and instances were given.
    pub consumer_group: Option<RangeSplit>,
    /// Caveats.
    pub notes: Vec<String>,
}

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
    Ok(brokers_from(&cs, targets))
}

fn brokers_from(cs: &[Constraint], targets: &Targets) -> u32 {
    let max = cs.iter().map(|c| c.term).fold(0.0f64, f64::max);
    let base = ceil_tolerant(max).min(f64::from(u32::MAX / 2));
    (base as u32).saturating_add(targets.spare)
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
    let brokers = brokers_from(&cs, targets);
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

/// The range-assignor split of `partitions` over `instances`, with the ingest share of the
/// busiest and quietest instance when `ingest_bytes_per_s` is given.
pub fn range_split(
    partitions: u32,
    instances: u32,
    ingest_bytes_per_s: Option<f64>,
) -> Result<RangeSplit, CapacityError> {
    if partitions == 0 || instances == 0 {
        return Err(CapacityError::Group {
            partitions,
            instances,
        });
    }
    let (p, k) = (partitions, instances);
    let least_active = p / k;
    let extra = p % k;
    let active = k.min(p);
    let most = least_active + u32::from(extra > 0);
    let instances_with_most = if extra > 0 { extra } else { k };
    let least = least_active; // 0 when k > p: the idle ones
    let mut even_partition_counts = Vec::new();
    let below = p / k * k;
    if below > 0 {
        even_partition_counts.push(below);
    }
    let above = p.div_ceil(k).saturating_mul(k);
    if above != below {
        even_partition_counts.push(above);
    }
    let divisors: Vec<u32> = (1..=p).filter(|d| p % d == 0).collect();
    let mut even_instance_counts = Vec::new();
    if let Some(d) = divisors.iter().rev().find(|&&d| d <= k) {
        even_instance_counts.push(*d);
    }
    if let Some(d) = divisors.iter().find(|&&d| d >= k) {
        if even_instance_counts.last() != Some(d) {
            even_instance_counts.push(*d);
        }
    }
    let share = |n: u32| ingest_bytes_per_s.map(|w| w * f64::from(n) / f64::from(p));
    Ok(RangeSplit {
        partitions: p,
        instances: k,
        active_instances: active,
        idle_instances: k - active,
        most_partitions: most,
        least_partitions: least,
        instances_with_most,
        even: extra == 0,
        even_partition_counts,
        even_instance_counts,
        busiest_instance_bytes_per_s: share(most),
        quietest_instance_bytes_per_s: share(least),
    })
}

// ---------------------------------------------------------------------------------------------
// Per-node limits from a results file.

fn usable_median(w: &WorkloadResult) -> Option<f64> {
    if !matches!(w.status, Status::Completed) {
        return None;
    }
    let m = w.summary.as_ref()?.throughput_bytes_per_s.median;
    (m.is_finite() && m > 0.0).then_some(m)
}

fn best<'a>(ws: impl Iterator<Item = &'a WorkloadResult>) -> Option<(&'a WorkloadResult, f64)> {
    ws.filter_map(|w| usable_median(w).map(|m| (w, m))).fold(
        None,
        |acc: Option<(&WorkloadResult, f64)>, (w, m)| match acc {
            Some((_, b)) if b >= m => acc,
            _ => Some((w, m)),
        },
    )
}

fn measured(w: &WorkloadResult, m: f64, what: &str) -> Figure {
    Figure::new(m, format!("measured: {} median ({what})", w.name))
}

/// The disk write figure: the chosen engine's, else the best device-medium write, else the
/// best page-cache write (labelled as such).
fn disk_write(
    r: &ResultsFile,
    engine: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Option<Figure>, CapacityError> {
    let writes = || r.workloads.iter().filter(|w| w.kind == Kind::Write);
    if let Some(e) = engine {
        let matches: Vec<&WorkloadResult> = writes()
            .filter(|w| w.engine == e || w.name == e || w.name == format!("write/{e}"))
            .collect();
        if matches.is_empty() {
            let names: Vec<&str> = writes().map(|w| w.engine.as_str()).collect();
            return Err(CapacityError::Engine {
                engine: e.to_string(),
                reason: if names.is_empty() {
                    "is not in the results: they hold no write workload".to_string()
                } else {
                    format!(
                        "is not in the results; write engines there: {}",
                        names.join(", ")
                    )
                },
            });
        }
        let Some((w, m)) = best(matches.iter().copied()) else {
            let why = match &matches[0].status {
                Status::Skipped { reason } => format!("was skipped ({reason})"),
                Status::Failed { error } => format!("failed ({error})"),
                Status::Interrupted => "was interrupted".to_string(),
                Status::Completed => "has no throughput summary".to_string(),
            };
            return Err(CapacityError::Engine {
                engine: e.to_string(),
                reason: format!("{why}: no figure to plan with"),
            });
        };
        if w.medium != Medium::Device {
            notes.push(format!(
                "{} measured the {}, not the disk: its figure overstates sustained disk bandwidth",
                w.name,
                format::medium_label(w.medium)
            ));
        }
        return Ok(Some(measured(w, m, format::medium_label(w.medium))));
    }
    let device = best(writes().filter(|w| w.medium == Medium::Device));
    let cache = best(writes().filter(|w| w.medium == Medium::PageCache));
    match (device, cache) {
        (Some((w, m)), cache) => {
            if let Some((cw, cm)) = cache {
                if cm > m {
                    notes.push(format!(
                        "disk write: preferred the device result {} ({}) over the faster page-cache result \
                         {} ({}), which measures memory, not the disk",
                        w.name,
                        format::mb_per_s(m),
                        cw.name,
                        format::mb_per_s(cm)
                    ));
                }
            }
            Ok(Some(measured(w, m, "device")))
        }
        (None, Some((w, m))) => {
            notes.push(format!(
                "disk write: no completed write reached the device; using the page-cache result {}, \
                 which overstates sustained disk bandwidth (pass --disk-bw to override)",
                w.name
            ));
            Ok(Some(measured(w, m, "page cache")))
        }
        (None, None) => Ok(None),
    }
}

/// A probe's count or size when it is known and positive.
fn positive(v: Option<u64>) -> Option<u64> {
    v.filter(|x| *x > 0)
}

/// Disk capacity from the probe's storage section: the file system's total size, else the
/// space available or free.
fn disk_capacity(probe: &Probe) -> Option<Figure> {
    let storage = &probe.storage;
    let place = storage
        .mount_point
        .as_deref()
        .or(Some(storage.dir.as_str()).filter(|d| !d.is_empty()))
        .unwrap_or("the data directory");
    let free = positive(storage.free_bytes).or_else(|| positive(storage.available_bytes));
    if let Some(total) = positive(storage.total_bytes) {
        let free = free
            .map(|f| format!(", {} free", format::bytes_iec(f)))
            .unwrap_or_default();
        return Some(Figure::new(
            total as f64,
            format!("probe: storage total_bytes of {place}{free}"),
        ));
    }
    for (key, v) in [
        ("available_bytes", storage.available_bytes),
        ("free_bytes", storage.free_bytes),
    ] {
        if let Some(v) = positive(v) {
            return Some(Figure::new(
                v as f64,
                format!("probe: storage {key} of {place}"),
            ));
        }
    }
    None
}

/// NIC speed from the probe's interface list: the fastest non-loopback interface with a known
/// speed (physical ones, or bonds); bytes/s.
fn nic_speed(probe: &Probe) -> Option<Figure> {
    let mut best: Option<(String, u64)> = None;
    for nic in &probe.nics {
        let name = nic.name.as_str();
        if name.is_empty() || name == "lo" {
            continue;
        }
        // veth, bridges and tunnels report made-up speeds; bonds aggregate real links.
        if nic.virtual_device && !(name.starts_with("bond") || name.starts_with("team")) {
            continue;
        }
        let Some(speed) = positive(nic.speed_mbit_per_s) else {
            continue;
        };
        match &best {
            Some((_, s)) if speed <= *s => {}
            _ => best = Some((name.to_string(), speed)),
        }
    }
    let (name, mbit) = best?;
    Some(Figure::new(
        mbit as f64 * 1e6 / 8.0,
        format!("probe: {name} speed {mbit} Mbit/s"),
    ))
}

/// Per-node limits from a results file, with `engine` choosing the write workload (by engine
/// spec or workload name) instead of the best one. Figures the file does not hold are `None`;
/// the error is only for an `engine` without a usable result.
///
/// - disk write: the median throughput of the chosen engine's write workload, or of the best
///   completed write whose medium is the device (page-cache results only when no device result
///   exists, with a note);
/// - read path: the median of the best completed read workload;
/// - disk capacity: the probe's storage `total_bytes` (else available or free bytes);
/// - NIC in and out: the probe's fastest non-loopback interface speed (full duplex).
pub fn limits_from_results_for(
    r: &ResultsFile,
    engine: Option<&str>,
) -> Result<NodeLimits, CapacityError> {
    let mut notes = Vec::new();
    let disk_write_bytes_per_s = disk_write(r, engine, &mut notes)?;
    let read_path_bytes_per_s = best(r.workloads.iter().filter(|w| w.kind == Kind::Read))
        .map(|(w, m)| measured(w, m, format::medium_label(w.medium)));
    let probe = r.probe.as_ref();
    let nic = probe.and_then(nic_speed);
    if r.interrupted {
        notes.push(
            "the results file is from an interrupted run: figures may be partial".to_string(),
        );
    }
    Ok(NodeLimits {
        disk_write_bytes_per_s,
        read_path_bytes_per_s,
        nic_in_bytes_per_s: nic.clone(),
        nic_out_bytes_per_s: nic,
        disk_capacity_bytes: probe.and_then(disk_capacity),
        notes,
    })
}

/// Per-node limits from a results file for the report ([`limits_from_results_for`] with the
/// best write engine); `None` when the file has no usable disk write figure.
pub fn limits_from_results(r: &ResultsFile) -> Option<NodeLimits> {
    limits_from_results_for(r, None)
        .ok()
        .filter(|l| l.disk_write_bytes_per_s.is_some())
}

// ---------------------------------------------------------------------------------------------
// For the reports.

/// Brokers on the x axis of the reports' capacity chart.
pub const REPORT_MAX_NODES: u32 = 20;

/// Replication factors the reports show, each with one consumer group.
pub const REPORT_REPLICATION: [u32; 2] = [1, 3];

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

/// The capacity paragraph of the reports, one sentence per item: the per-node limits with
/// their sources, then for each of [`REPORT_REPLICATION`] (one consumer group) what a broker
/// and a cluster of the baseline's size carry flat out against the baseline. Empty when the
/// results hold no usable disk write figure.
pub fn report_summary(r: &ResultsFile) -> Vec<String> {
    let Some(l) = limits_from_results(r) else {
        return Vec::new();
    };
    let b = &r.baseline;
    let mut lines = Vec::new();
    let mut per_node = Vec::new();
    for (name, f) in [
        ("disk write", &l.disk_write_bytes_per_s),
        ("read path", &l.read_path_bytes_per_s),
        ("NIC", &l.nic_in_bytes_per_s),
    ] {
        if let Some(f) = f {
            per_node.push(format!(
                "{name} {} ({})",
                format::mb_per_s(f.value),
                f.source
            ));
        }
    }
    lines.push(format!("Per node: {}.", per_node.join("; ")));
    for rf in REPORT_REPLICATION {
        let Some((binding, per)) = per_node_ingest(&l, rf, 1) else {
            continue;
        };
        let shape = Shape {
            replication_factor: rf,
            consumer_groups: 1,
            retention_s: None,
        };
        let at = max_ingest(&l, &shape, &Targets::FLAT_OUT, b.nodes);
        let ratio = if b.cluster_bytes_per_s > 0.0 {
            format!(
                " = {} the baseline",
                format::ratio(at / b.cluster_bytes_per_s)
            )
        } else {
            String::new()
        };
        lines.push(format!(
            "rf {rf}, one consumer group: {} per broker flat out ({} binds); {} brokers carry {}{ratio} \
             ({} on {} nodes).",
            format::mb_per_s(per),
            binding.label(),
            b.nodes,
            format::mb_per_s(at),
            format::mb_per_s(b.cluster_bytes_per_s),
            b.nodes
        ));
    }
    if l.nic_in_bytes_per_s.is_none() {
        lines.push(
            "NIC speed unknown (the probe has none): the network is left out; give it to segbench plan with --nic."
                .to_string(),
        );
    }
    lines.extend(l.notes.iter().cloned());
    lines.push(format!(
        "Flat out means 100% of each measured limit; plan at {} with a spare broker: \
         segbench plan --from RESULTS.json --ingest RATE --rf R --consumers C --retention D.",
        format::percent(DEFAULT_UTILIZATION)
    ));
    lines
}

// ---------------------------------------------------------------------------------------------
// Text.

/// A duration in the largest whole-ish unit: `7 d`, `36 h`, `90 s`.
pub fn retention_label(s: f64) -> String {
    const UNITS: [(f64, &str); 3] = [(86_400.0, "d"), (3_600.0, "h"), (60.0, "min")];
    for (scale, unit) in UNITS {
        if s >= scale && (s / scale).fract() == 0.0 {
            return format!("{} {unit}", s / scale);
        }
    }
    if s >= 86_400.0 {
        return format!("{} d", format::sig(s / 86_400.0));
    }
    format!("{} s", format::sig(s))
}

/// Bytes in decimal units, as disks are sold: `"10.0 TB"`, `"3.70 TB"`, `"512 GB"`.
fn bytes_si(v: f64) -> String {
    const UNITS: [(f64, &str); 5] = [
        (1e15, "PB"),
        (1e12, "TB"),
        (1e9, "GB"),
        (1e6, "MB"),
        (1e3, "kB"),
    ];
    for (scale, unit) in UNITS {
        if v >= scale * 0.9995 {
            return format!("{} {unit}", format::sig(v / scale));
        }
    }
    format!("{} B", format::sig(v))
}

fn figure_text(r: Resource, v: f64) -> String {
    if r.is_storage() {
        bytes_si(v)
    } else {
        format::mb_per_s(v)
    }
}

fn pad(s: &str, w: usize) -> String {
    let n = format::width(s);
    if n >= w {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(w - n))
    }
}

fn lpad(s: &str, w: usize) -> String {
    let n = format::width(s);
    if n >= w {
        s.to_string()
    } else {
        format!("{}{s}", " ".repeat(w - n))
    }
}

fn use_lines(out: &mut String, l: &BrokerLoads) {
    for u in &l.utilization {
        let util = u
            .utilization
            .map(format::percent)
            .unwrap_or_else(|| format::MISSING.to_string());
        let verdict = if u.utilization.is_none() {
            "no broker"
        } else if u.within_target {
            "within target"
        } else if u.utilization.is_some_and(|x| x <= 1.0 + CEIL_TOLERANCE) {
            "over target"
        } else {
            "OVER LIMIT"
        };
        out.push_str(&format!(
            "  {} {} of {} = {}  (target {}: {verdict})\n",
            pad(u.resource.label(), 12),
            lpad(&figure_text(u.resource, u.load), 10),
            lpad(&figure_text(u.resource, u.limit), 10),
            lpad(&util, 6),
            format::percent(u.target),
        ));
    }
}

/// The plan as a readable table (what `segbench plan` prints).
pub fn render_text(p: &Plan) -> String {
    let mut out = String::new();
    let s = &p.shape;
    out.push_str(&format!(
        "Capacity plan: ingest {}, rf {}, {} consumer group{}, retention {}\n\n",
        format::mb_per_s(p.ingest_bytes_per_s),
        s.replication_factor,
        s.consumer_groups,
        if s.consumer_groups == 1 { "" } else { "s" },
        s.retention_s
            .map(retention_label)
            .unwrap_or_else(|| "none".to_string()),
    ));
    out.push_str("Per-node limits\n");
    let l = &p.limits;
    let rows = [
        (
            "disk write (D)",
            &l.disk_write_bytes_per_s,
            Resource::DiskWrite,
        ),
        (
            "read path (R)",
            &l.read_path_bytes_per_s,
            Resource::ReadPath,
        ),
        ("NIC in", &l.nic_in_bytes_per_s, Resource::NicIn),
        ("NIC out", &l.nic_out_bytes_per_s, Resource::NicOut),
        ("disk size (S)", &l.disk_capacity_bytes, Resource::Storage),
    ];
    for (name, f, r) in rows {
        if let Some(f) = f {
            out.push_str(&format!(
                "  {} {}  {}\n",
                pad(name, 15),
                lpad(&figure_text(r, f.value), 10),
                f.source
            ));
        }
    }
    out.push_str(&format!(
        "\nBrokers needed (U = {} utilisation, F = {} fill)\n",
        format::percent(p.targets.utilization),
        format::percent(p.targets.fill)
    ));
    for c in &p.constraints {
        out.push_str(&format!(
            "  {} {} = {}{}\n",
            pad(c.resource.label(), 18),
            pad(&c.formula, 22),
            lpad(&format::sig(c.term), 8),
            if c.binding { "   <- binding" } else { "" }
        ));
    }
    out.push_str(&format!(
        "  brokers: ceil({}) + {} spare = {}\n",
        format::sig(p.constraints.iter().map(|c| c.term).fold(0.0, f64::max)),
        p.targets.spare,
        p.brokers
    ));
    out.push_str(&format!(
        "\nBrokers: {} ({} binds)\n",
        p.brokers,
        p.binding.label()
    ));

    out.push_str(&format!(
        "\nPer-broker load on {} brokers\n",
        p.loads.brokers
    ));
    let ld = &p.loads;
    let mut line = |name: &str, v: Option<f64>, storage: bool| {
        if let Some(v) = v {
            let t = if storage {
                bytes_si(v)
            } else {
                format::mb_per_s(v)
            };
            out.push_str(&format!("  {} {}\n", pad(name, 30), lpad(&t, 10)));
        }
    };
    line("disk writes", ld.disk_write_bytes_per_s, false);
    line("NIC in", ld.nic_in_bytes_per_s, false);
    line("NIC out", ld.nic_out_bytes_per_s, false);
    line(
        "catch-up disk reads (worst)",
        ld.catchup_read_bytes_per_s,
        false,
    );
    line("storage", ld.storage_bytes, true);
    out.push_str("Utilisation\n");
    use_lines(&mut out, &p.loads);

    let d = &p.one_broker_down;
    out.push_str(&format!("\nOne broker down ({} brokers)\n", d.brokers));
    use_lines(&mut out, d);
    let verdict = if !d.replicas_placeable {
        format!(
            "does NOT fit: {} brokers cannot hold {} replicas of each partition",
            d.brokers, s.replication_factor
        )
    } else if d.within_target {
        "fits, within every target".to_string()
    } else if d.fits {
        "fits (under 100%), but over target".to_string()
    } else {
        "does NOT fit: a resource is over 100%".to_string()
    };
    let highest = d
        .highest
        .map(|h| {
            format!(
                "; highest {} {}",
                h.resource.label(),
                format::percent(h.utilization)
            )
        })
        .unwrap_or_default();
    out.push_str(&format!("  {verdict}{highest}\n"));

    let b = &p.baseline;
    out.push_str(&format!(
        "\nBaseline\n  {} nodes of this hardware carry {} (within targets, {} spare; {} flat out) \
         vs baseline {} on {}\n",
        b.brokers,
        format::mb_per_s(b.carry_bytes_per_s),
        p.targets.spare,
        format::mb_per_s(b.ceiling_bytes_per_s),
        format::mb_per_s(b.baseline_cluster_bytes_per_s),
        b.baseline_nodes
    ));
    let with_retention = if b.at_baseline_nodes_with_retention_bytes_per_s
        < b.at_baseline_nodes_bytes_per_s * (1.0 - CEIL_TOLERANCE)
    {
        format!(
            "; {} with {} retention on these disks",
            format::mb_per_s(b.at_baseline_nodes_with_retention_bytes_per_s),
            s.retention_s
                .map(retention_label)
                .unwrap_or_else(|| "this".to_string())
        )
    } else {
        String::new()
    };
    out.push_str(&format!(
        "  {} nodes of this hardware carry {} flat out: {} the baseline ({}){with_retention}\n",
        b.baseline_nodes,
        format::mb_per_s(b.at_baseline_nodes_bytes_per_s),
        format::ratio(b.ratio_to_baseline),
        b.baseline_source
    ));

    if let Some(g) = &p.consumer_group {
        out.push_str(&format!(
            "\nConsumer group: {} partitions over {} instances (range assignor)\n",
            g.partitions, g.instances
        ));
        out.push_str(&format!(
            "  active {}, idle {}; most loaded {} partition{} ({} instance{}), least loaded {}\n",
            g.active_instances,
            g.idle_instances,
            g.most_partitions,
            if g.most_partitions == 1 { "" } else { "s" },
            g.instances_with_most,
            if g.instances_with_most == 1 { "" } else { "s" },
            g.least_partitions
        ));
        if let (Some(hi), Some(lo)) = (
            g.busiest_instance_bytes_per_s,
            g.quietest_instance_bytes_per_s,
        ) {
            out.push_str(&format!(
                "  busiest instance reads {}, quietest {}\n",
                format::mb_per_s(hi),
                format::mb_per_s(lo)
            ));
        }
        if g.even {
            out.push_str("  the split is even\n");
        } else {
            let list = |v: &[u32]| {
                v.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            };
            out.push_str(&format!(
                "  even splits: {} partitions for {} instances, or {} instances for {} partitions\n",
                list(&g.even_partition_counts),
                g.instances,
                list(&g.even_instance_counts),
                g.partitions
            ));
        }
    }
    let notes: Vec<&String> = p.limits.notes.iter().chain(&p.notes).collect();
    if !notes.is_empty() {
        out.push_str("\nNotes\n");
        for n in notes {
            out.push_str(&format!("  - {n}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
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
    fn range_assignor_splits() {
        // 10 over 4: 3 3 2 2.
        let g = range_split(10, 4, Some(100.0 * MB)).unwrap();
        assert_eq!((g.active_instances, g.idle_instances), (4, 0));
        assert_eq!(
            (g.most_partitions, g.instances_with_most, g.least_partitions),
            (3, 2, 2)
        );
        assert!(!g.even);
        assert_eq!(g.even_partition_counts, vec![8, 12]);
        assert_eq!(g.even_instance_counts, vec![2, 5]);
        assert!(close(g.busiest_instance_bytes_per_s.unwrap(), 30.0 * MB));
        assert!(close(g.quietest_instance_bytes_per_s.unwrap(), 20.0 * MB));
        // 3 over 5: two idle.
        let g = range_split(3, 5, None).unwrap();
        assert_eq!((g.active_instances, g.idle_instances), (3, 2));
        assert_eq!(
            (g.most_partitions, g.instances_with_most, g.least_partitions),
            (1, 3, 0)
        );
        assert_eq!(g.even_partition_counts, vec![5]);
        assert_eq!(g.even_instance_counts, vec![3]);
        assert_eq!(g.busiest_instance_bytes_per_s, None);
        // 12 over 4: even.
        let g = range_split(12, 4, None).unwrap();
        assert!(g.even);
        assert_eq!(
            (g.most_partitions, g.least_partitions, g.instances_with_most),
            (3, 3, 4)
        );
        assert_eq!(g.even_partition_counts, vec![12]);
        assert_eq!(g.even_instance_counts, vec![4]);
        // 7 over 1 and 1 over 1.
        assert_eq!(range_split(7, 1, None).unwrap().most_partitions, 7);
        assert!(range_split(1, 1, None).unwrap().even);
        assert!(matches!(
            range_split(0, 3, None),
            Err(CapacityError::Group { .. })
        ));
        assert!(matches!(
            range_split(3, 0, None),
            Err(CapacityError::Group { .. })
        ));
    }

    #[test]
    fn range_split_matches_an_explicit_assignment() {
        for p in 1..40u32 {
            for k in 1..12u32 {
                // The assignor itself: floor(P/K) each, the first P mod K one more.
                let counts: Vec<u32> = (0..k).map(|i| p / k + u32::from(i < p % k)).collect();
                assert_eq!(counts.iter().sum::<u32>(), p);
                let g = range_split(p, k, None).unwrap();
                assert_eq!(g.most_partitions, *counts.iter().max().unwrap(), "{p}/{k}");
                assert_eq!(g.least_partitions, *counts.iter().min().unwrap(), "{p}/{k}");
                assert_eq!(
                    g.idle_instances,
                    counts.iter().filter(|c| **c == 0).count() as u32
                );
                let with_most = counts.iter().filter(|c| **c == g.most_partitions).count() as u32;
                assert_eq!(g.instances_with_most, with_most, "{p}/{k}");
                for e in &g.even_partition_counts {
                    assert_eq!(e % k, 0);
                    assert!(e.abs_diff(p) < k);
                }
                for e in &g.even_instance_counts {
                    assert_eq!(p % e, 0);
                }
            }
        }
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
    fn report_summary_states_limits_and_the_baseline() {
        let r = results_with(
            vec![
                workload("write/direct", Kind::Write, Medium::Device, 600.0 * MB),
                workload("read/sendfile", Kind::Read, Medium::Network, 1600.0 * MB),
            ],
            probe(),
        );
        let lines = report_summary(&r);
        let text = lines.join("\n");
        assert!(text.starts_with("Per node: disk write 600 MB/s (measured: write/direct median (device)); read path 1600 MB/s"), "{text}");
        // rf 1: disk 600, NIC in 1250, out 1250, read 1600 -> 600 per broker, 6000 on 10 = 300×.
        assert!(text.contains("rf 1, one consumer group: 600 MB/s per broker flat out (disk write binds); 10 brokers carry 6000 MB/s = 300× the baseline"), "{text}");
        // rf 3: disk 600/3 = 200 per broker, 2000 on 10 = 100×.
        assert!(text.contains("rf 3, one consumer group: 200 MB/s per broker flat out (disk write binds); 10 brokers carry 2000 MB/s = 100×"), "{text}");
        assert_eq!(
            per_node_ingest(&limits_from_results(&r).unwrap(), 3, 1),
            Some((Resource::DiskWrite, 200.0 * MB))
        );
        // The Markdown report carries it.
        let md = crate::export::markdown::render(&r);
        assert!(md.contains("**Capacity**"), "{md}");
        assert!(md.contains("per broker flat out"), "{md}");
        // No write figure: no paragraph.
        let none = results_with(vec![], None);
        assert!(report_summary(&none).is_empty());
        assert!(!crate::export::markdown::render(&none).contains("**Capacity**"));
    }

    #[test]
    fn html_report_charts_rf_1_and_3_with_the_baseline_point() {
        let r = results_with(
            vec![workload(
                "write/direct",
                Kind::Write,
                Medium::Device,
                600.0 * MB,
            )],
            probe(),
        );
        let s = crate::export::html::capacity(&r).unwrap();
        assert_eq!(
            (s.id.as_str(), s.title.as_str()),
            ("cluster-capacity", "Capacity")
        );
        assert_eq!(s.html.matches("<svg").count(), 1);
        for needle in [
            "this hardware, rf 1, 1 consumer group",
            "this hardware, rf 3, 1 consumer group",
            "baseline: 20.0 MB/s on 10 nodes",
            // 600 MB/s per node flat out against a 20 MB/s cluster: a log axis.
            "log scale",
            "per broker flat out",
        ] {
            assert!(s.html.contains(needle), "'{needle}' not in the section");
        }
        let html = crate::export::html::render(&r);
        assert!(html.contains("<a href=\"#cluster-capacity\">Capacity</a>"));
        crate::plot::check_well_formed(&html).unwrap();
        // Without a write figure, no section.
        let none = results_with(vec![], None);
        assert!(crate::export::html::capacity(&none).is_none());
    }

    fn workload(name: &str, kind: Kind, medium: Medium, median: f64) -> WorkloadResult {
        let mut w = crate::export::fixture::results().workloads[0].clone();
        w.name = name.to_string();
        w.engine = name
            .split_once('/')
            .map(|x| x.1)
            .unwrap_or(name)
            .to_string();
        w.kind = kind;
        w.medium = medium;
        if let Some(s) = w.summary.as_mut() {
            s.throughput_bytes_per_s.median = median;
        }
        w
    }

    fn results_with(workloads: Vec<WorkloadResult>, probe: Option<Probe>) -> ResultsFile {
        let mut r = crate::export::fixture::results();
        r.workloads = workloads;
        r.probe = probe;
        r
    }

    fn probe() -> Option<Probe> {
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
        assert_eq!(retention_label(7.0 * DAY), "7 d");
        assert_eq!(retention_label(3.0 * DAY), "3 d");
        assert_eq!(retention_label(90.0), "90.0 s");
        assert_eq!(bytes_si(1e13), "10.0 TB");
        assert_eq!(bytes_si(2.592e13 / 7.0), "3.70 TB");
        assert_eq!(bytes_si(999.9e9), "1.00 TB");
        assert_eq!(bytes_si(512.0), "512 B");
        assert_eq!(retention_label(36.0 * 3600.0), "36 h");
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

    proptest! {
        #[test]
        fn more_ingest_or_retention_never_needs_fewer_brokers(
            l in arb_limits(), s in arb_shape(), t in arb_targets(),
            w in 0.1f64..5000.0, more in 1.0f64..10.0,
        ) {
            let n = brokers_needed(&l, w * MB, &s, &t).unwrap();
            prop_assert!(brokers_needed(&l, w * MB * more, &s, &t).unwrap() >= n);
            let longer = Shape { retention_s: s.retention_s.map(|r| r * more), ..s };
            prop_assert!(brokers_needed(&l, w * MB, &longer, &t).unwrap() >= n);
            prop_assert!(n >= s.replication_factor + t.spare);
        }

        #[test]
        fn more_disk_bandwidth_never_needs_more_brokers(
            l in arb_limits(), s in arb_shape(), t in arb_targets(),
            w in 0.1f64..5000.0, more in 1.0f64..10.0,
        ) {
            let n = brokers_needed(&l, w * MB, &s, &t).unwrap();
            let mut faster = l.clone();
            faster.disk_write_bytes_per_s.as_mut().unwrap().value *= more;
            prop_assert!(brokers_needed(&faster, w * MB, &s, &t).unwrap() <= n);
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
            let p = plan(&l, w * MB, &s, &t, &Baseline::default()).unwrap();
            prop_assert!(p.loads.within_target, "{:?}", p.loads);
            prop_assert!(p.baseline.carry_bytes_per_s >= w * MB * (1.0 - 1e-6));
            if t.spare >= 1 {
                prop_assert!(p.one_broker_down.within_target);
            }
        }
    }
}
