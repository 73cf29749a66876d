//! A heat map: a grid of labelled cells coloured by value (light = low, dark = high, on a
//! scale from 0 to the largest value, so equal colours mean equal figures), rows and columns
//! named, a colour bar with the unit under it. Missing cells are grey and say so. Used for the
//! network matrix of a fleet run (sender × receiver).

use super::chart::{
    draw_title, title_bottom, AXIS_COLOR, LABEL_SIZE, MARGIN, MUTED, TICK_SIZE, WIDTH,
};
use super::svg::{text_width, truncate, Anchor, Stroke, Svg, TextStyle};

/// Height of a row of cells.
const CELL_HEIGHT: f64 = 40.0;
/// Widest cell.
const MAX_CELL_WIDTH: f64 = 150.0;
/// Longest row or column label drawn in full.
const MAX_LABEL_CHARS: usize = 28;
/// Colour of the lowest value (0) and of the highest, as RGB.
const LOW_RGB: (f64, f64, f64) = (238.0, 243.0, 249.0);
const HIGH_RGB: (f64, f64, f64) = (33.0, 76.0, 122.0);
/// Fill of a cell without a value.
const MISSING_FILL: &str = "#f3f3f3";
/// Steps of the colour bar.
const BAR_STEPS: usize = 10;

/// One cell with a value.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatCell {
    /// The value the colour stands for.
    pub value: f64,
    /// Text inside the cell (the value, formatted).
    pub label: String,
    /// Hover text.
    pub tooltip: String,
}

/// A grid of cells: `cells[row][column]`, `None` where nothing was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    /// Title above the chart.
    pub title: String,
    /// Smaller line under the title, if any.
    pub subtitle: Option<String>,
    /// What the rows are, e.g. `sender`.
    pub row_title: String,
    /// What the columns are, e.g. `receiver`.
    pub column_title: String,
    /// Row labels, top to bottom.
    pub rows: Vec<String>,
    /// Column labels, left to right.
    pub columns: Vec<String>,
    /// The cells, one row per label in `rows`, one cell per label in `columns`.
    pub cells: Vec<Vec<Option<HeatCell>>>,
    /// What a missing cell means, e.g. `not measured`.
    pub missing: String,
    /// Title of the colour bar, with the unit, e.g. `MB/s (MB = 10^6 bytes)`.
    pub unit: String,
    /// Label of the colour bar's top value (the largest value, formatted).
    pub max_label: String,
}

/// The fill for `fraction` (0–1) of the scale.
fn fill(fraction: f64) -> String {
    let f = fraction.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(LOW_RGB.0, HIGH_RGB.0),
        mix(LOW_RGB.1, HIGH_RGB.1),
        mix(LOW_RGB.2, HIGH_RGB.2)
    )
}

impl HeatMap {
    /// The largest value of any cell (0 when there is none).
    fn max_value(&self) -> f64 {
        self.cells
            .iter()
            .flatten()
            .flatten()
            .map(|c| c.value)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
    }

