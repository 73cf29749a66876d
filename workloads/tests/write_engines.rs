//! The write engines driven exactly as the runner drives them (open / buffer / submit / reap /
//! flush / close, then a second file), checked against what was appended: exact file bytes
//! (no padding left), every token back exactly once, and the device bytes each engine reports.
//! Engines this kernel or file system lacks print `SKIP: reason` and return.

use std::path::{Path, PathBuf};

use workloads::write::direct::Direct;
use workloads::write::uring::Uring;
use workloads::write::{build, Completion, FileTarget, Submitted, WriteEngine};
use workloads::{EngineError, EngineSpec, SyncKind};

const MAX_APPEND: usize = 20_000;

/// When to make appends durable, as the runner's flush policy would.
#[derive(Debug, Clone, Copy)]
enum Flush {
    Never,
    /// `flush(sync)` after every `n` appends (and none at the end).
    Every(usize, SyncKind),
    /// `submit(.., Some(sync))` on every append (engines with linked flush).
    Linked(SyncKind),
}

#[derive(Debug, Clone, Copy)]
struct Run {
    flush: Flush,
    preallocate: bool,
    dsync: bool,
}

const PLAIN: Run = Run {
    flush: Flush::Never,
    preallocate: false,
    dsync: false,
};

/// Odd append sizes in 1..=MAX_APPEND, every fifth one a whole number of 4 KiB blocks, plus the
/// edge cases 1, 512, 4096 and MAX_APPEND.
fn sizes(seed: u64, n: usize) -> Vec<usize> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut v = vec![1, 512, 4096, MAX_APPEND];
    for i in 0..n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = (x >> 33) as usize;
        v.push(if i % 5 == 4 {
            4096 * (1 + r % 4)
        } else {
            1 + r % MAX_APPEND
        });
    }
    v
}

/// A byte stream that does not repeat with any block size.
struct Pattern(u64);

impl Pattern {
    fn fill(&mut self, buf: &mut [u8], expected: &mut Vec<u8>) {
        for b in buf.iter_mut() {
            self.0 = self
                .0
                .wrapping_mul(2862933555777941757)
                .wrapping_add(3037000493);
            *b = (self.0 >> 56) as u8;
        }
        expected.extend_from_slice(buf);
    }
}

/// What a drive saw.
struct Outcome {
    /// Tokens in the order they came back (from `Completed` or `reap`).
    tokens: Vec<u64>,
    /// `device_bytes` per token, in token order (filled at the end from `device`).
    device_bytes: Vec<u64>,
    device: std::collections::HashMap<u64, u64>,
    /// The files written and the bytes appended to each.
    files: Vec<(PathBuf, Vec<u8>)>,
    /// Most appends in flight at once.
    max_in_flight: usize,
}

/// Builds `spec` for `dir`, or `None` after printing SKIP when the engine is unsupported here.
fn build_or_skip(spec: &str, dir: &Path) -> Option<Box<dyn WriteEngine>> {
    let spec: EngineSpec = spec.parse().unwrap();
    match build(&spec, dir, MAX_APPEND) {
        Ok(e) => Some(e),
        Err(e @ EngineError::Unsupported { .. }) => {
            println!("SKIP: {e}");
            None
        }
        Err(e) => panic!("{spec}: {e}"),
    }
}

