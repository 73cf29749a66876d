//! What defines one read workload: the engine, the cache state, consumers and groups, the
//! fetch size ([`ReadConfig`]), and where the consumers send ([`SinkTarget`]).

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use serde_json::json;
use workloads::read::Caps;
use workloads::EngineSpec;

use super::logset::LogSet;

/// Default fetch size (Kafka's `max.partition.fetch.bytes`).
pub const DEFAULT_FETCH_BYTES: u64 = 1 << 20;
/// Largest fetch size (a frame's payload length is 32 bits; Kafka's batches are below 2 GiB).
pub const MAX_FETCH_BYTES: u64 = 1 << 31;

/// Page-cache state at the start of each repetition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    /// Every page of the log read first (tail readers).
    Hot,
    /// Flushed and evicted (`POSIX_FADV_DONTNEED`) first: reads come from the device
    /// (catch-up readers).
    Cold,
}

impl FromStr for CacheMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "hot" => Ok(CacheMode::Hot),
            "cold" => Ok(CacheMode::Cold),
            other => Err(format!("'{other}': use hot or cold")),
        }
    }
}

impl fmt::Display for CacheMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CacheMode::Hot => "hot",
            CacheMode::Cold => "cold",
        })
    }
}

/// Everything that defines one read workload.
#[derive(Debug, Clone)]
pub struct ReadConfig {
    /// The engine and its options.
    pub engine: EngineSpec,
    /// Page-cache state before each repetition.
    pub cache: CacheMode,
    /// Consumers per group.
    pub consumers: u32,
    /// Independent consumer groups, each reading everything.
    pub groups: u32,
    /// Largest fetch, bytes.
    pub fetch_size: u64,
    /// Read for this long, starting over at the beginning of the log (a cold reader evicts
    /// its partitions first, so every pass comes from the device); `None`: every group reads
    /// the whole log once.
    pub duration: Option<Duration>,
    /// Ask the sink to verify every batch.
    pub verify: bool,
    /// Run each repetition in rounds of this length until steady (`--until-steady`; needs a
    /// duration, which caps the rounds).
    pub until_steady: Option<Duration>,
    /// Each group's fetch rate, bytes/s (tail consumers keeping up with producers), shared
    /// among its consumers by their partitions; open loop: a fetch's latency runs from its
    /// intended start. `None`: as fast as possible.
    pub rate: Option<f64>,
}

impl ReadConfig {
    /// A one-line error naming the bad value, or `Ok`.
    pub fn check(&self) -> Result<(), String> {
        if self.consumers == 0 {
            return Err("--consumers 0: need at least one consumer".into());
        }
        if self.groups == 0 || self.groups > u32::from(u16::MAX) {
            return Err(format!("--groups {}: use 1..=65535", self.groups));
        }
        if let Some(r) = self.rate {
            if !(r > 0.0 && r.is_finite()) {
                return Err(format!("--rate {r}: use a positive rate, e.g. 40MB/s"));
            }
        }
        if self.fetch_size == 0 || self.fetch_size > MAX_FETCH_BYTES {
            return Err(format!(
                "--fetch-size {}: use 1 byte to 2GiB",
                self.fetch_size
            ));
        }
        Ok(())
    }

    /// The workload's name in results: `read/<engine>/<cache>`.
    pub fn name(&self) -> String {
        format!("read/{}/{}", self.engine, self.cache)
    }

    /// Every option, for the results file.
    pub fn config_map(
        &self,
        log: &LogSet,
        sink: &SinkTarget,
        caps: Option<&Caps>,
    ) -> BTreeMap<String, serde_json::Value> {
        let mut m = BTreeMap::new();
        m.insert("engine".into(), json!(self.engine.to_string()));
        m.insert("cache".into(), json!(self.cache.to_string()));
        m.insert("consumers".into(), json!(self.consumers));
        m.insert("groups".into(), json!(self.groups));
        m.insert("fetch_size_bytes".into(), json!(self.fetch_size));
        m.insert(
            "duration_s".into(),
            json!(self.duration.map(|d| d.as_secs_f64())),
        );
        m.insert("verify".into(), json!(self.verify));
        if let Some(round) = self.until_steady {
            m.insert(
                crate::runner::steady::CONFIG_KEY.into(),
                json!(round.as_secs_f64()),
            );
        }
        m.insert("rate_bytes_per_s".into(), json!(self.rate));
        m.insert("partitions".into(), json!(log.partitions.len()));
        m.insert("log_bytes".into(), json!(log.bytes));
        m.insert(
            "log_dirs".into(),
            json!(log
                .roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()),
        );
        m.insert("sink".into(), json!(sink.describe()));
        if let Some(c) = caps {
            m.insert("zero_copy".into(), json!(c.zero_copy));
            m.insert("uses_pipe".into(), json!(c.uses_pipe));
            m.insert("mapped".into(), json!(c.mapped));
            m.insert("queued".into(), json!(c.queued));
            m.insert("registered_buffers".into(), json!(c.registered_buffers));
        }
        m
    }
}

/// Where the consumers send.
#[derive(Debug, Clone)]
pub struct SinkTarget {
    /// The sink's address.
    pub addr: SocketAddr,
    /// A `segbench sink` elsewhere (`--sink`), not the in-process one.
    pub remote: bool,
}

impl SinkTarget {
    /// `in-process 127.0.0.1:PORT` or `remote HOST:PORT`.
    pub fn describe(&self) -> String {
        format!(
            "{} {}",
            if self.remote { "remote" } else { "in-process" },
            self.addr
        )
    }
}
