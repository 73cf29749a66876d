//! The Kafka log model end to end: a partition written the way the runner drives it (encode,
//! append through a stand-in engine, book, roll), then read back with the reader.
//!
//! Set `SEGBENCH_KAFKA_KEEP_DIR=/some/empty/dir` to keep the partition written by
//! `a_partition_with_rolls_and_retention_verifies` there (for `scripts/check-kafka-format.py`).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use workloads::kafka::{
    batch_len, encode_batch, list_partitions, list_segments, lookup_position, read_offset_index,
    read_time_index, reader::find_offset, verify_partition, BatchScanner, LogConfig, LogFormat,
    PartitionLog, StopReason,
};
use workloads::payload::PayloadPool;
use workloads::EngineError;

/// Stand-in for a write engine: creates the active `.log` and appends to it.
struct FileEngine {
    file: Option<File>,
}

impl FileEngine {
    fn open(&mut self, path: &Path) {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .unwrap();
        self.file = Some(f);
    }
    fn append(&mut self, bytes: &[u8]) {
        self.file.as_mut().unwrap().write_all(bytes).unwrap();
    }
    fn close(&mut self) {
        self.file = None;
    }
}

struct Written {
    batches: u64,
    records: u64,
    rolls: usize,
    deleted: usize,
    index_entries_per_segment: Vec<(i64, usize)>,
}

/// Writes `batches` batches of 1..=7 records of `value_len` bytes through a PartitionLog.
fn write_partition(log: &mut PartitionLog, batches: u64, value_len: usize) -> Written {
    let mut engine = FileEngine { file: None };
    engine.open(log.active_log_path());
    let mut pool = PayloadPool::new(1 << 16, 42);
    let mut buf = vec![0u8; 1 << 16];
    let mut w = Written {
        batches,
        records: 0,
        rolls: 0,
        deleted: 0,
        index_entries_per_segment: Vec::new(),
    };
    for i in 0..batches {
        let records = 1 + (i % 7) as u32;
        let len = batch_len(records, value_len);
        if log.needs_roll(len as u64) {
            engine.close();
            w.index_entries_per_segment
                .push((log.active_base_offset(), log.active_index_entries()));
            let out = log.roll().unwrap();
            w.rolls += 1;
            w.deleted += out.deleted_segments;
            engine.open(log.active_log_path());
        }
        // Timestamps rise every third batch, so some index points repeat a timestamp.
        let ts = 1_700_000_000_000 + (i / 3) as i64;
        let n = encode_batch(
            &mut buf,
            log.next_offset(),
            ts,
            records,
            value_len,
            &mut pool,
        );
        assert_eq!(n, len);
        engine.append(&buf[..n]);
        log.record_append(n as u64, records, ts).unwrap();
        w.records += u64::from(records);
    }
    engine.close();
    w.index_entries_per_segment
        .push((log.active_base_offset(), log.active_index_entries()));
    log.close().unwrap();
    w
}

fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 64 << 10,
        index_interval_bytes: 1024,
        index_max_bytes: 64 << 10,
        retention_bytes: Some(256 << 10),
        format: LogFormat::Kafka,
    }
}

