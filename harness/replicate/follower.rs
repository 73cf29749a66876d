//! A follower's fetch loop (Kafka's `ReplicaFetcherThread`, one per follower): fetch every
//! partition from its log end offset; the leader holds the fetch up to
//! `replica.fetch.wait.max.ms` until at least one byte (`replica.fetch.min.bytes` 1) is there;
//! read the whole batches of the answered byte ranges from the leader's segment files and
//! append them, batch by batch, through the follower's write engine (rolling where the leader
//! rolled: same segment size, same batches). A follower never appends a byte the leader did
//! not send: each batch's header is checked and its length must end inside the range read.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use workloads::kafka::batch::parse_header;
use workloads::pacing::Clock;
use workloads::EngineError;

use super::isr::{FetchRange, Shared};
use super::leader::Replica;
use super::segfiles::SegmentFiles;
use super::ReplicaConfig;

/// What one follower did.
#[derive(Debug, Clone, Default)]
pub struct FollowerStats {
    /// Bytes appended.
    pub bytes: u64,
    /// Fetches answered with data.
    pub fetches: u64,
    /// CPU of the thread, seconds.
    pub cpu_s: f64,
}

/// Runs follower `index` (0-based) until `stop`; while `pause` is set it sends no fetch (a
/// stalled follower).
pub fn run_follower(
    shared: &Shared,
    index: usize,
    mut parts: Vec<Replica>,
    cfg: &ReplicaConfig,
    pause: &AtomicBool,
    stop: &AtomicBool,
    clock: &dyn Clock,
) -> Result<FollowerStats, EngineError> {
    let cpu0 = crate::usage::CpuSnapshot::thread();
    let wait_ns = cfg.fetch_wait_max.as_nanos() as u64;
    let mut files = SegmentFiles::default();
    let mut buf = vec![0u8; cfg.fetch_max_bytes as usize];
    let mut done = Vec::new();
    let mut stats = FollowerStats::default();
    while !stop.load(Ordering::Acquire) {
        if pause.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        let ranges: Vec<(usize, FetchRange)> = {
            let mut st = shared.lock();
            let deadline = clock.now_ns() + wait_ns;
            loop {
                let now = clock.now_ns();
                let ranges: Vec<(usize, FetchRange)> = parts
                    .iter()
                    .enumerate()
                    .filter_map(|(p, r)| {
                        st.fetch(p, index, r.log.next_offset(), cfg.fetch_max_bytes, now)
                            .map(|range| (p, range))
                    })
                    .collect();
                shared.hw.notify_all();
                if !ranges.is_empty() || now >= deadline || stop.load(Ordering::Acquire) {
                    break ranges;
                }
                let left = Duration::from_nanos(deadline - now);
                st = shared
                    .data
                    .wait_timeout(st, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        };
        if !ranges.is_empty() {
            stats.fetches += 1;
        }
        for (p, range) in ranges {
            let data = files.read(&range, &mut buf)?;
            let n = data.len();
            let mut pos = 0usize;
            while pos < n {
                let corrupt = |reason: String| EngineError::Corrupt {
                    path: range.path.clone(),
                    position: range.start + pos as u64,
                    reason,
                };
                let h = parse_header(&data[pos..]).map_err(|e| corrupt(e.to_string()))?;
                let total = h.total_len();
                if h.base_offset != parts[p].log.next_offset() || pos + total > n {
                    return Err(corrupt(format!(
                        "batch at offset {} of {total} bytes does not follow offset {} inside the fetched range",
                        h.base_offset,
                        parts[p].log.next_offset()
                    )));
                }
                parts[p].append(
                    &data[pos..pos + total],
                    h.records_count.max(1) as u32,
                    h.max_timestamp,
                    cfg.segment_size,
                    &mut done,
                )?;
                stats.bytes += total as u64;
                pos += total;
            }
        }
    }
    for part in parts.iter_mut() {
        part.close(&mut done)?;
    }
    let cpu = crate::usage::CpuSnapshot::thread().since(&cpu0);
    stats.cpu_s = cpu.user_s + cpu.sys_s;
    Ok(stats)
}
