//! What a suite takes from the machine before it runs, and what it will cost: sizes given
//! relative to the probe's dirty limit (`size = "2x-dirty-limit"`, as the `sustained` preset
//! does, so that buffered writes run past the point where the kernel throttles writers), the
//! retention of workloads run until steady fitted to the data directory's free space, and an
//! estimate of the suite's time. `segbench run --print` shows these lines above the suite; `segbench run`
//! prints them before it starts.

use std::path::PathBuf;
use std::time::Duration;

use results::format::bytes_iec;
use workloads::units::{parse_duration, parse_size};

use crate::runner::write::DEFAULT_SEGMENT_SIZE;
use crate::suite::{self, probe_size, Suite, WorkloadSpec, WriteSpec};

/// Share of the data directory's free space a workload's segments and retention may take.
const FREE_SHARE: f64 = 0.5;

/// A given retention is shrunk only when it exceeds its share by more than 1/20 of it.
const SLACK_DIVISOR: u64 = 20;

/// What the machine offers a suite: the effective dirty limit and the free space of the data
/// directory (both from the probe; `None` when unknown).
#[derive(Debug, Clone, Copy, Default)]
pub struct Room {
    /// `vm.dirty_limit_bytes` of the probe.
    pub dirty_limit_bytes: Option<u64>,
    /// Free space of the data directory.
    pub available_bytes: Option<u64>,
}

impl Room {
    /// Probes the live system (without micro-probes) for the first data directory (or the
    /// current one): only when `s` has a size relative to the dirty limit, else nothing.
    pub fn probe_for(s: &Suite, dirs: &[PathBuf]) -> Room {
        if !s.workloads.iter().any(takes_from_probe) {
            return Room::default();
        }
        let p = crate::probe::probe(&crate::probe::ProbeOptions {
            dir: dirs.first().cloned().unwrap_or_else(|| PathBuf::from(".")),
            micro: false,
        });
        Room {
            dirty_limit_bytes: p.vm.dirty_limit_bytes,
            available_bytes: p.storage.available_bytes,
        }
    }
}

/// True when `w` takes something from the probe: a size relative to the dirty limit, or (run
/// until steady, so its data is bounded by retention, not by a size) a retention fitted to the
/// free space.
fn takes_from_probe(w: &WorkloadSpec) -> bool {
    let size = match w {
        WorkloadSpec::Write(x) => x.size.as_deref(),
        WorkloadSpec::Read(x) => x.size.as_deref(),
        WorkloadSpec::Replicate(_) | WorkloadSpec::Mixed(_) => None,
    };
    size.and_then(probe_size).is_some() || w.until_steady().is_some()
}

/// Replaces every size relative to the dirty limit by bytes and, for write workloads run until
/// steady, fits their retention to half the free space (`fit_to_free`).
/// Returns one line per choice made; the error names the workload and the fix.
pub fn resolve(s: &mut Suite, room: Room) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    for w in &mut s.workloads {
        if !takes_from_probe(w) {
            continue;
        }
        let (name, size) = match w {
            WorkloadSpec::Write(x) => (&x.name, &mut x.size),
            WorkloadSpec::Read(x) => (&x.name, &mut x.size),
            WorkloadSpec::Replicate(_) | WorkloadSpec::Mixed(_) => continue,
        };
        if let Some(k) = size.as_deref().and_then(probe_size) {
            let Some(dirty) = room.dirty_limit_bytes else {
                return Err(format!(
                    "workload '{name}': size '{}' needs the dirty limit, which the probe could not read (/proc/sys/vm); give a size instead, e.g. size = \"8GiB\"",
                    size.as_deref().unwrap_or_default()
                ));
            };
            let bytes = (dirty as f64 * k) as u64;
            *size = Some(bytes.to_string());
            lines.push(format!(
                "{name}: size {} = {k}× the dirty limit ({}): rounds before it is written are not in the steady window",
                bytes_iec(bytes),
                bytes_iec(dirty)
            ));
        }
        if let WorkloadSpec::Write(x) = w {
            if let Some(line) = fit_to_free(x, room.available_bytes)? {
                lines.push(line);
            }
        }
    }
    Ok(lines)
}

