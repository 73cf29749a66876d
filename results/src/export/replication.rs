//! The replication part of the reports, shared by the terminal, Markdown and HTML exporters:
//! per acks mode, throughput, produce and end-to-end latency, follower lag, ISR changes and
//! NotEnoughReplicas ([`acks_table`]); CPU per role ([`cpu_table`]); ISR events
//! ([`events_table`]); and the acks=all / acks=1 ratio beside Kreps's 0.54
//! ([`crate::replication::ratio_lines`]).

use crate::figures::ReplicationRole;
use crate::format::{self, MISSING};
use crate::replication::AcksRow;
use crate::schema::LatencySummary;

use crate::table::{Align, Table};

/// Most ISR events listed; the rest are counted.
pub const MAX_EVENTS: usize = 40;

fn lat(s: Option<&LatencySummary>, q: fn(&LatencySummary) -> u64) -> String {
    s.filter(|s| s.count > 0)
        .map_or(MISSING.to_string(), |s| format::latency(q(s)))
}

/// Throughput, latency, lag and ISR figures, one row per acks mode.
pub fn acks_table(rows: &[AcksRow<'_>]) -> Table {
    let cols = [
        ("workload", Align::Left),
        ("acks", Align::Left),
        ("rf", Align::Right),
        ("MB/s", Align::Right),
        ("records/s", Align::Right),
        ("produce p50", Align::Right),
        ("p99", Align::Right),
        ("p99.9", Align::Right),
        ("e2e p50", Align::Right),
        ("e2e p99", Align::Right),
        ("lag max", Align::Right),
        ("ISR −/+", Align::Right),
        ("NotEnoughReplicas", Align::Right),
    ];
    Table {
        columns: cols.iter().map(|(h, a)| (h.to_string(), *a)).collect(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.group.clone(),
                    r.acks.clone(),
                    r.rf.to_string(),
                    format::mb_per_s_value(r.bytes_per_s),
                    format::count_per_s(r.records_per_s),
                    lat(Some(&r.latency), |s| s.p50),
                    lat(Some(&r.latency), |s| s.p99),
                    lat(Some(&r.latency), |s| s.p999),
                    lat(r.e2e.as_ref(), |s| s.p50),
                    lat(r.e2e.as_ref(), |s| s.p99),
                    lat(r.lag_time.as_ref(), |s| s.max),
                    format!("{}/{}", r.isr_shrinks, r.isr_expands),
                    r.not_enough_replicas.to_string(),
                ]
            })
            .collect(),
    }
}

/// CPU seconds per GB produced, per role, and each follower's write rate.
pub fn cpu_table(rows: &[AcksRow<'_>]) -> Table {
    let mut columns = vec![
        ("workload".to_string(), Align::Left),
        ("acks".to_string(), Align::Left),
    ];
    columns.extend(
        ReplicationRole::ALL
            .iter()
            .map(|r| (format!("{} CPU s/GB", r.name()), Align::Right)),
    );
    columns.push(("follower writes".into(), Align::Right));
    columns.push(("sent / produced".into(), Align::Right));
    Table {
        columns,
        rows: rows
            .iter()
            .map(|r| {
                let mut row = vec![r.group.clone(), r.acks.clone()];
                row.extend(
                    r.cpu_s_per_gb
                        .iter()
                        .map(|(_, c)| c.map_or(MISSING.to_string(), format::cpu_s_per_gb)),
                );
                row.push(
                    r.follower_write_bytes_per_s
                        .map_or(MISSING.to_string(), format::mb_per_s),
                );
                row.push(
                    r.follower_bytes_per_produced
                        .map_or(MISSING.to_string(), format::ratio),
                );
                row
            })
            .collect(),
    }
}

/// Every ISR change (at most [`MAX_EVENTS`]), or `None` without any; the second value is
/// how many were left out.
pub fn events_table(rows: &[AcksRow<'_>]) -> Option<(Table, usize)> {
    let all: Vec<(&AcksRow<'_>, &crate::replication::IsrChange)> = rows
        .iter()
        .flat_map(|r| r.events.iter().map(move |e| (r, e)))
        .collect();
    if all.is_empty() {
        return None;
    }
    let cols = [
        ("workload", Align::Left),
        ("acks", Align::Left),
        ("rep", Align::Right),
        ("at", Align::Right),
        ("partition", Align::Right),
        ("follower", Align::Right),
        ("change", Align::Left),
    ];
    let table = Table {
        columns: cols.iter().map(|(h, a)| (h.to_string(), *a)).collect(),
        rows: all
            .iter()
            .take(MAX_EVENTS)
            .map(|(r, e)| {
                vec![
                    r.group.clone(),
                    r.acks.clone(),
                    e.repetition.to_string(),
                    format!("{:.3} s", e.at_s),
                    e.partition.to_string(),
                    e.follower.to_string(),
                    if e.shrink { "left the ISR" } else { "rejoined" }.to_string(),
                ]
            })
            .collect(),
    };
    Some((table, all.len().saturating_sub(MAX_EVENTS)))
}

/// The notes under the tables: what each figure is.
pub const NOTES: &str =
    "produce latency from the produce's start (its intended start with --rate) to its \
acknowledgement; e2e from the produce's start to a consumer having read the batch below the high \
watermark; lag max: longest time a follower's log end stayed behind the leader's (sampled every \
10 ms); all on the leader's clock. sent / produced: bytes the leader sent its followers per byte \
produced (rf − 1 when they kept up).";

#[cfg(test)]
mod tests {
    use crate::export::{html::HtmlExporter, markdown, terminal};
    use crate::testing::{html_section, replication_results, results};

    #[test]
    fn every_report_has_a_replication_part_only_with_replication_rows() {
        let r = replication_results();
        let html = HtmlExporter::new().render(&r);
        let sec = html_section(&html, "replication");
        for needle in [
            "acks=all / acks=1 records/s = 0.600×",
            "0.54×",
            "Replication latency by percentile",
            "replicate acks=all: end to end",
            "Follower lag over time",
            "follower CPU s/GB",
            "ISR events",
            "left the ISR",
        ] {
            assert!(sec.contains(needle), "html: {needle}");
        }
        let md = markdown::render(&r);
        assert!(md.contains("**Replication**") && md.contains("0.600×") && md.contains("rejoined"));
        let text = terminal::render(&r);
        assert!(text.contains("replication:") && text.contains("NotEnoughReplicas"));

        let plain = results();
        assert!(!HtmlExporter::new()
            .render(&plain)
            .contains("<section id=\"replication\">"));
        assert!(!markdown::render(&plain).contains("**Replication**"));
        assert!(!terminal::render(&plain).contains("replication:"));
    }
}
