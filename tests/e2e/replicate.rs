//! `segbench replicate` end to end: one workload per acks mode with the replication figures,
//! every replica's log kept and equal to the leader's; bad options refused before any work.

use std::fs;
use std::path::Path;

use crate::util::{assert_bad_input, assert_success, results, segbench_in};
use results::Status;

fn logs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (topic, p, pdir) in workloads::kafka::reader::list_partitions(dir).unwrap() {
        for s in workloads::kafka::reader::list_segments(&pdir).unwrap() {
            out.push((
                format!("{topic}-{p}/{}", s.base_offset),
                fs::read(&s.log_path).unwrap(),
            ));
        }
    }
    out
}

#[test]
fn replicate_compares_acks_modes_and_followers_hold_the_leaders_bytes() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("data");
    let out = segbench_in(
        t.path(),
        &[
            "replicate",
            "--dir",
            dir.to_str().unwrap(),
            "--size",
            "2MiB",
            "--segment-size",
            "512KiB",
            "--partitions",
            "2",
            "--repeat",
            "1",
            "--keep",
            "--json",
            "--quiet",
            "--no-probe",
        ],
    );
    assert_success(&out);
    let r = results(&out);
    let names: Vec<&str> = r.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(
        names,
        ["replicate/acks=0", "replicate/acks=1", "replicate/acks=all"]
    );
    for w in &r.workloads {
        assert_eq!(w.status, Status::Completed, "{}", w.name);
        let rep = &w.repetitions[0];
        assert!(rep.latency_ns.count > 0 && rep.bytes >= 2 << 20);
        for key in [
            "isr_shrinks",
            "not_enough_replicas",
            "follower_lag_end_offsets",
            "high_watermark_violations",
            "e2e_latency_ns",
            "follower_lag_time_ns",
            "follower_lag_timeline",
        ] {
            assert!(rep.extra.contains_key(key), "{}: {key}", w.name);
        }
        assert_eq!(rep.extra["high_watermark_violations"], 0);
        assert_eq!(rep.extra["follower_bytes"].as_array().unwrap().len(), 2);
    }
    for acks in ["0", "1", "all"] {
        let rep = dir.join(format!("acks{acks}-r0"));
        let leader = logs(&rep.join("leader"));
        assert!(leader.len() >= 4, "rolled segments");
        for f in 1..=2 {
            assert!(
                leader == logs(&rep.join(format!("follower-{f}"))),
                "acks={acks} follower {f}"
            );
        }
    }
}

#[test]
fn replicate_refuses_bad_options_with_one_line() {
    let t = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (&["--rf", "0"][..], "--rf 0"),
        (&["--acks", "0,2"][..], "--acks '2'"),
        (
            &["--rf", "2", "--min-insync-replicas", "3"][..],
            "--min-insync-replicas 3",
        ),
        (
            &["--replica-fetch-max-bytes", "4KiB"][..],
            "smaller than one batch",
        ),
        (&["--flush", "sometimes"][..], "--flush"),
        (&["--sync", "nosync"][..], "--sync"),
        (&["--rate", "fast"][..], "fast"),
    ] {
        let mut a = vec!["replicate", "--dir", "data"];
        a.extend_from_slice(args);
        assert_bad_input(&segbench_in(t.path(), &a), needle);
    }
    assert!(
        !t.path().join("data").exists(),
        "nothing done before the refusal"
    );
}
