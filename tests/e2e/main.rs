//! End-to-end tests of the `segbench` binary.

mod util;
mod write;
