//! The sink's wire protocol (framing version 1, see [`super`]): frame headers, the HELLO
//! and END messages and what the sink answers, shared by the sink's server and its client.

use std::io;

use serde::{Deserialize, Serialize};

/// First bytes of every frame.
pub const MAGIC: [u8; 4] = *b"SGBF";
/// Framing version.
pub const VERSION: u8 = 1;
/// Bytes of a frame header.
pub const HEADER_LEN: usize = 40;
/// Largest HELLO payload accepted.
pub const MAX_HELLO_BYTES: u32 = 1 << 20;
/// Verification errors described in a summary (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 32;

/// Kind of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// Session start; JSON [`Hello`] payload.
    Hello = 1,
    /// Whole record batches of one segment.
    Data = 2,
    /// Session end; the sink answers with a [`SessionSummary`] line.
    End = 3,
    /// Replication only ([`crate::replicate::wire`]): a follower's fetch request.
    Fetch = 4,
    /// Replication only: the end of the leader's answer to one fetch.
    FetchEnd = 5,
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Kind.
    pub kind: FrameKind,
    /// Consumer group.
    pub group: u16,
    /// Partition id from the HELLO table.
    pub partition: u32,
    /// Pass over the log (0 first).
    pub pass: u32,
    /// Byte position of the payload in its segment.
    pub position: u64,
    /// Base offset of the segment (its file name).
    pub segment_base: i64,
    /// Payload bytes after the header.
    pub payload_len: u32,
}

/// A header that is not segbench framing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not `SGBF`.
    #[error("bad magic {0:02x?} (not a segbench reader)")]
    BadMagic([u8; 4]),
    /// Another framing version.
    #[error("framing version {0} (this sink speaks version {VERSION})")]
    BadVersion(u8),
    /// Unknown kind byte.
    #[error("unknown frame kind {0}")]
    BadKind(u8),
}

impl FrameHeader {
    /// A DATA header.
    pub fn data(
        group: u16,
        partition: u32,
        pass: u32,
        position: u64,
        segment_base: i64,
        payload_len: u32,
    ) -> Self {
        FrameHeader {
            kind: FrameKind::Data,
            group,
            partition,
            pass,
            position,
            segment_base,
            payload_len,
        }
    }

    /// A header without payload fields (END, or HELLO with its payload length).
    pub fn control(kind: FrameKind, payload_len: u32) -> Self {
        FrameHeader {
            kind,
            group: 0,
            partition: 0,
            pass: 0,
            position: 0,
            segment_base: 0,
            payload_len,
        }
    }

    /// The 40 bytes on the wire.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4] = VERSION;
        b[5] = self.kind as u8;
        b[6..8].copy_from_slice(&self.group.to_be_bytes());
        b[8..12].copy_from_slice(&self.partition.to_be_bytes());
        b[12..16].copy_from_slice(&self.pass.to_be_bytes());
        b[16..24].copy_from_slice(&self.position.to_be_bytes());
        b[24..32].copy_from_slice(&self.segment_base.to_be_bytes());
        b[32..36].copy_from_slice(&self.payload_len.to_be_bytes());
        b
    }

    /// Parses 40 bytes.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<Self, FrameError> {
        let magic = [b[0], b[1], b[2], b[3]];
        if magic != MAGIC {
            return Err(FrameError::BadMagic(magic));
        }
        if b[4] != VERSION {
            return Err(FrameError::BadVersion(b[4]));
        }
        let kind = match b[5] {
            1 => FrameKind::Hello,
            2 => FrameKind::Data,
            3 => FrameKind::End,
            4 => FrameKind::Fetch,
            5 => FrameKind::FetchEnd,
            k => return Err(FrameError::BadKind(k)),
        };
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_be_bytes(a)
        };
        Ok(FrameHeader {
            kind,
            group: u16::from_be_bytes([b[6], b[7]]),
            partition: u32_at(8),
            pass: u32_at(12),
            position: u64_at(16),
            segment_base: u64_at(24) as i64,
            payload_len: u32_at(32),
        })
    }
}

/// One partition a session will send: the id used in DATA frames and what it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionName {
    /// Id in DATA frames.
    pub id: u32,
    /// Topic.
    pub topic: String,
    /// Kafka partition number.
    pub partition: u32,
}

impl PartitionName {
    /// `<topic>-<partition>/<20-digit base offset>.log`, the segment as a path relative to
    /// the log directory.
    pub fn segment_file(&self, segment_base: i64) -> String {
        format!("{}-{}/{:020}.log", self.topic, self.partition, segment_base)
    }
}

/// The HELLO payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Verify every batch.
    pub verify: bool,
    /// Who is reading, e.g. `g0-c1` (group 0, consumer 1).
    pub consumer: String,
    /// Partitions this session sends.
    pub partitions: Vec<PartitionName>,
}

/// The sink's answer to HELLO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloReply {
    /// The session is accepted.
    pub ok: bool,
    /// The sink verifies this session.
    #[serde(default)]
    pub verify: bool,
    /// Why not, when refused.
    #[serde(default)]
    pub error: Option<String>,
}

/// A batch that failed verification, or an offset out of order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyError {
    /// Consumer group.
    pub group: u16,
    /// Partition id.
    pub partition: u32,
    /// The segment, relative to the log directory: `<topic>-<partition>/<base>.log`.
    pub file: String,
    /// Base offset of the segment.
    pub segment_base: i64,
    /// Byte position of the batch in the segment.
    pub position: u64,
    /// What is wrong.
    pub reason: String,
}

/// What a session delivered for one (group, partition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StreamSummary {
    /// Consumer group.
    pub group: u16,
    /// Partition id.
    pub partition: u32,
    /// Payload bytes.
    pub bytes: u64,
    /// Passes started (verify only).
    pub passes: u32,
    /// First offset of the first pass (verify only).
    pub first_offset: Option<i64>,
    /// Offset after the last batch of the last pass (verify only).
    pub next_offset: Option<i64>,
    /// Batches verified, all passes.
    pub batches: u64,
}

/// The sink's answer to END: what one session delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SessionSummary {
    /// The session ended with END.
    pub ok: bool,
    /// The consumer named in HELLO.
    pub consumer: String,
    /// The reader's address as the sink saw it.
    pub peer: String,
    /// Payload bytes received (headers excluded).
    pub bytes: u64,
    /// DATA frames.
    pub frames: u64,
    /// Batches checked (verify only).
    pub batches: u64,
    /// Records in them.
    pub records: u64,
    /// Every batch was verified.
    pub verified: bool,
    /// Verification errors, all counted.
    pub verify_errors: u64,
    /// The first [`MAX_REPORTED_ERRORS`] of them.
    pub errors: Vec<VerifyError>,
    /// Per (group, partition).
    pub streams: Vec<StreamSummary>,
    /// User CPU of the sink thread serving the connection, seconds.
    pub cpu_user_s: f64,
    /// System CPU of that thread, seconds.
    pub cpu_sys_s: f64,
    /// From accept to END, seconds.
    pub elapsed_s: f64,
}

/// True for the errors a socket timeout gives (`WouldBlock`, `TimedOut`).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
