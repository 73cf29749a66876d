//! HdrHistogram interval logs: the standard text format that HdrHistogram's own tools read
//! (Java `HistogramLogReader` / `HistogramLogProcessor`, HdrHistogram_c `hdr_log_reader`, the
//! Rust crate's `IntervalLogIterator`, HdrLogProcessing), one file per workload.
//!
//! ```text
//! #[Histogram log format version 1.3]
//! #[segbench workload write/buffered (buffered), run 20261124T101500Z-3f9a, host vm; values in ns]
//! #[StartTime: 1795515300.000 (seconds since epoch), 2026-11-24T10:15:00Z]
//! #[BaseTime: 1795515300.000 (seconds since epoch)]
//! "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
//! #[MaxValueDivisor: 1000000.000]
//! 0.000,0.227,9.421,HISTFAAAA…
//! 0.227,0.230,1.020,HISTFAAAA…
//! ```
//!
//! One interval per measured repetition: its start is the offset from the run's start time
//! (`BaseTime` = `StartTime` = the run's start), its length the repetition's `elapsed_s`, its
//! histogram the repetition's whole batch-latency histogram (V2 + DEFLATE, base64, in ns), and
//! the max column in milliseconds (HdrHistogram's default `maxValueUnitRatio` of 10^6).
//!
//! The start offset is `extra["start_offset_s"]` of the repetition when the runner recorded it
//! ([`START_OFFSET_KEY`]); otherwise the repetitions are laid end to end (the sum of the
//! earlier repetitions' `elapsed_s`), which ignores warm-up and the other engines' interleaved
//! repetitions.
//!
//! Lines carry no `Tag=`: each file holds one workload, and HdrHistogram's
//! `HistogramLogProcessor` reads only untagged intervals unless it is given `-tag`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, IntervalLogWriterError};
use hdrhistogram::serialization::V2DeflateSerializer;

use crate::hist::{self, HistError};
use crate::io::{write_atomic, ResultsFileError};
use crate::schema::{ResultsFile, RunInfo, WorkloadResult};

/// Log format version written in the header (the current Java `HistogramLogWriter`'s).
pub const LOG_FORMAT_VERSION: &str = "1.3";

/// The legend line of the Java writer (`HistogramLogWriter.outputLegend`).
pub const LEGEND: &str =
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";

/// The max column is divided by this: ns -> ms, as the Java writer's default.
pub const MAX_VALUE_DIVISOR: f64 = 1e6;

/// Key of a repetition's start offset from the run's start, seconds, in `Repetition.extra`.
pub const START_OFFSET_KEY: &str = "start_offset_s";

/// File extension of interval logs (HdrHistogram's tools use `.hlog`).
pub const EXTENSION: &str = "hlog";

/// Errors writing interval logs.
#[derive(Debug, thiserror::Error)]
pub enum HdrLogError {
    /// The run's start time is not RFC 3339.
    #[error("run start time {0:?} is not an RFC 3339 time such as 2026-11-24T10:15:00Z")]
    StartTime(String),
    /// A stored histogram does not decode.
    #[error("workload {workload}: {source}")]
    Histogram {
        /// The workload.
        workload: String,
        /// The cause.
        #[source]
        source: HistError,
    },
    /// Serializing a histogram into the log failed.
    #[error("workload {workload}: cannot write the interval log: {reason}")]
    Serialize {
        /// The workload.
        workload: String,
        /// The cause.
        reason: String,
    },
    /// A file of that name is in the directory and segbench did not write it: nothing written.
    #[error(
        "{} exists and is not a segbench interval log (segbench replaces only its own); \
         choose another --hdr-log directory or move it",
        path.display()
    )]
    NotOurs {
        /// The file.
        path: PathBuf,
    },
    /// Writing the file (or creating its directory) failed.
    #[error("cannot write HdrHistogram log {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Seconds since the Unix epoch of an RFC 3339 time (`2026-11-24T10:15:00Z`,
