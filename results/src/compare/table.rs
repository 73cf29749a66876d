//! The comparison as text: one row per workload and metric, for a terminal and as
//! GitHub-flavoured Markdown.

use super::{Comparison, Side};
use crate::compare::Verdict;
use crate::format;
use crate::table::{escape_markdown, one_line, Align, Table, TextLayout};

impl Comparison {
    /// One row per workload and metric.
    fn table(&self) -> Table {
        let pct = |x: f64| {
            let s = format::sig(x * 100.0);
            if x > 0.0 {
                format!("+{s}%")
            } else {
                format!("{s}%")
            }
        };
        let mut rows = Vec::new();
        for (w, m) in self.results() {
            let show = |v: Option<f64>| {
                v.map(|v| m.metric.display(v))
                    .unwrap_or_else(|| format::MISSING.to_string())
            };
            let (change, ci) = match &m.change {
                Some(c) => (
                    pct(c.relative),
                    format!("[{}, {}]", pct(c.ci_low), pct(c.ci_high)),
                ),
                None => (format::MISSING.to_string(), format::MISSING.to_string()),
            };
            rows.push([
                w.name.clone(),
                m.metric.label().to_string(),
                show(m.base_median),
                show(m.new_median),
                change,
                ci,
                format!("±{}%", format::plain_percent(m.threshold)),
                m.verdict.label().to_string(),
            ]);
        }
        Table {
            columns: TABLE_HEADER
                .iter()
                .zip(RIGHT_ALIGNED)
                .map(|(h, right)| {
                    let align = if right { Align::Right } else { Align::Left };
                    (h.to_string(), align)
                })
                .collect(),
            rows: rows.into_iter().map(Vec::from).collect(),
        }
    }

    /// The report for a terminal: header, one row per workload and metric, the summary line,
    /// notes and warnings.
    pub fn render_terminal(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("base: {}\n", side_line(&self.base)));
        out.push_str(&format!("new:  {}\n\n", side_line(&self.new)));
        out.push_str(&self.table().render_text(&TextLayout {
            gap: "  ",
            header: true,
            rule: Some('─'),
            pad_last: false,
        }));
        out.push('\n');
        out.push_str(&self.summary_line());
        out.push('\n');
        let notes = self.notes();
        if !notes.is_empty() {
            out.push_str("\nnotes:\n");
            for n in notes {
                out.push_str(&format!("  - {}\n", one_line(&n)));
            }
        }
        if !self.warnings.is_empty() {
            out.push_str("\nwarnings:\n");
            for w in &self.warnings {
                out.push_str(&format!("  - {}\n", one_line(w)));
            }
        }
        out
    }

    /// The report as GitHub-flavoured Markdown, fit for a pull-request comment.
    pub fn render_markdown(&self) -> String {
        let mut out = String::new();
        let headline = if self.regressed() {
            "regression"
        } else {
            "no regression"
        };
        out.push_str(&format!("### segbench compare: {headline}\n\n"));
        out.push_str(&format!(
            "- base: {}\n- new: {}\n\n",
            escape_markdown(&side_line(&self.base)),
            escape_markdown(&side_line(&self.new))
        ));
        let mut t = self.table().map_cells(|c| escape_markdown(&one_line(c)));
        for r in &mut t.rows {
            let v = &r[VERDICT_COLUMN];
            if v == Verdict::Regressed.label() || v == Verdict::Improved.label() {
                r[VERDICT_COLUMN] = format!("**{v}**");
            }
        }
        out.push_str(&t.render_markdown());
        out.push('\n');
        out.push_str(&escape_markdown(&self.summary_line()));
        out.push('\n');
        let notes = self.notes();
        if !notes.is_empty() {
            out.push_str("\n**Notes**\n\n");
            for n in notes {
                out.push_str(&format!("- {}\n", escape_markdown(&one_line(&n))));
            }
        }
        if !self.warnings.is_empty() {
            out.push_str("\n**Warnings**\n\n");
            for w in &self.warnings {
                out.push_str(&format!("- {}\n", escape_markdown(&one_line(w))));
            }
        }
        out
    }
}

/// Column headers of the comparison table.
const TABLE_HEADER: [&str; 8] = [
    "workload",
    "metric",
    "base",
    "new",
    "change",
    "95% CI",
    "threshold",
    "verdict",
];
/// Which columns are numbers.
const RIGHT_ALIGNED: [bool; 8] = [false, false, true, true, true, true, true, false];
/// Index of the verdict column.
const VERDICT_COLUMN: usize = 7;

fn side_line(s: &Side) -> String {
    format!(
        "{} · run {} · host {} · {}",
        s.version, s.run_id, s.host, s.start_time
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{compare, CompareOptions};
    use crate::testing::{buffered_write as workload, file_of as file, repetitions as reps};

    #[test]
    fn tables_line_up() {
        let c = compare(
            &file(vec![workload(
                "write/buffered",
                reps(&[500.0, 510.0, 490.0]),
            )]),
            &file(vec![workload(
                "write/buffered",
                reps(&[400.0, 410.0, 390.0]),
            )]),
            &CompareOptions::default(),
        )
        .unwrap();
        let md = c.render_markdown();
        let rows: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(rows.len(), 2 + 4, "{md}");
        let w = format::width(rows[0]);
        assert!(rows.iter().all(|r| format::width(r) == w), "{md}");
        assert!(rows.iter().all(|r| r.matches('|').count() == 9), "{md}");
        let t = c.render_terminal();
        assert!(t.contains("-20.0%"), "{t}");
        assert!(t.contains("write/buffered  throughput"), "{t}");
    }
}
