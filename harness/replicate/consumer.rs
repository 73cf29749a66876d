//! The end-to-end consumer: one thread that reads every partition from the leader's segments
//! as a Kafka consumer does, only below the high watermark, and records for each batch the
//! time from its produce start (intended start in open loop) to the moment the consumer has
//! read it. Both ends are read on the leader's one clock (this process): never two hosts'.
//!
//! The producer announces each batch ([`Produced::Sent`], with the end offset it will get)
//! before sending it, and takes the announcement back ([`Produced::Refused`]) when the leader
//! refuses it. The consumer reads the HW first and the announcements after, so every batch
//! below the HW it saw has been announced (and a refusal taken back) by then.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use results::hist::{self, Hist};
use workloads::kafka::batch::parse_header;
use workloads::pacing::Clock;
use workloads::EngineError;

use super::isr::{FetchRange, Shared};
use super::segfiles::SegmentFiles;

/// The producer's announcements to the consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produced {
    /// A batch about to be sent: its partition, the offset after it, its produce start (ns).
    Sent {
        /// Partition.
        partition: u32,
        /// The offset after the batch once appended.
        end: i64,
        /// Produce start (intended start in open loop), ns.
        start_ns: u64,
    },
    /// The last batch announced for `partition` was refused (NotEnoughReplicas).
    Refused {
        /// Partition.
        partition: u32,
    },
}

/// What the consumer measured.
#[derive(Debug)]
pub struct ConsumerResult {
    /// Produce start → read below the HW, per batch, ns.
    pub e2e: Hist,
    /// Bytes read.
    pub bytes: u64,
    /// Batches read.
    pub batches: u64,
    /// CPU of the thread, seconds.
    pub cpu_s: f64,
}

/// How long the consumer waits for a HW move before re-checking `stop`.
const POLL: Duration = Duration::from_millis(10);

/// Consumes `partitions` partitions up to their HW until `stop` is set and nothing is left
/// below the HW; `max_bytes` per partition per fetch.
pub fn run_consumer(
    shared: &Shared,
    partitions: usize,
    max_bytes: u64,
    announced: Receiver<Produced>,
    stop: &AtomicBool,
    clock: &dyn Clock,
) -> Result<ConsumerResult, EngineError> {
    let cpu0 = crate::usage::CpuSnapshot::thread();
    let mut out = ConsumerResult {
        e2e: hist::new_hist(),
        bytes: 0,
        batches: 0,
        cpu_s: 0.0,
    };
    let mut next = vec![0i64; partitions];
    let mut pending: Vec<VecDeque<(i64, u64)>> = vec![VecDeque::new(); partitions];
    let mut files = SegmentFiles::default();
    let mut buf = vec![0u8; max_bytes as usize];
    loop {
        let ranges: Vec<(usize, FetchRange)> = {
            let mut st = shared.lock();
            loop {
                let ranges: Vec<(usize, FetchRange)> = (0..partitions)
                    .filter_map(|p| st.committed_range(p, next[p], max_bytes).map(|r| (p, r)))
                    .collect();
                if !ranges.is_empty() || stop.load(Ordering::Acquire) {
                    break ranges;
                }
                st = shared
                    .hw
                    .wait_timeout(st, POLL)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        };
        if ranges.is_empty() {
            break;
        }
        // After the HW read: every batch below it was announced by now.
        for m in announced.try_iter() {
            match m {
                Produced::Sent {
                    partition,
                    end,
                    start_ns,
                } => pending[partition as usize].push_back((end, start_ns)),
                Produced::Refused { partition } => {
                    pending[partition as usize].pop_back();
                }
            }
        }
        for (p, range) in ranges {
            let data = files.read(&range, &mut buf)?;
            let n = data.len();
            let mut pos = 0usize;
            while pos < n {
                let h = parse_header(&data[pos..]).map_err(|e| EngineError::Corrupt {
                    path: range.path.clone(),
                    position: range.start + pos as u64,
                    reason: e.to_string(),
                })?;
                next[p] = h.next_offset();
                pos += h.total_len();
                out.batches += 1;
            }
            out.bytes += n as u64;
        }
        let now = clock.now_ns();
        for (p, queue) in pending.iter_mut().enumerate() {
            while let Some(&(end, start_ns)) = queue.front() {
                if end > next[p] {
                    break;
                }
                hist::record(&mut out.e2e, now.saturating_sub(start_ns));
                queue.pop_front();
            }
        }
    }
    let cpu = crate::usage::CpuSnapshot::thread().since(&cpu0);
    out.cpu_s = cpu.user_s + cpu.sys_s;
    Ok(out)
}
