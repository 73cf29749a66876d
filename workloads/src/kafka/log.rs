//! One partition's log, as a Kafka broker lays it out (`LocalLog`, `LogSegment`).
//!
//! The directory `<topic>-<partition>/` holds segments named by the 20-digit zero-padded
//! offset of their first record: `<base>.log` (record batches), `<base>.index` and
//! `<base>.timeindex`. Only the last segment (the active one) is appended to.
//!
//! [`PartitionLog`] does the bookkeeping a broker does around the bytes: it never writes the
//! `.log` file itself (a write engine does, so the write paths can be compared) but is told
//! of every appended batch ([`PartitionLog::record_append`]), maintains the indexes as
//! `LogSegment.append` does, decides when to roll ([`PartitionLog::needs_roll`], after
//! `LogSegment.shouldRoll`), rolls, and applies size-based retention on roll.
//!
//! The runner's loop per batch:
//! ```text
//! if log.needs_roll(len) { engine.close(); log.roll()?; engine.open(log.active_log_path()) }
//! encode + engine append at log.position(); log.record_append(len, records, ts)?
//! ```

use std::io;
use std::path::{Path, PathBuf};

use super::index::{OffsetIndex, TimeIndex, DEFAULT_INDEX_MAX_BYTES, NO_TIMESTAMP};
use crate::EngineError;

/// Kafka's default `log.segment.bytes`: 1 GiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 1 << 30;
/// Kafka's default `log.index.interval.bytes`.
pub const DEFAULT_INDEX_INTERVAL_BYTES: u64 = 4096;
/// Longest topic name Kafka accepts.
pub const MAX_TOPIC_LEN: usize = 249;

/// `<base offset, 20 digits zero-padded>.<ext>`, e.g. `00000000000000000042.log`.
pub fn segment_file_name(base_offset: i64, ext: &str) -> String {
    format!("{base_offset:020}.{ext}")
}

/// What the segment files hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Kafka v2 record batches with `.index` and `.timeindex` files.
    #[default]
    Kafka,
    /// Plain fixed-size blocks with no framing and no index files (the storage pattern
    /// without Kafka's format, for comparison). Offsets count blocks.
    Raw,
}

/// How a partition's log is segmented, indexed and retained (Kafka's topic configs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: a segment rolls before an append would take it past this size.
    /// At most i32::MAX for the Kafka format (index positions are i32).
    pub segment_bytes: u64,
    /// `index.interval.bytes`: bytes appended between two offset-index entries.
    pub index_interval_bytes: u64,
    /// `segment.index.bytes`: the preallocated size of each index file.
    pub index_max_bytes: u64,
    /// `retention.bytes`: delete the oldest whole segments while the log stays at least this
    /// large without them; `None` keeps everything.
    pub retention_bytes: Option<u64>,
    /// Kafka batches or raw blocks.
    pub format: LogFormat,
}

impl Default for LogConfig {
    /// Kafka's defaults: 1 GiB segments, an index entry every 4096 bytes, 10 MiB index
    /// files, no size-based retention.
    fn default() -> Self {
        LogConfig {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            index_interval_bytes: DEFAULT_INDEX_INTERVAL_BYTES,
            index_max_bytes: DEFAULT_INDEX_MAX_BYTES,
            retention_bytes: None,
            format: LogFormat::Kafka,
        }
    }
}

/// One segment of a [`PartitionLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Offset of its first record (its file name).
    pub base_offset: i64,
    /// Its `.log` file.
    pub log_path: PathBuf,
    /// Bytes appended to it.
    pub bytes: u64,
}

/// What [`PartitionLog::roll`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollOutcome {
    /// Base offset of the new active segment.
    pub new_base_offset: i64,
    /// Old segments deleted by retention.
    pub deleted_segments: usize,
    /// Bytes of `.log` data they held.
    pub deleted_bytes: u64,
}

/// Index state of the active segment (Kafka format only).
#[derive(Debug)]
struct ActiveIndexes {
    offset: OffsetIndex,
    time: TimeIndex,
    /// `LogSegment.bytesSinceLastIndexEntry`.
    bytes_since_last_entry: u64,
    /// `maxTimestampAndOffsetSoFar`: the largest batch timestamp and the last offset of
    /// the batch holding it.
    max_timestamp: (i64, i64),
}

