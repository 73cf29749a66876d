//! `segbench fleet run` against strangers (issue 22, items 9–13): nothing holds rank 0's port
//! before it authenticates (a slow-byte stranger, hundreds of silent connections, a signal
//! while they are connected), wrong tokens are answered slower and slower, and weak tokens,
//! absurd sizes and a non-UTF-8 environment are bad input.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::fleet::{args, free_port, Rank, TINY, TOKEN};

/// Rank 0 of a run of `size` ranks of the tiny suite on `port`, with `extra` options.
fn rank0(root: &Path, port: u16, size: u32, extra: &[&str]) -> Rank {
    let suite = root.join("tiny.toml");
    fs::write(&suite, TINY).unwrap();
    let mut e = vec!["--no-scaling", "--network", "off"];
    e.extend_from_slice(extra);
    let r0 = Rank::start(root, "r0", TOKEN, &args(&suite, 0, size, port, &e));
    r0.wait_for("rendezvous on", Duration::from_secs(30));
    r0
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// One frame of the rendezvous protocol (u32 big-endian length, JSON).
fn frame(json: &str) -> Vec<u8> {
    let mut f = (json.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(json.as_bytes());
    f
}

/// A stranger that sends one byte of a Hello every `every`, reconnecting when closed, until
/// `until`; returns how many connections rank 0 closed on it.
fn slow_bytes(port: u16, every: Duration, until: Instant) -> u32 {
    let hello = frame(r#"{"type":"hello","token":"stranger-0123456789","version":"0"}"#);
    let mut closed = 0;
    'outer: while Instant::now() < until {
        let Ok(mut s) = TcpStream::connect_timeout(&addr(port), Duration::from_secs(1)) else {
            break;
        };
        for b in &hello {
            if Instant::now() >= until {
                break 'outer;
            }
            if s.write_all(&[*b]).is_err() {
                closed += 1;
                continue 'outer;
            }
            std::thread::sleep(every);
        }
    }
    closed
}

#[test]
fn a_slow_byte_stranger_does_not_extend_the_join_past_its_timeout() {
    let root = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut r0 = rank0(root.path(), port, 2, &["--join-timeout", "4s"]);
    let started = Instant::now();
    // Before: each byte renewed a 5 s read timeout; the join outlived its timeout by minutes.
    let stranger = std::thread::spawn(move || {
        slow_bytes(
            port,
            Duration::from_millis(300),
            Instant::now() + Duration::from_secs(20),
        )
    });
    let code = r0.wait(Duration::from_secs(30));
    let took = started.elapsed();
    let err = r0.stderr();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("rank 1 never joined"), "{err}");
    assert!(
        took < Duration::from_secs(8),
        "a 4 s join took {took:?}:\n{err}"
    );
    assert!(err.contains("not authenticated within 2 s"), "{err}");
    let _ = stranger.join();
    eprintln!("slow-byte stranger: rank 0 gave up after {took:?} (join timeout 4 s)");
}

#[test]
fn hundreds_of_silent_connections_then_the_real_rank_still_joins() {
    let root = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut r0 = rank0(root.path(), port, 2, &["--join-timeout", "60s"]);
    // 600 connections that say nothing, held open (bounded: one attempt each, 1 s at most).
    let mut silent = Vec::new();
    for _ in 0..600 {
        if let Ok(s) = TcpStream::connect_timeout(&addr(port), Duration::from_secs(1)) {
            silent.push(s);
        }
    }
    assert!(silent.len() >= 300, "only {} connected", silent.len());
    let joined = Instant::now();
    let suite = root.path().join("tiny.toml");
    let mut r1 = Rank::start(
        root.path(),
        "r1",
        TOKEN,
        &args(&suite, 1, 2, port, &["--no-scaling", "--network", "off"]),
    );
    r0.wait_for("rank 1 joined", Duration::from_secs(30));
    let join_took = joined.elapsed();
    drop(silent);
    assert_eq!(r0.wait(Duration::from_secs(60)), 0, "{}", r0.stderr());
    assert_eq!(r1.wait(Duration::from_secs(30)), 0, "{}", r1.stderr());
    eprintln!("600 silent connections: rank 1 joined {join_took:?} after it started");
}

#[test]
fn a_signal_during_the_join_with_strangers_connected_exits_promptly_as_interrupted() {
    use nix::sys::signal::{kill, Signal};
    let root = tempfile::tempdir().unwrap();
    for (sig, code) in [(Signal::SIGINT, 130), (Signal::SIGTERM, 143)] {
        let dir = root.path().join(sig.as_str());
        fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let mut r0 = rank0(&dir, port, 2, &["--join-timeout", "120s"]);
        let until = Instant::now() + Duration::from_secs(15);
        let slow: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || slow_bytes(port, Duration::from_millis(200), until))
            })
            .collect();
        let silent: Vec<TcpStream> = (0..40)
            .filter_map(|_| TcpStream::connect_timeout(&addr(port), Duration::from_secs(1)).ok())
            .collect();
        let pid = nix::unistd::Pid::from_raw(r0.child.id() as i32);
        let sent = Instant::now();
        kill(pid, sig).unwrap();
        let got = r0.wait(Duration::from_secs(30));
        let took = sent.elapsed();
        let err = r0.stderr();
        assert_eq!(got, code, "{sig}: {err}");
        assert!(err.contains("interrupted"), "{sig}: {err}");
        assert!(!err.contains("never joined"), "{sig}: {err}");
        assert!(took < Duration::from_secs(3), "{sig}: exit after {took:?}");
        drop(silent);
        for t in slow {
            let _ = t.join();
        }
        eprintln!("{sig} during the join with strangers: exit {got} after {took:?}");
    }
}

