//! segbench: the harness. A thin layer that parses the command line, wires workloads to the
//! runner and the runner to results. Logic lives in the `workloads` and `results` crates.
//!
//! Where things are: [`cli`] (the command enum) and [`parse`] (value parsers); [`commands`] (one
//! module per command, owning its arguments: it parses them into typed specs, has them executed
//! and hands the results to the exporters); [`runner`] (the executor of typed workloads, and the
//! clock, counters and repetitions of each kind's runner); [`sink`] (the reader -> sink
//! protocol, client and server); [`probe`] (the /proc and /sys collectors); [`fleet`] (one run
//! across hosts); [`datadir`] (what segbench may write and delete); [`budget`] (what a run may
//! take of the machine); [`output`] (stdout, output paths, the one results writer);
//! [`signals`], [`usage`] (getrusage), [`meta`] (run metadata), [`suite`] (suite files and
//! presets as one typed spec per kind, and their runner configurations), [`sustained`] (sizes
//! a suite takes from the probe and its time estimate).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
// The doc comments of clap arguments are their --help text, where <run-id> and <topic>-<n> are
// placeholders the user reads, not HTML.
#![allow(rustdoc::invalid_html_tags)]

pub mod auth;
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
pub mod sustained;
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
