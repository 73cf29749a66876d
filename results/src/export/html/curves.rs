//! The line charts: latency by percentile, throughput over time, and cluster capacity against
//! broker count (the scaling charts are in `sweeps`).

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use crate::format;
use crate::hist;
use crate::plot::scale::{
    latency_label, linear_ticks, log_ticks, nines, nines_decades, nines_ticks, number_label,
};
use crate::plot::svg::{escape, Stroke};
use crate::plot::{series_stroke, Axis, Domain, LineChart, Point, Series, Tick};
use crate::schema::{Kind, LatencySummary, ResultsFile, WorkloadResult};
use crate::stats::median_repetition;

use super::charts::{chart_label, charted, kind_name, MB_AXIS};
use super::{figure, Section};

/// Samples per decade of the nines axis.
const NINES_SAMPLES_PER_DECADE: usize = 24;

/// The percentile curve of `h` on the nines axis up to `decades`: (position, latency ns),
/// dropping interior points of flat runs.
pub(super) fn percentile_curve(h: &Histogram<u64>, decades: usize) -> Vec<(f64, f64)> {
    let n = decades * NINES_SAMPLES_PER_DECADE;
    let raw: Vec<(f64, f64)> = (0..=n)
        .map(|i| {
            let x = i as f64 / NINES_SAMPLES_PER_DECADE as f64;
            let q = 1.0 - 10f64.powf(-x);
            let v = if i == 0 {
                h.min()
            } else {
                h.value_at_quantile(q)
            };
            debug_assert!((nines(q) - x).abs() < 1e-6 || x >= 6.0);
            (x, v.max(1) as f64)
        })
        .collect();
    let mut out = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let same_prev = i > 0 && raw[i - 1].1 == p.1;
        let same_next = i + 1 < raw.len() && raw[i + 1].1 == p.1;
        if !(same_prev && same_next) {
            out.push(*p);
        }
    }
    out
}

/// Latency percentile curves of the workloads of `kind`, or `None` without histograms.
fn latency_chart(r: &ResultsFile, kind: Kind, problems: &mut Vec<String>) -> Option<String> {
    let mut curves: Vec<LatencyCurve> = Vec::new();
    for w in charted(r, Some(kind)) {
        let Some(s) = &w.summary else { continue };
        if s.latency_ns.count == 0 || s.latency_ns.hdr.is_empty() {
            continue;
        }
        match hist::decode(&s.latency_ns.hdr) {
            Ok(h) if !h.is_empty() => curves.push((
                chart_label(w),
                series_stroke(curves.len(), 2.0),
                Curve::of(&h),
            )),
            Ok(_) => {}
            Err(e) => problems.push(format!("{}: {e}", w.name)),
        }
    }
    let unit = match kind {
        Kind::Write => "per batch, submit to acknowledgement",
        Kind::Read => "per fetch",
    };
    percentile_chart(
        format!("{} latency by percentile", capitalised(kind_name(kind))),
        format!("latency {unit}; all repetitions' histograms merged; log scales"),
        curves,
        &[("p50", 0.5), ("p99", 0.99)],
    )
}

/// The deepest nines axis a chart draws ([`nines_decades`] of any count).
const MAX_DECADES: usize = 5;
/// The quantiles a chart's labels may name.
const LABEL_QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

/// What a chart draws of one histogram, taken from it as soon as it is decoded so that a
/// chart of many workloads holds a few hundred bytes per curve rather than every histogram
/// (each up to [`hist::MAX_COUNTS`] counts): its count, min and max, the labels' quantiles,
/// and its percentile curve to the deepest nines axis.
pub(super) struct Curve {
    len: u64,
    min: u64,
    max: u64,
    quantiles: [u64; LABEL_QUANTILES.len()],
    points: Vec<(f64, f64)>,
}

impl Curve {
    /// The curve of `h`.
    pub(super) fn of(h: &Histogram<u64>) -> Curve {
        Curve {
            len: h.len(),
            min: h.min(),
            max: h.max(),
            quantiles: LABEL_QUANTILES.map(|q| h.value_at_quantile(q)),
            points: percentile_curve(h, MAX_DECADES),
        }
    }

