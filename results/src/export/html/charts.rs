//! Which workloads the charts show and how they are labelled and coloured, and the bar charts
//! with min–max whiskers: throughput and CPU cost per workload.

use crate::export::comparison;
use crate::fit::sweeps::sweep_of;
use crate::format;
use crate::plot::scale::{linear_ticks, number_label};
use crate::plot::svg::escape;
use crate::plot::{Axis, Bar, BarChart, LegendItem, LegendMark, ReferenceLine, Stroke, PALETTE};
use crate::schema::{Kind, Medium, ResultsFile, Stat, Status, WorkloadResult};

use super::{figure, Section};

/// The label of a workload in charts: its table label, plus its status when it did not
/// complete.
pub(super) fn chart_label(w: &WorkloadResult) -> String {
    let label = comparison::workload_label(w);
    match w.status {
        Status::Completed | Status::Skipped { .. } => label,
        Status::Failed { .. } => format!("{label} (failed)"),
        Status::Interrupted => format!("{label} (interrupted)"),
    }
}

/// Workloads of `kind` (or both kinds) drawn in the per-workload charts: those with figures,
/// leaving out sweep points (they have their own chart) unless there is nothing else.
pub(super) fn charted(r: &ResultsFile, kind: Option<Kind>) -> Vec<&WorkloadResult> {
    let all: Vec<&WorkloadResult> = r
        .workloads
        .iter()
        .filter(|w| !matches!(kind, Some(k) if k != w.kind) && w.has_figures())
        .collect();
    let plain: Vec<&WorkloadResult> = all
        .iter()
        .copied()
        .filter(|w| sweep_of(w).is_none())
        .collect();
    let mut chosen = if plain.is_empty() { all } else { plain };
    // Writes first, then reads, each in file order.
    chosen.sort_by_key(|w| match w.kind {
        Kind::Write => 0,
        Kind::Read => 1,
    });
    chosen
}

pub(super) fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Write => "write",
        Kind::Read => "read",
    }
}

/// Bar colour by kind and medium: writes blue, reads orange, page-cache figures in a pale
/// shade of the same hue, pure memory grey.
fn bar_color(kind: Kind, medium: Medium) -> &'static str {
    match (kind, medium) {
        (_, Medium::Memory) => "#bab0ac",
        (Kind::Write, Medium::PageCache) => "#a0cbe8",
        (Kind::Write, _) => PALETTE[0],
        (Kind::Read, Medium::PageCache) => "#ffbe7d",
        (Kind::Read, _) => PALETTE[1],
    }
}

/// Legend entries for the (kind, medium) pairs of `ws`, in first-seen order.
fn kind_legend(ws: &[&WorkloadResult]) -> Vec<LegendItem> {
    let mut seen: Vec<(Kind, Medium)> = Vec::new();
    for w in ws {
        if !seen.contains(&(w.kind, w.medium)) {
            seen.push((w.kind, w.medium));
        }
    }
    seen.into_iter()
        .map(|(k, m)| LegendItem {
            label: format!("{} · {}", kind_name(k), format::medium_label(m)),
            mark: LegendMark::Swatch(bar_color(k, m).to_string()),
        })
        .collect()
}

/// Workloads not drawn because they have no figures, as a sentence, or empty.
fn not_shown(r: &ResultsFile, kind: Option<Kind>) -> String {
    let missing: Vec<String> = r
        .workloads
        .iter()
        .filter(|w| !matches!(kind, Some(k) if k != w.kind) && !w.has_figures())
        .map(|w| match &w.status {
            Status::Skipped { reason } => format!("{} (skipped: {reason})", w.name),
            Status::Failed { error } => format!("{} (failed: {error})", w.name),
            Status::Interrupted => format!("{} (interrupted)", w.name),
            Status::Completed => format!("{} (no figures)", w.name),
        })
        .collect();
    if missing.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"foot\">Not shown: {}.</p>\n",
            escape(&missing.join("; "))
        )
    }
}

pub(super) const MB_AXIS: &str = "throughput (MB/s; 1 MB = 10⁶ bytes)";

/// A bar chart of one statistic per workload: a bar at the median, whiskers from min to max,
/// coloured by kind and medium, a gap between write and read workloads. What differs between
/// the charts that use it (throughput, CPU cost) is in here; the drawing is one.
struct WhiskerChart<'a> {
    title: &'a str,
    subtitle: &'a str,
    y_label: &'a str,
    /// Divides the statistic into the axis unit (MB for throughput).
    unit: f64,
    /// The axis reaches at least this high (axis units).
    floor: f64,
    /// The axis top, as a multiple of the tallest bar or whisker.
    headroom: f64,
    /// A reference line across the bars and its legend entry.
    reference: Option<(ReferenceLine, LegendItem)>,
}

