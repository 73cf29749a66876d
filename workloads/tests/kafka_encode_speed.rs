//! Throughput of `encode_batch` (the write path's CPU cost per batch, CRC included).
//! Ignored by default; run in release:
//! `cargo test --release -p workloads --test kafka_encode_speed -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use workloads::kafka::{batch_len, encode_batch, records_per_batch, verify_batch};
use workloads::payload::PayloadPool;

/// Payload bytes per second encoding batches of `batch_size` bytes of `value_len`-byte values.
fn measure(batch_size: usize, value_len: usize) -> (f64, f64) {
    let records = records_per_batch(batch_size, value_len).unwrap_or(1);
    let len = batch_len(records, value_len);
    let mut pool = PayloadPool::new(4 << 20, 1);
    // Several buffers, reused, as the runner's ring of regions would be.
    let mut bufs: Vec<Vec<u8>> = (0..8).map(|_| vec![1u8; len]).collect();
    let mut offset = 0i64;
    let mut batches = 0u64;
    // Warm up, then measure for about half a second.
    for b in bufs.iter_mut() {
        encode_batch(b, offset, 0, records, value_len, &mut pool);
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(500) {
        for _ in 0..64 {
            let b = &mut bufs[(batches % 8) as usize];
            encode_batch(b, offset, 1_700_000_000_000, records, value_len, &mut pool);
            offset += i64::from(records);
            batches += 1;
        }
    }
    let s = start.elapsed().as_secs_f64();
    verify_batch(&bufs[0]).unwrap();
    let payload = batches as f64 * f64::from(records) * value_len as f64 / s;
    let wire = batches as f64 * len as f64 / s;
    (payload, wire)
}

#[test]
#[ignore = "throughput measurement: run in release with --ignored --nocapture"]
fn encode_throughput() {
    if cfg!(debug_assertions) {
        println!("SKIP: throughput is meaningful only in a release build");
        return;
    }
    for (batch_size, value_len) in [
        (16 << 10, 1024),
        (16 << 10, 100),
        (1 << 20, 1024),
        (1 << 20, 100),
        (16 << 10, 10),
    ] {
        let (payload, wire) = measure(batch_size, value_len);
        println!(
            "batch {batch_size:>8} B, values {value_len:>5} B: payload {:6.2} GB/s, batch bytes {:6.2} GB/s",
            payload / 1e9,
            wire / 1e9
        );
        if value_len == 1024 {
            // A loose floor (the target is 2 GB/s): far below it means a regression, not noise.
            assert!(payload > 0.5e9, "encode_batch at {:.2} GB/s", payload / 1e9);
        }
    }
}