/// Drives `engine` like the runner: per file, open, then for each append wait for a buffer
/// (reaping one completion while there is none), encode, submit, reap what is ready, flush per
/// the policy; then close.
fn drive(engine: &mut dyn WriteEngine, dir: &Path, plan: &[Vec<usize>], run: Run) -> Outcome {
    let caps = engine.caps();
    let mut done: Vec<Completion> = Vec::new();
    let mut out = Outcome {
        tokens: vec![],
        device_bytes: vec![],
        device: Default::default(),
        files: vec![],
        max_in_flight: 0,
    };
    let mut token = 0u64;
    let mut pattern = Pattern(7);
    for (f, appends) in plan.iter().enumerate() {
        let path = dir.join(format!("{:020}.log", f * 1000));
        let capacity: usize = appends.iter().sum::<usize>() + 4096;
        let target = FileTarget {
            path: &path,
            capacity_bytes: capacity as u64,
            preallocate: run.preallocate,
            dsync: run.dsync,
        };
        engine.open(&target).unwrap();
        let mut expected = Vec::new();
        for (k, &len) in appends.iter().enumerate() {
            while engine.buffer(len).unwrap().is_none() {
                assert!(engine.in_flight() > 0, "no buffer and nothing in flight");
                engine.reap(1, &mut done).unwrap();
                collect(&mut done, &mut out);
            }
            let buf = engine.buffer(len).unwrap().expect("a buffer after reaping");
            assert_eq!(buf.len(), len);
            pattern.fill(buf, &mut expected);
            let linked = match run.flush {
                Flush::Linked(s) => {
                    assert!(caps.linked_flush);
                    Some(s)
                }
                _ => None,
            };
            match engine.submit(len, token, linked).unwrap() {
                Submitted::Completed { device_bytes } => {
                    out.tokens.push(token);
                    out.device.insert(token, device_bytes);
                }
                Submitted::Queued => assert!(caps.queued, "a synchronous engine queued"),
            }
            token += 1;
            out.max_in_flight = out.max_in_flight.max(engine.in_flight());
            engine.reap(0, &mut done).unwrap();
            collect(&mut done, &mut out);
            if let Flush::Every(n, sync) = run.flush {
                if (k + 1) % n == 0 {
                    engine.flush(sync, &mut done).unwrap();
                    assert_eq!(engine.in_flight(), 0, "flush left appends in flight");
                    collect(&mut done, &mut out);
                }
            }
        }
        engine.close(&mut done).unwrap();
        assert_eq!(engine.in_flight(), 0, "close left appends in flight");
        collect(&mut done, &mut out);
        out.files.push((path, expected));
    }
    out.device_bytes = (0..token)
        .map(|t| out.device.get(&t).copied().unwrap_or(u64::MAX))
        .collect();
    out
}

fn collect(done: &mut Vec<Completion>, out: &mut Outcome) {
    for c in done.drain(..) {
        out.tokens.push(c.token);
        out.device.insert(c.token, c.device_bytes);
    }
}

/// The common checks: exact file contents, every token once, device bytes >= data bytes.
fn check(out: &Outcome, plan: &[Vec<usize>]) {
    for (path, expected) in &out.files {
        let got = std::fs::read(path).unwrap();
        assert_eq!(
            got.len(),
            expected.len(),
            "{}: length (padding or preallocation left?)",
            path.display()
        );
        if let Some(i) = got.iter().zip(expected).position(|(a, b)| a != b) {
            panic!("{}: first wrong byte at {i}", path.display());
        }
    }
    let n: usize = plan.iter().map(Vec::len).sum();
    let mut tokens = out.tokens.clone();
    tokens.sort_unstable();
    assert_eq!(
        tokens,
        (0..n as u64).collect::<Vec<_>>(),
        "every token exactly once"
    );
    let lens: Vec<usize> = plan.iter().flatten().copied().collect();
    for (t, (&dev, &len)) in out.device_bytes.iter().zip(&lens).enumerate() {
        assert!(
            dev >= len as u64 && dev != u64::MAX,
            "token {t}: device_bytes {dev} < data {len}"
        );
    }
}

fn two_files() -> Vec<Vec<usize>> {
    vec![sizes(1, 40), sizes(2, 25)]
}

/// Device bytes of O_DIRECT appends with `block`-byte blocks: each append writes from the
/// block holding its first byte to the aligned end of its last byte.
fn direct_device_bytes(block: usize, appends: &[usize]) -> Vec<u64> {
    let mut pos = 0usize;
    appends
        .iter()
        .map(|&len| {
            let start = pos / block * block;
            pos += len;
            (pos.div_ceil(block) * block - start) as u64
        })
        .collect()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("segbench-engines-")
        .tempdir()
        .unwrap()
}

