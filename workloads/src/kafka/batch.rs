//! Kafka record batches, format v2 (magic 2), as `DefaultRecordBatch` and `DefaultRecord`
//! lay them out.
//!
//! ```text
//! offset  size  field
//!      0     8  baseOffset            i64
//!      8     4  batchLength           i32  bytes after this field (total length - 12)
//!     12     4  partitionLeaderEpoch  i32
//!     16     1  magic                 i8   = 2
//!     17     4  crc                   u32  CRC-32C of bytes 21..end
//!     21     2  attributes            i16  bits 0-2 compression, 3 timestamp type,
//!                                          4 transactional, 5 control
//!     23     4  lastOffsetDelta       i32
//!     27     8  baseTimestamp         i64
//!     35     8  maxTimestamp          i64
//!     43     8  producerId            i64
//!     51     2  producerEpoch         i16
//!     53     4  baseSequence          i32
//!     57     4  recordsCount          i32
//!     61        records
//! ```
//!
//! Each record: `length` varint (bytes after it), `attributes` i8 (unused, 0),
//! `timestampDelta` varlong, `offsetDelta` varint, `keyLength` varint (-1 = null), key,
//! `valueLength` varint (-1 = null), value, `headersCount` varint, then per header
//! `keyLength` varint, key (UTF-8), `valueLength` varint (-1 = null), value.
//! All integers of the header are big-endian; varints are zig-zag (see [`super::varint`]).
//!
//! segbench writes what a non-transactional, non-idempotent Java producer sends and a leader
//! stores: no compression, CreateTime, producerId/epoch/baseSequence -1, null keys, no headers,
//! all records of a batch with the batch's timestamp, and partitionLeaderEpoch 0 (the leader
//! epoch of a partition that never changed leader; the broker stamps it on append).

use super::varint::{get_varint, get_varlong, put_varint, varint_len};
use crate::payload::PayloadPool;

/// Length of the v2 batch header, up to and including `recordsCount`.
pub const BATCH_HEADER_LEN: usize = 61;
/// Bytes before `batchLength` counts: baseOffset (8) + batchLength (4) (Kafka `LOG_OVERHEAD`).
pub const LOG_OVERHEAD: usize = 12;
/// Record batch format written and read: v2.
pub const MAGIC_V2: i8 = 2;
/// Largest whole batch: `batchLength` is an i32.
pub const MAX_BATCH_LEN: usize = LOG_OVERHEAD + i32::MAX as usize;
/// `producerId`, `producerEpoch` and `baseSequence` of a producer without idempotence.
pub const NO_PRODUCER_ID: i64 = -1;
/// See [`NO_PRODUCER_ID`].
pub const NO_PRODUCER_EPOCH: i16 = -1;
/// See [`NO_PRODUCER_ID`].
pub const NO_SEQUENCE: i32 = -1;
/// `partitionLeaderEpoch` written by [`encode_batch`].
pub const LEADER_EPOCH: i32 = 0;
/// Attributes: compression codec bits (0 = none).
pub const ATTR_COMPRESSION_MASK: i16 = 0x07;
/// Attributes: timestamp type bit (set = LogAppendTime).
pub const ATTR_LOG_APPEND_TIME: i16 = 0x08;
/// Attributes: transactional bit.
pub const ATTR_TRANSACTIONAL: i16 = 0x10;
/// Attributes: control batch bit.
pub const ATTR_CONTROL: i16 = 0x20;

const OFF_BATCH_LENGTH: usize = 8;
const OFF_LEADER_EPOCH: usize = 12;
const OFF_MAGIC: usize = 16;
const OFF_CRC: usize = 17;
const OFF_ATTRIBUTES: usize = 21;
const OFF_LAST_OFFSET_DELTA: usize = 23;
const OFF_BASE_TIMESTAMP: usize = 27;
const OFF_MAX_TIMESTAMP: usize = 35;
const OFF_PRODUCER_ID: usize = 43;
const OFF_PRODUCER_EPOCH: usize = 51;
const OFF_BASE_SEQUENCE: usize = 53;
const OFF_RECORDS_COUNT: usize = 57;

/// How often the CRC catches up with the records written, so it reads them while they are
/// still in cache (large batches).
const CRC_CHUNK: usize = 32 << 10;

