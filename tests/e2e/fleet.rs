//! `segbench fleet run`: three ranks on loopback, each in its own working directory, started
//! with flags; a rank that never joins; a killed rank; a connection with a wrong token; the
//! barrier that starts every host's repetitions together.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub(crate) use super::fleet_rank::{
    args, assert_no_data_left, assert_no_scratch_left, cluster_file, eventually, free_port,
    start_ranks, Rank,
};

pub(crate) const TOKEN: &str = "e2e-fleet-token-0123";

/// A quick suite: one small buffered write workload (the cluster tests use it too).
pub(crate) const TINY: &str = r#"name = "tiny"
repeat = 2
warmup = "0"

[[workload]]
kind = "write"
name = "w"
engines = ["buffered"]
size = "8MiB"
segment_size = "4MiB"
"#;

/// A write workload with a warm-up and a read workload: every measured unit has a barrier.
const MIXED: &str = r#"name = "mixed"
repeat = 3
warmup = "100ms"

[[workload]]
kind = "write"
name = "w"
engines = ["buffered"]
size = "8MiB"
segment_size = "4MiB"

[[workload]]
kind = "read"
name = "r"
engines = ["readwrite"]
size = "8MiB"
partitions = 2
duration = "300ms"
"#;

/// Repetitions closer than this start together: the clock offsets on one machine are known
/// to tens of µs and the start is planned 50 ms ahead, but on a loaded 2-core machine (the
/// whole test suite at once) a rank may wake up to ~100 ms late; without the barrier the
/// hosts' repetitions started 350–400 ms apart, so the bound still tells the two apart.
const SKEW_BOUND_S: f64 = 0.15;

/// A paced write long enough to kill a rank in the middle of it.
const LONG: &str = r#"name = "long"
repeat = 1
warmup = "0"

[[workload]]
kind = "write"
name = "w"
engines = ["buffered"]
duration = "30s"
rate = "10MB/s"
segment_size = "4MiB"
"#;

/// Three ranks of the long suite, once rank 0 has started the local phase.
fn three_running(root: &Path) -> (Rank, Rank, Rank) {
    let suite = root.join("long.toml");
    fs::write(&suite, LONG).unwrap();
    let port = free_port();
    let extra = ["--no-scaling", "--network", "off"];
    let r0 = Rank::start(root, "r0", TOKEN, &args(&suite, 0, 3, port, &extra));
    let r1 = Rank::start(root, "r1", TOKEN, &args(&suite, 1, 3, port, &extra));
    let r2 = Rank::start(root, "r2", TOKEN, &args(&suite, 2, 3, port, &extra));
    r0.wait_for("step 0: local", Duration::from_secs(30));
    // Every rank's child is measuring.
    for r in [&r0, &r1, &r2] {
        assert!(
            eventually(Duration::from_secs(20), || r.measuring()),
            "{}",
            r.stderr()
        );
    }
    (r0, r1, r2)
}