    /// The value at `q`, one of [`LABEL_QUANTILES`].
    fn at(&self, q: f64) -> u64 {
        LABEL_QUANTILES
            .iter()
            .position(|x| *x == q)
            .map_or(self.max, |i| self.quantiles[i])
    }

    /// The curve up to `decades`: what [`percentile_curve`] gives at `decades` (the samples lie
    /// on one grid and a dropped sample is inside a flat run, so the value at the cut is the
    /// last kept one's).
    fn up_to(&self, decades: usize) -> Vec<(f64, f64)> {
        let end = decades as f64 + 1e-9;
        let mut out: Vec<(f64, f64)> = self.points.iter().copied().filter(|p| p.0 <= end).collect();
        if let Some(&(x, y)) = out.last() {
            if x < decades as f64 - 1e-9 {
                out.push((decades as f64, y));
            }
        }
        out
    }
}

/// One curve of a percentile chart: its label, its stroke and what is drawn of its histogram.
pub(super) type LatencyCurve = (String, Stroke, Curve);

/// The curve of latency summary `s`, or `None` when its histogram is empty or cannot be read.
pub(super) fn latency_curve(
    label: String,
    stroke: Stroke,
    s: &LatencySummary,
) -> Option<LatencyCurve> {
    let h = hist::decode(&s.hdr).ok().filter(|h| !h.is_empty())?;
    Some((label, stroke, Curve::of(&h)))
}

/// A latency-by-percentile chart of `curves` on log scales, the nines axis as deep as the
/// largest histogram allows; each curve's label is followed by the `quantiles` named (e.g.
/// `("p99", 0.99)`, among [`LABEL_QUANTILES`]) and the max. `None` without a curve.
pub(super) fn percentile_chart(
    title: String,
    subtitle: String,
    curves: Vec<LatencyCurve>,
    quantiles: &[(&str, f64)],
) -> Option<String> {
    if curves.is_empty() {
        return None;
    }
    let decades = curves
        .iter()
        .map(|c| nines_decades(c.2.len))
        .max()
        .unwrap_or(2);
    let lo = curves
        .iter()
        .map(|c| c.2.min.max(1) as f64)
        .fold(f64::INFINITY, f64::min);
    let hi = curves
        .iter()
        .map(|c| c.2.max.max(1) as f64)
        .fold(0.0, f64::max);
    let (y_domain, y_ticks) = log_ticks(lo, hi, latency_label);
    let (x_domain, x_ticks) = nines_ticks(decades);
    let series = curves
        .into_iter()
        .map(|(label, stroke, c)| {
            let mut figures: Vec<String> = quantiles
                .iter()
                .map(|(name, q)| format!("{name} {}", format::latency(c.at(*q))))
                .collect();
            figures.push(format!("max {}", format::latency(c.max)));
            Series {
                label: format!("{label}  ({})", figures.join(", ")),
                stroke,
                points: c
                    .up_to(decades)
                    .into_iter()
                    .map(|(x, y)| Point::at(x, y))
                    .collect(),
                markers: false,
            }
        })
        .collect();
    let chart = LineChart {
        title,
        subtitle: Some(subtitle),
        x: Axis::new("percentile (x = 1/(1−q), log scale)", x_domain, x_ticks),
        y: Axis::new("latency (log scale)", y_domain, y_ticks),
        series,
    };
    Some(chart.render())
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Latency percentile curves, one chart per kind.
pub fn latency(r: &ResultsFile) -> Option<Section> {
    let mut html = String::new();
    let mut problems = Vec::new();
    for kind in [Kind::Write, Kind::Read] {
        if let Some(svg) = latency_chart(r, kind, &mut problems) {
            html.push_str(&figure(
                &svg,
                "Read the curve left to right: the median is at the left, the tail at the right \
                 (as HdrHistogram plots percentile distributions). Lower is better.",
            ));
        }
    }
    if !problems.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"foot\">Histograms that could not be read: {}.</p>",
            escape(&problems.join("; "))
        );
    }
    if html.is_empty() {
        return None;
    }
    Some(Section {
        id: "latency".into(),
        title: "Latency".into(),
        html,
    })
}