/// What is wrong with bytes that should be a v2 record batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The buffer ends before the batch (or its header) does.
    #[error("truncated batch: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes the batch (or header) needs.
        needed: usize,
        /// Bytes there are.
        available: usize,
    },
    /// Not a v2 batch: only magic 2 is supported (v0/v1 message sets are not).
    #[error("magic byte {0} (only record batch format v2, magic 2, is supported)")]
    BadMagic(i8),
    /// The stored CRC does not match the bytes.
    #[error("CRC-32C mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// CRC in the header.
        stored: u32,
        /// CRC of attributes..end.
        computed: u32,
    },
    /// `batchLength` is impossible, or disagrees with the buffer or the records.
    #[error("bad batch length: {0}")]
    BadLength(String),
    /// A record inside the batch does not parse.
    #[error("bad record: {0}")]
    BadRecord(String),
}

/// The parsed 61-byte header of a v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the `batchLength` field.
    pub batch_length: i32,
    /// Leader epoch stamped by the broker.
    pub partition_leader_epoch: i32,
    /// Format version, 2.
    pub magic: i8,
    /// CRC-32C of attributes..end.
    pub crc: u32,
    /// Compression, timestamp type, transactional and control bits.
    pub attributes: i16,
    /// Offset of the last record minus `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record, ms since the epoch.
    pub base_timestamp: i64,
    /// Largest record timestamp, ms since the epoch.
    pub max_timestamp: i64,
    /// Idempotent producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records.
    pub records_count: i32,
}

impl BatchHeader {
    /// Offset of the last record (`base_offset + last_offset_delta`).
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// Whole length of the batch in bytes (`12 + batch_length`).
    pub fn total_len(&self) -> usize {
        LOG_OVERHEAD + self.batch_length.max(0) as usize
    }

    /// Offset after the last record (`last_offset + 1`).
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    /// True when the records are compressed (the attributes name a codec).
    pub fn is_compressed(&self) -> bool {
        self.attributes & ATTR_COMPRESSION_MASK != 0
    }
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Absolute offset.
    pub offset: i64,
    /// Timestamp, ms since the epoch (the batch's max timestamp for LogAppendTime batches).
    pub timestamp_ms: i64,
    /// Key, `None` for a null key.
    pub key: Option<Vec<u8>>,
    /// Value, `None` for a null value (a tombstone).
    pub value: Option<Vec<u8>>,
    /// Headers, in order.
    pub headers: Vec<RecordHeader>,
}

/// One record header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// Header key (UTF-8 in Kafka; kept as bytes).
    pub key: Vec<u8>,
    /// Header value, `None` for null.
    pub value: Option<Vec<u8>>,
}

#[inline]
fn value_len_varint_len(value_len: usize) -> usize {
    varint_len(value_len.min(i32::MAX as usize) as i32)
}

/// Offset-delta ranges over which `varint_len(delta)` is constant: `[start, end)` and the length.
const DELTA_BUCKETS: [(u64, u64, usize); 5] = [
    (0, 1 << 6, 1),
    (1 << 6, 1 << 13, 2),
    (1 << 13, 1 << 20, 3),
    (1 << 20, 1 << 27, 4),
    (1 << 27, 1 << 31, 5),
];

/// Exact encoded length of a batch of `records` records, each with a null key, a value of
/// `value_len` bytes, no headers, timestampDelta 0 and offsetDelta `0..records`. Saturates
/// instead of overflowing for absurd arguments; see [`checked_batch_len`].
pub fn batch_len(records: u32, value_len: usize) -> usize {
    let n = u64::from(records);
    let mut total = BATCH_HEADER_LEN as u64;
    for &(start, end, delta_len) in &DELTA_BUCKETS {
        if n <= start {
            break;
        }
        let count = n.min(end) - start;
        let body = (4 + delta_len + value_len_varint_len(value_len)) as u64 + value_len as u64;
        let body_len_len = varint_len(body.min(i32::MAX as u64) as i32) as u64;
        total = total.saturating_add(count.saturating_mul(body + body_len_len));
    }
    usize::try_from(total).unwrap_or(usize::MAX)
}

/// [`batch_len`], or an error when the shape cannot be a Kafka batch: no records, more
/// records than offset deltas can count, or a batch longer than `batchLength` (i32) allows.
pub fn checked_batch_len(records: u32, value_len: usize) -> Result<usize, FormatError> {
    if records == 0 {
        return Err(FormatError::BadRecord(
            "a batch holds at least one record".into(),
        ));
    }
    if records > i32::MAX as u32 {
        return Err(FormatError::BadRecord(format!(
            "{records} records do not fit offset deltas"
        )));
    }
    let len = batch_len(records, value_len);
    if len > MAX_BATCH_LEN {
        return Err(FormatError::BadLength(format!(
            "{records} records of {value_len} bytes make {len} bytes, over the {MAX_BATCH_LEN} \
             bytes batchLength can describe"
        )));
    }
    Ok(len)
}

