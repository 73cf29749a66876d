//! The comparison table of a results file, shared by the terminal, Markdown and HTML
//! exporters: one row per workload, cells already formatted.

use crate::format::{self, MISSING};
use crate::schema::{ResultsFile, Status, WorkloadResult};
use crate::table::{one_line, Align, Table};

/// The label of a workload: its name, plus the engine when the name does not show it.
pub(crate) fn workload_label(w: &WorkloadResult) -> String {
    if w.name.contains(&w.engine) {
        w.name.clone()
    } else {
        format!("{} ({})", w.name, w.engine)
    }
}

/// What the note column says about a workload that did not simply complete, or that ran until
/// steady (steady, or NOT STEADY with its window's range and slope).
fn note(w: &WorkloadResult) -> String {
    let reps = w.repetitions.len();
    let plural = if reps == 1 { "" } else { "s" };
    match &w.status {
        Status::Completed => crate::steady::workload_note(&w.repetitions).unwrap_or_default(),
        Status::Skipped { reason } => format!("skipped: {reason}"),
        Status::Failed { error } if reps > 0 => {
            format!("failed after {reps} repetition{plural}: {error}")
        }
        Status::Failed { error } => format!("failed: {error}"),
        Status::Interrupted if reps > 0 => format!("interrupted after {reps} repetition{plural}"),
        Status::Interrupted => "interrupted".to_string(),
    }
}

/// The comparison table of `r`: workload, MB/s median (min–max), records/s, merged p50 / p99 /
/// p99.9 / max latency, CPU s/GB, medium, × baseline (per node), and a note column when a
/// workload was skipped, failed or interrupted.
pub(crate) fn comparison(r: &ResultsFile) -> Table {
    let mut columns: Vec<(String, Align)> = [
        ("workload", Align::Left),
        ("MB/s median (min–max)", Align::Right),
        ("records/s", Align::Right),
        ("p50", Align::Right),
        ("p99", Align::Right),
        ("p99.9", Align::Right),
        ("max", Align::Right),
        ("CPU s/GB", Align::Right),
        ("medium", Align::Left),
        ("× baseline", Align::Right),
    ]
    .into_iter()
    .map(|(h, a)| (h.to_string(), a))
    .collect();
    let per_node = r.baseline.per_node_bytes_per_s;
    let mut rows: Vec<Vec<String>> = r
        .workloads
        .iter()
        .map(|w| {
            let mut row = vec![workload_label(w)];
            match &w.summary {
                Some(s) if s.throughput_bytes_per_s.n > 0 => {
                    let t = &s.throughput_bytes_per_s;
                    let median = format::mb_per_s_value(t.median);
                    row.push(if t.n > 1 && t.min != t.max {
                        format!(
                            "{median} ({}–{})",
                            format::mb_per_s_value(t.min),
                            format::mb_per_s_value(t.max)
                        )
                    } else {
                        median
                    });
                    row.push(format::count(s.records_per_s.median));
                    let l = &s.latency_ns;
                    if l.count > 0 {
                        // Percentiles of all repetitions' histograms added together.
                        row.extend([l.p50, l.p99, l.p999, l.max].map(format::latency));
                    } else if s.p50_ns.n > 0 {
                        // No merged histogram: medians over repetitions, and no max.
                        row.extend(
                            [s.p50_ns.median, s.p99_ns.median, s.p999_ns.median]
                                .map(format::latency),
                        );
                        row.push(MISSING.to_string());
                    } else {
                        row.extend(vec![MISSING.to_string(); 4]);
                    }
                    row.push(
                        s.cpu_s_per_gb
                            .filter(|c| c.n > 0)
                            .map(|c| format::cpu_s_per_gb(c.median))
                            .unwrap_or_else(|| MISSING.to_string()),
                    );
                    row.push(format::medium_label(w.medium).to_string());
                    // A result merged from hosts is their sum: against the baseline of as many nodes.
                    let hosts = crate::merge::host_count(w) as f64;
                    row.push(if per_node > 0.0 {
                        format::ratio(t.median / (per_node * hosts))
                    } else {
                        MISSING.to_string()
                    });
                }
                _ => row.extend(vec![MISSING.to_string(); 9]),
            }
            row.push(note(w));
            row.into_iter().map(|c| one_line(&c)).collect()
        })
        .collect();
    if rows.iter().any(|r| !r[r.len() - 1].is_empty()) {
        columns.push(("note".to_string(), Align::Left));
    } else {
        for r in &mut rows {
            r.pop();
        }
    }
    Table { columns, rows }
}

/// The footnote explaining units and the baseline.
pub(crate) fn footnote(r: &ResultsFile) -> String {
    let b = &r.baseline;
    let hosts = if r.workloads.iter().any(|w| crate::merge::host_count(w) > 1) {
        " × the hosts merged into the row"
    } else {
        ""
    };
    format!(
        "MB = 10^6 bytes; latency per batch (write) or fetch (read), all repetitions merged; \
         × baseline = MB/s ÷ ({} per node{hosts}) ({}).",
        format::mb_per_s(b.per_node_bytes_per_s),
        b.source
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_the_figures() {
        let r = crate::testing::results();
        let t = comparison(&r);
        assert_eq!(t.rows.len(), r.workloads.len());
        assert!(t.rows.iter().all(|row| row.len() == t.columns.len()));
        assert_eq!(t.columns.last().unwrap().0, "note");
        let uring = &t.rows[1];
        assert_eq!(uring[0], "write/uring:direct,qd=8");
        assert_eq!(uring[1], "1000 (950–1010)");
        assert_eq!(uring[8], "device");
        assert_eq!(uring[9], "500×"); // 1000 MB/s against 2 MB/s per node
        assert_eq!(uring[10], "");
        let skipped = &t.rows[2];
        assert_eq!(skipped[1], MISSING);
        assert_eq!(
            skipped[10],
            format!("skipped: {}", crate::testing::SKIP_REASON)
        );
    }

    #[test]
    fn a_row_merged_from_hosts_is_held_against_as_many_nodes() {
        let r = crate::testing::fleet_results();
        let t = comparison(&r);
        let (i, w) = r
            .workloads
            .iter()
            .enumerate()
            .find(|(_, w)| crate::merge::host_count(w) == 3)
            .unwrap();
        let median = w.summary.as_ref().unwrap().throughput_bytes_per_s.median;
        let expected = format::ratio(median / (r.baseline.per_node_bytes_per_s * 3.0));
        assert_eq!(t.rows[i][9], expected);
        assert!(footnote(&r).contains("× the hosts merged into the row"));
        assert!(!footnote(&crate::testing::results()).contains("hosts"));
    }

    #[test]
    fn no_note_column_when_everything_completed_and_notes_stay_on_one_line() {
        let mut r = crate::testing::results();
        r.workloads.retain(|w| w.status == Status::Completed);
        let t = comparison(&r);
        assert_eq!(t.columns.last().unwrap().0, "× baseline");
        r.workloads[0].status = Status::Failed {
            error: "disk full\nwhile appending".into(),
        };
        let t = comparison(&r);
        assert_eq!(
            t.rows[0][10],
            "failed after 3 repetitions: disk full while appending"
        );
    }
}
