//! Exporters: turn a finished [`ResultsFile`] into bytes, one exporter per format behind one
//! trait (after hyperfine's `src/export/`). Nothing here measures, and nothing here prints:
//! the binary decides where the bytes go.
//!
//! - [`json`]: the results file itself (pretty JSON); writing and reading it back with schema
//!   checks is [`crate::io`], re-exported there;
//! - [`terminal`]: the comparison table for a terminal, the warnings and a one-line verdict;
//! - [`markdown`]: the same as GitHub-flavoured Markdown, fit for a pull-request comment;
//! - [`html`]: the self-contained HTML report with inline SVG charts;
//! - [`interference`]: the verdict lines of mixed workloads (alone → with the others);
//! - [`cluster`]: the cluster part of every report for `segbench fleet run` results;
//! - `comparison` builds the results' comparison table; the text-table renderer they all use
//!   is [`crate::table`] (also re-exported here as `table`).

use std::fmt;
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
pub mod terminal;

/// What an exporter answers when it cannot: the results file's errors (only the JSON exporter
/// fails, on a figure that would not read back).
pub use crate::io::ResultsFileError as ExportError;

/// The comment line every HTML report carries right after its doctype: how segbench knows a
/// report it may replace from a user's page.
pub const HTML_MARK: &str = "<!-- segbench report -->";

/// The comment line that ends every Markdown summary (invisible when rendered): how segbench
/// knows a summary it may replace from a user's notes.
pub const MARKDOWN_MARK: &str = "<!-- segbench summary -->";

/// Turns finished results into the bytes of one format.
pub trait Exporter {
    /// The whole document for `r`.
    fn export(&self, r: &ResultsFile) -> Result<Vec<u8>, ExportError>;
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