/// Runs `spec` over two files and checks the result; returns the outcome (None when skipped).
fn roundtrip(spec: &str, run: Run) -> Option<Outcome> {
    let dir = tempdir();
    let mut engine = build_or_skip(spec, dir.path())?;
    let plan = two_files();
    let out = drive(engine.as_mut(), dir.path(), &plan, run);
    check(&out, &plan);
    let caps = engine.caps();
    let lens: Vec<usize> = plan.iter().flatten().copied().collect();
    let data: u64 = lens.iter().map(|&l| l as u64).sum();
    let device: u64 = out.device_bytes.iter().sum();
    if caps.direct {
        assert!(
            device > data,
            "{spec}: unaligned O_DIRECT appends must show write amplification"
        );
    } else {
        assert_eq!(
            device, data,
            "{spec}: page-cache engines report the data bytes"
        );
    }
    Some(out)
}

#[test]
fn buffered_writes_exact_files() {
    roundtrip("buffered", PLAIN);
    roundtrip(
        "buffered",
        Run {
            flush: Flush::Every(7, SyncKind::Fdatasync),
            preallocate: true,
            dsync: false,
        },
    );
    roundtrip(
        "buffered",
        Run {
            flush: Flush::Every(1, SyncKind::Dsync),
            preallocate: false,
            dsync: true,
        },
    );
}

#[test]
fn mmap_writes_exact_files_with_and_without_flush() {
    roundtrip("mmap", PLAIN);
    roundtrip(
        "mmap",
        Run {
            flush: Flush::Every(5, SyncKind::Fdatasync),
            preallocate: true,
            dsync: false,
        },
    );
    roundtrip(
        "mmap",
        Run {
            flush: Flush::Every(9, SyncKind::Fsync),
            preallocate: false,
            dsync: false,
        },
    );
    roundtrip(
        "mmap",
        Run {
            flush: Flush::Never,
            preallocate: false,
            dsync: true,
        },
    );
}

#[test]
fn mmap_refuses_an_append_past_its_capacity() {
    let dir = tempdir();
    let mut e = build_or_skip("mmap", dir.path()).unwrap();
    let path = dir.path().join("small.log");
    e.open(&FileTarget {
        path: &path,
        capacity_bytes: 10_000,
        preallocate: false,
        dsync: false,
    })
    .unwrap();
    e.buffer(6_000).unwrap().unwrap().fill(1);
    e.submit(6_000, 0, None).unwrap();
    let err = e.buffer(6_000).unwrap_err().to_string();
    assert!(err.contains("capacity"), "{err}");
    e.close(&mut Vec::new()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), vec![1u8; 6_000]);
}

#[test]
fn direct_writes_exact_files_and_reports_amplification() {
    let dir = tempdir();
    let spec: EngineSpec = "direct".parse().unwrap();
    let engine = match Direct::new(&spec, dir.path(), MAX_APPEND) {
        Ok(e) => e,
        Err(e @ EngineError::Unsupported { .. }) => return println!("SKIP: {e}"),
        Err(e) => panic!("{e}"),
    };
    let align = engine.alignment();
    println!("O_DIRECT alignment in {}: {align:?}", dir.path().display());
    let mut engine: Box<dyn WriteEngine> = Box::new(engine);
    assert!(engine.caps().direct && !engine.caps().page_cache);
    let plan = two_files();
    for run in [
        PLAIN,
        Run {
            flush: Flush::Every(4, SyncKind::Fdatasync),
            preallocate: true,
            dsync: false,
        },
    ] {
        let sub = tempfile::tempdir_in(dir.path()).unwrap();
        let out = drive(engine.as_mut(), sub.path(), &plan, run);
        check(&out, &plan);
        let expected: Vec<u64> = plan
            .iter()
            .flat_map(|f| direct_device_bytes(align.block_bytes, f))
            .collect();
        assert_eq!(out.device_bytes, expected);
    }
}