/// `2026-11-24T10:15:00.25+01:00`); `None` when it is not one.
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        frac = format!("0.{}", &r[..digits]).parse().ok()?;
        rest = &r[digits..];
    }
    let offset_s = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let o = rest.as_bytes();
            if o.len() != 6 || o[3] != b':' {
                return None;
            }
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    // Howard Hinnant's days_from_civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    Some(secs as f64 + frac)
}

/// The file name of a workload's log: its name with every character other than letters,
/// digits, `.`, `-`, `=` and `_` replaced by `_`, plus `.hlog`
/// (`write/uring:qd=8,direct` -> `write_uring_qd=8_direct.hlog`).
pub fn file_name(w: &WorkloadResult) -> String {
    let stem: String = w
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '=' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{stem}.{EXTENSION}")
}

/// The interval log of one workload of the run `run` (see the module documentation).
pub fn interval_log(run: &RunInfo, w: &WorkloadResult) -> Result<String, HdrLogError> {
    let start = parse_rfc3339(&run.start_time)
        .ok_or_else(|| HdrLogError::StartTime(run.start_time.clone()))?;
    let one_line = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    let mut head = String::new();
    // Writes to a String cannot fail.
    let _ = writeln!(head, "#[Histogram log format version {LOG_FORMAT_VERSION}]");
    let _ = writeln!(
        head,
        "#[segbench workload {} ({}), run {}, host {}; values in ns]",
        one_line(&w.name),
        one_line(&w.engine),
        one_line(&run.id),
        one_line(&run.host)
    );
    let _ = writeln!(
        head,
        "#[StartTime: {start:.3} (seconds since epoch), {}]",
        one_line(&run.start_time)
    );
    let _ = writeln!(head, "#[BaseTime: {start:.3} (seconds since epoch)]");
    let _ = writeln!(head, "{LEGEND}");
    let mut buf = head.into_bytes();

    let serialize_err = |reason: String| HdrLogError::Serialize {
        workload: w.name.clone(),
        reason,
    };
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut writer = IntervalLogWriterBuilder::new()
            .with_max_value_divisor(MAX_VALUE_DIVISOR)
            .begin_log_with(&mut buf, &mut serializer)
            .map_err(|e| serialize_err(e.to_string()))?;
        let mut laid_end_to_end = 0.0f64;
        for r in &w.repetitions {
            let h = hist::decode(&r.latency_ns.hdr).map_err(|source| HdrLogError::Histogram {
                workload: w.name.clone(),
                source,
            })?;
            let offset = r
                .extra
                .get(START_OFFSET_KEY)
                .and_then(|v| v.as_f64())
                .filter(|x| x.is_finite() && *x >= 0.0)
                .unwrap_or(laid_end_to_end);
            let elapsed = if r.elapsed_s.is_finite() && r.elapsed_s > 0.0 {
                r.elapsed_s
            } else {
                0.0
            };
            laid_end_to_end = offset + elapsed;
            writer
                .write_histogram(
                    &h,
                    Duration::from_secs_f64(offset),
                    Duration::from_secs_f64(elapsed),
                    None,
                )
                .map_err(|e| match e {
                    IntervalLogWriterError::SerializeError(e) => serialize_err(format!("{e:?}")),
                    IntervalLogWriterError::IoError(e) => serialize_err(e.to_string()),
                })?;
        }
    }
    String::from_utf8(buf).map_err(|e| serialize_err(e.to_string()))
}

