//! Tests of the line and bar charts: layout, legends, labels and well-formed SVG.

use super::*;
use crate::plot::scale::{linear_ticks, number_label};
use crate::testing::check_well_formed;

fn axis(lo: f64, hi: f64, label: &str) -> Axis {
    let (domain, ticks) = linear_ticks(lo, hi, 5, number_label);
    Axis {
        label: label.into(),
        domain,
        ticks,
    }
}

#[test]
fn line_chart_draws_axes_series_whiskers_and_legend() {
    let c = LineChart {
        title: "Scaling <partitions>".into(),
        subtitle: Some("median".into()),
        x: axis(0.0, 16.0, "partitions"),
        y: axis(0.0, 1000.0, "throughput (MB/s)"),
        series: vec![Series {
            label: "buffered & co".into(),
            stroke: series_stroke(0, 2.0),
            points: vec![
                Point {
                    x: 1.0,
                    y: 100.0,
                    low: Some(90.0),
                    high: Some(120.0),
                    tooltip: Some("1: 100".into()),
                },
                Point {
                    x: 16.0,
                    y: 900.0,
                    ..Default::default()
                },
            ],
            markers: true,
        }],
    };
    let out = c.render();
    check_well_formed(&out).unwrap();
    assert!(out.contains("Scaling &lt;partitions&gt;"), "{out}");
    assert!(out.contains(">throughput (MB/s)</text>"));
    assert!(out.contains(">partitions</text>"));
    assert!(out.contains(">buffered &amp; co</text>"), "legend");
    assert!(
        out.contains(">min–max over repetitions</text>"),
        "whisker legend"
    );
    assert_eq!(out.matches("<circle").count(), 2);
    assert!(out.contains(">1000</text>"), "tick label");
}

#[test]
fn bar_chart_rotates_long_labels_and_keeps_them_inside() {
    let bars: Vec<Bar> = (0..12)
        .map(|i| Bar {
            label: format!("read-cold/sendfile-with-a-long-name-{i}"),
            value: 100.0 * i as f64,
            low: Some(90.0 * i as f64),
            high: Some(110.0 * i as f64),
            color: PALETTE[1].into(),
            annotation: Some(format!("{}", 100 * i)),
            tooltip: "t".into(),
            gap_before: i == 6,
        })
        .collect();
    let c = BarChart {
        title: "Throughput".into(),
        subtitle: None,
        x_label: "workload".into(),
        y: axis(0.0, 1210.0, "MB/s"),
        bars,
        reference: Some(ReferenceLine {
            value: 2.0,
            label: "baseline\n2 MB/s\nper node".into(),
            stroke: Stroke::dashed("#e15759", 2.0, "6 4"),
        }),
        legend: vec![LegendItem {
            label: "read".into(),
            mark: LegendMark::Swatch(PALETTE[1].into()),
        }],
    };
    let out = c.render();
    check_well_formed(&out).unwrap();
    assert!(out.contains("rotate(-35"), "long labels are rotated");
    for line in [">baseline</text>", ">2 MB/s</text>", ">per node</text>"] {
        assert!(out.contains(line), "{line}");
    }
    assert_eq!(
        reference_lines("a bb ccc dddd eeeee ffffff"),
        ["a bb ccc dddd", "eeeee ffffff"]
    );
    assert_eq!(
        out.matches("<rect").count(),
        1 + 12 + 1,
        "background, bars, legend swatch"
    );
    // No text starts left of the chart: rotated labels end at x >= their width * cos.
    let lefts: Vec<f64> = out
        .match_indices("<text x=\"")
        .map(|(i, _)| {
            let rest = &out[i + 9..];
            rest[..rest.find('"').unwrap()].parse::<f64>().unwrap()
        })
        .collect();
    assert!(lefts.iter().all(|x| *x >= 0.0), "{lefts:?}");
}

#[test]
fn legends_line_up_in_columns_unless_flowing_saves_rows() {
    let item = |l: &str| LegendItem {
        label: l.into(),
        mark: LegendMark::Whisker,
    };
    let same: Vec<LegendItem> = (0..5).map(|i| item(&format!("workload-{i}"))).collect();
    let rows = legend_layout(&same, 300.0);
    assert!(rows.len() > 1);
    for r in &rows {
        for (i, (x, _)) in r.iter().enumerate() {
            assert_eq!(*x, rows[0][i].0, "columns line up: {rows:?}");
        }
    }
    // One long entry would make every column wide: flow instead.
    let mut mixed: Vec<LegendItem> = (0..4).map(|i| item(&format!("w{i}"))).collect();
    mixed.push(item(&"x".repeat(60)));
    assert_eq!(legend_layout(&mixed, 600.0).len(), 2);
    assert_eq!(legend_layout(&mixed[..2], 600.0).len(), 1);
}

#[test]
fn series_strokes_differ_beyond_the_palette() {
    assert_eq!(series_stroke(0, 2.0).dash, None);
    assert_eq!(series_stroke(10, 2.0).color, series_stroke(0, 2.0).color);
    assert_ne!(series_stroke(10, 2.0).dash, series_stroke(0, 2.0).dash);
}
