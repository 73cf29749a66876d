//! segbench results: the result schema (plain serde structs, units in field names; the hardware
//! probe's in [`probe`]), whole HdrHistograms, statistics over repetitions, exporters and the
//! capacity model.
//!
//! Exporters only turn finished results into bytes; nothing here measures.
//!
//! Where things are: [`schema`] (the results file), [`figures`] (the typed figures kept in a
//! repetition's `extra`), [`hist`] and [`hdrlog`] (histograms),
//! [`stats`] (summaries, the median and its interval, the bootstrap), [`steady`] (SNIA PTS
//! steady state over rounds), [`format`](mod@format) (the one
//! formatter per kind of figure), [`compare`] (verdicts and their tables), [`merge`] (hosts and
//! runs into one file), [`fleet`] (a cluster run's aggregation), [`fit`] (USL fits of the sweeps), [`capacity`] (model, limits,
//! text), [`export`] (one exporter per format and the one text-table renderer), [`plot`] (the SVG
//! charts); `testing` (with the `test-util` feature) builds results files for tests.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod capacity;
pub mod compare;
pub mod export;
pub mod figures;
pub mod fit;
pub mod fleet;
pub mod format;
pub mod hdrlog;
pub mod hist;
pub mod interference;
pub mod merge;
pub mod plot;
pub mod probe;
pub mod replication;
pub mod schema;
pub mod stats;
pub mod steady;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use schema::*;