/// One partition's log being written. See the module documentation.
#[derive(Debug)]
pub struct PartitionLog {
    dir: PathBuf,
    cfg: LogConfig,
    segments: Vec<SegmentInfo>,
    next_offset: i64,
    position: u64,
    total_bytes: u64,
    indexes: Option<ActiveIndexes>,
    closed: bool,
}

fn invalid(spec: impl Into<String>, reason: impl Into<String>) -> EngineError {
    EngineError::InvalidSpec {
        spec: spec.into(),
        reason: reason.into(),
    }
}

/// Checks a topic name as Kafka does (`Topic.validate`): 1-249 of `[a-zA-Z0-9._-]`,
/// not `.` or `..`. The error is the rule, for a message that names the option.
pub fn check_topic(topic: &str) -> Result<(), String> {
    let legal = topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if topic.is_empty() || topic.len() > MAX_TOPIC_LEN || !legal || topic == "." || topic == ".." {
        return Err(format!(
            "a topic name is 1 to {MAX_TOPIC_LEN} of a-z A-Z 0-9 . _ - (and not . or ..)"
        ));
    }
    Ok(())
}

/// Checks `segment.bytes` for `format`: at least one byte, and at most `i32::MAX` for the Kafka
/// format (index positions are i32). The error is the rule.
pub fn check_segment_bytes(bytes: u64, format: LogFormat) -> Result<(), String> {
    if bytes == 0 {
        return Err("a segment must hold at least one byte".into());
    }
    if format == LogFormat::Kafka && bytes > i32::MAX as u64 {
        return Err(format!(
            "Kafka segments are at most {} bytes (2 GiB - 1: index positions are i32)",
            i32::MAX
        ));
    }
    Ok(())
}

fn remove_if_exists(path: &Path) -> Result<(), EngineError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(EngineError::io("unlink", path, e, 0)),
    }
}

impl PartitionLog {
    /// Creates `<root>/<topic>-<partition>/` (it must not exist; `root` must) and, for the
    /// Kafka format, the first segment's index files (base offset 0). The `.log` file is
    /// created by the write engine at [`PartitionLog::active_log_path`].
    pub fn create(
        root: &Path,
        topic: &str,
        partition: u32,
        cfg: LogConfig,
    ) -> Result<Self, EngineError> {
        check_topic(topic).map_err(|r| invalid(format!("topic '{topic}'"), r))?;
        check_segment_bytes(cfg.segment_bytes, cfg.format)
            .map_err(|r| invalid(format!("segment bytes {}", cfg.segment_bytes), r))?;
        let dir = root.join(format!("{topic}-{partition}"));
        std::fs::create_dir(&dir).map_err(|e| EngineError::io("mkdir", &dir, e, 0))?;
        let mut log = PartitionLog {
            segments: Vec::new(),
            next_offset: 0,
            position: 0,
            total_bytes: 0,
            indexes: None,
            closed: false,
            dir,
            cfg,
        };
        log.start_segment(0)?;
        Ok(log)
    }

    fn segment_path(&self, base_offset: i64, ext: &str) -> PathBuf {
        self.dir.join(segment_file_name(base_offset, ext))
    }

    /// Adds the segment starting at `base_offset` and, for Kafka, creates its indexes.
    fn start_segment(&mut self, base_offset: i64) -> Result<(), EngineError> {
        if self.cfg.format == LogFormat::Kafka {
            let max = self.cfg.index_max_bytes;
            let offset =
                OffsetIndex::create(&self.segment_path(base_offset, "index"), base_offset, max)?;
            let time = TimeIndex::create(
                &self.segment_path(base_offset, "timeindex"),
                base_offset,
                max,
            )?;
            self.indexes = Some(ActiveIndexes {
                offset,
                time,
                bytes_since_last_entry: 0,
                max_timestamp: (NO_TIMESTAMP, base_offset),
            });
        }
        self.segments.push(SegmentInfo {
            base_offset,
            log_path: self.segment_path(base_offset, "log"),
            bytes: 0,
        });
        self.position = 0;
        Ok(())
    }

    /// `onBecomeInactiveSegment` / `close`: the final time-index entry, then trim both.
    fn finish_indexes(&mut self) -> Result<(), EngineError> {
        if let Some(mut ix) = self.indexes.take() {
            let (ts, offset) = ix.max_timestamp;
            ix.time.append_final(ts, offset)?;
            ix.offset.close()?;
            ix.time.close()?;
        }
        Ok(())
    }

