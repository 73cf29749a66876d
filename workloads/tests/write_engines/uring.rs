//! The io_uring write engine: queue depths, direct and buffered, linked flushes, short writes.

use std::path::PathBuf;

use workloads::skip::{skip, Skip};
use workloads::write::uring::Uring;
use workloads::write::{Completion, FileTarget, Submitted, WriteEngine};
use workloads::{EngineError, EngineSpec, SyncKind};

use crate::driver::*;

#[test]
fn uring_queue_depths_and_modes_write_exact_files() {
    for spec in [
        "uring:qd=1",
        "uring:qd=8",
        "uring:qd=8,fixed",
        "uring:qd=4,sqpoll",
    ] {
        if let Some(out) = roundtrip(spec, PLAIN) {
            if spec != "uring:qd=1" {
                assert!(out.max_in_flight >= 1, "{spec}");
            } else {
                assert!(
                    out.max_in_flight <= 1,
                    "{spec}: qd=1 had {} in flight",
                    out.max_in_flight
                );
            }
        }
    }
    roundtrip(
        "uring:qd=8",
        Run {
            flush: Flush::Every(6, SyncKind::Fdatasync),
            preallocate: true,
            dsync: false,
        },
    );
    roundtrip(
        "uring:qd=8",
        Run {
            flush: Flush::Never,
            preallocate: false,
            dsync: true,
        },
    );
}