/// Throughput over time of one repetition: (interval midpoint s, MB/s). The last interval is
/// cut at `elapsed_s`, and dropped when shorter than a fifth of an interval (too noisy).
fn timeline_points(rep: &crate::schema::Repetition) -> Vec<(f64, f64)> {
    let dt = rep.timeline.interval_s;
    if !(dt.is_finite() && dt > 0.0) {
        return Vec::new();
    }
    let n = rep.timeline.bytes.len();
    rep.timeline
        .bytes
        .iter()
        .enumerate()
        .filter_map(|(i, &b)| {
            let start = i as f64 * dt;
            let mut end = start + dt;
            if i + 1 == n && rep.elapsed_s > start && rep.elapsed_s < end {
                end = rep.elapsed_s;
            }
            let len = end - start;
            (len >= dt * 0.2).then(|| ((start + end) / 2.0, b as f64 / len / format::MB))
        })
        .collect()
}

/// The measurement window of a repetition run until steady, drawn over its timeline (series
/// `i`, same colour): a thick dashed segment at the window's mean across the window's rounds,
/// labelled steady or NOT STEADY with its range and slope.
fn steady_window(w: &WorkloadResult, rep: &crate::schema::Repetition, i: usize) -> Option<Series> {
    let s = rep.steady()?;
    let win = s.window?;
    let from = win.first_round as f64 * s.round_s;
    let to = (win.first_round + win.rounds) as f64 * s.round_s;
    let mean = win.mean / format::MB;
    let color = crate::plot::PALETTE[i % crate::plot::PALETTE.len()];
    Some(Series {
        label: format!("{}: {}", chart_label(w), s.label()),
        stroke: crate::plot::svg::Stroke::dashed(color, 4.0, "10 5"),
        points: vec![Point::at(from, mean), Point::at(to, mean)],
        markers: true,
    })
}

/// Throughput-over-time chart of the workloads of `kind`.
fn timeline_chart(r: &ResultsFile, kind: Kind) -> Option<String> {
    let mut series = Vec::new();
    let (mut t_max, mut y_max) = (0.0f64, 0.0f64);
    let mut interval = None;
    let mut lines = 0;
    for w in charted(r, Some(kind)) {
        let Some(rep) = median_repetition(&w.repetitions) else {
            continue;
        };
        let pts = timeline_points(rep);
        if pts.is_empty() {
            continue;
        }
        interval.get_or_insert(rep.timeline.interval_s);
        let dt = rep.timeline.interval_s;
        t_max = t_max
            .max(rep.timeline.bytes.len() as f64 * dt)
            .max(rep.elapsed_s.min(rep.timeline.bytes.len() as f64 * dt));
        y_max = pts.iter().fold(y_max, |m, p| m.max(p.1));
        let i = lines;
        lines += 1;
        series.push(Series {
            label: format!("{} (repetition {})", chart_label(w), rep.index + 1),
            stroke: series_stroke(i, 1.8),
            points: pts.into_iter().map(|(x, y)| Point::at(x, y)).collect(),
            markers: false,
        });
        series.extend(steady_window(w, rep, i));
    }
    if series.is_empty() {
        return None;
    }
    let (x_domain, x_ticks) = linear_ticks(0.0, t_max, 8, number_label);
    let (y_domain, y_ticks) = linear_ticks(0.0, y_max * 1.05, 6, number_label);
    let interval = interval.unwrap_or(0.1);
    let chart = LineChart {
        title: format!("{} throughput over time", capitalised(kind_name(kind))),
        subtitle: Some(format!(
            "median repetition of each workload, bytes per {} interval",
            format::latency(interval * 1e9)
        )),
        x: Axis::new(
            "time since the start of the measured interval (s)",
            x_domain,
            x_ticks,
        ),
        y: Axis::new(MB_AXIS, y_domain, y_ticks),
        series,
    };
    Some(chart.render())
}

