//! End-to-end tests of the `segbench` binary.

mod compare;
mod datadir;
mod plan;
mod read;
mod safety;
mod util;
mod write;