/// Most records of `value_len` bytes that fit in a batch of at most `batch_size` bytes, as
/// the Java producer fills a batch of `batch.size` (`MemoryRecordsBuilder.hasRoomFor`
/// without compression: header plus records <= batch.size). `None` when not even one record
/// fits; the Java producer then sends that record alone in a batch larger than `batch.size`.
pub fn records_per_batch(batch_size: usize, value_len: usize) -> Option<u32> {
    if batch_len(1, value_len) > batch_size {
        return None;
    }
    // Each record takes more than value_len + 6 bytes, which bounds the answer.
    let room = (batch_size - BATCH_HEADER_LEN) as u64;
    let upper = (room / (value_len as u64 + 6) + 1).min(i32::MAX as u64) as u32;
    // Invariant: lo fits, hi + 1 does not (or hi is the cap).
    let (mut lo, mut hi) = (1u32, upper.max(1));
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if batch_len(mid, value_len) <= batch_size {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some(lo)
}

/// Encodes one v2 batch of `records` records (null keys, `value_len`-byte values copied from
/// `payload`, no headers) into `out[..batch_len(records, value_len)]` and returns that length.
///
/// baseTimestamp = maxTimestamp = `timestamp_ms` (every record has timestampDelta 0);
/// attributes 0 (no compression, CreateTime); producerId -1, producerEpoch -1,
/// baseSequence -1; partitionLeaderEpoch [`LEADER_EPOCH`]; CRC-32C over attributes..end.
/// No allocation. Panics if `out` is shorter than [`batch_len`] (the caller sizes it) and,
/// in debug builds, if `records` is 0.
pub fn encode_batch(
    out: &mut [u8],
    base_offset: i64,
    timestamp_ms: i64,
    records: u32,
    value_len: usize,
    payload: &mut PayloadPool,
) -> usize {
    debug_assert!(
        records >= 1 && records <= i32::MAX as u32,
        "records out of range"
    );
    let len = batch_len(records, value_len);
    let out = &mut out[..len];
    out[..8].copy_from_slice(&base_offset.to_be_bytes());
    out[OFF_BATCH_LENGTH..OFF_LEADER_EPOCH]
        .copy_from_slice(&((len - LOG_OVERHEAD) as i32).to_be_bytes());
    out[OFF_LEADER_EPOCH..OFF_MAGIC].copy_from_slice(&LEADER_EPOCH.to_be_bytes());
    out[OFF_MAGIC] = MAGIC_V2 as u8;
    out[OFF_ATTRIBUTES..OFF_LAST_OFFSET_DELTA].copy_from_slice(&0i16.to_be_bytes());
    out[OFF_LAST_OFFSET_DELTA..OFF_BASE_TIMESTAMP]
        .copy_from_slice(&(records as i32 - 1).to_be_bytes());
    out[OFF_BASE_TIMESTAMP..OFF_MAX_TIMESTAMP].copy_from_slice(&timestamp_ms.to_be_bytes());
    out[OFF_MAX_TIMESTAMP..OFF_PRODUCER_ID].copy_from_slice(&timestamp_ms.to_be_bytes());
    out[OFF_PRODUCER_ID..OFF_PRODUCER_EPOCH].copy_from_slice(&NO_PRODUCER_ID.to_be_bytes());
    out[OFF_PRODUCER_EPOCH..OFF_BASE_SEQUENCE].copy_from_slice(&NO_PRODUCER_EPOCH.to_be_bytes());
    out[OFF_BASE_SEQUENCE..OFF_RECORDS_COUNT].copy_from_slice(&NO_SEQUENCE.to_be_bytes());
    out[OFF_RECORDS_COUNT..BATCH_HEADER_LEN].copy_from_slice(&(records as i32).to_be_bytes());

    let mut value_len_bytes = [0u8; 5];
    let vl_n = put_varint(&mut value_len_bytes, value_len as i32);
    // Body length without the offsetDelta varint.
    let fixed_body = 4 + vl_n + value_len;

    let mut crc = 0u32;
    let mut crc_pos = OFF_ATTRIBUTES;
    let mut pos = BATCH_HEADER_LEN;
    for delta in 0..records as i32 {
        let body = fixed_body + varint_len(delta);
        let mut p = pos;
        p += put_varint(&mut out[p..], body as i32);
        out[p] = 0; // attributes
        out[p + 1] = 0; // timestampDelta 0
        p += 2;
        p += put_varint(&mut out[p..], delta);
        out[p] = 1; // keyLength -1: null key
        p += 1;
        out[p..p + vl_n].copy_from_slice(&value_len_bytes[..vl_n]);
        p += vl_n;
        payload.fill(&mut out[p..p + value_len]);
        p += value_len;
        out[p] = 0; // headersCount 0
        pos = p + 1;
        if pos - crc_pos >= CRC_CHUNK {
            crc = crc32c::crc32c_append(crc, &out[crc_pos..pos]);
            crc_pos = pos;
        }
    }
    debug_assert_eq!(pos, len, "batch_len disagrees with the encoder");
    crc = crc32c::crc32c_append(crc, &out[crc_pos..len]);
    out[OFF_CRC..OFF_ATTRIBUTES].copy_from_slice(&crc.to_be_bytes());
    len
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// Parses the 61-byte header at the start of `buf` (which may hold more). Checks the magic
/// byte and that `batchLength` covers at least the header; not the CRC.
pub fn parse_header(buf: &[u8]) -> Result<BatchHeader, FormatError> {
    if buf.len() <= OFF_MAGIC {
        return Err(FormatError::Truncated {
            needed: BATCH_HEADER_LEN,
            available: buf.len(),
        });
    }
    let magic = buf[OFF_MAGIC] as i8;
    if magic != MAGIC_V2 {
        return Err(FormatError::BadMagic(magic));
    }
    if buf.len() < BATCH_HEADER_LEN {
        return Err(FormatError::Truncated {
            needed: BATCH_HEADER_LEN,
            available: buf.len(),
        });
    }
    let batch_length = be_i32(buf, OFF_BATCH_LENGTH);
    if (batch_length as i64) < (BATCH_HEADER_LEN - LOG_OVERHEAD) as i64 {
        return Err(FormatError::BadLength(format!(
            "batchLength {batch_length} is shorter than the {} bytes of header it must cover",
            BATCH_HEADER_LEN - LOG_OVERHEAD
        )));
    }
    Ok(BatchHeader {
        base_offset: be_i64(buf, 0),
        batch_length,
        partition_leader_epoch: be_i32(buf, OFF_LEADER_EPOCH),
        magic,
        crc: be_i32(buf, OFF_CRC) as u32,
        attributes: be_i16(buf, OFF_ATTRIBUTES),
        last_offset_delta: be_i32(buf, OFF_LAST_OFFSET_DELTA),
        base_timestamp: be_i64(buf, OFF_BASE_TIMESTAMP),
        max_timestamp: be_i64(buf, OFF_MAX_TIMESTAMP),
        producer_id: be_i64(buf, OFF_PRODUCER_ID),
        producer_epoch: be_i16(buf, OFF_PRODUCER_EPOCH),
        base_sequence: be_i32(buf, OFF_BASE_SEQUENCE),
        records_count: be_i32(buf, OFF_RECORDS_COUNT),
    })
}

/// Verifies that `buf` is exactly one whole, intact v2 batch: header, length, CRC-32C, and
/// (for uncompressed batches) that the records' length prefixes tile the body exactly
/// `recordsCount` times. Returns the header.
pub fn verify_batch(buf: &[u8]) -> Result<BatchHeader, FormatError> {
    let h = parse_header(buf)?;
    let total = h.total_len();
    if buf.len() < total {
        return Err(FormatError::Truncated {
            needed: total,
            available: buf.len(),
        });
    }
    if buf.len() > total {
        return Err(FormatError::BadLength(format!(
            "batchLength {} says {total} bytes, the buffer holds {}",
            h.batch_length,
            buf.len()
        )));
    }
    let computed = crc32c::crc32c(&buf[OFF_ATTRIBUTES..]);
    if computed != h.crc {
        return Err(FormatError::CrcMismatch {
            stored: h.crc,
            computed,
        });
    }
    if h.records_count < 0 {
        return Err(FormatError::BadRecord(format!(
            "negative records count {}",
            h.records_count
        )));
    }
    if !h.is_compressed() {
        let mut pos = BATCH_HEADER_LEN;
        for i in 0..h.records_count {
            let (len, n) = get_varint(&buf[pos..]).ok_or_else(|| {
                FormatError::BadRecord(format!("record {i} length at byte {pos} does not parse"))
            })?;
            if len < 0 || pos + n + len as usize > total {
                return Err(FormatError::BadRecord(format!(
                    "record {i} at byte {pos} has length {len}, past the batch end {total}"
                )));
            }
            pos += n + len as usize;
        }
        if pos != total {
            return Err(FormatError::BadLength(format!(
                "{} records end at byte {pos}, the batch at byte {total}",
                h.records_count
            )));
        }
    }
    Ok(h)
}

/// A cursor over the body of one record.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    record: i32,
}

impl Cursor<'_> {
    fn err(&self, what: &str) -> FormatError {
        FormatError::BadRecord(format!(
            "record {}: {what} at byte {}",
            self.record, self.pos
        ))
    }

    fn varint(&mut self, what: &str) -> Result<i32, FormatError> {
        let (v, n) = get_varint(&self.buf[self.pos..]).ok_or_else(|| self.err(what))?;
        self.pos += n;
        Ok(v)
    }

    fn varlong(&mut self, what: &str) -> Result<i64, FormatError> {
        let (v, n) = get_varlong(&self.buf[self.pos..]).ok_or_else(|| self.err(what))?;
        self.pos += n;
        Ok(v)
    }

    fn byte(&mut self, what: &str) -> Result<u8, FormatError> {
        let b = *self.buf.get(self.pos).ok_or_else(|| self.err(what))?;
        self.pos += 1;
        Ok(b)
    }

    /// A length-prefixed byte string; `-1` is null.
    fn bytes(&mut self, what: &str) -> Result<Option<Vec<u8>>, FormatError> {
        let len = self.varint(what)?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 || self.pos + len as usize > self.buf.len() {
            return Err(self.err(&format!("{what} of length {len} does not fit")));
        }
        let v = self.buf[self.pos..self.pos + len as usize].to_vec();
        self.pos += len as usize;
        Ok(Some(v))
    }
}

