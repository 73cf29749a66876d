//! A suite's validation: everything [`super::parse`] checks after TOML has parsed (kinds,
//! names, engines, sizes, sweeps, the keys each kind takes, until_steady), each error one line
//! naming the file and the line of the value.

use std::path::Path;

use super::{line_of, with_qd, Suite, SuiteError, WorkloadSpec, SWEEP_PARAMS};

/// Line of the first occurrence of `needle` in `text` (for errors on values found after parsing).
fn line_with(text: &str, needle: &str) -> String {
    text.find(needle)
        .map(|o| format!(", line {}", line_of(text, o)))
        .unwrap_or_default()
}

/// Checks a parsed suite: every workload's kind, names, engines, sizes, sweeps and the keys
/// its kind takes; an error names `origin` and the line of the offending value in `text`.
pub(super) fn check(s: &Suite, text: &str, origin: &Path) -> Result<(), SuiteError> {
    let err = |needle: &str, msg: String| {
        SuiteError(format!(
            "{}{}: {msg}",
            origin.display(),
            line_with(text, needle)
        ))
    };
    let mut names = std::collections::BTreeSet::new();
    if let Some(w) = &s.warmup {
        workloads::units::parse_duration_or_zero(w).map_err(|e| err(w, e.0))?;
    }
    for w in &s.workloads {
        if w.kind == "mixed" && names.insert(w.name.clone()) {
            super::mixed::check(w, &|x: &WorkloadSpec| {
                let one = Suite {
                    workloads: vec![x.clone()],
                    ..s.clone()
                };
                check(&one, text, origin).map_err(|e| e.0)
            })
            .map_err(|e| match e {
                super::mixed::SpecError::At { needle, msg } => err(&needle, msg),
                super::mixed::SpecError::Part(m) => SuiteError(m),
            })?;
            continue;
        }
        if !names.insert(w.name.clone()) {
            return Err(err(
                &w.name,
                format!(
                    "workload name '{}' is used twice; names must be unique",
                    w.name
                ),
            ));
        }
        if w.kind == "replicate" {
            super::replicate::configs(w, w.repeat.or(s.repeat).unwrap_or(1))
                .map_err(|m| err(&w.name, format!("workload '{}': {m}", w.name)))?;
            continue;
        }
        if w.has_replicate_options() {
            return Err(err(
                &w.name,
                format!(
                    "workload '{}': rf, acks, leader_engine, follower_engine, min_insync_replicas and replica_* apply to kind = \"replicate\" only",
                    w.name
                ),
            ));
        }
        type CheckSpec = fn(&workloads::EngineSpec) -> Result<(), workloads::EngineError>;
        let (known, check_spec): (&[&str], CheckSpec) = match w.kind.as_str() {
            "write" => (workloads::write::ENGINE_NAMES, workloads::write::check_spec),
            "read" => (workloads::read::ENGINE_NAMES, workloads::read::check_spec),
            other => {
                return Err(err(
                    other,
                    format!(
                        "kind '{other}': expected \"write\", \"read\", \"replicate\" or \"mixed\""
                    ),
                ))
            }
        };
        if w.engines.is_empty() {
            return Err(err(
                &w.name,
                format!(
                    "workload '{}' has no engines: expected e.g. engines = [\"buffered\"]",
                    w.name
                ),
            ));
        }
        crate::parse::unique_engines(&w.engines).map_err(|m| {
            let twice = w.engines.iter().rev().find(|e| m.contains(e.as_str()));
            err(
                twice.map_or(&w.name, |e| e),
                format!("workload '{}': {m}", w.name),
            )
        })?;
        for e in &w.engines {
            if e == "best" && w.kind == "write" {
                continue;
            }
            let bad = |x: workloads::EngineError| err(e, x.about_spec("engine", e));
            let spec: workloads::EngineSpec = e.parse().map_err(bad)?;
            if !known.contains(&spec.name.as_str()) {
                return Err(err(
                    e,
                    format!(
                        "unknown {} engine '{}': expected one of {}",
                        w.kind,
                        spec.name,
                        known.join(", ")
                    ),
                ));
            }
            check_spec(&spec).map_err(bad)?;
        }
        for v in [
            &w.record_size,
            &w.batch_size,
            &w.segment_size,
            &w.index_interval,
            &w.retention,
            &w.size,
            &w.fetch_size,
        ]
        .into_iter()
        .flatten()
        .filter(|v| super::probe_size(v).is_none())
        {
            workloads::units::parse_size(v).map_err(|e| err(v, e.0))?;
        }
        if let Some(d) = &w.duration {
            workloads::units::parse_duration(d).map_err(|e| err(d, e.0))?;
        }
        if let Some(r) = &w.rate {
            workloads::units::parse_rate(r).map_err(|e| err(r, e.0))?;
        }
        if let Some(f) = &w.flush {
            f.parse::<workloads::FlushPolicy>().map_err(|e| err(f, e))?;
        }
        if let Some(x) = &w.sync {
            x.parse::<workloads::SyncKind>().map_err(|e| err(x, e))?;
        }
        if let Some(f) = &w.format {
            if f != "kafka" && f != "raw" {
                return Err(err(
                    f,
                    format!("format '{f}': expected \"kafka\" or \"raw\""),
                ));
            }
        }
        if let Some(c) = &w.cache {
            if c != "hot" && c != "cold" {
                return Err(err(c, format!("cache '{c}': expected \"hot\" or \"cold\"")));
            }
        }
        if let Some(sw) = &w.sweep {
            if sw.values.len() > crate::budget::MAX_SWEEP_POINTS {
                return Err(err(
                    &sw.param,
                    format!(
                        "sweep of {} has {} points, more than {}; sweep fewer values",
                        sw.param,
                        sw.values.len(),
                        crate::budget::MAX_SWEEP_POINTS
                    ),
                ));
            }
            if !SWEEP_PARAMS.contains(&sw.param.as_str()) {
                return Err(err(
                    &sw.param,
                    format!(
                        "sweep param '{}': expected one of {}",
                        sw.param,
                        SWEEP_PARAMS.join(", ")
                    ),
                ));
            }
            if sw.values.is_empty() || sw.values.contains(&0) {
                return Err(err(
                    &sw.param,
                    "sweep values must be positive numbers, e.g. values = [1, 2, 4]".into(),
                ));
            }
            if sw.param == "qd" {
                // Each engine runs with every value in place of its own qd.
                for e in w.engines.iter().filter(|e| *e != "best") {
                    for v in &sw.values {
                        let bad = |x: workloads::EngineError| {
                            err(e, x.about_spec("engine", &format!("{e} (sweep qd={v})")))
                        };
                        check_spec(&with_qd(e, *v).parse().map_err(bad)?).map_err(bad)?;
                    }
                }
            }
        }
        if let Some(round) = &w.until_steady {
            check_until_steady(w, round).map_err(|m| err(round, m))?;
        }
        if w.kind == "write" && w.size.is_none() && w.duration.is_none() {
            return Err(err(
                &w.name,
                format!("workload '{}' needs size or duration", w.name),
            ));
        }
    }
    Ok(())
}

/// A workload's `until_steady`: a write or read workload's, a round that fits its duration.
fn check_until_steady(w: &WorkloadSpec, round: &str) -> Result<(), String> {
    if w.kind != "write" && w.kind != "read" {
        return Err(format!(
            "workload '{}': until_steady applies to write and read workloads",
            w.name
        ));
    }
    let round = workloads::units::parse_duration_or_zero(round).map_err(|e| e.0)?;
    let duration = match &w.duration {
        Some(d) => Some(workloads::units::parse_duration(d).map_err(|e| e.0)?),
        None => None,
    };
    crate::runner::steady::check_round("until_steady", round, duration)
        .map_err(|m| format!("workload '{}': {m}", w.name))
}
