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
//!
//! - `inputs`: what a plan takes (per-node limits, load shape, targets) and its errors;
//! - `model`: the broker-count maths;
//! - `plan`: what a plan holds;
//! - `consumers`: a consumer group's range-assignor split;
//! - `limits`: per-node limits taken from a results file and its probe;
//! - `render`: the reports' capacity paragraph and the text of `segbench plan`.

mod consumers;
mod inputs;
mod limits;
mod model;
mod plan;
mod render;

pub use consumers::*;
pub use inputs::*;
pub use limits::*;
pub use model::*;
pub use plan::*;
pub use render::*;
