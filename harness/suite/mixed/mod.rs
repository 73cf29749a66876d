//! A suite `[[workload]]` of `kind = "mixed"` and its `[[workload.part]]`s: the checks made
//! when the suite is read, what `--quick` does to it, and its [`MixedConfig`].
//!
//! ```toml
//! [[workload]]
//! kind = "mixed"
//! name = "produce-catch-up"
//! duration = "4s"                 # the common measured interval
//!
//! [[workload.part]]
//! kind = "write"                  # any write workload option, one engine
//! name = "produce"
//! engines = ["buffered"]
//! rate = "20MB/s"
//!
//! [[workload.part]]
//! kind = "read"                   # any read workload option, one engine; size = its log
//! name = "catch-up"
//! engines = ["sendfile"]
//! cache = "cold"
//! size = "256MiB"
//!
//! [[workload.part]]
//! kind = "snapshot"               # or "checkpoint" with every = "30s"
//! name = "snapshot"
//! size = "256MiB"
//! every_records = 100000
//! ```
//!
//! A part with `background = true` (e.g. tail readers) runs in every run: the others are then
//! compared with and without their foreground siblings (produce with and without catch-up
//! reads, the tail readers running in both).

use std::path::PathBuf;
use std::time::Duration;

use workloads::units::{parse_duration, parse_size};

use super::config::{read_configs, write_config};
use super::{MixedSpec, PartSpec, PeriodicSpec, ReadSpec, WorkloadSpec, WriteSpec};
use crate::runner::mixed::{MixedConfig, Part, PeriodicConfig, Trigger};
use crate::runner::read::prepare::{DEFAULT_PARTITIONS, DEFAULT_SIZE};

/// Default snapshot size: ZooKeeper's data tree of the issue's example, 256 MiB.
pub const DEFAULT_SNAPSHOT_BYTES: u64 = 256 << 20;
/// ZooKeeper's `snapCount` default.
pub const DEFAULT_SNAP_COUNT: u64 = 100_000;
/// Flume's `checkpointInterval` default, 30 s.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(30);
/// Flume's `capacity` default (events): the checkpoint is `capacity × 8` bytes.
pub const DEFAULT_CHANNEL_CAPACITY: u64 = 1_000_000;
/// `--quick` divides `snapCount` and `checkpointInterval` by this.
pub const QUICK_FACTOR: u64 = 20;

/// A mixed workload the suite cannot run.
#[derive(Debug)]
pub enum SpecError {
    /// `msg` about the value `needle` (the suite's error finds its line by it).
    At {
        /// Text to find the line by.
        needle: String,
        /// What is wrong and the fix.
        msg: String,
    },
    /// A part's own check failed: its whole message, file and line included.
    Part(String),
}

