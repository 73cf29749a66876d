//! `segbench report`: regenerates `report.html` and `summary.md` from any results file, and
//! prints the comparison table and verdict.
//!
//! Memory is bounded by the file's size: the typed results, the report texts, and one decoded
//! histogram at a time (each at most `results::hist::MAX_COUNTS` counts; a chart keeps only a
//! ~2 KB curve per workload). Measured peak RSS: 181 MB for a 47 MB file of 2,882 workloads
//! (about 4× the file; 844 MB before, when every chart held all its histograms).

use std::path::{Path, PathBuf};

use clap::Args;
use results::export::html::HtmlExporter;
use results::export::markdown::MarkdownExporter;
use results::export::{terminal, Exporter};
use results::io;
use results::ResultsFile;

/// Help text after the options.
pub const REPORT_HELP: &str =
    "Writes a self-contained HTML report (inline SVG charts, no scripts, nothing fetched) and a
Markdown summary, each atomically, and prints the comparison table and verdict on stdout.

Examples:
  segbench report segbench-results/20261124T101500Z-3f9a/results.json
  segbench report results.json --html /tmp/report.html --markdown pr-comment.md";

/// `segbench report`.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// A results file written by `segbench run`, `write`, `read` or `merge`.
    #[arg(value_name = "RESULTS.json")]
    pub results: PathBuf,
    /// Where to write the HTML report [default: report.html beside the results file].
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Where to write the Markdown summary [default: summary.md beside the results file].
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// The directory holding `file` (`.` for a bare file name).
fn parent_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` with its directory made absolute and resolved, for comparing output paths; the path
/// itself when that fails (the write will then report the problem).
fn resolved(path: &Path) -> PathBuf {
    match (std::fs::canonicalize(parent_dir(path)), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// Writes the HTML report to `html` and the Markdown summary to `markdown`, each atomically
/// (a reader sees the old file or the whole new one). Used by `segbench report` and
/// `segbench run`. A file that cannot be written is bad environment (exit 2).
pub fn write_reports(r: &ResultsFile, html: &Path, markdown: &Path) -> anyhow::Result<()> {
    let outputs: [(&Path, &dyn Exporter); 2] = [
        (html, &HtmlExporter::default()),
        (markdown, &MarkdownExporter),
    ];
    for (path, exporter) in outputs {
        let bytes = exporter
            .export(r)
            .map_err(|e| crate::bad_input(e.to_string()))?;
        io::write_atomic(path, &bytes).map_err(|e| crate::bad_input(e.to_string()))?;
    }
    Ok(())
}

/// Reads the results, writes both reports, prints the terminal report on stdout.
pub fn run(a: ReportArgs) -> anyhow::Result<u8> {
    // Beside the results file, spelled as the user spelled it (`report.html`, not `./report.html`).
    let beside = |name: &str| a.results.with_file_name(name);
    let html = a.html.clone().unwrap_or_else(|| beside("report.html"));
    let markdown = a.markdown.clone().unwrap_or_else(|| beside("summary.md"));
    let source = resolved(&a.results);
    for (flag, path) in [("--html", &html), ("--markdown", &markdown)] {
        if resolved(path) == source {
            return Err(crate::bad_input(format!(
                "{flag} {} is the results file itself; name another file",
                path.display()
            )));
        }
    }
    if resolved(&html) == resolved(&markdown) {
        return Err(crate::bad_input(format!(
            "--html and --markdown both name {}; give two files",
            html.display()
        )));
    }
    use crate::output::OutputKind;
    for (flag, path, kind) in [
        ("--html", &html, OutputKind::HtmlReport),
        ("--markdown", &markdown, OutputKind::MarkdownReport),
    ] {
        crate::output::check_file(flag, path, &[&a.results], kind)?;
    }
    let r = io::read_results(&a.results).map_err(|e| crate::bad_input(e.to_string()))?;
    write_reports(&r, &html, &markdown)?;
    crate::output::print(&terminal::render(&r))?;
    eprintln!(
        "segbench: wrote {} and {}",
        html.display(),
        markdown.display()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BadInput;
    use results::testing::{check_well_formed, sample};
    use results::{Kind, Status};

    /// Path of the sample results fixture, from the crate root.
    const SAMPLE_PATH: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/results/sample.json"
    );

    /// The sample results ([`sample::results`]).
    fn sample_results() -> ResultsFile {
        sample::results()
    }

    fn args(results: &Path) -> ReportArgs {
        ReportArgs {
            results: results.to_path_buf(),
            html: None,
            markdown: None,
        }
    }

    /// The one-line message of a bad-input error (exit 2 in the binary).
    fn bad_input(e: anyhow::Error) -> String {
        let b = e
            .downcast_ref::<BadInput>()
            .unwrap_or_else(|| panic!("not bad input: {e:#}"));
        let msg = b.to_string();
        assert!(!msg.contains('\n'), "not one line: {msg}");
        msg
    }

    /// Regenerate with `SEGBENCH_BLESS=1 cargo test -p segbench --lib sample_fixture`.
    #[test]
    fn sample_fixture_matches_its_generator() {
        let generated = sample_results();
        if std::env::var_os("SEGBENCH_BLESS").is_some() {
            io::write_results(Path::new(SAMPLE_PATH), &generated).unwrap();
        }
        let on_disk = io::read_results(SAMPLE_PATH).unwrap_or_else(|e| {
            panic!(
                "{e}; regenerate with SEGBENCH_BLESS=1 cargo test -p segbench --lib sample_fixture"
            )
        });
        assert!(
            on_disk == generated,
            "{} is out of date; regenerate with SEGBENCH_BLESS=1 cargo test -p segbench --lib sample_fixture",
            SAMPLE_PATH
        );
        // What the fixture promises.
        let w = &on_disk.workloads;
        assert!(w.iter().any(|w| w.kind == Kind::Write) && w.iter().any(|w| w.kind == Kind::Read));
        assert!(w.iter().any(|w| matches!(w.status, Status::Skipped { .. })));
        assert!(w.iter().filter(|w| w.repetitions.len() == 3).count() >= 8);
        assert!(w.iter().flat_map(|w| &w.repetitions).all(|r| r
            .timeline
            .bytes
            .iter()
            .sum::<u64>()
            == r.bytes));
        let sweeps = |p: &str| {
            w.iter()
                .filter(|w| w.config.get("sweep").and_then(|s| s.as_str()) == Some(p))
                .count()
        };
        assert_eq!((sweeps("partitions"), sweeps("qd")), (5, 4));
        let probe = on_disk.probe.clone().unwrap();
        assert_eq!(probe.storage.dio_mem_align_bytes, Some(512));
        assert!(!on_disk.warnings.is_empty() && w.iter().any(|w| !w.warnings.is_empty()));
    }

    #[test]
    fn report_writes_html_and_markdown_beside_the_results() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        std::fs::copy(SAMPLE_PATH, &path).unwrap();
        assert_eq!(run(args(&path)).unwrap(), 0);
        let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
        let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
        check_well_formed(&html).unwrap();
        // Six chart sections: throughput, latency (write, read), timeline (write, read),
        // scaling (partitions, qd), CPU, capacity.
        assert_eq!(html.matches("<svg").count(), 9);
        for name in [
            "write/buffered",
            "write/uring:qd=8,direct",
            "read-hot/sendfile",
            "read-cold/readwrite",
        ] {
            assert!(html.contains(name), "{name}");
            assert!(md.contains(&name.replace('_', r"\_")), "{name} in Markdown");
        }
        assert!(html.contains(sample::SKIP_REASON));
        assert!(html.contains(
            ">baseline: 2.00 MB/s per node (classic: ~20 MB/s for a 10-node cluster)</text>"
        ));
        assert!(html.contains("AMD EPYC 7B13"));
        assert!(md.starts_with("### segbench results"));
        assert!(md.contains("**Verdict**"));
        // Nothing else was written beside the results.
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["report.html", "results.json", "summary.md"]);
    }

    #[test]
    fn report_writes_where_it_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let a = ReportArgs {
            results: PathBuf::from(SAMPLE_PATH),
            html: Some(dir.path().join("r.html")),
            markdown: Some(dir.path().join("s.md")),
        };
        assert_eq!(run(a).unwrap(), 0);
        assert!(dir.path().join("r.html").is_file());
        assert!(dir.path().join("s.md").is_file());
    }

    #[test]
    fn report_refuses_what_is_not_a_results_file_with_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("package.json");
        std::fs::write(&path, r#"{"name": "left-pad", "version": "1.3.0"}"#).unwrap();
        let msg = bad_input(run(args(&path)).unwrap_err());
        assert!(
            msg.contains("package.json") && msg.contains("not a segbench results file"),
            "{msg}"
        );
        let msg = bad_input(run(args(&dir.path().join("absent.json"))).unwrap_err());
        assert!(msg.contains("absent.json"), "{msg}");
        // Nothing written.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn report_never_overwrites_the_results_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        std::fs::copy(SAMPLE_PATH, &path).unwrap();
        let before = std::fs::read(&path).unwrap();
        let mut a = args(&path);
        a.html = Some(dir.path().join(".").join("results.json"));
        let msg = bad_input(run(a).unwrap_err());
        assert!(
            msg.contains("--html") && msg.contains("results file itself"),
            "{msg}"
        );
        let mut a = args(&path);
        a.markdown = Some(dir.path().join("same"));
        a.html = Some(dir.path().join("same"));
        assert!(bad_input(run(a).unwrap_err()).contains("give two files"));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // An output directory that does not exist: exit 2, naming the file.
        let mut a = args(&path);
        a.html = Some(dir.path().join("no/such/dir/report.html"));
        assert!(bad_input(run(a).unwrap_err()).contains("no/such/dir/report.html"));
    }
}
