//! The rendezvous protocol: length-prefixed frames (u32 big-endian length, then one JSON
//! message), size-bounded, every connection opened by a [`Msg::Hello`] carrying the run's token.
//!
//! ```text
//! rank k                                   rank 0
//!   Hello{token} Register{…} ───────────▶  token checked (refused + logged when wrong)
//!                ◀─────────── Welcome / Abort
//!   Pong{t0, t_rank} ◀───── Ping{t0} ×K     minimum-RTT clock offset
//!                ◀─────────── Prepare{step, task}
//!   Ready{step, port} ───────────────────▶  barrier: every rank ready
//!                ◀─────────── StartAt{step, start in rank k's clock}
//!   Ready{step, label} ──────────────────▶  per measured unit of a local step (`super::sync`):
//!                ◀─────────── StartAt{step, start, label}   every rank ready for `label`
//!   PhaseDone{step, window, results} ────▶  gathered
//!   Heartbeat ◀──────────────▶ Heartbeat    every second both ways
//!                ◀─────────── Finish / Abort{reason}
//! ```

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

/// Largest frame of any message but results.
pub const MAX_FRAME_BYTES: u32 = 64 << 10;
/// Largest frame carrying results ([`Msg::PhaseDone`]) from an authenticated rank.
pub const MAX_RESULTS_FRAME_BYTES: u32 = 64 << 20;
/// Environment variable holding the run's token.
pub const TOKEN_ENV: &str = "SEGBENCH_FLEET_TOKEN";

/// What one rank does in one step of a phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Task {
    /// Run the suite (the local phase, or a scaling subset).
    Local,
    /// Nothing this step (a rank outside a scaling subset).
    Idle,
    /// Start a `segbench sink` on this IP and report its port in [`Msg::Ready`].
    Sink {
        /// IP to listen on (the address the senders reach this rank by).
        listen_ip: String,
    },
    /// Send this rank's log to a sink through the read engines.
    Read {
        /// The receiving rank.
        to_rank: u32,
        /// Its sink, HOST:PORT.
        sink: String,
    },
    /// Stop the sink started by [`Task::Sink`].
    StopSink,
    /// Start `segbench replicate --role leader` listening on this IP and report its port in
    /// [`Msg::Ready`]; it waits for its followers until [`Task::Lead`].
    ReplicaLeader {
        /// IP to listen on (the address the followers reach this rank by).
        listen_ip: String,
    },
    /// Wait for the leader started by [`Task::ReplicaLeader`] to finish; its results.
    Lead,
    /// Run `segbench replicate --role follower` against this leader; its summary.
    Follow {
        /// The leader, HOST:PORT.
        leader: String,
    },
}

/// One message. Rank 0 sends Welcome, Ping, Prepare, StartAt, Finish; ranks send Hello,
/// Register, Pong, Ready, PhaseDone; both send Heartbeat and Abort.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Msg {
    /// First message of every connection.
    Hello {
        /// The run's token.
        token: String,
        /// segbench version of the sender.
        version: String,
    },
    /// A rank joins.
    Register {
        /// Its rank.
        rank: u32,
        /// The size it was started with.
        size: u32,
        /// Its host name.
        host: String,
        /// Its address on the connection to rank 0.
        addr: String,
        /// Its hardware fingerprint (`segbench probe`), when probed.
        fingerprint: Option<String>,
    },
    /// Rank 0 accepted the registration.
    Welcome {
        /// The fleet run id (rank 0's).
        run_id: String,
    },
    /// Clock probe, rank 0's realtime clock in ns since the epoch.
    Ping {
        /// Rank 0's send time.
        t0_ns: i64,
    },
    /// Answer to [`Msg::Ping`].
    Pong {
        /// The ping's `t0_ns`.
        t0_ns: i64,
        /// The rank's realtime clock when it answered, ns since the epoch.
        t_rank_ns: i64,
    },
    /// Get ready for a step (the barrier's first half).
    Prepare {
        /// Step number, from 0.
        step: u32,
        /// Phase name, e.g. `local`, `scaling/2`, `network/ring`.
        phase: String,
        /// What to do.
        task: Task,
    },
    /// Ready for the step (for a sink: its port).
    Ready {
        /// Step number.
        step: u32,
        /// The sink's port, for [`Task::Sink`].
        port: Option<u16>,
        /// Within a running step: the measured unit (e.g. `#3 w1-r0`) this rank's child is
        /// ready for (the fleet barrier of [`super::sync`]); none for the step itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
    /// Start the step at this instant of the receiving rank's own realtime clock.
    StartAt {
        /// Step number.
        step: u32,
        /// ns since the epoch on the receiver's clock.
        start_ns: i64,
        /// Within a running step: the measured unit that starts (see [`Msg::Ready`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
    /// The step's part of this rank is done.
    PhaseDone {
        /// Step number.
        step: u32,
        /// When it started, on this rank's clock (ns since the epoch).
        start_ns: i64,
        /// When it ended, on this rank's clock.
        end_ns: i64,
        /// Its results, when the task produces some.
        result: Option<Box<results::ResultsFile>>,
        /// Why it failed, when it did.
        error: Option<String>,
        /// TCP segments this host retransmitted during the step, when the kernel reports it
        /// (network steps only).
        #[serde(default)]
        retransmits: Option<u64>,
        /// A following rank's own figures ([`Task::Follow`] only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        follower: Option<results::fleet::ReplicaFollower>,
    },
    /// Still alive.
    Heartbeat,
    /// The run is over; exit 0.
    Finish,
    /// Stop now.
    Abort {
        /// Why.
        reason: String,
    },
}

/// A protocol error.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// The socket failed or closed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A frame above the bound.
    #[error("frame of {len} bytes refused (at most {max})")]
    TooLarge {
        /// Announced length.
        len: u32,
        /// The bound.
        max: u32,
    },
    /// Not a message.
    #[error("malformed message: {0}")]
    Malformed(String),
}

