//! Where results go: standard output, and the files and directories named by `--out`,
//! `--markdown`, `--html` and `--hdr-log`. A results file is assembled for finished workloads
//! ([`results_file`]) and handed over by one writer ([`deliver`] to a [`Destination`]) for
//! `run`, the single commands and, for its results directory ([`write_outputs`]), `fleet`.
//!
//! A stdout reader that goes away (`segbench … | head -1`) is not an error: what it did not take
//! is dropped quietly and the command finishes its cleanup as usual (Rust ignores SIGPIPE, so
//! `print!` would panic instead). Output paths are checked before any work starts: a run must
//! never end with its results lost, and a report never replaces a results file or a report
//! segbench did not write.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use results::{Baseline, ResultsFile, WorkloadResult, SCHEMA_VERSION};

use crate::bad_input;
use crate::meta::{self, RunMeta};

/// Marker file segbench writes into every results directory (`run --out DIR`) it fills.
pub const RESULTS_DIR_MARKER: &str = ".segbench-results";
/// The files `segbench run` (and `fleet run`) writes into its results directory.
pub const RUN_OUTPUTS: [(&str, OutputKind); 3] = [
    ("results.json", OutputKind::Results),
    ("summary.md", OutputKind::MarkdownReport),
    ("report.html", OutputKind::HtmlReport),
];

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout and flushes it; nothing (and no error) once the reader has gone.
pub fn print(text: &str) -> io::Result<()> {
    write_to(&mut io::stdout().lock(), text)
}

/// [`print`](fn@print) with a final newline.
pub fn println(text: &str) -> io::Result<()> {
    print(&format!("{text}\n"))
}

fn write_to(out: &mut impl Write, text: &str) -> io::Result<()> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

/// The absolute form of `p` (through its existing parent), for comparing paths.
fn resolved(p: &Path) -> PathBuf {
    if let Ok(c) = fs::canonicalize(p) {
        return c;
    }
    match (p.parent(), p.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            fs::canonicalize(dir)
                .map(|d| d.join(name))
                .unwrap_or_else(|_| p.to_path_buf())
        }
        _ => p.to_path_buf(),
    }
}

/// What segbench writes at an output path: the kinds it tells apart to recognise its own
/// earlier output (which it may replace) from anything else (which it never does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// A results file (JSON): `--out` of the measuring commands, `merge -o`, results.json.
    Results,
    /// The HTML report (`report --html`, report.html).
    HtmlReport,
    /// The Markdown summary (`report --markdown`, summary.md).
    MarkdownReport,
    /// A comparison in Markdown (`compare --markdown`).
    CompareMarkdown,
}

/// The last line of the Markdown `compare --markdown` writes: how segbench knows its own.
pub const COMPARE_MARK: &str = "<!-- segbench compare -->";

/// How many bytes of a file's head and tail are read to recognise segbench's own output.
const SNIFF: u64 = 4096;

impl OutputKind {
    /// Every kind.
    pub const ALL: [OutputKind; 4] = [
        OutputKind::Results,
        OutputKind::HtmlReport,
        OutputKind::MarkdownReport,
        OutputKind::CompareMarkdown,
    ];

    /// What it is, for messages.
    fn what(self) -> &'static str {
        match self {
            OutputKind::Results => "results file",
            OutputKind::HtmlReport => "HTML report",
            OutputKind::MarkdownReport => "Markdown summary",
            OutputKind::CompareMarkdown => "Markdown comparison",
        }
    }

    /// True when the file at `p` is segbench's own output of this kind (read through a bounded
    /// head and tail, whatever the file's size).
    pub fn written_by_segbench(self, p: &Path) -> bool {
        let Ok((head, tail)) = head_and_tail(p) else {
            return false;
        };
        let has =
            |bytes: &[u8], mark: &str| bytes.windows(mark.len()).any(|w| w == mark.as_bytes());
        match self {
            OutputKind::Results => is_results_head(&head),
            OutputKind::HtmlReport => has(&head, results::export::HTML_MARK),
            OutputKind::MarkdownReport => has(&tail, results::export::MARKDOWN_MARK),
            OutputKind::CompareMarkdown => has(&tail, COMPARE_MARK),
        }
    }
}

/// The first and the last [`SNIFF`] bytes of the file at `p`.
fn head_and_tail(p: &Path) -> io::Result<(Vec<u8>, Vec<u8>)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = fs::File::open(p)?;
    let len = f.metadata()?.len();
    let mut head = Vec::new();
    (&mut f).take(SNIFF).read_to_end(&mut head)?;
    let mut tail = Vec::new();
    f.seek(SeekFrom::Start(len.saturating_sub(SNIFF)))?;
    f.take(SNIFF).read_to_end(&mut tail)?;
    Ok((head, tail))
}

