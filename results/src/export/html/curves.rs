//! The line charts: latency by percentile, throughput over time, scaling against a swept
//! parameter, and cluster capacity against broker count.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;

use crate::format;
use crate::hist;
use crate::plot::scale::{
    all_powers_of_two, latency_label, linear_ticks, log2_ticks, log_ticks, nines, nines_decades,
    nines_ticks, number_label,
};
use crate::plot::svg::escape;
use crate::plot::{series_stroke, Axis, Domain, LineChart, Point, Series, Tick};
use crate::schema::{Kind, ResultsFile, WorkloadResult};

use super::charts::{chart_label, charted, has_figures, kind_name, sweep_of, MB_AXIS};
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
    let mut curves: Vec<(&WorkloadResult, Histogram<u64>)> = Vec::new();
    for w in charted(r, Some(kind)) {
        let Some(s) = &w.summary else { continue };
        if s.latency_ns.count == 0 || s.latency_ns.hdr.is_empty() {
            continue;
        }
        match hist::decode(&s.latency_ns.hdr) {
            Ok(h) if !h.is_empty() => curves.push((w, h)),
            Ok(_) => {}
            Err(e) => problems.push(format!("{}: {e}", w.name)),
        }
    }
    if curves.is_empty() {
        return None;
    }
    let decades = curves
        .iter()
        .map(|(_, h)| nines_decades(h.len()))
        .max()
        .unwrap_or(2);
    let lo = curves
        .iter()
        .map(|(_, h)| h.min().max(1) as f64)
        .fold(f64::INFINITY, f64::min);
    let hi = curves
        .iter()
        .map(|(_, h)| h.max().max(1) as f64)
        .fold(0.0, f64::max);
    let (y_domain, y_ticks) = log_ticks(lo, hi, latency_label);
    let (x_domain, x_ticks) = nines_ticks(decades);
    let series: Vec<Series> = curves
        .iter()
        .enumerate()
        .map(|(i, (w, h))| {
            let points = percentile_curve(h, decades)
                .into_iter()
                .map(|(x, y)| Point::at(x, y))
                .collect();
            Series {
                label: format!(
                    "{}  (p50 {}, p99 {}, max {})",
                    chart_label(w),
                    format::latency(h.value_at_quantile(0.5)),
                    format::latency(h.value_at_quantile(0.99)),
                    format::latency(h.max())
                ),
                stroke: series_stroke(i, 2.0),
                points,
                markers: false,
            }
        })
        .collect();
    let unit = match kind {
        Kind::Write => "per batch, submit to acknowledgement",
        Kind::Read => "per fetch",
    };
    let chart = LineChart {
        title: format!("{} latency by percentile", capitalised(kind_name(kind))),
        subtitle: Some(format!(
            "latency {unit}; all repetitions' histograms merged; log scales"
        )),
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

/// The repetition with the median throughput (the lower one of the middle two).
fn median_repetition(w: &WorkloadResult) -> Option<&crate::schema::Repetition> {
    let mut reps: Vec<&crate::schema::Repetition> = w.repetitions.iter().collect();
    if reps.is_empty() {
        return None;
    }
    reps.sort_by(|a, b| {
        a.throughput_bytes_per_s
            .total_cmp(&b.throughput_bytes_per_s)
    });
    Some(reps[(reps.len() - 1) / 2])
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

/// Throughput-over-time chart of the workloads of `kind`.
fn timeline_chart(r: &ResultsFile, kind: Kind) -> Option<String> {
    let mut series = Vec::new();
    let (mut t_max, mut y_max) = (0.0f64, 0.0f64);
    let mut interval = None;
    for w in charted(r, Some(kind)) {
        let Some(rep) = median_repetition(w) else {
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
        let i = series.len();
        series.push(Series {
            label: format!("{} (repetition {})", chart_label(w), rep.index + 1),
            stroke: series_stroke(i, 1.8),
            points: pts.into_iter().map(|(x, y)| Point::at(x, y)).collect(),
            markers: false,
        });
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
                     dips that follow are writeback stalls (the dirty limit was reached)."
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

/// The engine spec without the swept option: `uring:direct,qd=4` swept over `qd` is
/// `uring:direct`.
fn engine_without(engine: &str, param: &str) -> String {
    let Some((name, opts)) = engine.split_once(':') else {
        return engine.to_string();
    };
    let kept: Vec<&str> = opts
        .split(',')
        .filter(|o| {
            let key = o.split('=').next().unwrap_or("").trim();
            !key.eq_ignore_ascii_case(param) && !o.trim().is_empty()
        })
        .collect();
    if kept.is_empty() {
        name.to_string()
    } else {
        format!("{name}:{}", kept.join(","))
    }
}

/// Scaling curves: one chart per swept parameter, one curve per (kind, workload group, engine).
pub fn scaling(r: &ResultsFile) -> Option<Section> {
    // param -> curve label -> points
    let mut sweeps: BTreeMap<String, Vec<(String, Vec<Point>)>> = BTreeMap::new();
    for w in r.workloads.iter().filter(|w| has_figures(w)) {
        let Some((param, value)) = sweep_of(w) else {
            continue;
        };
        let Some(s) = &w.summary else { continue };
        let t = &s.throughput_bytes_per_s;
        let engine = engine_without(&w.engine, &param);
        let group = w.name.split_once('/').map(|(g, _)| g).unwrap_or("");
        let label = if group.is_empty() {
            format!("{} {engine}", kind_name(w.kind))
        } else {
            format!("{group}: {engine}")
        };
        let point = Point {
            x: value,
            y: t.median / format::MB,
            low: Some(t.min / format::MB),
            high: Some(t.max / format::MB),
            tooltip: Some(format!(
                "{} = {}: {} (min {}, max {}), {}",
                param,
                format::sig(value),
                format::mb_per_s(t.median),
                format::mb_per_s(t.min),
                format::mb_per_s(t.max),
                w.name
            )),
        };
        let curves = sweeps.entry(param).or_default();
        match curves.iter_mut().find(|(l, _)| *l == label) {
            Some((_, pts)) => pts.push(point),
            None => curves.push((label, vec![point])),
        }
    }
    if sweeps.is_empty() {
        return None;
    }
    let mut html = String::new();
    for (param, curves) in sweeps {
        let values: Vec<f64> = curves
            .iter()
            .flat_map(|(_, p)| p.iter().map(|p| p.x))
            .collect();
        let (x_domain, x_ticks, x_label) = if all_powers_of_two(&values) {
            let (d, t) = log2_ticks(&values);
            (d, t, format!("{param} (log2 scale)"))
        } else {
            let lo = values
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
                .min(0.0);
            let hi = values.iter().copied().fold(0.0, f64::max);
            let (d, t) = linear_ticks(lo, hi, 8, number_label);
            (d, t, param.clone())
        };
        let y_max = curves
            .iter()
            .flat_map(|(_, p)| p.iter().map(|p| p.high.unwrap_or(p.y).max(p.y)))
            .fold(0.0, f64::max);
        let (y_domain, y_ticks) = linear_ticks(0.0, y_max * 1.08, 6, number_label);
        let series = curves
            .into_iter()
            .enumerate()
            .map(|(i, (label, mut points))| {
                points.sort_by(|a, b| a.x.total_cmp(&b.x));
                Series {
                    label,
                    stroke: series_stroke(i, 2.2),
                    points,
                    markers: true,
                }
            })
            .collect();
        let chart = LineChart {
            title: format!("Scaling with {param}"),
            subtitle: Some("median throughput over repetitions; whiskers: min–max".into()),
            x: Axis::new(x_label, x_domain, x_ticks),
            y: Axis::new(MB_AXIS, y_domain, y_ticks),
            series,
        };
        html.push_str(&figure(
            &chart.render(),
            &format!(
                "Each point is one run of the workload at another value of {param}; where the \
                 curve flattens, something else (device, CPU, network) is the limit."
            ),
        ));
    }
    Some(Section {
        id: "scaling".into(),
        title: "Scaling".into(),
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
/// of each measured limit, no spare, no retention), the baseline cluster as a point, and the
/// capacity paragraph of the Markdown report. `None` without a usable disk write figure.
pub fn capacity(r: &ResultsFile) -> Option<Section> {
    use crate::capacity as cap;
    let limits = cap::limits_from_results(r)?;
    let b = &r.baseline;
    let max_nodes = cap::REPORT_MAX_NODES.max(b.nodes);
    let mut series: Vec<Series> = Vec::new();
    for rf in cap::REPORT_REPLICATION {
        let points: Vec<Point> = cap::cluster_curve(&limits, rf, 1, max_nodes)
            .into_iter()
            .map(|(n, w)| Point {
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
    let (x_domain, x_ticks) = linear_ticks(0.0, f64::from(max_nodes), 10, number_label);
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
        "Each broker writes r copies of what is produced and sends r−1+c (REFERENCE: capacity \
         planning); the lowest per-node limit binds. Size a cluster with segbench plan.",
    );
    html.push_str("<ul>\n");
    for line in cap::report_summary(r) {
        let _ = writeln!(html, "<li>{}</li>", escape(&line));
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
        capacity_probe as probe, html_section as section, results_with, with_sweeps,
        workload_with as workload,
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
        let rep = median_repetition(w).unwrap();
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
    fn sweeps_group_by_engine_without_the_swept_option() {
        assert_eq!(engine_without("uring:direct,qd=4", "qd"), "uring:direct");
        assert_eq!(engine_without("uring:qd=4", "qd"), "uring");
        assert_eq!(engine_without("buffered", "partitions"), "buffered");
        let html = render(&with_sweeps());
        let s = section(&html, "scaling");
        assert!(s.contains("Scaling with partitions"));
        assert!(s.contains("partitions (log2 scale)"));
        assert!(
            s.contains(">scale-qd: uring:direct</text>"),
            "one curve for every qd: {s}"
        );
        assert_eq!(s.matches("<circle").count(), 4 + 3);
        for tick in [
            ">1</text>",
            ">2</text>",
            ">4</text>",
            ">8</text>",
            ">16</text>",
        ] {
            assert!(s.contains(tick), "{tick}");
        }
        // Sweep points stay out of the per-workload bar charts but are in the table.
        let tp = section(&html, "throughput");
        assert!(!tp.contains("scale-partitions"));
        assert!(section(&html, "write").contains("scale-partitions/buffered/partitions=4"));
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
        crate::plot::check_well_formed(&html).unwrap();
        // Without a write figure, no section.
        let none = results_with(vec![], None);
        assert!(capacity(&none).is_none());
    }
}
