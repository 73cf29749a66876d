//! The results file on disk: pretty, schema-versioned JSON ([`to_json`]), written atomically
//! ([`write_atomic`], [`write_results`]), and read back only when it is a segbench results file
//! of this schema version ([`read_results`]). Part of the bottom layer: the JSON exporter, the
//! HdrHistogram logs and the binary all write through it.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::schema::{ResultsFile, SCHEMA_VERSION};

/// Errors writing, reading or serializing a results file (also what an exporter answers:
/// `crate::io::ResultsFileError`). Every message is one line and names the file when there is one.
#[derive(Debug, thiserror::Error)]
pub enum ResultsFileError {
    /// Reading a results file failed (missing, unreadable).
    #[error("cannot read results file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing a file failed; the previous content of `path`, if any, is untouched.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON, or JSON that is not a segbench results file.
    #[error("{} is not a segbench results file: {reason}", path.display())]
    NotResults {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A results file of another schema version.
    #[error(
        "{} has results schema_version {found}, but this segbench reads schema_version \
         {expected}; use the segbench version that wrote it",
        path.display()
    )]
    SchemaVersion {
        /// The file.
        path: PathBuf,
        /// The version found in the file.
        found: u64,
        /// The version this build reads ([`SCHEMA_VERSION`]).
        expected: u32,
    },
    /// A results file holding a figure no run can produce (negative, infinite).
    #[error("{} is damaged: {reason}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The row, the field and its value.
        reason: String,
    },
    /// A results file of the right version whose content does not match the schema.
    #[error("{} does not match results schema_version {version}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        version: u32,
        /// The first mismatch, from the JSON parser.
        reason: String,
    },
    /// The results cannot be serialized, or would not read back (a NaN or infinite figure
    /// becomes JSON `null`, which no `f64` field accepts).
    #[error("cannot export results as JSON: {0}")]
    Serialize(String),
}

/// Pretty-printed JSON of the whole results file, ending with a newline: the bytes of a
/// results file (the JSON exporter's output).
///
/// Refuses results that would not read back: serde_json writes a NaN or infinite `f64` as
/// `null`, which [`read_results`] (like every `f64` field) refuses, so such a figure is an error
/// here rather than a results file that cannot be opened later.
pub fn to_json(r: &ResultsFile) -> Result<Vec<u8>, ResultsFileError> {
    let mut bytes =
        serde_json::to_vec_pretty(r).map_err(|e| ResultsFileError::Serialize(e.to_string()))?;
    bytes.push(b'\n');
    if let Err(e) = serde_json::from_slice::<ResultsFile>(&bytes) {
        return Err(ResultsFileError::Serialize(format!(
            "the JSON would not read back ({e}); is a figure NaN or infinite?"
        )));
    }
    Ok(bytes)
}

/// Writes `r` as JSON ([`to_json`]) to `path` with [`write_atomic`].
pub fn write_results(path: &Path, r: &ResultsFile) -> Result<(), ResultsFileError> {
    let bytes = to_json(r)?;
    write_atomic(path, &bytes)
}

