//! The scaling charts: throughput against each swept parameter ([`crate::fit::sweeps`]), one
//! curve per workload, with its Universal Scalability Law fit drawn through the measured points
//! and extrapolated (dashed) to twice the largest N measured; σ, κ and N* in the legend, and
//! why a sweep has no fit in the caption.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::fit::sweeps::{fit_label, fleet_sweeps, n_label, workload_sweeps, Sweep};
use crate::fit::UslFit;
use crate::format;
use crate::plot::scale::{all_powers_of_two, linear_ticks, log2_ticks, number_label};
use crate::plot::svg::escape;
use crate::plot::{series_stroke, Axis, LineChart, Point, Series, Stroke};
use crate::schema::ResultsFile;

use super::charts::MB_AXIS;
use super::{figure, Section};

/// How far the fitted curve is extrapolated: this times the largest N measured.
pub const EXTRAPOLATION: f64 = 2.0;
/// Samples of a fitted curve over the measured range, and over the extrapolation.
const CURVE_SAMPLES: usize = 40;
/// The extrapolation stops where it would climb above this times the largest point measured
/// (a superlinear fit grows without bound).
const EXTRAPOLATION_CEILING: f64 = 2.0;

/// `count + 1` values from `a` to `b`, geometric when `log` (a log axis), else evenly spaced.
fn samples(a: f64, b: f64, count: usize, log: bool) -> Vec<f64> {
    (0..=count)
        .map(|i| {
            let t = i as f64 / count as f64;
            if log {
                a * (b / a).powf(t)
            } else {
                a + (b - a) * t
            }
        })
        .collect()
}

/// The fitted curve of `fit` in MB/s: a thin solid line over the measured range (labelled with
/// σ, κ, N* and R²) and a dashed one, without a legend entry, from the largest N measured to
/// [`EXTRAPOLATION`] times it, cut where it would pass `ceiling_mb`. Both in `color`.
pub(super) fn fit_series(
    curve: &str,
    fit: &UslFit,
    color: &str,
    log: bool,
    ceiling_mb: f64,
) -> Vec<Series> {
    let point = |n: f64| {
        let y = fit.x_at(n);
        Point {
            tooltip: Some(format!(
                "{curve}, USL fit at N = {}: {}",
                format::sig(n),
                format::mb_per_s(y)
            )),
            ..Point::at(n, y / format::MB)
        }
    };
    let fitted: Vec<Point> = samples(fit.n_min, fit.n_max, CURVE_SAMPLES, log)
        .into_iter()
        .map(point)
        .collect();
    let extrapolated: Vec<Point> =
        samples(fit.n_max, fit.n_max * EXTRAPOLATION, CURVE_SAMPLES / 2, log)
            .into_iter()
            .map(point)
            .take_while(|p| p.y.is_finite() && p.y > 0.0 && p.y <= ceiling_mb)
            .collect();
    let mut out = vec![Series {
        label: format!("{curve}: USL fit ({})", fit_label(fit)),
        stroke: Stroke::solid(color, 1.3),
        points: fitted,
        markers: false,
    }];
    if extrapolated.len() > 1 {
        out.push(Series {
            label: String::new(),
            stroke: Stroke::dashed(color, 1.3, "5 4"),
            points: extrapolated,
            markers: false,
        });
    }
    out
}

/// The measured points of `sweep` as a series (markers, min–max whiskers) in MB/s.
fn measured_series(sweep: &Sweep, stroke: Stroke) -> Series {
    let points = sweep
        .points
        .iter()
        .map(|p| Point {
            x: p.n,
            y: p.bytes_per_s / format::MB,
            low: p.min_bytes_per_s.map(|v| v / format::MB),
            high: p.max_bytes_per_s.map(|v| v / format::MB),
            tooltip: Some(format!(
                "{} = {}: {}{}, {}",
                sweep.param,
                n_label(p.n),
                format::mb_per_s(p.bytes_per_s),
                match (p.min_bytes_per_s, p.max_bytes_per_s) {
                    (Some(lo), Some(hi)) => format!(
                        " (min {}, max {})",
                        format::mb_per_s(lo),
                        format::mb_per_s(hi)
                    ),
                    _ => String::new(),
                },
                p.workload
            )),
        })
        .collect();
    Series {
        label: sweep.curve.clone(),
        stroke,
        points,
        markers: true,
    }
}

