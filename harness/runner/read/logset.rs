//! The log a read workload serves: every partition of a log directory (segbench's or a
//! real broker's), opened read-only and scanned once for its batch boundaries
//! ([`LogSet`]); the fetches over it ([`PartitionData::next_fetch`]); the consumers'
//! partitions ([`assign`]). Its page-cache state is [`super::cache`]'s.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use workloads::kafka::assign::range_assign;
use workloads::kafka::reader::{
    list_partitions, list_segments, BatchMap, BatchScanner, StopReason,
};
use workloads::EngineError;

/// One segment of a [`LogSet`]: open read-only, with its batch boundaries.
#[derive(Debug)]
pub struct SegmentData {
    /// The `.log` file.
    pub path: PathBuf,
    /// Open read-only (shared by every consumer: engines use positional calls).
    pub file: File,
    /// Base offset (the file name).
    pub base_offset: i64,
    /// Whole batches: start positions, the end of the last, records before each.
    pub map: BatchMap,
}

/// One partition of a [`LogSet`].
#[derive(Debug)]
pub struct PartitionData {
    /// Index in [`LogSet::partitions`], the id in frames.
    pub id: u32,
    /// Topic.
    pub topic: String,
    /// Kafka partition number.
    pub partition: u32,
    /// The partition directory.
    pub dir: PathBuf,
    /// Segments by base offset.
    pub segments: Vec<SegmentData>,
    /// Offset of the first batch, if any.
    pub first_offset: Option<i64>,
    /// Offset after the last whole batch.
    pub next_offset: Option<i64>,
    /// Bytes of whole batches.
    pub bytes: u64,
    /// Whole batches.
    pub batches: u64,
}

/// Where a consumer is in one partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Segment index.
    pub segment: usize,
    /// Byte position in it (a batch boundary).
    pub position: u64,
}

/// One fetch: whole batches `[start, end)` of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fetch {
    /// Segment index.
    pub segment: usize,
    /// First byte.
    pub start: u64,
    /// End (exclusive).
    pub end: u64,
    /// Batches in it.
    pub batches: u64,
    /// Records in it.
    pub records: u64,
}

impl PartitionData {
    /// The next fetch of up to `fetch_size` bytes from `cur`, advancing it; moves to the next
    /// segment at a segment's end. `None` when the partition is read to its end.
    pub fn next_fetch(&self, cur: &mut Cursor, fetch_size: u64) -> Option<Fetch> {
        while let Some(s) = self.segments.get(cur.segment) {
            if cur.position >= s.map.end {
                cur.segment += 1;
                cur.position = 0;
                continue;
            }
            let end = s.map.fetch_end(cur.position, fetch_size);
            if end <= cur.position {
                cur.segment += 1;
                cur.position = 0;
                continue;
            }
            let a = s.map.starts.partition_point(|&x| x < cur.position);
            let b = s.map.starts.partition_point(|&x| x < end);
            let f = Fetch {
                segment: cur.segment,
                start: cur.position,
                end,
                batches: (b - a) as u64,
                records: s.map.records_before[b] - s.map.records_before[a],
            };
            cur.position = end;
            return Some(f);
        }
        None
    }
}

/// Why a log cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Nothing to read there, or it cannot be opened (bad input).
    #[error("{0}")]
    BadInput(String),
    /// A batch header is not a valid batch (a check failure: the log is damaged).
    #[error("{0}")]
    Corrupt(EngineError),
}

/// A segment that ends in a partial batch but is not the last of its partition: only the
/// last segment (a live broker's, mid-append) may, so the log is damaged. Its whole batches
/// before that one are still served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutShort {
    /// The segment file.
    pub path: PathBuf,
    /// Where the partial batch starts (the end of the segment's whole batches).
    pub position: u64,
    /// Bytes the batch (or its header) needs.
    pub needed_bytes: u64,
    /// Bytes there are before the end of the file.
    pub available_bytes: u64,
}

impl fmt::Display for CutShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: batch at byte {} is cut short ({} of {} bytes); only the last segment of a \
             partition may end in a partial batch: the log is damaged",
            self.path.display(),
            self.position,
            self.available_bytes,
            self.needed_bytes
        )
    }
}

/// A log to serve: every partition found, opened read-only and scanned.
#[derive(Debug)]
pub struct LogSet {
    /// The directories given.
    pub roots: Vec<PathBuf>,
    /// Partitions sorted by topic and partition.
    pub partitions: Vec<PartitionData>,
    /// Bytes of whole batches, all partitions.
    pub bytes: u64,
    /// Records in them.
    pub records: u64,
    /// What was skipped while scanning (the truncated tail of a partition's last segment).
    pub notes: Vec<String>,
    /// Segments other than a partition's last that end in a partial batch: a damaged log
    /// (a check failure with `--verify`, a warning without).
    pub damage: Vec<CutShort>,
}

/// Opens a segment read-only, without updating its access time when allowed.
fn open_read_only(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME)
        .open(path)
    {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => File::open(path),
        r => r,
    }
}

