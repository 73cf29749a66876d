//! segbench results: the result schema (plain serde structs, units in field names), whole
//! HdrHistograms, statistics over repetitions, exporters and the capacity model.
//!
//! Exporters only turn finished results into bytes; nothing here measures.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod capacity;
pub mod compare;
pub mod export;
pub mod fleet;
pub mod format;
pub mod hdrlog;
pub mod hist;
pub mod merge;
pub mod plot;
pub mod schema;
pub mod stats;

pub use schema::*;