/// The partition root: a temp dir, or the directory named by SEGBENCH_KAFKA_KEEP_DIR.
fn root_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("SEGBENCH_KAFKA_KEEP_DIR") {
        Some(p) => {
            let p = PathBuf::from(p);
            std::fs::create_dir_all(&p).unwrap();
            (None, p)
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

#[test]
fn a_partition_with_rolls_and_retention_verifies() {
    let (_guard, root) = root_dir();
    let mut log = PartitionLog::create(&root, "segbench", 0, small_config()).unwrap();
    let w = write_partition(&mut log, 3000, 100);
    assert!(w.rolls >= 10, "{} rolls", w.rolls);
    assert!(w.deleted > 0, "retention deleted nothing");

    // Only the oldest segments are gone: what is left is a contiguous run ending at the
    // active segment, at least retention_bytes minus one segment, and no more than
    // retention plus one segment.
    let kept = log.segments().to_vec();
    assert_eq!(kept.len() + w.deleted, w.rolls + 1);
    for s in &kept[..kept.len() - 1] {
        assert!(
            s.bytes <= 64 << 10 && s.bytes > 60 << 10,
            "segment of {} bytes",
            s.bytes
        );
    }
    let total: u64 = kept.iter().map(|s| s.bytes).sum();
    assert_eq!(total, log.total_bytes());
    // At the last roll (the active segment was empty), retention left at least
    // retention_bytes, and would have deleted the oldest segment if the rest held as much.
    let inactive = total - kept[kept.len() - 1].bytes;
    assert!(
        inactive >= 256 << 10,
        "retention deleted too much: {inactive}"
    );
    assert!(
        inactive - kept[0].bytes < 256 << 10,
        "an older segment should have been deleted"
    );

    let on_disk = list_segments(log.dir()).unwrap();
    assert_eq!(
        on_disk.iter().map(|s| s.base_offset).collect::<Vec<_>>(),
        kept.iter().map(|s| s.base_offset).collect::<Vec<_>>()
    );
    for (s, k) in on_disk.iter().zip(&kept) {
        assert_eq!(s.len, k.bytes);
        assert!(s.index_path.is_some() && s.timeindex_path.is_some());
    }

    let sum = verify_partition(log.dir()).unwrap();
    assert_eq!(sum.segments, kept.len());
    assert_eq!(sum.first_offset, kept[0].base_offset);
    assert_eq!(sum.next_offset, log.next_offset());
    assert_eq!(sum.next_offset as u64, w.records);
    assert_eq!(sum.bytes, total);
    assert_eq!(sum.ignored_bytes, 0);
    assert!(sum.batches < w.batches && sum.batches > 0);
    assert_eq!(sum.records as i64, sum.next_offset - sum.first_offset);
    // The index entries checked are the ones the log made for the segments kept.
    let made: usize = w
        .index_entries_per_segment
        .iter()
        .filter(|(base, _)| *base >= kept[0].base_offset)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(sum.index_entries, made as u64);
    // About one entry per KiB of log after the first: 64 KiB segments get ~55-62.
    let per_segment = sum.index_entries as f64 / kept.len() as f64;
    assert!(per_segment > 40.0, "{per_segment} entries per segment");
    // Inactive segments' index files were trimmed to their entries.
    for s in &on_disk[..on_disk.len() - 1] {
        let len = std::fs::metadata(s.index_path.as_ref().unwrap())
            .unwrap()
            .len();
        assert_eq!(
            len,
            8 * read_offset_index(s.index_path.as_ref().unwrap())
                .unwrap()
                .len() as u64
        );
        assert!(!read_time_index(s.timeindex_path.as_ref().unwrap())
            .unwrap()
            .is_empty());
    }
    assert_eq!(
        list_partitions(&root).unwrap(),
        vec![("segbench".into(), 0, log.dir().to_path_buf())]
    );
}

#[test]
fn every_offset_is_found_through_the_index() {
    let root = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        retention_bytes: None,
        ..small_config()
    };
    let mut log = PartitionLog::create(root.path(), "t", 1, cfg).unwrap();
    write_partition(&mut log, 1200, 200);
    for seg in list_segments(log.dir()).unwrap() {
        let index = read_offset_index(seg.index_path.as_ref().unwrap()).unwrap();
        let f = File::open(&seg.log_path).unwrap();
        let batches: Vec<_> = BatchScanner::open(&seg.log_path)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let next = batches.last().unwrap().1.next_offset();
        for target in seg.base_offset..next {
            let from = lookup_position(&index, seg.base_offset, target);
            let (pos, h) = find_offset(&f, seg.len, from, target).unwrap().unwrap();
            assert!(
                h.base_offset <= target && target <= h.last_offset(),
                "{target}"
            );
            assert!(batches.iter().any(|&(p, _)| p == pos));
            // The index narrows the search to less than two interval's worth of batches.
            assert!(
                pos - from < 2 * 1024 + 2 * 1500,
                "{target}: scanned from {from} to {pos}"
            );
        }
    }
}

fn corrupt_reason(e: EngineError) -> (PathBuf, u64, String) {
    match e {
        EngineError::Corrupt {
            path,
            position,
            reason,
        } => (path, position, reason),
        other => panic!("expected Corrupt, got {other}"),
    }
}

#[test]
fn a_flipped_byte_is_caught_and_located() {
    let root = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        retention_bytes: None,
        ..small_config()
    };
    let mut log = PartitionLog::create(root.path(), "t", 0, cfg).unwrap();
    write_partition(&mut log, 1000, 100);
    let segs = list_segments(log.dir()).unwrap();
    let victim = &segs[1];
    let batches: Vec<_> = BatchScanner::open(&victim.log_path)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    // A byte inside the value of a record of the 10th batch.
    let (start, h) = batches[10];
    let at = start + h.total_len() as u64 - 20;
    let mut bytes = std::fs::read(&victim.log_path).unwrap();
    bytes[at as usize] ^= 0x40;
    std::fs::write(&victim.log_path, &bytes).unwrap();
    let (path, position, reason) = corrupt_reason(verify_partition(log.dir()).unwrap_err());
    assert_eq!(path, victim.log_path);
    assert_eq!(position, start, "the batch holding the byte");
    assert!(reason.contains("CRC"), "{reason}");
    bytes[at as usize] ^= 0x40;
    std::fs::write(&victim.log_path, &bytes).unwrap();
    verify_partition(log.dir()).unwrap();

    // An index entry pointing at the wrong batch.
    let index_path = victim.index_path.clone().unwrap();
    let original = std::fs::read(&index_path).unwrap();
    let bump = |entry: usize, field: usize| {
        let mut ix = original.clone();
        let at = entry * 8 + field * 4;
        let v = i32::from_be_bytes(ix[at..at + 4].try_into().unwrap()) + 1;
        ix[at..at + 4].copy_from_slice(&v.to_be_bytes());
        std::fs::write(&index_path, &ix).unwrap();
    };
    bump(3, 0); // entry 3's offset + 1: not the last offset of the batch it points at
    let (path, position, reason) = corrupt_reason(verify_partition(log.dir()).unwrap_err());
    assert_eq!((path, position), (index_path.clone(), 24), "{reason}");
    assert!(reason.contains("last offset"), "{reason}");
    bump(5, 1); // entry 5's position + 1: inside a batch
    let (path, position, reason) = corrupt_reason(verify_partition(log.dir()).unwrap_err());
    assert_eq!((path, position), (index_path.clone(), 40), "{reason}");
    assert!(reason.contains("inside a batch"), "{reason}");
    std::fs::write(&index_path, &original).unwrap();
    verify_partition(log.dir()).unwrap();

    // A gap in offsets: delete a middle segment.
    std::fs::remove_file(&segs[2].log_path).unwrap();
    let (path, position, reason) = corrupt_reason(verify_partition(log.dir()).unwrap_err());
    assert_eq!((path, position), (segs[3].log_path.clone(), 0), "{reason}");
}

