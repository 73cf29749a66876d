//! Two chart kinds, enough for the report: [`LineChart`] (series of points, optional min–max
//! whiskers and markers) and [`BarChart`] (one bar per category with min–max whiskers and an
//! optional horizontal reference line). Both have a title, axes with units and tick labels, grid
//! lines and a legend, and render to one self-contained `<svg>` element.

use super::scale::{Domain, Tick};
use super::svg::{text_width, truncate, Anchor, Stroke, Svg, TextStyle};

/// Colour-blind-friendly categorical palette (Tableau 10).
pub const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// Dash patterns cycled once the palette is used up, so series 11+ still differ.
const DASHES: [Option<&str>; 4] = [None, Some("7 4"), Some("2 3"), Some("9 3 2 3")];

/// The stroke of the `i`-th series: palette colour, then dash pattern.
pub fn series_stroke(i: usize, width: f64) -> Stroke {
    let color = PALETTE[i % PALETTE.len()];
    match DASHES[(i / PALETTE.len()) % DASHES.len()] {
        None => Stroke::solid(color, width),
        Some(d) => Stroke::dashed(color, width, d),
    }
}

/// Natural width of every chart, user units (CSS pixels at 100% zoom).
pub const WIDTH: f64 = 1080.0;
/// Height of the plotting area of a line chart.
const LINE_PLOT_HEIGHT: f64 = 320.0;
/// Height of the plotting area of a bar chart.
const BAR_PLOT_HEIGHT: f64 = 280.0;
pub(super) const TITLE_SIZE: f64 = 16.0;
pub(super) const LABEL_SIZE: f64 = 13.0;
pub(super) const TICK_SIZE: f64 = 12.0;
const LEGEND_SIZE: f64 = 12.5;
pub(super) const MARGIN: f64 = 16.0;
pub(super) const AXIS_COLOR: &str = "#444444";
const GRID_COLOR: &str = "#e3e3e3";
pub(super) const MUTED: &str = "#555555";
/// Longest category label drawn in full (the rest is in its tooltip).
const MAX_LABEL_CHARS: usize = 38;
/// Angle of category labels that do not fit horizontally.
const LABEL_ANGLE_DEG: f64 = 35.0;

/// An axis: its title (with the unit), domain and ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Axis title, unit included, e.g. `throughput (MB/s, MB = 10^6 bytes)`.
    pub label: String,
    /// Values shown and their mapping.
    pub domain: Domain,
    /// Tick positions (data units) and labels.
    pub ticks: Vec<Tick>,
}

impl Axis {
    /// An axis titled `label` over `domain` with `ticks` (as the `plot::scale` tick
    /// functions return them).
    pub fn new(label: impl Into<String>, domain: Domain, ticks: Vec<Tick>) -> Self {
        Axis {
            label: label.into(),
            domain,
            ticks,
        }
    }
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum LegendMark {
    /// A filled square of this colour.
    Swatch(String),
    /// A short line in this stroke.
    Line(Stroke),
    /// A min–max whisker.
    Whisker,
}

/// One legend entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendItem {
    /// Its text.
    pub label: String,
    /// Its mark.
    pub mark: LegendMark,
}

/// A point of a series, with an optional min–max range drawn as a whisker.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Point {
    /// x, data units.
    pub x: f64,
    /// y, data units.
    pub y: f64,
    /// Lower end of the whisker.
    pub low: Option<f64>,
    /// Upper end of the whisker.
    pub high: Option<f64>,
    /// Hover text of the point's marker.
    pub tooltip: Option<String>,
}

impl Point {
    /// A point at `(x, y)`, without whisker or tooltip.
    pub fn at(x: f64, y: f64) -> Self {
        Point {
            x,
            y,
            ..Default::default()
        }
    }
}

/// A line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text (also its hover text); empty: no legend entry.
    pub label: String,
    /// How the line is drawn.
    pub stroke: Stroke,
    /// Points, in drawing order.
    pub points: Vec<Point>,
    /// Draw a marker at every point.
    pub markers: bool,
}

/// A chart of lines over a shared x and y axis.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Title above the chart.
    pub title: String,
    /// Smaller line under the title (e.g. what the data is), if any.
    pub subtitle: Option<String>,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// The lines.
    pub series: Vec<Series>,
}

