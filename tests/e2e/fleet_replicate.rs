//! `segbench fleet run --replicate`: rank 0 leads, the next ranks follow from their own
//! processes (here three ranks on loopback, each in its own working directory).

use std::fs;
use std::time::{Duration, Instant};

use super::fleet::{
    args, assert_no_scratch_left, cluster_file, free_port, start_ranks, Rank, TINY, TOKEN,
};

/// The sum over the leader's repetitions of what it counted for follower `n` (1-based).
fn leader_count_for(file: &results::ResultsFile, n: u32) -> u64 {
    file.workloads
        .iter()
        .filter(|w| w.name.starts_with("replicate/"))
        .flat_map(|w| &w.repetitions)
        .map(|r| r.extra["follower_bytes"][n as usize - 1].as_u64().unwrap())
        .sum()
}

#[test]
fn rank_0_leads_and_ranks_1_and_2_follow_with_their_own_bytes() {
    let root = tempfile::tempdir().unwrap();
    let suite = root.path().join("tiny.toml");
    fs::write(&suite, TINY).unwrap();
    let port = free_port();
    let extra = [
        "--quick",
        "--no-scaling",
        "--network",
        "off",
        "--replicate",
        "--replicate-args",
        "--partitions 2 --record-size 512",
    ];
    let mut ranks = start_ranks(root.path(), &suite, 3, port, &extra);
    assert_eq!(
        ranks[0].wait(Duration::from_secs(180)),
        0,
        "{}",
        ranks[0].stderr()
    );
    for r in &mut ranks[1..] {
        assert_eq!(r.wait(Duration::from_secs(20)), 0, "{}", r.stderr());
    }
    let file = cluster_file(&ranks[0]);
    let fleet = file.fleet.clone().expect("a fleet section");
    let phases: Vec<&str> = fleet.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(phases, ["local", "replicate"]);
    assert_eq!(fleet.phases[1].ranks, [0, 1, 2]);

    // The leader's rows: one per acks mode, rf 3 (the default min(3, size)), measured.
    let mut acks: Vec<&str> = Vec::new();
    for w in file
        .workloads
        .iter()
        .filter(|w| w.name.starts_with("replicate/"))
    {
        assert_eq!(w.config["rf"], 3, "{}", w.name);
        // --replicate-args reached the leader (and through it the followers).
        assert_eq!(w.config["partitions"], 2, "{}", w.name);
        assert_eq!(w.config["record_size_bytes"], 512, "{}", w.name);
        assert!(w.has_figures(), "{}: {:?}", w.name, w.status);
        let placement = w.config["placement"].as_str().unwrap();
        assert!(placement.starts_with("fleet: leader rank 0"), "{placement}");
        acks.push(w.config["acks"].as_str().unwrap());
    }
    assert_eq!(acks, ["0", "1", "all"]);

    // Each follower's own count equals what the leader counted for it.
    let r = fleet.replication.expect("a replication section");
    assert_eq!((r.leader_rank, r.rf), (0, 3));
    assert!(r.leader_addr.starts_with("127.0.0.1:"), "{}", r.leader_addr);
    let ranks_following: Vec<u32> = r.followers.iter().map(|f| f.rank).collect();
    assert_eq!(ranks_following, [1, 2]);
    let mut numbers = Vec::new();
    for f in &r.followers {
        assert_eq!(f.error, None, "rank {}", f.rank);
        let n = f.follower.expect("the follower's number");
        numbers.push(n);
        assert!(f.bytes > 0 && f.cpu_s > 0.0, "{f:?}");
        assert_eq!(
            f.repetitions, 3,
            "one repetition per acks mode with --quick"
        );
        assert_eq!(f.bytes, leader_count_for(&file, n), "rank {}", f.rank);
    }
    numbers.sort();
    assert_eq!(numbers, [1, 2]);
    // The terminal summary and summary.md list the replication phase.
    assert!(
        ranks[0].stdout().contains("replication:"),
        "{}",
        ranks[0].stdout()
    );
    let md = fs::read_to_string(ranks[0].dir.join("out/summary.md")).unwrap();
    assert!(
        md.contains("*Replication: rank 0 leads at 127.0.0.1:"),
        "{md}"
    );
    // Nothing left behind by the children.
    for r in &ranks {
        let left = r.data_dirs();
        assert!(left.is_empty(), "{left:?}");
    }
}

