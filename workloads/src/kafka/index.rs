//! Kafka's sparse segment indexes, as `OffsetIndex`, `TimeIndex` and `AbstractIndex` keep them.
//!
//! - `.index`: 8-byte entries, big-endian `(relative offset i32, file position i32)`; an entry
//!   `(o, p)` says the batch whose last offset is `base + o` starts at byte `p` of the `.log`.
//! - `.timeindex`: 12-byte entries, big-endian `(timestamp i64, relative offset i32)`; an entry
//!   `(t, o)` says the largest timestamp seen up to offset `base + o` is `t`.
//!
//! Like Kafka, a new index file is created at its maximum size (rounded down to whole
//! entries, `log.index.size.max.bytes`, default 10 MiB), memory-mapped, appended to through
//! the mapping, and trimmed to its entries when the segment is rolled or closed. The time
//! index keeps its last slot for the entry appended on roll (`TimeIndex.isFull`).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::sys::MmapMut;
use crate::EngineError;

/// Bytes of one `.index` entry.
pub const OFFSET_INDEX_ENTRY_LEN: usize = 8;
/// Bytes of one `.timeindex` entry.
pub const TIME_INDEX_ENTRY_LEN: usize = 12;
/// Kafka's default `log.index.size.max.bytes`: 10 MiB.
pub const DEFAULT_INDEX_MAX_BYTES: u64 = 10 << 20;
/// `RecordBatch.NO_TIMESTAMP`: the time index's last entry before any was appended.
pub const NO_TIMESTAMP: i64 = -1;

/// An error for a call the index cannot honour (the caller broke a Kafka invariant).
fn refused(op: &'static str, path: &Path, msg: String) -> EngineError {
    EngineError::io(
        op,
        path,
        io::Error::new(io::ErrorKind::InvalidInput, msg),
        0,
    )
}

/// Bytes of an index file allocated (`posix_fallocate`) at a time ahead of its next entry.
const INDEX_RESERVE_STEP: usize = 64 << 10;

/// A memory-mapped index file of fixed-size entries, sized to its maximum (sparse) and
/// allocated [`INDEX_RESERVE_STEP`] bytes at a time before entries are stored there: a store
/// into a hole of a full file system would be a SIGBUS, an allocation is an ENOSPC error.
#[derive(Debug)]
struct MappedIndex {
    path: PathBuf,
    file: Option<File>,
    map: Option<MmapMut>,
    entry_len: usize,
    entries: usize,
    max_entries: usize,
    /// Bytes from the start of the file that are allocated.
    reserved: usize,
}

impl MappedIndex {
    fn create(path: &Path, max_bytes: u64, entry_len: usize) -> Result<Self, EngineError> {
        if max_bytes < entry_len as u64 || max_bytes > i32::MAX as u64 {
            return Err(EngineError::InvalidSpec {
                spec: format!("index max bytes {max_bytes}"),
                reason: format!(
                    "log.index.size.max.bytes must be between {entry_len} and {} bytes",
                    i32::MAX
                ),
            });
        }
        let max_entries = (max_bytes / entry_len as u64) as usize;
        let len = max_entries * entry_len;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| EngineError::io("create", path, e, 0))?;
        file.set_len(len as u64)
            .map_err(|e| EngineError::io("ftruncate", path, e, 0))?;
        let map = MmapMut::map(&file, len, path)?;
        Ok(MappedIndex {
            path: path.to_path_buf(),
            file: Some(file),
            map: Some(map),
            entry_len,
            entries: 0,
            max_entries,
            reserved: 0,
        })
    }

    /// The bytes of the next entry, or an error when closed.
    fn next_slot(&mut self, op: &'static str) -> Result<&mut [u8], EngineError> {
        let at = self.entries * self.entry_len;
        let len = self.entry_len;
        if let (Some(file), Some(map)) = (&self.file, &self.map) {
            crate::sys::reserve_ahead(
                file,
                &mut self.reserved,
                at + len,
                INDEX_RESERVE_STEP,
                map.len(),
                &self.path,
            )?;
        }
        match self.map.as_mut() {
            Some(m) => Ok(&mut m.as_mut_slice()[at..at + len]),
            None => Err(refused(op, &self.path, "the index is closed".into())),
        }
    }

    fn flush(&self) -> Result<(), EngineError> {
        match &self.map {
            Some(m) => m.sync_range(0, self.entries * self.entry_len, &self.path),
            None => Ok(()),
        }
    }

    /// Unmaps and trims the file to its entries (`AbstractIndex.close` / `trimToValidSize`).
    fn trim_and_close(&mut self) -> Result<(), EngineError> {
        if let Some(map) = self.map.take() {
            drop(map);
            if let Some(file) = self.file.take() {
                file.set_len((self.entries * self.entry_len) as u64)
                    .map_err(|e| EngineError::io("ftruncate", &self.path, e, 0))?;
            }
        }
        self.file = None;
        Ok(())
    }
}