/// Throughput over time, one chart per kind.
pub fn timeline(r: &ResultsFile) -> Option<Section> {
    let mut html = String::new();
    for kind in [Kind::Write, Kind::Read] {
        if let Some(svg) = timeline_chart(r, kind) {
            let caption = match kind {
                Kind::Write => {
                    "Bursts well above the device's speed are the page cache absorbing writes; \
                     dips that follow are writeback stalls (the dirty limit was reached). A thick \
                     dashed segment marks the window of 5 rounds a workload run until steady was \
                     judged on (SNIA PTS), at the window's mean: its figure in the table."
                }
                Kind::Read => {
                    "Hot reads come from the page cache; cold reads run at the device's speed, \
                     and dips are cache misses or a slow consumer."
                }
            };
            html.push_str(&figure(&svg, caption));
        }
    }
    if html.is_empty() {
        return None;
    }
    Some(Section {
        id: "timeline".into(),
        title: "Throughput over time".into(),
        html,
    })
}

/// The y axis of a chart of MB/s over `series`: from 0 with a little headroom, or a log scale
/// when the smallest positive value is more than 50× below the largest (a per-node baseline
/// next to page-cache figures would otherwise sit on the x axis).
pub(super) fn mb_axis(series: &[Series]) -> (Domain, Vec<Tick>, String) {
    let ys = || series.iter().flat_map(|s| s.points.iter().map(|p| p.y));
    let top = ys().fold(0.0, f64::max);
    let bottom = ys().filter(|y| *y > 0.0).fold(f64::INFINITY, f64::min);
    if bottom.is_finite() && top / bottom > 50.0 {
        let (d, t) = log_ticks(bottom, top, crate::plot::scale::short_number);
        (d, t, format!("{MB_AXIS}, log scale"))
    } else {
        let (d, t) = linear_ticks(0.0, top * 1.08, 6, number_label);
        (d, t, MB_AXIS.to_string())
    }
}

