//! Read-only access to a partition directory, segbench's own or a real broker's: listing,
//! batch scanning (headers only), offset lookups and fetch boundaries (full verification is in
//! [`super::verify`]).
//!
//! Nothing here writes. A live broker's directory is fine: the active segment may end in a
//! partially written batch and its index files in preallocated zeros; both are tolerated.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::batch::{parse_header, BatchHeader, BATCH_HEADER_LEN, LOG_OVERHEAD};
use crate::EngineError;

/// Read size of [`BatchScanner`].
const SCAN_CHUNK: usize = 64 << 10;
/// Read size of [`super::verify::verify_partition`].
pub(super) const VERIFY_CHUNK: usize = 1 << 20;

/// One segment's files in a partition directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFile {
    /// Base offset, from the file name.
    pub base_offset: i64,
    /// The `.log` file.
    pub log_path: PathBuf,
    /// The `.index` file, if present.
    pub index_path: Option<PathBuf>,
    /// The `.timeindex` file, if present.
    pub timeindex_path: Option<PathBuf>,
    /// Length of the `.log` file in bytes.
    pub len: u64,
}

pub(super) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> EngineError + 'a {
    move |e| EngineError::io(op, path, e, 0)
}

pub(super) fn corrupt(path: &Path, position: u64, reason: impl Into<String>) -> EngineError {
    EngineError::Corrupt {
        path: path.to_path_buf(),
        position,
        reason: reason.into(),
    }
}

/// The base offset of a segment file name `<20 digits>.<ext>`.
fn parse_segment_name(name: &str, ext: &str) -> Option<i64> {
    let stem = name.strip_suffix(ext)?.strip_suffix('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// The segments of a partition directory, sorted by base offset: every `<20 digits>.log`
/// with its `.index` and `.timeindex` when they exist. Other files (Kafka's `.snapshot`,
/// `leader-epoch-checkpoint`, `partition.metadata`, `.deleted`, ...) are ignored.
pub fn list_segments(partition_dir: &Path) -> Result<Vec<SegmentFile>, EngineError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(partition_dir).map_err(io_err("readdir", partition_dir))? {
        let entry = entry.map_err(io_err("readdir", partition_dir))?;
        let name = entry.file_name();
        let Some(base_offset) = name.to_str().and_then(|n| parse_segment_name(n, "log")) else {
            continue;
        };
        let log_path = entry.path();
        let meta = std::fs::metadata(&log_path).map_err(io_err("stat", &log_path))?;
        if !meta.is_file() {
            continue;
        }
        let sibling = |ext: &str| {
            let p = partition_dir.join(super::log::segment_file_name(base_offset, ext));
            p.is_file().then_some(p)
        };
        out.push(SegmentFile {
            base_offset,
            index_path: sibling("index"),
            timeindex_path: sibling("timeindex"),
            log_path,
            len: meta.len(),
        });
    }
    out.sort_by_key(|s| s.base_offset);
    Ok(out)
}

/// The partition directories under `root` (a broker's `log.dirs` entry or segbench's data
/// directory): directories named `<topic>-<partition>` that hold at least one segment,
/// sorted by topic then partition.
pub fn list_partitions(root: &Path) -> Result<Vec<(String, u32, PathBuf)>, EngineError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).map_err(io_err("readdir", root))? {
        let entry = entry.map_err(io_err("readdir", root))?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some((topic, part)) = name.rsplit_once('-') else {
            continue;
        };
        if topic.is_empty() || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(partition) = part.parse::<u32>() else {
            continue;
        };
        if list_segments(&path)?.is_empty() {
            continue;
        }
        out.push((topic.to_owned(), partition, path));
    }
    out.sort();
    Ok(out)
}

/// Positional reads through a reusable buffer.
#[derive(Debug)]
pub(super) struct ChunkReader {
    file: File,
    path: PathBuf,
    buf: Vec<u8>,
    /// File position of `buf[0]`.
    start: u64,
    /// Valid bytes in `buf`.
    len: usize,
    chunk: usize,
}