/// A bar of a [`BarChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Category label under the bar.
    pub label: String,
    /// Height of the bar, data units.
    pub value: f64,
    /// Lower end of the whisker.
    pub low: Option<f64>,
    /// Upper end of the whisker.
    pub high: Option<f64>,
    /// Fill colour.
    pub color: String,
    /// Short text above the bar (e.g. the value), drawn when it fits.
    pub annotation: Option<String>,
    /// Hover text of the bar.
    pub tooltip: String,
    /// Leave an extra half slot before this bar (separates groups, e.g. write from read).
    pub gap_before: bool,
}

/// A horizontal line across a bar chart at a value, with a label.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceLine {
    /// Where, data units.
    pub value: f64,
    /// Its label, drawn in the right margin at the line's height; several lines when it holds
    /// `\n`, else broken at spaces into short lines.
    pub label: String,
    /// How it is drawn.
    pub stroke: Stroke,
}

/// Bars over categories with min–max whiskers.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Title above the chart.
    pub title: String,
    /// Smaller line under the title, if any.
    pub subtitle: Option<String>,
    /// Title of the horizontal axis, which holds the categories (e.g. `workload`).
    pub x_label: String,
    /// Vertical axis.
    pub y: Axis,
    /// The bars, left to right.
    pub bars: Vec<Bar>,
    /// An optional horizontal reference line (e.g. the baseline).
    pub reference: Option<ReferenceLine>,
    /// Legend entries (colours of the bars, whiskers, the reference line).
    pub legend: Vec<LegendItem>,
}

/// The plotting area inside a chart.
#[derive(Debug, Clone, Copy)]
struct Area {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

impl Area {
    fn bottom(&self) -> f64 {
        self.top + self.height
    }
    fn right(&self) -> f64 {
        self.left + self.width
    }
    fn x(&self, d: &Domain, v: f64) -> f64 {
        self.left + d.fraction(v).clamp(-0.02, 1.02) * self.width
    }
    fn y(&self, d: &Domain, v: f64) -> f64 {
        self.bottom() - d.fraction(v).clamp(-0.02, 1.02) * self.height
    }
}

/// The y under the title (and subtitle, when there is one).
pub(super) fn title_bottom(subtitle: Option<&str>) -> f64 {
    MARGIN + TITLE_SIZE + 20.0 + if subtitle.is_some() { 18.0 } else { 0.0 }
}

/// Title and subtitle, centred; they end at [`title_bottom`].
pub(super) fn draw_title(svg: &mut Svg, title: &str, subtitle: Option<&str>) {
    svg.text(
        WIDTH / 2.0,
        MARGIN + TITLE_SIZE,
        title,
        &TextStyle::new(TITLE_SIZE, Anchor::Middle).bold(),
    );
    if let Some(s) = subtitle {
        svg.text(
            WIDTH / 2.0,
            MARGIN + TITLE_SIZE + 20.0,
            s,
            &TextStyle::new(12.0, Anchor::Middle).color(MUTED),
        );
    }
}

/// Width taken left of the plot by the y axis: title, gap, tick labels, tick marks.
fn y_axis_width(y: &Axis) -> f64 {
    let widest = y
        .ticks
        .iter()
        .map(|t| text_width(&t.1, TICK_SIZE))
        .fold(0.0, f64::max);
    MARGIN + LABEL_SIZE + 12.0 + widest + 10.0
}

/// Y grid lines, ticks, labels, axis line and rotated title.
fn draw_y_axis(svg: &mut Svg, area: &Area, y: &Axis) {
    let grid = Stroke::solid(GRID_COLOR, 1.0);
    let axis = Stroke::solid(AXIS_COLOR, 1.0);
    for (v, label) in &y.ticks {
        let py = area.y(&y.domain, *v);
        if py < area.top - 0.5 || py > area.bottom() + 0.5 {
            continue;
        }
        svg.line(area.left, py, area.right(), py, &grid);
        svg.line(area.left - 5.0, py, area.left, py, &axis);
        svg.text(
            area.left - 8.0,
            py + TICK_SIZE * 0.35,
            label,
            &TextStyle::new(TICK_SIZE, Anchor::End).color(AXIS_COLOR),
        );
    }
    svg.line(area.left, area.top, area.left, area.bottom(), &axis);
    let cx = MARGIN + LABEL_SIZE * 0.8;
    let cy = area.top + area.height / 2.0;
    svg.text(
        cx,
        cy,
        &y.label,
        &TextStyle::new(LABEL_SIZE, Anchor::Middle).rotate(-90.0),
    );
}

/// Longest legend text drawn in full (the rest is in its tooltip).
const MAX_LEGEND_CHARS: usize = 100;
/// Space between legend columns.
const LEGEND_GAP: f64 = 22.0;

/// Width of a legend entry: mark, gap, text.
fn legend_item_width(it: &LegendItem) -> f64 {
    26.0 + text_width(&truncate(&it.label, MAX_LEGEND_CHARS), LEGEND_SIZE)
}

/// Legend rows with the x offset of each entry: one row at the entries' own widths when they
/// fit, else a grid of equal columns (entries line up) unless flowing them takes fewer rows.
fn legend_layout(items: &[LegendItem], max_width: f64) -> Vec<Vec<(f64, &LegendItem)>> {
    let mut flow: Vec<Vec<(f64, &LegendItem)>> = Vec::new();
    let mut x = 0.0;
    for it in items {
        let w = legend_item_width(it);
        if x > 0.0 && x + w > max_width {
            x = 0.0;
        }
        if x == 0.0 {
            flow.push(Vec::new());
        }
        if let Some(row) = flow.last_mut() {
            row.push((x, it));
        }
        x += w + LEGEND_GAP;
    }
    let column = items.iter().map(legend_item_width).fold(0.0, f64::max) + LEGEND_GAP;
    let columns = ((max_width + LEGEND_GAP) / column).floor().max(1.0) as usize;
    let grid: Vec<Vec<(f64, &LegendItem)>> = items
        .chunks(columns)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .map(|(i, it)| (i as f64 * column, it))
                .collect()
        })
        .collect();
    if flow.len() > 1 && grid.len() <= flow.len() {
        grid
    } else {
        flow
    }
}

