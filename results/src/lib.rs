//! segbench results: the result schema (plain serde structs, units in field names; the hardware
//! probe's in [`probe`]), whole HdrHistograms, statistics over repetitions, exporters and the
//! capacity model.
//!
//! Exporters only turn finished results into bytes; nothing here measures.
//!
//! Three layers, each importing only the ones below it:
//! - the bottom: [`schema`] (the results file; a fleet run's part in [`fleet_schema`], the
//!   probe's in [`probe`]), [`figures`] (the typed figures kept in a repetition's `extra`, and
//!   [`figures::RowKind`]), [`io`] (writing and reading results files), [`identity`] (tool
//!   version, hardware fingerprint, the keys that define a workload), [`hist`] and [`hdrlog`]
//!   (histograms), [`stats`] (summaries, the median and its interval, the bootstrap),
//!   [`format`](mod@format) (the one formatter per kind of figure) and [`table`] (the one
//!   text-table renderer and Markdown escape);
//! - the analyses: [`compare`] (verdicts and their tables), [`merge`] (hosts and runs into one
//!   file), [`fleet`] (a cluster run's aggregation), [`fit`] (USL fits of the sweeps),
//!   [`steady`] (SNIA PTS steady state over rounds), [`replication`], [`interference`] and
//!   [`capacity`] (model, limits, text);
//! - on top: [`export`] (one exporter per format) and [`plot`] (the SVG charts).
//!
//! `testing` (with the `test-util` feature) builds results files for tests.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod capacity;
pub mod compare;
pub mod export;
pub mod figures;
pub mod fit;
pub mod fleet;
pub mod fleet_schema;
pub mod format;
pub mod hdrlog;
pub mod hist;
pub mod host_cache;
pub mod identity;
pub mod interference;
pub mod io;
pub mod merge;
pub mod plot;
pub mod probe;
pub mod replication;
pub mod schema;
pub mod stats;
pub mod steady;
pub mod table;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use schema::*;
