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

#[test]
fn a_suite_runs_replicate_workloads_and_the_kafka_preset_has_a_short_one() {
    let t = tempfile::tempdir().unwrap();
    fs::write(
        t.path().join("repl.toml"),
        "name = \"repl\"\nrepeat = 1\nwarmup = \"0\"\n[[workload]]\nkind = \"replicate\"\n\
         name = \"repl\"\nrf = 2\nacks = \"1,all\"\nsize = \"1MiB\"\nsegment_size = \"256KiB\"\n",
    )
    .unwrap();
    let out = segbench_in(
        t.path(),
        &[
            "run",
            "repl.toml",
            "--dir",
            "d",
            "--keep",
            "--out",
            "res",
            "--quiet",
        ],
    );
    assert_success(&out);
    let r = results::export::json::read_results(t.path().join("res/results.json")).unwrap();
    let names: Vec<&str> = r.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["repl/acks=1", "repl/acks=all"]);
    for w in &r.workloads {
        assert_eq!(w.status, Status::Completed, "{}", w.name);
        assert_eq!(w.config["suite_workload"], "repl");
        assert_eq!(w.config["rf"], 2);
        assert!(w.repetitions[0].extra.contains_key("e2e_latency_ns"));
    }
    let rep = t.path().join("d/repl/acksall-r0");
    assert!(logs(&rep.join("leader")) == logs(&rep.join("follower-1")));

    let print = |extra: &[&str]| {
        let mut a = vec!["run", "--preset", "kafka", "--print"];
        a.extend_from_slice(extra);
        let out = segbench_in(t.path(), &a);
        assert_success(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    let full = print(&[]);
    assert!(full.contains("kind = \"replicate\"") && full.contains("duration = \"1s\""));
    let quick = print(&["--quick"]);
    let at = quick
        .find("kind = \"replicate\"")
        .expect("replicate kept by --quick");
    assert!(quick[at..].contains("duration = \"600ms\""), "{quick}");
}
