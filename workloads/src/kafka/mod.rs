//! Kafka's on-disk log format, byte-compatible with what a broker writes, so Kafka's own tools
//! (`kafka-dump-log.sh`) and client libraries can read segbench's files, and segbench's read
//! path can be pointed, read-only, at a real broker's log directory.
//!
//! - [`assign`]: the consumer group's range assignor (`RangeAssignor`), from `segmodel`.
//! - [`varint`]: zig-zag varints (`ByteUtils`).
//! - [`batch`]: v2 record batches (`DefaultRecordBatch`, `DefaultRecord`): encode, parse,
//!   verify, decode.
//! - [`index`]: the sparse `.index` and `.timeindex` files (`OffsetIndex`, `TimeIndex`),
//!   preallocated and memory-mapped, trimmed on close.
//! - [`log`]: one partition's log (`LocalLog` + `LogSegment`): segment naming, roll, index
//!   maintenance, size-based retention. The `.log` bytes themselves are written by a write
//!   engine; the model books them.
//! - [`reader`]: read-only scanning of a partition directory: segment listing, batch
//!   scanning, index lookups and fetch boundaries; [`verify`]: full verification.
//!
//! Reference: Apache Kafka `clients/.../record/DefaultRecordBatch.java`, `DefaultRecord.java`,
//! `storage/.../log/LogSegment.java`, `OffsetIndex.java`, `TimeIndex.java`,
//! `AbstractIndex.java`, `clients/.../consumer/RangeAssignor.java`.

pub mod batch;
pub mod index;
pub mod log;
pub mod reader;
pub mod varint;
pub mod verify;

pub use batch::{
    batch_len, checked_batch_len, decode_records, encode_batch, parse_header, records_per_batch,
    verify_batch, BatchHeader, FormatError, Record, RecordHeader, BATCH_HEADER_LEN,
};
pub use index::{read_offset_index, read_time_index, OffsetIndex, TimeIndex};
pub use log::{segment_file_name, LogConfig, LogFormat, PartitionLog, RollOutcome, SegmentInfo};
pub use reader::{
    fetch_end, find_offset, list_partitions, list_segments, lookup_position, BatchMap,
    BatchScanner, ScanStop, SegmentFile, StopReason,
};
pub use segmodel::assign;
pub use segmodel::range_assign;
pub use verify::{verify_partition, PartitionSummary};
