//! segmodel: the pure parts of segbench's model that the engines (`workloads`), the reports
//! (`results`) and the binary share, with no system crates, so the report crate needs no engines.
//!
//! - [`assign`]: Kafka's range assignor, how a consumer group shares a topic's partitions
//!   (the read runner deals partitions with it; the capacity plan counts with it);
//! - [`rng`]: the one seeded generator (xorshift64*), for reproducible runs and reports: the
//!   payload pool's bytes, a mixed workload's snapshot roll, the bootstrap's resamples.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod assign;
pub mod rng;

pub use assign::range_assign;
pub use rng::XorShift64Star;
