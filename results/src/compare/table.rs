//! The comparison as text: one row per workload and metric, for a terminal and as
//! GitHub-flavoured Markdown.

use super::{Comparison, Side};
use crate::compare::Verdict;
use crate::format;

impl Comparison {
    fn table(&self) -> Vec<[String; 8]> {
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
                format!("±{}%", plain_percent(m.threshold)),
                m.verdict.label().to_string(),
            ]);
        }
        rows
    }

    /// The report for a terminal: header, one row per workload and metric, the summary line,
    /// notes and warnings.
    pub fn render_terminal(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("base: {}\n", side_line(&self.base)));
        out.push_str(&format!("new:  {}\n\n", side_line(&self.new)));
        let header = TABLE_HEADER.map(str::to_string);
        let rows = self.table();
        let widths = column_widths(&header, &rows);
        let line = |cells: &[String; 8]| {
            let s: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, &w))| pad(c, w, RIGHT_ALIGNED[i]))
                .collect();
            format!("{}\n", s.join("  ").trim_end())
        };
        out.push_str(&line(&header));
        out.push_str(&format!(
            "{}\n",
            widths
                .iter()
                .map(|&w| "─".repeat(w))
                .collect::<Vec<_>>()
                .join("  ")
        ));
        for r in &rows {
            out.push_str(&line(r));
        }
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
            md_escape(&side_line(&self.base)),
            md_escape(&side_line(&self.new))
        ));
        let header = TABLE_HEADER.map(str::to_string);
        let rows: Vec<[String; 8]> = self
            .table()
            .into_iter()
            .map(|r| {
                let mut r = r.map(|c| md_escape(&one_line(&c)));
                let v = &r[VERDICT_COLUMN];
                if v == Verdict::Regressed.label() || v == Verdict::Improved.label() {
                    r[VERDICT_COLUMN] = format!("**{v}**");
                }
                r
            })
            .collect();
        let widths: Vec<usize> = column_widths(&header, &rows)
            .into_iter()
            .map(|w| w.max(3))
            .collect();
        let line = |cells: &[String; 8]| {
            let s: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, &w))| pad(c, w, RIGHT_ALIGNED[i]))
                .collect();
            format!("| {} |\n", s.join(" | "))
        };
        out.push_str(&line(&header));
        let rule: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                if RIGHT_ALIGNED[i] {
                    format!("{}:", "-".repeat(w - 1))
                } else {
                    format!(":{}", "-".repeat(w - 1))
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
        for r in &rows {
            out.push_str(&line(r));
        }
        out.push('\n');
        out.push_str(&md_escape(&self.summary_line()));
        out.push('\n');
        let notes = self.notes();
        if !notes.is_empty() {
            out.push_str("\n**Notes**\n\n");
            for n in notes {
                out.push_str(&format!("- {}\n", md_escape(&one_line(&n))));
            }
        }
        if !self.warnings.is_empty() {
            out.push_str("\n**Warnings**\n\n");
            for w in &self.warnings {
                out.push_str(&format!("- {}\n", md_escape(&one_line(w))));
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

/// A fraction as a percentage without trailing zeros: 0.05 -> `5`, 0.025 -> `2.5`.
pub(super) fn plain_percent(x: f64) -> String {
    format!("{}", (x * 100.0 * 1000.0).round() / 1000.0)
}

fn side_line(s: &Side) -> String {
    format!(
        "{} · run {} · host {} · {}",
        s.version, s.run_id, s.host, s.start_time
    )
}

fn column_widths(header: &[String; 8], rows: &[[String; 8]]) -> Vec<usize> {
    (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| format::width(&r[i]))
                .chain(std::iter::once(format::width(&header[i])))
                .max()
                .unwrap_or(0)
        })
        .collect()
}

fn pad(s: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(format::width(s)));
    if right {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

/// Control characters (newlines in error messages) become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Escapes Markdown markup characters.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '|' | '\\' | '*' | '_' | '`' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