/// True when `head` starts as segbench writes a results file: a JSON object whose first
/// fields are `schema_version` (a number) and `tool` named `segbench`, whitespace aside.
fn is_results_head(head: &[u8]) -> bool {
    let compact: Vec<u8> = head
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let Some(rest) = compact.strip_prefix(br#"{"schema_version":"#.as_slice()) else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && rest[digits..].starts_with(br#","tool":{"name":"segbench""#)
}

/// The device and inode of the file `p` names (links followed), when it exists.
fn identity(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// True when `out` and `input` are the same file: the same device and inode (through `./`,
/// a link or a hard link), or the same resolved path.
fn same_file(out: &Path, input: &Path) -> bool {
    match (identity(out), identity(input)) {
        (Some(a), Some(b)) => a == b,
        _ => resolved(out) == resolved(input),
    }
}

/// Proves that `dir` takes a new file: creates one of segbench's own and removes it.
fn check_writable_dir(flag: &str, dir: &Path) -> anyhow::Result<()> {
    let probe = dir.join(format!(".segbench-write-check-{}", std::process::id()));
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(bad_input(format!(
            "{flag}: cannot write into {}: {e}; give a writable location",
            dir.display()
        ))),
    }
}

/// Why the entry at `path` may not be replaced by an output of `kind`: it is a link, or a file
/// that is not segbench's own output of that kind; `None` when there is nothing or it may.
fn not_replaceable(path: &Path, kind: OutputKind) -> Option<String> {
    let md = fs::symlink_metadata(path).ok()?;
    if md.file_type().is_symlink() {
        return Some("is a link, which segbench never replaces".into());
    }
    if kind.written_by_segbench(path) {
        return None;
    }
    Some(
        match OutputKind::ALL.iter().find(|k| k.written_by_segbench(path)) {
            Some(other) => format!("holds a segbench {}, not a {}", other.what(), kind.what()),
            None => format!("exists and is not a segbench {}", kind.what()),
        },
    )
}

/// The one check of every output file, made before any work: `path` (given as `flag`) is not a
/// directory, not one of the command's `inputs` (same device and inode, however spelled: `./`,
/// a link, a hard link — even when it is a segbench file), and when it exists it is segbench's
/// own output of the same `kind` (never a user's file, a link, or another kind of output); its
/// directory exists and takes a new file.
pub fn check_file(
    flag: &str,
    path: &Path,
    inputs: &[&Path],
    kind: OutputKind,
) -> anyhow::Result<()> {
    let shown = path.display();
    if path.is_dir() {
        return Err(bad_input(format!(
            "{flag} {shown}: is a directory; name a file"
        )));
    }
    if let Some(i) = inputs.iter().find(|i| same_file(path, i)) {
        return Err(bad_input(format!(
            "{flag} {shown}: is the input {} of this command; choose another path",
            i.display()
        )));
    }
    if let Some(why) = not_replaceable(path, kind) {
        return Err(bad_input(format!(
            "{flag} {shown}: {why} (segbench replaces only its own); choose another path or remove it"
        )));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(bad_input(format!(
            "{flag} {shown}: the directory {} does not exist; create it or name another place",
            dir.display()
        )));
    }
    check_writable_dir(flag, dir)
}

/// Creates the output directory `dir` (given as `flag`) when missing and checks, before any
/// work, that it takes new files.
pub fn check_dir(flag: &str, dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(bad_input(format!(
            "{flag} {}: not a directory; give a directory",
            dir.display()
        )));
    }
    fs::create_dir_all(dir)
        .map_err(|e| bad_input(format!("{flag} {}: cannot create it: {e}", dir.display())))?;
    check_writable_dir(flag, dir)
}

/// Creates (or takes) the output directory `dir` (given as `flag`) before any work: refused,
/// unless segbench marked it as its results directory ([`RESULTS_DIR_MARKER`]), when one of the
/// files segbench will write there (`names`, each with its kind) exists and is not segbench's
/// own output of that kind ([`check_file`]); marked as segbench's otherwise.
pub fn prepare_dir(flag: &str, dir: &Path, names: &[(&str, OutputKind)]) -> anyhow::Result<()> {
    let shown = dir.display();
    if dir.exists() && !dir.is_dir() {
        return Err(bad_input(format!(
            "{flag} {shown}: not a directory; give a directory"
        )));
    }
    // A directory segbench marked as its results directory holds segbench's outputs.
    if dir.is_dir() && !dir.join(RESULTS_DIR_MARKER).exists() {
        for (name, kind) in names {
            if not_replaceable(&dir.join(name), *kind).is_some() {
                return Err(bad_input(format!(
                    "{flag} {shown}: already holds {name}, which segbench did not write there; give a new or empty directory, or remove {name}"
                )));
            }
        }
    }
    fs::create_dir_all(dir)
        .map_err(|e| bad_input(format!("{flag} {shown}: cannot create it: {e}")))?;
    fs::write(
        dir.join(RESULTS_DIR_MARKER),
        "segbench results directory: segbench replaces its own results, summary and report here\n",
    )
    .map_err(|e| bad_input(format!("{flag} {shown}: cannot write into it: {e}")))
}

