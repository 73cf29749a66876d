//! Full verification of a partition directory, segbench's own or a real broker's: every
//! batch's CRC and framing, offsets contiguous across segments, and every index entry checked
//! against the batches it points at. Nothing here writes.

use std::fs::File;
use std::path::Path;

use super::batch::{verify_batch, BatchHeader};
use super::index::{
    read_offset_index, read_time_index, OFFSET_INDEX_ENTRY_LEN, TIME_INDEX_ENTRY_LEN,
};
use super::reader::{
    corrupt, io_err, list_segments, step, ChunkReader, SegmentFile, Step, StopReason, VERIFY_CHUNK,
};
use crate::EngineError;

/// Totals of a verified partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartitionSummary {
    /// Segment files.
    pub segments: usize,
    /// Whole batches.
    pub batches: u64,
    /// Records in them.
    pub records: u64,
    /// Bytes of whole batches.
    pub bytes: u64,
    /// Offset of the first record (the first segment's base offset when there is none).
    pub first_offset: i64,
    /// Offset after the last record (the log end offset).
    pub next_offset: i64,
    /// `.index` entries, all checked.
    pub index_entries: u64,
    /// `.timeindex` entries, all checked.
    pub time_index_entries: u64,
    /// Bytes after the last whole batch of a segment (zero padding, or a truncated batch at
    /// the end of the last segment), not counted in `bytes`.
    pub ignored_bytes: u64,
}

/// Verifies a partition directory completely: every batch's CRC and record framing; offsets
/// contiguous across batches and segments, each segment's first batch at its file name's
/// base offset; every `.index` entry sorted and pointing at a batch start whose last offset
/// is the entry's offset (Kafka's semantics); `.timeindex` entries sorted, inside their
/// segment and not above its largest timestamp. A truncated batch is accepted only at the
/// end of the last segment (a live broker's), zero padding at the end of any segment.
/// Errors are [`EngineError::Corrupt`] naming the file and byte position.
pub fn verify_partition(partition_dir: &Path) -> Result<PartitionSummary, EngineError> {
    let segments = list_segments(partition_dir)?;
    if segments.is_empty() {
        return Err(corrupt(partition_dir, 0, "no segment (.log) files"));
    }
    let mut sum = PartitionSummary {
        segments: segments.len(),
        first_offset: segments[0].base_offset,
        next_offset: segments[0].base_offset,
        ..PartitionSummary::default()
    };
    let mut seen_batch = false;
    for (i, seg) in segments.iter().enumerate() {
        if seen_batch && seg.base_offset != sum.next_offset {
            return Err(corrupt(
                &seg.log_path,
                0,
                format!(
                    "segment base offset {} does not continue the previous segment, which ends \
                     before offset {}",
                    seg.base_offset, sum.next_offset
                ),
            ));
        }
        verify_segment(seg, i + 1 == segments.len(), &mut sum, &mut seen_batch)?;
        if !seen_batch {
            sum.first_offset = seg.base_offset;
            sum.next_offset = seg.base_offset;
        }
    }
    Ok(sum)
}

/// One segment of a partition: its batches in order (each CRC-checked, offsets continuing
/// `sum.next_offset` once `seen_batch`), its offset index against those batches, its time
/// index; adds what it holds to `sum`. `last_segment`: a truncated batch is accepted at its end.
fn verify_segment(
    seg: &SegmentFile,
    last_segment: bool,
    sum: &mut PartitionSummary,
    seen_batch: &mut bool,
) -> Result<(), EngineError> {
    let log = &seg.log_path;
    let index = match &seg.index_path {
        Some(p) => read_offset_index(p)?,
        None => Vec::new(),
    };
    check_offset_index_order(seg, &index)?;
    let file = File::open(log).map_err(io_err("open", log))?;
    let mut reader = ChunkReader::new(file, log.clone(), VERIFY_CHUNK);
    let mut pos = 0u64;
    let mut next_entry = 0usize;
    let mut seg_max_ts = i64::MIN;
    let mut seg_last_offset = None;
    let stop = loop {
        let h = match step(&mut reader, pos, seg.len)? {
            Step::Batch(h) => h,
            Step::Stop(reason) => break reason,
        };
        let total = h.total_len();
        let bytes = reader.get(pos, total, seg.len)?;
        verify_batch(bytes).map_err(|e| corrupt(log, pos, e.to_string()))?;
        // Across segments, the segment base check in the caller ties next_offset to base_offset.
        let expected = if *seen_batch {
            sum.next_offset
        } else {
            seg.base_offset
        };
        if h.base_offset != expected {
            let what = if seg_last_offset.is_none() {
                "the segment's first batch must start at its file name's base offset"
            } else {
                "offsets must continue from the previous batch"
            };
            return Err(corrupt(
                log,
                pos,
                format!(
                    "batch base offset {}, expected {expected}: {what}",
                    h.base_offset
                ),
            ));
        }
        if !*seen_batch {
            sum.first_offset = h.base_offset;
            *seen_batch = true;
        }
        next_entry = check_index_entries_at(seg, &index, next_entry, pos, &h)?;
        sum.batches += 1;
        sum.records += h.records_count.max(0) as u64;
        sum.bytes += total as u64;
        sum.next_offset = h.next_offset();
        seg_max_ts = seg_max_ts.max(h.max_timestamp);
        seg_last_offset = Some(h.last_offset());
        pos += total as u64;
    };
    if let StopReason::Truncated { .. } = stop {
        if !last_segment {
            return Err(corrupt(
                log,
                pos,
                "truncated batch at the end of an inactive segment",
            ));
        }
    }
    sum.ignored_bytes += seg.len - pos;
    // A live (or crashed) broker's last segment may index the batch being written: an
    // entry at the truncated batch's start is accepted, as are time-index entries for it.
    let live_tail = matches!(stop, StopReason::Truncated { .. });
    check_index_tail(seg, &index, next_entry, pos, live_tail)?;
    sum.index_entries += index.len() as u64;
    if let Some(p) = &seg.timeindex_path {
        let entries = read_time_index(p)?;
        let bounds = (!live_tail).then_some((seg_last_offset, seg_max_ts));
        check_time_index(p, seg.base_offset, bounds, &entries)?;
        sum.time_index_entries += entries.len() as u64;
    }
    Ok(())
}