/// Decodes every record of one whole batch (verified first with [`verify_batch`]).
/// Compressed batches are refused. For tests and verification, not the hot path.
pub fn decode_records(buf: &[u8]) -> Result<Vec<Record>, FormatError> {
    let h = verify_batch(buf)?;
    if h.is_compressed() {
        return Err(FormatError::BadRecord(format!(
            "compressed batch (codec {}) is not supported",
            h.attributes & ATTR_COMPRESSION_MASK
        )));
    }
    let log_append_time = h.attributes & ATTR_LOG_APPEND_TIME != 0;
    let mut out = Vec::with_capacity(h.records_count as usize);
    let mut pos = BATCH_HEADER_LEN;
    let mut last_delta = -1i64;
    for record in 0..h.records_count {
        // verify_batch checked that the length prefixes tile the body.
        let (len, n) = get_varint(&buf[pos..]).ok_or_else(|| {
            FormatError::BadRecord(format!("record {record}: length at byte {pos}"))
        })?;
        let body = &buf[pos + n..pos + n + len as usize];
        let mut c = Cursor {
            buf: body,
            pos: 0,
            record,
        };
        let _attributes = c.byte("attributes")?;
        let timestamp_delta = c.varlong("timestampDelta")?;
        let offset_delta = i64::from(c.varint("offsetDelta")?);
        if offset_delta <= last_delta || offset_delta > i64::from(h.last_offset_delta) {
            return Err(c.err(&format!(
                "offsetDelta {offset_delta} out of order or beyond lastOffsetDelta {}",
                h.last_offset_delta
            )));
        }
        last_delta = offset_delta;
        let key = c.bytes("key")?;
        let value = c.bytes("value")?;
        let header_count = c.varint("headersCount")?;
        if header_count < 0 {
            return Err(c.err(&format!("negative headersCount {header_count}")));
        }
        let mut headers = Vec::with_capacity(header_count.min(1024) as usize);
        for _ in 0..header_count {
            let key = c
                .bytes("header key")?
                .ok_or_else(|| c.err("null header key"))?;
            let value = c.bytes("header value")?;
            headers.push(RecordHeader { key, value });
        }
        if c.pos != body.len() {
            return Err(c.err(&format!(
                "{} bytes left over in the record",
                body.len() - c.pos
            )));
        }
        out.push(Record {
            offset: h.base_offset + offset_delta,
            timestamp_ms: if log_append_time {
                h.max_timestamp
            } else {
                h.base_timestamp.wrapping_add(timestamp_delta)
            },
            key,
            value,
            headers,
        });
        pos += n + len as usize;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bitwise CRC-32C (reflected polynomial 0x82F63B78), independent of the crc32c crate.
    fn crc32c_bitwise(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0x82F6_3B78
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn crc32c_check_values() {
        // The standard check value of CRC-32C.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c_bitwise(b"123456789"), 0xE306_9283);
        // RFC 3720 (iSCSI), appendix B.4 (the CRC is shown there as little-endian bytes).
        let zeros = [0u8; 32];
        let ones = [0xffu8; 32];
        let inc: Vec<u8> = (0u8..32).collect();
        let dec: Vec<u8> = (0u8..32).rev().collect();
        for (data, want) in [
            (&zeros[..], 0x8A91_36AA),
            (&ones[..], 0x62A8_AB43),
            (&inc[..], 0x46DD_794E),
            (&dec[..], 0x113F_DB5C),
        ] {
            assert_eq!(crc32c::crc32c(data), want);
            assert_eq!(crc32c_bitwise(data), want);
        }
        // An iSCSI SCSI Read (10) command PDU, also from B.4 (CRC bytes 56 3a 96 d9).
        let mut pdu = [0u8; 48];
        for (at, b) in [
            (0, 0x01),
            (1, 0xc0),
            (16, 0x14),
            (22, 0x04),
            (27, 0x14),
            (31, 0x18),
        ] {
            pdu[at] = b;
        }
        pdu[32] = 0x28;
        pdu[40] = 0x02;
        assert_eq!(crc32c_bitwise(&pdu), 0xD996_3A56);
        assert_eq!(crc32c::crc32c(&pdu), 0xD996_3A56);
    }

    /// The expected bytes of a batch, built field by field from the format description,
    /// independently of the encoder (plain Vec pushes, hand-written varints for small values).
    fn expected_batch(base: i64, ts: i64, values: &[Vec<u8>]) -> Vec<u8> {
        fn zz(v: i64) -> Vec<u8> {
            // Straight from the definition: zig-zag, then 7-bit groups, low first.
            let mut z = ((v << 1) ^ (v >> 63)) as u64;
            let mut out = Vec::new();
            loop {
                let b = (z & 0x7f) as u8;
                z >>= 7;
                if z == 0 {
                    out.push(b);
                    return out;
                }
                out.push(b | 0x80);
            }
        }
        let mut records = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let mut body = vec![0u8]; // attributes
            body.extend(zz(0)); // timestampDelta
            body.extend(zz(i as i64)); // offsetDelta
            body.extend(zz(-1)); // null key
            body.extend(zz(v.len() as i64));
            body.extend(v);
            body.extend(zz(0)); // no headers
            records.extend(zz(body.len() as i64));
            records.extend(body);
        }
        let mut after_crc = Vec::new();
        after_crc.extend(0i16.to_be_bytes()); // attributes
        after_crc.extend((values.len() as i32 - 1).to_be_bytes()); // lastOffsetDelta
        after_crc.extend(ts.to_be_bytes()); // baseTimestamp
        after_crc.extend(ts.to_be_bytes()); // maxTimestamp
        after_crc.extend((-1i64).to_be_bytes()); // producerId
        after_crc.extend((-1i16).to_be_bytes()); // producerEpoch
        after_crc.extend((-1i32).to_be_bytes()); // baseSequence
        after_crc.extend((values.len() as i32).to_be_bytes()); // records count
        after_crc.extend(records);
        let mut out = Vec::new();
        out.extend(base.to_be_bytes());
        out.extend(((4 + 1 + 4 + after_crc.len()) as i32).to_be_bytes()); // batchLength
        out.extend(0i32.to_be_bytes()); // partitionLeaderEpoch
        out.push(2); // magic
        out.extend(crc32c_bitwise(&after_crc).to_be_bytes());
        out.extend(after_crc);
        out
    }

    /// Values the encoder will copy from a pool with this seed.
    fn pool_values(seed: u64, records: u32, value_len: usize) -> Vec<Vec<u8>> {
        let mut pool = PayloadPool::new(1 << 16, seed);
        (0..records)
            .map(|_| {
                let mut v = vec![0u8; value_len];
                pool.fill(&mut v);
                v
            })
            .collect()
    }

    #[test]
    fn encoding_matches_independently_built_bytes() {
        for &(records, value_len) in &[
            (1u32, 0usize),
            (1, 10),
            (3, 100),
            (70, 5),
            (2, 63),
            (2, 64),
            (1, 8192),
            (5, 70_000),
        ] {
            let want = expected_batch(42, 1_700_000_000_123, &pool_values(9, records, value_len));
            let mut out = vec![0xAAu8; want.len() + 16];
            let mut pool = PayloadPool::new(1 << 16, 9);
            let n = encode_batch(
                &mut out,
                42,
                1_700_000_000_123,
                records,
                value_len,
                &mut pool,
            );
            assert_eq!(n, want.len(), "{records} x {value_len}");
            assert_eq!(batch_len(records, value_len), want.len());
            assert_eq!(&out[..n], &want[..], "{records} x {value_len}");
            assert_eq!(out[n], 0xAA, "wrote past the batch");
        }
    }

    #[test]
    fn a_one_record_batch_byte_by_byte() {
        // 1 record, value "abc", base offset 5, timestamp 1000: every byte spelled out.
        let mut pool = PayloadPool::new(64, 1);
        let mut abc = [0u8; 3];
        pool.fill(&mut abc);
        let mut pool = PayloadPool::new(64, 1);
        let mut out = [0u8; 128];
        let n = encode_batch(&mut out, 5, 1000, 1, 3, &mut pool);
        // record: len 9 -> 0x12, attr 0, tsDelta 0, offDelta 0, key -1 -> 0x01,
        //         valueLen 3 -> 0x06, 'abc', headers 0
        let record = [0x12, 0, 0, 0, 0x01, 0x06, abc[0], abc[1], abc[2], 0];
        assert_eq!(n, 61 + record.len());
        #[rustfmt::skip]
        let mut want = vec![
            0, 0, 0, 0, 0, 0, 0, 5,         // baseOffset
            0, 0, 0, 59,                    // batchLength = 71 - 12
            0, 0, 0, 0,                     // partitionLeaderEpoch
            2,                              // magic
            0, 0, 0, 0,                     // crc (filled below)
            0, 0,                           // attributes
            0, 0, 0, 0,                     // lastOffsetDelta
            0, 0, 0, 0, 0, 0, 0x03, 0xe8,   // baseTimestamp 1000
            0, 0, 0, 0, 0, 0, 0x03, 0xe8,   // maxTimestamp 1000
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // producerId -1
            0xff, 0xff,                     // producerEpoch -1
            0xff, 0xff, 0xff, 0xff,         // baseSequence -1
            0, 0, 0, 1,                     // records count
        ];
        want.extend_from_slice(&record);
        let crc = crc32c_bitwise(&want[21..]);
        want[17..21].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(&out[..n], &want[..]);
    }

    /// IBM/sarama `record_test.go`, case "uncompressed record": a v2 batch written by another
    /// client, with a key, a value, a header and a timestamp delta.
    #[rustfmt::skip]
    const SARAMA_UNCOMPRESSED: [u8; 82] = [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 70, 0, 0, 0, 0, 2, 84, 121, 97, 253, 0, 0, 0, 0, 0, 0,
        0, 0, 1, 88, 141, 205, 89, 56, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 1, 40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4,
        11, 12,
    ];
    /// IBM/sarama `record_test.go`, case "empty record": a batch with no records.
    #[rustfmt::skip]
    const SARAMA_EMPTY: [u8; 61] = [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 49, 0, 0, 0, 0, 2, 89, 95, 183, 221, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0,
    ];

    #[test]
    fn decodes_batches_written_by_another_client() {
        let recs = decode_records(&SARAMA_UNCOMPRESSED).unwrap();
        assert_eq!(recs.len(), 1);
        let r = &recs[0];
        assert_eq!(r.offset, 0);
        assert_eq!(r.timestamp_ms, 1_479_847_795_000 + 5);
        assert_eq!(r.key.as_deref(), Some(&[1u8, 2, 3, 4][..]));
        assert_eq!(r.value.as_deref(), Some(&[5u8, 6, 7][..]));
        assert_eq!(
            r.headers,
            vec![RecordHeader {
                key: vec![8, 9, 10],
                value: Some(vec![11, 12])
            }]
        );
        let h = verify_batch(&SARAMA_UNCOMPRESSED).unwrap();
        assert_eq!(h.crc, 0x5479_61FD);
        assert_eq!(h.total_len(), 82);

        let h = verify_batch(&SARAMA_EMPTY).unwrap();
        assert_eq!((h.records_count, h.crc), (0, 0x595F_B7DD));
        assert!(decode_records(&SARAMA_EMPTY).unwrap().is_empty());
    }

    #[test]
    fn damaged_batches_are_refused() {
        let mut b = SARAMA_UNCOMPRESSED;
        b[70] ^= 1;
        assert!(matches!(
            verify_batch(&b),
            Err(FormatError::CrcMismatch { .. })
        ));
        let mut b = SARAMA_UNCOMPRESSED;
        b[16] = 1;
        assert_eq!(verify_batch(&b), Err(FormatError::BadMagic(1)));
        assert!(matches!(
            verify_batch(&SARAMA_UNCOMPRESSED[..81]),
            Err(FormatError::Truncated {
                needed: 82,
                available: 81
            })
        ));
        assert!(matches!(
            parse_header(&SARAMA_UNCOMPRESSED[..40]),
            Err(FormatError::Truncated {
                needed: 61,
                available: 40
            })
        ));
        let mut long = SARAMA_UNCOMPRESSED.to_vec();
        long.push(0);
        assert!(matches!(
            verify_batch(&long),
            Err(FormatError::BadLength(_))
        ));
        let mut b = SARAMA_UNCOMPRESSED;
        b[8..12].copy_from_slice(&10i32.to_be_bytes());
        assert!(matches!(parse_header(&b), Err(FormatError::BadLength(_))));
        // A record length that overruns the batch, with a CRC that matches it.
        let mut b = SARAMA_UNCOMPRESSED;
        b[61] = 42;
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(verify_batch(&b), Err(FormatError::BadRecord(_))));
    }

    #[test]
    fn batch_len_matches_the_encoder_across_varint_boundaries() {
        let mut pool = PayloadPool::new(1 << 12, 3);
        let mut out = vec![0u8; 1 << 20];
        for &records in &[1u32, 63, 64, 65, 127, 128, 8191, 8192, 8193] {
            for &value_len in &[0usize, 1, 51, 52, 53, 54, 55, 57, 120, 121, 122, 8180, 8185] {
                let want = batch_len(records, value_len);
                if want > out.len() {
                    continue;
                }
                let n = encode_batch(&mut out, 0, 0, records, value_len, &mut pool);
                assert_eq!(n, want, "{records} x {value_len}");
                let h = verify_batch(&out[..n]).unwrap();
                assert_eq!(h.records_count as u32, records);
            }
        }
        // Around a million records the offsetDelta takes 4 bytes; check the arithmetic only.
        let per = |d: usize, v: usize| {
            let body = 4 + d + 1 + v;
            body + if body < 64 { 1 } else { 2 }
        };
        let big = 61
            + 64 * per(1, 1)
            + (8192 - 64) * per(2, 1)
            + (1_048_576 - 8192) * per(3, 1)
            + 10 * per(4, 1);
        assert_eq!(batch_len(1_048_576 + 10, 1), big);
    }

    #[test]
    fn records_per_batch_follows_producer_batch_size() {
        // The batch sizes the default producer makes from 16 KiB.
        for value_len in [0usize, 10, 100, 1000, 1024, 4000, 16_000] {
            let n = records_per_batch(16_384, value_len).unwrap();
            assert!(batch_len(n, value_len) <= 16_384);
            assert!(
                batch_len(n + 1, value_len) > 16_384,
                "{value_len}: {n} is not the most"
            );
        }
        // 1 KiB values: 1024 + 2 (len) + 4 (attr, ts, offset, key) + 1 (headers) + 2 (value
        // len) + ... about 1034 bytes each: 15 fit in 16 KiB.
        assert_eq!(records_per_batch(16_384, 1024), Some(15));
        assert_eq!(records_per_batch(16_384, 16_384), None);
        assert_eq!(records_per_batch(61, 0), None);
        assert_eq!(records_per_batch(61 + 7, 0), Some(1));
        assert!(checked_batch_len(0, 10).is_err());
        assert!(checked_batch_len(4, i32::MAX as usize).is_err());
        assert_eq!(checked_batch_len(2, 10), Ok(batch_len(2, 10)));
    }

    fn shapes() -> impl Strategy<Value = (u32, usize)> {
        prop_oneof![
            (1u32..200, 0usize..2048),
            (1u32..4, 8000usize..8400),
            (8100u32..8300, 0usize..3),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn encode_verify_decode_round_trip(
            (records, value_len) in shapes(),
            base in 0i64..(1 << 40),
            ts in 0i64..(1 << 42),
            seed in any::<u64>(),
        ) {
            let len = batch_len(records, value_len);
            let mut out = vec![0u8; len];
            let mut pool = PayloadPool::new(1 << 14, seed);
            prop_assert_eq!(encode_batch(&mut out, base, ts, records, value_len, &mut pool), len);
            let h = verify_batch(&out).unwrap();
            prop_assert_eq!(h.base_offset, base);
            prop_assert_eq!(h.next_offset(), base + i64::from(records));
            prop_assert_eq!(h.total_len(), len);
            let recs = decode_records(&out).unwrap();
            prop_assert_eq!(recs.len(), records as usize);
            let mut check = PayloadPool::new(1 << 14, seed);
            let mut v = vec![0u8; value_len];
            for (i, r) in recs.iter().enumerate() {
                prop_assert_eq!(r.offset, base + i as i64);
                prop_assert_eq!(r.timestamp_ms, ts);
                prop_assert!(r.key.is_none());
                check.fill(&mut v);
                prop_assert_eq!(r.value.as_deref(), Some(&v[..]));
                prop_assert!(r.headers.is_empty());
            }
        }
    }
}