/// A results file for finished workloads; the run's warnings gain any device reads a cache
/// below the system may have served ([`results::host_cache::suspects`]).
pub fn results_file(
    meta: &RunMeta,
    probe: Option<results::probe::Probe>,
    baseline: Baseline,
    workloads: Vec<WorkloadResult>,
    mut warnings: Vec<String>,
    interrupted: bool,
) -> ResultsFile {
    warnings.extend(results::host_cache::suspects(&workloads, probe.as_ref()));
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: meta::tool(),
        run: meta.run_info(),
        probe,
        baseline,
        workloads,
        warnings,
        interrupted,
        fleet: None,
    }
}

/// Writes results.json, summary.md and report.html into `dir`, each atomically.
pub fn write_outputs(file: &ResultsFile, dir: &Path) -> anyhow::Result<()> {
    use results::export::ExportFormat;
    let json = serde_json::to_string_pretty(file)?;
    results::io::write_atomic(&dir.join("results.json"), json.as_bytes())?;
    let md = ExportFormat::Markdown.exporter().export(file)?;
    results::io::write_atomic(&dir.join("summary.md"), &md)?;
    let html = ExportFormat::Html.exporter().export(file)?;
    results::io::write_atomic(&dir.join("report.html"), &html)?;
    Ok(())
}

/// Where a command's finished results go: one writer for them all ([`deliver`]).
#[derive(Debug, Clone, Default)]
pub struct Destination {
    /// The results JSON on stdout (the table then goes to stderr).
    pub json: bool,
    /// A results file (`--out FILE` of the single commands).
    pub file: Option<PathBuf>,
    /// A results directory: results.json, summary.md, report.html (`run --out DIR`).
    pub dir: Option<PathBuf>,
    /// HdrHistogram interval logs, one per workload (`--hdr-log DIR`).
    pub hdr_log: Option<PathBuf>,
}

/// Checks (and for a results directory, prepares) every output path of `to` before any
/// work, so a run never ends with its results lost.
pub fn check(to: &Destination) -> anyhow::Result<()> {
    if let Some(out) = &to.file {
        check_file("--out", out, &[], OutputKind::Results)?;
    }
    if let Some(dir) = &to.dir {
        prepare_dir("--out", dir, &RUN_OUTPUTS)?;
    }
    if let Some(dir) = &to.hdr_log {
        check_dir("--hdr-log", dir)?;
        check_hdr_logs(dir)?;
    }
    Ok(())
}

/// Refuses an `--hdr-log` directory holding a `.hlog` file segbench did not write (one of the
/// run's logs could have its name); the names themselves are checked again when written.
fn check_hdr_logs(dir: &Path) -> anyhow::Result<()> {
    let entries =
        fs::read_dir(dir).map_err(|e| bad_input(format!("--hdr-log {}: {e}", dir.display())))?;
    for p in entries.flatten().map(|e| e.path()) {
        if p.extension().is_some_and(|x| x == "hlog") && !results::hdrlog::is_ours(&p) {
            return Err(bad_input(format!(
                "--hdr-log {}: {} is not a segbench interval log (segbench replaces only its \
                 own); choose another directory or move it",
                dir.display(),
                p.display()
            )));
        }
    }
    Ok(())
}

/// Hands the finished results over: the results directory and the results file (each
/// atomically), the interval logs, the JSON on stdout when asked, and the terminal `table`
/// (on stderr with the JSON, else on stdout). The table is printed even when writing a file
/// fails, so a run never ends with nothing to show; the first failure is returned after it.
pub fn deliver(file: &ResultsFile, table: &str, to: &Destination) -> anyhow::Result<()> {
    let mut first_error = None;
    if let Some(dir) = &to.dir {
        if let Err(e) = write_outputs(file, dir) {
            first_error = Some(e);
        }
    }
    if let Some(path) = &to.file {
        if let Err(e) = serde_json::to_vec_pretty(file)
            .map_err(anyhow::Error::from)
            .and_then(|b| Ok(results::io::write_atomic(path, &b)?))
        {
            first_error.get_or_insert(anyhow::anyhow!(
                "writing results to {}: {e:#}",
                path.display()
            ));
        }
    }
    if let Err(e) = emit_hdr_logs(file, to.hdr_log.as_deref()) {
        first_error.get_or_insert(e);
    }
    if to.json {
        println(&serde_json::to_string_pretty(file)?)?;
        eprint!("{table}");
    } else {
        print(table)?;
    }
    first_error.map_or(Ok(()), Err)
}

