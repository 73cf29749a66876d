//! A suite workload's runner configurations: a write workload's [`WriteConfig`] per engine and
//! sweep point, a read workload's [`ReadConfig`]s; each value parsed and checked against what
//! the machine has room for ([`crate::budget`]).

use workloads::kafka::log::LogFormat;

use super::WorkloadSpec;
use crate::runner::read::{CacheMode, ReadConfig, DEFAULT_FETCH_BYTES};
use crate::runner::write::{
    WriteConfig, DEFAULT_BATCH_SIZE, DEFAULT_INDEX_INTERVAL, DEFAULT_RECORD_SIZE,
    DEFAULT_SEGMENT_SIZE,
};

/// A write configuration from a suite workload, one engine and one sweep point.
pub fn write_config(
    w: &WorkloadSpec,
    engine: &str,
    point: &Option<(String, u32)>,
) -> Result<WriteConfig, String> {
    use workloads::units::{parse_duration, parse_rate, parse_size};
    let size = |v: &Option<String>, d: u64| -> Result<u64, String> {
        v.as_deref()
            .map(parse_size)
            .transpose()
            .map(|x| x.unwrap_or(d))
            .map_err(|e| e.0)
    };
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
    let cfg = WriteConfig {
        engine: engine
            .parse()
            .map_err(|e: workloads::EngineError| e.to_string())?,
        topic: w.name.clone(),
        partitions,
        threads,
        record_size: size(&w.record_size, DEFAULT_RECORD_SIZE)? as usize,
        batch_size: size(&w.batch_size, DEFAULT_BATCH_SIZE)? as usize,
        segment_size: size(&w.segment_size, DEFAULT_SEGMENT_SIZE)?,
        index_interval: size(&w.index_interval, DEFAULT_INDEX_INTERVAL)?,
        preallocate: w.preallocate.unwrap_or(false),
        retention: w
            .retention
            .as_deref()
            .map(parse_size)
            .transpose()
            .map_err(|e| e.0)?,
        flush: w.flush.as_deref().unwrap_or("never").parse()?,
        sync: w.sync.as_deref().unwrap_or("fdatasync").parse()?,
        format: if w.format.as_deref() == Some("raw") {
            LogFormat::Raw
        } else {
            LogFormat::Kafka
        },
        size: w
            .size
            .as_deref()
            .map(parse_size)
            .transpose()
            .map_err(|e| e.0)?,
        duration: w
            .duration
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| e.0)?,
        rate: w
            .rate
            .as_deref()
            .map(parse_rate)
            .transpose()
            .map_err(|e| e.0)?,
    };
    let shape = cfg.shape()?;
    crate::budget::check(
        &format!("write/{}", cfg.engine),
        crate::budget::write_needs(&cfg, &shape),
        crate::budget::Room::here(),
    )?;
    Ok(cfg)
}

/// The read configurations of a suite workload at one sweep point.
pub fn read_configs(
    w: &WorkloadSpec,
    point: &Option<(String, u32)>,
) -> Result<Vec<ReadConfig>, String> {
    use workloads::units::{parse_duration, parse_size};
    let mut consumers = w.consumers.unwrap_or(1);
    let mut groups = w.groups.unwrap_or(1);
    let mut qd = None;
    if let Some((p, v)) = point {
        match p.as_str() {
            "consumers" => consumers = *v,
            "groups" => groups = *v,
            "qd" => qd = Some(*v),
            other => return Err(format!("sweep '{other}' does not apply to read workloads")),
        }
    }
    let cache: CacheMode = w.cache.as_deref().unwrap_or("hot").parse()?;
    let mut out = Vec::new();
    for e in &w.engines {
        let e = match qd {
            Some(q) => super::with_qd(e, q),
            None => e.clone(),
        };
        let cfg = ReadConfig {
            engine: e
                .parse()
                .map_err(|x: workloads::EngineError| x.to_string())?,
            cache,
            consumers,
            groups,
            fetch_size: w
                .fetch_size
                .as_deref()
                .map(parse_size)
                .transpose()
                .map_err(|x| x.0)?
                .unwrap_or(DEFAULT_FETCH_BYTES),
            duration: w
                .duration
                .as_deref()
                .map(parse_duration)
                .transpose()
                .map_err(|x| x.0)?,
            verify: w.verify.unwrap_or(false),
            until_steady: super::until_steady(w),
            rate: w
                .rate
                .as_deref()
                .map(workloads::units::parse_rate)
                .transpose()
                .map_err(|x| x.0)?,
        };
        cfg.check()?;
        crate::budget::check(
            &cfg.name(),
            crate::budget::read_needs(&cfg, 0),
            crate::budget::Room::here(),
        )?;
        out.push(cfg);
    }
    Ok(out)
}
