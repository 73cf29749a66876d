//! The pipeline without a leader write (`--leader-engine null`, its pre-written log), without
//! the end-to-end consumer, and with several producers.

use super::*;

#[test]
fn a_null_leader_serves_its_prewritten_log_and_followers_hold_it_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(Acks::All);
    c.leader_engine = "null".parse().unwrap();
    // 3 MiB over 2 partitions of 1 MiB segments: the pre-written logs roll too.
    c.size = Some(3 << 20);
    let o = run(&c, dir.path(), &Faults::default());
    assert!(o.behind.is_empty(), "followers behind: {:?}", o.behind);
    let r = &o.repetition;
    let batch = c.check().unwrap().batch_bytes as u64;
    let batches = (3u64 << 20).div_ceil(batch);
    assert_eq!(r.batches, batches, "the producer stops at --size");
    assert_eq!(extra_u64(&o, "leader_prewritten_bytes"), batches * batch);
    let leader = files(&o.leader_dir);
    assert!(leader.len() >= 4, "segments: {}", leader.len());
    assert_eq!(
        leader.iter().map(|f| f.1.len() as u64).sum::<u64>(),
        batches * batch,
        "exactly what the producer named was written"
    );
    for f in &o.follower_dirs {
        assert!(files(f) == leader, "{} differs", f.display());
        for p in 0..2 {
            workloads::kafka::verify_partition(&f.join(format!("segbench-{p}"))).unwrap();
        }
    }
    let caught_up = o.repetition.extra["followers_caught_up_s"]
        .as_f64()
        .unwrap();
    assert!(caught_up > 0.0, "{caught_up}");
    // acks=all: every batch waited for both followers, so the consumer read them all.
    assert_eq!(extra_u64(&o, "consumer_bytes"), batches * batch);

    // Without the end-to-end consumer: the same replication, no end-to-end figures.
    c.consumer = false;
    let o = run(&c, &dir.path().join("no-consumer"), &Faults::default());
    assert!(o.behind.is_empty(), "followers behind: {:?}", o.behind);
    for key in ["e2e_latency_ns", "consumer_bytes", "consumer_cpu_s"] {
        assert!(!o.repetition.extra.contains_key(key), "{key}");
    }
    let got: Vec<u64> =
        serde_json::from_value(o.repetition.extra["follower_bytes"].clone()).unwrap();
    assert_eq!(got, [batches * batch, batches * batch]);
}

#[test]
fn producers_own_whole_partitions_and_share_size_and_rate() {
    use super::producer::ProducerPlan;
    let mut c = cfg(Acks::All);
    c.partitions = 4;
    c.producers = 3;
    c.size = Some(4 << 20);
    c.rate = Some(4e6);
    let plans = ProducerPlan::all(&c);
    let parts: Vec<Vec<u32>> = plans.iter().map(|p| p.partitions.clone()).collect();
    assert_eq!(parts, [vec![0, 3], vec![1], vec![2]]);
    assert_eq!(plans[0].size, Some(2 << 20));
    assert_eq!(plans[1].size, Some(1 << 20));
    assert_eq!(plans[2].rate, Some(1e6));
    let batch = c.check().unwrap().batch_bytes;
    let counts = ProducerPlan::batches_per_partition(&c, batch);
    // Producer 0 sends ceil(2 MiB / batch) batches to partitions 0 and 3 in turn.
    let n0 = (2u64 << 20).div_ceil(batch as u64);
    assert_eq!(counts[0] + counts[3], n0);
    assert!(
        counts[0] >= counts[3] && counts[0] - counts[3] <= 1,
        "{counts:?}"
    );
    assert_eq!(counts[1], (1u64 << 20).div_ceil(batch as u64));
    // One producer: round robin over every partition, as before.
    c.producers = 1;
    let counts = ProducerPlan::batches_per_partition(&c, batch);
    assert_eq!(
        counts.iter().sum::<u64>(),
        (4u64 << 20).div_ceil(batch as u64)
    );
}

#[test]
fn several_producers_keep_each_partition_in_order_on_every_replica() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(Acks::All);
    c.partitions = 3;
    c.producers = 2;
    c.size = Some(3 << 20);
    let o = run(&c, &dir.path().join("buffered"), &Faults::default());
    assert!(o.behind.is_empty(), "followers behind: {:?}", o.behind);
    let leader = files(&o.leader_dir);
    for f in &o.follower_dirs {
        assert!(files(f) == leader, "{} differs", f.display());
        for p in 0..3 {
            workloads::kafka::verify_partition(&f.join(format!("segbench-{p}"))).unwrap();
        }
    }
    let batch = c.check().unwrap().batch_bytes as u64;
    let counts = super::producer::ProducerPlan::batches_per_partition(&c, batch as usize);
    assert_eq!(o.repetition.batches, counts.iter().sum::<u64>());
    assert_eq!(
        extra_u64(&o, "consumer_bytes"),
        o.repetition.batches * batch
    );
    // A null leader pre-writes what the producers will name, partition by partition.
    c.leader_engine = "null".parse().unwrap();
    let o = run(&c, &dir.path().join("null"), &Faults::default());
    assert_eq!(o.repetition.batches, counts.iter().sum::<u64>());
    assert_eq!(
        extra_u64(&o, "leader_prewritten_bytes"),
        o.repetition.batches * batch
    );
}