impl WhiskerChart<'_> {
    /// The chart of `stat` of each of `ws` (workloads without it are left out), each bar
    /// annotated with `annotation(median)` and hovered with `tooltip(workload, stat)`.
    fn build(
        self,
        ws: &[&WorkloadResult],
        stat: impl Fn(&WorkloadResult) -> Option<Stat>,
        annotation: impl Fn(f64) -> String,
        tooltip: impl Fn(&WorkloadResult, &Stat) -> String,
    ) -> BarChart {
        let mut top = self.floor;
        let mut bars = Vec::new();
        let mut last_kind = None;
        for w in ws {
            let Some(t) = stat(w) else { continue };
            top = top.max(t.max / self.unit).max(t.median / self.unit);
            bars.push(Bar {
                label: chart_label(w),
                value: t.median / self.unit,
                low: Some(t.min / self.unit),
                high: Some(t.max / self.unit),
                color: bar_color(w.kind, w.medium).to_string(),
                annotation: Some(annotation(t.median)),
                tooltip: tooltip(w, &t),
                gap_before: last_kind.is_some_and(|k| k != w.kind),
            });
            last_kind = Some(w.kind);
        }
        let (domain, ticks) = linear_ticks(0.0, top * self.headroom, 6, number_label);
        let mut legend = kind_legend(ws);
        legend.push(LegendItem {
            label: "min–max over repetitions".into(),
            mark: LegendMark::Whisker,
        });
        let (reference, reference_legend) = self.reference.unzip();
        legend.extend(reference_legend);
        BarChart {
            title: self.title.into(),
            subtitle: Some(self.subtitle.into()),
            x_label: "workload".into(),
            y: Axis::new(self.y_label, domain, ticks),
            bars,
            reference,
            legend,
        }
    }
}

/// Throughput per workload: median bars, min–max whiskers, the per-node baseline line.
pub fn throughput(r: &ResultsFile) -> Option<Section> {
    let ws = charted(r, None);
    if ws.is_empty() {
        return None;
    }
    let per_node = r.baseline.per_node_bytes_per_s;
    let baseline_stroke = Stroke::dashed(PALETTE[2], 2.0, "8 4");
    let reference = (per_node > 0.0).then(|| {
        (
            ReferenceLine {
                value: per_node / format::MB,
                label: format!("baseline\n{}\nper node", format::mb_per_s(per_node)),
                stroke: baseline_stroke.clone(),
            },
            LegendItem {
                label: format!(
                    "baseline: {} per node ({})",
                    format::mb_per_s(per_node),
                    r.baseline.source
                ),
                mark: LegendMark::Line(baseline_stroke),
            },
        )
    });
    let chart = WhiskerChart {
        title: "Throughput per workload",
        subtitle:
            "bars: median over repetitions · whiskers: min–max · dashed line: baseline per node",
        y_label: MB_AXIS,
        unit: format::MB,
        floor: per_node / format::MB,
        headroom: 1.08,
        reference,
    }
    .build(
        &ws,
        |w| w.summary.as_ref().map(|s| s.throughput_bytes_per_s),
        format::mb_per_s_value,
        |w, t| {
            let times = if per_node > 0.0 {
                format!(", {} baseline", format::ratio(t.median / per_node))
            } else {
                String::new()
            };
            format!(
                "{}: median {} (min {}, max {}) over {} repetition{}{times}; {}",
                chart_label(w),
                format::mb_per_s(t.median),
                format::mb_per_s(t.min),
                format::mb_per_s(t.max),
                t.n,
                if t.n == 1 { "" } else { "s" },
                format::medium_label(w.medium)
            )
        },
    );
    let mut html = figure(
        &chart.render(),
        "Pale bars may be page-cache numbers (the data need not have reached the device). \
         Hover a bar for its figures.",
    );
    html.push_str(&not_shown(r, None));
    Some(Section {
        id: "throughput".into(),
        title: "Throughput".into(),
        html,
    })
}

/// CPU seconds per GB moved, per workload.
pub fn cpu(r: &ResultsFile) -> Option<Section> {
    let cpu_stat = |w: &WorkloadResult| w.summary.as_ref().and_then(|s| s.cpu_s_per_gb);
    let ws: Vec<&WorkloadResult> = charted(r, None)
        .into_iter()
        .filter(|w| cpu_stat(w).is_some_and(|c| c.n > 0))
        .collect();
    if ws.is_empty() {
        return None;
    }
    let chart = WhiskerChart {
        title: "CPU cost per workload",
        subtitle: "user + system CPU seconds of the whole process per GB moved · lower is better",
        y_label: "CPU seconds per GB (1 GB = 10⁹ bytes)",
        unit: 1.0,
        floor: 0.0,
        headroom: 1.1,
        reference: None,
    }
    .build(&ws, cpu_stat, format::cpu_s_per_gb, |w, c| {
        format!(
            "{}: median {} CPU s/GB (min {}, max {})",
            chart_label(w),
            format::cpu_s_per_gb(c.median),
            format::cpu_s_per_gb(c.min),
            format::cpu_s_per_gb(c.max)
        )
    });
    let html = figure(
        &chart.render(),
        "Read workloads include the in-process sink's CPU when the peer is the loopback sink.",
    );
    Some(Section {
        id: "cpu".into(),
        title: "CPU cost".into(),
        html,
    })
}