/// Writes `--hdr-log DIR`: one HdrHistogram interval log per workload.
pub fn emit_hdr_logs(file: &ResultsFile, dir: Option<&Path>) -> anyhow::Result<()> {
    if let Some(dir) = dir {
        results::hdrlog::write_interval_logs(dir, file)
            .map_err(|e| bad_input(format!("--hdr-log {}: {e}", dir.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_replaces_only_segbench_s_own_file_of_its_kind_and_never_an_input() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path().join("base.json");
        results::io::write_results(&r, &results::testing::results()).unwrap();
        let e = check_file("--markdown", &r, &[], OutputKind::MarkdownReport).unwrap_err();
        assert!(
            e.to_string()
                .contains("holds a segbench results file, not a Markdown summary"),
            "{e}"
        );
        // Its own kind: replaced; an input, however spelled, never (even a results file).
        check_file("--out", &r, &[], OutputKind::Results).unwrap();
        let spelled = t.path().join(".").join("base.json");
        let e = check_file("-o", &spelled, &[&r], OutputKind::Results).unwrap_err();
        assert!(e.to_string().contains("is the input"), "{e}");
        let hard = t.path().join("hard.json");
        fs::hard_link(&r, &hard).unwrap();
        assert!(check_file("-o", &hard, &[&r], OutputKind::Results).is_err());
        let link = t.path().join("link.json");
        std::os::unix::fs::symlink("base.json", &link).unwrap();
        assert!(check_file("-o", &link, &[&r], OutputKind::Results).is_err());
        let e = check_file("--out", &link, &[], OutputKind::Results).unwrap_err();
        assert!(e.to_string().contains("is a link"), "{e}");
        // A user's file is never replaced, whatever the kind.
        let notes = t.path().join("notes.md");
        fs::write(&notes, "x").unwrap();
        for kind in [
            OutputKind::Results,
            OutputKind::HtmlReport,
            OutputKind::MarkdownReport,
            OutputKind::CompareMarkdown,
        ] {
            let e = check_file("--out", &notes, &[], kind).unwrap_err();
            assert!(e.to_string().contains("remove it"), "{e}");
        }
        // segbench's own reports are recognised by their marks.
        let html = t.path().join("r.html");
        let md = t.path().join("s.md");
        use results::export::ExportFormat;
        let file = results::testing::results();
        fs::write(&html, ExportFormat::Html.exporter().export(&file).unwrap()).unwrap();
        fs::write(
            &md,
            ExportFormat::Markdown.exporter().export(&file).unwrap(),
        )
        .unwrap();
        check_file("--html", &html, &[], OutputKind::HtmlReport).unwrap();
        check_file("--markdown", &md, &[], OutputKind::MarkdownReport).unwrap();
        assert!(check_file("--markdown", &md, &[], OutputKind::CompareMarkdown).is_err());
        // A new file is fine; a missing directory or a directory is not.
        check_file(
            "--out",
            &t.path().join("new.json"),
            &[],
            OutputKind::Results,
        )
        .unwrap();
        let e = check_file(
            "--out",
            &t.path().join("nope/r.json"),
            &[],
            OutputKind::Results,
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(check_file("--out", t.path(), &[], OutputKind::Results).is_err());
        assert_eq!(
            fs::read_dir(t.path()).unwrap().count(),
            6,
            "no check file left"
        );
    }

    #[test]
    fn a_results_directory_segbench_did_not_fill_keeps_its_report() {
        let t = tempfile::tempdir().unwrap();
        let mine = t.path().join("mine");
        fs::create_dir(&mine).unwrap();
        fs::write(mine.join("report.html"), "my report").unwrap();
        let e = prepare_dir("--out", &mine, &RUN_OUTPUTS).unwrap_err();
        assert!(e.to_string().contains("report.html"), "{e}");
        assert_eq!(fs::read(mine.join("report.html")).unwrap(), b"my report");
        // A new directory, then the same one again (segbench's own now).
        let fresh = t.path().join("a/b");
        prepare_dir("--out", &fresh, &RUN_OUTPUTS).unwrap();
        fs::write(fresh.join("report.html"), "segbench's").unwrap();
        prepare_dir("--out", &fresh, &RUN_OUTPUTS).unwrap();
    }

    struct Gone;
    impl Write for Gone {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_reader_that_went_away_is_not_an_error() {
        assert!(write_to(&mut Gone, "table\n").is_ok());
        let mut v = Vec::new();
        // Once closed, later output is dropped too.
        assert!(write_to(&mut v, "more").is_ok());
        assert!(v.is_empty());
    }
}
