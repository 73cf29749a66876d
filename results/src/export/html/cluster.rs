//! The cluster section, for results of `segbench fleet run`: the hosts with their clock
//! offsets and probe fingerprints, the cluster warnings, each phase's figures, the measured
//! aggregate against the baseline at the same node count, measured scaling against linear
//! scaling on one chart, and the network matrix as a heat map. The tables and lines come from
//! [`crate::export::cluster`], shared with the terminal and Markdown exporters.

use std::fmt::Write as _;

use crate::export::cluster::{self, BaselinePoint};
use crate::fleet::FleetInfo;
use crate::format;
use crate::plot::scale::{linear_ticks, number_label};
use crate::plot::svg::escape;
use crate::plot::{series_stroke, Axis, HeatCell, HeatMap, LineChart, Point, Series, Stroke};
use crate::schema::{Medium, ResultsFile};

use super::charts::MB_AXIS;
use super::curves::mb_axis;
use super::page::html_table;
use super::sweeps::fit_series;
use super::{figure, Section};
use crate::fit::sweeps::fleet_sweeps;

/// Colour of the baseline line.
const BASELINE_COLOR: &str = "#888888";

/// A point of the scaling chart, with its hover text.
fn point(p: &BaselinePoint, y_bytes_per_s: f64, what: &str) -> Point {
    Point {
        tooltip: Some(format!(
            "{}, {} host{}: {what} {}",
            p.workload,
            p.hosts,
            if p.hosts == 1 { "" } else { "s" },
            format::mb_per_s(y_bytes_per_s)
        )),
        ..Point::at(f64::from(p.hosts), y_bytes_per_s / format::MB)
    }
}

/// Measured scaling of every workload (solid, with markers) against its linear scaling
/// (dashed, same colour), its USL fit over the hosts when it has one (thin, dashed past the
/// largest host count) and the baseline × hosts (grey), or `None` without points.
fn scaling_chart(r: &ResultsFile, f: &FleetInfo, points: &[BaselinePoint]) -> Option<String> {
    let mut names: Vec<&str> = points.iter().map(|p| p.workload.as_str()).collect();
    names.dedup();
    // The USL fit of each workload over the scaling phase's hosts, where it has one.
    let fits = fleet_sweeps(r);
    let top = points
        .iter()
        .map(|p| p.measured_bytes_per_s)
        .fold(0.0, f64::max)
        / format::MB;
    let mut series = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mine: Vec<&BaselinePoint> = points.iter().filter(|p| p.workload == *name).collect();
        let cache = if mine.iter().any(|p| p.medium == Some(Medium::PageCache)) {
            format!(" ({})", format::medium_label(Medium::PageCache))
        } else {
            String::new()
        };
        let stroke = series_stroke(i, 2.2);
        series.push(Series {
            label: format!("{name}{cache}: measured"),
            stroke: stroke.clone(),
            points: mine
                .iter()
                .map(|p| point(p, p.measured_bytes_per_s, "measured"))
                .collect(),
            markers: true,
        });
        let linear: Vec<Point> = mine
            .iter()
            .filter_map(|p| p.linear_bytes_per_s.map(|l| point(p, l, "linear")))
            .collect();
        if !linear.is_empty() {
            series.push(Series {
                label: format!("{name}: linear (hosts × 1 host)"),
                stroke: Stroke::dashed(&stroke.color, 1.6, "6 4"),
                points: linear,
                markers: false,
            });
        }
        if let Some(fit) = fits
            .iter()
            .find(|s| s.curve == *name)
            .and_then(|s| s.fit().ok())
        {
            series.extend(fit_series(name, &fit, &stroke.color, false, top * 2.0));
        }
    }
    if series.is_empty() {
        return None;
    }
    let n = f.hosts.len().max(1) as u32;
    let per_node = points
        .first()
        .map(|p| p.baseline_bytes_per_s / f64::from(p.hosts.max(1)));
    if let Some(per_node) = per_node.filter(|b| *b > 0.0) {
        series.push(Series {
            label: format!("baseline × hosts ({} per node)", format::mb_per_s(per_node)),
            stroke: Stroke::dashed(BASELINE_COLOR, 1.6, "2 3"),
            points: (1..=n)
                .map(|k| Point {
                    tooltip: Some(format!(
                        "baseline, {k} nodes: {}",
                        format::mb_per_s(per_node * f64::from(k))
                    )),
                    ..Point::at(f64::from(k), per_node * f64::from(k) / format::MB)
                })
                .collect(),
            markers: false,
        });
    }
    let (y_domain, y_ticks, y_label) = mb_axis(&series);
    // The fits' extrapolation reaches past the hosts measured.
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.x))
        .fold(f64::from(n), f64::max);
    let (x_domain, x_ticks) = linear_ticks(0.0, x_max, (x_max as usize).clamp(1, 10), number_label);
    debug_assert!(y_label.starts_with(MB_AXIS));
    let chart = LineChart {
        title: "Measured cluster scaling against linear and the baseline".into(),
        subtitle: Some(
            "aggregate throughput (all hosts' bytes / (last end − first start)) on 1, 2, 4, … hosts"
                .into(),
        ),
        x: Axis::new("hosts running at once", x_domain, x_ticks),
        y: Axis::new(y_label, y_domain, y_ticks),
        series,
    };
    Some(chart.render())
}

