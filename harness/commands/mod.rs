//! One module per command: each parses its arguments into workload configurations, calls the
//! runner, and hands the finished results to the exporters.

pub mod clean;
pub mod common;
pub mod probe;
pub mod run;
pub mod write;