impl LogSet {
    /// Finds the partitions under each root: the root itself when it holds segments (a
    /// partition directory), else its `<topic>-<partition>` directories (a broker's
    /// `log.dirs` entry), else those of its subdirectories (a segbench data directory).
    pub fn open(roots: &[PathBuf]) -> Result<LogSet, LoadError> {
        let bad = |m: String| LoadError::BadInput(m);
        let mut found: Vec<(String, u32, PathBuf)> = Vec::new();
        for root in roots {
            if !root.is_dir() {
                return Err(bad(format!("--dir {}: not a directory", root.display())));
            }
            let segs =
                list_segments(root).map_err(|e| bad(format!("--dir {}: {e}", root.display())))?;
            if !segs.is_empty() {
                let name = root
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("log")
                    .to_string();
                let (topic, part) = match name.rsplit_once('-') {
                    Some((t, p)) if !t.is_empty() && p.parse::<u32>().is_ok() => {
                        (t.to_string(), p.parse().unwrap_or(0))
                    }
                    _ => (name, 0),
                };
                found.push((topic, part, root.clone()));
                continue;
            }
            let mut parts =
                list_partitions(root).map_err(|e| bad(format!("--dir {}: {e}", root.display())))?;
            if parts.is_empty() {
                let mut subs: Vec<PathBuf> = std::fs::read_dir(root)
                    .map_err(|e| bad(format!("--dir {}: {e}", root.display())))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_dir())
                    .collect();
                subs.sort();
                for s in subs {
                    parts.extend(
                        list_partitions(&s)
                            .map_err(|e| bad(format!("--dir {}: {e}", s.display())))?,
                    );
                }
            }
            found.extend(parts);
        }
        if found.is_empty() {
            let shown: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
            return Err(bad(format!(
                "--dir {}: no segment files found (expected <topic>-<partition>/<20-digit offset>.log)",
                shown.join(", ")
            )));
        }
        found.sort();
        let mut set = LogSet {
            roots: roots.to_vec(),
            partitions: Vec::new(),
            bytes: 0,
            records: 0,
            notes: Vec::new(),
            damage: Vec::new(),
        };
        for (topic, partition, dir) in found {
            let id = set.partitions.len() as u32;
            let p = load_partition(id, topic, partition, dir, &mut set)?;
            set.bytes += p.bytes;
            set.records += p.segments.iter().map(|s| s.map.records()).sum::<u64>();
            set.partitions.push(p);
        }
        if set.bytes == 0 {
            return Err(bad(
                "the log holds no whole record batch: nothing to read".into()
            ));
        }
        Ok(set)
    }

    /// The segment of partition `id` with base offset `base`, for naming it in messages.
    pub fn segment_path(&self, id: u32, base: i64) -> Option<&Path> {
        let p = self.partitions.get(id as usize)?;
        p.segments
            .iter()
            .find(|s| s.base_offset == base)
            .map(|s| s.path.as_path())
    }
}

/// Opens and scans the segments of one partition; a truncated tail goes to `set.notes` when
/// it ends the partition's last segment, to `set.damage` when it ends any other.
fn load_partition(
    id: u32,
    topic: String,
    partition: u32,
    dir: PathBuf,
    set: &mut LogSet,
) -> Result<PartitionData, LoadError> {
    let files =
        list_segments(&dir).map_err(|e| LoadError::BadInput(format!("{}: {e}", dir.display())))?;
    let mut p = PartitionData {
        id,
        topic,
        partition,
        dir,
        segments: Vec::new(),
        first_offset: None,
        next_offset: None,
        bytes: 0,
        batches: 0,
    };
    let last = files.len().saturating_sub(1);
    for (i, f) in files.into_iter().enumerate() {
        let file = open_read_only(&f.log_path).map_err(|e| {
            LoadError::BadInput(format!(
                "cannot open {} read-only: {e}",
                f.log_path.display()
            ))
        })?;
        let scan_file = file
            .try_clone()
            .map_err(|e| LoadError::BadInput(format!("{}: {e}", f.log_path.display())))?;
        let map =
            BatchMap::from_scanner(BatchScanner::new(scan_file, f.log_path.clone(), 0, f.len))
                .map_err(LoadError::Corrupt)?;
        if let Some(first) = map.first_offset {
            p.first_offset.get_or_insert(first);
        }
        if map.next_offset.is_some() {
            p.next_offset = map.next_offset;
        }
        if let Some(stop) = map.stopped {
            if let StopReason::Truncated {
                needed_bytes,
                available_bytes,
            } = stop.reason
            {
                if i == last {
                    set.notes.push(format!(
                        "{}: a truncated batch at byte {} ({available_bytes} of {needed_bytes} bytes) is not read",
                        f.log_path.display(),
                        stop.position
                    ));
                } else {
                    set.damage.push(CutShort {
                        path: f.log_path.clone(),
                        position: stop.position,
                        needed_bytes,
                        available_bytes,
                    });
                }
            }
        }
        p.bytes += map.end;
        p.batches += map.starts.len() as u64;
        p.segments.push(SegmentData {
            path: f.log_path,
            file,
            base_offset: f.base_offset,
            map,
        });
    }
    Ok(p)
}

/// Partition indexes of `log` per consumer of one group: [`range_assign`] per topic.
pub fn assign(log: &LogSet, consumers: u32) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); consumers as usize];
    let mut by_topic: BTreeMap<&str, Vec<(u32, usize)>> = BTreeMap::new();
    for (i, p) in log.partitions.iter().enumerate() {
        by_topic.entry(&p.topic).or_default().push((p.partition, i));
    }
    for parts in by_topic.values_mut() {
        parts.sort();
        for (c, r) in range_assign(parts.len(), consumers as usize)
            .into_iter()
            .enumerate()
        {
            out[c].extend(parts[r].iter().map(|&(_, i)| i));
        }
    }
    out
}
