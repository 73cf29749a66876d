//! Issue 22 (items 7, 9, 11, 12): `segbench replicate --role leader/follower` admit only the
//! run's token, strangers hold no port, sizes are bounded on the command line, and either
//! role stops within 2 s of SIGTERM whatever its peer does.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::replicate::{
    follower_cmd, follower_cmd_with, leader_results, leader_token, start_leader,
};
use crate::util::{assert_bad_input, segbench_in, wait_within, Listening, BIN};

/// A leader for one follower, `extra` appended.
fn leader(cwd: &std::path::Path, extra: &[&str]) -> Listening {
    let mut args = vec!["--rf", "2", "--acks", "1", "--quiet"];
    args.extend_from_slice(extra);
    start_leader(None, cwd, "127.0.0.1:0", &args)
}

/// A follower process of `l`, its output dropped.
fn spawn_follower(cwd: &std::path::Path, l: &Listening) -> Child {
    follower_cmd(None, cwd, l, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, s: Signal) {
    kill(Pid::from_raw(child.id() as i32), s).unwrap();
}

/// Sends SIGTERM to `child` and waits at most 2 s: the time it took and its exit code.
fn term_within_2s(child: &mut Child, what: &str) -> (Duration, Option<i32>) {
    let t0 = Instant::now();
    signal(child, Signal::SIGTERM);
    let status = wait_within(child, Duration::from_secs(2));
    let took = t0.elapsed();
    let status = status.unwrap_or_else(|| panic!("{what} still running 2 s after SIGTERM"));
    (took, status.code())
}

#[test]
fn a_leader_admits_only_followers_with_its_token() {
    let t = tempfile::tempdir().unwrap();
    let l = leader(t.path(), &["--size", "2MiB", "--join-timeout", "60s"]);
    let token = leader_token(&l);
    assert_eq!(token.len(), 32, "{token}");
    // No token: bad input, before anything is made.
    let none = follower_cmd_with(None, t.path(), &l.addr, &[])
        .output()
        .unwrap();
    assert_bad_input(&none, "SEGBENCH_REPLICATION_TOKEN");
    // Too short: bad input with the generator.
    let short = follower_cmd_with(None, t.path(), &l.addr, &[])
        .env("SEGBENCH_REPLICATION_TOKEN", "0123456789")
        .output()
        .unwrap();
    assert_bad_input(&short, "segbench fleet token");
    // A stranger with a wrong token: refused, and it does not take follower 1's place.
    let wrong = follower_cmd_with(None, t.path(), &l.addr, &[])
        .env(
            "SEGBENCH_REPLICATION_TOKEN",
            "ffffffffffffffffffffffffffffffff",
        )
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("wrong token"), "{err}");
    l.wait_line("refused 127.0.0.1", Duration::from_secs(5));
    // The real follower joins and replicates everything.
    let real = follower_cmd_with(None, t.path(), &l.addr, &[])
        .env("SEGBENCH_REPLICATION_TOKEN", &token)
        .output()
        .unwrap();
    assert_eq!(
        real.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    let r = leader_results(l);
    let rep = &r.workloads[0].repetitions[0];
    assert_eq!(rep.extra["followers_lost"].as_array().unwrap().len(), 0);
    assert_eq!(
        rep.extra["follower_bytes"][0],
        rep.extra["follower_bytes_sent"][0]
    );
}

#[test]
fn silent_connections_do_not_keep_the_follower_out() {
    let t = tempfile::tempdir().unwrap();
    let l = leader(t.path(), &["--size", "1MiB", "--join-timeout", "30s"]);
    let strangers: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(&l.addr).unwrap())
        .collect();
    let t0 = Instant::now();
    let mut f = spawn_follower(t.path(), &l);
    l.wait_line("followers joined", Duration::from_secs(5));
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(
        wait_within(&mut f, Duration::from_secs(30)).and_then(|s| s.code()),
        Some(0)
    );
    drop(strangers);
    leader_results(l);
}

#[test]
fn a_follower_stops_within_2s_of_sigterm_while_its_leader_is_frozen() {
    let t = tempfile::tempdir().unwrap();
    let mut l = leader(
        t.path(),
        &[
            "--duration",
            "60s",
            "--rate",
            "1MB/s",
            "--replica-fetch-wait-max-ms",
            "30000",
        ],
    );
    let mut f = spawn_follower(t.path(), &l);
    l.wait_line("followers joined", Duration::from_secs(20));
    // The leader frozen: the follower's fetch gets no answer (before: over 10 s to stop).
    signal(&l.child, Signal::SIGSTOP);
    let (took, code) = term_within_2s(&mut f, "the follower");
    assert_eq!(code, Some(143), "after {took:?}");
    signal(&l.child, Signal::SIGCONT);
    let (took, code) = term_within_2s(&mut l.child, "the leader");
    assert_eq!(code, Some(143), "after {took:?}");
}

/// Before: still running 15 s after SIGTERM.
#[test]
fn a_leader_stops_within_2s_of_sigterm_while_its_follower_is_frozen() {
    let t = tempfile::tempdir().unwrap();
    let mut l = leader(
        t.path(),
        &["--duration", "60s", "--replica-fetch-wait-max-ms", "30000"],
    );
    let mut f = spawn_follower(t.path(), &l);
    l.wait_line("followers joined", Duration::from_secs(20));
    signal(&f, Signal::SIGSTOP);
    let (took, code) = term_within_2s(&mut l.child, "the leader");
    assert_eq!(code, Some(143), "after {took:?}");
    signal(&f, Signal::SIGCONT);
    let _ = f.kill();
    let _ = f.wait();
}

#[test]
fn the_fetch_wait_and_a_short_token_are_refused_before_any_work() {
    let t = tempfile::tempdir().unwrap();
    let out = segbench_in(
        t.path(),
        &[
            "replicate",
            "--size",
            "1MiB",
            "--replica-fetch-wait-max-ms",
            "100000000",
        ],
    );
    assert_bad_input(&out, "use at most 30000");
    let out = Command::new(BIN)
        .current_dir(t.path())
        .args([
            "replicate",
            "--role",
            "leader",
            "--listen",
            "127.0.0.1:0",
            "--size",
            "1MiB",
        ])
        .env("SEGBENCH_REPLICATION_TOKEN", "abc")
        .env_remove("SEGBENCH_FLEET_TOKEN")
        .output()
        .unwrap();
    assert_bad_input(&out, "SEGBENCH_REPLICATION_TOKEN is 3 characters long");
    assert!(
        std::fs::read_dir(t.path()).unwrap().next().is_none(),
        "nothing made"
    );
}

#[test]
fn either_role_waiting_for_its_peer_stops_within_2s_of_sigterm() {
    let t = tempfile::tempdir().unwrap();
    // A leader no follower joins.
    let mut l = leader(t.path(), &["--size", "1MiB", "--join-timeout", "60s"]);
    let (took, code) = term_within_2s(&mut l.child, "the waiting leader");
    assert_eq!(code, Some(143), "after {took:?}");
    // A follower whose leader never answers: a listener that accepts and stays silent.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let mut f = follower_cmd_with(None, t.path(), &addr, &["--join-timeout", "60s"])
        .env("SEGBENCH_REPLICATION_TOKEN", "0123456789abcdef0123")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_held, _) = silent.accept().unwrap();
    let (took, code) = term_within_2s(&mut f, "the joining follower");
    assert_eq!(code, Some(143), "after {took:?}");
}