/// Distinguishes temporary files of concurrent writers in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` so that `path` holds either its previous content or all of
/// `bytes`, never a truncated file, even across a crash or power loss:
/// a temporary file is created next to `path` (same directory, so same file system), written,
/// fsynced, renamed over `path`, and then the directory is fsynced so the rename itself is
/// durable.
///
/// On an error the temporary file is removed and `path` is untouched. A crash before the
/// rename may leave a hidden `.<name>.tmp-<pid>-<n>` file next to `path`. A symbolic link at
/// `path` is replaced by the file, not followed. File systems that do not support fsync on a
/// directory (`EINVAL`, `ENOTSUP`) are tolerated.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ResultsFileError> {
    let werr = |source: io::Error| ResultsFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path.file_name().ok_or_else(|| {
        werr(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = dir.join(tmp_name);

    let written = (|| -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        // Best effort: the temporary file may not exist (create failed).
        let _ = fs::remove_file(&tmp);
        return Err(werr(e));
    }
    match File::open(&dir).and_then(|d| d.sync_all()) {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(werr(e)),
    }
}

/// Reads a results file written by [`write_results`] (or [`write_atomic`] of [`to_json`]).
///
/// Refuses, with a one-line message naming the file: a file that cannot be read, one that is
/// not JSON, JSON that is not a segbench results file (no `schema_version`, or a `tool.name`
/// other than `segbench`), another `schema_version` than [`SCHEMA_VERSION`], and content that
/// does not match the schema.
pub fn read_results(path: impl AsRef<Path>) -> Result<ResultsFile, ResultsFileError> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| ResultsFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_results(path, &bytes)
}

/// What [`parse_results`] reads of a file before the whole of it: the fields that say whether it
/// is a segbench results file of this version. Every other field is skipped unbuilt.
#[derive(serde::Deserialize)]
struct Head {
    schema_version: Option<serde_json::Value>,
    tool: Option<serde_json::Value>,
}

/// [`read_results`] on bytes already read; `path` is only used in messages.
pub fn parse_results(path: &Path, bytes: &[u8]) -> Result<ResultsFile, ResultsFileError> {
    let not_results = |reason: String| ResultsFileError::NotResults {
        path: path.to_path_buf(),
        reason,
    };
    // Only the head is read first: the rest of the document is skipped, not built as a
    // `serde_json::Value` (a tree of several times the file's size, on top of the typed file).
    let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let head: Head = match serde_json::from_slice(bytes) {
        Ok(h) if object => h,
        Err(e) if object && e.classify() != serde_json::error::Category::Data => {
            return Err(not_results(format!("not JSON ({e})")))
        }
        _ => {
            return Err(
                match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                    Ok(_) => not_results("the JSON is not an object".to_string()),
                    Err(e) => not_results(format!("not JSON ({e})")),
                },
            )
        }
    };
    let version = match &head.schema_version {
        None => return Err(not_results("it has no schema_version field".to_string())),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| not_results(format!("schema_version is {v}, not a version number")))?,
    };
    if let Some(name) = head.tool.as_ref().and_then(|t| t.get("name")) {
        if name.as_str() != Some("segbench") {
            return Err(not_results(format!("it was written by {name}")));
        }
    }
    if version != u64::from(SCHEMA_VERSION) {
        return Err(ResultsFileError::SchemaVersion {
            path: path.to_path_buf(),
            found: version,
            expected: SCHEMA_VERSION,
        });
    }
    // Parse the bytes again rather than converting `value`: the error then carries the line
    // and column of the first mismatch.
    let invalid = |reason: String| ResultsFileError::Invalid {
        path: path.to_path_buf(),
        version: SCHEMA_VERSION,
        reason,
    };
    let file: ResultsFile = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    check_histograms(&file).map_err(invalid)?;
    check_figures(&file).map_err(|reason| ResultsFileError::Damaged {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(file)
}

/// A figure that a run can produce: finite and not negative. (NaN is written as `null`, which
/// the schema already refuses for a figure.)
fn possible(field: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else if v.is_finite() {
        Err(format!("{field} is {v}, and a figure cannot be negative"))
    } else {
        Err(format!("{field} is {v}, not a finite figure"))
    }
}

/// Refuses a file whose measured figures no run can produce (a −1e9 MB/s row would otherwise
/// compare as "no significant change"): every repetition's rates, times and CPU, and every
/// summary statistic (median, min, max, mean), named by workload, row and field.
fn check_figures(file: &ResultsFile) -> Result<(), String> {
    for w in &file.workloads {
        for (i, r) in w.repetitions.iter().enumerate() {
            let row = |e: String| format!("workload '{}', repetition {i}: {e}", w.name);
            for (field, v) in [
                ("elapsed_s", r.elapsed_s),
                ("throughput_bytes_per_s", r.throughput_bytes_per_s),
                ("records_per_s", r.records_per_s),
                ("cpu_user_s", r.cpu_user_s),
                ("cpu_sys_s", r.cpu_sys_s),
                ("latency_ns.mean", r.latency_ns.mean),
            ]
            .into_iter()
            .chain(r.cpu_s_per_gb.map(|v| ("cpu_s_per_gb", v)))
            {
                possible(field, v).map_err(row)?;
            }
        }
        let Some(s) = &w.summary else { continue };
        let row = |e: String| format!("workload '{}', summary: {e}", w.name);
        for (name, st) in [
            ("throughput_bytes_per_s", &s.throughput_bytes_per_s),
            ("records_per_s", &s.records_per_s),
            ("p50_ns", &s.p50_ns),
            ("p99_ns", &s.p99_ns),
            ("p999_ns", &s.p999_ns),
        ]
        .into_iter()
        .chain(s.cpu_s_per_gb.as_ref().map(|c| ("cpu_s_per_gb", c)))
        {
            for (stat, v) in [
                ("median", st.median),
                ("min", st.min),
                ("max", st.max),
                ("mean", st.mean),
            ] {
                possible(&format!("{name}.{stat}"), v).map_err(row)?;
            }
        }
    }
    Ok(())
}

/// Decodes every stored histogram once (each bounded by [`crate::hist::MAX_STORED_BYTES`]), so
/// a damaged or lying one refuses the file up front instead of blanking a chart later.
fn check_histograms(file: &ResultsFile) -> Result<(), String> {
    for w in &file.workloads {
        let reps = w.repetitions.iter().flat_map(|r| {
            std::iter::once(&r.latency_ns)
                .chain(r.flush_latency_ns.as_ref())
                .chain(r.roll_latency_ns.as_ref())
        });
        for (i, l) in w
            .summary
            .iter()
            .map(|s| &s.latency_ns)
            .chain(reps)
            .enumerate()
        {
            if !l.hdr.is_empty() {
                crate::hist::decode(&l.hdr)
                    .map_err(|e| format!("workload {}: histogram {i}: {e}", w.name))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn one_line(e: &ResultsFileError) -> String {
        let s = e.to_string();
        assert!(!s.contains('\n'), "not one line: {s}");
        s
    }

    /// A negative, infinite or NaN figure cannot come from a run: the file is refused as damaged,
    /// naming the file, the workload, the repetition (or summary) and the field.
    #[test]
    fn impossible_figures_refuse_the_file_naming_row_and_field() {
        let r = crate::testing::results();
        let w = r.workloads[0].name.clone();
        let e = |f: &dyn Fn(&mut ResultsFile)| {
            let mut bad = r.clone();
            f(&mut bad);
            let text = serde_json::to_vec(&bad).unwrap();
            one_line(&parse_results(Path::new("r.json"), &text).unwrap_err())
        };
        let line = e(&|x| x.workloads[0].repetitions[1].throughput_bytes_per_s = -1e9);
        assert_eq!(
            line,
            format!("r.json is damaged: workload '{w}', repetition 1: throughput_bytes_per_s is -1000000000, and a figure cannot be negative")
        );
        let line = e(&|x| x.workloads[0].repetitions[0].cpu_sys_s = -0.5);
        assert!(line.contains("repetition 0: cpu_sys_s is -0.5"), "{line}");
        let line = e(&|x| {
            if let Some(s) = x.workloads[0].summary.as_mut() {
                s.throughput_bytes_per_s.median = -3.0;
            }
        });
        assert!(
            line.contains(&format!(
                "workload '{w}', summary: throughput_bytes_per_s.median is -3"
            )),
            "{line}"
        );
        // NaN is written as null, which a figure cannot be either.
        let mut nan = serde_json::to_value(&r).unwrap();
        nan["workloads"][0]["repetitions"][0]["elapsed_s"] = serde_json::Value::Null;
        let text = serde_json::to_vec(&nan).unwrap();
        assert!(parse_results(Path::new("r.json"), &text).is_err());
        assert!(parse_results(Path::new("r.json"), &serde_json::to_vec(&r).unwrap()).is_ok());
    }

    #[test]
    fn a_lying_histogram_refuses_the_file() {
        let mut r = crate::testing::results();
        let hdr = &mut r.workloads[0].repetitions[0].latency_ns.hdr;
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(hdr.as_bytes())
            .unwrap();
        // The compressed length claims 4 GB.
        bytes[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        *hdr = base64::engine::general_purpose::STANDARD.encode(bytes);
        let text = serde_json::to_vec(&r).unwrap();
        let e = parse_results(Path::new("r.json"), &text).unwrap_err();
        let line = one_line(&e);
        assert!(matches!(e, ResultsFileError::Invalid { .. }), "{line}");
        assert!(
            line.contains("histogram header is not believable"),
            "{line}"
        );
    }

    #[test]
    fn round_trips_exactly_through_write_atomic_and_read_results() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        let r = crate::testing::results();
        write_results(&path, &r).unwrap();
        let back = read_results(&path).unwrap();
        assert_eq!(back, r);
        // The file is exactly the exporter's bytes, pretty-printed, with a final newline.
        let on_disk = fs::read(&path).unwrap();
        assert_eq!(on_disk, to_json(&r).unwrap());
        assert!(on_disk.ends_with(b"}\n"));
        assert!(on_disk.starts_with(b"{\n  \"schema_version\": 1,"));
    }

    #[test]
    fn awkward_floats_round_trip_bit_for_bit() {
        // Values whose shortest decimal form needs 17 digits, and tiny/huge magnitudes.
        let mut r = crate::testing::results();
        let awkward = [
            0.1 + 0.2,
            1.0 / 3.0,
            2.0f64.sqrt() * 1e9,
            5e-324,
            1.7976931348623157e308,
            123_456_789.123_456_78,
            0.000_123_456_789_012_345_67,
        ];
        let reps = &mut r.workloads[0].repetitions;
        let n = reps.len();
        for (i, x) in awkward.iter().enumerate() {
            reps[i % n]
                .extra
                .insert(format!("x{i}"), serde_json::json!(x));
        }
        reps[0].elapsed_s = awkward[0];
        reps[1].throughput_bytes_per_s = awkward[2];
        reps[2].records_per_s = awkward[6];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        write_results(&path, &r).unwrap();
        let back = read_results(&path).unwrap();
        assert_eq!(
            back.workloads[0].repetitions[0].elapsed_s.to_bits(),
            awkward[0].to_bits()
        );
        assert_eq!(back, r);
    }

    #[test]
    fn write_atomic_replaces_whole_files_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomic(&path, &vec![b'a'; 100_000]).unwrap();
        write_atomic(&path, b"short").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"short");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("out.json")]);
    }

    #[test]
    fn write_atomic_failure_names_the_file_and_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        // A missing directory: nothing is created.
        let missing = dir.path().join("no/such/dir/r.json");
        let e = write_atomic(&missing, b"x").unwrap_err();
        assert!(one_line(&e).contains("no/such/dir/r.json"), "{e}");
        assert!(!dir.path().join("no").exists());
        // The target is a non-empty directory: the rename fails, the old content stays.
        let target = dir.path().join("taken");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), b"old").unwrap();
        let e = write_atomic(&target, b"new").unwrap_err();
        assert!(matches!(e, ResultsFileError::Write { .. }), "{e}");
        assert_eq!(fs::read(target.join("keep")).unwrap(), b"old");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![OsString::from("taken")],
            "temporary file left behind"
        );
    }

    #[test]
    fn refuses_another_schema_version_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.json");
        let mut v = serde_json::to_value(crate::testing::results()).unwrap();
        v["schema_version"] = serde_json::json!(999);
        fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        let e = read_results(&path).unwrap_err();
        let msg = one_line(&e);
        assert!(matches!(
            e,
            ResultsFileError::SchemaVersion {
                found: 999,
                expected: 1,
                ..
            }
        ));
        assert!(msg.contains("future.json"), "{msg}");
        assert!(msg.contains("999"), "{msg}");
    }

    #[test]
    fn refuses_json_that_is_not_a_results_file() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &str, &str); 5] = [
            (
                "package.json",
                r#"{"name": "left-pad", "version": "1.3.0"}"#,
                "no schema_version",
            ),
            ("list.json", "[1, 2, 3]", "not an object"),
            ("text.json", "hello", "not JSON"),
            (
                "other.json",
                r#"{"schema_version": 1, "tool": {"name": "fio"}}"#,
                "written by \"fio\"",
            ),
            (
                "partial.json",
                r#"{"schema_version": 1, "tool": {"name": "segbench"}}"#,
                "does not match",
            ),
        ];
        for (name, content, expect) in cases {
            let path = dir.path().join(name);
            fs::write(&path, content).unwrap();
            let e = read_results(&path).unwrap_err();
            let msg = one_line(&e);
            assert!(msg.contains(name), "{msg}");
            assert!(msg.contains(expect), "{name}: {msg}");
        }
        let e = read_results(dir.path().join("absent.json")).unwrap_err();
        assert!(matches!(e, ResultsFileError::Read { .. }));
        assert!(one_line(&e).contains("absent.json"));
    }

    #[test]
    fn refuses_to_export_a_figure_that_would_not_read_back() {
        let mut r = crate::testing::results();
        r.workloads[0].repetitions[0].throughput_bytes_per_s = f64::NAN;
        let e = to_json(&r).unwrap_err();
        assert!(one_line(&e).contains("NaN or infinite"), "{e}");
    }
}
