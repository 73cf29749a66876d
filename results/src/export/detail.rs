//! The terminal report's detail lines under the table: sync-call latency for flushing write
//! workloads ("flushes:") and, for read workloads, what the table does not show (CPU per GB
//! on both sides, residency, device reads, consumer skew).

use crate::figures::{ExtraFigures, ReadFigures, WriteFigures};
use crate::format::latency;
use crate::hist::merge_summaries;
use crate::schema::{Kind, LatencySummary, ResultsFile, WorkloadResult};
use crate::stats::median_or_none;

/// One line per flushing write workload: sync-call p50, p99 and max and how many took over
/// 1000 ms (ZooKeeper's `fsync.warningthresholdms`), from the repetitions' flush histograms
/// added up.
pub fn flush_lines(file: &ResultsFile) -> Vec<String> {
    let mut out = Vec::new();
    for w in &file.workloads {
        let flushes = w
            .config
            .get("flush")
            .and_then(|v| v.as_str())
            .unwrap_or("never");
        if w.kind != Kind::Write || flushes == "never" || w.repetitions.is_empty() {
            continue;
        }
        let sync = w
            .config
            .get("sync")
            .and_then(|v| v.as_str())
            .unwrap_or("fdatasync");
        let hists: Vec<&LatencySummary> = w
            .repetitions
            .iter()
            .filter_map(|r| r.flush_latency_ns.as_ref())
            .collect();
        if hists.is_empty() {
            out.push(format!(
                "{}: {sync} linked to each write (io_uring): its time is inside the batch latency",
                w.name
            ));
            continue;
        }
        let Ok(all) = merge_summaries(hists) else {
            continue;
        };
        let slow: u64 = w
            .repetitions
            .iter()
            .filter_map(|r| WriteFigures::of(r)?.flushes_over_1000ms)
            .sum();
        out.push(format!(
            "{}: {} {sync} calls, p50 {}, p99 {}, max {}, {slow} over 1000 ms",
            w.name,
            all.count,
            latency(all.p50),
            latency(all.p99),
            latency(all.max),
        ));
    }
    out
}

/// The terminal report ([`super::terminal::render`]), then the [`flush_lines`] under
/// "flushes:" when there are any, then a mixed workload's interference lines
/// ([`super::interference::text`]).
pub fn with_flushes(file: &ResultsFile) -> String {
    let mut text = super::terminal::render(file);
    let lines = flush_lines(file);
    if !lines.is_empty() {
        text.push_str("\nflushes:\n");
        for l in lines {
            text.push_str(&format!("  {l}\n"));
        }
    }
    text.push_str(&super::interference::text(file));
    text
}

/// Median ([`median_or_none`]) of one read figure over the repetitions.
fn median_read_figure(w: &WorkloadResult, pick: fn(&ReadFigures) -> Option<f64>) -> Option<f64> {
    let v: Vec<f64> = w
        .repetitions
        .iter()
        .filter_map(|r| ReadFigures::of(r).as_ref().and_then(pick))
        .collect();
    median_or_none(&v)
}

/// One line per read workload with what the table does not show: CPU per GB on both sides,
/// residency before the run, bytes read from the device, consumer skew.
pub fn read_lines(file: &ResultsFile) -> Vec<String> {
    let mut out = Vec::new();
    for w in file
        .workloads
        .iter()
        .filter(|w| w.kind == Kind::Read && !w.repetitions.is_empty())
    {
        let cpu: Vec<f64> = w
            .repetitions
            .iter()
            .filter_map(|r| r.cpu_s_per_gb)
            .collect();
        let sender = median_or_none(&cpu);
        let io: Vec<f64> = w
            .repetitions
            .iter()
            .filter_map(|r| r.storage_io_bytes.map(|b| b as f64))
            .collect();
        let fmt =
            |x: Option<f64>, d: usize| x.map(|x| format!("{x:.d$}")).unwrap_or_else(|| "-".into());
        out.push(format!(
            "{}: CPU s/GB sender {} sink {} · resident before {} · read from device {} · consumer skew {}",
            w.name,
            fmt(sender, 3),
            fmt(median_read_figure(w, |f| f.sink_cpu_s_per_gb), 3),
            median_read_figure(w, |f| f.residency_before_ratio).map(|r| format!("{:.0}%", r * 100.0)).unwrap_or_else(|| "-".into()),
            median_or_none(&io).map(|b| format!("{:.0} MB", b / 1e6)).unwrap_or_else(|| "-".into()),
            fmt(median_read_figure(w, |f| f.consumer_skew), 2),
        ));
        if let Some(nics) = nic_line(w) {
            out.push(format!("{}: {nics}", w.name));
        }
    }
    out
}

