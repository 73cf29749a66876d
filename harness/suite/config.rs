//! Write and read workloads' settings — the options that define them, parsed, whether from
//! `segbench write` / `segbench read` flags or a suite's `[[workload]]` — and the one place
//! each becomes its runner configuration ([`WriteSettings::config`],
//! [`ReadSettings::config`]): engines checked, values combined and checked against what the
//! machine has room for ([`crate::budget`]).

use std::time::Duration;

use workloads::kafka::log::LogFormat;

use super::{ReadSpec, WriteSpec};
use crate::budget::Room;
use crate::runner::read::{CacheMode, ReadConfig, DEFAULT_FETCH_BYTES};
use crate::runner::write::{
    WriteConfig, DEFAULT_BATCH_SIZE, DEFAULT_INDEX_INTERVAL, DEFAULT_RECORD_SIZE,
    DEFAULT_SEGMENT_SIZE,
};

/// Everything that defines a write workload but its engine, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteSettings {
    /// Topic name of the partition directories.
    pub topic: String,
    /// Partitions.
    pub partitions: u32,
    /// Runner threads.
    pub threads: u32,
    /// Record value bytes.
    pub record_size: u64,
    /// Batch size limit.
    pub batch_size: u64,
    /// Segment size.
    pub segment_size: u64,
    /// Bytes between index entries.
    pub index_interval: u64,
    /// Preallocate segments.
    pub preallocate: bool,
    /// Retention per partition.
    pub retention: Option<u64>,
    /// Flush policy, as written (`never`, `batch`, `bytes=SIZE`, `ms=N`).
    pub flush: String,
    /// Sync call, as written.
    pub sync: String,
    /// `kafka` or `raw`.
    pub format: String,
    /// Bytes per repetition.
    pub size: Option<u64>,
    /// Time per repetition.
    pub duration: Option<Duration>,
    /// Open-loop rate of all partitions, bytes/s.
    pub rate: Option<f64>,
}

impl WriteSettings {
    /// The configuration of `engine` (a spec, checked as `--engine` is); the error is one
    /// line naming the option as a flag.
    pub fn config(&self, engine: &str, room: Room) -> Result<WriteConfig, String> {
        use workloads::write::{check_spec, ENGINE_NAMES};
        let engine = crate::parse::engine(engine, "write", ENGINE_NAMES, check_spec)?;
        let (flush, sync) = crate::parse::flush_sync(&self.flush, &self.sync)?;
        let format = match self.format.as_str() {
            "kafka" => LogFormat::Kafka,
            "raw" => LogFormat::Raw,
            other => return Err(format!("--format '{other}': use kafka or raw")),
        };
        let cfg = WriteConfig {
            engine,
            topic: self.topic.clone(),
            partitions: self.partitions,
            threads: self.threads,
            record_size: self.record_size as usize,
            batch_size: self.batch_size as usize,
            segment_size: self.segment_size,
            index_interval: self.index_interval,
            preallocate: self.preallocate,
            retention: self.retention,
            flush,
            sync,
            format,
            size: self.size,
            duration: self.duration,
            rate: self.rate,
        };
        let shape = cfg.shape()?;
        crate::budget::check(
            &format!("write/{}", cfg.engine),
            crate::budget::write_needs(&cfg, &shape),
            room,
        )?;
        Ok(cfg)
    }
}

/// Everything that defines a read workload but its engine and cache state, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadSettings {
    /// Consumers per group.
    pub consumers: u32,
    /// Consumer groups.
    pub groups: u32,
    /// Largest fetch.
    pub fetch_size: u64,
    /// Time per repetition.
    pub duration: Option<Duration>,
    /// Verify every delivered batch.
    pub verify: bool,
    /// Rounds until steady of this length.
    pub until_steady: Option<Duration>,
    /// Open-loop rate of each group, bytes/s.
    pub rate: Option<f64>,
}

impl ReadSettings {
    /// The configuration of `engine` (a spec, checked as `--engine` is) with `cache`; the
    /// error is one line naming the option as a flag.
    pub fn config(&self, engine: &str, cache: CacheMode, room: Room) -> Result<ReadConfig, String> {
        use workloads::read::{check_spec, ENGINE_NAMES};
        let cfg = ReadConfig {
            engine: crate::parse::engine(engine, "read", ENGINE_NAMES, check_spec)?,
            cache,
            consumers: self.consumers,
            groups: self.groups,
            fetch_size: self.fetch_size,
            duration: self.duration,
            verify: self.verify,
            until_steady: self.until_steady,
            rate: self.rate,
        };
        cfg.check()?;
        crate::budget::check(&cfg.name(), crate::budget::read_needs(&cfg, 0), room)?;
        Ok(cfg)
    }
}