/// Cluster throughput against broker count from the measured per-node limits
/// ([`crate::capacity`]): replication factors 1 and 3 with one consumer group, flat out (100%
/// of each measured limit, no spare, no retention), the baseline cluster as a point, a fleet
/// run's measured aggregates and the curves slowed by the hosts' USL contention when fitted
/// (`sweeps::capacity_overlay`), then the capacity paragraph of the Markdown report and each
/// sweep's USL fit. `None` without a usable disk write figure.
pub fn capacity(r: &ResultsFile) -> Option<Section> {
    use crate::capacity as cap;
    let limits = cap::limits_from_results(r)?;
    let b = &r.baseline;
    let max_nodes = cap::REPORT_MAX_NODES.max(b.nodes);
    let mut series: Vec<Series> = Vec::new();
    // rf > 1 takes the measured replication cost when the results have it.
    let curves: Vec<(u32, Vec<(u32, f64)>)> = cap::REPORT_REPLICATION
        .iter()
        .map(|&rf| {
            let limits = cap::with_measured_replication(r, limits.clone(), rf);
            (rf, cap::cluster_curve(&limits, rf, 1, max_nodes))
        })
        .collect();
    for (rf, curve) in &curves {
        let points: Vec<Point> = curve
            .iter()
            .map(|&(n, w)| Point {
                x: f64::from(n),
                y: w / format::MB,
                low: None,
                high: None,
                tooltip: Some(format!("rf {rf}, {n} brokers: {}", format::mb_per_s(w))),
            })
            .collect();
        if !points.is_empty() {
            series.push(Series {
                label: format!("this hardware, rf {rf}, 1 consumer group"),
                stroke: series_stroke(series.len(), 2.2),
                points,
                markers: false,
            });
        }
    }
    if series.is_empty() {
        return None;
    }
    let (overlay, usl_lines) = super::sweeps::capacity_overlay(r, &curves, series.len() + 1);
    let fleet_note = if overlay.is_empty() {
        ""
    } else {
        " Markers: the fleet's measured aggregates against the hosts running at once; dashed, \
         when the fleet measured enough host counts for a USL fit: the same curves slowed by \
         the hosts' fitted contention (the model assumes none)."
    };
    series.extend(overlay);
    let baseline_mb = b.cluster_bytes_per_s / format::MB;
    if baseline_mb > 0.0 && b.nodes > 0 {
        series.push(Series {
            label: format!(
                "baseline: {} on {} nodes",
                format::mb_per_s(b.cluster_bytes_per_s),
                b.nodes
            ),
            stroke: series_stroke(series.len(), 2.2),
            points: vec![Point {
                x: f64::from(b.nodes),
                y: baseline_mb,
                low: None,
                high: None,
                tooltip: Some(format!(
                    "baseline: {} ({})",
                    format::mb_per_s(b.cluster_bytes_per_s),
                    b.source
                )),
            }],
            markers: true,
        });
    }
    // A baseline far below this hardware would sit on the x axis of a linear chart.
    let (y_domain, y_ticks, y_label) = mb_axis(&series);
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.x))
        .fold(f64::from(max_nodes), f64::max);
    let (x_domain, x_ticks) = linear_ticks(0.0, x_max, 10, number_label);
    let chart = LineChart {
        title: "Cluster throughput against broker count".into(),
        subtitle: Some(
            "largest ingest the brokers carry at 100% of the measured per-node limits; \
             no spare, no retention"
                .into(),
        ),
        x: Axis::new("brokers", x_domain, x_ticks),
        y: Axis::new(y_label, y_domain, y_ticks),
        series,
    };
    let mut html = figure(
        &chart.render(),
        &format!(
            "Each broker writes r copies of what is produced and sends r−1+c (REFERENCE: \
             capacity planning); the lowest per-node limit binds. Size a cluster with segbench \
             plan.{fleet_note}"
        ),
    );
    html.push_str("<ul>\n");
    for line in cap::report_summary(r).iter().chain(&usl_lines) {
        let _ = writeln!(html, "<li>{}</li>", escape(line));
    }
    html.push_str("</ul>\n");
    Some(Section {
        id: "cluster-capacity".into(),
        title: "Capacity".into(),
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::schema::*;

    use crate::export::html::render;
    use crate::hist;
    use crate::testing::{
        capacity_probe as probe, html_section as section, results_with, workload_with as workload,
    };

    const MB: f64 = 1e6;

    #[test]
    fn latency_chart_has_the_nines_axis_and_adaptive_units() {
        let html = render(&crate::testing::results());
        let lat = section(&html, "latency");
        for label in ["0%", "90%", "99%", "99.9%"] {
            assert!(lat.contains(&format!(">{label}</text>")), "{label} missing");
        }
        // 3000 values per workload resolve four decades of nines.
        assert!(lat.contains(">99.99%</text>"));
        assert!(lat.contains("µs</text>"), "write latencies in µs");
        assert!(lat.contains(" ms</text>"), "read latencies in ms");
        assert!(lat.contains("Write latency by percentile"));
        assert!(lat.contains("Read latency by percentile"));
        assert!(lat.contains(">percentile (x = 1/(1−q), log scale)</text>"));
    }

    #[test]
    fn percentile_curve_is_monotonic_and_ends_at_the_tail() {
        let mut h = hist::new_hist();
        for v in 1..=10_000u64 {
            hist::record(&mut h, v * 100);
        }
        let c = percentile_curve(&h, 4);
        assert_eq!(c[0], (0.0, h.min() as f64));
        assert!(
            c.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{c:?}"
        );
        let last = c.last().unwrap();
        assert_eq!(last.0, 4.0);
        assert_eq!(last.1, h.value_at_quantile(0.9999) as f64);
        // The 90% point sits at x = 1.
        let p90 = c.iter().find(|p| (p.0 - 1.0).abs() < 1e-9).unwrap();
        assert!((p90.1 - 900_000.0).abs() / 9e5 < 0.002, "{p90:?}");
    }

    #[test]
    fn timeline_uses_the_median_repetition_and_cuts_the_last_interval() {
        let r = crate::testing::results();
        let w = &r.workloads[1]; // 950, 1000, 1010 MB/s
        let rep = median_repetition(&w.repetitions).unwrap();
        assert_eq!(rep.throughput_bytes_per_s, 1000e6);
        let pts = timeline_points(rep);
        // elapsed 0.4333 s over 0.1 s intervals: 4 intervals in the fixture, all full.
        assert_eq!(pts.len(), 4);
        assert!((pts[0].0 - 0.05).abs() < 1e-12);
        let mut short = rep.clone();
        short.elapsed_s = 0.35;
        let pts = timeline_points(&short);
        assert!((pts[3].0 - 0.325).abs() < 1e-12, "{pts:?}");
        let last_mb = short.timeline.bytes[3] as f64 / 0.05 / 1e6;
        assert!((pts[3].1 - last_mb).abs() < 1e-6);
        short.elapsed_s = 0.305; // 5 ms of a 100 ms interval: dropped
        assert_eq!(timeline_points(&short).len(), 3);
    }

    #[test]
    fn the_steady_window_is_drawn_over_the_timeline_at_its_mean() {
        use crate::steady::SteadyState;
        let mut r = crate::testing::results();
        let svg = timeline_chart(&r, Kind::Write).unwrap();
        assert!(!svg.contains("steady"), "no window without --until-steady");
        // Rounds of 0.1 s, the fixture's timeline intervals: two workloads, one steady.
        let flat = vec![500e6, 1000e6, 1001e6, 999e6, 1000e6, 1000e6];
        let ramp = vec![100e6, 200e6, 300e6, 400e6, 500e6];
        for (w, rounds) in [(0, flat), (1, ramp)] {
            for rep in &mut r.workloads[w].repetitions {
                rep.set_steady(&SteadyState::judge(0.1, rounds.clone(), 0));
            }
        }
        let svg = timeline_chart(&r, Kind::Write).unwrap();
        assert!(
            svg.contains("steady: rounds 2–6 of 0.100 s, 999–1001 MB/s"),
            "{svg}"
        );
        assert!(svg.contains("NOT STEADY after 5 rounds of 0.100 s: last 5 at 100–500 MB/s"));
        // The comparison table labels the figures the same way.
        let t = crate::export::comparison::comparison(&r);
        let note = t.rows[1].last().unwrap();
        assert!(
            note.starts_with("NOT STEADY in any of 3 repetitions"),
            "{note}"
        );
        let note = t.rows[0].last().unwrap();
        assert_eq!(note, "steady in all 3 repetitions");
    }

    #[test]
    fn html_report_charts_rf_1_and_3_with_the_baseline_point() {
        let r = results_with(
            vec![workload(
                "write/direct",
                Kind::Write,
                Medium::Device,
                600.0 * MB,
            )],
            probe(),
        );
        let s = capacity(&r).unwrap();
        assert_eq!(
            (s.id.as_str(), s.title.as_str()),
            ("cluster-capacity", "Capacity")
        );
        assert_eq!(s.html.matches("<svg").count(), 1);
        for needle in [
            "this hardware, rf 1, 1 consumer group",
            "this hardware, rf 3, 1 consumer group",
            "baseline: 20.0 MB/s on 10 nodes",
            // 600 MB/s per node flat out against a 20 MB/s cluster: a log axis.
            "log scale",
            "per broker flat out",
        ] {
            assert!(s.html.contains(needle), "'{needle}' not in the section");
        }
        let html = render(&r);
        assert!(html.contains("<a href=\"#cluster-capacity\">Capacity</a>"));
        crate::testing::check_well_formed(&html).unwrap();
        // Without a write figure, no section.
        let none = results_with(vec![], None);
        assert!(capacity(&none).is_none());
    }
}

#[cfg(test)]
mod curve_tests {
    use super::*;

    /// A curve kept without its histogram draws exactly what the histogram would, at every
    /// depth of the nines axis.
    #[test]
    fn a_reduced_curve_draws_what_its_histogram_draws() {
        for (n, spread) in [
            (1u64, 1u64),
            (7, 3),
            (500, 1000),
            (20_000, 50_000),
            (300_000, 7),
        ] {
            let mut h = hist::new_hist();
            for k in 0..n {
                hist::record(&mut h, 1000 + (k * 7919) % spread.max(1));
            }
            let c = Curve::of(&h);
            for d in 1..=MAX_DECADES {
                assert_eq!(
                    c.up_to(d),
                    percentile_curve(&h, d),
                    "n {n} spread {spread} decades {d}"
                );
            }
            for q in LABEL_QUANTILES {
                assert_eq!(c.at(q), h.value_at_quantile(q));
            }
        }
    }
}
