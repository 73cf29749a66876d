//! The one text-table renderer: cells already formatted, widths counted in chars (so `µ`, `×`
//! and `–` line up), laid out as aligned text ([`Table::render_text`]) or as a GitHub-flavoured
//! Markdown table ([`Table::render_markdown`]), and the one Markdown escape
//! ([`escape_markdown`]). Part of the bottom layer (it knows only [`crate::format`]): used by
//! the analyses' tables (`compare`, `fit`, `capacity`), the terminal, Markdown and HTML
//! exporters and the binary's probe summary.

use crate::format;

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A table of formatted cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column headers and alignment.
    pub columns: Vec<(String, Align)>,
    /// The rows, as many cells as columns, each on one line.
    pub rows: Vec<Vec<String>>,
}

/// How [`Table::render_text`] lays a table out.
#[derive(Debug, Clone, Copy)]
pub struct TextLayout<'a> {
    /// Between two columns.
    pub gap: &'a str,
    /// Print the header row.
    pub header: bool,
    /// Draw a rule of this char under the header, as wide as each column.
    pub rule: Option<char>,
    /// Pad the last column too, so every line is exactly as wide as the others; else a line
    /// ends with its last cell.
    pub pad_last: bool,
}

impl Table {
    /// Width of each column in chars: the widest of its cells and, when `header`, its header.
    fn widths(&self, header: bool) -> Vec<usize> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, (h, _))| {
                self.rows
                    .iter()
                    .map(|r| format::width(&r[i]))
                    .chain(header.then(|| format::width(h)))
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// The same table with `f` applied to every header and cell (e.g. an escape).
    pub fn map_cells(mut self, f: impl Fn(&str) -> String) -> Table {
        for (h, _) in &mut self.columns {
            *h = f(h);
        }
        for row in &mut self.rows {
            for c in row.iter_mut() {
                *c = f(c);
            }
        }
        self
    }

    /// The table as aligned text, one line per row (and the header and rule, as `layout`
    /// says), each ending with a newline.
    pub fn render_text(&self, layout: &TextLayout) -> String {
        let widths = self.widths(layout.header);
        let last = self.columns.len().saturating_sub(1);
        let line = |cells: &mut dyn Iterator<Item = (usize, &str, Align)>| -> String {
            let mut s = cells
                .map(|(i, c, a)| {
                    if i == last && !layout.pad_last && a == Align::Left {
                        c.to_string()
                    } else {
                        pad(c, widths[i], a)
                    }
                })
                .collect::<Vec<_>>()
                .join(layout.gap);
            s.push('\n');
            s
        };
        let mut out = String::new();
        if layout.header {
            out.push_str(&line(
                &mut self
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, (h, a))| (i, h.as_str(), *a)),
            ));
        }
        if let Some(rule) = layout.rule {
            let rules: Vec<String> = widths.iter().map(|&w| rule.to_string().repeat(w)).collect();
            out.push_str(&line(
                &mut rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (i, r.as_str(), Align::Left)),
            ));
        }
        for row in &self.rows {
            out.push_str(&line(
                &mut row
                    .iter()
                    .zip(&self.columns)
                    .enumerate()
                    .map(|(i, (c, (_, a)))| (i, c.as_str(), *a)),
            ));
        }
        out
    }

    /// The table as a GitHub-flavoured Markdown table: every line has the same number of `|`
    /// and the same width in chars; numbers are right-aligned (`---:`). Cells are written as
    /// they are: escape them first ([`Table::map_cells`]).
    pub fn render_markdown(&self) -> String {
        // A delimiter cell needs at least three chars (`---`, `:--`, `--:`).
        let widths: Vec<usize> = self.widths(true).into_iter().map(|w| w.max(3)).collect();
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        let mut out = line(
            self.columns
                .iter()
                .zip(&widths)
                .map(|((h, a), &w)| pad(h, w, *a))
                .collect(),
        );
        out.push_str(&line(
            self.columns
                .iter()
                .zip(&widths)
                .map(|((_, a), &w)| match a {
                    Align::Left => format!(":{}", "-".repeat(w - 1)),
                    Align::Right => format!("{}:", "-".repeat(w - 1)),
                })
                .collect(),
        ));
        for row in &self.rows {
            out.push_str(&line(
                row.iter()
                    .zip(&self.columns)
                    .zip(&widths)
                    .map(|((c, (_, a)), &w)| pad(c, w, *a))
                    .collect(),
            ));
        }
        out
    }
}

/// `s` padded with spaces to `width` chars.
pub fn pad(s: &str, width: usize, align: Align) -> String {
    let fill = " ".repeat(width.saturating_sub(format::width(s)));
    match align {
        Align::Left => format!("{s}{fill}"),
        Align::Right => format!("{fill}{s}"),
    }
}

/// One line of text: control characters (newlines in error messages) become spaces.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Escapes what Markdown would otherwise read as markup inside a table cell or a line of text:
/// the one Markdown escape of the crate.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '|' | '\\' | '*' | '_' | '`' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
