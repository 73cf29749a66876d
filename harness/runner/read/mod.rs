//! The read runner: serves a segment log to consumers through one read engine per consumer
//! thread, owns the clock, the counters and the histograms, and turns one repetition into a
//! [`Repetition`](results::Repetition).
//!
//! - **Data**: a [`LogSet`] is every partition of a log directory (segbench's or a real
//!   broker's), opened read-only and scanned once, before any clock starts, for the batch
//!   boundaries of every segment, so the measured loop does no I/O beyond the engine's.
//! - **Consumers**: `consumers` per group in `groups` independent groups (fan-out); each
//!   group's partitions are dealt by Kafka's range assignor (`workloads::kafka::range_assign`): per topic,
//!   partitions and consumers sorted, each consumer gets `P / C`, the first `P mod C` one more,
//!   the rest nothing (idle, reported with the skew). One thread and one TCP connection per
//!   active consumer.
//! - **Fetches**: round-robin over a consumer's partitions; each fetch is the largest run of
//!   whole batches of at most `fetch_size` bytes from the partition's position (at least one
//!   batch, as a broker's `minOneMessage`), within one segment; at a segment's end the next
//!   fetch starts at the next segment, as in Kafka. A truncated last batch (a live broker's)
//!   is never fetched.
//! - **Clock**: a fetch's latency runs from the runner's decision to fetch (the previous
//!   fetch's end) to the engine returning, frame header included: one clock read per fetch.
//!   A repetition runs from the moment every consumer is connected and released to the last
//!   consumer's session summary arriving from the sink (so the bytes were received, not only
//!   queued in socket buffers).
//! - **CPU**: the repetition's `cpu_*_s` are the sending side's: the process's CPU over the
//!   repetition (`RUSAGE_SELF`, so io_uring's kernel workers count) minus what the in-process
//!   sink's threads report for their sessions (`RUSAGE_THREAD`); with a remote sink, the
//!   process's CPU. The sink's CPU is in `extra` (`sink_cpu_*`), with the consumer threads'
//!   own (`consumer_threads_cpu_s`). On loopback the kernel's receive processing partly runs
//!   on the sending threads and is charged to them (the run warns of it).
//!
//! Files: [`config`] (what defines a read workload), [`logset`] (the log, scanned once; the
//! assignment), [`cache`] (the cache state: residency, hot or cold before a repetition),
//! [`consume`] (one repetition: set-up, the consumer threads and their loop, the drain),
//! [`assemble`] (the checks and the figures of a repetition, and what a result measures),
//! [`prepare`] (what `run` and `read` both do around the runs: write the log first, check the
//! engines, start the in-process sink, report skips), [`runs`] (every read workload's
//! repetitions, interleaved).

pub mod assemble;
pub mod cache;
pub mod config;
pub mod consume;
pub mod logset;
pub mod prepare;
pub mod runs;

use std::time::Duration;

pub use assemble::ReadMeasure;
pub use cache::{prepare_cache, residency, Residency};
pub use config::{CacheMode, ReadConfig, SinkTarget, DEFAULT_FETCH_BYTES, MAX_FETCH_BYTES};
pub use consume::{run_repetition, ReadError};
pub use logset::{assign, Cursor, Fetch, LoadError, LogSet, PartitionData, SegmentData};
pub use runs::{run_reads, ReadOutcome};

/// How long connecting to the sink may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest stall of any send to the sink (`SO_SNDTIMEO`, `TCP_USER_TIMEOUT`): a sink that
/// takes nothing for this long is gone.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests;
