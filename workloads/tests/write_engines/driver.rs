//! The driver: runs an engine as the runner does over a plan of appends and checks what it
//! wrote (exact bytes, every token once, device bytes).

use std::path::{Path, PathBuf};

use workloads::skip::{skip, Skip};
use workloads::write::{build, Completion, FileTarget, Submitted, WriteEngine};
use workloads::{EngineError, EngineSpec, SyncKind};

pub(crate) const MAX_APPEND: usize = 20_000;

/// When to make appends durable, as the runner's flush policy would.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Flush {
    Never,
    /// `flush(sync)` after every `n` appends (and none at the end).
    Every(usize, SyncKind),
    /// `submit(.., Some(sync))` on every append (engines with linked flush).
    Linked(SyncKind),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Run {
    pub(crate) flush: Flush,
    pub(crate) preallocate: bool,
    pub(crate) dsync: bool,
}

pub(crate) const PLAIN: Run = Run {
    flush: Flush::Never,
    preallocate: false,
    dsync: false,
};

/// Odd append sizes in 1..=MAX_APPEND, every fifth one a whole number of 4 KiB blocks, plus the
/// edge cases 1, 512, 4096 and MAX_APPEND.
pub(crate) fn sizes(seed: u64, n: usize) -> Vec<usize> {
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
pub(crate) struct Pattern(pub(crate) u64);

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
pub(crate) struct Outcome {
    /// Tokens in the order they came back (from `Completed` or `reap`).
    pub(crate) tokens: Vec<u64>,
    /// `device_bytes` per token, in token order (filled at the end from `device`).
    pub(crate) device_bytes: Vec<u64>,
    pub(crate) device: std::collections::HashMap<u64, u64>,
    /// The files written and the bytes appended to each.
    pub(crate) files: Vec<(PathBuf, Vec<u8>)>,
    /// Most appends in flight at once.
    pub(crate) max_in_flight: usize,
}

/// Builds `spec` for `dir`, or `None` after printing SKIP when the engine is unsupported here.
pub(crate) fn build_or_skip(spec: &str, dir: &Path) -> Option<Box<dyn WriteEngine>> {
    let spec: EngineSpec = spec.parse().unwrap();
    match build(&spec, dir, MAX_APPEND) {
        Ok(e) => Some(e),
        Err(e @ EngineError::Unsupported { .. }) => {
            skip(Skip::Platform, &e.to_string());
            None
        }
        Err(e) => panic!("{spec}: {e}"),
    }
}

/// Drives `engine` like the runner: per file, open, then for each append wait for a buffer
/// (reaping one completion while there is none), encode, submit, reap what is ready, flush per
/// the policy; then close.
pub(crate) fn drive(
    engine: &mut dyn WriteEngine,
    dir: &Path,
    plan: &[Vec<usize>],
    run: Run,
) -> Outcome {
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

pub(crate) fn collect(done: &mut Vec<Completion>, out: &mut Outcome) {
    for c in done.drain(..) {
        out.tokens.push(c.token);
        out.device.insert(c.token, c.device_bytes);
    }
}

/// The common checks: exact file contents, every token once, device bytes >= data bytes.
pub(crate) fn check(out: &Outcome, plan: &[Vec<usize>]) {
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

pub(crate) fn two_files() -> Vec<Vec<usize>> {
    vec![sizes(1, 40), sizes(2, 25)]
}

/// Device bytes of O_DIRECT appends with `block`-byte blocks: each append writes from the
/// block holding its first byte to the aligned end of its last byte.
pub(crate) fn direct_device_bytes(block: usize, appends: &[usize]) -> Vec<u64> {
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

pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("segbench-engines-")
        .tempdir()
        .unwrap()
}

/// Runs `spec` over two files and checks the result; returns the outcome (None when skipped).
pub(crate) fn roundtrip(spec: &str, run: Run) -> Option<Outcome> {
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
