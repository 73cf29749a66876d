//! Suite files (TOML): a list of workloads and sweeps that `segbench run` executes in order.
//! Presets are suite files built into the binary (`segbench run --preset kafka --print`).
//!
//! ```toml
//! name = "example"
//! repeat = 3            # measured repetitions per engine
//! warmup = "1s"
//!
//! [[workload]]
//! kind = "write"
//! name = "engines"
//! engines = ["buffered", "uring:qd=8,direct"]
//! partitions = 4
//! duration = "3s"
//!
//! [[workload]]
//! kind = "write"
//! name = "scale-partitions"
//! engines = ["best"]    # the fastest engine of the write workloads so far
//! duration = "2s"
//! sweep = { param = "partitions", values = [1, 2, 4, 8, 16] }
//! ```
//!
//! Files: this one (the suite, presets, parsing, `--quick` / `--duration`); [`spec`](WorkloadSpec)
//! (one typed spec per kind); `diagnose` (a key of another kind named with its line); `check`
//! (values, engines, sweeps); [`config`] (write and read settings and configurations);
//! [`replicate`] and [`mixed`] (those kinds' settings, checks and configurations); [`jobs`]
//! (a checked suite as the executor's jobs).

mod check;
pub mod config;
mod diagnose;
pub mod jobs;
pub mod mixed;
pub mod replicate;
mod spec;

pub use spec::{
    MixedSpec, PartSpec, PeriodicSpec, ReadSpec, ReplicateSpec, WorkloadSpec, WriteSpec,
};

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A parsed suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Suite name (shown in reports).
    pub name: String,
    /// What the suite measures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Measured repetitions per engine (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
    /// Warm-up before each engine's first repetition (default 1s; "0" for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<String>,
    /// The workloads, in order.
    #[serde(rename = "workload", default)]
    pub workloads: Vec<WorkloadSpec>,
}

/// A sweep: the workload runs once per value of `param`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// `partitions`, `threads`, `qd` (engine option), `consumers` or `groups`.
    pub param: String,
    /// The values.
    pub values: Vec<u32>,
}

/// Parameters a sweep may vary.
pub const SWEEP_PARAMS: &[&str] = &["partitions", "threads", "qd", "consumers", "groups"];

/// A suite that does not parse or names something unknown: the message has the file and line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SuiteError(pub String);

/// The built-in presets: name, description, TOML.
pub const PRESETS: &[(&str, &str, &str)] = &[
    (
        "kafka",
        "Kafka defaults across every write and read engine, then scaling sweeps",
        include_str!("../presets/kafka.toml"),
    ),
    (
        "flume-file-channel",
        "Flume file channel: transactions fsynced on every commit",
        include_str!("../presets/flume-file-channel.toml"),
    ),
    (
        "zk-txnlog",
        "ZooKeeper transaction log: small group commits, fdatasync, 64 MiB preallocation",
        include_str!("../presets/zk-txnlog.toml"),
    ),
    (
        "sustained",
        "Sustained writes past the dirty limit, in rounds until steady (SNIA PTS)",
        include_str!("../presets/sustained.toml"),
    ),
];

/// Names of the presets, including `all`.
pub fn preset_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = PRESETS.iter().map(|p| p.0).collect();
    v.push("all");
    v
}

/// The TOML of a preset; `all` concatenates the others' workloads.
pub fn preset_toml(name: &str) -> Option<String> {
    if name == "all" {
        let mut all = Suite {
            name: "all".into(),
            description: Some(
                "kafka, flume-file-channel, zk-txnlog and sustained in one run".into(),
            ),
            repeat: None,
            warmup: None,
            workloads: Vec::new(),
        };
        for (n, _, text) in PRESETS {
            let s = parse(text, Path::new(n)).ok()?;
            all.repeat = all.repeat.or(s.repeat);
            all.warmup = all.warmup.or(s.warmup);
            all.workloads.extend(s.workloads);
        }
        return toml::to_string(&all).ok();
    }
    PRESETS
        .iter()
        .find(|p| p.0 == name)
        .map(|p| p.2.to_string())
}

/// The suffix of a size relative to the dirty limit: `"2x-dirty-limit"`.
const DIRTY_SUFFIX: &str = "x-dirty-limit";