impl Drop for MappedIndex {
    fn drop(&mut self) {
        // Best effort when dropped without close (an error path): leave a trimmed file.
        let _ = self.trim_and_close();
    }
}

/// A segment's offset index (`.index`), being appended to.
#[derive(Debug)]
pub struct OffsetIndex {
    inner: MappedIndex,
    base_offset: i64,
    last_offset: Option<i64>,
}

impl OffsetIndex {
    /// Creates `path` (it must not exist) at `max_bytes` rounded down to whole 8-byte entries,
    /// and maps it. `max_bytes` must be 8..=i32::MAX (Kafka's limit).
    pub fn create(path: &Path, base_offset: i64, max_bytes: u64) -> Result<Self, EngineError> {
        Ok(OffsetIndex {
            inner: MappedIndex::create(path, max_bytes, OFFSET_INDEX_ENTRY_LEN)?,
            base_offset,
            last_offset: None,
        })
    }

    /// Appends the entry `(offset - base, position)`. As Kafka's `OffsetIndex.append`, refuses
    /// an offset not above the last one, an offset that does not fit a relative i32, a
    /// position over i32::MAX, and a full index.
    pub fn append(&mut self, offset: i64, position: u32) -> Result<(), EngineError> {
        let path = &self.inner.path;
        if self.is_full() {
            return Err(refused(
                "index append",
                path,
                format!("the index is full ({} entries)", self.inner.entries),
            ));
        }
        if let Some(last) = self.last_offset {
            if offset <= last {
                return Err(refused(
                    "index append",
                    path,
                    format!("offset {offset} is not above the last indexed offset {last}"),
                ));
            }
        }
        let relative = offset - self.base_offset;
        if !(0..=i64::from(i32::MAX)).contains(&relative) || position > i32::MAX as u32 {
            return Err(refused(
                "index append",
                path,
                format!(
                    "entry (offset {offset}, position {position}) does not fit base offset {}",
                    self.base_offset
                ),
            ));
        }
        let slot = self.inner.next_slot("index append")?;
        slot[..4].copy_from_slice(&(relative as i32).to_be_bytes());
        slot[4..].copy_from_slice(&(position as i32).to_be_bytes());
        self.inner.entries += 1;
        self.last_offset = Some(offset);
        Ok(())
    }

    /// Entries appended.
    pub fn entries(&self) -> usize {
        self.inner.entries
    }

    /// Entries the file can hold.
    pub fn max_entries(&self) -> usize {
        self.inner.max_entries
    }

    /// True when no entry can be appended (`entries >= maxEntries`): the segment must roll.
    pub fn is_full(&self) -> bool {
        self.inner.entries >= self.inner.max_entries
    }

    /// Last offset appended, if any.
    pub fn last_offset(&self) -> Option<i64> {
        self.last_offset
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// `msync` of the entries written (Kafka flushes indexes with the log).
    pub fn flush(&self) -> Result<(), EngineError> {
        self.inner.flush()
    }

    /// Unmaps the index and trims the file to its entries.
    pub fn close(mut self) -> Result<(), EngineError> {
        self.inner.trim_and_close()
    }
}

/// A segment's time index (`.timeindex`), being appended to.
#[derive(Debug)]
pub struct TimeIndex {
    inner: MappedIndex,
    base_offset: i64,
    last: (i64, i64),
}

impl TimeIndex {
    /// Creates `path` (it must not exist) at `max_bytes` rounded down to whole 12-byte
    /// entries, and maps it. `max_bytes` must be 12..=i32::MAX.
    pub fn create(path: &Path, base_offset: i64, max_bytes: u64) -> Result<Self, EngineError> {
        Ok(TimeIndex {
            inner: MappedIndex::create(path, max_bytes, TIME_INDEX_ENTRY_LEN)?,
            base_offset,
            last: (NO_TIMESTAMP, base_offset),
        })
    }

    /// Kafka's `TimeIndex.maybeAppend(timestamp, offset)`: appends `(timestamp, offset - base)`
    /// only when `timestamp` is above the last entry's (initially -1). Refuses a full index
    /// (the last slot is kept for [`TimeIndex::append_final`]), an offset below the last
    /// entry's and a timestamp below it.
    pub fn append(&mut self, timestamp_ms: i64, offset: i64) -> Result<(), EngineError> {
        if self.is_full() {
            return Err(refused(
                "timeindex append",
                &self.inner.path,
                format!("the time index is full ({} entries)", self.inner.entries),
            ));
        }
        self.maybe_append(timestamp_ms, offset)
    }

