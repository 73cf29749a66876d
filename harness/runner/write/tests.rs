//! Tests of the write runner: whole repetitions with every engine and a fake clock, and the
//! kernel-feature skips.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use results::hist;
use workloads::pacing::Clock;

use super::*;
use crate::runner::{Limit, LiveCounters};
use std::sync::atomic::AtomicU64;
use workloads::pacing::SteppingClock;

fn null_cfg(format: LogFormat) -> WriteConfig {
    WriteConfig {
        engine: "null".parse().unwrap(),
        topic: "t".into(),
        partitions: 1,
        threads: 1,
        record_size: 100,
        batch_size: 4096,
        segment_size: 1 << 30,
        index_interval: 4096,
        preallocate: false,
        retention: None,
        flush: FlushPolicy::Never,
        sync: SyncKind::Fdatasync,
        format,
        size: Some(100 * 4096),
        duration: None,
        rate: None,
    }
}

fn run(cfg: &WriteConfig, clock: Arc<dyn Clock>) -> RepMeasure {
    let dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    let live = LiveCounters::default();
    let limit = Limit {
        bytes: cfg.size,
        duration: cfg.duration,
    };
    run_repetition(cfg, &[dir.path().to_path_buf()], clock, &stop, limit, &live).unwrap()
}

#[test]
fn closed_loop_counts_every_batch_and_times_it_with_one_clock_read() {
    let cfg = null_cfg(LogFormat::Raw);
    let m = run(&cfg, Arc::new(SteppingClock::new(1_000_000, 1_000)));
    let r = &m.repetition;
    assert_eq!(r.batches, 100);
    assert_eq!(r.bytes, 100 * 4096);
    assert_eq!(r.records, 100);
    assert_eq!(r.latency_ns.count, 100);
    // One clock read per append: every batch took exactly one step.
    assert_eq!((r.latency_ns.min, r.latency_ns.max), (1_000, 1_000));
    assert_eq!(r.timeline.bytes.iter().sum::<u64>(), r.bytes);
    // 100 appends of one step each, plus the start and end reads.
    assert!(
        r.elapsed_s > 99e-6 && r.elapsed_s < 103e-6,
        "{}",
        r.elapsed_s
    );
    assert_eq!(
        r.device_bytes,
        Some(0),
        "the null engine writes to no device"
    );
    assert!(r.flush_latency_ns.is_none() && r.roll_latency_ns.is_none());
}

#[test]
fn kafka_format_counts_records_per_batch() {
    let cfg = null_cfg(LogFormat::Kafka);
    let shape = cfg.shape().unwrap();
    assert_eq!(
        shape.records_per_batch,
        records_per_batch(4096, 100).unwrap()
    );
    let m = run(&cfg, Arc::new(SteppingClock::new(0, 500)));
    let r = &m.repetition;
    assert_eq!(r.records, r.batches * shape.records_per_batch as u64);
    assert_eq!(r.bytes, r.batches * shape.batch_bytes as u64);
    assert!(r.bytes >= 100 * 4096 - shape.batch_bytes as u64);
}

#[test]
fn flush_policies_ack_at_the_flush() {
    let mut cfg = null_cfg(LogFormat::Raw);
    cfg.flush = FlushPolicy::Batch;
    let m = run(&cfg, Arc::new(SteppingClock::new(0, 1_000)));
    let r = &m.repetition;
    let f = r.flush_latency_ns.as_ref().expect("flushes measured");
    assert_eq!(f.count, 100);
    // flush: two reads around it (one step); the batch ends at the flush end.
    assert_eq!(f.max, 1_000);
    assert_eq!(r.latency_ns.min, 2_000);

    cfg.flush = FlushPolicy::Bytes(10 * 4096);
    let m = run(&cfg, Arc::new(SteppingClock::new(0, 1_000)));
    let r = &m.repetition;
    assert_eq!(r.flush_latency_ns.as_ref().unwrap().count, 10);
    assert_eq!(r.latency_ns.count, 100);
    // The first batch of each group waits for the nine after it.
    assert!(r.latency_ns.max >= 10_000, "{}", r.latency_ns.max);
}

#[test]
fn segments_roll_and_rolls_are_timed() {
    let mut cfg = null_cfg(LogFormat::Kafka);
    cfg.segment_size = 16 * 1024;
    let m = run(&cfg, Arc::new(SteppingClock::new(0, 1_000)));
    let roll = m.repetition.roll_latency_ns.as_ref().expect("rolled");
    assert!(roll.count >= 20, "{}", roll.count);
}

#[test]
fn open_loop_latency_runs_from_the_intended_start() {
    let mut cfg = null_cfg(LogFormat::Raw);
    // 4096 bytes every 40 µs.
    cfg.rate = Some(4096.0 / 40e-6);
    let clock = Arc::new(SteppingClock::new(0, 1_000));
    let m = run(&cfg, clock.clone());
    let r = &m.repetition;
    assert_eq!(r.batches, 100);
    // Paced: elapsed close to 100 x 40 µs, latencies small.
    assert!(
        r.elapsed_s > 3.9e-3 && r.elapsed_s < 4.2e-3,
        "{}",
        r.elapsed_s
    );
    assert!(r.latency_ns.max <= 3_000, "{}", r.latency_ns.max);
}