impl ChunkReader {
    pub(super) fn new(file: File, path: PathBuf, chunk: usize) -> Self {
        ChunkReader {
            file,
            path,
            buf: Vec::new(),
            start: 0,
            len: 0,
            chunk,
        }
    }

    /// Up to `n` bytes at `pos`, fewer only where the file or `limit` ends.
    pub(super) fn get(&mut self, pos: u64, n: usize, limit: u64) -> Result<&[u8], EngineError> {
        let n = n.min(limit.saturating_sub(pos) as usize);
        if pos >= self.start && pos + n as u64 <= self.start + self.len as u64 {
            let at = (pos - self.start) as usize;
            return Ok(&self.buf[at..at + n]);
        }
        let want = n.max(self.chunk).min(limit.saturating_sub(pos) as usize);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let mut got = 0;
        while got < want {
            match self
                .file
                .read_at(&mut self.buf[got..want], pos + got as u64)
            {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(EngineError::io("pread", &self.path, e, 0)),
            }
        }
        self.start = pos;
        self.len = got;
        Ok(&self.buf[..n.min(got)])
    }
}

/// Why a [`BatchScanner`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The last batch ended exactly at the end of the range.
    End,
    /// Zeros where the next batch would start (a preallocated or mmapped file's unused tail).
    Padding,
    /// The last batch is incomplete (a live broker mid-append, or a crash).
    Truncated {
        /// Bytes the batch (or its header) needs.
        needed_bytes: u64,
        /// Bytes there are before the end of the range.
        available_bytes: u64,
    },
}

/// Where and why a [`BatchScanner`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanStop {
    /// File position after the last whole batch.
    pub position: u64,
    /// Why.
    pub reason: StopReason,
}

pub(super) enum Step {
    Batch(BatchHeader),
    Stop(StopReason),
}

/// Classifies what lies at `pos`: a whole batch (header checked, not the CRC) or a stop.
pub(super) fn step(reader: &mut ChunkReader, pos: u64, end: u64) -> Result<Step, EngineError> {
    if pos >= end {
        return Ok(Step::Stop(StopReason::End));
    }
    let available = end - pos;
    let head = reader.get(pos, BATCH_HEADER_LEN, end)?;
    // The file may be shorter than `end`: trust only what was read.
    let available = available.min(head.len() as u64);
    if head.iter().all(|&b| b == 0) {
        return Ok(Step::Stop(StopReason::Padding));
    }
    if head.len() < BATCH_HEADER_LEN {
        let needed = if head.len() >= LOG_OVERHEAD {
            let len = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
            (LOG_OVERHEAD as i64 + i64::from(len)).max(BATCH_HEADER_LEN as i64) as u64
        } else {
            BATCH_HEADER_LEN as u64
        };
        return Ok(Step::Stop(StopReason::Truncated {
            needed_bytes: needed,
            available_bytes: available,
        }));
    }
    let h = parse_header(head).map_err(|e| corrupt(&reader.path, pos, e.to_string()))?;
    let total = h.total_len() as u64;
    if total > end - pos {
        return Ok(Step::Stop(StopReason::Truncated {
            needed_bytes: total,
            available_bytes: end - pos,
        }));
    }
    Ok(Step::Batch(h))
}

/// Iterates the batches of one `.log` file by their headers only (no CRC): yields
/// `(position, header)`. Reads with `pread` through a 64 KiB buffer. Stops without error
/// at the end, at zero padding and at a truncated last batch ([`BatchScanner::stopped`] says
/// which and where); yields one error (`EngineError::Corrupt`, naming file and position) and
/// stops at a header that is not a v2 batch.
#[derive(Debug)]
pub struct BatchScanner {
    reader: ChunkReader,
    pos: u64,
    end: u64,
    stop: Option<ScanStop>,
    failed: bool,
}

