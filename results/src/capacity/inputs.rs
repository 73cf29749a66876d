//! What a capacity plan takes: the per-node limits ([`NodeLimits`], each a [`Figure`] with its
//! source), the resources that can bind ([`Resource`]), the shape of the load ([`Shape`]), the
//! head-room targets ([`Targets`]) and why a plan cannot be made ([`CapacityError`]). The
//! bottom of `capacity`: it imports nothing else of it.

use serde::{Deserialize, Serialize};

/// Default target utilisation of a measured sustained maximum (REFERENCE: 0.6–0.7).
pub const DEFAULT_UTILIZATION: f64 = 0.7;

/// Default target disk fill.
pub const DEFAULT_FILL: f64 = 0.8;

/// Default spare brokers, so the load still fits with one broker down.
pub const DEFAULT_SPARE: u32 = 1;

/// Relative tolerance of the final `ceil`: the inputs are measurements rounded far coarser
/// than this, so a term of `3.0000000001` (floating-point noise of an exact 3) needs 3
/// brokers, not 4.
pub(super) const CEIL_TOLERANCE: f64 = 1e-9;

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
    pub(super) fn value(&self, r: Resource) -> Option<f64> {
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
    pub(super) fn is_storage(self) -> bool {
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
    pub(super) fn coefficient(&self, r: Resource) -> f64 {
        let rf = f64::from(self.replication_factor);
        match r {
            Resource::DiskWrite | Resource::NicIn => rf,
            Resource::NicOut | Resource::ReadPath => rf - 1.0 + f64::from(self.consumer_groups),
            Resource::Storage => rf * self.retention_s.unwrap_or(0.0),
            Resource::ReplicationFloor => 0.0,
        }
    }

    /// Readers of every produced byte besides the leader's write: followers plus groups.
    pub(super) fn readers(&self) -> f64 {
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

    pub(super) fn of(&self, r: Resource) -> f64 {
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
    /// The load needs more brokers than a plan can count: the inputs are out of range.
    #[error("the load needs {0:.3e} brokers, more than {MAX_BROKERS}: check the ingest rate, retention and per-node figures (units?)")]
    TooManyBrokers(f64),
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

/// The most brokers a plan counts (a million): beyond it the inputs are wrong, and a figure
/// clamped to a limit would be wrong too.
pub const MAX_BROKERS: u32 = 1_000_000;
