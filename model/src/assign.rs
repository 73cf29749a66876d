//! Kafka's range assignor (`RangeAssignor`): how one consumer group's members share one
//! topic's partitions.
//!
//! Per topic, partitions and consumers are sorted; each consumer gets `P / C` consecutive
//! partitions and the first `P mod C` consumers one more; consumers beyond `P` get nothing
//! (idle). Reference: Apache Kafka `clients/.../consumer/RangeAssignor.java`.

use std::ops::Range;

/// `consumers` ranges over `0..partitions` (sorted partitions, sorted consumers): each
/// consumer gets `partitions / consumers`, the first `partitions % consumers` get one more;
/// consumers beyond `partitions` get an empty range. No consumers, no ranges.
pub fn range_assign(partitions: usize, consumers: usize) -> Vec<Range<usize>> {
    if consumers == 0 {
        return Vec::new();
    }
    let (each, extra) = (partitions / consumers, partitions % consumers);
    (0..consumers)
        .map(|c| {
            let start = c * each + c.min(extra);
            start..start + each + usize::from(c < extra)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_assignor_matches_kafka() {
        let r = |p, c| {
            range_assign(p, c)
                .into_iter()
                .map(|r| r.len())
                .collect::<Vec<_>>()
        };
        assert_eq!(r(4, 2), vec![2, 2]); // P = 2C
        assert_eq!(r(3, 3), vec![1, 1, 1]); // P = C
        assert_eq!(r(7, 3), vec![3, 2, 2]); // P mod C = 1: the first takes one more
        assert_eq!(r(8, 3), vec![3, 3, 2]);
        assert_eq!(r(2, 5), vec![1, 1, 0, 0, 0]); // P < C: the last consumers idle
        assert_eq!(range_assign(7, 3), vec![0..3, 3..5, 5..7]);
        assert_eq!(range_assign(2, 5)[1], 1..2);
        // Every partition exactly once, in order.
        for p in 0..20 {
            for c in 1..8 {
                let flat: Vec<usize> = range_assign(p, c).into_iter().flatten().collect();
                assert_eq!(flat, (0..p).collect::<Vec<_>>(), "{p} {c}");
            }
        }
    }

    #[test]
    fn no_consumers_no_ranges() {
        assert!(range_assign(5, 0).is_empty());
        assert_eq!(range_assign(0, 2), vec![0..0, 0..0]);
    }
}
