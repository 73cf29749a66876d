//! One module per command: each parses its arguments into workload configurations, calls the
//! runner, and hands the finished results to the exporters.

pub mod clean;
pub mod common;
pub mod compare;
pub mod fleet;
pub mod merge;
pub mod plan;
pub mod probe;
pub mod read;
pub mod report;
pub mod run;
pub mod sink;
pub mod write;
