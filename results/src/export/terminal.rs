//! The readable report for a terminal: a header line, the comparison table (column-aligned,
//! widths counted in chars so `µ` and `×` line up), a footnote on units and baseline, the
//! verdict and the warnings. No color.

use super::cluster;
use super::comparison;
use super::{ExportError, Exporter};
use crate::figures::RowKind;
use crate::format;
use crate::identity::tool_version;
use crate::schema::{Kind, ResultsFile, Status, WorkloadResult};
use crate::table::TextLayout;

/// Between two columns.
const GAP: &str = "  ";
/// Under the header row.
const RULE: char = '─';

/// The whole terminal report ([`render`]) as UTF-8 bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalExporter;

impl Exporter for TerminalExporter {
    fn export(&self, r: &ResultsFile) -> Result<Vec<u8>, ExportError> {
        Ok(render(r).into_bytes())
    }
}

/// The terminal report: header, table, footnote, verdict, warnings.
pub fn render(r: &ResultsFile) -> String {
    let mut out = String::new();
    out.push_str(&header_line(r));
    out.push('\n');
    if r.interrupted {
        out.push_str("INTERRUPTED: the run was stopped; these results are partial.\n");
    }
    out.push('\n');
    out.push_str(&table(r));
    out.push('\n');
    out.push_str(&comparison::footnote(r));
    out.push('\n');
    out.push_str(&cluster_block(r));
    out.push_str(&replication_block(r));
    let verdict = verdict(r);
    if !verdict.is_empty() {
        out.push('\n');
        for line in verdict {
            out.push_str(&line);
            out.push('\n');
        }
    }
    let warnings = warnings(r);
    if !warnings.is_empty() {
        out.push_str("\nwarnings:\n");
        for w in warnings {
            out.push_str("  - ");
            out.push_str(&w);
            out.push('\n');
        }
    }
    out
}

/// For results with replication rows, the replication figures per acks mode, CPU per role
/// and the acks=all / acks=1 ratio beside Kreps's; empty otherwise.
pub fn replication_block(r: &ResultsFile) -> String {
    use super::replication::{acks_table, cpu_table};
    let rows = crate::replication::rows(r);
    if rows.is_empty() {
        return String::new();
    }
    let layout = TextLayout {
        gap: GAP,
        header: true,
        rule: Some(RULE),
        pad_last: false,
    };
    let mut out = String::from("\nreplication:\n");
    out.push_str(&acks_table(&rows).render_text(&layout));
    for line in crate::replication::ratio_lines(&rows) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&cpu_table(&rows).render_text(&layout));
    out
}

/// For results of a fleet run, a short block under the table: the hosts and clocks in one
/// line, then the measured aggregate against the baseline and linear scaling (the whole
/// cluster view is in the HTML and Markdown reports); empty otherwise.
pub fn cluster_block(r: &ResultsFile) -> String {
    let Some(f) = cluster::fleet(r) else {
        return String::new();
    };
    let mut out = format!("\ncluster: {}\n", cluster::summary_line(f));
    let t = cluster::baseline_table(r, f);
    if !t.rows.is_empty() {
        out.push_str(&t.render_text(&TextLayout {
            gap: GAP,
            header: true,
            rule: Some(RULE),
            pad_last: false,
        }));
    }
    if let Some(w) = cluster::warnings(f).first() {
        out.push_str(&format!("cluster warning: {w}\n"));
    }
    out
}

/// The USL fit of every sweep of `r` ([`crate::fit`]) as a table under the run's header line,
/// with what the columns mean; a line saying there is no sweep otherwise.
pub fn fits(r: &ResultsFile) -> String {
    let rows = crate::fit::fit_rows(r);
    let mut out = format!("{}\n", header_line(r));
    if rows.is_empty() {
        out.push_str("no sweeps in these results: nothing to fit\n");
        return out;
    }
    let table = crate::fit::fits_table(&rows).render_text(&TextLayout {
        gap: GAP,
        header: true,
        rule: Some(RULE),
        pad_last: false,
    });
    // A row without a note would end with the gap before its empty cell.
    for line in table.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(crate::fit::TABLE_NOTE);
    out.push('\n');
    out
}

/// `segbench 0.1.0 (git) · run <id> · host <host> · <start time>`.
pub(crate) fn header_line(r: &ResultsFile) -> String {
    format!(
        "{} · run {} · host {} · {}",
        tool_version(r),
        r.run.id,
        r.run.host,
        r.run.start_time
    )
}

/// The comparison table alone, every line (header, rule, rows) exactly as wide as the others,
/// each ending with a newline.
pub fn table(r: &ResultsFile) -> String {
    comparison::comparison(r).render_text(&TextLayout {
        gap: GAP,
        header: true,
        rule: Some(RULE),
        pad_last: true,
    })
}

/// The warnings of the run, then each workload's, prefixed with the workload name.
pub fn warnings(r: &ResultsFile) -> Vec<String> {
    let mut all: Vec<String> = r.warnings.clone();
    for w in &r.workloads {
        all.extend(w.warnings.iter().map(|x| format!("{}: {x}", w.name)));
    }
    all
}