/// The chart of the sweeps of one parameter, and the caption's notes on the fits.
fn sweep_chart(param: &str, sweeps: &[&Sweep]) -> (String, Vec<String>) {
    let fits: Vec<Result<UslFit, String>> = sweeps
        .iter()
        .map(|s| s.fit().map_err(|e| e.to_string()))
        .collect();
    let mut xs: Vec<f64> = sweeps
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.n))
        .collect();
    let fitted = fits.iter().flatten().map(|f| f.n_max).fold(0.0, f64::max);
    if fitted > 0.0 {
        xs.push(fitted * EXTRAPOLATION);
    }
    let log = all_powers_of_two(&xs);
    let measured_max = sweeps
        .iter()
        .flat_map(|s| {
            s.points.iter().map(|p| {
                p.max_bytes_per_s
                    .unwrap_or(p.bytes_per_s)
                    .max(p.bytes_per_s)
            })
        })
        .fold(0.0, f64::max)
        / format::MB;
    let mut series = Vec::new();
    let mut notes = Vec::new();
    for (i, (sweep, fit)) in sweeps.iter().zip(&fits).enumerate() {
        let stroke = series_stroke(i, 2.2);
        let color = stroke.color.clone();
        series.push(measured_series(sweep, stroke));
        match fit {
            Ok(f) => {
                series.extend(fit_series(
                    &sweep.curve,
                    f,
                    &color,
                    log,
                    measured_max * EXTRAPOLATION_CEILING,
                ));
                if f.superlinear() {
                    notes.push(format!(
                        "{}: σ < 0, the points grow faster than linearly (kept as fitted, not \
                         clamped to 0)",
                        sweep.curve
                    ));
                }
            }
            Err(why) => notes.push(format!("{}: no USL fit, {why}", sweep.curve)),
        }
    }
    let (x_domain, x_ticks, x_label) = if log {
        let (d, t) = log2_ticks(&xs);
        (d, t, format!("{param} (log2 scale)"))
    } else {
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
        let hi = xs.iter().copied().fold(0.0, f64::max);
        let (d, t) = linear_ticks(lo, hi, 8, number_label);
        (d, t, param.to_string())
    };
    let y_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.high.unwrap_or(p.y).max(p.y)))
        .fold(0.0, f64::max);
    let (y_domain, y_ticks) = linear_ticks(0.0, y_max * 1.08, 6, number_label);
    let chart = LineChart {
        title: format!("Scaling with {param}"),
        subtitle: Some(
            "median throughput over repetitions; whiskers: min–max; thin: USL fit, dashed: its \
             extrapolation to 2× the largest value measured"
                .into(),
        ),
        x: Axis::new(x_label, x_domain, x_ticks),
        y: Axis::new(MB_AXIS, y_domain, y_ticks),
        series,
    };
    (chart.render(), notes)
}

/// Scaling curves: one chart per swept parameter, one curve per (kind, workload group,
/// engine), each with its USL fit.
pub fn scaling(r: &ResultsFile) -> Option<Section> {
    let all = workload_sweeps(r);
    let mut by_param: BTreeMap<&str, Vec<&Sweep>> = BTreeMap::new();
    for s in &all {
        by_param.entry(s.param.as_str()).or_default().push(s);
    }
    if by_param.is_empty() {
        return None;
    }
    let mut html = String::new();
    for (param, sweeps) in by_param {
        let (svg, notes) = sweep_chart(param, &sweeps);
        let mut caption = format!(
            "Each point is one run of the workload at another value of {param}; where the curve \
             flattens, something else (device, CPU, network) is the limit. The thin line is \
             Gunther's Universal Scalability Law X(N) = λN / (1 + σ(N − 1) + κN(N − 1)) fitted \
             by least squares: σ is contention, κ coherency cost, N* = √((1 − σ)/κ) where the \
             fitted throughput peaks."
        );
        for n in notes {
            let _ = write!(caption, " {n}.");
        }
        html.push_str(&figure(&svg, &caption));
    }
    let _ = writeln!(
        html,
        "<p class=\"foot\">{}</p>",
        escape("The fits as a table: segbench fit RESULTS.json (or --json).")
    );
    Some(Section {
        id: "scaling".into(),
        title: "Scaling".into(),
        html,
    })
}

