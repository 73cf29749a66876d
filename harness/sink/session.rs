//! The sink's receiving state of one session after HELLO: frame decoding and, with
//! verification, batch reassembly and checks (CRC-32C, framing, offsets once and in order).

use std::collections::{BTreeMap, HashMap};

use workloads::kafka::batch::{parse_header, verify_batch, BATCH_HEADER_LEN, LOG_OVERHEAD};

use super::protocol::{
    FrameError, FrameHeader, FrameKind, Hello, PartitionName, SessionSummary, StreamSummary,
    VerifyError, HEADER_LEN, MAX_REPORTED_ERRORS,
};

/// Largest record batch the verifier buffers (Kafka's default limit is about 1 MiB); with at
/// most `max_connections` sessions this bounds the sink's memory.
pub const MAX_BATCH_BYTES: usize = 16 << 20;

/// A protocol error that ends a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A header that is not segbench framing.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A well-formed frame that does not belong here.
    #[error("{0}")]
    Unexpected(String),
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    h: FrameHeader,
    /// Payload bytes consumed so far.
    consumed: u64,
    /// A framing error inside the payload: skip the rest of it.
    skip: bool,
}

#[derive(Debug, Default)]
struct Stream {
    bytes: u64,
    batches: u64,
    /// The pass being received, once one started.
    pass: Option<u32>,
    passes: u32,
    first_offset: Option<i64>,
    next_offset: Option<i64>,
}

/// The receiving state of one session after HELLO: frame decoding and, with verify, batch
/// reassembly and checks. Fed with whatever the socket returns, in any split.
pub(crate) struct Session {
    verify: bool,
    names: HashMap<u32, PartitionName>,
    hdr: [u8; HEADER_LEN],
    hdr_have: usize,
    frame: Option<Frame>,
    /// A batch split across reads, and its offset in the frame payload.
    pending: Vec<u8>,
    pending_at: u64,
    streams: BTreeMap<(u16, u32), Stream>,
    summary: SessionSummary,
}

impl Session {
    pub(crate) fn new(verify: bool, hello: &Hello) -> Self {
        Session {
            verify,
            names: hello.partitions.iter().map(|p| (p.id, p.clone())).collect(),
            hdr: [0; HEADER_LEN],
            hdr_have: 0,
            frame: None,
            pending: Vec::new(),
            pending_at: 0,
            streams: BTreeMap::new(),
            summary: SessionSummary {
                consumer: hello.consumer.clone(),
                verified: verify,
                ..Default::default()
            },
        }
    }