impl BatchScanner {
    /// Scans the whole file at `path`.
    pub fn open(path: &Path) -> Result<Self, EngineError> {
        let file = File::open(path).map_err(io_err("open", path))?;
        let len = file.metadata().map_err(io_err("stat", path))?.len();
        Ok(Self::new(file, path.to_path_buf(), 0, len))
    }

    /// Scans `file` (named `path` in errors) from `start`, a batch boundary, up to `end`.
    pub fn new(file: File, path: PathBuf, start: u64, end: u64) -> Self {
        BatchScanner {
            reader: ChunkReader::new(file, path, SCAN_CHUNK),
            pos: start,
            end,
            stop: None,
            failed: false,
        }
    }

    /// Position of the next batch (after the last one yielded).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Where and why the scan stopped, once it has.
    pub fn stopped(&self) -> Option<&ScanStop> {
        self.stop.as_ref()
    }
}

impl Iterator for BatchScanner {
    type Item = Result<(u64, BatchHeader), EngineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.stop.is_some() || self.failed {
            return None;
        }
        match step(&mut self.reader, self.pos, self.end) {
            Ok(Step::Batch(h)) => {
                let at = self.pos;
                self.pos += h.total_len() as u64;
                Some(Ok((at, h)))
            }
            Ok(Step::Stop(reason)) => {
                self.stop = Some(ScanStop {
                    position: self.pos,
                    reason,
                });
                None
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Kafka's `OffsetIndex.lookup` turned into a file position: the position of the largest
/// index entry whose offset is `<= target_offset`, or 0 when there is none. Scanning batch
/// headers from there finds the batch holding `target_offset` (see [`find_offset`]).
/// `index_entries` are `(relative offset, position)` as [`super::index::read_offset_index`] returns them.
pub fn lookup_position(index_entries: &[(i32, u32)], base_offset: i64, target_offset: i64) -> u64 {
    let rel = target_offset - base_offset;
    let k = index_entries.partition_point(|&(o, _)| i64::from(o) <= rel);
    if k == 0 {
        0
    } else {
        u64::from(index_entries[k - 1].1)
    }
}

fn fd_path(file: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// Reads the 12-byte `(baseOffset, batchLength)` prefix at `pos`; `None` past `file_len`.
fn read_prefix(file: &File, pos: u64, file_len: u64) -> Result<Option<(i64, u64)>, EngineError> {
    if pos + LOG_OVERHEAD as u64 > file_len {
        return Ok(None);
    }
    let mut b = [0u8; LOG_OVERHEAD];
    file.read_exact_at(&mut b, pos)
        .map_err(|e| EngineError::io("pread", fd_path(file), e, 0))?;
    let mut off = [0u8; 8];
    off.copy_from_slice(&b[..8]);
    let len = i32::from_be_bytes([b[8], b[9], b[10], b[11]]);
    if len == 0 && b.iter().all(|&x| x == 0) {
        return Ok(None); // zero padding
    }
    if (len as i64) < (BATCH_HEADER_LEN - LOG_OVERHEAD) as i64 {
        return Err(corrupt(
            &fd_path(file),
            pos,
            format!("batchLength {len} is impossible"),
        ));
    }
    Ok(Some((
        i64::from_be_bytes(off),
        LOG_OVERHEAD as u64 + len as u64,
    )))
}

/// Kafka's `FileRecords.searchForOffsetWithSize`: from `start` (a batch boundary, e.g. from
/// [`lookup_position`]), the first whole batch whose last offset is `>= target_offset`:
/// `(position, header)`, or `None` when the file holds none.
pub fn find_offset(
    file: &File,
    file_len: u64,
    start: u64,
    target_offset: i64,
) -> Result<Option<(u64, BatchHeader)>, EngineError> {
    let mut pos = start;
    let mut head = [0u8; BATCH_HEADER_LEN];
    while let Some((_, total)) = read_prefix(file, pos, file_len)? {
        if pos + total > file_len {
            return Ok(None);
        }
        file.read_exact_at(&mut head, pos)
            .map_err(|e| EngineError::io("pread", fd_path(file), e, 0))?;
        let h = parse_header(&head).map_err(|e| corrupt(&fd_path(file), pos, e.to_string()))?;
        if h.last_offset() >= target_offset {
            return Ok(Some((pos, h)));
        }
        pos += total;
    }
    Ok(None)
}

/// Where a fetch of up to `fetch_size` bytes from `start` (a batch boundary) ends: after the
/// largest run of whole batches totalling at most `fetch_size`, and after at least one batch
/// even if it alone is larger (Kafka's `minOneMessage`). Returns `start` when no whole batch
/// lies there. Reads one 12-byte prefix per batch with `pread`.
///
/// A broker sends `fetch_size` bytes from `start` and may cut the last batch, which the
/// consumer drops and fetches again; ending on whole batches counts what a consumer keeps.
pub fn fetch_end(
    file: &File,
    start: u64,
    file_len: u64,
    fetch_size: u64,
) -> Result<u64, EngineError> {
    let mut pos = start;
    while let Some((_, total)) = read_prefix(file, pos, file_len)? {
        if pos + total > file_len || (pos > start && pos + total - start > fetch_size) {
            break;
        }
        pos += total;
        if pos - start >= fetch_size {
            break;
        }
    }
    Ok(pos)
}

/// The batch boundaries of one `.log` file, scanned once, so fetch boundaries can be found
/// without I/O in a read benchmark's loop ([`BatchMap::fetch_end`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchMap {
    /// Start position of every whole batch, ascending.
    pub starts: Vec<u64>,
    /// End of the last whole batch.
    pub end: u64,
    /// `records_before[k]` = records in batches `0..k` (one more entry than batches).
    pub records_before: Vec<u64>,
    /// Offset of the first batch, if any.
    pub first_offset: Option<i64>,
    /// Offset after the last whole batch, if any.
    pub next_offset: Option<i64>,
    /// Where and why the scan stopped (the end, zero padding, a truncated last batch).
    pub stopped: Option<ScanStop>,
}

impl BatchMap {
    /// Scans `path` with a [`BatchScanner`].
    pub fn scan(path: &Path) -> Result<Self, EngineError> {
        Self::from_scanner(BatchScanner::open(path)?)
    }

    /// The map of an empty segment: no batches, ready to be extended batch by batch.
    pub fn empty() -> Self {
        BatchMap {
            starts: Vec::new(),
            end: 0,
            records_before: vec![0],
            first_offset: None,
            next_offset: None,
            stopped: None,
        }
    }

    /// Runs `scanner` to its end and maps what it found; the first corrupt header is the error.
    pub fn from_scanner(mut scanner: BatchScanner) -> Result<Self, EngineError> {
        let mut map = BatchMap::empty();
        for item in scanner.by_ref() {
            let (pos, h) = item?;
            map.starts.push(pos);
            let before = map.records_before.last().copied().unwrap_or(0);
            map.records_before
                .push(before + h.records_count.max(0) as u64);
            map.end = pos + h.total_len() as u64;
            map.first_offset.get_or_insert(h.base_offset);
            map.next_offset = Some(h.next_offset());
        }
        map.stopped = scanner.stopped().copied();
        Ok(map)
    }

    /// Records in the whole batches.
    pub fn records(&self) -> u64 {
        self.records_before.last().copied().unwrap_or(0)
    }

    /// [`fetch_end`] from the map: `start` must be one of `starts` (or `end`).
    pub fn fetch_end(&self, start: u64, fetch_size: u64) -> u64 {
        if start >= self.end {
            return start.max(self.end);
        }
        let limit = start.saturating_add(fetch_size);
        if self.end <= limit {
            return self.end;
        }
        // Largest batch start <= limit that is after `start`, else the end of the first batch.
        let k = self.starts.partition_point(|&s| s <= limit);
        let candidate = self.starts[k - 1];
        if candidate > start {
            return candidate;
        }
        let next = self.starts.partition_point(|&s| s <= start);
        self.starts.get(next).copied().unwrap_or(self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::batch::{batch_len, encode_batch};
    use crate::payload::PayloadPool;

    /// Writes batches of the given record counts (100-byte values) to a file; returns
    /// (path, batch start positions, end).
    fn write_log(dir: &Path, name: &str, base: i64, counts: &[u32]) -> (PathBuf, Vec<u64>, u64) {
        let mut pool = PayloadPool::new(1 << 16, 1);
        let mut bytes = Vec::new();
        let mut starts = Vec::new();
        let mut offset = base;
        for &n in counts {
            starts.push(bytes.len() as u64);
            let mut b = vec![0u8; batch_len(n, 100)];
            encode_batch(&mut b, offset, 1000, n, 100, &mut pool);
            bytes.extend_from_slice(&b);
            offset += i64::from(n);
        }
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        (path, starts, bytes.len() as u64)
    }

    #[test]
    fn scanner_reports_batches_and_stops_at_a_truncated_tail_or_padding() {
        let dir = tempfile::tempdir().unwrap();
        let (path, starts, end) = write_log(dir.path(), "a.log", 0, &[1, 5, 300, 2]);
        let got: Vec<(u64, i64)> = BatchScanner::open(&path)
            .unwrap()
            .map(|r| r.unwrap())
            .map(|(p, h)| (p, h.base_offset))
            .collect();
        assert_eq!(
            got,
            vec![
                (starts[0], 0),
                (starts[1], 1),
                (starts[2], 6),
                (starts[3], 306)
            ]
        );

        // Cut the last batch short: three batches, then a clean stop saying why.
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(end - 5).unwrap();
        let mut s = BatchScanner::open(&path).unwrap();
        assert_eq!(s.by_ref().collect::<Result<Vec<_>, _>>().unwrap().len(), 3);
        let stop = *s.stopped().unwrap();
        assert_eq!(stop.position, starts[3]);
        let total = end - starts[3];
        assert_eq!(
            stop.reason,
            StopReason::Truncated {
                needed_bytes: total,
                available_bytes: total - 5
            }
        );
        // Cut inside the header.
        f.set_len(starts[3] + 30).unwrap();
        let mut s = BatchScanner::open(&path).unwrap();
        assert_eq!(s.by_ref().count(), 3);
        assert!(matches!(
            s.stopped().unwrap().reason,
            StopReason::Truncated { .. }
        ));
        // Zero padding after the data (a preallocated file).
        f.set_len(starts[3]).unwrap();
        f.set_len(starts[3] + 4096).unwrap();
        let mut s = BatchScanner::open(&path).unwrap();
        assert_eq!(s.by_ref().count(), 3);
        assert_eq!(
            *s.stopped().unwrap(),
            ScanStop {
                position: starts[3],
                reason: StopReason::Padding
            }
        );
    }

    #[test]
    fn scanner_names_file_and_position_of_a_bad_header() {
        let dir = tempfile::tempdir().unwrap();
        let (path, starts, _) = write_log(dir.path(), "b.log", 0, &[1, 2, 3]);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[starts[2] as usize + 16] = 1; // magic 1
        std::fs::write(&path, &bytes).unwrap();
        let items: Vec<_> = BatchScanner::open(&path).unwrap().collect();
        assert_eq!(items.len(), 3);
        match &items[2] {
            Err(EngineError::Corrupt {
                path: p,
                position,
                reason,
            }) => {
                assert_eq!(p, &path);
                assert_eq!(*position, starts[2]);
                assert!(reason.contains("magic"), "{reason}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn fetch_ends_on_whole_batches() {
        let dir = tempfile::tempdir().unwrap();
        let (path, starts, end) = write_log(dir.path(), "c.log", 0, &[1, 1, 1, 20, 1]);
        let f = File::open(&path).unwrap();
        let one = starts[1]; // size of a one-record batch
        let map = BatchMap::scan(&path).unwrap();
        assert_eq!(map.starts, starts);
        assert_eq!(map.records_before, [0, 1, 2, 3, 23, 24]);
        assert_eq!(map.records(), 24);
        assert_eq!((map.first_offset, map.next_offset), (Some(0), Some(24)));
        assert_eq!(map.stopped.map(|s| s.reason), Some(StopReason::End));
        for (start, size, want) in [
            (0, one, starts[1]),
            (0, one + 1, starts[1]),
            (0, 2 * one, starts[2]),
            (0, 1, starts[1]),          // at least one batch
            (starts[3], 10, starts[4]), // one big batch, larger than the fetch
            (0, 1 << 20, end),
            (end, 1 << 20, end),
        ] {
            assert_eq!(
                fetch_end(&f, start, end, size).unwrap(),
                want,
                "{start} {size}"
            );
            assert_eq!(map.fetch_end(start, size), want, "map {start} {size}");
        }
        // A truncated tail is not fetched.
        assert_eq!(
            fetch_end(&f, starts[4], end - 1, 1 << 20).unwrap(),
            starts[4]
        );
    }

    #[test]
    fn offsets_are_found_through_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let (path, starts, end) = write_log(dir.path(), "d.log", 100, &[3, 3, 3, 3]);
        // Entries as Kafka writes them: (last offset of the batch - base, batch start).
        let index = [(5, starts[1] as u32), (11, starts[3] as u32)];
        assert_eq!(lookup_position(&index, 100, 99), 0);
        assert_eq!(lookup_position(&index, 100, 104), 0);
        assert_eq!(lookup_position(&index, 100, 105), starts[1]);
        assert_eq!(lookup_position(&index, 100, 110), starts[1]);
        assert_eq!(lookup_position(&index, 100, 111), starts[3]);
        let f = File::open(&path).unwrap();
        for (target, want) in [
            (100, starts[0]),
            (104, starts[1]),
            (107, starts[2]),
            (111, starts[3]),
        ] {
            let from = lookup_position(&index, 100, target);
            let (pos, h) = find_offset(&f, end, from, target).unwrap().unwrap();
            assert_eq!(pos, want, "{target}");
            assert!(h.base_offset <= target && target <= h.last_offset());
        }
        assert_eq!(find_offset(&f, end, starts[3], 112).unwrap(), None);
    }

    #[test]
    fn partitions_and_segments_are_listed_from_names() {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().join("my-topic-3");
        std::fs::create_dir(&p).unwrap();
        for name in [
            "00000000000000000010.log",
            "00000000000000000000.log",
            "00000000000000000000.index",
            "00000000000000000010.timeindex",
            "00000000000000000005.snapshot",
            "leader-epoch-checkpoint",
            "123.log",
            "00000000000000000020.log.deleted",
        ] {
            std::fs::write(p.join(name), b"").unwrap();
        }
        std::fs::create_dir(root.path().join("empty-0")).unwrap();
        std::fs::create_dir(root.path().join("not_a_partition")).unwrap();
        std::fs::create_dir(root.path().join("t-0.abc-delete")).unwrap();
        let segs = list_segments(&p).unwrap();
        assert_eq!(
            segs.iter().map(|s| s.base_offset).collect::<Vec<_>>(),
            vec![0, 10]
        );
        assert!(segs[0].index_path.is_some() && segs[0].timeindex_path.is_none());
        assert!(segs[1].index_path.is_none() && segs[1].timeindex_path.is_some());
        let parts = list_partitions(root.path()).unwrap();
        assert_eq!(parts, vec![("my-topic".to_string(), 3, p)]);
    }
}
