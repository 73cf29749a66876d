//! Exporters: turn a finished [`ResultsFile`] into bytes, one exporter per format behind one
//! trait (after hyperfine's `src/export/`). Nothing here measures, and nothing here prints:
//! the binary decides where the bytes go.
//!
//! - [`json`]: the results file itself (pretty JSON), written atomically, and read back with
//!   schema checks;
//! - [`terminal`]: the comparison table for a terminal, the warnings and a one-line verdict;
//! - [`markdown`]: the same as GitHub-flavoured Markdown, fit for a pull-request comment;
//! - [`html`]: the self-contained HTML report with inline SVG charts.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::schema::ResultsFile;

pub mod html;
pub mod json;
pub mod markdown;
mod table;
pub mod terminal;

/// Turns finished results into the bytes of one format.
pub trait Exporter {
    /// The whole document for `r`.
    fn export(&self, r: &ResultsFile) -> Result<Vec<u8>, ExportError>;
}

/// Errors of the exporters and of reading a results file back. Every message is one line and
/// names the file when there is one.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
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
        /// The version this build reads ([`crate::SCHEMA_VERSION`]).
        expected: u32,
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

/// The formats an [`Exporter`] exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// The readable comparison table, warnings and verdict ([`terminal::TerminalExporter`]).
    Terminal,
    /// The results file ([`json::JsonExporter`]).
    Json,
    /// GitHub-flavoured Markdown ([`markdown::MarkdownExporter`]).
    Markdown,
    /// The self-contained HTML report with charts ([`html::HtmlExporter`]).
    Html,
}

impl ExportFormat {
    /// Every format, in documentation order.
    pub const ALL: [ExportFormat; 4] = [
        ExportFormat::Terminal,
        ExportFormat::Json,
        ExportFormat::Markdown,
        ExportFormat::Html,
    ];

    /// The exporter of this format.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            ExportFormat::Terminal => Box::new(terminal::TerminalExporter),
            ExportFormat::Json => Box::new(json::JsonExporter),
            ExportFormat::Markdown => Box::new(markdown::MarkdownExporter),
            ExportFormat::Html => Box::new(html::HtmlExporter::default()),
        }
    }

    /// The name used on the command line: `terminal`, `json`, `markdown`, `html`.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Terminal => "terminal",
            ExportFormat::Json => "json",
            ExportFormat::Markdown => "markdown",
            ExportFormat::Html => "html",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Terminal => "txt",
            ExportFormat::Json => "json",
            ExportFormat::Markdown => "md",
            ExportFormat::Html => "html",
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown format name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown export format `{0}`; expected terminal, json, markdown or html")]
pub struct UnknownFormat(pub String);

impl FromStr for ExportFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "terminal" | "text" | "txt" => Ok(ExportFormat::Terminal),
            "json" => Ok(ExportFormat::Json),
            "markdown" | "md" => Ok(ExportFormat::Markdown),
            "html" | "htm" => Ok(ExportFormat::Html),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

/// A results file built in code for the exporters' tests: two write engines (buffered at
/// 500 MB/s, `uring:direct,qd=8` at 1000 MB/s), two read engines (`sendfile` at 1600 MB/s and
/// 0.55 CPU s/GB, `readwrite` at 1000 MB/s and 1.0 CPU s/GB) and a skipped one.
#[cfg(test)]
pub(crate) mod fixture {
    use std::collections::BTreeMap;

    use crate::hist;
    use crate::schema::*;
    use crate::stats;

    /// Skip reason of the skipped workload.
    pub const SKIP_REASON: &str = "io_uring is disabled (kernel.io_uring_disabled=2)";

    fn repetition(
        index: u32,
        bytes_per_s: f64,
        cpu_s_per_gb: f64,
        latencies_ns: &[u64],
    ) -> Repetition {
        let mut h = hist::new_hist();
        for (i, &ns) in latencies_ns.iter().enumerate() {
            // Spread a little so percentiles differ; awkward values for the JSON round trip.
            hist::record(&mut h, ns + (i as u64 * 7919) % (ns / 10 + 1));
        }
        let elapsed_s = 1.0 / 3.0 + index as f64 * 0.1;
        let bytes = (bytes_per_s * elapsed_s) as u64;
        let records = bytes / 1000;
        Repetition {
            index,
            bytes,
            records,
            batches: records / 16,
            elapsed_s,
            throughput_bytes_per_s: bytes_per_s,
            records_per_s: records as f64 / elapsed_s,
            cpu_user_s: cpu_s_per_gb * 0.3 * bytes as f64 / 1e9,
            cpu_sys_s: cpu_s_per_gb * 0.7 * bytes as f64 / 1e9,
            cpu_s_per_gb: Some(cpu_s_per_gb),
            device_bytes: Some(bytes + 4096),
            storage_io_bytes: None,
            latency_ns: hist::summarize(&h),
            flush_latency_ns: None,
            roll_latency_ns: None,
            timeline: Timeline {
                interval_s: 0.1,
                bytes: vec![
                    bytes / 4,
                    bytes / 4,
                    bytes / 3,
                    bytes - bytes / 4 * 2 - bytes / 3,
                ],
            },
            threads: vec![ThreadStats {
                index: 0,
                bytes,
                cpu_user_s: 0.1 / 7.0,
                cpu_sys_s: 0.2 / 7.0,
            }],
            context_switches: Some(1234),
            harness_overhead_ratio: Some(0.001_234_567_891),
            extra: BTreeMap::new(),
        }
    }