const LEGEND_ROW: f64 = 20.0;

/// Draws the legend rows with their top at `top`, centred on the chart.
fn draw_legend(svg: &mut Svg, rows: &[Vec<(f64, &LegendItem)>], top: f64) {
    for (r, row) in rows.iter().enumerate() {
        let width = rows
            .iter()
            .filter_map(|r| r.last())
            .map(|(x, it)| x + legend_item_width(it))
            .fold(0.0, f64::max);
        let x0 = ((WIDTH - width) / 2.0).max(MARGIN);
        let cy = top + r as f64 * LEGEND_ROW + LEGEND_ROW / 2.0;
        for (dx, it) in row {
            let x = x0 + dx;
            match &it.mark {
                LegendMark::Swatch(c) => svg.rect(x + 4.0, cy - 6.0, 14.0, 12.0, c, None),
                LegendMark::Line(s) => {
                    let mut s = s.clone();
                    s.width = s.width.max(2.5);
                    svg.line(x, cy, x + 22.0, cy, &s);
                }
                LegendMark::Whisker => {
                    let s = Stroke::solid(AXIS_COLOR, 1.3);
                    svg.line(x + 11.0, cy - 7.0, x + 11.0, cy + 7.0, &s);
                    svg.line(x + 7.0, cy - 7.0, x + 15.0, cy - 7.0, &s);
                    svg.line(x + 7.0, cy + 7.0, x + 15.0, cy + 7.0, &s);
                }
            }
            let label = truncate(&it.label, MAX_LEGEND_CHARS);
            let style = TextStyle::new(LEGEND_SIZE, Anchor::Start);
            if label != it.label {
                svg.text_with_tooltip(x + 26.0, cy + LEGEND_SIZE * 0.35, &label, &style, &it.label);
            } else {
                svg.text(x + 26.0, cy + LEGEND_SIZE * 0.35, &label, &style);
            }
        }
    }
}