/// The network matrix of `engine` as a heat map.
fn network_heat_map(f: &FleetInfo, engine: &str) -> String {
    let m = cluster::network_matrix(f, engine);
    let cpu = |x: Option<f64>| x.map(format::cpu_s_per_gb).unwrap_or_else(|| "–".into());
    let cells: Vec<Vec<Option<HeatCell>>> = m
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| {
                    c.map(|x| HeatCell {
                        value: x.throughput_bytes_per_s / format::MB,
                        label: format::mb_per_s(x.throughput_bytes_per_s),
                        tooltip: format!(
                            "{} → {}, {engine}: {}; CPU s/GB sender {}, receiver {}",
                            cluster::host_label(f, x.from_rank),
                            cluster::host_label(f, x.to_rank),
                            format::mb_per_s(x.throughput_bytes_per_s),
                            cpu(x.sender_cpu_s_per_gb),
                            cpu(x.sink_cpu_s_per_gb)
                        ),
                    })
                })
                .collect()
        })
        .collect();
    let max = f
        .network
        .iter()
        .filter(|x| x.engine == engine)
        .map(|x| x.throughput_bytes_per_s)
        .fold(0.0, f64::max);
    let labels: Vec<String> = f
        .hosts
        .iter()
        .map(|h| cluster::host_label(f, h.rank))
        .collect();
    HeatMap {
        title: format!("Network throughput, {engine}: sender × receiver"),
        subtitle: Some(
            "each host's consumers send its log to the receiver's sink over the NIC".into(),
        ),
        row_title: "sender".into(),
        column_title: "receiver".into(),
        rows: labels.clone(),
        columns: labels,
        cells,
        missing: "pair not measured".into(),
        unit: "MB/s (1 MB = 10⁶ bytes)".into(),
        max_label: format::mb_per_s(max),
    }
    .render()
}

/// The cluster section, or `None` for single-host results.
pub fn cluster(r: &ResultsFile) -> Option<Section> {
    let f = cluster::fleet(r)?;
    let mut html = format!("<p>{}.</p>\n", escape(&cluster::summary_line(f)));
    html.push_str("<h3>Hosts</h3>\n");
    html.push_str(&html_table(&cluster::hosts_table(f)));
    let warnings = cluster::warnings(f);
    if !warnings.is_empty() {
        html.push_str("<div class=\"banner\"><ul class=\"warnings\">\n");
        for w in &warnings {
            let _ = writeln!(html, "<li>{}</li>", escape(w));
        }
        html.push_str("</ul></div>\n");
    }
    let phases = cluster::phases_table(r, f);
    if !phases.rows.is_empty() {
        html.push_str("<h3>Phases</h3>\n");
        html.push_str(&html_table(&phases));
        html.push_str(
            "<p class=\"foot\">Aggregate: all hosts' bytes / (last end − first start); \
             first-done: bytes moved when the first host finished / that time; medians over \
             repetitions. MB = 10⁶ bytes.</p>\n",
        );
    }
    let points = cluster::baseline_points(r, f);
    if !points.is_empty() {
        html.push_str("<h3>Aggregate against the baseline and linear scaling</h3>\n");
        html.push_str(&html_table(&cluster::baseline_table(r, f)));
        let _ = writeln!(
            html,
            "<p class=\"foot\">{}</p>",
            escape(&cluster::baseline_note(r))
        );
        if let Some(svg) = scaling_chart(r, f, &points) {
            html.push_str(&figure(
                &svg,
                "Dashed: what the hosts would reach if they added up exactly (the capacity \
                 model's assumption); below it, the cluster loses to shared resources or \
                 stragglers.",
            ));
        }
    }
    let engines = cluster::network_engines(f);
    if !engines.is_empty() {
        html.push_str("<h3>Network</h3>\n");
        for e in &engines {
            html.push_str(&figure(
                &network_heat_map(f, e),
                "Darker is faster; the scale runs from 0 to the fastest pair.",
            ));
        }
        html.push_str("<details><summary>Every pair: CPU and retransmits</summary>\n");
        html.push_str(&html_table(&cluster::network_table(f)));
        html.push_str("</details>\n");
    }
    if let Some(t) = cluster::replication_table(r, f) {
        html.push_str("<h3>Replication</h3>\n");
        html.push_str(&html_table(&t));
        html.push_str(
            "<p class=\"foot\">The leader's rows: medians over repetitions; each follower's \
             bytes and CPU are its own, over every repetition.</p>\n",
        );
    }
    Some(Section {
        id: "cluster".into(),
        title: "Cluster".into(),
        html,
    })
}

#[cfg(test)]
mod tests;