#[test]
fn direct_device_bytes_match_a_hand_computed_case() {
    let dir = tempdir();
    let Some(mut e) = build_or_skip("direct", dir.path()) else {
        return;
    };
    let spec: EngineSpec = "direct".parse().unwrap();
    let block = Direct::new(&spec, dir.path(), MAX_APPEND)
        .unwrap()
        .alignment()
        .block_bytes;
    let appends = [100, 1000, 512, 436, 512];
    let want: Vec<u64> = match block {
        // [0,512) | [0,1536) | [1024,2048) | [1536,2048) | [2048,2560)
        512 => vec![512, 1536, 1024, 512, 512],
        // every append rewrites the first 4 KiB block
        4096 => vec![4096; 5],
        other => {
            return println!("SKIP: hand-computed case is for 512 or 4096-byte blocks, not {other}")
        }
    };
    assert_eq!(direct_device_bytes(block, &appends), want);
    let out = drive(e.as_mut(), dir.path(), &[appends.to_vec()], PLAIN);
    check(&out, &[appends.to_vec()]);
    assert_eq!(out.device_bytes, want);
}

#[test]
fn direct_on_tmpfs_is_unsupported_when_it_refuses_o_direct() {
    use std::os::unix::fs::OpenOptionsExt;
    let shm = Path::new("/dev/shm");
    let tmpfs = nix::sys::statfs::statfs(shm)
        .is_ok_and(|st| st.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC);
    if !tmpfs {
        return println!("SKIP: /dev/shm is not a tmpfs here");
    }
    let probe = tempfile::tempdir_in(shm).unwrap();
    let refused = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_DIRECT)
        .open(probe.path().join("p"))
        .err()
        .and_then(|e| e.raw_os_error())
        == Some(libc::EINVAL);
    let spec: EngineSpec = "direct".parse().unwrap();
    let got = Direct::new(&spec, probe.path(), MAX_APPEND);
    if refused {
        let e = got.unwrap_err();
        assert!(e.is_unsupported(), "{e}");
        assert!(
            e.to_string()
                .contains("O_DIRECT is not supported by the file system"),
            "{e}"
        );
    } else {
        // Linux 6.6+ tmpfs accepts O_DIRECT: then the engine must work there.
        let e = got.unwrap();
        println!("O_DIRECT alignment on tmpfs: {:?}", e.alignment());
        println!("SKIP: tmpfs accepts O_DIRECT on this kernel; the Unsupported path is not reachable here");
    }
    // The probe file is gone either way.
    let left: Vec<_> = std::fs::read_dir(probe.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.iter().all(|n| !n.to_string_lossy().contains("probe")),
        "{left:?}"
    );
}

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
                println!("SKIP: {e}");
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

#[test]
fn unknown_or_invalid_options_are_refused() {
    let dir = tempdir();
    for bad in [
        "uring:qd=0",
        "uring:qd=5000",
        "uring:qd=x",
        "uring:bogus",
        "buffered:qd=4",
        "mmap:direct",
        "direct:qd=2",
    ] {
        let spec: EngineSpec = bad.parse().unwrap();
        match build(&spec, dir.path(), MAX_APPEND) {
            Err(EngineError::InvalidSpec { .. }) => {}
            Err(e) => panic!("{bad}: expected InvalidSpec, got {e}"),
            Ok(_) => panic!("{bad}: accepted"),
        }
    }
}

#[test]
fn engines_refuse_to_overwrite_an_existing_file() {
    let dir = tempdir();
    let path = dir.path().join("exists.log");
    std::fs::write(&path, b"keep").unwrap();
    for spec in ["buffered", "mmap", "direct", "uring"] {
        let Some(mut e) = build_or_skip(spec, dir.path()) else {
            continue;
        };
        let r = e.open(&FileTarget {
            path: &path,
            capacity_bytes: 4096,
            preallocate: false,
            dsync: false,
        });
        assert!(r.is_err(), "{spec} opened an existing file");
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"keep");
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
            "uring_short_writes_are_resubmitted_or_reported",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.contains("SKIP:") {
        return println!("{stdout}");
    }
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
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
        Err(e) if e.is_unsupported() => eprintln!("SKIP: {e}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("4 GiB of queue buffers accepted"),
    }
}
