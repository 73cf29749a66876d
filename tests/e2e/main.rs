//! End-to-end tests of the `segbench` binary.

mod args;
mod bounds;
mod cluster;
mod compare;
mod crosscheck;
mod datadir;
mod fit;
mod fleet;
mod fleet_cluster;
mod fleet_rank;
mod fleet_replicate;
mod fleet_scale;
mod fleet_trust;
mod mixed;
mod ownership;
mod plan;
mod read;
mod replicate;
mod replication_trust;
mod report;
mod safety;
mod steady;
mod util;
mod write;