/// Writes the interval log of workload `w` of run `run` to `path`, atomically.
pub fn write_interval_log(
    path: &Path,
    run: &RunInfo,
    w: &WorkloadResult,
) -> Result<(), HdrLogError> {
    let text = interval_log(run, w)?;
    write_atomic(path, text.as_bytes()).map_err(|e| match e {
        ResultsFileError::Write { path, source } => HdrLogError::Io { path, source },
        other => HdrLogError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}

/// Writes one interval log per workload with repetitions into `dir` (created if missing), named
/// by [`file_name`]; returns the files written.
pub fn write_interval_logs(dir: &Path, r: &ResultsFile) -> Result<Vec<PathBuf>, HdrLogError> {
    std::fs::create_dir_all(dir).map_err(|source| HdrLogError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let logged: Vec<&WorkloadResult> = (r.workloads.iter())
        .filter(|w| !w.repetitions.is_empty())
        .collect();
    // A user's file under one of the names: nothing is written, nothing replaced.
    for w in &logged {
        let path = dir.join(file_name(w));
        if path.symlink_metadata().is_ok() && !is_ours(&path) {
            return Err(HdrLogError::NotOurs { path });
        }
    }
    let mut written = Vec::new();
    for w in logged {
        let path = dir.join(file_name(w));
        write_interval_log(&path, &r.run, w)?;
        written.push(path);
    }
    Ok(written)
}

/// True when `path` is a regular file that starts as [`interval_log`] writes one (its first two
/// lines: the format version, then segbench's own comment).
pub fn is_ours(path: &Path) -> bool {
    use std::io::Read;
    let regular = path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_file());
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    let mut lines = text.lines();
    regular
        && lines
            .next()
            .is_some_and(|l| l.starts_with("#[Histogram log format version"))
        && lines
            .next()
            .is_some_and(|l| l.starts_with("#[segbench workload "))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use hdrhistogram::serialization::Deserializer;

    use super::*;
    use crate::schema::*;

    fn workload(latencies: &[&[u64]]) -> WorkloadResult {
        let repetitions = latencies
            .iter()
            .enumerate()
            .map(|(i, vals)| {
                let mut h = hist::new_hist();
                for &v in *vals {
                    hist::record(&mut h, v);
                }
                Repetition {
                    index: i as u32,
                    bytes: 1,
                    records: 1,
                    batches: 1,
                    elapsed_s: 0.25 + i as f64,
                    throughput_bytes_per_s: 1.0,
                    records_per_s: 1.0,
                    cpu_user_s: 0.0,
                    cpu_sys_s: 0.0,
                    cpu_s_per_gb: None,
                    device_bytes: None,
                    storage_io_bytes: None,
                    latency_ns: hist::summarize(&h),
                    flush_latency_ns: None,
                    roll_latency_ns: None,
                    timeline: Timeline::default(),
                    threads: vec![],
                    context_switches: None,
                    harness_overhead_ratio: None,
                    extra: BTreeMap::new(),
                    nic_traffic: Vec::new(),
                }
            })
            .collect();
        WorkloadResult {
            name: "write/uring:qd=8,direct".into(),
            kind: Kind::Write,
            engine: "uring:qd=8,direct".into(),
            config: BTreeMap::new(),
            status: Status::Completed,
            medium: Medium::Device,
            repetitions,
            summary: None,
            warnings: vec![],
            mixed: None,
        }
    }

    fn run() -> RunInfo {
        RunInfo {
            id: "20261124T101500Z-3f9a".into(),
            start_time: "2026-11-24T10:15:00Z".into(),
            host: "vm".into(),
            command_line: vec![],
        }
    }

    #[test]
    fn rfc3339_times_parse() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Some(951_868_800.0));
        assert_eq!(parse_rfc3339("2026-11-24T10:15:00Z"), Some(1_795_515_300.0));
        assert_eq!(
            parse_rfc3339("2026-11-24T11:15:00.5+01:00"),
            Some(1_795_515_300.5)
        );
        assert_eq!(parse_rfc3339("2026-11-24"), None);
        assert_eq!(parse_rfc3339("2026-13-24T10:15:00Z"), None);
        assert_eq!(parse_rfc3339("2026-11-24T10:15:00"), None);
    }

    #[test]
    fn the_log_parses_back_with_hdrhistograms_iterator() {
        let a: Vec<u64> = (1..=1000).map(|v| v * 1000).collect();
        let b: Vec<u64> = (1..=500).map(|v| v * 3000 + 7).collect();
        let mut w = workload(&[&a, &b, &[42]]);
        // The third repetition says when it started.
        w.repetitions[2]
            .extra
            .insert(START_OFFSET_KEY.into(), serde_json::json!(10.5));
        let text = interval_log(&run(), &w).unwrap();
        assert!(
            text.starts_with("#[Histogram log format version 1.3]\n"),
            "{text}"
        );
        assert!(text.contains(&format!("\n{LEGEND}\n")), "{text}");

        let mut start = None;
        let mut base = None;
        let mut intervals = Vec::new();
        for e in IntervalLogIterator::new(text.as_bytes()) {
            match e.unwrap() {
                LogEntry::StartTime(t) => start = Some(t),
                LogEntry::BaseTime(t) => base = Some(t),
                LogEntry::Interval(i) => intervals.push((
                    i.tag().map(|t| t.as_str().to_string()),
                    i.start_timestamp(),
                    i.duration(),
                    i.max(),
                    i.encoded_histogram().to_string(),
                )),
            }
        }
        assert_eq!(start, Some(Duration::from_secs(1_795_515_300)));
        assert_eq!(base, start);
        assert_eq!(intervals.len(), 3);
        // Offsets: laid end to end, then the recorded one.
        let starts: Vec<u128> = intervals.iter().map(|i| i.1.as_millis()).collect();
        assert_eq!(starts, vec![0, 250, 10_500]);
        let lengths: Vec<u128> = intervals.iter().map(|i| i.2.as_millis()).collect();
        assert_eq!(lengths, vec![250, 1250, 2250]);
        for ((tag, _, _, max_ms, enc), r) in intervals.iter().zip(&w.repetitions) {
            assert_eq!(*tag, None);
            let bytes =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, enc.as_bytes())
                    .unwrap();
            let h: hist::Hist = Deserializer::new()
                .deserialize(&mut bytes.as_slice())
                .unwrap();
            assert_eq!(h, hist::decode(&r.latency_ns.hdr).unwrap());
            assert_eq!(h.len(), r.latency_ns.count);
            assert!((max_ms - h.max() as f64 / 1e6).abs() < 0.0005, "{max_ms}");
        }
    }

    #[test]
    fn logs_are_written_one_per_workload() {
        let dir = tempfile::tempdir().unwrap();
        let w = workload(&[&[1000, 2000]]);
        assert_eq!(file_name(&w), "write_uring_qd=8_direct.hlog");
        let mut skipped = workload(&[]);
        skipped.name = "write/mmap".into();
        let r = ResultsFile {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "segbench".into(),
                version: "0".into(),
                git: None,
            },
            run: run(),
            probe: None,
            baseline: Baseline::default(),
            workloads: vec![w, skipped],
            warnings: vec![],
            interrupted: false,
            fleet: None,
        };
        let out = dir.path().join("logs");
        let files = write_interval_logs(&out, &r).unwrap();
        assert_eq!(files, vec![out.join("write_uring_qd=8_direct.hlog")]);
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert_eq!(text, interval_log(&r.run, &r.workloads[0]).unwrap());
        // Its own earlier log is replaced; a user's file of that name never is.
        assert_eq!(write_interval_logs(&out, &r).unwrap(), files);
        std::fs::write(&files[0], "my notes\n").unwrap();
        assert!(matches!(
            write_interval_logs(&out, &r),
            Err(HdrLogError::NotOurs { .. })
        ));
        assert_eq!(std::fs::read_to_string(&files[0]).unwrap(), "my notes\n");
        let mut bad = r.run.clone();
        bad.start_time = "yesterday".into();
        assert!(matches!(
            interval_log(&bad, &r.workloads[0]),
            Err(HdrLogError::StartTime(_))
        ));
    }
}
