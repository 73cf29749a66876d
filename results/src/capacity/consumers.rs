//! A consumer group's partitions under Kafka's range assignor: how many each instance
//! reads, which instances idle, and which partition and instance counts split evenly.

use serde::{Deserialize, Serialize};

use super::inputs::CapacityError;

/// A consumer group's partitions under Kafka's range assignor: each of K instances gets
/// floor(P/K), the first P mod K one more; instances beyond P stay idle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeSplit {
    /// Partitions P.
    pub partitions: u32,
    /// Instances K.
    pub instances: u32,
    /// Instances with at least one partition.
    pub active_instances: u32,
    /// Instances with none.
    pub idle_instances: u32,
    /// Partitions of the most loaded instance: ceil(P/K).
    pub most_partitions: u32,
    /// Partitions of the least loaded instance: floor(P/K) (0 when some are idle).
    pub least_partitions: u32,
    /// Instances holding `most_partitions`.
    pub instances_with_most: u32,
    /// Every instance has the same number of partitions.
    pub even: bool,
    /// The multiples of K nearest P (below, if any, and above): partition counts that split
    /// evenly over K instances.
    pub even_partition_counts: Vec<u32>,
    /// The divisors of P nearest K (below and above, up to P): instance counts that split P evenly.
    pub even_instance_counts: Vec<u32>,
    /// Ingest share of the most loaded instance, bytes/s, when the ingest is known (partitions
    /// assumed equally busy).
    pub busiest_instance_bytes_per_s: Option<f64>,
    /// Ingest share of the least loaded instance, bytes/s.
    pub quietest_instance_bytes_per_s: Option<f64>,
}

/// The range-assignor split of `partitions` over `instances`, with the ingest share of the
/// busiest and quietest instance when `ingest_bytes_per_s` is given.
pub fn range_split(
    partitions: u32,
    instances: u32,
    ingest_bytes_per_s: Option<f64>,
) -> Result<RangeSplit, CapacityError> {
    if partitions == 0 || instances == 0 {
        return Err(CapacityError::Group {
            partitions,
            instances,
        });
    }
    let (p, k) = (partitions, instances);
    // Kafka's assignor itself, as the read runner uses it.
    let counts: Vec<u32> = segmodel::range_assign(p as usize, k as usize)
        .into_iter()
        .map(|r| r.len() as u32)
        .collect();
    let most = counts.iter().copied().max().unwrap_or(0);
    let least = counts.iter().copied().min().unwrap_or(0); // 0 when k > p: the idle ones
    let active = counts.iter().filter(|&&c| c > 0).count() as u32;
    let instances_with_most = counts.iter().filter(|&&c| c == most).count() as u32;
    let mut even_partition_counts = Vec::new();
    let below = p / k * k;
    if below > 0 {
        even_partition_counts.push(below);
    }
    let above = p.div_ceil(k).saturating_mul(k);
    if above != below {
        even_partition_counts.push(above);
    }
    let divisors: Vec<u32> = (1..=p).filter(|d| p % d == 0).collect();
    let mut even_instance_counts = Vec::new();
    if let Some(d) = divisors.iter().rev().find(|&&d| d <= k) {
        even_instance_counts.push(*d);
    }
    if let Some(d) = divisors.iter().find(|&&d| d >= k) {
        if even_instance_counts.last() != Some(d) {
            even_instance_counts.push(*d);
        }
    }
    let share = |n: u32| ingest_bytes_per_s.map(|w| w * f64::from(n) / f64::from(p));
    Ok(RangeSplit {
        partitions: p,
        instances: k,
        active_instances: active,
        idle_instances: k - active,
        most_partitions: most,
        least_partitions: least,
        instances_with_most,
        even: most == least,
        even_partition_counts,
        even_instance_counts,
        busiest_instance_bytes_per_s: share(most),
        quietest_instance_bytes_per_s: share(least),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::close;

    const MB: f64 = 1e6;

    #[test]
    fn range_assignor_splits() {
        // 10 over 4: 3 3 2 2.
        let g = range_split(10, 4, Some(100.0 * MB)).unwrap();
        assert_eq!((g.active_instances, g.idle_instances), (4, 0));
        assert_eq!(
            (g.most_partitions, g.instances_with_most, g.least_partitions),
            (3, 2, 2)
        );
        assert!(!g.even);
        assert_eq!(g.even_partition_counts, vec![8, 12]);
        assert_eq!(g.even_instance_counts, vec![2, 5]);
        assert!(close(g.busiest_instance_bytes_per_s.unwrap(), 30.0 * MB));
        assert!(close(g.quietest_instance_bytes_per_s.unwrap(), 20.0 * MB));
        // 3 over 5: two idle.
        let g = range_split(3, 5, None).unwrap();
        assert_eq!((g.active_instances, g.idle_instances), (3, 2));
        assert_eq!(
            (g.most_partitions, g.instances_with_most, g.least_partitions),
            (1, 3, 0)
        );
        assert_eq!(g.even_partition_counts, vec![5]);
        assert_eq!(g.even_instance_counts, vec![3]);
        assert_eq!(g.busiest_instance_bytes_per_s, None);
        // 12 over 4: even.
        let g = range_split(12, 4, None).unwrap();
        assert!(g.even);
        assert_eq!(
            (g.most_partitions, g.least_partitions, g.instances_with_most),
            (3, 3, 4)
        );
        assert_eq!(g.even_partition_counts, vec![12]);
        assert_eq!(g.even_instance_counts, vec![4]);
        // 7 over 1 and 1 over 1.
        assert_eq!(range_split(7, 1, None).unwrap().most_partitions, 7);
        assert!(range_split(1, 1, None).unwrap().even);
        assert!(matches!(
            range_split(0, 3, None),
            Err(CapacityError::Group { .. })
        ));
        assert!(matches!(
            range_split(3, 0, None),
            Err(CapacityError::Group { .. })
        ));
    }

    #[test]
    fn range_split_matches_an_explicit_assignment() {
        for p in 1..40u32 {
            for k in 1..12u32 {
                // An explicit assignment: floor(P/K) each, the first P mod K one more.
                let counts: Vec<u32> = (0..k).map(|i| p / k + u32::from(i < p % k)).collect();
                assert_eq!(counts.iter().sum::<u32>(), p);
                let g = range_split(p, k, None).unwrap();
                assert_eq!(g.most_partitions, *counts.iter().max().unwrap(), "{p}/{k}");
                assert_eq!(g.least_partitions, *counts.iter().min().unwrap(), "{p}/{k}");
                assert_eq!(
                    g.idle_instances,
                    counts.iter().filter(|c| **c == 0).count() as u32
                );
                let with_most = counts.iter().filter(|c| **c == g.most_partitions).count() as u32;
                assert_eq!(g.instances_with_most, with_most, "{p}/{k}");
                for e in &g.even_partition_counts {
                    assert_eq!(e % k, 0);
                    assert!(e.abs_diff(p) < k);
                }
                for e in &g.even_instance_counts {
                    assert_eq!(p % e, 0);
                }
            }
        }
    }
}