/// The offset index entries from `next_entry` on that point at or before the batch `h` at
/// byte `pos`: each must point exactly at it and map its last offset (Kafka's semantics).
/// Returns the first entry past this batch.
fn check_index_entries_at(
    seg: &SegmentFile,
    index: &[(i32, u32)],
    mut next_entry: usize,
    pos: u64,
    h: &BatchHeader,
) -> Result<usize, EngineError> {
    let path = seg.index_path.as_deref().unwrap_or(&seg.log_path);
    while let Some(&(rel, ipos)) = index.get(next_entry) {
        if u64::from(ipos) > pos {
            break;
        }
        let at = (next_entry * OFFSET_INDEX_ENTRY_LEN) as u64;
        if u64::from(ipos) < pos {
            return Err(corrupt(
                path,
                at,
                format!("index entry {next_entry} points at byte {ipos}, inside a batch"),
            ));
        }
        let offset = seg.base_offset + i64::from(rel);
        if offset != h.last_offset() {
            return Err(corrupt(
                path,
                at,
                format!(
                    "index entry {next_entry} maps offset {offset} to byte {ipos}, where \
                     the batch's last offset is {}",
                    h.last_offset()
                ),
            ));
        }
        next_entry += 1;
    }
    Ok(next_entry)
}

/// The offset index entries left after the last whole batch (ending at byte `end`): none may
/// remain, except, on a live tail, entries at the truncated batch's start.
fn check_index_tail(
    seg: &SegmentFile,
    index: &[(i32, u32)],
    next_entry: usize,
    end: u64,
    live_tail: bool,
) -> Result<(), EngineError> {
    let unmatched = index[next_entry..]
        .iter()
        .position(|&(_, ipos)| !(live_tail && u64::from(ipos) == end));
    let Some(k) = unmatched else {
        return Ok(());
    };
    let k = next_entry + k;
    let (rel, ipos) = index[k];
    let path = seg.index_path.as_deref().unwrap_or(&seg.log_path);
    Err(corrupt(
        path,
        (k * OFFSET_INDEX_ENTRY_LEN) as u64,
        format!(
            "index entry {k} (offset {}, byte {ipos}) points past the last whole \
             batch, which ends at byte {end}",
            seg.base_offset + i64::from(rel)
        ),
    ))
}

fn check_offset_index_order(seg: &SegmentFile, index: &[(i32, u32)]) -> Result<(), EngineError> {
    for (k, w) in index.windows(2).enumerate() {
        if w[1].0 <= w[0].0 || w[1].1 <= w[0].1 {
            let path = seg.index_path.as_deref().unwrap_or(&seg.log_path);
            return Err(corrupt(
                path,
                ((k + 1) * OFFSET_INDEX_ENTRY_LEN) as u64,
                format!(
                    "index entry {} ({}, {}) is not above the previous ({}, {})",
                    k + 1,
                    w[1].0,
                    w[1].1,
                    w[0].0,
                    w[0].1
                ),
            ));
        }
    }
    Ok(())
}

/// Checks a time index: timestamps rising, offsets not falling, none below the base; with
/// `bounds` = (last offset, max timestamp) of the segment's whole batches, none beyond them.
fn check_time_index(
    path: &Path,
    base: i64,
    bounds: Option<(Option<i64>, i64)>,
    entries: &[(i64, i32)],
) -> Result<(), EngineError> {
    for (k, &(ts, rel)) in entries.iter().enumerate() {
        let at = (k * TIME_INDEX_ENTRY_LEN) as u64;
        if k > 0 {
            let (pts, prel) = entries[k - 1];
            if ts <= pts || rel < prel {
                return Err(corrupt(
                    path,
                    at,
                    format!("time index entry {k} ({ts}, {rel}) does not follow ({pts}, {prel})"),
                ));
            }
        }
        let outside = match bounds {
            _ if rel < 0 => true,
            Some((Some(last_offset), max_ts)) => ts > max_ts || base + i64::from(rel) > last_offset,
            Some((None, _)) => true, // entries, but no whole batch
            None => false,
        };
        if outside {
            return Err(corrupt(
                path,
                at,
                format!(
                    "time index entry {k} ({ts}, offset {}) lies outside the segment's \
                     batches (last offset, max timestamp: {bounds:?})",
                    base + i64::from(rel)
                ),
            ));
        }
    }
    Ok(())
}
