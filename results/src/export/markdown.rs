//! A GitHub-flavoured Markdown summary, fit for a pull-request comment: a header (tool
//! version, host, run id, date), the comparison table (columns padded so the raw Markdown lines
//! up too), the footnote, for fleet runs the cluster part, the verdict and the warnings.

use super::cluster;
use super::comparison;
use super::terminal;
use super::{ExportError, Exporter};
use crate::schema::ResultsFile;
use crate::table::{escape_markdown, Table};

/// The Markdown summary ([`render`]) as UTF-8 bytes, ending with [`super::MARKDOWN_MARK`] (the
/// line that tells segbench's summary file from a user's).
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn export(&self, r: &ResultsFile) -> Result<Vec<u8>, ExportError> {
        let mut text = render(r);
        text.push('\n');
        text.push_str(super::MARKDOWN_MARK);
        text.push('\n');
        Ok(text.into_bytes())
    }
}

/// Inline code, with a fence longer than any backtick run inside.
fn code(s: &str) -> String {
    let mut run = 0;
    let mut longest = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// The Markdown summary of `r`.
pub fn render(r: &ResultsFile) -> String {
    let mut out = String::new();
    out.push_str("### segbench results\n\n");
    let git = r
        .tool
        .git
        .as_deref()
        .map(|g| format!(" ({})", code(g)))
        .unwrap_or_default();
    out.push_str(&format!(
        "{} {}{git} · host {} · run {} · {}\n",
        escape_markdown(&r.tool.name),
        escape_markdown(&r.tool.version),
        code(&r.run.host),
        code(&r.run.id),
        escape_markdown(&r.run.start_time)
    ));
    if r.interrupted {
        out.push_str("\n> **Interrupted:** the run was stopped; these results are partial.\n");
    }
    out.push('\n');
    out.push_str(&table(r));
    out.push('\n');
    out.push_str(&escape_markdown(&comparison::footnote(r)));
    out.push('\n');
    let verdict = terminal::verdict(r);
    if !verdict.is_empty() {
        out.push_str("\n**Verdict**\n\n");
        for line in verdict {
            out.push_str(&format!("- {}\n", escape_markdown(&line)));
        }
    }
    let interference = super::interference::lines(r);
    if !interference.is_empty() {
        out.push_str("\n**Interference** (alone → with the others)\n\n");
        for line in interference {
            out.push_str(&format!("- {}\n", escape_markdown(&line)));
        }
    }
    out.push_str(&cluster(r));
    out.push_str(&replication(r));
    out.push_str(&scaling(r));
    let capacity = crate::capacity::report_summary(r);
    if !capacity.is_empty() {
        out.push_str("\n**Capacity**\n\n");
        for line in capacity {
            out.push_str(&format!("- {}\n", escape_markdown(&line)));
        }
    }
    let warnings = terminal::warnings(r);
    if !warnings.is_empty() {
        out.push_str("\n**Warnings**\n\n");
        for w in warnings {
            out.push_str(&format!("- {}\n", escape_markdown(&w)));
        }
    }
    out
}

/// For results with replication rows: per acks mode figures, the acks=all / acks=1 ratio
/// beside Kreps's, CPU per role and the ISR events; empty otherwise.
pub fn replication(r: &ResultsFile) -> String {
    use super::replication::{acks_table, cpu_table, events_table, NOTES};
    let rows = crate::replication::rows(r);
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n**Replication**\n\n");
    out.push_str(&md_table(acks_table(&rows)));
    out.push('\n');
    for line in crate::replication::ratio_lines(&rows) {
        out.push_str(&format!("- {}\n", escape_markdown(&line)));
    }
    out.push('\n');
    out.push_str(&md_table(cpu_table(&rows)));
    if let Some((t, more)) = events_table(&rows) {
        out.push_str("\nISR events\n\n");
        out.push_str(&md_table(t));
        if more > 0 {
            out.push_str(&format!("\nand {more} more.\n"));
        }
    }
    out.push_str(&format!("\n{}\n", escape_markdown(NOTES)));
    out
}

/// For results with sweeps: the USL fit of each ([`crate::fit`]) as a table; empty otherwise.
pub fn scaling(r: &ResultsFile) -> String {
    let rows = crate::fit::fit_rows(r);
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n**Scaling (Universal Scalability Law fits)**\n\n");
    out.push_str(&md_table(crate::fit::fits_table(&rows)));
    out.push_str(&format!("\n{}\n", escape_markdown(crate::fit::TABLE_NOTE)));
    out
}

/// A Markdown table of already formatted cells, escaped.
fn md_table(t: Table) -> String {
    t.map_cells(escape_markdown).render_markdown()
}

/// For results of a fleet run, the cluster part: hosts (clock offsets with their
/// uncertainty, probe fingerprints), the cluster warnings, each phase's figures, the measured
/// aggregate against the baseline and linear scaling, and the network matrix of each engine;
/// empty otherwise.
pub fn cluster(r: &ResultsFile) -> String {
    let Some(f) = cluster::fleet(r) else {
        return String::new();
    };
    let mut out = format!(
        "\n**Cluster**: {}.\n\n",
        escape_markdown(&cluster::summary_line(f))
    );
    out.push_str(&md_table(cluster::hosts_table(f)));
    let warnings = cluster::warnings(f);
    if !warnings.is_empty() {
        out.push('\n');
        for w in warnings {
            out.push_str(&format!("- **Warning:** {}\n", escape_markdown(&w)));
        }
    }
    let phases = cluster::phases_table(r, f);
    if !phases.rows.is_empty() {
        out.push('\n');
        out.push_str(&md_table(phases));
    }
    let baseline = cluster::baseline_table(r, f);
    if !baseline.rows.is_empty() {
        out.push_str("\n*Aggregate against the baseline and linear scaling*\n\n");
        out.push_str(&md_table(baseline));
        out.push('\n');
        out.push_str(&escape_markdown(&cluster::baseline_note(r)));
        out.push('\n');
    }
    for e in cluster::network_engines(f) {
        out.push_str(&format!(
            "\n*Network, {}: sender × receiver (MB = 10^6 bytes)*\n\n",
            escape_markdown(&e)
        ));
        out.push_str(&md_table(cluster::network_matrix_table(f, &e)));
    }
    if let Some(t) = cluster::replication_table(r, f) {
        out.push_str(&format!(
            "\n*Replication: rank {} leads at {}*\n\n",
            f.replication.as_ref().map_or(0, |x| x.leader_rank),
            escape_markdown(
                f.replication
                    .as_ref()
                    .map_or("", |x| x.leader_addr.as_str())
            )
        ));
        out.push_str(&md_table(t));
    }
    out
}

/// The comparison table as a GitHub-flavoured Markdown table: every line has the same number
/// of `|` and the same width in chars; numbers are right-aligned (`---:`).
pub fn table(r: &ResultsFile) -> String {
    comparison::comparison(r)
        .map_cells(escape_markdown)
        .render_markdown()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format;

    fn table_lines(md: &str) -> Vec<&str> {
        md.lines().filter(|l| l.starts_with('|')).collect()
    }

    #[test]
    fn the_summary_file_ends_with_segbench_s_mark() {
        let bytes = MarkdownExporter.export(&crate::testing::results()).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.ends_with(&format!("\n{}\n", super::super::MARKDOWN_MARK)),
            "{text}"
        );
    }

    #[test]
    fn table_rows_have_equal_pipes_and_widths() {
        let r = crate::testing::results();
        let md = render(&r);
        let lines = table_lines(&md);
        assert_eq!(lines.len(), 2 + r.workloads.len(), "{md}");
        let pipes = |l: &str| l.chars().filter(|&c| c == '|').count();
        let columns = 11; // workload, 9 figures, note
        for l in &lines {
            assert_eq!(pipes(l), columns + 1, "{l}");
            assert_eq!(
                format::width(l),
                format::width(lines[0]),
                "misaligned {l:?} in\n{md}"
            );
            assert!(l.ends_with(" |"), "{l}");
        }
        // Each `|` sits at the same char offset on every line.
        let offsets = |l: &str| -> Vec<usize> {
            l.chars()
                .enumerate()
                .filter(|&(_, c)| c == '|')
                .map(|(i, _)| i)
                .collect()
        };
        for l in &lines {
            assert_eq!(offsets(l), offsets(lines[0]), "{md}");
        }
        // Delimiter row: text left, numbers right.
        assert!(lines[1].starts_with("| :---"), "{}", lines[1]);
        assert!(lines[1].contains("-: |"), "{}", lines[1]);
        assert!(md.contains("| write/uring:direct,qd=8 |"), "{md}");
        assert!(md.contains("1000 (950–1010) |"), "{md}");
        let reason = escape_markdown(&format!("skipped: {}", crate::testing::SKIP_REASON));
        assert!(md.contains(&reason), "{md}");
    }

    #[test]
    fn header_verdict_and_warnings() {
        let md = render(&crate::testing::results());
        assert!(md.starts_with("### segbench results\n\nsegbench 0.1.0 (`v0.1.0-3-gabc1234`)"));
        assert!(md.contains("host `bench-01`"), "{md}");
        assert!(md.contains("run `20261124T101500Z-3f9a`"), "{md}");
        assert!(md.contains("2026-11-24T10:15:00Z"), "{md}");
        let verdict = md.split("**Verdict**\n\n").nth(1).expect("verdict");
        assert!(
            verdict.starts_with("- write: uring:direct,qd=8 2.00× buffered"),
            "{md}"
        );
        assert!(verdict.contains("- read: sendfile 1.60× readwrite at 0.550× CPU/GB"));
        let warnings = md.split("**Warnings**\n\n").nth(1).expect("warnings");
        assert!(warnings.contains("- write/buffered: wrote 0.5 GB"), "{md}");
    }

    #[test]
    fn sweeps_get_their_usl_fits_and_other_results_none() {
        let r = crate::testing::with_sweeps();
        let rows = crate::fit::fit_rows(&r);
        assert!(!rows.is_empty(), "the sample has sweeps");
        let md = render(&r);
        let at = md
            .find("**Scaling (Universal Scalability Law fits)**")
            .unwrap();
        let part = &md[at..];
        assert_eq!(
            table_lines(part).len(),
            rows.len() + 2,
            "a header, a rule and a row per sweep"
        );
        assert!(part.contains("σ") && part.contains("contention"), "{part}");
        let mut plain = r.clone();
        plain
            .workloads
            .retain(|w| crate::fit::sweeps::sweep_of(w).is_none());
        assert!(!render(&plain).contains("**Scaling"));
    }

    #[test]
    fn a_fleet_run_has_the_cluster_part_and_one_host_none() {
        let md = render(&crate::testing::fleet_results());
        let part = md.split("**Cluster**").nth(1).expect("cluster part");
        assert!(part.starts_with(": 3 hosts, started by slurm"), "{part}");
        assert!(part.contains(" +0.152 ms ± 0.041 ms |"), "{part}");
        // One list item per warning (consecutive quoted lines would run into one paragraph).
        assert!(part.contains("\n\n- **Warning:** the hosts have different (or unknown) hardware"));
        let late = render(&crate::testing::fleet_results_late(0.4));
        assert!(late.contains("- **Warning:** phase local, write/buffered: the hosts' repetitions"));
        // write/buffered on 3 hosts against the baseline at 3 nodes and 3 × one host.
        assert!(
            part.contains("| page cache |     3 |             1375 |                    6.00 |       229× |                          1500 |     91.6% |"),
            "{part}"
        );
        assert!(
            part.contains(
                "| rank 0 node-a                 |             – |     1100 MB/s |             – |"
            ),
            "{part}"
        );
        // Every table line of the part is as wide as its neighbours.
        for block in part.split("\n\n") {
            let lines = table_lines(block);
            for l in &lines {
                assert_eq!(format::width(l), format::width(lines[0]), "{block}");
            }
        }
        let single = render(&crate::testing::results());
        assert!(!single.contains("**Cluster**"));
        assert!(cluster(&crate::testing::results()).is_empty());
    }

    #[test]
    fn cells_cannot_break_the_table() {
        let mut r = crate::testing::results();
        r.workloads[2].status = crate::schema::Status::Skipped {
            reason: "needs a | b\nand *c*".into(),
        };
        let md = render(&r);
        let row = table_lines(&md)
            .into_iter()
            .find(|l| l.starts_with("| write/uring:sqpoll"))
            .unwrap();
        assert!(row.contains(r"needs a \| b and \*c\*"), "{row}");
        let unescaped = row.replace(r"\|", "");
        assert_eq!(unescaped.matches('|').count(), 12, "{row}");
        assert_eq!(code("a`b"), "``a`b``");
    }
}
