//! What identifies a run and a workload across results files: the tool that wrote a file
//! ([`tool_version`]), the hardware it ran on ([`fingerprint`]) and the configuration keys that
//! define a workload ([`config_differences`], [`NON_DEFINING_CONFIG_KEYS`]). Part of the bottom
//! layer: `compare` matches workloads with it and `merge` refuses what does not match.

use std::collections::{BTreeMap, BTreeSet};

use crate::schema::ResultsFile;

/// Configuration keys that do not define a workload (how often or where it ran, what was
/// printed): ignored when matching workloads, so a baseline taken with `--repeat 10` compares
/// with a run of `--repeat 5`.
pub const NON_DEFINING_CONFIG_KEYS: &[&str] = &[
    "repeat",
    "repetitions",
    "warmup",
    "warmup_s",
    "dir",
    "data_dir",
    "keep",
    "verify",
    "quiet",
    "json",
    "out",
    "no_probe",
    "hdr_log",
    "topic",
];

/// Differences between two configuration maps, ignoring [`NON_DEFINING_CONFIG_KEYS`] and
/// `ignore`: one `key: a -> b` entry per differing key (`(absent)` for a missing key).
pub fn config_differences(
    a: &BTreeMap<String, serde_json::Value>,
    b: &BTreeMap<String, serde_json::Value>,
    ignore: &[String],
) -> Vec<String> {
    let skip = |k: &str| NON_DEFINING_CONFIG_KEYS.contains(&k) || ignore.iter().any(|i| i == k);
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let show = |v: Option<&serde_json::Value>| match v {
        None => "(absent)".to_string(),
        Some(v) => v.to_string(),
    };
    keys.into_iter()
        .filter(|k| !skip(k))
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {} -> {}", show(a.get(k)), show(b.get(k))))
        .collect()
}

/// The hardware fingerprint in a results file's probe (`probe.fingerprint`), if any.
pub fn fingerprint(r: &ResultsFile) -> Option<&str> {
    r.probe.as_ref()?.fingerprint()
}

/// The tool that wrote `r`: `segbench 0.1.0 (git)`.
pub fn tool_version(r: &ResultsFile) -> String {
    let git = r
        .tool
        .git
        .as_deref()
        .map(|g| format!(" ({g})"))
        .unwrap_or_default();
    format!("{} {}{git}", r.tool.name, r.tool.version)
}
