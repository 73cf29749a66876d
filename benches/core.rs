//! Microbenchmarks of segbench itself: batch encoding + CRC, clock read + histogram record, and
//! the write runner with the null engine (pure harness overhead).
//!
//! `cargo bench` — targets (issue 2 / 9): encoding >= 2 GB/s of payload with 1 KiB records on one
//! core; clock + histogram <= 30 ns per op; null-engine runner >= 20 million ops/s.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use segbench::runner::write::{run_repetition, WriteConfig};
use segbench::runner::{Limit, LiveCounters};
use workloads::kafka::batch::{batch_len, encode_batch, records_per_batch};
use workloads::kafka::log::LogFormat;
use workloads::pacing::{Clock, MonotonicClock};
use workloads::payload::PayloadPool;
use workloads::{FlushPolicy, SyncKind};

fn encoding(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode_batch");
    for (value, label) in [
        (1024usize, "1KiB records, 16KiB batch"),
        (100, "100B records, 16KiB batch"),
    ] {
        let n = records_per_batch(16 * 1024, value).expect("fits");
        let len = batch_len(n, value);
        let mut out = vec![0u8; len];
        let mut pool = PayloadPool::new(4 << 20, 1);
        g.throughput(Throughput::Bytes((n as usize * value) as u64));
        let mut off = 0i64;
        g.bench_function(label, |b| {
            b.iter(|| {
                let w = encode_batch(&mut out, off, 1_700_000_000_000, n, value, &mut pool);
                off += n as i64;
                black_box(w)
            })
        });
    }
    g.finish();
}

fn clock_and_histogram(c: &mut Criterion) {
    let clock = MonotonicClock::new();
    let mut h = results::hist::new_hist();
    let mut last = clock.now_ns();
    c.bench_function("clock read + histogram record (clock_gettime)", |b| {
        b.iter(|| {
            let now = clock.now_ns();
            results::hist::record(&mut h, now - last);
            last = now;
        })
    });
    if let Some(tsc) = workloads::pacing::TscClock::calibrate() {
        let mut last = tsc.now_ns();
        c.bench_function(
            "clock read + histogram record (tsc, the runner's default)",
            |b| {
                b.iter(|| {
                    let now = tsc.now_ns();
                    results::hist::record(&mut h, now - last);
                    last = now;
                })
            },
        );
    }
}

fn null_runner(c: &mut Criterion) {
    let mut g = c.benchmark_group("runner");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let ops = 1_000_000u64;
    let batch = 64usize;
    g.throughput(Throughput::Elements(ops));
    let cfg = WriteConfig {
        engine: "null".parse().expect("spec"),
        topic: "bench".into(),
        partitions: 1,
        threads: 1,
        record_size: batch,
        batch_size: batch,
        segment_size: 1 << 40,
        index_interval: 4096,
        preallocate: false,
        retention: None,
        flush: FlushPolicy::Never,
        sync: SyncKind::Fdatasync,
        format: LogFormat::Raw,
        size: Some(ops * batch as u64),
        duration: None,
        rate: None,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut n = 0;
    let clock = workloads::pacing::best_clock().0;
    g.bench_function("null engine, raw 64-byte appends", |b| {
        b.iter(|| {
            n += 1;
            let d = dir.path().join(format!("r{n}"));
            std::fs::create_dir(&d).expect("mkdir");
            let stop = AtomicBool::new(false);
            let live = LiveCounters::default();
            let m = run_repetition(
                &cfg,
                std::slice::from_ref(&d),
                clock.clone(),
                &stop,
                Limit {
                    bytes: cfg.size,
                    duration: None,
                },
                &live,
            )
            .expect("null run");
            let _ = std::fs::remove_dir_all(&d);
            black_box(m.repetition.batches)
        })
    });
    g.finish();
}

criterion_group!(benches, encoding, clock_and_histogram, null_runner);
criterion_main!(benches);
