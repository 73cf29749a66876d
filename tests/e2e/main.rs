//! End-to-end tests of the `segbench` binary.

mod cluster;
mod compare;
mod plan;
mod read;
mod safety;
mod util;
mod write;