#[test]
fn wrong_tokens_are_answered_slower_and_slower() {
    let root = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut r0 = rank0(root.path(), port, 2, &["--join-timeout", "60s"]);
    // Eight guesses one after another, as a brute force would (bounded: 8, 5 s each at most).
    let mut each = Vec::new();
    let started = Instant::now();
    for i in 0..8 {
        let t = Instant::now();
        let mut s = TcpStream::connect_timeout(&addr(port), Duration::from_secs(1)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let hello = format!(r#"{{"type":"hello","token":"guess-{i:016}","version":"0"}}"#);
        s.write_all(&frame(&hello)).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        assert!(
            String::from_utf8_lossy(&answer).contains("wrong token"),
            "{answer:?}"
        );
        each.push(t.elapsed());
    }
    let total = started.elapsed();
    // 10 ms doubling: 10 + 20 + … + 1000 ms ≈ 2.3 s for 8 (before: 126 guesses in 0.5 s).
    assert!(
        total >= Duration::from_secs(2),
        "8 guesses in {total:?}: {each:?}"
    );
    assert!(each[7] > each[0] * 4, "not slowed: {each:?}");
    let _ = r0.child.kill();
    eprintln!("8 wrong tokens took {total:?} ({each:?})");
}

#[test]
fn weak_tokens_absurd_sizes_and_a_non_utf8_environment_are_bad_input() {
    use std::os::unix::ffi::OsStrExt;
    let root = tempfile::tempdir().unwrap();
    let run = |args: &[&str], token: &str, junk: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_segbench"));
        c.arg("fleet")
            .arg("run")
            .args(args)
            .env("SEGBENCH_FLEET_TOKEN", token)
            .current_dir(root.path());
        if junk {
            c.env(
                "E2E_UNRELATED",
                std::ffi::OsStr::from_bytes(b"caf\xe9 \xff\xfe"),
            );
        }
        c.output().unwrap()
    };
    let coord = ["--coordinator", "127.0.0.1:9"];
    let two = ["--rank", "1", "--size", "2", coord[0], coord[1]];
    let out = run(&two, "ab", false);
    crate::util::assert_bad_input(&out, "segbench fleet token");
    crate::util::assert_bad_input(&out, "2 characters");
    crate::util::assert_bad_input(&run(&two, "0123456789abcde", false), "at least 16");
    let huge = ["--rank", "0", "--size", "4000000000", coord[0], coord[1]];
    crate::util::assert_bad_input(&run(&huge, TOKEN, false), "at most 65536 ranks");
    let matrix = [
        "--rank",
        "0",
        "--size",
        "1000",
        coord[0],
        coord[1],
        "--network",
        "matrix",
    ];
    crate::util::assert_bad_input(&run(&matrix, TOKEN, false), "--network matrix");
    // An unrelated variable that is not UTF-8: before, `fleet run` panicked (exit 101).
    let out = run(
        &["--rank", "5", "--size", "3", coord[0], coord[1]],
        TOKEN,
        true,
    );
    crate::util::assert_bad_input(&out, "rank 5 of size 3");
    let out = run(&two, "ab", true);
    crate::util::assert_bad_input(&out, "segbench fleet token");
    assert_eq!(
        fs::read_dir(root.path()).unwrap().count(),
        0,
        "nothing written"
    );
}