    /// The partition directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration.
    pub fn config(&self) -> &LogConfig {
        &self.cfg
    }

    /// The active segment's `.log` file, which the write engine creates and appends to.
    pub fn active_log_path(&self) -> &Path {
        &self.active().log_path
    }

    fn active(&self) -> &SegmentInfo {
        // create() always starts a segment and nothing removes the last one.
        &self.segments[self.segments.len() - 1]
    }

    /// Offset the next record gets (Kafka's log end offset).
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Base offset of the active segment.
    pub fn active_base_offset(&self) -> i64 {
        self.active().base_offset
    }

    /// Bytes in the active segment: where the next batch goes.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// True when a batch of `batch_len` bytes must go to a new segment (`shouldRoll` on size):
    /// the active segment is not empty and the batch would take it past `segment_bytes`, or
    /// one of its indexes is full.
    pub fn needs_roll(&self, batch_len: u64) -> bool {
        if self.position > 0 && self.position + batch_len > self.cfg.segment_bytes {
            return true;
        }
        match &self.indexes {
            Some(ix) => ix.offset.is_full() || ix.time.is_full(),
            None => false,
        }
    }

    /// Rolls: call after the engine closed the active `.log`. Finishes the old segment's
    /// indexes (final time-index entry, trim), starts a segment at [`Self::next_offset`] with
    /// new index files, then applies size-based retention (Kafka's
    /// `deleteRetentionSizeBreachedSegments`: while the log minus its oldest segment still
    /// holds at least `retention_bytes`, delete that segment; never the active one). The
    /// runner then opens the engine on [`Self::active_log_path`].
    ///
    /// Rolling an empty segment recreates it at the same base offset (its empty `.log`, if
    /// the engine created one, is removed so the engine can create it again), as Kafka does.
    pub fn roll(&mut self) -> Result<RollOutcome, EngineError> {
        if self.closed {
            return Err(EngineError::io(
                "roll",
                &self.dir,
                io::Error::new(io::ErrorKind::InvalidInput, "the log is closed"),
                0,
            ));
        }
        self.finish_indexes()?;
        if self.position == 0 {
            let old = self
                .segments
                .pop()
                .expect("a log always has an active segment");
            remove_if_exists(&old.log_path)?;
            remove_if_exists(&self.segment_path(old.base_offset, "index"))?;
            remove_if_exists(&self.segment_path(old.base_offset, "timeindex"))?;
        }
        self.start_segment(self.next_offset)?;
        let (deleted_segments, deleted_bytes) = self.apply_retention()?;
        Ok(RollOutcome {
            new_base_offset: self.next_offset,
            deleted_segments,
            deleted_bytes,
        })
    }

    fn apply_retention(&mut self) -> Result<(usize, u64), EngineError> {
        let Some(retention) = self.cfg.retention_bytes else {
            return Ok((0, 0));
        };
        if self.total_bytes < retention {
            return Ok((0, 0));
        }
        let mut diff = self.total_bytes - retention;
        let mut n = 0;
        // The active segment (last) is never deleted.
        while n + 1 < self.segments.len() && self.segments[n].bytes <= diff {
            diff -= self.segments[n].bytes;
            n += 1;
        }
        let mut deleted_bytes = 0;
        for seg in self.segments.drain(..n) {
            remove_if_exists(&seg.log_path)?;
            for ext in ["index", "timeindex"] {
                remove_if_exists(&self.dir.join(segment_file_name(seg.base_offset, ext)))?;
            }
            deleted_bytes += seg.bytes;
        }
        self.total_bytes -= deleted_bytes;
        Ok((n, deleted_bytes))
    }

