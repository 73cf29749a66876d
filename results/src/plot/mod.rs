//! Charts as inline SVG, for the HTML report (criterion's `plot/` in spirit).
//!
//! A small writer of our own rather than plotters: plotters 0.3 with only `svg_backend` does
//! emit `<text>` (its "naive" font estimates sizes without system fonts), but the report needs
//! a log "nines" percentile axis, min–max whiskers, a labelled reference line, rotated category
//! labels and hover tooltips, which are simpler to write directly than to bend plotters to.
//! No fonts, no system libraries, no scripts: the browser lays out the text.
//!
//! - [`svg`]: the document writer (escaping every text);
//! - [`scale`]: linear, log, log2 and nines axes with nice ticks and labels;
//! - [`chart`]: [`LineChart`] and [`BarChart`];
//! - [`heatmap`]: [`HeatMap`], a grid of cells coloured by value.

pub mod chart;
pub mod heatmap;
pub mod scale;
pub mod svg;

pub use chart::{
    series_stroke, Axis, Bar, BarChart, LegendItem, LegendMark, LineChart, Point, ReferenceLine,
    Series, PALETTE,
};
pub use heatmap::{HeatCell, HeatMap};
pub use scale::{Domain, Scale, Tick};
pub use svg::{escape, Stroke, Svg};