#[test]
fn uring_direct_writes_exact_files_and_reports_amplification() {
    for (spec, run) in [
        ("uring:qd=8,direct", PLAIN),
        (
            "uring:qd=8,direct,fixed",
            Run {
                flush: Flush::Never,
                preallocate: true,
                dsync: false,
            },
        ),
        ("uring:qd=4,direct,fixed,sqpoll", PLAIN),
    ] {
        let dir = tempdir();
        let spec_p: EngineSpec = spec.parse().unwrap();
        let engine = match Uring::new(&spec_p, dir.path(), MAX_APPEND) {
            Ok(e) => e,
            Err(e @ EngineError::Unsupported { .. }) => {
                skip(Skip::Platform, &e.to_string());
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        let block = engine.alignment().unwrap().block_bytes;
        let mut engine: Box<dyn WriteEngine> = Box::new(engine);
        assert!(engine.caps().direct && engine.caps().queued);
        let plan = two_files();
        let out = drive(engine.as_mut(), dir.path(), &plan, run);
        check(&out, &plan);
        let expected: Vec<u64> = plan
            .iter()
            .flat_map(|f| direct_device_bytes(block, f))
            .collect();
        assert_eq!(out.device_bytes, expected, "{spec}");
    }
}

#[test]
fn uring_linked_flush_acknowledges_each_append_once() {
    for (spec, sync) in [
        ("uring:qd=8", SyncKind::Fdatasync),
        ("uring:qd=4,fixed", SyncKind::Fsync),
        ("uring:qd=8,direct", SyncKind::Fdatasync),
    ] {
        let dir = tempdir();
        let Some(mut e) = build_or_skip(spec, dir.path()) else {
            continue;
        };
        assert!(e.caps().linked_flush);
        let plan = vec![sizes(3, 12), sizes(4, 6)];
        let out = drive(
            e.as_mut(),
            dir.path(),
            &plan,
            Run {
                flush: Flush::Linked(sync),
                preallocate: false,
                dsync: false,
            },
        );
        check(&out, &plan);
    }
}

/// With unaligned (Kafka-format) appends, O_DIRECT io_uring never lets two writes race on the
/// shared tail block; with whole-block appends it fills the queue.
#[test]
fn uring_direct_waits_for_the_tail_block_but_queues_aligned_appends() {
    let dir = tempdir();
    let Some(mut e) = build_or_skip("uring:qd=4,direct", dir.path()) else {
        return;
    };
    let path = dir.path().join("a.log");
    e.open(&FileTarget {
        path: &path,
        capacity_bytes: 1 << 20,
        preallocate: true,
        dsync: false,
    })
    .unwrap();
    // Whole 4 KiB appends (a multiple of any O_DIRECT block up to 4 KiB): all four slots fill.
    for t in 0..4 {
        e.buffer(4096).unwrap().expect("a free slot").fill(t as u8);
        assert_eq!(e.submit(4096, t, None).unwrap(), Submitted::Queued);
    }
    assert_eq!(e.in_flight(), 4);
    assert!(e.buffer(4096).unwrap().is_none(), "all slots in flight");
    let mut done = Vec::new();
    e.reap(4, &mut done).unwrap();
    assert_eq!(done.len(), 4);
    // An unaligned append leaves a tail: the next buffer waits until its write is reaped.
    e.buffer(100).unwrap().unwrap().fill(9);
    assert_eq!(e.submit(100, 4, None).unwrap(), Submitted::Queued);
    assert!(
        e.buffer(100).unwrap().is_none(),
        "the tail block is still being written"
    );
    e.reap(1, &mut done).unwrap();
    e.buffer(100).unwrap().unwrap().fill(10);
    e.submit(100, 5, None).unwrap();
    e.close(&mut done).unwrap();
    let mut tokens: Vec<u64> = done.iter().map(|c| c.token).collect();
    tokens.sort_unstable();
    assert_eq!(tokens, vec![0, 1, 2, 3, 4, 5]);
    let mut want: Vec<u8> = (0..4u8).flat_map(|t| vec![t; 4096]).collect();
    want.extend([9u8; 100]);
    want.extend([10u8; 100]);
    assert_eq!(std::fs::read(&path).unwrap(), want);
}

#[test]
fn uring_buffered_fills_the_queue() {
    let dir = tempdir();
    let Some(mut e) = build_or_skip("uring:qd=3", dir.path()) else {
        return;
    };
    assert!(!e.caps().direct && e.caps().page_cache && e.caps().queued);
    let path = dir.path().join("q.log");
    e.open(&FileTarget {
        path: &path,
        capacity_bytes: 1 << 20,
        preallocate: false,
        dsync: false,
    })
    .unwrap();
    for t in 0..3u64 {
        e.buffer(777)
            .unwrap()
            .expect("a free slot")
            .fill(t as u8 + 1);
        assert_eq!(e.submit(777, t, None).unwrap(), Submitted::Queued);
    }
    assert_eq!(e.in_flight(), 3);
    assert!(e.buffer(777).unwrap().is_none());
    let mut done = Vec::new();
    e.flush(SyncKind::Fdatasync, &mut done).unwrap();
    assert_eq!(e.in_flight(), 0);
    assert_eq!(done.iter().map(|c| c.device_bytes).sum::<u64>(), 3 * 777);
    e.close(&mut done).unwrap();
    assert_eq!(done.len(), 3);
    let want: Vec<u8> = (1..=3u8).flat_map(|t| vec![t; 777]).collect();
    assert_eq!(std::fs::read(&path).unwrap(), want);
}

/// A write cut short (here by `RLIMIT_FSIZE`) is resubmitted for the rest, and the failure of
/// the rest is reported: never a silent loss. Runs in a child process (the limit is per process).
#[test]
fn uring_short_writes_are_resubmitted_or_reported() {
    const CHILD: &str = "SEGBENCH_TEST_FSIZE_CHILD";
    const LIMIT: u64 = 10_000;
    if let Some(dir) = std::env::var_os(CHILD) {
        let dir = PathBuf::from(dir);
        let lim = libc::rlimit {
            rlim_cur: LIMIT,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: `signal` gets a valid signal number and `SIG_IGN`, so no handler code runs;
        // `setrlimit` only reads `lim`, a valid `rlimit` that outlives the call. Both change
        // process-wide state only, of this child process, which exists for this test.
        unsafe {
            assert_eq!(libc::signal(libc::SIGXFSZ, libc::SIG_IGN), libc::SIG_DFL);
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
        }
        for (name, linked) in [
            ("plain.log", None),
            ("linked.log", Some(SyncKind::Fdatasync)),
        ] {
            let Some(mut e) = build_or_skip("uring:qd=2", &dir) else {
                return;
            };
            let path = dir.join(name);
            e.open(&FileTarget {
                path: &path,
                capacity_bytes: 1 << 20,
                preallocate: false,
                dsync: false,
            })
            .unwrap();
            let mut done = Vec::new();
            e.buffer(8_000).unwrap().unwrap().fill(1);
            e.submit(8_000, 0, linked).unwrap();
            e.buffer(8_000).unwrap().unwrap().fill(2);
            e.submit(8_000, 1, linked).unwrap();
            let err = e.flush(SyncKind::Fdatasync, &mut done).unwrap_err();
            println!("{name}: {err}");
            assert!(err.to_string().contains("File too large"), "{err}");
            assert_eq!(
                done,
                vec![Completion {
                    token: 0,
                    device_bytes: 8_000
                }],
                "only the first append completed"
            );
            assert_eq!(e.in_flight(), 0);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), LIMIT);
        }
        println!("CHILD-OK");
        return;
    }
    let dir = tempdir();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "uring::uring_short_writes_are_resubmitted_or_reported",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("SKIP:") {
        // The child logged its skip itself (it inherits SEGBENCH_SKIP_LOG).
        return eprintln!("{stderr}");
    }
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "{stdout}\n{stderr}"
    );
}

#[test]
fn uring_refuses_a_queue_whose_buffers_would_exceed_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let spec: workloads::EngineSpec = "uring:qd=4096".parse().unwrap();
    match workloads::write::build(&spec, dir.path(), 1 << 20) {
        Err(workloads::EngineError::InvalidSpec { reason, .. }) => {
            assert!(reason.contains("4096 MiB"), "{reason}")
        }
        Err(e) if e.is_unsupported() => skip(Skip::Platform, &e.to_string()),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("4 GiB of queue buffers accepted"),
    }
}