/// Checks a mixed workload: at least two parts, unique names, one engine per write or read
/// part (each checked as that workload would be, by `check_part`), a duration on the mixed
/// workload and none on its parts, a snapshot only beside a write part.
pub fn check(
    w: &MixedSpec,
    check_part: &dyn Fn(&WorkloadSpec) -> Result<(), String>,
) -> Result<(), SpecError> {
    let at = |needle: &str, msg: String| SpecError::At {
        needle: needle.to_string(),
        msg,
    };
    let name = &w.name;
    // Quoted, the names find their own line rather than the first word that contains them.
    let (qname, quoted) = (format!("\"{name}\""), |n: &str| format!("\"{n}\""));
    if w.parts.len() < 2 {
        return Err(at(
            &qname,
            format!("mixed workload '{name}' has {} part(s): give at least two [[workload.part]] (e.g. a write and a read)", w.parts.len()),
        ));
    }
    let Some(d) = &w.duration else {
        return Err(at(
            &qname,
            format!(
                "mixed workload '{name}' needs duration = \"...\" (the common measured interval)"
            ),
        ));
    };
    parse_duration(d).map_err(|e| at(d, format!("mixed workload '{name}': {}", e.0)))?;
    let foreground = w.parts.iter().filter(|p| !p.background()).count();
    if foreground < 2 {
        return Err(at(
            &qname,
            format!("mixed workload '{name}' has {foreground} part(s) not in the background: a part is compared with and without the others, so give at least two"),
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    for p in &w.parts {
        let pn = p.name();
        if !names.insert(pn.to_string()) {
            return Err(at(
                &quoted(pn),
                format!("mixed workload '{name}': part name '{pn}' is used twice"),
            ));
        }
        let one = match p {
            PartSpec::Write(x) => {
                let (e, own) = (&x.engines, (&x.duration, x.sweep.is_some(), x.repeat));
                check_measured_part(name, pn, e, own, &x.until_steady, &at)?;
                WorkloadSpec::Write(WriteSpec {
                    duration: w.duration.clone(),
                    ..x.clone()
                })
            }
            PartSpec::Read(x) => {
                let (e, own) = (&x.engines, (&x.duration, x.sweep.is_some(), x.repeat));
                check_measured_part(name, pn, e, own, &x.until_steady, &at)?;
                WorkloadSpec::Read(ReadSpec {
                    duration: w.duration.clone(),
                    ..x.clone()
                })
            }
            PartSpec::Snapshot(x) | PartSpec::Checkpoint(x) => {
                check_periodic(w, p, x, &at)?;
                continue;
            }
        };
        check_part(&one).map_err(SpecError::Part)?;
    }
    Ok(())
}

/// A write or read part: no duration, sweep, repeat or until_steady of its own (they belong
/// to the mixed workload), exactly one engine.
fn check_measured_part(
    name: &str,
    pn: &str,
    engines: &[String],
    (duration, sweep, repeat): (&Option<String>, bool, Option<u32>),
    until_steady: &Option<String>,
    at: &dyn Fn(&str, String) -> SpecError,
) -> Result<(), SpecError> {
    let quoted = format!("\"{pn}\"");
    if duration.is_some() || sweep || repeat.is_some() {
        return Err(at(
            &quoted,
            format!("mixed workload '{name}', part '{pn}': duration, sweep and repeat belong to the mixed workload"),
        ));
    }
    if until_steady.is_some() {
        return Err(at(
            &quoted,
            format!("mixed workload '{name}': until_steady does not apply (its parts are measured over one common interval)"),
        ));
    }
    if engines.len() != 1 || engines[0] == "best" {
        return Err(at(
            &quoted,
            format!("mixed workload '{name}', part '{pn}': give exactly one engine, e.g. engines = [\"buffered\"]"),
        ));
    }
    Ok(())
}

/// A snapshot or checkpoint part: its size and interval parse, a positive snapCount, a
/// snapshot only beside a write part.
fn check_periodic(
    w: &MixedSpec,
    p: &PartSpec,
    x: &PeriodicSpec,
    at: &dyn Fn(&str, String) -> SpecError,
) -> Result<(), SpecError> {
    let (name, pn) = (&w.name, &x.name);
    if let Some(s) = &x.size {
        parse_size(s).map_err(|e| at(s, format!("part '{pn}': {}", e.0)))?;
    }
    if let Some(e) = &x.every {
        parse_duration(e).map_err(|err| at(e, format!("part '{pn}': {}", err.0)))?;
    }
    if x.every_records == Some(0) {
        return Err(at(
            &format!("\"{pn}\""),
            format!("part '{pn}': every_records must be at least 1"),
        ));
    }
    let has_write = w.parts.iter().any(|q| matches!(q, PartSpec::Write(_)));
    if matches!(p, PartSpec::Snapshot(_)) && !has_write {
        return Err(at(
            &format!("\"{pn}\""),
            format!("mixed workload '{name}': a snapshot counts a write part's transactions; add a write part"),
        ));
    }
    Ok(())
}

/// What `--quick` does to a mixed workload's parts: the same size cap as any workload (at
/// most 64 MiB, as [`crate::suite::quicken`] does), and `snapCount` and `checkpointInterval`
/// divided by [`QUICK_FACTOR`], so a snapshot and a checkpoint still happen in the shorter
/// interval.
pub fn quicken(w: &mut MixedSpec) {
    for p in &mut w.parts {
        match p {
            PartSpec::Write(x) => super::cap_size(&mut x.size),
            PartSpec::Read(x) => super::cap_size(&mut x.size),
            PartSpec::Snapshot(x) => {
                super::cap_size(&mut x.size);
                x.every_records =
                    Some((x.every_records.unwrap_or(DEFAULT_SNAP_COUNT) / QUICK_FACTOR).max(1));
            }
            PartSpec::Checkpoint(x) => {
                super::cap_size(&mut x.size);
                let every = x
                    .every
                    .as_deref()
                    .and_then(|e| parse_duration(e).ok())
                    .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL);
                // In whole milliseconds, at least one.
                let ms = (every / QUICK_FACTOR as u32).as_millis().max(1);
                let quick = Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX));
                x.every = Some(crate::parse::duration_text(quick));
            }
        }
    }
}