    /// Books a batch of `batch_len` bytes holding `records` records with max timestamp
    /// `max_ts_ms`, just appended at [`Self::position`], as `LogSegment.append` does: when more
    /// than `index_interval_bytes` were appended since the last offset-index entry, adds the
    /// entry (last offset of this batch, its start position) and offers the time index the
    /// largest timestamp so far; then advances the position and the next offset. For the raw
    /// format only the position and offsets move (pass one "record" per block).
    pub fn record_append(
        &mut self,
        batch_len: u64,
        records: u32,
        max_ts_ms: i64,
    ) -> Result<(), EngineError> {
        let refuse = |msg: String| {
            EngineError::io(
                "append",
                &self.dir,
                io::Error::new(io::ErrorKind::InvalidInput, msg),
                0,
            )
        };
        if self.closed {
            return Err(refuse("the log is closed".into()));
        }
        let start = self.position;
        if let Some(ix) = self.indexes.as_mut() {
            if records == 0 {
                return Err(refuse("a batch holds at least one record".into()));
            }
            let end = start + batch_len;
            if end > i32::MAX as u64 {
                return Err(refuse(format!(
                    "segment position {end} does not fit an i32"
                )));
            }
            let last_offset = self.next_offset + i64::from(records) - 1;
            if max_ts_ms > ix.max_timestamp.0 {
                ix.max_timestamp = (max_ts_ms, last_offset);
            }
            if ix.bytes_since_last_entry > self.cfg.index_interval_bytes {
                ix.offset.append(last_offset, start as u32)?;
                let (ts, offset) = ix.max_timestamp;
                ix.time.append(ts, offset)?;
                ix.bytes_since_last_entry = 0;
            }
            ix.bytes_since_last_entry += batch_len;
        }
        self.position = start + batch_len;
        self.next_offset += i64::from(records);
        self.total_bytes += batch_len;
        let last = self.segments.len() - 1;
        self.segments[last].bytes = self.position;
        Ok(())
    }

    /// `msync`s the active segment's index files (Kafka flushes them with the log).
    pub fn flush_indexes(&self) -> Result<(), EngineError> {
        if let Some(ix) = &self.indexes {
            ix.offset.flush()?;
            ix.time.flush()?;
        }
        Ok(())
    }

    /// Finishes the active segment's indexes (final time-index entry, trim). Call after the
    /// engine closed the `.log`. Idempotent; no append or roll is accepted afterwards.
    pub fn close(&mut self) -> Result<(), EngineError> {
        self.closed = true;
        self.finish_indexes()
    }

    /// The segments, oldest first; the last is the active one.
    pub fn segments(&self) -> &[SegmentInfo] {
        &self.segments
    }

