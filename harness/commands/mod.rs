//! One module per command: each owns its clap arguments (`*Args`) and help text (`*_HELP`),
//! parses them into workload configurations, calls the runner, and hands the finished
//! results to the exporters. [`common`] holds what they share (the output options,
//! results assembly and output); the value parsers are in [`crate::parse`].

pub mod argv;
pub mod clean;
pub mod common;
pub mod compare;
pub mod fit;
pub mod fleet;
pub mod fleet_child;
pub mod merge;
pub mod mixed;
pub mod plan;
pub mod probe;
pub mod read;
pub mod replicate;
pub mod replicate_role;
pub mod report;
pub mod run;
pub mod sink;
pub mod write;