    /// `maybeAppend(timestamp, offset, skipFullCheck = true)`, as on roll and close: may use
    /// the slot [`TimeIndex::append`] keeps free.
    pub fn append_final(&mut self, timestamp_ms: i64, offset: i64) -> Result<(), EngineError> {
        self.maybe_append(timestamp_ms, offset)
    }

    fn maybe_append(&mut self, timestamp_ms: i64, offset: i64) -> Result<(), EngineError> {
        let (last_ts, last_offset) = self.last;
        let path = &self.inner.path;
        if self.inner.entries > 0 && offset < last_offset {
            return Err(refused(
                "timeindex append",
                path,
                format!("offset {offset} is below the last entry's offset {last_offset}"),
            ));
        }
        if self.inner.entries > 0 && timestamp_ms < last_ts {
            return Err(refused(
                "timeindex append",
                path,
                format!("timestamp {timestamp_ms} is below the last entry's timestamp {last_ts}"),
            ));
        }
        if timestamp_ms <= last_ts {
            return Ok(());
        }
        let relative = offset - self.base_offset;
        if !(0..=i64::from(i32::MAX)).contains(&relative) {
            return Err(refused(
                "timeindex append",
                path,
                format!(
                    "offset {offset} does not fit base offset {}",
                    self.base_offset
                ),
            ));
        }
        if self.inner.entries >= self.inner.max_entries {
            return Err(refused(
                "timeindex append",
                path,
                "the time index is full".into(),
            ));
        }
        let slot = self.inner.next_slot("timeindex append")?;
        slot[..8].copy_from_slice(&timestamp_ms.to_be_bytes());
        slot[8..].copy_from_slice(&(relative as i32).to_be_bytes());
        self.inner.entries += 1;
        self.last = (timestamp_ms, offset);
        Ok(())
    }

    /// Entries appended.
    pub fn entries(&self) -> usize {
        self.inner.entries
    }

    /// True when only the slot kept for the roll entry is left (`entries >= maxEntries - 1`):
    /// the segment must roll.
    pub fn is_full(&self) -> bool {
        self.inner.entries + 1 >= self.inner.max_entries
    }