#[test]
fn a_stall_is_charged_to_every_batch_it_delayed() {
    /// Stalls 1 ms once, at its 50th read.
    struct Stall {
        inner: SteppingClock,
        reads: AtomicU64,
    }
    impl Clock for Stall {
        fn now_ns(&self) -> u64 {
            if self.reads.fetch_add(1, Ordering::SeqCst) == 50 {
                self.inner.advance(1_000_000);
            }
            self.inner.now_ns()
        }
    }
    let mut cfg = null_cfg(LogFormat::Raw);
    cfg.rate = Some(4096.0 / 40e-6);
    let clock = Arc::new(Stall {
        inner: SteppingClock::new(0, 1_000),
        reads: AtomicU64::new(0),
    });
    let r = run(&cfg, clock).repetition;
    // 1 ms / 40 µs = 25 batches were due during the stall: each is charged its wait.
    let h = hist::decode(&r.latency_ns.hdr).unwrap();
    let delayed = h
        .iter_recorded()
        .filter(|v| v.value_iterated_to() > 100_000)
        .map(|v| v.count_at_value())
        .sum::<u64>();
    assert!(
        (20..=27).contains(&delayed),
        "{delayed} batches charged with the stall"
    );
    assert!(r.latency_ns.max >= 950_000, "{}", r.latency_ns.max);
}

#[test]
fn stop_flag_ends_a_duration_run() {
    let mut cfg = null_cfg(LogFormat::Raw);
    cfg.size = None;
    cfg.duration = Some(Duration::from_secs(3600));
    let dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(true);
    let live = LiveCounters::default();
    let limit = Limit {
        bytes: None,
        duration: cfg.duration,
    };
    let dirs = [dir.path().to_path_buf()];
    let m = run_repetition(
        &cfg,
        &dirs,
        Arc::new(workloads::pacing::MonotonicClock::new()),
        &stop,
        limit,
        &live,
    )
    .unwrap();
    assert!(m.interrupted);
    assert_eq!(m.repetition.batches, 0);
}

#[test]
fn bad_shapes_are_refused_with_the_value() {
    let mut cfg = null_cfg(LogFormat::Kafka);
    cfg.batch_size = 50;
    assert!(cfg.shape().unwrap_err().contains("--batch-size 50"));
    let mut cfg = null_cfg(LogFormat::Kafka);
    cfg.segment_size = 1000;
    assert!(cfg.shape().unwrap_err().contains("--segment-size 1000"));
    let mut cfg = null_cfg(LogFormat::Kafka);
    cfg.retention = Some(10);
    assert!(cfg.shape().unwrap_err().contains("--retention"));
    // A batch past the stated maximum is refused before any buffer is sized for it.
    for format in [LogFormat::Kafka, LogFormat::Raw] {
        let mut cfg = null_cfg(format);
        cfg.batch_size = 1 << 30;
        cfg.segment_size = (1 << 30) + (1 << 20);
        let e = cfg.shape().unwrap_err();
        assert!(
            e.starts_with("--batch-size 1073741824: at most 67108864 bytes (64 MiB)"),
            "{e}"
        );
    }
}

mod kernel_feature_tests {
    use super::*;
    use crate::datadir::DataDir;
    use crate::runner::progress::Progress;
    use crate::runner::write::{run_writes, RunOptions};
    use results::Status;

    /// io_uring refused by seccomp (as in many containers): the uring engine is a reported
    /// skip with the reason, the buffered engine beside it still runs.
    #[test]
    fn io_uring_refused_by_seccomp_is_a_skip_and_others_still_run() {
        let t = tempfile::tempdir().unwrap();
        let outcome = std::thread::spawn(move || {
            if let Err(e) = workloads::sys::deny_io_uring_in_this_thread() {
                return Err(format!("cannot install a seccomp filter here: {e}"));
            }
            let read_uring = workloads::read::build(&"uring".parse().unwrap());
            assert!(
                matches!(&read_uring, Err(e) if e.is_unsupported()),
                "read uring under seccomp: {:?}",
                read_uring.err()
            );
            assert!(workloads::read::build(&"sendfile".parse().unwrap()).is_ok());
            let data = [DataDir::acquire(Some(&t.path().join("d")), "t", false).unwrap()];
            let mk = |e: &str| WriteConfig {
                engine: e.parse().unwrap(),
                topic: "t".into(),
                partitions: 1,
                threads: 1,
                record_size: 100,
                batch_size: 4096,
                segment_size: 1 << 20,
                index_interval: 4096,
                preallocate: false,
                retention: None,
                flush: FlushPolicy::Never,
                sync: SyncKind::Fdatasync,
                format: LogFormat::Kafka,
                size: Some(256 * 1024),
                duration: None,
                rate: None,
            };
            let cfgs = [
                mk("buffered"),
                mk("uring:qd=4"),
                mk("uring:qd=4,direct,fixed"),
            ];
            let opts = RunOptions {
                repeat: 1,
                warmup: Duration::ZERO,
                keep: false,
                verify: true,
                first_workload: 0,
                sync: None,
                until_steady: None,
            };
            let stop = AtomicBool::new(false);
            let clock: Arc<dyn Clock> = Arc::new(workloads::pacing::MonotonicClock::new());
            Ok(run_writes(
                &cfgs,
                &opts,
                &data,
                clock,
                &stop,
                &Progress::silent(),
            ))
        })
        .join()
        .unwrap();
        let outcome = match outcome {
            Ok(o) => o,
            Err(why) => return workloads::skip::skip(workloads::skip::Skip::Platform, &why),
        };
        let w = &outcome.workloads;
        assert_eq!(w[0].status, Status::Completed);
        assert!(w[0].repetitions[0].bytes >= 256 * 1024);
        for u in &w[1..] {
            match &u.status {
                Status::Skipped { reason } => assert!(reason.contains("io_uring"), "{reason}"),
                other => panic!("{} should be skipped, got {other:?}", u.name),
            }
            assert!(u.repetitions.is_empty());
        }
        assert!(
            outcome.check_failures.is_empty(),
            "{:?}",
            outcome.check_failures
        );
    }
}
