//! Replication results read back: the rows of `segbench replicate` and of suite workloads of
//! kind `replicate` (one per acks mode, config keys `rf` and `acks`, figures in each
//! repetition's `extra` as [`ReplicationFigures`]), reduced to what the reports and the capacity plan show. Every
//! latency here is a merge of the repetitions' whole histograms, never an average of
//! percentiles; every time was read on the leader's clock.

use crate::figures::{ExtraFigures, IsrChangeKind, ReplicationFigures, ReplicationRole, RowKind};
use crate::hist;
use crate::schema::{LatencySummary, Repetition, ResultsFile, Status, WorkloadResult};
use crate::stats::median_or_none;

/// Kreps 2014 (3 brokers, 1 GbE, 100 B records): 3× synchronous replication (acks=all)
/// reached 0.54× the records/s of asynchronous (acks=1): 421,823 against 786,980 (REFERENCE.md).
pub const KREPS_ALL_TO_ONE: f64 = 421_823.0 / 786_980.0;

/// One ISR change of one repetition.
#[derive(Debug, Clone, PartialEq)]
pub struct IsrChange {
    /// Repetition index.
    pub repetition: u32,
    /// Seconds from the producer's start.
    pub at_s: f64,
    /// Partition.
    pub partition: u64,
    /// Follower (1-based).
    pub follower: u64,
    /// True: left the ISR; false: rejoined.
    pub shrink: bool,
}

/// One acks mode of one replication workload, over its repetitions.
#[derive(Debug, Clone)]
pub struct AcksRow<'a> {
    /// The row.
    pub w: &'a WorkloadResult,
    /// The workload it belongs to (`replicate`, or the suite workload's name).
    pub group: String,
    /// `0`, `1` or `all`.
    pub acks: String,
    /// Replication factor.
    pub rf: u64,
    /// Median produced bytes/s.
    pub bytes_per_s: f64,
    /// Median produced records/s.
    pub records_per_s: f64,
    /// Produce latency (all repetitions merged).
    pub latency: LatencySummary,
    /// End-to-end latency, produce → read below the HW (merged), when recorded.
    pub e2e: Option<LatencySummary>,
    /// Furthest follower's lag in time, sampled (merged), when recorded.
    pub lag_time: Option<LatencySummary>,
    /// CPU seconds per GB produced, per [`ReplicationRole`] (followers summed), when recorded.
    pub cpu_s_per_gb: Vec<(&'static str, Option<f64>)>,
    /// Bytes the followers appended per byte produced (the leader's replication traffic out:
    /// rf − 1 when every follower kept up).
    pub follower_bytes_per_produced: Option<f64>,
    /// Median over repetitions of the bytes/s each follower appended (total / followers / the
    /// producer's elapsed time, or the time until the followers caught up when longer).
    pub follower_write_bytes_per_s: Option<f64>,
    /// ISR shrinks and expands, summed.
    pub isr_shrinks: u64,
    /// See `isr_shrinks`.
    pub isr_expands: u64,
    /// acks=all produces refused with NotEnoughReplicas, summed.
    pub not_enough_replicas: u64,
    /// Every ISR change.
    pub events: Vec<IsrChange>,
}

/// The repetitions' histograms picked by `pick` merged, or `None` when none has one.
fn merged(
    figures: &[ReplicationFigures],
    pick: fn(&ReplicationFigures) -> Option<&LatencySummary>,
) -> Option<LatencySummary> {
    let parts: Vec<LatencySummary> = figures.iter().filter_map(pick).cloned().collect();
    if parts.is_empty() {
        return None;
    }
    hist::merge_summaries(&parts).ok()
}

/// The row of `w`, or `None` when it is not a completed replication row with figures.
pub fn acks_row(w: &WorkloadResult) -> Option<AcksRow<'_>> {
    if RowKind::of(w) != RowKind::Replication || w.status != Status::Completed {
        return None;
    }
    let s = w.summary.as_ref()?;
    let acks = match w.config.get("acks")? {
        serde_json::Value::String(a) => a.clone(),
        v => v.to_string(),
    };
    let rf = w.config.get("rf")?.as_u64()?;
    let group = w
        .config
        .get("suite_workload")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| {
            w.name
                .rsplit_once("/acks=")
                .map_or(w.name.clone(), |(g, _)| g.to_string())
        });
    // Each repetition with its figures (a repetition without them counts as all absent).
    let reps: Vec<(&Repetition, ReplicationFigures)> = w
        .repetitions
        .iter()
        .map(|r| (r, ReplicationFigures::of(r).unwrap_or_default()))
        .collect();
    let figures: Vec<ReplicationFigures> = reps.iter().map(|(_, f)| f.clone()).collect();
    let produced: u64 = w.repetitions.iter().map(|r| r.bytes).sum();
    let cpu_s_per_gb = ReplicationRole::ALL
        .iter()
        .map(|&role| {
            let cpu: Option<f64> = figures.iter().map(|f| f.cpu_s(role)).sum::<Option<f64>>();
            (
                role.name(),
                cpu.and_then(|c| crate::stats::cpu_s_per_gb(c, produced)),
            )
        })
        .collect();
    let followed: Option<u64> = figures
        .iter()
        .map(|f| f.followers_appended().map(|a| a.0))
        .sum();
    let follower_rates: Vec<f64> = reps
        .iter()
        .filter(|(r, _)| r.elapsed_s > 0.0)
        .filter_map(|(r, f)| {
            f.followers_appended()
                .filter(|a| a.1 > 0)
                .map(|a| (r, f, a))
        })
        .map(|(r, f, (b, n))| {
            // Followers that went on after the producer stopped (acks=0) took until they
            // caught up.
            let caught_up = f.followers_caught_up_s.unwrap_or(0.0);
            b as f64 / n as f64 / r.elapsed_s.max(caught_up)
        })
        .collect();
    let events = reps
        .iter()
        .flat_map(|(r, f)| {
            f.isr_events.iter().map(|e| IsrChange {
                repetition: r.index,
                at_s: e.at_s,
                partition: e.partition,
                follower: e.follower,
                shrink: e.change == IsrChangeKind::Shrink,
            })
        })
        .collect();
    let sum = |count: fn(&ReplicationFigures) -> u64| figures.iter().map(count).sum();
    Some(AcksRow {
        w,
        group,
        acks,
        rf,
        bytes_per_s: s.throughput_bytes_per_s.median,
        records_per_s: s.records_per_s.median,
        latency: s.latency_ns.clone(),
        e2e: merged(&figures, |f| f.e2e_latency_ns.as_ref()),
        lag_time: merged(&figures, |f| f.follower_lag_time_ns.as_ref()),
        cpu_s_per_gb,
        follower_bytes_per_produced: followed
            .filter(|_| produced > 0)
            .map(|f| f as f64 / produced as f64),
        follower_write_bytes_per_s: median_or_none(&follower_rates),
        isr_shrinks: sum(|f| f.isr_shrinks),
        isr_expands: sum(|f| f.isr_expands),
        not_enough_replicas: sum(|f| f.not_enough_replicas),
        events,
    })
}