    /// Consumes `data`; `Ok(true)` once END was received.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<bool, ProtocolError> {
        while !data.is_empty() {
            if let Some(mut f) = self.frame {
                let n = (data.len() as u64).min(u64::from(f.h.payload_len) - f.consumed) as usize;
                let chunk = &data[..n];
                if self.verify && !f.skip {
                    f.skip = !self.verify_chunk(&f, chunk);
                }
                f.consumed += n as u64;
                self.summary.bytes += n as u64;
                self.streams
                    .entry((f.h.group, f.h.partition))
                    .or_default()
                    .bytes += n as u64;
                data = &data[n..];
                if f.consumed == u64::from(f.h.payload_len) {
                    if self.verify && !f.skip && !self.pending.is_empty() {
                        let at = self.pending_at;
                        self.error(&f.h, at, "the frame ends inside a batch".into());
                    }
                    self.pending.clear();
                    self.frame = None;
                } else {
                    self.frame = Some(f);
                }
                continue;
            }
            let take = (HEADER_LEN - self.hdr_have).min(data.len());
            self.hdr[self.hdr_have..self.hdr_have + take].copy_from_slice(&data[..take]);
            self.hdr_have += take;
            data = &data[take..];
            if self.hdr_have < HEADER_LEN {
                break;
            }
            self.hdr_have = 0;
            let h = FrameHeader::decode(&self.hdr)?;
            match h.kind {
                FrameKind::Data => {
                    if !self.names.contains_key(&h.partition) {
                        return Err(ProtocolError::Unexpected(format!(
                            "DATA for partition id {} that HELLO did not announce",
                            h.partition
                        )));
                    }
                    self.summary.frames += 1;
                    if h.payload_len > 0 {
                        self.frame = Some(Frame {
                            h,
                            consumed: 0,
                            skip: false,
                        });
                    }
                }
                FrameKind::End => {
                    if !data.is_empty() {
                        return Err(ProtocolError::Unexpected(format!(
                            "{} bytes after END",
                            data.len()
                        )));
                    }
                    return Ok(true);
                }
                FrameKind::Hello => return Err(ProtocolError::Unexpected("a second HELLO".into())),
                FrameKind::Fetch | FrameKind::FetchEnd => {
                    return Err(ProtocolError::Unexpected(format!(
                        "a replication frame ({:?}) in a read session",
                        h.kind
                    )))
                }
            }
        }
        Ok(false)
    }

    /// Checks the batches in `chunk`, the next bytes of frame `f`'s payload. Returns false when
    /// the rest of the frame cannot be parsed (a bad batch length).
    fn verify_chunk(&mut self, f: &Frame, chunk: &[u8]) -> bool {
        let mut i = 0usize;
        if !self.pending.is_empty() {
            if self.pending.len() < LOG_OVERHEAD {
                let take = (LOG_OVERHEAD - self.pending.len()).min(chunk.len());
                self.pending.extend_from_slice(&chunk[..take]);
                i += take;
                if self.pending.len() < LOG_OVERHEAD {
                    return true;
                }
            }
            let at = self.pending_at;
            let mut prefix = [0u8; LOG_OVERHEAD];
            prefix.copy_from_slice(&self.pending[..LOG_OVERHEAD]);
            let Some(total) = self.batch_total(f, at, &prefix) else {
                self.pending.clear();
                return false;
            };
            let take = (total - self.pending.len()).min(chunk.len() - i);
            self.pending.extend_from_slice(&chunk[i..i + take]);
            i += take;
            if self.pending.len() < total {
                return true;
            }
            let batch = std::mem::take(&mut self.pending);
            self.check_batch(&f.h, at, &batch);
            self.pending = batch;
            self.pending.clear();
        }
        while i < chunk.len() {
            let at = f.consumed + i as u64;
            let rest = &chunk[i..];
            if rest.len() < LOG_OVERHEAD {
                self.pending.extend_from_slice(rest);
                self.pending_at = at;
                break;
            }
            let Some(total) = self.batch_total(f, at, rest) else {
                return false;
            };
            if rest.len() >= total {
                self.check_batch(&f.h, at, &rest[..total]);
                i += total;
            } else {
                self.pending.extend_from_slice(rest);
                self.pending_at = at;
                break;
            }
        }
        true
    }

    /// The length of the batch whose first 12+ bytes are `prefix`, at payload offset `at`;
    /// `None` (and an error recorded) when it cannot be a batch of this frame.
    fn batch_total(&mut self, f: &Frame, at: u64, prefix: &[u8]) -> Option<usize> {
        let len = i32::from_be_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]);
        let total = LOG_OVERHEAD as i64 + i64::from(len);
        let left = i64::from(f.h.payload_len) - at as i64;
        let reason = if total < BATCH_HEADER_LEN as i64 {
            format!("batchLength {len} is shorter than a batch header")
        } else if total > left {
            format!("a batch of {total} bytes runs past the end of its frame ({left} bytes left)")
        } else if total as usize > MAX_BATCH_BYTES {
            format!("a batch of {total} bytes is over the sink's limit of {MAX_BATCH_BYTES}")
        } else {
            return Some(total as usize);
        };
        self.error(
            &f.h,
            at,
            format!("{reason}; the rest of the frame is skipped"),
        );
        None
    }

    fn check_batch(&mut self, h: &FrameHeader, at: u64, batch: &[u8]) {
        let header = match verify_batch(batch) {
            Ok(b) => {
                self.summary.batches += 1;
                self.summary.records += b.records_count.max(0) as u64;
                b
            }
            Err(e) => {
                self.error(h, at, e.to_string());
                // Keep following the offsets if the header itself is readable.
                match parse_header(batch) {
                    Ok(b) => b,
                    Err(_) => return,
                }
            }
        };
        let st = self.streams.entry((h.group, h.partition)).or_default();
        st.batches += 1;
        let mut complaint = None;
        if st.pass != Some(h.pass) {
            if st.pass.is_some_and(|p| h.pass < p) {
                complaint = Some(format!(
                    "pass {} after pass {}",
                    h.pass,
                    st.pass.unwrap_or(0)
                ));
            } else if let Some(first) = st.first_offset.filter(|&f| f != header.base_offset) {
                complaint = Some(format!(
                    "pass {} starts at offset {}, the first pass at offset {first}",
                    h.pass, header.base_offset
                ));
            }
            st.pass = Some(h.pass);
            st.passes += 1;
            st.first_offset.get_or_insert(header.base_offset);
        } else if let Some(next) = st.next_offset {
            if header.base_offset < next {
                complaint = Some(format!(
                    "offset {} delivered again or out of order (expected {next})",
                    header.base_offset
                ));
            } else if header.base_offset > next {
                complaint = Some(format!(
                    "offsets {next}..{} are missing",
                    header.base_offset - 1
                ));
            }
        }
        st.next_offset = Some(header.next_offset());
        if let Some(c) = complaint {
            self.error(h, at, c);
        }
    }

    fn error(&mut self, h: &FrameHeader, payload_at: u64, reason: String) {
        self.summary.verify_errors += 1;
        if self.summary.errors.len() >= MAX_REPORTED_ERRORS {
            return;
        }
        let file = match self.names.get(&h.partition) {
            Some(n) => n.segment_file(h.segment_base),
            None => format!("partition-{}/{:020}.log", h.partition, h.segment_base),
        };
        self.summary.errors.push(VerifyError {
            group: h.group,
            partition: h.partition,
            file,
            segment_base: h.segment_base,
            position: h.position + payload_at,
            reason,
        });
    }

    /// Payload bytes received so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.summary.bytes
    }

    pub(crate) fn finish(&mut self) -> SessionSummary {
        let mut s = std::mem::take(&mut self.summary);
        s.ok = true;
        s.streams = self
            .streams
            .iter()
            .map(|(&(group, partition), st)| StreamSummary {
                group,
                partition,
                bytes: st.bytes,
                passes: st.passes,
                first_offset: st.first_offset,
                next_offset: st.next_offset,
                batches: st.batches,
            })
            .collect();
        s
    }
}
