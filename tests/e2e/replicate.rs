//! `segbench replicate` end to end: one workload per acks mode with the replication figures,
//! every replica's log kept and equal to the leader's; leader and follower as two processes
//! (loopback, and across a network-namespace pair), a killed follower and a killed leader;
//! bad options refused before any work.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{
    assert_bad_input, assert_success, check_kafka_format, results, segbench_in, wait_within,
    Listening, NetnsPair, BIN,
};
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
        (&["--fetch-engine", "bogus"][..], "--fetch-engine"),
        (&["--role", "leader"][..], "--role leader needs --listen"),
        (
            &["--role", "follower"][..],
            "--role follower needs --leader",
        ),
        (
            &["--leader", "127.0.0.1:1"][..],
            "--leader: only with --role follower",
        ),
        (
            &["--role", "follower", "--leader", "nonsense"][..],
            "--leader nonsense",
        ),
        (&["--flush", "sometimes"][..], "--flush"),
        (&["--sync", "nosync"][..], "--sync"),
        (&["--rate", "fast"][..], "fast"),
        (
            &["--leader-engine", "null", "--duration", "1s"][..],
            "--leader-engine null needs --size",
        ),
        (
            &["--replica-fetch-max-bytes", "65MiB"][..],
            "--replica-fetch-max-bytes 68157440: use at most",
        ),
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

/// A leader process listening on `listen` (in `netns` when given) for `rf - 1` followers,
/// with its results JSON on stdout.
pub fn start_leader(netns: Option<&str>, cwd: &Path, listen: &str, extra: &[&str]) -> Listening {
    let mut args = vec![
        "replicate",
        "--role",
        "leader",
        "--listen",
        listen,
        "--dir",
        "leader-data",
        "--repeat",
        "1",
        "--json",
        "--no-probe",
    ];
    args.extend_from_slice(extra);
    Listening::start_in(netns, &args, Some(cwd))
}

/// The token a leader made and printed (none in its environment), for its followers.
pub fn leader_token(leader: &Listening) -> String {
    let line = leader.wait_line("SEGBENCH_REPLICATION_TOKEN=", Duration::from_secs(10));
    line.split("SEGBENCH_REPLICATION_TOKEN=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A follower process joining `leader` with the token it printed, its data in
/// `cwd/follower-data`.
pub fn follower_cmd(
    netns: Option<&str>,
    cwd: &Path,
    leader: &Listening,
    extra: &[&str],
) -> Command {
    let mut cmd = follower_cmd_with(netns, cwd, &leader.addr, extra);
    cmd.env("SEGBENCH_REPLICATION_TOKEN", leader_token(leader));
    cmd
}

/// A follower process joining the leader at `leader` (no token given), its data in
/// `cwd/follower-data`.
pub fn follower_cmd_with(netns: Option<&str>, cwd: &Path, leader: &str, extra: &[&str]) -> Command {
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, BIN]);
            c
        }
        None => Command::new(BIN),
    };
    cmd.args([
        "replicate",
        "--role",
        "follower",
        "--leader",
        leader,
        "--dir",
        "follower-data",
    ])
    .args(extra)
    .current_dir(cwd)
    .env_remove("SEGBENCH_REPLICATION_TOKEN")
    .env_remove("SEGBENCH_FLEET_TOKEN");
    cmd
}

