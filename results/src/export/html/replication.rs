//! The replication section: per acks mode, produce and end-to-end latency curves, the
//! throughput table with the acks=all / acks=1 ratio beside Kreps's 0.54, follower lag over
//! time, ISR events and CPU per role. Tables and lines come from
//! [`crate::export::replication`], shared with the terminal and Markdown exporters.

use std::fmt::Write as _;

use crate::export::replication::{acks_table, cpu_table, events_table, NOTES};
use crate::figures::{ExtraFigures, ReplicationFigures};
use crate::format;
use crate::plot::scale::{linear_ticks, number_label};
use crate::plot::svg::escape;
use crate::plot::{series_stroke, Axis, LineChart, Point, Series, Stroke};
use crate::replication::{self, AcksRow};
use crate::schema::ResultsFile;
use crate::stats::median_repetition;

use super::curves::{latency_curve, percentile_chart};
use super::page::html_table;
use super::{figure, Section};

/// Produce latency (solid) and end-to-end latency (dashed, same colour) per acks mode.
fn latency_chart(rows: &[AcksRow<'_>]) -> Option<String> {
    let mut curves = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let label = format!("{} acks={}", r.group, r.acks);
        let stroke = series_stroke(i, 2.0);
        let dashed = Stroke::dashed(&stroke.color, 1.6, "6 4");
        curves.extend(latency_curve(
            format!("{label}: produce"),
            stroke,
            &r.latency,
        ));
        if let Some(e2e) = &r.e2e {
            curves.extend(latency_curve(format!("{label}: end to end"), dashed, e2e));
        }
    }
    percentile_chart(
        "Replication latency by percentile, per acks mode".into(),
        "solid: produce → acknowledged; dashed: produce → read by a consumer below the high watermark; \
             repetitions merged; log scales"
                            .into(),
        curves,
        &[("p50", 0.5), ("p99", 0.99)],
    )
}

/// Each follower's lag in time over the median repetition of each acks mode.
fn lag_chart(rows: &[AcksRow<'_>]) -> Option<String> {
    let mut series = Vec::new();
    let (mut t_max, mut y_max) = (0.0f64, 0.0f64);
    for r in rows {
        let Some(rep) = median_repetition(&r.w.repetitions) else {
            continue;
        };
        let Some(figures) = ReplicationFigures::of(rep) else {
            continue;
        };
        let points = &figures.follower_lag_timeline;
        let followers = points.first().map_or(0, |p| p.ms.len());
        for f in 0..followers {
            let pts: Vec<Point> = points
                .iter()
                .filter_map(|p| Some((p.at_s, *p.ms.get(f)?)))
                .map(|(t, ms)| {
                    t_max = t_max.max(t);
                    y_max = y_max.max(ms);
                    Point {
                        tooltip: Some(format!(
                            "{} acks={}, follower {}: {} behind at {t:.1} s",
                            r.group,
                            r.acks,
                            f + 1,
                            format::latency(ms * 1e6)
                        )),
                        ..Point::at(t, ms)
                    }
                })
                .collect();
            if !pts.is_empty() {
                series.push(Series {
                    label: format!("{} acks={}, follower {}", r.group, r.acks, f + 1),
                    stroke: series_stroke(series.len(), 1.6),
                    points: pts,
                    markers: false,
                });
            }
        }
    }
    if series.is_empty() {
        return None;
    }
    let (x_domain, x_ticks) = linear_ticks(0.0, t_max.max(0.1), 8, number_label);
    let (y_domain, y_ticks) = linear_ticks(0.0, y_max.max(1.0), 6, number_label);
    let chart = LineChart {
        title: "Follower lag over time".into(),
        subtitle: Some(
            "time since each follower's log end last reached the leader's, every 100 ms of the \
             median repetition, on the leader's clock"
                .into(),
        ),
        x: Axis::new("seconds from the producer's start", x_domain, x_ticks),
        y: Axis::new("lag (ms)", y_domain, y_ticks),
        series,
    };
    Some(chart.render())
}

/// The replication section, or `None` without replication rows.
pub fn replication(r: &ResultsFile) -> Option<Section> {
    let rows = replication::rows(r);
    if rows.is_empty() {
        return None;
    }
    let mut html = String::new();
    html.push_str(&html_table(&acks_table(&rows)));
    for line in replication::ratio_lines(&rows) {
        let _ = writeln!(html, "<p>{}</p>", escape(&line));
    }
    if let Some(svg) = latency_chart(&rows) {
        html.push_str(&figure(
            &svg,
            "The gap between a solid curve and its dashed one is the time from acknowledgement to \
             visibility: for acks=0 and 1 it is the followers' fetch round trip. Lower is better.",
        ));
    }
    if let Some(svg) = lag_chart(&rows) {
        html.push_str(&figure(
            &svg,
            "A follower that stays behind for replica.lag.time.max.ms leaves the ISR (events below).",
        ));
    }
    html.push_str("<h3>CPU per role</h3>\n");
    html.push_str(&html_table(&cpu_table(&rows)));
    match events_table(&rows) {
        Some((t, more)) => {
            html.push_str("<h3>ISR events</h3>\n");
            html.push_str(&html_table(&t));
            if more > 0 {
                let _ = writeln!(html, "<p class=\"foot\">and {more} more.</p>");
            }
        }
        None => html.push_str("<p>No ISR changes: every follower stayed in sync.</p>\n"),
    }
    let _ = writeln!(html, "<p class=\"foot\">{}</p>", escape(NOTES));
    Some(Section {
        id: "replication".into(),
        title: "Replication".into(),
        html,
    })
}
