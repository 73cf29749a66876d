//! End-to-end tests of the `segbench` binary.

mod compare;
mod fleet;
mod plan;
mod read;
mod safety;
mod util;
mod write;
