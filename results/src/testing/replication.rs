//! A replication results fixture: rf 3, acks 1 and all, two repetitions each, with every
//! replication figure in `extra` as `segbench replicate` writes it ([`ReplicationFigures`]).

use serde_json::json;

use crate::figures::{ExtraFigures, IsrChangeKind, IsrEventFigure, LagPoint, ReplicationFigures};
use crate::hist;
use crate::schema::{Repetition, ResultsFile, WorkloadResult};

use super::{buffered_write, file_of, plain_repetition};

/// One repetition of acks mode `acks`: `records_per_s`, 10 MB produced, the followers sent
/// `follower_share` × that each, produce latency around `lat_ns`, e2e twice that.
fn rep(i: u32, records_per_s: f64, lat_ns: u64, follower_share: f64, shrink: bool) -> Repetition {
    let mut r = plain_repetition(i, records_per_s * 1000.0, lat_ns, 1.0);
    r.records_per_s = records_per_s;
    r.bytes = 10_000_000;
    r.elapsed_s = 2.0;
    let mut e2e = hist::new_hist();
    let mut lag = hist::new_hist();
    for k in 0..100u64 {
        hist::record(&mut e2e, 2 * lat_ns + k);
        hist::record(&mut lag, 1_000_000 * (k + 1));
    }
    let followed = (10_000_000.0 * follower_share) as u64;
    let at = |at_s: f64, change: IsrChangeKind| IsrEventFigure {
        at_s,
        partition: 0,
        follower: 2,
        change,
    };
    let lag_point = |at_s: f64, offsets: [i64; 2], ms: [f64; 2]| LagPoint {
        at_s,
        offsets: offsets.to_vec(),
        ms: ms.to_vec(),
    };
    ReplicationFigures {
        replication_factor: 3,
        e2e_latency_ns: Some(hist::summarize(&e2e)),
        follower_lag_time_ns: Some(hist::summarize(&lag)),
        follower_lag_time_max_ns: vec![100_000_000, 5_000_000],
        follower_lag_timeline: vec![
            lag_point(0.0, [0, 0], [0.0, 0.0]),
            lag_point(0.1, [40, 2], [100.0, 5.0]),
            lag_point(0.2, [0, 0], [0.0, 0.0]),
        ],
        follower_bytes: vec![Some(followed), Some(followed)],
        isr_events: if shrink {
            vec![
                at(0.5, IsrChangeKind::Shrink),
                at(1.25, IsrChangeKind::Expand),
            ]
        } else {
            Vec::new()
        },
        isr_shrinks: u64::from(shrink),
        isr_expands: u64::from(shrink),
        not_enough_replicas: 0,
        producer_cpu_s: Some(0.02),
        leader_cpu_s: Some(0.01),
        follower_cpu_s: Some(0.04),
        consumer_cpu_s: Some(0.005),
        ..ReplicationFigures::default()
    }
    .insert_into(&mut r.extra);
    r
}

/// A replication row named `<group>/acks=<acks>` with two repetitions.
pub fn replication_row(group: &str, acks: &str, records_per_s: f64, lat_ns: u64) -> WorkloadResult {
    let shrink = acks == "all";
    let reps = vec![
        rep(0, records_per_s * 0.98, lat_ns, 1.0, shrink),
        rep(1, records_per_s * 1.02, lat_ns, 1.0, false),
    ];
    let mut w = buffered_write(&format!("{group}/acks={acks}"), reps);
    w.engine = "buffered -> buffered".into();
    w.config.insert("rf".into(), json!(3));
    w.config.insert("acks".into(), json!(acks));
    w
}

/// A results file with a plain write and replication rows acks=1 (100 k records/s) and
/// acks=all (60 k records/s, slower, one ISR shrink and expand).
pub fn replication_results() -> ResultsFile {
    file_of(vec![
        buffered_write("write/buffered", super::repetitions(&[500.0, 510.0])),
        replication_row("replicate", "1", 100_000.0, 100_000),
        replication_row("replicate", "all", 60_000.0, 400_000),
    ])
}