/// The configuration of a checked mixed workload; `snap_dir` puts snapshot and checkpoint
/// files in another directory.
pub fn config(w: &MixedSpec, snap_dir: Option<&PathBuf>) -> Result<MixedConfig, String> {
    let duration = parse_duration(w.duration.as_deref().unwrap_or("")).map_err(|e| e.0)?;
    let mut parts = Vec::new();
    for p in &w.parts {
        let bad = |m: String| format!("part '{}': {m}", p.name());
        let part = match p {
            PartSpec::Write(x) => {
                let one = WriteSpec {
                    duration: w.duration.clone(),
                    ..x.clone()
                };
                let mut cfg = write_config(&one, &x.engines[0], &None).map_err(bad)?;
                cfg.topic = x.name.clone();
                Part::Write(cfg)
            }
            PartSpec::Read(x) => {
                let one = ReadSpec {
                    duration: w.duration.clone(),
                    ..x.clone()
                };
                let mut cfgs = read_configs(&one, &None).map_err(bad)?;
                // Every reader runs the whole interval; a cold (catch-up) one evicts its
                // partitions before each new pass, so it keeps reading from the device.
                let cfg = cfgs.pop().ok_or_else(|| bad("no engine".into()))?;
                Part::Read {
                    cfg,
                    log_bytes: size_or(&x.size, DEFAULT_SIZE).map_err(bad)?,
                    log_partitions: x.partitions.unwrap_or(DEFAULT_PARTITIONS),
                }
            }
            PartSpec::Snapshot(x) => Part::Periodic(PeriodicConfig {
                bytes: size_or(&x.size, DEFAULT_SNAPSHOT_BYTES).map_err(bad)?,
                trigger: Trigger::Records {
                    snap_count: x.every_records.unwrap_or(DEFAULT_SNAP_COUNT),
                },
                dir: snap_dir.cloned(),
            }),
            PartSpec::Checkpoint(x) => Part::Periodic(PeriodicConfig {
                bytes: size_or(&x.size, DEFAULT_CHANNEL_CAPACITY * 8).map_err(bad)?,
                trigger: Trigger::Every(match &x.every {
                    Some(e) => parse_duration(e).map_err(|err| bad(err.0))?,
                    None => DEFAULT_CHECKPOINT_INTERVAL,
                }),
                dir: snap_dir.cloned(),
            }),
        };
        parts.push((p.name().to_string(), part));
    }
    let background = w
        .parts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.background())
        .map(|(i, _)| i)
        .collect();
    Ok(MixedConfig {
        name: w.name.clone(),
        parts,
        duration,
        background,
    })
}

/// A size as written, or `default`.
fn size_or(v: &Option<String>, default: u64) -> Result<u64, String> {
    v.as_deref()
        .map_or(Ok(default), |s| parse_size(s).map_err(|e| e.0))
}

/// Options of a part given as `KEY=VALUE` that are numbers or booleans in a suite file.
const NUMBER_KEYS: &[&str] = &[
    "partitions",
    "threads",
    "consumers",
    "groups",
    "every_records",
];
const BOOL_KEYS: &[&str] = &["preallocate", "verify", "background"];
/// Options a part given on the command line may set (the suite's part options; `engine` is
/// one engine).
const CLI_KEYS: &[&str] = &[
    "name",
    "engine",
    "partitions",
    "threads",
    "record_size",
    "batch_size",
    "segment_size",
    "index_interval",
    "preallocate",
    "retention",
    "flush",
    "sync",
    "format",
    "size",
    "rate",
    "consumers",
    "groups",
    "fetch_size",
    "cache",
    "verify",
    "every",
    "every_records",
    "background",
];

/// A part from the command line: `kind` (`write`, `read`, `snapshot`, `checkpoint`) and
/// comma-separated `KEY=VALUE` options, e.g. `name=produce,engine=buffered,rate=20MB/s`. After
/// an engine with options, a piece that is not `KEY=VALUE` with a known key is one more engine
/// option, so they need no quoting: `engine=uring:qd=8,direct`. The name defaults to the kind.
pub fn from_cli(kind: &str, text: &str) -> Result<PartSpec, String> {
    let flag = format!("--{kind} {text}");
    let mut pairs: Vec<(String, String)> = Vec::new();
    for piece in text.split(',') {
        let known = piece
            .split_once('=')
            .filter(|(k, _)| CLI_KEYS.contains(k) && !pairs.iter().any(|(p, _)| p == k));
        match (known, pairs.last_mut()) {
            (Some((k, v)), _) => pairs.push((k.to_string(), v.to_string())),
            // Only an engine with options (`uring:qd=8`) takes more of them (`,direct`).
            (None, Some((k, v))) if k == "engine" && v.contains(':') && !piece.is_empty() => {
                v.push(',');
                v.push_str(piece);
            }
            _ => {
                return Err(format!(
                    "{flag}: '{piece}' is not KEY=VALUE with a known key; keys: {}",
                    CLI_KEYS.join(", ")
                ))
            }
        }
    }
    let mut table = toml::Table::new();
    table.insert("kind".into(), kind.into());
    table.insert("name".into(), kind.into());
    for (k, v) in pairs {
        let value = if k == "engine" {
            table.insert("engines".into(), toml::Value::Array(vec![v.into()]));
            continue;
        } else if NUMBER_KEYS.contains(&k.as_str()) {
            toml::Value::Integer(
                v.parse()
                    .map_err(|_| format!("{flag}: {k}={v}: expected a whole number"))?,
            )
        } else if BOOL_KEYS.contains(&k.as_str()) {
            toml::Value::Boolean(
                v.parse()
                    .map_err(|_| format!("{flag}: {k}={v}: expected true or false"))?,
            )
        } else {
            toml::Value::String(v)
        };
        table.insert(k, value);
    }
    table
        .try_into()
        .map_err(|e: toml::de::Error| format!("{flag}: {}", e.message().replace('\n', " ")))
}

#[cfg(test)]
mod tests;