/// A whisker from `low` to `high` (pixel ys) at `x`, caps `cap` wide.
fn whisker(svg: &mut Svg, x: f64, low: f64, high: f64, cap: f64) {
    let s = Stroke::solid("#333333", 1.3);
    svg.line(x, low, x, high, &s);
    svg.line(x - cap / 2.0, low, x + cap / 2.0, low, &s);
    svg.line(x - cap / 2.0, high, x + cap / 2.0, high, &s);
}

/// A reference label as lines for the right margin: its own lines when it has several, else
/// broken at spaces into lines of about 16 chars.
fn reference_lines(label: &str) -> Vec<String> {
    if label.contains('\n') {
        return label.lines().map(str::to_string).collect();
    }
    let mut lines: Vec<String> = Vec::new();
    for word in label.split_whitespace() {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + word.chars().count() <= 16 => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

impl LineChart {
    /// The legend of this chart: one line per series with a label (a series with an empty
    /// label, e.g. the continuation of another, has none).
    fn legend(&self) -> Vec<LegendItem> {
        let mut items: Vec<LegendItem> = self
            .series
            .iter()
            .filter(|s| !s.label.is_empty())
            .map(|s| LegendItem {
                label: s.label.clone(),
                mark: LegendMark::Line(s.stroke.clone()),
            })
            .collect();
        if self
            .series
            .iter()
            .any(|s| s.points.iter().any(|p| p.low.is_some() || p.high.is_some()))
        {
            items.push(LegendItem {
                label: "min–max over repetitions".into(),
                mark: LegendMark::Whisker,
            });
        }
        items
    }

    /// The chart as one `<svg>` element.
    pub fn render(&self) -> String {
        let legend = self.legend();
        let rows = legend_layout(&legend, WIDTH - 2.0 * MARGIN);
        let top = title_bottom(self.subtitle.as_deref());
        let left = y_axis_width(&self.y);
        // Room for the last x tick label, centred on the right edge.
        let last_tick = self
            .x
            .ticks
            .last()
            .map(|t| text_width(&t.1, TICK_SIZE) / 2.0)
            .unwrap_or(0.0);
        let right = (MARGIN + 8.0).max(last_tick + 6.0);
        let area = Area {
            left,
            top,
            width: WIDTH - left - right,
            height: LINE_PLOT_HEIGHT,
        };
        let height =
            area.bottom() + 22.0 + LABEL_SIZE + 14.0 + rows.len() as f64 * LEGEND_ROW + MARGIN;
        let mut svg = Svg::new(WIDTH, height);
        draw_title(&mut svg, &self.title, self.subtitle.as_deref());

        draw_y_axis(&mut svg, &area, &self.y);
        // x grid, ticks and labels.
        let grid = Stroke::solid(GRID_COLOR, 1.0);
        let axis = Stroke::solid(AXIS_COLOR, 1.0);
        for (v, label) in &self.x.ticks {
            let px = area.x(&self.x.domain, *v);
            if px < area.left - 0.5 || px > area.right() + 0.5 {
                continue;
            }
            svg.line(px, area.top, px, area.bottom(), &grid);
            svg.line(px, area.bottom(), px, area.bottom() + 5.0, &axis);
            svg.text(
                px,
                area.bottom() + 8.0 + TICK_SIZE,
                label,
                &TextStyle::new(TICK_SIZE, Anchor::Middle).color(AXIS_COLOR),
            );
        }
        svg.line(area.left, area.bottom(), area.right(), area.bottom(), &axis);
        let x_title_y = area.bottom() + 22.0 + LABEL_SIZE + 4.0;
        svg.text(
            area.left + area.width / 2.0,
            x_title_y,
            &self.x.label,
            &TextStyle::new(LABEL_SIZE, Anchor::Middle),
        );

        for s in &self.series {
            svg.open_group(Some(s.label.as_str()).filter(|l| !l.is_empty()));
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter(|p| p.x.is_finite() && p.y.is_finite())
                .map(|p| (area.x(&self.x.domain, p.x), area.y(&self.y.domain, p.y)))
                .collect();
            for p in &s.points {
                if let (Some(lo), Some(hi)) = (p.low, p.high) {
                    if lo.is_finite() && hi.is_finite() && hi > lo {
                        let x = area.x(&self.x.domain, p.x);
                        whisker(
                            &mut svg,
                            x,
                            area.y(&self.y.domain, lo),
                            area.y(&self.y.domain, hi),
                            8.0,
                        );
                    }
                }
            }
            svg.polyline(&pts, &s.stroke, None);
            if s.markers || pts.len() == 1 {
                for (p, (px, py)) in s
                    .points
                    .iter()
                    .filter(|p| p.x.is_finite() && p.y.is_finite())
                    .zip(&pts)
                {
                    svg.circle(*px, *py, 4.0, &s.stroke.color, p.tooltip.as_deref());
                }
            }
            svg.close_group();
        }
        draw_legend(&mut svg, &rows, x_title_y + 12.0);
        svg.finish(&self.title)
    }
}

impl BarChart {
    /// The chart as one `<svg>` element.
    pub fn render(&self) -> String {
        let rows = legend_layout(&self.legend, WIDTH - 2.0 * MARGIN);
        let top = title_bottom(self.subtitle.as_deref());
        let labels: Vec<String> = self
            .bars
            .iter()
            .map(|b| truncate(&b.label, MAX_LABEL_CHARS))
            .collect();
        let label_w: Vec<f64> = labels.iter().map(|l| text_width(l, TICK_SIZE)).collect();
        let slots: f64 = self.bars.len() as f64
            + self.bars.iter().skip(1).filter(|b| b.gap_before).count() as f64 * 0.5;
        let slots = slots.max(1.0);
        let axis_left = y_axis_width(&self.y);
        // The reference line's label sits in the right margin, clear of the bars.
        let reference_label = self.reference.as_ref().map(|r| reference_lines(&r.label));
        let right = MARGIN
            + 8.0
            + reference_label
                .iter()
                .flatten()
                .map(|l| text_width(l, 12.0) + 8.0)
                .fold(0.0, f64::max);
        // Centre of bar i, as a number of slots from the left edge of the plot.
        let centres: Vec<f64> = {
            let mut c = Vec::with_capacity(self.bars.len());
            let mut at = 0.0;
            for (i, b) in self.bars.iter().enumerate() {
                if i > 0 && b.gap_before {
                    at += 0.5;
                }
                c.push(at + 0.5);
                at += 1.0;
            }
            c
        };
        let slot_for = |left: f64| (WIDTH - left - right) / slots;
        let fits_flat = |slot: f64| label_w.iter().all(|w| *w <= slot - 6.0);
        let (cos, sin) = (
            LABEL_ANGLE_DEG.to_radians().cos(),
            LABEL_ANGLE_DEG.to_radians().sin(),
        );
        // Rotated labels hang down-left from their bar: widen the left margin when the first
        // ones would leave the chart.
        let mut left = axis_left;
        if !fits_flat(slot_for(left)) {
            for _ in 0..3 {
                let slot = slot_for(left);
                let need = centres
                    .iter()
                    .zip(&label_w)
                    .map(|(c, w)| w * cos + MARGIN - c * slot)
                    .fold(0.0, f64::max);
                left = axis_left.max(need);
            }
        }
        let slot = slot_for(left);
        let flat = fits_flat(slot);
        let label_height = if flat {
            TICK_SIZE + 10.0
        } else {
            label_w.iter().fold(0.0, |m: f64, w| m.max(w * sin)) + TICK_SIZE * cos + 14.0
        };
        let area = Area {
            left,
            top,
            width: WIDTH - left - right,
            height: BAR_PLOT_HEIGHT,
        };
        let x_title_y = area.bottom() + label_height + LABEL_SIZE + 6.0;
        let height = x_title_y + 12.0 + rows.len() as f64 * LEGEND_ROW + MARGIN;
        let mut svg = Svg::new(WIDTH, height);
        draw_title(&mut svg, &self.title, self.subtitle.as_deref());
        draw_y_axis(&mut svg, &area, &self.y);
        let axis = Stroke::solid(AXIS_COLOR, 1.0);

        let geometry = BarGeometry {
            slot,
            bar_w: (slot * 0.62).min(64.0),
            zero: area.y(&self.y.domain, self.y.domain.min.max(0.0)),
            flat,
        };
        for ((b, label), c) in self.bars.iter().zip(&labels).zip(&centres) {
            self.draw_bar(&mut svg, &area, &geometry, b, label, area.left + c * slot);
        }
        svg.line(area.left, area.bottom(), area.right(), area.bottom(), &axis);
        if let (Some(r), Some(lines)) = (&self.reference, &reference_label) {
            draw_reference(&mut svg, &area, &self.y, r, lines);
        }

        svg.text(
            area.left + area.width / 2.0,
            x_title_y,
            &self.x_label,
            &TextStyle::new(LABEL_SIZE, Anchor::Middle),
        );
        draw_legend(&mut svg, &rows, x_title_y + 12.0);
        svg.finish(&self.title)
    }

    /// Bar `b` centred at `cx`: the bar, its whisker (min–max), its annotation above, its
    /// category label (flat or rotated) and its tick.
    fn draw_bar(&self, svg: &mut Svg, area: &Area, g: &BarGeometry, b: &Bar, label: &str, cx: f64) {
        let axis = Stroke::solid(AXIS_COLOR, 1.0);
        if b.value.is_finite() {
            let top_y = area.y(&self.y.domain, b.value);
            svg.rect(
                cx - g.bar_w / 2.0,
                top_y,
                g.bar_w,
                g.zero - top_y,
                &b.color,
                Some(&b.tooltip),
            );
        }
        let mut above = if b.value.is_finite() {
            area.y(&self.y.domain, b.value)
        } else {
            g.zero
        };
        if let (Some(lo), Some(hi)) = (b.low, b.high) {
            if lo.is_finite() && hi.is_finite() && hi > lo {
                let hy = area.y(&self.y.domain, hi);
                whisker(
                    svg,
                    cx,
                    area.y(&self.y.domain, lo),
                    hy,
                    (g.bar_w * 0.45).min(14.0),
                );
                above = above.min(hy);
            }
        }
        if let Some(a) = &b.annotation {
            if text_width(a, 11.0) <= g.slot - 2.0 {
                svg.text(
                    cx,
                    above - 5.0,
                    a,
                    &TextStyle::new(11.0, Anchor::Middle).color(MUTED).halo(),
                );
            }
        }
        // Category label.
        let style = TextStyle::new(TICK_SIZE, Anchor::Middle).color(AXIS_COLOR);
        let (lx, ly, style) = if g.flat {
            (cx, area.bottom() + 8.0 + TICK_SIZE, style)
        } else {
            let mut st = style.rotate(-LABEL_ANGLE_DEG);
            st.anchor = Anchor::End;
            (cx + 3.0, area.bottom() + 8.0 + TICK_SIZE * 0.6, st)
        };
        if *label != b.label {
            svg.text_with_tooltip(lx, ly, label, &style, &b.label);
        } else {
            svg.text(lx, ly, label, &style);
        }
        svg.line(cx, area.bottom(), cx, area.bottom() + 4.0, &axis);
    }
}

/// Where the bars of a [`BarChart`] go: the slot of one bar, its width, the y of zero and
/// whether the category labels lie flat.
struct BarGeometry {
    slot: f64,
    bar_w: f64,
    zero: f64,
    flat: bool,
}

/// The reference line across the plot at `r.value`, its label's `lines` in the right margin.
fn draw_reference(svg: &mut Svg, area: &Area, y_axis: &Axis, r: &ReferenceLine, lines: &[String]) {
    if r.value.is_finite() {
        let y = area.y(&y_axis.domain, r.value);
        svg.line(area.left, y, area.right() + 4.0, y, &r.stroke);
        // Lines of the label stacked upwards from the line, so they stay above the
        // x axis when the reference is near zero.
        let style = TextStyle::new(12.0, Anchor::Start)
            .color(&r.stroke.color)
            .bold();
        svg.open_group(Some(&r.label.replace('\n', " ")));
        for (i, l) in lines.iter().rev().enumerate() {
            svg.text(area.right() + 8.0, y + 4.0 - i as f64 * 14.0, l, &style);
        }
        svg.close_group();
    }
}

#[cfg(test)]
mod tests;
