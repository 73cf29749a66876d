//! A suite's validation: everything [`super::parse`] checks after TOML has parsed (names,
//! engines, sizes, sweeps, until_steady; the keys each kind takes are its type's), each error one line
//! naming the file and the line of the value.

use std::path::Path;

use super::{line_of, with_qd, ReadSpec, Suite, SuiteError, WorkloadSpec, WriteSpec, SWEEP_PARAMS};

/// Line of the first occurrence of `needle` in `text` (for errors on values found after parsing).
fn line_with(text: &str, needle: &str) -> String {
    text.find(needle)
        .map(|o| format!(", line {}", line_of(text, o)))
        .unwrap_or_default()
}

/// Checks a parsed suite: every workload's names, engines, sizes, sweeps and values (the keys
/// its kind takes were held by its type when the suite was read); an error names `origin` and
/// the line of the offending value in `text`.
pub(super) fn check(s: &Suite, text: &str, origin: &Path) -> Result<(), SuiteError> {
    let err = |needle: &str, msg: String| {
        SuiteError(format!(
            "{}{}: {msg}",
            origin.display(),
            line_with(text, needle)
        ))
    };
    if s.workloads.is_empty() {
        return Err(SuiteError(format!(
            "{}: suite '{}' has no workloads: add at least one [[workload]] (e.g. kind = \"write\", engines = [\"buffered\"])",
            origin.display(),
            s.name
        )));
    }
    let repeat = |r: Option<u32>| match r {
        Some(n) => crate::parse::repeat(n).map(drop).map_err(|m| {
            err(
                &format!("repeat = {n}"),
                m.replace("--repeat ", "repeat = "),
            )
        }),
        None => Ok(()),
    };
    repeat(s.repeat)?;
    for w in &s.workloads {
        repeat(w.repeat())?;
    }
    let mut names = std::collections::BTreeSet::new();
    if let Some(w) = &s.warmup {
        workloads::units::parse_duration_or_zero(w).map_err(|e| err(w, e.0))?;
    }
    for w in &s.workloads {
        let name = w.name();
        if let WorkloadSpec::Mixed(m) = w {
            if names.insert(name.to_string()) {
                super::mixed::check(m, &|x: &WorkloadSpec| {
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
        }
        if !names.insert(name.to_string()) {
            return Err(err(
                name,
                format!("workload name '{name}' is used twice; names must be unique"),
            ));
        }
        let m = match w {
            WorkloadSpec::Write(x) => Measured::write(x),
            WorkloadSpec::Read(x) => Measured::read(x),
            WorkloadSpec::Replicate(r) => {
                super::replicate::configs(r, r.repeat.or(s.repeat).unwrap_or(1))
                    .map_err(|m| err(name, format!("workload '{name}': {m}")))?;
                continue;
            }
            WorkloadSpec::Mixed(_) => continue,
        };
        check_measured(w, &m, &err)?;
    }
    Ok(())
}

/// What the checks read of a write or read workload.
struct Measured<'a> {
    /// `write` or `read` (for messages).
    kind: &'static str,
    /// Takes `best` (the fastest write engine so far) as an engine.
    takes_best: bool,
    /// The family's engine names.
    known: &'static [&'static str],
    /// The family's engine option check.
    check_spec: CheckSpec,
    /// Every size given, as written.
    sizes: Vec<&'a String>,
    duration: Option<&'a String>,
    rate: Option<&'a String>,
    flush: Option<&'a String>,
    sync: Option<&'a String>,
    format: Option<&'a String>,
    cache: Option<&'a String>,
    sweep: Option<&'a super::Sweep>,
    until_steady: Option<&'a String>,
    /// A write workload without a size or a duration.
    unbounded: bool,
}

type CheckSpec = fn(&workloads::EngineSpec) -> Result<(), workloads::EngineError>;

impl<'a> Measured<'a> {
    fn write(w: &'a WriteSpec) -> Self {
        Measured {
            kind: "write",
            takes_best: true,
            known: workloads::write::ENGINE_NAMES,
            check_spec: workloads::write::check_spec,
            sizes: [
                &w.record_size,
                &w.batch_size,
                &w.segment_size,
                &w.index_interval,
                &w.retention,
                &w.size,
            ]
            .into_iter()
            .flatten()
            .collect(),
            duration: w.duration.as_ref(),
            rate: w.rate.as_ref(),
            flush: w.flush.as_ref(),
            sync: w.sync.as_ref(),
            format: w.format.as_ref(),
            cache: None,
            sweep: w.sweep.as_ref(),
            until_steady: w.until_steady.as_ref(),
            unbounded: w.size.is_none() && w.duration.is_none(),
        }
    }

    fn read(r: &'a ReadSpec) -> Self {
        Measured {
            kind: "read",
            takes_best: false,
            known: workloads::read::ENGINE_NAMES,
            check_spec: workloads::read::check_spec,
            sizes: [&r.size, &r.fetch_size].into_iter().flatten().collect(),
            duration: r.duration.as_ref(),
            rate: r.rate.as_ref(),
            flush: None,
            sync: None,
            format: None,
            cache: r.cache.as_ref(),
            sweep: r.sweep.as_ref(),
            until_steady: r.until_steady.as_ref(),
            unbounded: false,
        }
    }
}

/// Checks a write or read workload `w` (read through `m`): engines, values, sweep,
/// until_steady, a bound.
fn check_measured(
    w: &WorkloadSpec,
    m: &Measured,
    err: &dyn Fn(&str, String) -> SuiteError,
) -> Result<(), SuiteError> {
    let name = w.name();
    let engines = w.engines();
    if engines.is_empty() {
        return Err(err(
            name,
            format!("workload '{name}' has no engines: expected e.g. engines = [\"buffered\"]"),
        ));
    }
    crate::parse::unique_engines(engines).map_err(|msg| {
        let twice = engines.iter().rev().find(|e| msg.contains(e.as_str()));
        err(
            twice.map_or(name, |e| e),
            format!("workload '{name}': {msg}"),
        )
    })?;
    for e in engines {
        if e == "best" && m.takes_best {
            continue;
        }
        let bad = |x: workloads::EngineError| err(e, x.about_spec("engine", e));
        let spec: workloads::EngineSpec = e.parse().map_err(bad)?;
        if !m.known.contains(&spec.name.as_str()) {
            return Err(err(
                e,
                format!(
                    "unknown {} engine '{}': expected one of {}",
                    m.kind,
                    spec.name,
                    m.known.join(", ")
                ),
            ));
        }
        (m.check_spec)(&spec).map_err(bad)?;
    }
    for v in m.sizes.iter().filter(|v| super::probe_size(v).is_none()) {
        workloads::units::parse_size(v).map_err(|e| err(v, e.0))?;
    }
    if let Some(d) = m.duration {
        workloads::units::parse_duration(d).map_err(|e| err(d, e.0))?;
    }
    if let Some(r) = m.rate {
        workloads::units::parse_rate(r).map_err(|e| err(r, e.0))?;
    }
    if let Some(f) = m.flush {
        f.parse::<workloads::FlushPolicy>().map_err(|e| err(f, e))?;
    }
    if let Some(x) = m.sync {
        x.parse::<workloads::SyncKind>().map_err(|e| err(x, e))?;
    }
    if let Some(f) = m.format {
        if f != "kafka" && f != "raw" {
            return Err(err(
                f,
                format!("format '{f}': expected \"kafka\" or \"raw\""),
            ));
        }
    }
    if let Some(c) = m.cache {
        if c != "hot" && c != "cold" {
            return Err(err(c, format!("cache '{c}': expected \"hot\" or \"cold\"")));
        }
    }
    if let Some(sw) = m.sweep {
        check_sweep(sw, engines, m.check_spec, err)?;
    }
    if let Some(round) = m.until_steady {
        check_until_steady(name, m.duration, round).map_err(|msg| err(round, msg))?;
    }
    if m.unbounded {
        return Err(err(
            name,
            format!("workload '{name}' needs size or duration"),
        ));
    }
    Ok(())
}

/// A sweep: a known parameter, positive values, not too many; a qd sweep valid for every
/// engine at every value.
fn check_sweep(
    sw: &super::Sweep,
    engines: &[String],
    check_spec: CheckSpec,
    err: &dyn Fn(&str, String) -> SuiteError,
) -> Result<(), SuiteError> {
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
        for e in engines.iter().filter(|e| *e != "best") {
            for v in &sw.values {
                let bad = |x: workloads::EngineError| {
                    err(e, x.about_spec("engine", &format!("{e} (sweep qd={v})")))
                };
                check_spec(&with_qd(e, *v).parse().map_err(bad)?).map_err(bad)?;
            }
        }
    }
    Ok(())
}

/// A write or read workload's `until_steady`: a round that fits its duration.
fn check_until_steady(name: &str, duration: Option<&String>, round: &str) -> Result<(), String> {
    let round = workloads::units::parse_duration_or_zero(round).map_err(|e| e.0)?;
    let duration = match duration {
        Some(d) => Some(workloads::units::parse_duration(d).map_err(|e| e.0)?),
        None => None,
    };
    crate::runner::steady::check_round("until_steady", round, duration)
        .map_err(|m| format!("workload '{name}': {m}"))
}