    /// Bytes in all segments still on disk.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Entries in the active segment's offset index (0 for the raw format or once closed).
    pub fn active_index_entries(&self) -> usize {
        self.indexes.as_ref().map_or(0, |ix| ix.offset.entries())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_are_20_digit_base_offsets() {
        assert_eq!(segment_file_name(0, "log"), "00000000000000000000.log");
        assert_eq!(segment_file_name(42, "index"), "00000000000000000042.index");
        assert_eq!(
            segment_file_name(i64::MAX, "timeindex"),
            "09223372036854775807.timeindex"
        );
    }

    #[test]
    fn create_validates_and_lays_out_the_first_segment() {
        let root = tempfile::tempdir().unwrap();
        for bad in ["", ".", "..", "a/b", "top ic", &"x".repeat(250)] {
            assert!(
                PartitionLog::create(root.path(), bad, 0, LogConfig::default()).is_err(),
                "{bad:?}"
            );
        }
        let cfg = LogConfig {
            segment_bytes: 1 << 31,
            ..LogConfig::default()
        };
        assert!(PartitionLog::create(root.path(), "t", 0, cfg).is_err());
        let cfg = LogConfig {
            index_max_bytes: 4096,
            ..LogConfig::default()
        };
        let log = PartitionLog::create(root.path(), "my.topic_1-x", 7, cfg.clone()).unwrap();
        let dir = root.path().join("my.topic_1-x-7");
        assert_eq!(log.dir(), dir);
        assert_eq!(log.active_log_path(), dir.join("00000000000000000000.log"));
        assert_eq!(
            std::fs::metadata(dir.join("00000000000000000000.index"))
                .unwrap()
                .len(),
            4096
        );
        // 4096 rounded down to 12-byte entries.
        assert_eq!(
            std::fs::metadata(dir.join("00000000000000000000.timeindex"))
                .unwrap()
                .len(),
            4092
        );
        assert!(
            PartitionLog::create(root.path(), "my.topic_1-x", 7, cfg).is_err(),
            "exists"
        );
        let raw = LogConfig {
            format: LogFormat::Raw,
            segment_bytes: 1 << 33,
            ..LogConfig::default()
        };
        let _raw = PartitionLog::create(root.path(), "raw", 0, raw).unwrap();
        assert_eq!(
            std::fs::read_dir(root.path().join("raw-0"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn index_entries_follow_log_segment_append() {
        let root = tempfile::tempdir().unwrap();
        let cfg = LogConfig {
            index_interval_bytes: 1000,
            ..LogConfig::default()
        };
        let mut log = PartitionLog::create(root.path(), "t", 0, cfg).unwrap();
        // Batches of 400 bytes, 2 records each, timestamps rising every other batch.
        for i in 0..10u64 {
            log.record_append(400, 2, 1000 + (i / 2) as i64).unwrap();
        }
        // A later timestamp with no index entry: only the roll/close entry records it.
        log.record_append(400, 2, 2000).unwrap();
        assert_eq!(log.next_offset(), 22);
        assert_eq!(log.position(), 4400);
        log.close().unwrap();
        let dir = log.dir().to_path_buf();
        // bytes since the last entry before each batch: 0, 400, 800, 1200 -> entry at batch 3
        // (last offset 7, position 1200), then 400, 800, 1200 -> batch 6 (13, 2400), batch 9.
        let idx = super::super::read_offset_index(&dir.join("00000000000000000000.index")).unwrap();
        assert_eq!(idx, vec![(7, 1200), (13, 2400), (19, 3600)]);
        // Time index: the max timestamp so far and the last offset of its batch, at each
        // offset-index entry: 1001 (batch 2, offset 5), 1003 (batch 6, offset 13), 1004
        // (batch 8, offset 17); then close appends the largest, (2000, 21).
        let tix =
            super::super::read_time_index(&dir.join("00000000000000000000.timeindex")).unwrap();
        assert_eq!(tix, vec![(1001, 5), (1003, 13), (1004, 17), (2000, 21)]);
        assert!(log.record_append(400, 2, 0).is_err(), "closed");
    }

    #[test]
    fn roll_and_retention_keep_the_newest_segments() {
        let root = tempfile::tempdir().unwrap();
        let cfg = LogConfig {
            segment_bytes: 1000,
            index_interval_bytes: 100,
            index_max_bytes: 1024,
            retention_bytes: Some(2500),
            format: LogFormat::Kafka,
        };
        let mut log = PartitionLog::create(root.path(), "t", 0, cfg).unwrap();
        let mut deleted = 0;
        for i in 0..30 {
            if log.needs_roll(300) {
                let out = log.roll().unwrap();
                assert_eq!(out.new_base_offset, log.next_offset());
                deleted += out.deleted_segments;
            }
            std::fs::write(log.active_log_path(), b"").unwrap();
            log.record_append(300, 3, i).unwrap();
        }
        // 3 batches (900 bytes) per segment; 30 batches = 10 segments.
        let bases: Vec<i64> = log.segments().iter().map(|s| s.base_offset).collect();
        // Retention: total - oldest >= 2500 deletes; 900-byte segments leave 3 full + active.
        assert_eq!(bases, vec![54, 63, 72, 81]);
        assert_eq!(deleted, 6);
        assert_eq!(log.total_bytes(), 4 * 900);
        let names: Vec<String> = {
            let mut v: Vec<String> = std::fs::read_dir(log.dir())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names.len(), 12);
        assert_eq!(names[0], "00000000000000000054.index");
        assert!(!log.needs_roll(100));
        assert!(log.needs_roll(101));
    }

    #[test]
    fn a_full_index_forces_a_roll_and_an_empty_segment_rolls_in_place() {
        let root = tempfile::tempdir().unwrap();
        // 24 bytes: 3 offset-index entries, 2 time-index entries (1 usable before roll).
        let cfg = LogConfig {
            index_interval_bytes: 0,
            index_max_bytes: 24,
            ..LogConfig::default()
        };
        let mut log = PartitionLog::create(root.path(), "t", 0, cfg).unwrap();
        log.record_append(100, 1, 5).unwrap(); // no entry: nothing since the last entry
        assert!(!log.needs_roll(100));
        log.record_append(100, 1, 6).unwrap(); // entry 1; time index now full
        assert!(log.needs_roll(100));
        let out = log.roll().unwrap();
        assert_eq!(out.new_base_offset, 2);
        // Rolling the new, empty segment keeps its base offset and recreates its files.
        std::fs::write(log.active_log_path(), b"").unwrap();
        let out = log.roll().unwrap();
        assert_eq!(out.new_base_offset, 2);
        assert_eq!(log.segments().len(), 2);
        assert!(!log.active_log_path().exists());
        assert!(log.dir().join("00000000000000000002.index").exists());
    }
}