#[test]
fn three_ranks_on_loopback_make_one_cluster_result_and_refuse_a_wrong_token() {
    let root = tempfile::tempdir().unwrap();
    let suite = root.path().join("tiny.toml");
    fs::write(&suite, TINY).unwrap();
    let port = free_port();
    let quick = ["--quick"];
    let started = Instant::now();
    let mut r0 = Rank::start(root.path(), "r0", TOKEN, &args(&suite, 0, 3, port, &quick));
    // A connection with the wrong token while rank 0 admits: refused and logged.
    let mut intruder = Rank::start(
        root.path(),
        "bad",
        "wrong-token-0123456789",
        &args(&suite, 1, 3, port, &quick),
    );
    assert_eq!(
        intruder.wait(Duration::from_secs(30)),
        2,
        "{}",
        intruder.stderr()
    );
    assert!(
        intruder.stderr().contains("wrong token"),
        "{}",
        intruder.stderr()
    );
    r0.wait_for(
        "refused a connection from 127.0.0.1",
        Duration::from_secs(10),
    );
    assert!(r0.stderr().contains("wrong token"), "{}", r0.stderr());

    let mut r1 = Rank::start(root.path(), "r1", TOKEN, &args(&suite, 1, 3, port, &quick));
    let mut r2 = Rank::start(root.path(), "r2", TOKEN, &args(&suite, 2, 3, port, &quick));
    assert_eq!(
        r0.wait(Duration::from_secs(90)),
        0,
        "rank 0:\n{}",
        r0.stderr()
    );
    assert_eq!(
        r1.wait(Duration::from_secs(10)),
        0,
        "rank 1:\n{}",
        r1.stderr()
    );
    assert_eq!(
        r2.wait(Duration::from_secs(10)),
        0,
        "rank 2:\n{}",
        r2.stderr()
    );
    assert_no_scratch_left(root.path(), Duration::ZERO);
    eprintln!(
        "fleet of 3 on loopback: {:?}\n{}",
        started.elapsed(),
        r0.stdout()
    );

    let file = cluster_file(&r0);
    let fleet = file.fleet.as_ref().expect("a fleet section");
    assert_eq!(fleet.size, 3);
    assert_eq!(fleet.launcher, "flags");
    assert_eq!(
        fleet.hosts.iter().map(|h| h.rank).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(fleet.failure.is_none() && !file.interrupted);
    for h in &fleet.hosts {
        // One machine: the clocks agree to within the measurement.
        assert!(
            h.offset_ns.unsigned_abs() <= h.uncertainty_ns + 2_000_000,
            "{h:?}"
        );
    }
    let local = fleet
        .phases
        .iter()
        .find(|p| p.name == "local")
        .expect("local phase");
    assert_eq!(local.ranks, [0, 1, 2]);
    assert_eq!(local.windows.len(), 3);
    let w = &local.workloads[0];
    assert_eq!(w.hosts, 3);
    // Aggregate bytes = the sum of the hosts' own results, kept beside the cluster file.
    let mut host_bytes = 0;
    for h in &fleet.hosts {
        let name = h.results_file.as_ref().expect("per-host file");
        let own = results::io::read_results(r0.dir.join("out").join(name)).unwrap();
        host_bytes += own.workloads[0]
            .repetitions
            .iter()
            .map(|r| r.bytes)
            .sum::<u64>();
    }
    assert_eq!(w.bytes, host_bytes);
    assert!(w.aggregate_bytes_per_s > 0.0 && w.straggler_ratio > 0.0 && w.straggler_ratio <= 1.0);
    // Write repetitions record their start: the windows are real, not assumed aligned; the
    // barrier starts them together.
    let skew = w.repetition_start_skew_s.expect("placed repetitions");
    assert!(skew < SKEW_BOUND_S, "{w:?}");
    // The network ring: 0 -> 1 -> 2 -> 0, each with both engines.
    let mut pairs: Vec<(u32, u32)> = fleet
        .network
        .iter()
        .map(|n| (n.from_rank, n.to_rank))
        .collect();
    pairs.dedup();
    assert_eq!(pairs, [(0, 1), (1, 2), (2, 0)], "{:?}", fleet.network);
    assert!(fleet.network.iter().all(|n| n.throughput_bytes_per_s > 0.0));
    assert!(fleet.network.iter().all(|n| n.sender_retransmits.is_some()));
    let hosts: Vec<u32> = fleet.scaling.iter().map(|s| s.hosts).collect();
    assert_eq!(hosts, [1, 2, 3]);
    assert!(
        fleet.warnings.iter().any(|w| w.contains("refused")),
        "{:?}",
        fleet.warnings
    );
    // The data directories are gone on every rank.
    assert_no_data_left(&[&r0, &r1, &r2]);
    // The other commands read it and the hosts' files.
    let host_files: Vec<String> = fleet
        .hosts
        .iter()
        .filter_map(|h| h.results_file.clone())
        .map(|f| format!("out/{f}"))
        .collect();
    let merge: Vec<&str> = ["merge", "-q", "-o", "merged.json"]
        .into_iter()
        .chain(host_files.iter().map(String::as_str))
        .collect();
    for cmd in [
        vec!["report", "out/results.json"],
        vec!["compare", "out/results.json", "out/results.json"],
        merge,
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_segbench"))
            .args(&cmd)
            .current_dir(&r0.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_rank_that_never_joins_is_named_and_the_others_stop() {
    let root = tempfile::tempdir().unwrap();
    let suite = root.path().join("tiny.toml");
    fs::write(&suite, TINY).unwrap();
    let port = free_port();
    let extra = ["--quick", "--join-timeout", "3s"];
    let mut r0 = Rank::start(root.path(), "r0", TOKEN, &args(&suite, 0, 3, port, &extra));
    let mut r1 = Rank::start(root.path(), "r1", TOKEN, &args(&suite, 1, 3, port, &extra));
    assert_eq!(r0.wait(Duration::from_secs(30)), 1, "{}", r0.stderr());
    assert!(
        r0.stderr().contains("rank 2 never joined"),
        "{}",
        r0.stderr()
    );
    assert_eq!(r1.wait(Duration::from_secs(10)), 1, "{}", r1.stderr());
    assert!(
        r1.stderr().contains("rank 2 never joined"),
        "{}",
        r1.stderr()
    );
}

#[test]
fn a_killed_rank_stops_the_others_within_5_s_with_partial_results() {
    let root = tempfile::tempdir().unwrap();
    let (mut r0, mut r1, mut r2) = three_running(root.path());
    r2.child.kill().unwrap();
    let killed = Instant::now();
    let _ = r2.wait(Duration::from_secs(5));
    assert_eq!(r0.wait(Duration::from_secs(10)), 1, "{}", r0.stderr());
    let t0 = killed.elapsed();
    assert_eq!(r1.wait(Duration::from_secs(10)), 1, "{}", r1.stderr());
    let t1 = killed.elapsed();
    assert!(
        t0 < Duration::from_secs(5) && t1 < Duration::from_secs(5),
        "{t0:?} {t1:?}"
    );
    assert!(r0.stderr().contains("rank 2"), "{}", r0.stderr());
    assert!(
        r1.stderr().contains("rank 0 stopped the run"),
        "{}",
        r1.stderr()
    );
    let file = cluster_file(&r0);
    assert!(file.interrupted);
    let failure = file
        .fleet
        .as_ref()
        .and_then(|f| f.failure.clone())
        .expect("a failure");
    assert_eq!(failure.rank, Some(2), "{failure:?}");
    assert!(
        failure.host.is_some() && failure.reason.contains("closed"),
        "{failure:?}"
    );
    assert_no_data_left(&[&r0, &r1]);
    // The killed rank ran no cleanup: its child, the last one writing there, removes its scratch.
    assert_no_scratch_left(root.path(), Duration::from_secs(15));
    eprintln!("killed rank: rank 0 stopped after {t0:?}, rank 1 after {t1:?}");
}

#[test]
fn bad_input_is_one_line_before_any_work() {
    let root = tempfile::tempdir().unwrap();
    let run = |args: &[&str], token: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_segbench"));
        c.arg("fleet")
            .arg("run")
            .args(args)
            .current_dir(root.path());
        match token {
            Some(t) => c.env("SEGBENCH_FLEET_TOKEN", t),
            None => c.env_remove("SEGBENCH_FLEET_TOKEN"),
        };
        c.output().unwrap()
    };
    let cases: [(&[&str], Option<&str>, &str); 7] = [
        (
            &["--rank", "1", "--size", "3", "--coordinator", "127.0.0.1:9"],
            None,
            "SEGBENCH_FLEET_TOKEN",
        ),
        (&["--rank", "1", "--size", "3"], Some("t"), "--coordinator"),
        (
            &["--rank", "3", "--size", "3", "--coordinator", "h:1"],
            Some("t"),
            "rank 3 of size 3",
        ),
        (&["--join-timeout", "soon"], Some("t"), "soon"),
        // `run`'s options that fleet run neither forwards nor uses are refused by name.
        (
            &["--json"],
            Some("t"),
            "--json: not available with fleet run",
        ),
        (&["-q"], Some("t"), "--quiet: not available with fleet run"),
        (
            &["--fleet-sync", "/tmp/x.sock"],
            Some("t"),
            "--fleet-sync: not available with fleet run",
        ),
    ];
    for (a, token, needle) in cases {
        crate::util::assert_bad_input(&run(a, token), needle);
    }
    assert_eq!(
        fs::read_dir(root.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn sigint_on_one_rank_stops_every_rank() {
    let root = tempfile::tempdir().unwrap();
    let (mut r0, mut r1, mut r2) = three_running(root.path());
    let pid = nix::unistd::Pid::from_raw(r1.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let sent = Instant::now();
    assert_eq!(r1.wait(Duration::from_secs(10)), 130, "{}", r1.stderr());
    assert_eq!(r0.wait(Duration::from_secs(10)), 1, "{}", r0.stderr());
    assert_eq!(r2.wait(Duration::from_secs(10)), 1, "{}", r2.stderr());
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    let failure = cluster_file(&r0)
        .fleet
        .and_then(|f| f.failure)
        .expect("a failure");
    assert_eq!(failure.rank, Some(1), "{failure:?}");
    assert!(failure.reason.contains("interrupted"), "{failure:?}");
    assert_no_data_left(&[&r0, &r1, &r2]);
    assert_no_scratch_left(root.path(), Duration::ZERO);
}

#[test]
fn a_rank_that_hangs_is_noticed_by_its_silence() {
    let root = tempfile::tempdir().unwrap();
    let (mut r0, mut r1, mut r2) = three_running(root.path());
    let pid = nix::unistd::Pid::from_raw(r2.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let stopped = Instant::now();
    assert_eq!(r0.wait(Duration::from_secs(15)), 1, "{}", r0.stderr());
    assert_eq!(r1.wait(Duration::from_secs(15)), 1, "{}", r1.stderr());
    let waited = stopped.elapsed();
    // Silent for 3 s, then every rank told to stop; within 5 s of the hang.
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    let failure = cluster_file(&r0)
        .fleet
        .and_then(|f| f.failure)
        .expect("a failure");
    assert_eq!(failure.rank, Some(2), "{failure:?}");
    assert!(failure.reason.contains("silent"), "{failure:?}");
    // The hung rank is killed; its child notices, stops and removes its data.
    r2.child.kill().unwrap();
    let _ = r2.wait(Duration::from_secs(5));
    let killed = Instant::now();
    assert!(
        eventually(Duration::from_secs(15), || r2.data_dirs().is_empty()),
        "{:?} left by the hung rank's child:\n{}",
        r2.data_dirs(),
        r2.stderr()
    );
    assert_no_scratch_left(root.path(), Duration::from_secs(15));
    eprintln!(
        "hung rank: the others stopped after {waited:?}; its child cleaned up {:?} after it was killed",
        killed.elapsed()
    );
}

#[test]
fn the_network_matrix_measures_every_ordered_pair_one_at_a_time() {
    let root = tempfile::tempdir().unwrap();
    let suite = root.path().join("tiny.toml");
    fs::write(&suite, TINY).unwrap();
    let port = free_port();
    let extra = ["--quick", "--no-scaling", "--network", "matrix"];
    let mut r0 = Rank::start(root.path(), "r0", TOKEN, &args(&suite, 0, 2, port, &extra));
    let mut r1 = Rank::start(root.path(), "r1", TOKEN, &args(&suite, 1, 2, port, &extra));
    assert_eq!(r0.wait(Duration::from_secs(60)), 0, "{}", r0.stderr());
    assert_eq!(r1.wait(Duration::from_secs(10)), 0, "{}", r1.stderr());
    let fleet = cluster_file(&r0).fleet.expect("a fleet section");
    let mut pairs: Vec<(u32, u32)> = fleet
        .network
        .iter()
        .map(|n| (n.from_rank, n.to_rank))
        .collect();
    pairs.dedup();
    assert_eq!(pairs, [(0, 1), (1, 0)]);
    let phases: Vec<&str> = fleet.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(phases, ["local", "network/0->1", "network/1->0"]);
    // One pair at a time: each pair's phase has one sender.
    assert!(fleet.phases[1..].iter().all(|p| p.ranks.len() == 1));
}

#[test]
fn the_barrier_starts_every_hosts_repetitions_together_writes_and_reads() {
    let root = tempfile::tempdir().unwrap();
    let suite = root.path().join("mixed.toml");
    fs::write(&suite, MIXED).unwrap();
    let port = free_port();
    let extra = ["--no-scaling", "--network", "off"];
    let mut ranks = start_ranks(root.path(), &suite, 3, port, &extra);
    for (r, rank) in ranks.iter_mut().enumerate() {
        assert_eq!(
            rank.wait(Duration::from_secs(120)),
            0,
            "rank {r}:\n{}",
            rank.stderr()
        );
    }
    let fleet = cluster_file(&ranks[0]).fleet.expect("a fleet section");
    let local = &fleet.phases[0];
    assert_eq!(local.name, "local");
    let names: Vec<&str> = local.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["w/buffered", "r/readwrite"], "{local:?}");
    for w in &local.workloads {
        // Reads record their starts too: every workload's windows are placed, none assumed.
        let skew = w
            .repetition_start_skew_s
            .unwrap_or_else(|| panic!("{} not placed: {w:?}", w.name));
        eprintln!(
            "{}: repetition start skew {:.3} ms, aggregate {:.1} MB/s, per host {:?} MB/s",
            w.name,
            skew * 1e3,
            w.aggregate_bytes_per_s / 1e6,
            w.host_bytes_per_s
                .iter()
                .map(|x| (x / 1e5).round() / 10.0)
                .collect::<Vec<_>>()
        );
        assert!(skew < SKEW_BOUND_S, "{w:?}");
        assert_eq!(w.hosts, 3);
    }
    // Every host's repetitions, one by one, started within the bound of each other, and the
    // last host started before the first one ended: they ran at once.
    let mut starts: Vec<Vec<(f64, f64)>> = Vec::new();
    for h in &fleet.hosts {
        let own = results::io::read_results(
            ranks[0]
                .dir
                .join("out")
                .join(h.results_file.as_ref().unwrap()),
        )
        .unwrap();
        let window = local.windows.iter().find(|w| w.rank == h.rank).unwrap();
        starts.push(
            own.workloads
                .iter()
                .flat_map(|w| w.repetitions.iter())
                .map(|r| {
                    let s = results::fleet::placed_start_s(window, r).expect("a recorded start");
                    (s, s + r.elapsed_s)
                })
                .collect(),
        );
    }
    assert_eq!(starts[0].len(), 6, "3 write + 3 read repetitions");
    for i in 0..starts[0].len() {
        let at: Vec<(f64, f64)> = starts.iter().map(|s| s[i]).collect();
        let last_start = at.iter().map(|x| x.0).fold(f64::MIN, f64::max);
        let first_start = at.iter().map(|x| x.0).fold(f64::MAX, f64::min);
        let first_end = at.iter().map(|x| x.1).fold(f64::MAX, f64::min);
        assert!(
            last_start - first_start < SKEW_BOUND_S,
            "repetition {i}: {at:?}"
        );
        assert!(
            last_start < first_end,
            "repetition {i} did not overlap: {at:?}"
        );
    }
}

#[test]
fn hosts_whose_suites_differ_stop_at_the_first_unit_they_disagree_on() {
    let root = tempfile::tempdir().unwrap();
    let two = root.path().join("tiny.toml");
    fs::write(&two, TINY).unwrap();
    let three = root.path().join("tiny3.toml");
    fs::write(&three, TINY.replace("repeat = 2", "repeat = 3")).unwrap();
    let port = free_port();
    let extra = ["--no-scaling", "--network", "off"];
    let mut ranks: Vec<Rank> = (0..3)
        .map(|r| {
            let suite = if r == 2 { &three } else { &two };
            Rank::start(
                root.path(),
                &format!("r{r}"),
                TOKEN,
                &args(suite, r, 3, port, &extra),
            )
        })
        .collect();
    for rank in ranks.iter_mut() {
        assert_eq!(rank.wait(Duration::from_secs(60)), 1, "{}", rank.stderr());
    }
    let failure = cluster_file(&ranks[0])
        .fleet
        .and_then(|f| f.failure)
        .expect("a failure");
    // Rank 2 waits for a third repetition the others never run.
    assert!(
        failure.reason.contains("w0-r2") && failure.reason.contains("diverged"),
        "{failure:?}"
    );
    for r in &ranks {
        assert!(r.data_dirs().is_empty(), "{:?}", r.data_dirs());
    }
}

/// A mixed workload whose snapshots go where `--snap-dir` says.
const SNAPSHOTS: &str = r#"name = "snapshots"
repeat = 1
warmup = "0"

[[workload]]
kind = "mixed"
name = "m"
duration = "500ms"

[[workload.part]]
kind = "write"
name = "log"
engines = ["buffered"]
partitions = 1
segment_size = "4MiB"

[[workload.part]]
kind = "snapshot"
name = "snap"
size = "1MiB"
every_records = 2000
"#;

#[test]
fn fleet_run_forwards_snap_dir_to_the_local_phase() {
    // fleet run --snap-dir was accepted and dropped: the child's snapshots went beside the log.
    let root = tempfile::tempdir().unwrap();
    let suite = root.path().join("snapshots.toml");
    fs::write(&suite, SNAPSHOTS).unwrap();
    let snaps = root.path().join("snaps");
    fs::create_dir(&snaps).unwrap();
    let extra = [
        "--no-scaling",
        "--network",
        "off",
        "--snap-dir",
        snaps.to_str().unwrap(),
    ];
    let mut r0 = Rank::start(
        root.path(),
        "r0",
        TOKEN,
        &args(&suite, 0, 1, free_port(), &extra),
    );
    assert_eq!(r0.wait(Duration::from_secs(120)), 0, "{}", r0.stderr());
    let fleet = cluster_file(&r0).fleet.expect("a fleet section");
    let name = fleet.hosts[0]
        .results_file
        .as_ref()
        .expect("the host's file");
    let file = results::io::read_results(r0.dir.join("out").join(name)).unwrap();
    let snap = file
        .workloads
        .iter()
        .filter_map(|w| w.mixed.as_ref())
        .find(|m| m.part == "snap" && !m.alone)
        .unwrap_or_else(|| {
            panic!(
                "no snapshot row: {:?}",
                file.workloads.iter().map(|w| &w.name).collect::<Vec<_>>()
            )
        });
    let placement = snap.placement.as_deref().unwrap_or("");
    assert!(placement.starts_with("same device"), "{placement}");
    assert!(
        fs::read_dir(&snaps).unwrap().next().is_none(),
        "snapshots removed"
    );
}