/// The engine's name without its options: `uring` for `uring:direct,qd=8`.
fn engine_name(engine: &str) -> &str {
    engine.split(':').next().unwrap_or(engine).trim()
}

/// Completed workloads of `kind` that have a throughput figure: plain writes or reads, not a
/// mixed workload's parts (compared with themselves alone) nor replication rows (a produce
/// rate, not a write path's).
fn measured(r: &ResultsFile, kind: Kind) -> impl Iterator<Item = &WorkloadResult> {
    let row = match kind {
        Kind::Write => RowKind::Write,
        Kind::Read => RowKind::Read,
    };
    r.workloads.iter().filter(move |w| {
        RowKind::of(w) == row
            && w.status == Status::Completed
            && w.summary
                .as_ref()
                .is_some_and(|s| s.throughput_bytes_per_s.n > 0)
    })
}

fn median_throughput(w: &WorkloadResult) -> f64 {
    w.summary
        .as_ref()
        .map_or(f64::NAN, |s| s.throughput_bytes_per_s.median)
}

fn median_cpu(w: &WorkloadResult) -> Option<f64> {
    w.summary
        .as_ref()
        .and_then(|s| s.cpu_s_per_gb)
        .filter(|c| c.n > 0)
        .map(|c| c.median)
}

/// One line per comparison that the results support, from completed workloads only:
///
/// - write: the fastest engine other than `buffered` against `buffered` (the one named exactly
///   `buffered` if there is one, else the first `buffered:…`), by median throughput, e.g.
///   `write: uring:direct,qd=8 1.90× buffered`; when the two measured different media the
///   line says so;
/// - read: each `sendfile` workload against its `readwrite` twin (the workload whose name is
///   the same with `sendfile` replaced by `readwrite`, else the first `readwrite`), with the
///   CPU-per-GB ratio when both have one, e.g.
///   `read: sendfile 1.60× readwrite at 0.550× CPU/GB`.
pub fn verdict(r: &ResultsFile) -> Vec<String> {
    let mut lines = Vec::new();

    let writes: Vec<&WorkloadResult> = measured(r, Kind::Write).collect();
    let buffered = writes
        .iter()
        .find(|w| w.engine.trim() == "buffered")
        .or_else(|| writes.iter().find(|w| engine_name(&w.engine) == "buffered"));
    let best = writes
        .iter()
        .filter(|w| engine_name(&w.engine) != "buffered")
        .max_by(|a, b| median_throughput(a).total_cmp(&median_throughput(b)));
    if let (Some(buf), Some(best)) = (buffered, best) {
        let base = median_throughput(buf);
        if base > 0.0 {
            let mut line = format!(
                "write: {} {} buffered",
                best.engine,
                format::ratio(median_throughput(best) / base)
            );
            if best.medium != buf.medium {
                line.push_str(&format!(
                    " ({} vs {})",
                    format::medium_label(best.medium),
                    format::medium_label(buf.medium)
                ));
            }
            lines.push(line);
        }
    }

    let reads: Vec<&WorkloadResult> = measured(r, Kind::Read).collect();
    let sendfiles: Vec<&&WorkloadResult> = reads
        .iter()
        .filter(|w| engine_name(&w.engine) == "sendfile")
        .collect();
    for sf in &sendfiles {
        let twin_name = sf.name.replace("sendfile", "readwrite");
        let rw = reads
            .iter()
            .find(|w| engine_name(&w.engine) == "readwrite" && w.name == twin_name)
            .or_else(|| reads.iter().find(|w| engine_name(&w.engine) == "readwrite"));
        let Some(rw) = rw else { continue };
        let base = median_throughput(rw);
        if base <= 0.0 {
            continue;
        }
        let mut line = format!(
            "read: sendfile {} readwrite",
            format::ratio(median_throughput(sf) / base)
        );
        if let (Some(a), Some(b)) = (median_cpu(sf), median_cpu(rw)) {
            if b > 0.0 {
                line.push_str(&format!(" at {} CPU/GB", format::ratio(a / b)));
            }
        }
        if sendfiles.len() > 1 {
            line.push_str(&format!(" ({} vs {})", sf.name, rw.name));
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Medium;

    fn table_lines(report: &str) -> Vec<&str> {
        // The table starts at the header row and ends at the first blank line after it.
        report
            .lines()
            .skip_while(|l| !l.starts_with("workload"))
            .take_while(|l| !l.is_empty())
            .collect()
    }

    #[test]
    fn a_replication_row_is_not_a_write_path_in_the_verdict() {
        // Its produce rate ("buffered -> buffered") was taken for the fastest write engine
        // other than buffered: "write: buffered -> buffered 0.2× buffered".
        let lines = verdict(&crate::testing::replication_results());
        assert!(!lines.iter().any(|l| l.starts_with("write:")), "{lines:?}");
    }

    #[test]
    fn a_fleet_run_has_a_short_cluster_block_and_one_host_none() {
        let text = render(&crate::testing::fleet_results());
        let block = text.split("\ncluster: ").nth(1).expect("cluster block");
        assert!(block.starts_with("3 hosts, started by slurm"), "{block}");
        assert!(block.contains("× baseline"), "{block}");
        assert!(
            block.contains("cluster warning: the hosts have different"),
            "{block}"
        );
        assert_eq!(cluster_block(&crate::testing::results()), "");
        assert!(!render(&crate::testing::results()).contains("cluster:"));
    }

    #[test]
    fn table_shows_every_engine_with_its_median_and_aligned_columns() {
        let r = crate::testing::results();
        let out = render(&r);
        let lines = table_lines(&out);
        assert_eq!(lines.len(), 2 + r.workloads.len(), "{out}");
        for w in &r.workloads {
            assert!(
                lines.iter().any(|l| l.starts_with(&w.name)),
                "{} missing:\n{out}",
                w.name
            );
        }
        // Every line of the table is exactly as wide, counted in chars (µ and × are 2 bytes).
        let width = format::width(lines[0]);
        for l in &lines {
            assert_eq!(format::width(l), width, "misaligned line {l:?} in\n{out}");
        }
        assert!(
            lines.iter().any(|l| l.len() != format::width(l)),
            "no multibyte char?"
        );
        // Columns start at the same char offset on every line.
        let col = |l: &str, needle: &str| l.find(needle).map(|b| l[..b].chars().count());
        let hdr = lines[0];
        let mb_end =
            col(hdr, "MB/s median (min–max)").unwrap() + "MB/s median (min–max)".chars().count();
        let uring = lines
            .iter()
            .find(|l| l.starts_with("write/uring:direct"))
            .unwrap();
        assert_eq!(col(uring, "1000 (950–1010)").unwrap() + 15, mb_end, "{out}");
        let buffered = lines
            .iter()
            .find(|l| l.starts_with("write/buffered"))
            .unwrap();
        assert_eq!(
            col(buffered, "500 (480–520)").unwrap() + 13,
            mb_end,
            "{out}"
        );
        assert!(buffered.contains("page cache"));
        // Adaptive latency units.
        assert!(buffered.contains(" µs"), "{buffered}");
        let sendfile = lines
            .iter()
            .find(|l| l.starts_with("read/sendfile"))
            .unwrap();
        assert!(sendfile.contains(" ms"), "{sendfile}");
        assert!(sendfile.contains("800×"), "{sendfile}"); // 1600 MB/s / 2 MB/s per node
    }

    #[test]
    fn skipped_rows_show_their_reason_and_warnings_follow() {
        let out = render(&crate::testing::results());
        let lines = table_lines(&out);
        let skipped = lines
            .iter()
            .find(|l| l.starts_with("write/uring:sqpoll"))
            .unwrap();
        assert!(
            skipped.contains(&format!("skipped: {}", crate::testing::SKIP_REASON)),
            "{out}"
        );
        let warnings = out.split("warnings:\n").nth(1).expect("warnings section");
        assert!(warnings.contains("  - the disk claims rotational=1"));
        assert!(warnings.contains("  - write/buffered: wrote 0.5 GB"));
        assert!(out.starts_with(
            "segbench 0.1.0 (v0.1.0-3-gabc1234) · run 20261124T101500Z-3f9a · host bench-01"
        ));
        assert!(!out.contains("INTERRUPTED"));
    }

    #[test]
    fn verdict_compares_with_buffered_and_readwrite() {
        let r = crate::testing::results();
        let v = verdict(&r);
        assert_eq!(
            v,
            vec![
                "write: uring:direct,qd=8 2.00× buffered (device vs page cache)".to_string(),
                "read: sendfile 1.60× readwrite at 0.550× CPU/GB".to_string(),
            ]
        );
        let out = render(&r);
        assert!(
            out.contains("\nwrite: uring:direct,qd=8 2.00× buffered"),
            "{out}"
        );
    }

    #[test]
    fn verdict_needs_both_sides_and_ignores_unfinished_workloads() {
        let mut r = crate::testing::results();
        r.workloads[1].medium = Medium::PageCache;
        assert_eq!(verdict(&r)[0], "write: uring:direct,qd=8 2.00× buffered");
        // The fastest engine failed: the next one (none here) is not invented.
        r.workloads[1].status = Status::Failed {
            error: "EIO".into(),
        };
        let v = verdict(&r);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].starts_with("read: "));
        // No readwrite: no read line.
        r.workloads.retain(|w| w.engine != "readwrite");
        assert!(verdict(&r).is_empty());
    }

    #[test]
    fn interrupted_runs_say_so() {
        let mut r = crate::testing::results();
        r.interrupted = true;
        r.workloads[4].status = Status::Interrupted;
        let out = render(&r);
        assert!(out.contains("INTERRUPTED"), "{out}");
        assert!(out.contains("interrupted after 3 repetitions"), "{out}");
    }
}
