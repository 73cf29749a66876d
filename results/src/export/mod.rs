//! Exporters: turn a finished [`ResultsFile`] into bytes, one exporter per format behind one
//! trait (after hyperfine's `src/export/`). Nothing here measures, and nothing here prints:
//! the binary decides where the bytes go.
//!
//! - [`json`]: the results file itself (pretty JSON), written atomically, and read back with
//!   schema checks;
//! - [`terminal`]: the comparison table for a terminal, the warnings and a one-line verdict;
//! - [`markdown`]: the same as GitHub-flavoured Markdown, fit for a pull-request comment;
//! - [`html`]: the self-contained HTML report with inline SVG charts;
//! - [`interference`]: the verdict lines of mixed workloads (alone → with the others);
//! - [`cluster`]: the cluster part of every report for `segbench fleet run` results;
//! - [`table`]: the one text-table renderer (aligned text and Markdown), also used by `compare`
//!   and the binary's probe summary; `comparison` builds the results' comparison table.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::schema::ResultsFile;

pub mod cluster;
mod comparison;
pub mod detail;
pub mod html;
pub mod interference;
pub mod json;
pub mod markdown;
pub mod replication;
pub mod table;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_export() {
        let r = crate::testing::results();
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