/// The factor of a size given relative to the dirty limit (`"2x-dirty-limit"` → 2); `None` for
/// any other value.
pub fn probe_size(v: &str) -> Option<f64> {
    let k: f64 = v.trim().strip_suffix(DIRTY_SUFFIX)?.parse().ok()?;
    (k.is_finite() && k > 0.0).then_some(k)
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parses and checks a suite; `origin` names the file in errors.
pub fn parse(text: &str, origin: &Path) -> Result<Suite, SuiteError> {
    let suite: Suite = toml::from_str(text).map_err(|e| {
        let (offset, msg) = diagnose::explain(text, &e);
        let line = offset
            .map(|o| format!(", line {}", line_of(text, o)))
            .unwrap_or_default();
        SuiteError(format!("{}{line}: {msg}", origin.display()))
    })?;
    check::check(&suite, text, origin)?;
    Ok(suite)
}

/// Checks one workload given outside a suite file (a `segbench mixed` part); `origin`
/// starts the message.
pub fn check_workload(w: &WorkloadSpec, origin: &Path) -> Result<(), SuiteError> {
    let one = Suite {
        name: String::new(),
        description: None,
        repeat: None,
        warmup: None,
        workloads: vec![w.clone()],
    };
    check::check(&one, "", origin)
}

/// A checked suite's warm-up: its `warmup`, default 1 s.
pub fn warmup(s: &Suite) -> Duration {
    s.warmup
        .as_deref()
        .and_then(|w| workloads::units::parse_duration_or_zero(w).ok())
        .unwrap_or(Duration::from_secs(1))
}

/// The round length of a checked workload run until steady.
pub fn until_steady(w: &WorkloadSpec) -> Option<Duration> {
    w.until_steady()
        .and_then(|r| workloads::units::parse_duration_or_zero(r).ok())
}

/// Shortens a workload's rounds so that a window of 5 fits its (shortened) duration: a round
/// of a fifth of the duration, in whole timeline intervals (at least one).
fn fit_rounds(w: &mut WorkloadSpec) {
    let (Some(round), Some(d)) = (until_steady(w), w.duration()) else {
        return;
    };
    let Ok(d) = workloads::units::parse_duration(d) else {
        return;
    };
    let window = results::steady::WINDOW_ROUNDS as u32;
    if round * window > d {
        let step = crate::runner::timeline::DEFAULT_INTERVAL_NS as u128;
        let fitted = ((d / window).as_nanos() / step).max(1) * step;
        if let Some(u) = w.until_steady_mut() {
            let fitted = Duration::from_nanos(u64::try_from(fitted).unwrap_or(u64::MAX));
            *u = Some(crate::parse::duration_text(fitted));
        }
    }
}

/// Caps a size as written at 64 MiB (`--quick`).
fn cap_size(size: &mut Option<String>) {
    if let Some(z) = size {
        if workloads::units::parse_size(z)
            .map(|z| z > 64 << 20)
            .unwrap_or(false)
        {
            *size = Some("64MiB".into());
        }
    }
}

/// Scales a suite down for `--quick`: durations at most `max`, sizes at most 64 MiB, at most two
/// repetitions and three sweep points; rounds run until steady
/// shortened to fit five in a duration.
pub fn quicken(s: &mut Suite, max: Duration) {
    s.repeat = Some(s.repeat.unwrap_or(3).min(2));
    s.warmup = Some("200ms".into());
    for w in &mut s.workloads {
        let duration = w.duration_mut();
        if let Some(d) = duration {
            if workloads::units::parse_duration(d)
                .map(|d| d > max)
                .unwrap_or(false)
            {
                *duration = Some(crate::parse::duration_text(max));
            }
        }
        if let Some(size) = w.size_mut() {
            cap_size(size);
        }
        let repeat = w.repeat_mut();
        *repeat = repeat.map(|r| r.min(2));
        fit_rounds(w);
        let sweep = match w {
            WorkloadSpec::Write(x) => x.sweep.as_mut(),
            WorkloadSpec::Read(x) => x.sweep.as_mut(),
            WorkloadSpec::Mixed(m) => {
                mixed::quicken(m);
                None
            }
            WorkloadSpec::Replicate(_) => None,
        };
        if let Some(sw) = sweep {
            if sw.values.len() > 3 {
                let n = sw.values.len();
                sw.values = vec![sw.values[0], sw.values[n / 2], sw.values[n - 1]];
            }
        }
    }
}

/// Overrides every workload's duration (`--duration`), except cold reads, which keep the
/// suite's setting: without a duration, one pass over the whole log (a catch-up reader's
/// figure); with one, passes until it ends, each after evicting the reader's partitions
/// (`runner::read::ReadConfig::duration`).
pub fn set_duration(s: &mut Suite, d: &str) {
    for w in &mut s.workloads {
        if matches!(w, WorkloadSpec::Read(r) if r.cache.as_deref() == Some("cold")) {
            continue;
        }
        *w.duration_mut() = Some(d.to_string());
        fit_rounds(w);
    }
}

/// The values of a workload's sweep as (label, value) pairs; one unlabelled entry without a
/// sweep.
pub fn sweep_points(sweep: Option<&Sweep>) -> Vec<Option<(String, u32)>> {
    match sweep {
        None => vec![None],
        Some(s) => s
            .values
            .iter()
            .map(|v| Some((s.param.clone(), *v)))
            .collect(),
    }
}

/// Sets `qd=value` in an engine spec.
pub fn with_qd(engine: &str, qd: u32) -> String {
    match engine.parse::<workloads::EngineSpec>() {
        Ok(mut s) => {
            s.options.insert("qd".into(), Some(qd.to_string()));
            s.to_string()
        }
        Err(_) => engine.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A suite that would run nothing is refused, not a run of nothing with exit 0.
    #[test]
    fn a_suite_with_no_workloads_is_refused() {
        for text in ["name = \"s\"\n", "name = \"s\"\nworkload = []\n"] {
            let e = parse(text, Path::new("s.toml")).unwrap_err().0;
            assert!(
                e.starts_with("s.toml: suite 's' has no workloads") && e.contains("[[workload]]"),
                "{e}"
            );
        }
    }

    /// A suite's repetitions are bounded as `--repeat` is, named in the suite's words.
    #[test]
    fn a_suite_repeat_past_the_bound_is_refused() {
        let text = "name = \"s\"\nrepeat = 1000000\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"null\"]\nsize = \"1MiB\"\n";
        let e = parse(text, Path::new("s.toml")).unwrap_err().0;
        assert!(
            e.starts_with("s.toml, line 2: repeat = 1000000: at most 200"),
            "{e}"
        );
    }

    /// A key a replicate workload does not take is named alone; engines are mentioned only
    /// when the key is about engines.
    #[test]
    fn a_replicate_workload_refusing_a_key_names_engines_only_for_engines() {
        let suite = |key: &str| {
            format!("name = \"s\"\n[[workload]]\nkind = \"replicate\"\nname = \"r\"\n{key}\n")
        };
        let e = parse(&suite("cache = \"hot\""), Path::new("s.toml"))
            .unwrap_err()
            .0;
        assert_eq!(
            e,
            "s.toml, line 5: workload 'r': cache does not apply to replicate workloads"
        );
        let e = parse(&suite("engines = [\"mmap\"]"), Path::new("s.toml"))
            .unwrap_err()
            .0;
        assert!(
            e.contains("leader_engine and follower_engine name the engines"),
            "{e}"
        );
    }

    #[test]
    fn presets_parse_and_round_trip_through_print() {
        for name in preset_names() {
            let text = preset_toml(name).unwrap();
            let s = parse(&text, Path::new(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!s.workloads.is_empty(), "{name}");
            let printed = toml::to_string(&s).unwrap();
            let again = parse(&printed, Path::new("printed")).unwrap();
            assert_eq!(again, s, "{name} round-trips through --print");
        }
    }

    #[test]
    fn every_option_round_trips() {
        let text = r#"
name = "all-options"
description = "d"
repeat = 2
warmup = "500ms"

[[workload]]
kind = "write"
name = "w"
engines = ["uring", "uring:qd=8,direct"]
partitions = 2
threads = 2
record_size = "512"
batch_size = "4KiB"
segment_size = "64MiB"
index_interval = "4KiB"
preallocate = true
retention = "1GiB"
flush = "bytes=1MiB"
sync = "fsync"
format = "raw"
size = "16MiB"
duration = "1s"
rate = "10MB/s"
verify = true
repeat = 1
sweep = { param = "qd", values = [1, 4] }
until_steady = "200ms"

[[workload]]
kind = "read"
name = "r"
engines = ["sendfile"]
consumers = 2
groups = 2
fetch_size = "1MiB"
cache = "cold"
size = "64MiB"
"#;
        let s = parse(text, Path::new("t.toml")).unwrap();
        let printed = toml::to_string(&s).unwrap();
        assert_eq!(parse(&printed, Path::new("p")).unwrap(), s);
        assert!(printed.contains("rate = \"10MB/s\"") && printed.contains("cache = \"cold\""));
    }

    #[test]
    fn errors_name_the_file_line_and_expectation() {
        let bad_engine = "name = \"x\"\n\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"turbo\"]\nsize = \"1MiB\"\n";
        let e = parse(bad_engine, Path::new("s.toml")).unwrap_err().0;
        assert!(
            e.starts_with("s.toml, line 6:") && e.contains("turbo") && e.contains("buffered"),
            "{e}"
        );

        let unknown_opt = "name = \"x\"\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"mmap\"]\nspeed = 3\n";
        let e = parse(unknown_opt, Path::new("s.toml")).unwrap_err().0;
        assert!(e.contains("s.toml, line 6") && e.contains("speed"), "{e}");

        let not_toml = "name = \n";
        assert!(parse(not_toml, Path::new("s.toml"))
            .unwrap_err()
            .0
            .contains("s.toml, line 1"));

        let bad_size = "name = \"x\"\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"mmap\"]\nsize = \"huge\"\n";
        let e = parse(bad_size, Path::new("s.toml")).unwrap_err().0;
        assert!(e.contains("line 6") && e.contains("huge"), "{e}");

        let bad_sweep = "name = \"x\"\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"mmap\"]\nsize = \"1MiB\"\nsweep = { param = \"colour\", values = [1] }\n";
        assert!(parse(bad_sweep, Path::new("s.toml"))
            .unwrap_err()
            .0
            .contains("colour"));
    }

    /// Engine options are checked when the suite is read, not when the workload runs: the
    /// message has the file, the engine's line and the option.
    #[test]
    fn engine_options_out_of_range_are_refused_at_parse_time_with_the_line() {
        let suite = |kind: &str, engines: &str, extra: &str| {
            format!("name = \"x\"\n\n[[workload]]\nkind = \"{kind}\"\nname = \"w\"\nengines = [{engines}]\nsize = \"1MiB\"\n{extra}")
        };
        for (kind, engines, extra, want) in [
            (
                "write",
                r#""buffered", "uring:qd=0""#,
                "",
                "s.toml, line 6: engine uring:qd=0: qd=0 is out of range: use 1..=4096",
            ),
            (
                "write",
                r#""mmap:direct""#,
                "",
                "s.toml, line 6: engine mmap:direct: unknown option 'direct' for engine 'mmap' (options: none)",
            ),
            (
                "write",
                r#""uring:qd=""#,
                "",
                "s.toml, line 6: engine uring:qd=: empty option: expected NAME[:opt,opt=val], e.g. uring:qd=32,direct",
            ),
            (
                "read",
                r#""sendfile", "uring:qd=65""#,
                "",
                "s.toml, line 6: engine uring:qd=65: qd=65 is out of range: use 1..=64",
            ),
            (
                "read",
                r#""readwrite:buf=2GiB""#,
                "",
                "s.toml, line 6: engine readwrite:buf=2GiB: buf=2147483648 is too large (at most 1GiB)",
            ),
            (
                "write",
                r#""uring:direct""#,
                "sweep = { param = \"qd\", values = [1, 8192] }\n",
                "s.toml, line 6: engine uring:direct (sweep qd=8192): qd=8192 is out of range: use 1..=4096",
            ),
            (
                "read",
                r#""sendfile""#,
                "sweep = { param = \"qd\", values = [2] }\n",
                "s.toml, line 6: engine sendfile (sweep qd=2): unknown option 'qd' for engine 'sendfile' (options: none)",
            ),
        ] {
            let text = suite(kind, engines, extra);
            let e = parse(&text, Path::new("s.toml")).unwrap_err().0;
            assert_eq!(e, want, "{text}");
        }
    }

    #[test]
    fn quick_mode_shrinks_the_suite() {
        let mut s = parse(&preset_toml("kafka").unwrap(), Path::new("kafka")).unwrap();
        quicken(&mut s, Duration::from_millis(500));
        for w in &s.workloads {
            if let Some(d) = w.duration() {
                assert!(workloads::units::parse_duration(d).unwrap() <= Duration::from_millis(500));
            }
            if let Some(sw) = w.sweep() {
                assert!(sw.values.len() <= 3);
            }
        }
        assert_eq!(with_qd("uring:direct,qd=8", 32), "uring:direct,qd=32");
    }
}