/// Fits `w`'s retained data into [`FREE_SHARE`] of `available` bytes: a retention given in the
/// suite shrinks (with the segment size, keeping their ratio) only when the partitions' retained
/// segments would not fit; without one, the retention is as long as fits, so that segments live
/// long before deletion (Kafka keeps days; a segment deleted before writeback never reaches the
/// device, which would flatter the figure).
fn fit_to_free(w: &mut WriteSpec, available: Option<u64>) -> Result<Option<String>, String> {
    let Some(avail) = available else {
        return Ok(None);
    };
    let bad = |e: workloads::units::UnitError| format!("workload '{}': {}", w.name, e.0);
    let segment = match w.segment_size.as_deref() {
        Some(z) => parse_size(z).map_err(bad)?,
        None => DEFAULT_SEGMENT_SIZE,
    };
    let partitions = u64::from(w.partitions.unwrap_or(1)).max(1);
    let allowed = (avail as f64 * FREE_SHARE) as u64;
    let mib = 1u64 << 20;
    let down = |x: f64| ((x as u64) / mib).max(1) * mib;
    let Some(ret) = w.retention.as_deref() else {
        let share = allowed / partitions;
        let new_segment = segment.min(down(share as f64 / 2.0));
        let retention = down(share.saturating_sub(new_segment) as f64).max(new_segment);
        w.segment_size = Some(new_segment.to_string());
        w.retention = Some(retention.to_string());
        return Ok(Some(format!(
            "{}: retention {} per partition in segments of {}, to fit half of {} free: older segments are deleted, as Kafka's retention does",
            w.name,
            bytes_iec(retention),
            bytes_iec(new_segment),
            bytes_iec(avail)
        )));
    };
    let retention = parse_size(ret).map_err(bad)?;
    let need = partitions.saturating_mul(retention.saturating_add(segment));
    // A suite printed here and run again a little later (free space moves) is left alone.
    if need <= allowed + allowed / SLACK_DIVISOR {
        return Ok(None);
    }
    let scale = allowed as f64 / need as f64;
    let new_segment = down(segment as f64 * scale);
    let new_retention = down(retention as f64 * scale).max(new_segment);
    w.segment_size = Some(new_segment.to_string());
    w.retention = Some(new_retention.to_string());
    Ok(Some(format!(
        "{}: segments {} → {}, retention {} → {} per partition, to fit {} free",
        w.name,
        bytes_iec(segment),
        bytes_iec(new_segment),
        bytes_iec(retention),
        bytes_iec(new_retention),
        bytes_iec(avail)
    )))
}

/// The longest and shortest a suite may take: every repetition to its duration cap, and every
/// repetition run until steady becoming steady after its first window of rounds. Workloads
/// bounded only by size count neither (their time depends on the device). `default_repeat` and
/// `warmup` are the suite's.
pub fn estimate(s: &Suite, default_repeat: u32, warmup: Duration) -> (Duration, Duration) {
    let (mut most, mut least) = (Duration::ZERO, Duration::ZERO);
    for w in &s.workloads {
        let engines = w.engines().len() as u32 * suite::sweep_points(w.sweep()).len() as u32;
        let reps = engines * w.repeat().unwrap_or(default_repeat);
        let Some(d) = w.duration().and_then(|d| parse_duration(d).ok()) else {
            continue;
        };
        most += d * reps + warmup * engines;
        least += match suite::until_steady(w) {
            Some(round) => (round * results::steady::WINDOW_ROUNDS as u32).min(d) * reps,
            None => d * reps,
        } + warmup * engines;
    }
    (most, least)
}

