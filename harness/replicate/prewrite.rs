//! The log a leader with the `null` write engine serves. `null` writes nothing, but followers
//! fetch whole batches from the leader's segment files; so before the clock starts the leader
//! writes (buffered) and syncs exactly the batches the producers will send — `--size` bytes,
//! as many per partition as the producers deal it ([`super::producer::ProducerPlan`]), the
//! offsets the leader would assign — and during the run each produce only books its batch, already in the page cache,
//! as appended. The producer then sends no bytes either (it names the next batch): what is
//! measured is the replication pipeline alone — requests, the ISR and high watermark,
//! long-polled fetches sent from the page cache by the fetch engine, the followers' receive
//! and append — with no leader write in the path.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use workloads::kafka::batch::encode_batch;
use workloads::pacing::Clock;
use workloads::payload::{PayloadPool, DEFAULT_POOL_BYTES};
use workloads::{EngineError, EngineSpec, FlushPolicy, SyncKind};

use super::flush::FlushSetup;
use super::replica::{create_replicas, Booked, LogLayout};
use super::Shape;
use crate::runner::RunError;

/// Where one pre-written batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    /// Index into the partition's segments.
    segment: usize,
    /// Byte position in that segment.
    position: u64,
}

/// One partition's pre-written log and how far the run has booked it.
#[derive(Debug)]
struct PartitionBatches {
    /// `(base offset, .log path)` of each segment, oldest first.
    segments: Vec<(i64, PathBuf)>,
    /// Every batch, in offset order.
    slots: Vec<Slot>,
    /// The next batch a produce books.
    next: usize,
}

/// Every partition's pre-written log.
#[derive(Debug)]
pub struct Prewritten {
    parts: Vec<PartitionBatches>,
    batch_bytes: u64,
}

impl Prewritten {
    /// Books partition `p`'s next pre-written batch, or fails when the run produced more
    /// than was written (the producer stops at `--size`, so it never does).
    pub fn book(&mut self, p: usize) -> Result<Booked<'_>, EngineError> {
        let part = &mut self.parts[p];
        let Some(&slot) = part.slots.get(part.next) else {
            let (_, path) = part.segments.last().cloned().unwrap_or_default();
            return Err(EngineError::Corrupt {
                path,
                position: part.slots.len() as u64 * self.batch_bytes,
                reason: format!(
                    "partition {p}: the {} batches written before the run are all used",
                    part.slots.len()
                ),
            });
        };
        part.next += 1;
        let (segment_base, path) = &part.segments[slot.segment];
        Ok(Booked {
            segment_base: *segment_base,
            path,
            position: slot.position,
        })
    }

    /// Bytes of every batch.
    pub fn batch_bytes(&self) -> u64 {
        self.batch_bytes
    }

    /// Bytes written before the run (all partitions).
    pub fn bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.slots.len() as u64).sum::<u64>() * self.batch_bytes
    }
}

/// Writes `counts[p]` batches into partition `p`'s log in `dir` (buffered, then
/// `fdatasync`ed so no write-back runs during the measurement) as `layout` lays logs out.
pub fn prewrite(
    layout: &LogLayout,
    dir: &Path,
    shape: Shape,
    record_size: usize,
    counts: &[u64],
    clock: Arc<dyn Clock>,
) -> Result<Prewritten, RunError> {
    let spec: EngineSpec = "buffered"
        .parse()
        .map_err(|e: EngineError| RunError::Unsupported(e.to_string()))?;
    let mut replicas = create_replicas(
        layout,
        dir,
        &spec,
        shape.batch_bytes,
        &FlushSetup::new(FlushPolicy::Never, SyncKind::default(), clock),
    )?;
    let mut parts: Vec<PartitionBatches> = replicas
        .iter()
        .map(|r| PartitionBatches {
            segments: vec![(
                r.log.active_base_offset(),
                r.log.active_log_path().to_path_buf(),
            )],
            slots: Vec::new(),
            next: 0,
        })
        .collect();
    let mut payload = PayloadPool::new(DEFAULT_POOL_BYTES, 0x5eb0_0015);
    let wall_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut batch = vec![0u8; shape.batch_bytes];
    let mut done = Vec::new();
    let batches = counts
        .iter()
        .enumerate()
        .flat_map(|(p, &n)| std::iter::repeat(p).take(n as usize));
    for p in batches {
        let (replica, part) = (&mut replicas[p], &mut parts[p]);
        let base = replica.log.next_offset();
        encode_batch(
            &mut batch,
            base,
            wall_ms,
            shape.records_per_batch,
            record_size,
            &mut payload,
        );
        let position = replica.append(
            &batch,
            shape.records_per_batch,
            wall_ms,
            layout.segment_size,
            &mut done,
        )?;
        let segment_base = replica.log.active_base_offset();
        if part.segments.last().map(|s| s.0) != Some(segment_base) {
            part.segments
                .push((segment_base, replica.log.active_log_path().to_path_buf()));
        }
        part.slots.push(Slot {
            segment: part.segments.len() - 1,
            position,
        });
    }
    for r in replicas.iter_mut() {
        r.close(&mut done)?;
    }
    for (_, path) in parts.iter().flat_map(|p| &p.segments) {
        File::open(path)
            .and_then(|f| f.sync_data())
            .map_err(|e| EngineError::io("fdatasync", path, e, 0))?;
    }
    Ok(Prewritten {
        parts,
        batch_bytes: shape.batch_bytes as u64,
    })
}
