//! The interference section: per mixed workload, one chart of every part's latency curve with
//! the other parts running (solid) and without them (dashed, same colour), and the verdict
//! lines.

use std::fmt::Write as _;

use crate::plot::svg::{escape, Stroke};
use crate::plot::PALETTE;
use crate::schema::Interference;
use crate::schema::ResultsFile;

use super::curves::{latency_curve, percentile_chart};
use super::{figure, Section};

fn chart(workload: &str, pairs: &[&Interference]) -> Option<String> {
    let mut curves = Vec::new();
    for (k, i) in pairs.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let with = format!("{} with {}", i.part, i.beside.join(" + "));
        curves.extend(latency_curve(
            with,
            Stroke::solid(color, 2.0),
            &i.with_latency_ns,
        ));
        // "Without" the parts it is compared with: background parts may still have run.
        let alone = format!("{} without {}", i.part, i.beside.join(" + "));
        curves.extend(latency_curve(
            alone,
            Stroke::dashed(color, 2.0, "7 4"),
            &i.alone_latency_ns,
        ));
    }
    percentile_chart(
        format!("{workload}: latency with the other parts running and alone"),
        "solid: with the others; dashed: alone; all repetitions' histograms merged; log scales"
            .into(),
        curves,
        &[("p99", 0.99), ("p99.9", 0.999)],
    )
}

/// The section, or `None` without a paired mixed workload.
pub fn interference(r: &ResultsFile) -> Option<Section> {
    let all = crate::interference::interferences(&r.workloads);
    if all.is_empty() {
        return None;
    }
    let mut workloads: Vec<&str> = Vec::new();
    for i in &all {
        if !workloads.contains(&i.workload.as_str()) {
            workloads.push(&i.workload);
        }
    }
    let lines = crate::export::interference::lines(r);
    let mut html = String::from("<ul class=\"verdicts\">\n");
    for l in &lines {
        let _ = writeln!(html, "<li>{}</li>", escape(l));
    }
    html.push_str("</ul>\n");
    for w in workloads {
        let pairs: Vec<&Interference> = all.iter().copied().filter(|i| i.workload == w).collect();
        if let Some(svg) = chart(w, &pairs) {
            html.push_str(&figure(
                &svg,
                "Each part's latency measured while the other parts of the mixed workload ran \
                 over the same interval (solid) and the same part run without them (dashed; \
                 background parts run in both). A solid curve above its dashed one is the \
                 interference.",
            ));
        }
    }
    Some(Section {
        id: "interference".into(),
        title: "Interference".into(),
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interference::pair_all;
    use crate::schema::WorkloadResult;
    use crate::testing::{file_of, mixed_row};

    fn row(part: &str, alone: bool, lat_ns: u64) -> WorkloadResult {
        let beside: &[&str] = if alone { &["tail"] } else { &["catch-up"] };
        mixed_row("kafka", part, alone, beside, lat_ns, 40.0)
    }

    #[test]
    fn one_chart_per_mixed_workload_with_both_curves_and_the_verdict() {
        let mut rows = vec![
            row("produce", false, 9_000_000),
            row("produce", true, 400_000),
        ];
        pair_all(&mut rows);
        let s = interference(&file_of(rows)).expect("a section");
        assert_eq!(s.id, "interference");
        assert_eq!(s.html.matches("<svg").count(), 1);
        crate::testing::check_well_formed(&s.html).unwrap();
        assert!(s.html.contains("produce with catch-up"), "{}", s.html);
        assert!(s.html.contains("produce without catch-up"));
        assert!(s.html.contains("kafka: catch-up raises produce p99"));
        // Without a pairing there is no section.
        assert!(interference(&file_of(vec![row("produce", false, 1000)])).is_none());
    }
}