    /// The last entry `(timestamp, absolute offset)`, `(-1, base offset)` before any.
    pub fn last_entry(&self) -> (i64, i64) {
        self.last
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// `msync` of the entries written.
    pub fn flush(&self) -> Result<(), EngineError> {
        self.inner.flush()
    }

    /// Unmaps the index and trims the file to its entries.
    pub fn close(mut self) -> Result<(), EngineError> {
        self.inner.trim_and_close()
    }
}

/// Reads a whole index file and returns its entries, dropping trailing all-zero entries (the
/// unused preallocated tail of an index still being written by a live broker).
fn read_entries(path: &Path, entry_len: usize) -> Result<Vec<u8>, EngineError> {
    let mut bytes = std::fs::read(path).map_err(|e| EngineError::io("read", path, e, 0))?;
    if bytes.len() % entry_len != 0 {
        return Err(EngineError::Corrupt {
            path: path.to_path_buf(),
            position: (bytes.len() - bytes.len() % entry_len) as u64,
            reason: format!(
                "index file length {} is not a multiple of its {entry_len}-byte entries",
                bytes.len()
            ),
        });
    }
    let mut end = bytes.len();
    while end >= entry_len && bytes[end - entry_len..end].iter().all(|&b| b == 0) {
        end -= entry_len;
    }
    bytes.truncate(end);
    Ok(bytes)
}

/// The entries of an `.index` file: `(relative offset, position)`.
pub fn read_offset_index(path: &Path) -> Result<Vec<(i32, u32)>, EngineError> {
    let bytes = read_entries(path, OFFSET_INDEX_ENTRY_LEN)?;
    bytes
        .chunks_exact(OFFSET_INDEX_ENTRY_LEN)
        .enumerate()
        .map(|(i, e)| {
            let rel = i32::from_be_bytes([e[0], e[1], e[2], e[3]]);
            let pos = i32::from_be_bytes([e[4], e[5], e[6], e[7]]);
            if pos < 0 {
                return Err(EngineError::Corrupt {
                    path: path.to_path_buf(),
                    position: (i * OFFSET_INDEX_ENTRY_LEN) as u64,
                    reason: format!("index entry {i} has negative position {pos}"),
                });
            }
            Ok((rel, pos as u32))
        })
        .collect()
}

/// The entries of a `.timeindex` file: `(timestamp ms, relative offset)`.
pub fn read_time_index(path: &Path) -> Result<Vec<(i64, i32)>, EngineError> {
    let bytes = read_entries(path, TIME_INDEX_ENTRY_LEN)?;
    Ok(bytes
        .chunks_exact(TIME_INDEX_ENTRY_LEN)
        .map(|e| {
            let mut ts = [0u8; 8];
            ts.copy_from_slice(&e[..8]);
            (
                i64::from_be_bytes(ts),
                i32::from_be_bytes([e[8], e[9], e[10], e[11]]),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_entries_are_byte_exact_and_trimmed_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000001000.index");
        let mut idx = OffsetIndex::create(&path, 1000, 1 << 20).unwrap();
        // Preallocated at the maximum size, as Kafka does.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 1 << 20);
        assert_eq!(idx.max_entries(), (1 << 20) / 8);
        idx.append(1005, 4200).unwrap();
        idx.append(1000 + 0x0102_0304, 0x0A0B_0C0D).unwrap();
        assert_eq!(idx.entries(), 2);
        idx.close().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        #[rustfmt::skip]
        assert_eq!(bytes, vec![
            0, 0, 0, 5, 0, 0, 0x10, 0x68,          // (5, 4200)
            1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D,   // (0x01020304, 0x0A0B0C0D)
        ]);
        assert_eq!(
            read_offset_index(&path).unwrap(),
            vec![(5, 4200), (0x0102_0304, 0x0A0B_0C0D)]
        );
    }

    #[test]
    fn offset_index_refuses_what_kafka_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.index");
        // 20 bytes round down to 2 entries.
        let mut idx = OffsetIndex::create(&path, 10, 20).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 16);
        assert!(idx.append(9, 0).is_err(), "offset below the base");
        idx.append(12, 100).unwrap();
        assert!(idx.append(12, 200).is_err(), "offset not above the last");
        assert!(
            idx.append(13, i32::MAX as u32 + 1).is_err(),
            "position over i32"
        );
        assert!(!idx.is_full());
        idx.append(13, 200).unwrap();
        assert!(idx.is_full());
        assert!(idx.append(14, 300).is_err(), "full");
        assert!(
            OffsetIndex::create(&path, 0, 1 << 20).is_err(),
            "file exists"
        );
        assert!(
            OffsetIndex::create(&dir.path().join("b.index"), 0, 4).is_err(),
            "too small"
        );
        drop(idx);
        // Dropped without close: still trimmed.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 16);
    }

    #[test]
    fn time_index_appends_only_rising_timestamps_and_keeps_a_slot_for_roll() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000100.timeindex");
        // 40 bytes: 3 entries, of which append() may use 2.
        let mut idx = TimeIndex::create(&path, 100, 40).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 36);
        assert_eq!(idx.last_entry(), (-1, 100));
        idx.append(1_700_000_000_000, 105).unwrap();
        idx.append(1_700_000_000_000, 107).unwrap(); // same timestamp: not appended
        assert_eq!(idx.entries(), 1);
        assert!(
            idx.append(1_600_000_000_000, 108).is_err(),
            "timestamp going back"
        );
        assert!(
            idx.append(1_800_000_000_000, 104).is_err(),
            "offset going back"
        );
        idx.append(1_700_000_000_001, 110).unwrap();
        assert!(idx.is_full());
        assert!(idx.append(1_700_000_000_002, 111).is_err());
        idx.append_final(0x0102_0304_0506_0708, 0x0A0B_0C0D + 100)
            .unwrap();
        idx.close().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let ts = 1_700_000_000_000i64.to_be_bytes();
        let ts1 = 1_700_000_000_001i64.to_be_bytes();
        let mut want = Vec::new();
        want.extend_from_slice(&ts);
        want.extend_from_slice(&[0, 0, 0, 5]);
        want.extend_from_slice(&ts1);
        want.extend_from_slice(&[0, 0, 0, 10]);
        want.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 0x0A, 0x0B, 0x0C, 0x0D]);
        assert_eq!(bytes, want);
        assert_eq!(
            read_time_index(&path).unwrap(),
            vec![
                (1_700_000_000_000, 5),
                (1_700_000_000_001, 10),
                (0x0102_0304_0506_0708, 0x0A0B_0C0D)
            ]
        );
    }

    #[test]
    fn readers_skip_a_live_index_preallocated_tail_and_reject_odd_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.index");
        let mut bytes = vec![0u8; 4096];
        bytes[..8].copy_from_slice(&[0, 0, 0, 9, 0, 0, 0x20, 0]);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_offset_index(&path).unwrap(), vec![(9, 0x2000)]);
        std::fs::write(&path, [0u8; 13]).unwrap();
        match read_offset_index(&path) {
            Err(EngineError::Corrupt { position, .. }) => assert_eq!(position, 8),
            other => panic!("expected Corrupt, got {other:?}"),
        }
        std::fs::write(&path, []).unwrap();
        assert!(read_time_index(&path).unwrap().is_empty());
    }
}