/// A size as written, or `default`.
fn size_or(v: &Option<String>, default: u64) -> Result<u64, String> {
    Ok(size(v)?.unwrap_or(default))
}

/// A size as written, if given.
fn size(v: &Option<String>) -> Result<Option<u64>, String> {
    v.as_deref()
        .map(workloads::units::parse_size)
        .transpose()
        .map_err(|e| e.0)
}

/// A duration as written, if given.
fn duration(v: &Option<String>) -> Result<Option<Duration>, String> {
    v.as_deref()
        .map(workloads::units::parse_duration)
        .transpose()
        .map_err(|e| e.0)
}

/// A rate as written, if given.
fn rate(v: &Option<String>) -> Result<Option<f64>, String> {
    v.as_deref()
        .map(workloads::units::parse_rate)
        .transpose()
        .map_err(|e| e.0)
}

/// A suite write workload's settings at one sweep point, and the engine spec with the
/// point's queue depth (`engine` itself without a qd sweep).
pub fn write_settings(
    w: &WriteSpec,
    engine: &str,
    point: &Option<(String, u32)>,
) -> Result<(WriteSettings, String), String> {
    let mut engine = engine.to_string();
    let mut partitions = w.partitions.unwrap_or(1);
    let mut threads = w.threads.unwrap_or(1);
    if let Some((p, v)) = point {
        match p.as_str() {
            "partitions" => partitions = *v,
            "threads" => threads = *v,
            "qd" => engine = super::with_qd(&engine, *v),
            other => return Err(format!("sweep '{other}' does not apply to write workloads")),
        }
    }
    let settings = WriteSettings {
        topic: w.name.clone(),
        partitions,
        threads,
        record_size: size_or(&w.record_size, DEFAULT_RECORD_SIZE)?,
        batch_size: size_or(&w.batch_size, DEFAULT_BATCH_SIZE)?,
        segment_size: size_or(&w.segment_size, DEFAULT_SEGMENT_SIZE)?,
        index_interval: size_or(&w.index_interval, DEFAULT_INDEX_INTERVAL)?,
        preallocate: w.preallocate.unwrap_or(false),
        retention: size(&w.retention)?,
        flush: w.flush.clone().unwrap_or_else(|| "never".into()),
        sync: w.sync.clone().unwrap_or_else(|| "fdatasync".into()),
        format: w.format.clone().unwrap_or_else(|| "kafka".into()),
        size: size(&w.size)?,
        duration: duration(&w.duration)?,
        rate: rate(&w.rate)?,
    };
    Ok((settings, engine))
}

/// A write configuration from a suite workload, one engine and one sweep point.
pub fn write_config(
    w: &WriteSpec,
    engine: &str,
    point: &Option<(String, u32)>,
) -> Result<WriteConfig, String> {
    let (settings, engine) = write_settings(w, engine, point)?;
    settings.config(&engine, Room::here())
}

/// The read configurations of a suite workload at one sweep point, one per engine.
pub fn read_configs(
    w: &ReadSpec,
    point: &Option<(String, u32)>,
) -> Result<Vec<ReadConfig>, String> {
    let mut s = ReadSettings {
        consumers: w.consumers.unwrap_or(1),
        groups: w.groups.unwrap_or(1),
        fetch_size: size_or(&w.fetch_size, DEFAULT_FETCH_BYTES)?,
        duration: duration(&w.duration)?,
        verify: w.verify.unwrap_or(false),
        until_steady: w
            .until_steady
            .as_deref()
            .and_then(|r| workloads::units::parse_duration_or_zero(r).ok()),
        rate: rate(&w.rate)?,
    };
    let mut qd = None;
    if let Some((p, v)) = point {
        match p.as_str() {
            "consumers" => s.consumers = *v,
            "groups" => s.groups = *v,
            "qd" => qd = Some(*v),
            other => return Err(format!("sweep '{other}' does not apply to read workloads")),
        }
    }
    let cache: CacheMode = w.cache.as_deref().unwrap_or("hot").parse()?;
    let room = Room::here();
    w.engines
        .iter()
        .map(|e| match qd {
            Some(q) => s.config(&super::with_qd(e, q), cache, room),
            None => s.config(e, cache, room),
        })
        .collect()
}