/// The leader's results, once it exited 0 (at most 60 s).
pub fn leader_results(mut leader: Listening) -> results::ResultsFile {
    let status = leader.wait(Duration::from_secs(60));
    let mut stdout = String::new();
    if let Some(mut o) = leader.child.stdout.take() {
        o.read_to_string(&mut stdout).unwrap();
    }
    assert!(
        status.is_some_and(|s| s.success()),
        "leader: {status:?}\n{:?}",
        leader.output()
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Leader and follower in two processes: the follower's segments equal the leader's, both
/// sides count the same bytes, the follower reports its own figures.
fn leader_and_follower(netns: Option<(&str, &str)>, listen: &str) {
    let t = tempfile::tempdir().unwrap();
    let leader = start_leader(
        netns.map(|n| n.0),
        t.path(),
        listen,
        &[
            "--rf",
            "2",
            "--acks",
            "1,all",
            "--size",
            "4MiB",
            "--segment-size",
            "1MiB",
            "--partitions",
            "2",
            "--keep",
            "--quiet",
        ],
    );
    let out = follower_cmd(netns.map(|n| n.1), t.path(), &leader, &["--keep"])
        .output()
        .unwrap();
    assert_success(&out);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["ok"], true, "{summary}");
    let r = leader_results(leader);
    assert_eq!(r.workloads.len(), 2);
    let reps = summary["repetitions"].as_array().unwrap();
    for (w, mine) in r.workloads.iter().zip(reps) {
        assert_eq!(w.status, Status::Completed, "{}", w.name);
        assert!(w.config["placement"]
            .as_str()
            .unwrap()
            .contains("follower processes"));
        let rep = &w.repetitions[0];
        assert_eq!(rep.extra["followers_lost"].as_array().unwrap().len(), 0);
        assert_eq!(
            rep.extra["follower_bytes_sent"][0], mine["bytes"],
            "{}",
            w.name
        );
        assert_eq!(rep.extra["follower_bytes"][0], mine["bytes"], "{}", w.name);
        assert!(mine["cpu_s"].as_f64().unwrap() > 0.0);
        let name = mine["rep"].as_str().unwrap();
        let leader_logs = logs(&t.path().join("leader-data").join(name).join("leader"));
        assert!(leader_logs.len() >= 4, "rolled segments");
        let follower_logs = logs(&t.path().join("follower-data").join(name).join("follower-1"));
        assert!(
            leader_logs == follower_logs,
            "{name}: the follower's segments differ"
        );
        check_kafka_format(&t.path().join("follower-data").join(name).join("follower-1"));
    }
}

#[test]
fn replicate_leader_and_follower_in_two_processes() {
    leader_and_follower(None, "127.0.0.1:0");
}

#[test]
fn replicate_across_a_network_namespace_pair() {
    let Some(pair) = NetnsPair::up("replicate_across_a_network_namespace_pair") else {
        return;
    };
    leader_and_follower(Some((&pair.a, &pair.b)), "198.18.1.1:0");
    drop(pair);
}

#[test]
fn a_killed_follower_leaves_the_isr_and_acks_all_fails_below_min_insync() {
    let t = tempfile::tempdir().unwrap();
    let leader = start_leader(
        None,
        t.path(),
        "127.0.0.1:0",
        &[
            "--rf",
            "2",
            "--acks",
            "all",
            "--min-insync-replicas",
            "2",
            "--replica-lag-time-max-ms",
            "100",
            "--duration",
            "2s",
        ],
    );
    let mut follower = follower_cmd(None, t.path(), &leader, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    leader.wait_line("followers joined", Duration::from_secs(20));
    follower.kill().unwrap();
    let _ = follower.wait();
    let r = leader_results(leader);
    let w = &r.workloads[0];
    assert_eq!(w.status, Status::Completed);
    let rep = &w.repetitions[0];
    let lost = rep.extra["followers_lost"].as_array().unwrap();
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0]["follower"], 1);
    assert!(
        rep.extra["isr_shrinks"].as_u64().unwrap() >= 1,
        "{:?}",
        rep.extra
    );
    assert!(
        rep.extra["not_enough_replicas"].as_u64().unwrap() >= 1,
        "{:?}",
        rep.extra
    );
    assert_eq!(rep.extra["high_watermark_violations"], 0);
    assert!(
        w.warnings.iter().any(|x| x.contains("follower 1 was lost")),
        "{:?}",
        w.warnings
    );
}

#[test]
fn a_killed_leader_stops_the_follower_with_exit_1_and_partial_figures() {
    let t = tempfile::tempdir().unwrap();
    let mut leader = start_leader(
        None,
        t.path(),
        "127.0.0.1:0",
        &["--rf", "2", "--acks", "1", "--duration", "60s"],
    );
    let mut follower = follower_cmd(None, t.path(), &leader, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    leader.wait_line("followers joined", Duration::from_secs(20));
    // Let it replicate something: the follower's first segment has data.
    let t0 = Instant::now();
    let data = t.path().join("follower-data");
    while dir_bytes(&data) == 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the follower never received data"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    leader.child.kill().unwrap();
    let killed = Instant::now();
    let status = wait_within(&mut follower, Duration::from_secs(20)).expect("the follower exits");
    assert_eq!(status.code(), Some(1));
    assert!(
        killed.elapsed() < Duration::from_secs(5),
        "{:?}",
        killed.elapsed()
    );
    let mut stdout = String::new();
    follower
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["ok"], false);
    assert!(
        summary["partial"]["bytes"].as_u64().unwrap() > 0,
        "{summary}"
    );
    assert!(
        summary["error"].as_str().unwrap().contains("leader"),
        "{summary}"
    );
}

/// Bytes in the `.log` files under `dir` (0 when it does not exist yet).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ if e.path().extension().is_some_and(|x| x == "log") => {
                e.metadata().map_or(0, |m| m.len())
            }
            _ => 0,
        })
        .sum()
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
    let r = results::io::read_results(t.path().join("res/results.json")).unwrap();
    let names: Vec<&str> = r.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["repl/acks=1", "repl/acks=all"]);
    for w in &r.workloads {
        assert_eq!(w.status, Status::Completed, "{}", w.name);
        assert_eq!(w.config["suite_workload"], "repl");
        assert_eq!(w.config["rf"], 2);
        assert!(w.repetitions[0].extra.contains_key("e2e_latency_ns"));
    }
    let rep = t.path().join("d/repl-acksall-r0");
    assert!(logs(&rep.join("leader")) == logs(&rep.join("follower-1")));
    // Without --keep the data directory goes, every replica's log with it.
    let out = segbench_in(
        t.path(),
        &[
            "run",
            "repl.toml",
            "--dir",
            "d2",
            "--out",
            "res2",
            "--quiet",
        ],
    );
    assert_success(&out);
    assert!(!t.path().join("d2").exists(), "data directory removed");

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