/// What the capacity chart adds from the sweeps: the fleet's measured aggregates against hosts
/// (markers), and for the first fleet workload with a USL fit, each of `rf_curves` (rf, linear
/// cluster curve in bytes/s by brokers) scaled by that fit's efficiency 1 / (1 + σ(N − 1) +
/// κN(N − 1)) (dashed); then one sentence per sweep fit (or why there is none), for the list
/// under the chart. Series strokes start at palette index `first`.
pub(super) fn capacity_overlay(
    r: &ResultsFile,
    rf_curves: &[(u32, Vec<(u32, f64)>)],
    first: usize,
) -> (Vec<Series>, Vec<String>) {
    let mut series = Vec::new();
    let fleet = fleet_sweeps(r);
    for s in &fleet {
        let mut m = measured_series(s, series_stroke(first + series.len(), 2.0));
        m.label = format!("fleet measured: {} (hosts running it at once)", s.curve);
        series.push(m);
    }
    if let Some((s, f)) = fleet.iter().find_map(|s| s.fit().ok().map(|f| (s, f))) {
        for (i, (rf, curve)) in rf_curves.iter().enumerate() {
            let color = series_stroke(i, 2.2).color;
            series.push(Series {
                label: format!(
                    "rf {rf} with the hosts' contention (USL of {}: {})",
                    s.curve,
                    fit_label(&f)
                ),
                stroke: Stroke::dashed(&color, 1.6, "6 3"),
                points: curve
                    .iter()
                    .map(|&(n, w)| {
                        let n = f64::from(n);
                        let y = w * f.x_at(n) / (n * f.lambda);
                        Point {
                            tooltip: Some(format!(
                                "rf {rf}, {n} brokers with contention: {}",
                                format::mb_per_s(y)
                            )),
                            ..Point::at(n, y / format::MB)
                        }
                    })
                    .collect(),
                markers: false,
            });
        }
    }
    let lines = workload_sweeps(r)
        .iter()
        .chain(&fleet)
        .map(|s| match s.fit() {
            Ok(f) => format!(
                "USL, {} over {}: {} (λ {}).",
                s.curve,
                s.param,
                fit_label(&f),
                format::mb_per_s(f.lambda)
            ),
            Err(e) => format!("USL, {} over {}: no fit, {e}.", s.curve, s.param),
        })
        .collect();
    (series, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::export::html::render;
    use crate::testing::{html_section as section, with_sweeps};

    #[test]
    fn sweep_charts_draw_the_fit_and_its_dashed_extrapolation() {
        let html = render(&with_sweeps());
        let s = section(&html, "scaling");
        assert!(s.contains("Scaling with partitions"));
        assert!(s.contains("partitions (log2 scale)"));
        assert!(
            s.contains(">scale-qd: uring:direct</text>"),
            "one curve for every qd: {s}"
        );
        // Markers at the measured points only (4 partitions, 3 queue depths).
        assert_eq!(s.matches("<circle").count(), 4 + 3);
        // The partitions sweep (4 points) is fitted and extrapolated to 16 = 2 × 8.
        assert!(s.contains("scale-partitions: buffered: USL fit (σ"), "{s}");
        assert!(
            s.contains("stroke-dasharray=\"5 4\""),
            "dashed extrapolation"
        );
        for tick in [
            ">1</text>",
            ">2</text>",
            ">4</text>",
            ">8</text>",
            ">16</text>",
        ] {
            assert!(s.contains(tick), "{tick}");
        }
        // The qd sweep (3 points) says why it has no fit.
        assert!(
            s.contains("scale-qd: uring:direct: no USL fit, 3 measured points"),
            "{s}"
        );
        // Sweep points stay out of the per-workload bar charts but are in the table.
        let tp = section(&html, "throughput");
        assert!(!tp.contains("scale-partitions"));
        assert!(section(&html, "write").contains("scale-partitions/buffered/partitions=4"));
        crate::testing::check_well_formed(&html).unwrap();
    }

    #[test]
    fn the_extrapolation_stops_below_the_ceiling() {
        // A superlinear fit (κ = 0, σ < 0) grows fast past the points: the dashed line stops.
        let fit = UslFit {
            lambda: 10e6,
            sigma: -0.02,
            kappa: 0.0,
            r_squared: Some(1.0),
            points: 4,
            n_min: 1.0,
            n_max: 8.0,
        };
        let top = fit.x_at(8.0) / format::MB;
        let s = fit_series("c", &fit, "#000", true, top * 1.2);
        assert_eq!(s.len(), 2);
        assert!(s[0].label.contains("superlinear"), "{}", s[0].label);
        assert!(
            s[1].label.is_empty(),
            "no legend entry for the extrapolation"
        );
        assert!(s[1].points.iter().all(|p| p.y <= top * 1.2));
        assert!(s[1].points.last().unwrap().x < 16.0);
        // With room, it reaches 2 × the largest N.
        let s = fit_series("c", &fit, "#000", false, f64::INFINITY);
        assert!((s[1].points.last().unwrap().x - 16.0).abs() < 1e-9);
        assert_eq!(s[0].points.first().unwrap().x, 1.0);
    }

    /// Fleet results whose scaling phase ran write/direct on 1, 2, 4 and 8 hosts, on the USL
    /// curve λ = 100 MB/s, σ = 0.05, κ = 0.01.
    fn fleet_on_a_usl_curve() -> ResultsFile {
        let d = |n: f64| 1.0 + 0.05 * (n - 1.0) + 0.01 * n * (n - 1.0);
        let mut r = crate::testing::fleet_results();
        r.fleet.as_mut().unwrap().scaling = [1u32, 2, 4, 8]
            .iter()
            .map(|&h| crate::fleet::ScalingRow {
                hosts: h,
                workload: "write/direct".into(),
                aggregate_bytes_per_s: 100e6 * f64::from(h) / d(f64::from(h)),
            })
            .collect();
        r
    }

    #[test]
    fn the_cluster_scaling_chart_draws_the_hosts_fit() {
        let s = crate::export::html::cluster(&fleet_on_a_usl_curve()).unwrap();
        assert!(
            s.html
                .contains(">write/direct: USL fit (σ 0.0500, κ 0.0100, N* 9.75"),
            "{}",
            s.html
        );
        assert!(s.html.contains(">16</text>"), "extrapolated to 2 × 8 hosts");
        crate::testing::check_well_formed(&s.html).unwrap();
    }

    #[test]
    fn capacity_overlay_slows_the_cluster_curves_by_the_hosts_fit() {
        let (sigma, kappa) = (0.05, 0.01);
        let d = |n: f64| 1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0);
        let r = fleet_on_a_usl_curve();
        let linear = |from: u32| -> Vec<(u32, f64)> {
            (from..=10).map(|n| (n, 500e6 * f64::from(n))).collect()
        };
        let curves = vec![(1, linear(1)), (3, linear(3))];
        let (series, lines) = capacity_overlay(&r, &curves, 3);
        assert_eq!(series.len(), 3, "{series:?}");
        assert_eq!(
            series[0].label,
            "fleet measured: write/direct (hosts running it at once)"
        );
        assert_eq!(series[0].points.len(), 4);
        assert!(series[0].markers);
        assert!(series[1]
            .label
            .starts_with("rf 1 with the hosts' contention (USL of write/direct: σ 0.05"));
        assert!(series[2].label.starts_with("rf 3 "));
        assert!(series[1].stroke.dash.is_some());
        // At 8 brokers: the linear 4000 MB/s times 1 / D(8).
        let at8 = series[1].points.iter().find(|p| p.x == 8.0).unwrap();
        assert!((at8.y - 4000.0 / d(8.0)).abs() < 1e-3 * at8.y, "{at8:?}");
        assert_eq!(series[2].points[0].x, 3.0);
        assert!(
            lines.iter().any(|l| l.starts_with("USL, write/direct over hosts: σ 0.0500, κ 0.0100, N* 9.75")),
            "{lines:?}"
        );
        // Without a fleet: no series, and the workload sweeps' fits (or why not) as lines.
        let (series, lines) = capacity_overlay(&with_sweeps(), &curves, 3);
        assert!(series.is_empty());
        assert_eq!(lines.len(), 2);
        assert!(lines[1].contains("no fit, 3 measured points"), "{lines:?}");
    }

    #[test]
    fn samples_are_geometric_on_a_log_axis() {
        let g = samples(1.0, 16.0, 4, true);
        assert!(g
            .iter()
            .zip([1.0, 2.0, 4.0, 8.0, 16.0])
            .all(|(a, b)| (a - b).abs() < 1e-9));
        assert_eq!(samples(0.0, 8.0, 4, false), [0.0, 2.0, 4.0, 6.0, 8.0]);
    }
}