    fn workload(
        name: &str,
        kind: Kind,
        engine: &str,
        medium: Medium,
        mb_per_s: [f64; 3],
        cpu_s_per_gb: f64,
        latency_ns: u64,
    ) -> WorkloadResult {
        let lat: Vec<u64> = (0..1000)
            .map(|i| latency_ns + i * latency_ns / 500)
            .collect();
        let repetitions: Vec<Repetition> = mb_per_s
            .iter()
            .enumerate()
            .map(|(i, &mb)| repetition(i as u32, mb * 1e6, cpu_s_per_gb, &lat))
            .collect();
        let mut config = BTreeMap::new();
        config.insert("engine".to_string(), serde_json::json!(engine));
        config.insert("batch_size_bytes".to_string(), serde_json::json!(16384));
        WorkloadResult {
            name: name.to_string(),
            kind,
            engine: engine.to_string(),
            config,
            status: Status::Completed,
            medium,
            summary: stats::summarize(&repetitions),
            repetitions,
            warnings: vec![],
        }
    }

    /// The fixture.
    pub fn results() -> ResultsFile {
        let mut buffered = workload(
            "write/buffered",
            Kind::Write,
            "buffered",
            Medium::PageCache,
            [480.0, 500.0, 520.0],
            0.8,
            1_500,
        );
        buffered
            .warnings
            .push("wrote 0.5 GB, less than the dirty limit (1.6 GB): a page-cache number".into());
        let uring = workload(
            "write/uring:direct,qd=8",
            Kind::Write,
            "uring:direct,qd=8",
            Medium::Device,
            [950.0, 1000.0, 1010.0],
            0.5,
            120_000,
        );
        let skipped = WorkloadResult {
            name: "write/uring:sqpoll".to_string(),
            kind: Kind::Write,
            engine: "uring:sqpoll".to_string(),
            config: BTreeMap::new(),
            status: Status::Skipped {
                reason: SKIP_REASON.to_string(),
            },
            medium: Medium::Device,
            repetitions: vec![],
            summary: None,
            warnings: vec![],
        };
        let sendfile = workload(
            "read/sendfile",
            Kind::Read,
            "sendfile",
            Medium::Network,
            [1600.0, 1550.0, 1700.0],
            0.55,
            2_000_000,
        );
        let readwrite = workload(
            "read/readwrite",
            Kind::Read,
            "readwrite",
            Medium::Network,
            [1000.0, 990.0, 1020.0],
            1.0,
            3_000_000,
        );
        ResultsFile {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "segbench".into(),
                version: "0.1.0".into(),
                git: Some("v0.1.0-3-gabc1234".into()),
            },
            run: RunInfo {
                id: "20261124T101500Z-3f9a".into(),
                start_time: "2026-11-24T10:15:00Z".into(),
                host: "bench-01".into(),
                command_line: vec!["segbench".into(), "run".into()],
            },
            probe: Some(
                serde_json::json!({"cpus": 2, "disk": {"model": "virtio", "rotational": 1}}),
            ),
            baseline: Baseline::default(),
            workloads: vec![buffered, uring, skipped, sendfile, readwrite],
            warnings: vec!["the disk claims rotational=1 (virtio): not used to classify it".into()],
            interrupted: false,
            fleet: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_export() {
        let r = fixture::results();
        for f in ExportFormat::ALL {
            assert_eq!(f.name().parse::<ExportFormat>(), Ok(f));
            let bytes = f.exporter().export(&r).unwrap();
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.contains("write/uring:direct,qd=8"), "{f}: {text}");
        }
        assert_eq!("md".parse::<ExportFormat>(), Ok(ExportFormat::Markdown));
        let e = "yaml".parse::<ExportFormat>().unwrap_err();
        assert!(e.to_string().contains("`yaml`"), "{e}");
    }
}