#[test]
fn a_truncated_last_batch_ends_the_scan_cleanly() {
    let root = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        retention_bytes: None,
        ..small_config()
    };
    let mut log = PartitionLog::create(root.path(), "t", 0, cfg).unwrap();
    write_partition(&mut log, 500, 100);
    let before = verify_partition(log.dir()).unwrap();
    let segs = list_segments(log.dir()).unwrap();
    let last = segs.last().unwrap();
    let batches: Vec<_> = BatchScanner::open(&last.log_path)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let (start, h) = *batches.last().unwrap();
    // As a live broker might leave it: half of the last batch written.
    let f = OpenOptions::new().write(true).open(&last.log_path).unwrap();
    f.set_len(start + h.total_len() as u64 / 2).unwrap();
    let mut scan = BatchScanner::open(&last.log_path).unwrap();
    assert_eq!(
        scan.by_ref().collect::<Result<Vec<_>, _>>().unwrap().len(),
        batches.len() - 1
    );
    let stop = scan.stopped().unwrap();
    assert_eq!(stop.position, start);
    assert!(matches!(stop.reason, StopReason::Truncated { .. }));
    let after = verify_partition(log.dir()).unwrap();
    assert_eq!(after.batches, before.batches - 1);
    assert_eq!(after.next_offset, h.base_offset);
    assert_eq!(after.ignored_bytes, h.total_len() as u64 / 2);

    // The same in an inactive segment is corruption.
    let first = &segs[0];
    let f = OpenOptions::new()
        .write(true)
        .open(&first.log_path)
        .unwrap();
    f.set_len(first.len - 1).unwrap();
    let (path, _, reason) = corrupt_reason(verify_partition(log.dir()).unwrap_err());
    assert_eq!(path, first.log_path, "{reason}");
}

#[test]
fn raw_logs_roll_without_index_files() {
    let root = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_bytes: 16 << 10,
        format: LogFormat::Raw,
        retention_bytes: Some(32 << 10),
        ..LogConfig::default()
    };
    let mut log = PartitionLog::create(root.path(), "raw", 0, cfg).unwrap();
    let block = vec![7u8; 4096];
    let mut engine = FileEngine { file: None };
    engine.open(log.active_log_path());
    for _ in 0..40 {
        if log.needs_roll(4096) {
            engine.close();
            log.roll().unwrap();
            engine.open(log.active_log_path());
        }
        engine.append(&block);
        log.record_append(4096, 1, 0).unwrap();
    }
    engine.close();
    log.close().unwrap();
    assert_eq!(log.next_offset(), 40);
    let names: Vec<String> = std::fs::read_dir(log.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".log")), "{names:?}");
    // 4 blocks per segment; retention keeps 2 full segments plus the active one.
    let bases: Vec<i64> = log.segments().iter().map(|s| s.base_offset).collect();
    assert_eq!(bases, vec![28, 32, 36]);
    assert_eq!(names.len(), 3);
}
