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
/// The files `segbench run` writes into its results directory.
pub const RUN_OUTPUTS: [&str; 3] = ["results.json", "summary.md", "report.html"];

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

/// True when `p` holds a segbench results file.
fn is_results_file(p: &Path) -> bool {
    results::io::read_results(p).is_ok()
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

/// Checks, before any work, that the output file `path` (given as `flag`) can be written: its
/// directory exists and takes a new file, it is not a directory, it is none of the command's
/// `inputs`, and — for a report (`results == false`) — it does not replace a results file.
pub fn check_file(flag: &str, path: &Path, inputs: &[&Path], results: bool) -> anyhow::Result<()> {
    let shown = path.display();
    if path.is_dir() {
        return Err(bad_input(format!(
            "{flag} {shown}: is a directory; name a file"
        )));
    }
    let target = resolved(path);
    if inputs.iter().any(|i| resolved(i) == target) {
        return Err(bad_input(format!(
            "{flag} {shown}: is an input of this command; name another file"
        )));
    }
    if !results && path.exists() && is_results_file(path) {
        return Err(bad_input(format!(
            "{flag} {shown}: holds a segbench results file, which a report never replaces; name another file"
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

/// Creates (or takes) the output directory `dir` (given as `flag`) before any work: refused
/// when it already holds one of `names` that segbench did not write there (no
/// [`RESULTS_DIR_MARKER`]); marked as segbench's otherwise.
pub fn prepare_dir(flag: &str, dir: &Path, names: &[&str]) -> anyhow::Result<()> {
    let shown = dir.display();
    if dir.exists() && !dir.is_dir() {
        return Err(bad_input(format!(
            "{flag} {shown}: not a directory; give a directory"
        )));
    }
    if !dir.join(RESULTS_DIR_MARKER).exists() {
        if let Some(n) = names.iter().find(|n| dir.join(n).exists()) {
            return Err(bad_input(format!(
                "{flag} {shown}: already holds {n}, which segbench did not write there; give a new or empty directory"
            )));
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

/// A results file for finished workloads.
pub fn results_file(
    meta: &RunMeta,
    probe: Option<results::probe::Probe>,
    baseline: Baseline,
    workloads: Vec<WorkloadResult>,
    warnings: Vec<String>,
    interrupted: bool,
) -> ResultsFile {
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
        check_file("--out", out, &[], true)?;
    }
    if let Some(dir) = &to.dir {
        prepare_dir("--out", dir, &RUN_OUTPUTS)?;
    }
    if let Some(dir) = &to.hdr_log {
        check_dir("--hdr-log", dir)?;
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
    fn a_report_never_replaces_a_results_file_or_an_input() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path().join("base.json");
        results::io::write_results(&r, &results::testing::results()).unwrap();
        let e = check_file("--markdown", &r, &[], false).unwrap_err();
        assert!(
            e.to_string().contains("holds a segbench results file"),
            "{e}"
        );
        // An input, even spelled another way.
        let other = t.path().join("notes.md");
        fs::write(&other, "x").unwrap();
        let spelled = t.path().join(".").join("notes.md");
        let e = check_file("--out", &spelled, &[&other], true).unwrap_err();
        assert!(e.to_string().contains("is an input"), "{e}");
        // A plain file or a new one is fine; a missing directory is not.
        check_file("--markdown", &other, &[], false).unwrap();
        check_file("--out", &t.path().join("new.json"), &[], true).unwrap();
        let e = check_file("--out", &t.path().join("nope/r.json"), &[], true).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(
            check_file("--out", t.path(), &[], true).is_err(),
            "a directory"
        );
        assert_eq!(
            fs::read_dir(t.path()).unwrap().count(),
            2,
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
        assert!(e.to_string().contains("already holds report.html"), "{e}");
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