/// `2 h 5 min`, `14 min 30 s`, `45 s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec} s"),
        (0, m, sec) => format!("{m} min {sec} s"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// The lines shown before a suite runs: the sizes chosen, then the time estimate (only for
/// suites with workloads run until steady, or with sizes taken from the probe).
pub fn plan_lines(
    s: &Suite,
    chosen: Vec<String>,
    default_repeat: u32,
    warmup: Duration,
) -> Vec<String> {
    let mut lines = chosen;
    if s.workloads.iter().any(|w| w.until_steady().is_some()) {
        let (most, least) = estimate(s, default_repeat, warmup);
        lines.push(format!(
            "estimated time: at most {} (every repetition to its duration), at least {} (steady after {} rounds each)",
            human(most),
            human(least),
            results::steady::WINDOW_ROUNDS
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sustained() -> Suite {
        let text = suite::preset_toml("sustained").expect("preset");
        suite::parse(&text, Path::new("sustained")).expect("parses")
    }

    /// The write workloads of a suite (the sustained preset's are all writes).
    fn writes(s: &Suite) -> Vec<&WriteSpec> {
        s.workloads
            .iter()
            .map(|w| match w {
                WorkloadSpec::Write(x) => x,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn sizes_relative_to_the_dirty_limit_parse_and_nothing_else_does() {
        assert_eq!(probe_size("2x-dirty-limit"), Some(2.0));
        assert_eq!(probe_size("1.5x-dirty-limit"), Some(1.5));
        assert_eq!(probe_size("0x-dirty-limit"), None);
        assert_eq!(probe_size("2GiB"), None);
        assert_eq!(probe_size("x-dirty-limit"), None);
    }

    #[test]
    fn the_sustained_preset_takes_twice_the_dirty_limit_and_fits_a_small_disk() {
        let mut s = sustained();
        let room = Room {
            dirty_limit_bytes: Some(1 << 30),
            available_bytes: Some(64 << 20),
        };
        assert_eq!(s.workloads[2].name(), "sustained-zk");
        if let WorkloadSpec::Write(zk) = &mut s.workloads[2] {
            zk.retention = Some("1GiB".into());
        }
        let lines = resolve(&mut s, room).expect("resolves");
        let kafka = *writes(&s)
            .iter()
            .find(|w| w.size.is_some())
            .expect("a sized workload");
        assert_eq!(
            kafka.size.as_deref(),
            Some((2u64 << 30).to_string().as_str())
        );
        assert!(
            lines
                .iter()
                .any(|l| l
                    .starts_with("sustained-kafka: size 2.00 GiB = 2× the dirty limit (1.00 GiB)")),
            "{lines:?}"
        );
        // Every workload run until steady fits half the free space, not only the sized one;
        // a retention the suite gives shrinks with its segments (zk's, set here).
        assert!(
            lines.iter().any(|l| l.starts_with(
                "sustained-flume: retention 16.0 MiB per partition in segments of 16.0 MiB"
            )),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with(
                "sustained-zk: segments 64.0 MiB → 1.00 MiB, retention 1.00 GiB → 30.0 MiB"
            )),
            "{lines:?}"
        );
        // Half of 64 MiB for every partition's retention plus its open segment.
        let p = u64::from(kafka.partitions.unwrap_or(1));
        let seg = parse_size(kafka.segment_size.as_deref().unwrap()).unwrap();
        let ret = parse_size(kafka.retention.as_deref().unwrap()).unwrap();
        assert!(p * (seg + ret) <= 32 << 20, "{seg} {ret}");
        assert!(
            lines.iter().any(|l| l.contains("to fit 64.0 MiB free")),
            "{lines:?}"
        );
        // The resolved suite still passes the checks a run makes.
        let again = suite::parse(&toml::to_string(&s).unwrap(), Path::new("r")).unwrap();
        assert_eq!(again, s);
        // Unknown dirty limit: one line saying what to give instead.
        let err = resolve(&mut sustained(), Room::default()).unwrap_err();
        assert!(
            err.contains("dirty limit") && err.contains("size ="),
            "{err}"
        );
    }

    #[test]
    fn shortened_durations_shorten_the_rounds_to_fit_a_window() {
        let mut s = sustained();
        suite::set_duration(&mut s, "3s");
        assert!(s
            .workloads
            .iter()
            .all(|w| w.until_steady() == Some("600ms")));
        let mut s = sustained();
        suite::quicken(&mut s, Duration::from_millis(600));
        assert!(s
            .workloads
            .iter()
            .all(|w| w.until_steady() == Some("100ms")));
        // Long enough for 5 rounds: unchanged.
        let mut s = sustained();
        suite::set_duration(&mut s, "25s");
        assert!(s.workloads.iter().all(|w| w.until_steady() == Some("5s")));
    }

    #[test]
    fn the_estimate_spans_steady_after_one_window_to_every_duration_cap() {
        let text = r#"
name = "e"
[[workload]]
kind = "write"
name = "w"
engines = ["buffered", "direct"]
duration = "60s"
until_steady = "5s"
repeat = 1
"#;
        let s = suite::parse(text, Path::new("e")).unwrap();
        let (most, least) = estimate(&s, 3, Duration::from_secs(1));
        assert_eq!(most, Duration::from_secs(2 * 60 + 2));
        assert_eq!(least, Duration::from_secs(2 * 25 + 2));
        let lines = plan_lines(&s, vec![], 3, Duration::from_secs(1));
        assert_eq!(
            lines,
            ["estimated time: at most 2 min 2 s (every repetition to its duration), at least 52 s (steady after 5 rounds each)"]
        );
    }
}
