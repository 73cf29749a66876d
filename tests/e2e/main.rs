//! End-to-end tests of the `segbench` binary.

mod compare;
mod plan;
mod read;
mod report;
mod safety;
mod util;
mod write;