    /// The heat map as one `<svg>` element.
    pub fn render(&self) -> String {
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|l| truncate(l, MAX_LABEL_CHARS))
            .collect();
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|l| truncate(l, MAX_LABEL_CHARS))
            .collect();
        let label_w = rows
            .iter()
            .map(|l| text_width(l, TICK_SIZE))
            .chain([text_width(&self.row_title, LABEL_SIZE)])
            .fold(0.0, f64::max)
            + 12.0;
        let widest_column = columns
            .iter()
            .map(|l| text_width(l, TICK_SIZE) + 12.0)
            .fold(0.0, f64::max);
        let n = columns.len().max(1) as f64;
        let cell_w = ((WIDTH - 2.0 * MARGIN - label_w) / n)
            .min(MAX_CELL_WIDTH.max(widest_column))
            .max(40.0);
        let grid_w = cell_w * n;
        // The labels and the grid, centred together under the title.
        let left = ((WIDTH - label_w - grid_w) / 2.0).max(MARGIN) + label_w;
        let top = title_bottom(self.subtitle.as_deref());
        let header_y = top + LABEL_SIZE;
        let columns_y = header_y + 8.0 + TICK_SIZE;
        let grid_top = columns_y + 8.0;
        let grid_bottom = grid_top + CELL_HEIGHT * self.rows.len() as f64;
        let bar_top = grid_bottom + 24.0;
        let height = bar_top + 12.0 + 8.0 + TICK_SIZE + MARGIN;
        let mut svg = Svg::new(WIDTH, height);
        draw_title(&mut svg, &self.title, self.subtitle.as_deref());

        let axis_style = TextStyle::new(LABEL_SIZE, Anchor::Middle).bold();
        svg.text(
            left + grid_w / 2.0,
            header_y,
            &format!("{} →", self.column_title),
            &axis_style,
        );
        svg.text(
            left - 8.0,
            columns_y,
            &format!("{} ↓", self.row_title),
            &TextStyle::new(LABEL_SIZE, Anchor::End).bold(),
        );
        let tick = TextStyle::new(TICK_SIZE, Anchor::Middle).color(AXIS_COLOR);
        for (j, (l, full)) in columns.iter().zip(&self.columns).enumerate() {
            let x = left + cell_w * (j as f64 + 0.5);
            svg.text_with_tooltip(x, columns_y, l, &tick, full);
        }
        let max = self.max_value();
        let outline = Stroke::solid("#ffffff", 2.0);
        for (i, (l, full)) in rows.iter().zip(&self.rows).enumerate() {
            let y = grid_top + CELL_HEIGHT * i as f64;
            svg.text_with_tooltip(
                left - 8.0,
                y + CELL_HEIGHT / 2.0 + TICK_SIZE / 3.0,
                l,
                &TextStyle::new(TICK_SIZE, Anchor::End).color(AXIS_COLOR),
                full,
            );
            for j in 0..self.columns.len() {
                let x = left + cell_w * j as f64;
                let cell = self
                    .cells
                    .get(i)
                    .and_then(|r| r.get(j))
                    .and_then(|c| c.as_ref());
                self.draw_cell(&mut svg, cell, x, y, cell_w, max);
                svg.frame(x, y, cell_w, CELL_HEIGHT, &outline);
            }
        }

        self.draw_color_bar(&mut svg, left, bar_top, grid_w);
        svg.finish(&self.title)
    }

    /// One cell at `(x, y)`: filled by its value's share of `max` with its label, or grey with
    /// a dash when missing.
    fn draw_cell(
        &self,
        svg: &mut Svg,
        cell: Option<&HeatCell>,
        x: f64,
        y: f64,
        cell_w: f64,
        max: f64,
    ) {
        let cx = x + cell_w / 2.0;
        let cy = y + CELL_HEIGHT / 2.0 + TICK_SIZE / 3.0;
        match cell {
            Some(c) => {
                let f = if max > 0.0 { c.value / max } else { 0.0 };
                svg.open_group(Some(&c.tooltip));
                svg.rect(x, y, cell_w, CELL_HEIGHT, &fill(f), None);
                let color = if f > 0.5 { "#ffffff" } else { "#222222" };
                svg.text(
                    cx,
                    cy,
                    &c.label,
                    &TextStyle::new(TICK_SIZE, Anchor::Middle)
                        .color(color)
                        .bold(),
                );
                svg.close_group();
            }
            None => {
                svg.open_group(Some(&self.missing));
                svg.rect(x, y, cell_w, CELL_HEIGHT, MISSING_FILL, None);
                svg.text(
                    cx,
                    cy,
                    "–",
                    &TextStyle::new(TICK_SIZE, Anchor::Middle).color(MUTED),
                );
                svg.close_group();
            }
        }
    }

    /// The colour bar under the grid, from `left` at `bar_top`: 0 … max, with the unit to its right and
    /// what grey means.
    fn draw_color_bar(&self, svg: &mut Svg, left: f64, bar_top: f64, grid_w: f64) {
        let bar_w = grid_w.clamp(200.0, 320.0);
        let step = bar_w / BAR_STEPS as f64;
        let bar_left = left;
        for k in 0..BAR_STEPS {
            let f = (k as f64 + 0.5) / BAR_STEPS as f64;
            svg.rect(
                bar_left + step * k as f64,
                bar_top,
                step + 0.5,
                12.0,
                &fill(f),
                None,
            );
        }
        let labels_y = bar_top + 12.0 + 6.0 + TICK_SIZE;
        svg.text(
            bar_left,
            labels_y,
            "0",
            &TextStyle::new(TICK_SIZE, Anchor::Start).color(AXIS_COLOR),
        );
        svg.text(
            bar_left + bar_w,
            labels_y,
            &self.max_label,
            &TextStyle::new(TICK_SIZE, Anchor::End).color(AXIS_COLOR),
        );
        svg.text(
            bar_left + bar_w + 12.0,
            bar_top + 11.0,
            &format!("{}; grey: {}", self.unit, self.missing),
            &TextStyle::new(TICK_SIZE, Anchor::Start).color(MUTED),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_well_formed;

    fn map() -> HeatMap {
        let cell = |v: f64| {
            Some(HeatCell {
                value: v,
                label: format!("{v}"),
                tooltip: format!("<{v}>"),
            })
        };
        HeatMap {
            title: "Network".into(),
            subtitle: None,
            row_title: "sender".into(),
            column_title: "receiver".into(),
            rows: vec!["a".into(), "b & c".into()],
            columns: vec!["a".into(), "b & c".into()],
            cells: vec![vec![None, cell(10.0)], vec![cell(5.0), None]],
            missing: "not measured".into(),
            unit: "MB/s (MB = 10^6 bytes)".into(),
            max_label: "10".into(),
        }
    }

    #[test]
    fn cells_are_coloured_by_value_and_missing_cells_say_so() {
        let svg = map().render();
        check_well_formed(&svg).unwrap();
        assert!(svg.contains("<title>&lt;10&gt;</title>"), "{svg}");
        assert!(
            svg.contains(&format!("fill=\"{}\"", fill(1.0))),
            "largest is darkest"
        );
        assert!(svg.contains(&format!("fill=\"{}\"", fill(0.5))), "half");
        assert_eq!(svg.matches("<title>not measured</title>").count(), 2);
        assert!(svg.contains(">b &amp; c</text>"));
        assert!(svg.contains("MB/s (MB = 10^6 bytes); grey: not measured"));
        assert_eq!(fill(0.0), "#eef3f9");
        assert_eq!(fill(1.0), "#214c7a");
    }
}