/// Writes one message as a frame.
pub fn write_msg(w: &mut impl Write, m: &Msg) -> Result<(), ProtoError> {
    let body = serde_json::to_vec(m).map_err(|e| ProtoError::Malformed(e.to_string()))?;
    let max = if matches!(m, Msg::PhaseDone { .. }) {
        MAX_RESULTS_FRAME_BYTES
    } else {
        MAX_FRAME_BYTES
    };
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    if len > max {
        return Err(ProtoError::TooLarge { len, max });
    }
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&body);
    w.write_all(&frame)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame of at most `max` bytes (refused before reading its body when larger) and
/// decodes it; only [`Msg::PhaseDone`] may exceed [`MAX_FRAME_BYTES`].
pub fn read_msg(r: &mut impl Read, max: u32) -> Result<Msg, ProtoError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len);
    if len > max {
        return Err(ProtoError::TooLarge { len, max });
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body)?;
    let m: Msg = serde_json::from_slice(&body).map_err(|e| ProtoError::Malformed(e.to_string()))?;
    if len > MAX_FRAME_BYTES && !matches!(m, Msg::PhaseDone { .. }) {
        return Err(ProtoError::TooLarge {
            len,
            max: MAX_FRAME_BYTES,
        });
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let msgs = [
            Msg::Hello {
                token: "t".into(),
                version: "0.1.0".into(),
            },
            Msg::Prepare {
                step: 2,
                phase: "network/ring".into(),
                task: Task::Read {
                    to_rank: 1,
                    sink: "127.0.0.1:9".into(),
                },
            },
            Msg::StartAt {
                step: 0,
                start_ns: 1_764_471_000_000_000_000,
                label: Some("#3 w1-r0".into()),
            },
            Msg::Heartbeat,
        ];
        let mut buf = Vec::new();
        for m in &msgs {
            write_msg(&mut buf, m).unwrap();
        }
        let body0 = serde_json::to_vec(&msgs[0]).unwrap();
        assert_eq!(
            buf[..4],
            (body0.len() as u32).to_be_bytes(),
            "u32 big-endian length"
        );
        let mut r = buf.as_slice();
        for m in &msgs {
            assert_eq!(&read_msg(&mut r, MAX_FRAME_BYTES).unwrap(), m);
        }
    }

    #[test]
    fn a_step_message_carries_no_label_and_parses_without_one() {
        let ready: Msg = serde_json::from_str(r#"{"type":"ready","step":1,"port":null}"#).unwrap();
        assert_eq!(
            ready,
            Msg::Ready {
                step: 1,
                port: None,
                label: None
            }
        );
        let start = Msg::StartAt {
            step: 2,
            start_ns: 5,
            label: None,
        };
        assert!(!serde_json::to_string(&start).unwrap().contains("label"));
    }

    #[test]
    fn oversized_frames_are_refused_before_reading_them() {
        let mut buf = (MAX_FRAME_BYTES + 1).to_be_bytes().to_vec();
        buf.extend_from_slice(b"{}");
        match read_msg(&mut buf.as_slice(), MAX_FRAME_BYTES) {
            Err(ProtoError::TooLarge { len, max }) => {
                assert_eq!((len, max), (MAX_FRAME_BYTES + 1, MAX_FRAME_BYTES))
            }
            other => panic!("{other:?}"),
        }
        // A big frame that is not results is refused even under the results bound.
        let big = Msg::Abort {
            reason: "x".repeat(MAX_FRAME_BYTES as usize),
        };
        assert!(matches!(
            write_msg(&mut Vec::new(), &big),
            Err(ProtoError::TooLarge { .. })
        ));
        let body = serde_json::to_vec(&big).unwrap();
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        assert!(matches!(
            read_msg(&mut frame.as_slice(), MAX_RESULTS_FRAME_BYTES),
            Err(ProtoError::TooLarge { .. })
        ));
        // Garbage is malformed, a short stream an I/O error.
        let mut g = 3u32.to_be_bytes().to_vec();
        g.extend_from_slice(b"abc");
        assert!(matches!(
            read_msg(&mut g.as_slice(), MAX_FRAME_BYTES),
            Err(ProtoError::Malformed(_))
        ));
        assert!(matches!(
            read_msg(&mut &[0u8, 0][..], MAX_FRAME_BYTES),
            Err(ProtoError::Io(_))
        ));
    }
}
