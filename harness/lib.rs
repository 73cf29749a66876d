//! segbench: the harness. A thin layer that parses the command line, wires workloads to the
//! runner and the runner to results. Logic lives in the `workloads` and `results` crates.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod budget;
pub mod cli;
pub mod commands;
pub mod datadir;
pub mod fleet;
pub mod meta;
pub mod output;
pub mod parse;
pub mod probe;
pub mod replicate;
pub mod runner;
pub mod signals;
pub mod sink;
pub mod suite;
pub mod usage;

/// Bad input or environment: the binary prints the message on one line and exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// A check failed although the run worked (regression, verification): exit 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CheckFailed(pub String);

/// Shorthand for returning a [`BadInput`].
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}