#[test]
fn a_follower_that_fails_before_joining_stops_the_run_naming_its_rank_at_once() {
    let root = tempfile::tempdir().unwrap();
    let suite = root.path().join("tiny.toml");
    fs::write(&suite, TINY).unwrap();
    let port = free_port();
    let extra = ["--quick", "--no-scaling", "--network", "off", "--replicate"];
    // Rank 2's follower child is given a leader address it refuses before it joins (exit 2).
    let bad = [("SEGBENCH_FLEET_TEST_FOLLOWER_LEADER", "no-such-leader")];
    let mut ranks: Vec<Rank> = (0..3)
        .map(|r| {
            let env: &[(&str, &str)] = if r == 2 { &bad } else { &[] };
            let a = args(&suite, r, 3, port, &extra);
            Rank::start_with(root.path(), &format!("r{r}"), TOKEN, &a, env)
        })
        .collect();
    ranks[0].wait_for("step 2: replicate\n", Duration::from_secs(120));
    let replicating = Instant::now();
    // Without the fix the leader waited its whole --join-timeout (120 s), then rank 0 was named.
    assert_eq!(
        ranks[0].wait(Duration::from_secs(20)),
        1,
        "{}",
        ranks[0].stderr()
    );
    let stopped = replicating.elapsed();
    for r in &mut ranks[1..] {
        assert_eq!(r.wait(Duration::from_secs(10)), 1, "{}", r.stderr());
    }
    let file = cluster_file(&ranks[0]);
    assert!(file.interrupted);
    let failure = file
        .fleet
        .and_then(|f| f.failure)
        .expect("a failure is recorded");
    assert_eq!(failure.rank, Some(2), "{failure:?}");
    assert!(
        failure.reason.contains("phase replicate")
            && failure
                .reason
                .contains("failed before it joined the leader")
            && failure.reason.contains("exit status: 2"),
        "{failure:?}"
    );
    let stderr = ranks[0].stderr();
    assert!(stderr.contains("the fleet run stopped: rank 2"), "{stderr}");
    // The follower's own line says why (on its rank's stderr).
    assert!(
        ranks[2].stderr().contains("no-such-leader"),
        "{}",
        ranks[2].stderr()
    );
    assert_no_scratch_left(root.path(), Duration::ZERO);
    for r in &ranks {
        let data = r.data_dirs();
        assert!(data.is_empty(), "{data:?}:\n{}", r.stderr());
    }
    eprintln!("a follower that failed before joining: rank 0 stopped {stopped:?} after the replication step began");
}

#[test]
fn a_replication_factor_the_ranks_cannot_hold_is_one_line_before_any_work() {
    use super::util::{assert_bad_input, segbench_in};
    let root = tempfile::tempdir().unwrap();
    let one = segbench_in(root.path(), &["fleet", "run", "--quick", "--replicate"]);
    assert_bad_input(&one, "--replicate: needs at least 2 ranks");
    let flags = ["--rank", "0", "--size", "3", "--coordinator", "127.0.0.1:1"];
    for (rf, needle) in [
        ("4", "--replicate-rf 4: use 2 ..= 3"),
        ("1", "--replicate-rf 1"),
    ] {
        let mut a = vec!["fleet", "run", "--replicate", "--replicate-rf", rf];
        a.extend(flags);
        assert_bad_input(&segbench_in(root.path(), &a), needle);
    }
    for (opts, needle) in [
        (
            "--rf 2",
            "--replicate-args: --rf is the fleet's (use --replicate-rf)",
        ),
        ("--dir=/tmp", "--replicate-args: --dir is the fleet's"),
        ("--partitions 0", "--replicate-args: --partitions 0"),
        ("--acks 2", "--replicate-args: --acks '2'"),
        ("--bogus", "--replicate-args: unexpected argument '--bogus'"),
        (
            "--acks 'all",
            "--replicate-args \"--acks 'all\": a quote is not closed",
        ),
    ] {
        let mut a = vec!["fleet", "run", "--replicate", "--replicate-args", opts];
        a.extend(flags);
        assert_bad_input(&segbench_in(root.path(), &a), needle);
    }
    // --replicate-rf alone is refused by the parser (exit 2).
    let mut a = vec!["fleet", "run", "--replicate-rf", "2"];
    a.extend(flags);
    assert_eq!(segbench_in(root.path(), &a).status.code(), Some(2));
    assert_eq!(
        fs::read_dir(root.path()).unwrap().count(),
        0,
        "nothing created"
    );
}