/// Every replication row of `r` with figures, in file order.
pub fn rows(r: &ResultsFile) -> Vec<AcksRow<'_>> {
    r.workloads.iter().filter_map(acks_row).collect()
}

/// Per workload with both acks=1 and acks=all: (workload, acks=all records/s / acks=1 records/s).
pub fn all_to_one(rows: &[AcksRow<'_>]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for one in rows.iter().filter(|r| r.acks == "1") {
        let all = rows
            .iter()
            .find(|r| r.group == one.group && r.acks == "all");
        if let Some(all) = all.filter(|_| one.records_per_s > 0.0) {
            out.push((one.group.clone(), all.records_per_s / one.records_per_s));
        }
    }
    out
}

/// One line per workload: the acks=all / acks=1 ratio beside Kreps's.
pub fn ratio_lines(rows: &[AcksRow<'_>]) -> Vec<String> {
    all_to_one(rows)
        .into_iter()
        .map(|(g, x)| {
            format!(
                "{g}: acks=all / acks=1 records/s = {} (Kreps 2014, 3 brokers on 1 GbE: {:.2}×, 421,823 / 786,980)",
                crate::format::ratio(x),
                KREPS_ALL_TO_ONE
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{close, replication_results};

    #[test]
    fn rows_are_the_replication_rows_with_their_merged_figures() {
        let r = replication_results();
        let rows = rows(&r);
        assert_eq!(rows.len(), 2, "the plain write is not a replication row");
        let all = &rows[1];
        assert_eq!(
            (all.group.as_str(), all.acks.as_str(), all.rf),
            ("replicate", "all", 3)
        );
        // Two repetitions' whole histograms merged, not averaged.
        assert_eq!(all.e2e.as_ref().unwrap().count, 200);
        assert_eq!(all.lag_time.as_ref().unwrap().count, 200);
        assert!(all.e2e.as_ref().unwrap().p50 >= 800_000);
        // CPU per role over 20 MB produced: leader 0.02 s → 1 s/GB.
        let leader = all.cpu_s_per_gb.iter().find(|c| c.0 == "leader").unwrap();
        assert!(close(leader.1.unwrap(), 1.0), "{leader:?}");
        // Each follower appended what was produced: the leader sent 2× the produced bytes.
        assert!(close(all.follower_bytes_per_produced.unwrap(), 2.0));
        assert!(close(all.follower_write_bytes_per_s.unwrap(), 5e6));
        assert_eq!(
            (all.isr_shrinks, all.isr_expands, all.events.len()),
            (1, 1, 2)
        );
        assert!(all.events[0].shrink && !all.events[1].shrink);
    }

    #[test]
    fn the_all_to_one_ratio_is_of_median_records_per_s_beside_kreps() {
        let r = replication_results();
        let rows = rows(&r);
        let ratios = all_to_one(&rows);
        assert_eq!(ratios.len(), 1);
        assert!(close(ratios[0].1, 0.6), "{ratios:?}");
        let line = &ratio_lines(&rows)[0];
        assert!(line.contains("0.600×") && line.contains("0.54×"), "{line}");
        // Without acks=1 there is no ratio to give.
        let only_all: Vec<AcksRow<'_>> = rows.into_iter().filter(|r| r.acks == "all").collect();
        assert!(all_to_one(&only_all).is_empty());
    }

    #[test]
    fn two_repetitions_give_the_mean_follower_rate_like_the_rest_of_the_row() {
        // Regression: the follower write rate took the lower middle of the repetitions, so with
        // two it showed their minimum beside the summary's median (their mean).
        let mut r = replication_results();
        let w = &mut r.workloads[2];
        // Repetition 1's followers appended half as much: 2.5 MB/s each instead of 5.
        w.repetitions[1].extra.insert(
            "follower_bytes".into(),
            serde_json::json!([5_000_000u64, 5_000_000u64]),
        );
        let row = acks_row(&r.workloads[2]).unwrap();
        assert!(
            close(row.follower_write_bytes_per_s.unwrap(), 3.75e6),
            "{:?}",
            row.follower_write_bytes_per_s
        );
    }
}
