//! What `segbench run` and `segbench read` both do around the read runs: write a fresh log
//! first ([`write_log`]), build each engine once to find those this kernel cannot run
//! ([`precheck`]), start the in-process loopback sink ([`local_sink`]), and put the skipped
//! workloads back among the results ([`with_skips`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use results::{Kind, Status, WorkloadResult};
use workloads::kafka::log::LogFormat;
use workloads::pacing::{Clock, MonotonicClock};
use workloads::{read, FlushPolicy, SyncKind};

use super::config::{CacheMode, ReadConfig, SinkTarget};
use super::logset::LogSet;
use crate::bad_input;
use crate::datadir::DataDir;
use crate::runner::progress::Progress;
use crate::runner::write::WriteConfig;
use crate::runner::{Limit, LiveCounters, RunError};
use crate::sink::server::{Sink, SinkConfig, DEFAULT_MAX_CONNECTIONS};

/// Size of the log written first when no --dir is given.
pub const DEFAULT_SIZE: u64 = 256 << 20;
/// Partitions of that log.
pub const DEFAULT_PARTITIONS: u32 = 4;
/// Segment size of that log: small enough that consumers cross segments.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 << 20;
/// Record value size of that log.
const GEN_RECORD_SIZE: usize = 1024;
/// Batch size of that log (Kafka's producer `batch.size`).
const GEN_BATCH_SIZE: usize = 16 << 10;

/// Builds each engine once: invalid options are bad input; engines this kernel cannot run
/// come back as skip reasons.
pub fn precheck(cfgs: &[ReadConfig]) -> anyhow::Result<Vec<Option<String>>> {
    cfgs.iter()
        .map(|c| match read::build(&c.engine) {
            Ok(_) => Ok(None),
            Err(e) if e.is_unsupported() => Ok(Some(e.to_string())),
            Err(e) => Err(bad_input(e.about_spec("--engine", &c.engine.to_string()))),
        })
        .collect()
}

/// The configurations whose engine can run here (`skips[i]` is `None`), in order.
pub fn runnable(cfgs: &[ReadConfig], skips: &[Option<String>]) -> Vec<ReadConfig> {
    cfgs.iter()
        .zip(skips)
        .filter(|(_, s)| s.is_none())
        .map(|(c, _)| c.clone())
        .collect()
}

/// The results in the order the configurations were given: those of the [`runnable`] ones
/// from `done`, in order, and a [`skipped`] result for each of the others.
pub fn with_skips(
    cfgs: &[ReadConfig],
    skips: &[Option<String>],
    done: Vec<WorkloadResult>,
    log: &LogSet,
    target: &SinkTarget,
) -> Vec<WorkloadResult> {
    let mut done = done.into_iter();
    cfgs.iter()
        .zip(skips)
        .filter_map(|(c, skip)| match skip {
            None => done.next(),
            Some(reason) => Some(skipped(c, log, target, reason)),
        })
        .collect()
}

/// The result of a workload whose engine cannot run here.
pub fn skipped(c: &ReadConfig, log: &LogSet, target: &SinkTarget, reason: &str) -> WorkloadResult {
    WorkloadResult {
        name: c.name(),
        kind: Kind::Read,
        engine: c.engine.to_string(),
        config: c.config_map(log, target, None),
        status: Status::Skipped {
            reason: reason.to_string(),
        },
        medium: match c.cache {
            CacheMode::Hot => results::Medium::PageCache,
            CacheMode::Cold => results::Medium::Device,
        },
        repetitions: Vec::new(),
        summary: None,
        warnings: vec![format!("skipped: {reason}")],
        mixed: None,
    }
}

/// Starts the in-process loopback sink, with room for `connections` sessions at once.
pub fn local_sink(connections: usize) -> anyhow::Result<(Sink, SinkTarget)> {
    let cfg = SinkConfig {
        max_connections: connections.max(DEFAULT_MAX_CONNECTIONS),
        ..SinkConfig::default()
    };
    let sink = Sink::bind(SocketAddr::from(([127, 0, 0, 1], 0)), cfg)
        .map_err(|e| bad_input(format!("cannot start the loopback sink on 127.0.0.1: {e}")))?;
    let target = SinkTarget {
        addr: sink.local_addr(),
        remote: false,
    };
    Ok((sink, target))
}

/// Writes a fresh Kafka-format log of `size` bytes over `partitions` partitions with the
/// buffered write engine into the child `read-log` of `data`; returns its directory.
pub fn write_log(
    data: &DataDir,
    size: u64,
    partitions: u32,
    segment_size: u64,
    stop: &AtomicBool,
    progress: &Progress,
) -> anyhow::Result<PathBuf> {
    write_log_in(
        data,
        "read-log",
        size,
        partitions,
        segment_size,
        stop,
        progress,
    )
}

/// [`write_log`] into the child `child` of `data` (a mixed workload's read parts each have
/// their own log).
pub fn write_log_in(
    data: &DataDir,
    child: &str,
    size: u64,
    partitions: u32,
    segment_size: u64,
    stop: &AtomicBool,
    progress: &Progress,
) -> anyhow::Result<PathBuf> {
    crate::budget::check_space(
        data.path(),
        size,
        "lower --size, or use --data-dir on a larger file system",
    )
    .map_err(bad_input)?;
    let dir = data.create_child(child).map_err(|e| {
        bad_input(format!(
            "cannot create {}/{child}: {e}",
            data.path().display()
        ))
    })?;
    let cfg = WriteConfig {
        engine: "buffered"
            .parse()
            .map_err(|e: workloads::EngineError| anyhow::anyhow!("{e}"))?,
        topic: "segbench".into(),
        partitions,
        threads: partitions.min(2),
        record_size: GEN_RECORD_SIZE,
        batch_size: GEN_BATCH_SIZE,
        segment_size,
        index_interval: crate::runner::write::DEFAULT_INDEX_INTERVAL,
        preallocate: false,
        retention: None,
        flush: FlushPolicy::Never,
        sync: SyncKind::Fdatasync,
        format: LogFormat::Kafka,
        size: Some(size),
        duration: None,
        rate: None,
    };
    cfg.shape().map_err(bad_input)?;
    progress.line(&format!(
        "writing a {} log ({partitions} partitions, {} segments) in {}",
        results::format::bytes_iec(size),
        results::format::bytes_iec(segment_size),
        dir.display()
    ));
    let live = LiveCounters::default();
    let clock: Arc<dyn Clock> = Arc::new(MonotonicClock::new());
    let limit = Limit {
        bytes: Some(size),
        duration: None,
    };
    crate::runner::write::run_repetition(
        &cfg,
        std::slice::from_ref(&dir),
        clock,
        stop,
        limit,
        &live,
    )
    .map_err(|e| match e {
        RunError::Unsupported(m) => bad_input(format!("writing the log: {m}")),
        RunError::Engine(e) => anyhow::anyhow!("writing the log: {e}"),
        e @ RunError::Interrupted(_) => anyhow::anyhow!("writing the log: {e}"),
    })?;
    Ok(dir)
}
