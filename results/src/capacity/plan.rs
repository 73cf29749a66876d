//! What a capacity plan holds: the terms of the formula, the per-broker loads and their
//! utilisation, the comparison with the baseline cluster, and the [`Plan`] itself (serialized
//! as `segbench plan --json` prints it).

use serde::{Deserialize, Serialize};

use super::consumers::RangeSplit;
use super::inputs::{NodeLimits, Resource, Shape, Targets};

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