/// What crossed each network interface over all repetitions (`nic_traffic`), e.g.
/// `NICs (all repetitions): lo sent 1074 MB in 16 k packets, received 1074 MB`.
fn nic_line(w: &WorkloadResult) -> Option<String> {
    let mut per: std::collections::BTreeMap<&str, (u64, u64, u64)> = Default::default();
    for t in w.repetitions.iter().flat_map(|r| &r.nic_traffic) {
        let e = per.entry(t.name.as_str()).or_default();
        e.0 += t.tx_bytes;
        e.1 += t.tx_packets;
        e.2 += t.rx_bytes;
    }
    if per.is_empty() {
        return None;
    }
    let parts: Vec<String> = per
        .iter()
        .map(|(name, (tx, pk, rx))| {
            format!(
                "{name} sent {:.0} MB in {} packets, received {:.0} MB",
                *tx as f64 / 1e6,
                crate::format::count(*pk as f64),
                *rx as f64 / 1e6
            )
        })
        .collect();
    Some(format!("NICs (all repetitions): {}", parts.join("; ")))
}

/// The terminal report ([`super::terminal::render`]) with the [`read_lines`] after the
/// verdict, before the warnings.
pub fn with_read_lines(file: &ResultsFile) -> String {
    let mut report = super::terminal::render(file);
    let details: String = read_lines(file).iter().map(|l| format!("{l}\n")).collect();
    match report.find("\nwarnings:\n") {
        Some(i) => report.insert_str(i, &format!("\n{details}")),
        None => report.push_str(&details),
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing as fixture;

    #[test]
    fn read_lines_show_medians_and_go_before_the_warnings() {
        let mut r = fixture::results();
        let w = r
            .workloads
            .iter_mut()
            .find(|w| w.name == "read/sendfile")
            .unwrap();
        for (i, rep) in w.repetitions.iter_mut().enumerate() {
            rep.extra
                .insert("consumer_skew".into(), serde_json::json!(1.0 + i as f64));
            rep.extra
                .insert("residency_before_ratio".into(), serde_json::json!(0.5));
        }
        let lines = read_lines(&r);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("read/sendfile: CPU s/GB sender "),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].contains("resident before 50%") && lines[0].ends_with("consumer skew 2.00"),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains("sink - "), "{}", lines[1]);
        let report = with_read_lines(&r);
        let at = report.find(&lines[0]).unwrap();
        assert!(at < report.find("\nwarnings:\n").unwrap(), "{report}");
    }

    #[test]
    fn read_lines_say_what_crossed_each_nic() {
        let mut r = fixture::results();
        let w = r
            .workloads
            .iter_mut()
            .find(|w| w.name == "read/sendfile")
            .unwrap();
        for rep in w.repetitions.iter_mut() {
            rep.nic_traffic = vec![crate::probe::NicTraffic {
                name: "lo".into(),
                rx_bytes: 500_000_000,
                tx_bytes: 500_000_000,
                rx_packets: 10_000,
                tx_packets: 10_000,
            }];
        }
        let n = w.repetitions.len();
        let lines = read_lines(&r);
        let nic = lines.iter().find(|l| l.contains("NICs")).unwrap();
        assert!(nic.contains(&format!("lo sent {} MB", 500 * n)), "{nic}");
        assert!(lines.iter().filter(|l| l.contains("NICs")).count() == 1);
    }

    #[test]
    fn flush_lines_only_for_flushing_writes() {
        let mut r = fixture::results();
        assert!(flush_lines(&r).is_empty());
        assert_eq!(with_flushes(&r), super::super::terminal::render(&r));
        let w = &mut r.workloads[0];
        w.config.insert("flush".into(), serde_json::json!("batch"));
        w.config.insert("sync".into(), serde_json::json!("fsync"));
        let lines = flush_lines(&r);
        assert_eq!(
            lines,
            ["write/buffered: fsync linked to each write (io_uring): its time is inside the batch latency"]
        );
        assert!(with_flushes(&r).ends_with(&format!("\nflushes:\n  {}\n", lines[0])));
    }
}
