//! End-to-end tests of the `segbench` binary.

mod compare;
mod plan;
mod read;
mod util;
mod write;
