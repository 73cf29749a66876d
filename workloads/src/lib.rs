//! segbench workloads: the segment-log model (Kafka v2 record batches, segments, indexes,
//! retention), the write and read engines, and pacing.
//!
//! Engines move bytes; they never time, count or print. The runner (in the `segbench`
//! crate) owns the clock, the byte counters and the histograms.
//!
//! This is the only crate of the workspace with `unsafe` code: every such block carries a
//! `# Safety` note.
#![deny(missing_docs)]

pub mod error;
pub mod flush;
pub mod kafka;
pub mod pacing;
pub mod payload;
pub mod read;
pub mod skip;
pub mod spec;
pub mod sys;
pub mod units;
pub mod write;

pub use error::EngineError;
pub use flush::{FlushPolicy, SyncKind};
pub use spec::EngineSpec;
