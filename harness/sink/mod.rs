//! The sink: the consumer end of `segbench read`, in process (loopback, the default) or as
//! `segbench sink` on another host or network namespace.
//!
//! - [`protocol`]: the framing and the messages (below), shared by both ends;
//! - [`server`]: the sink server ([`server::Sink`]): drains what readers send (1 MiB reads,
//!   one thread per connection, bounded connections and idle time, bounded memory) and
//!   answers each session with a summary;
//! - [`session`]: the server's receiving state of one session, optionally verifying every
//!   record batch;
//! - [`client`]: the reader's side: connect, HELLO, END.
//!
//! # Framing (version 1)
//!
//! A session is one TCP connection from one consumer. Every message is a 40-byte header,
//! big-endian, followed by `payload_len` bytes:
//!
//! | bytes  | field          | meaning                                                          |
//! |--------|----------------|------------------------------------------------------------------|
//! | 0..4   | magic          | `SGBF`                                                           |
//! | 4      | version        | 1                                                                |
//! | 5      | kind           | 1 HELLO, 2 DATA, 3 END (4 FETCH, 5 FETCH_END: replication only)  |
//! | 6..8   | group          | consumer group (DATA)                                            |
//! | 8..12  | partition      | partition id announced in HELLO (DATA)                           |
//! | 12..16 | pass           | 0 for the first pass over the log, +1 each time it starts over   |
//! | 16..24 | position       | byte position of the payload in its segment file (DATA)          |
//! | 24..32 | segment_base   | base offset of that segment, i.e. its file name (DATA)           |
//! | 32..36 | payload_len    | bytes that follow                                                |
//! | 36..40 | reserved       | 0                                                                |
//!
//! 1. The reader sends HELLO with a JSON payload ([`protocol::Hello`]: verify on/off, consumer name,
//!    and the partitions it will send, `id → topic, partition`); the sink answers one JSON line
//!    ([`protocol::HelloReply`]), `{"ok":false,"error":…}` when it refuses (too many connections).
//! 2. DATA frames: each payload is whole record batches, exactly the bytes of
//!    `segment[position .. position + payload_len]`. The reader writes the header with
//!    `MSG_MORE`, so it leaves in the same TCP segment as the zero-copy payload after it.
//! 3. END (no payload): the sink answers one JSON line ([`protocol::SessionSummary`]: bytes, frames,
//!    batches, verification errors with the segment file and byte position, the offset range
//!    seen per partition, and the sink's CPU seconds for the connection) and closes.
//!
//! With verification (the sink's `--verify`, or asked in HELLO) every batch's CRC-32C and
//! record framing is checked ([`workloads::kafka::batch::verify_batch`]) and offsets must arrive exactly once, in order,
//! per (group, partition) and pass. Garbage (bad magic, unknown kind, an unannounced
//! partition) closes that connection with a logged line; nothing panics and other connections
//! carry on.

pub mod client;
pub mod protocol;
pub mod server;
pub mod session;

#[cfg(test)]
mod tests;
