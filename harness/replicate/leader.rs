//! The leader's request loop: takes produce requests from the producer's channel, refuses an
//! acks=all produce when the ISR is smaller than `min.insync.replicas` (Kafka's
//! NotEnoughReplicas, nothing appended), otherwise assigns the batch its offsets, appends it
//! through the leader's write engine, books it in the replica state and answers; between
//! requests it shrinks the ISR every half lag time, as Kafka's `isr-expiration` task does.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use workloads::pacing::Clock;
use workloads::EngineError;

use super::isr::Shared;
use super::prewrite::Prewritten;
use super::replica::{Booked, Replica};
use super::{Acks, ReplicaConfig};

/// One produce request.
#[derive(Debug)]
pub struct Produce {
    /// Partition.
    pub partition: u32,
    /// The encoded batch (base offset 0: the leader assigns it).
    pub batch: Vec<u8>,
    /// Records in it.
    pub records: u32,
    /// Largest record timestamp, ms.
    pub max_timestamp_ms: i64,
    /// The producer's acks.
    pub acks: Acks,
    /// Which producer sent it (its answer goes to that producer's channel).
    pub producer: usize,
}

/// The leader's answer to an acks=1 or acks=all produce.
pub type ProduceReply = Result<Appended, NotEnoughReplicas>;

/// A produce the leader appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The offset after the batch.
    pub end: i64,
    /// The leader's clock when the append was done (the clock it reads once per request
    /// anyway): an acks=all produce's acks=1 moment, on the producer's own clock.
    pub at_ns: u64,
}

/// Kafka's `NOT_ENOUGH_REPLICAS`: the ISR was smaller than `min.insync.replicas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotEnoughReplicas {
    /// In-sync replicas then.
    pub isr: u32,
}

/// What the leader appends to.
pub enum LeaderLog {
    /// Its partition logs, through its write engine.
    Appending(Vec<Replica>),
    /// `--leader-engine null`: a log written before the clock started; a produce books its
    /// batch there and nothing is written.
    Prewritten(Prewritten),
}

/// Runs the leader until the producer hangs up; returns the bytes appended and the thread's CPU seconds.
pub fn run_leader(
    shared: &Shared,
    mut log: LeaderLog,
    requests: Receiver<Produce>,
    replies: Vec<Sender<ProduceReply>>,
    cfg: &ReplicaConfig,
    clock: &dyn Clock,
) -> Result<(u64, f64), EngineError> {
    let cpu0 = crate::usage::CpuSnapshot::thread();
    let (min_insync, segment_size) = (cfg.min_insync, cfg.segment_size);
    let check_every = (cfg.lag_time_max / 2).max(Duration::from_millis(1));
    let check_ns = check_every.as_nanos() as u64;
    let mut next_check = clock.now_ns() + check_ns;
    let mut done = Vec::new();
    let mut bytes = 0u64;
    loop {
        let req = match requests.recv_timeout(check_every) {
            Ok(r) => Some(r),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // One clock read per request: the append's moment, also the ISR check's.
        let mut appended_at = None;
        if let Some(mut req) = req {
            let p = req.partition as usize;
            let refused = if req.acks == Acks::All {
                let isr = shared.lock().isr_size(p);
                (isr < min_insync).then_some(NotEnoughReplicas { isr })
            } else {
                None
            };
            let reply = &replies[req.producer];
            if let Some(e) = refused {
                let _ = reply.send(Err(e));
            } else {
                let (at, len) = match &mut log {
                    LeaderLog::Appending(parts) => {
                        let part = &mut parts[p];
                        // Offsets are the leader's to assign: baseOffset (bytes 0..8) is
                        // outside the CRC.
                        req.batch[..8].copy_from_slice(&part.log.next_offset().to_be_bytes());
                        let position = part.append(
                            &req.batch,
                            req.records,
                            req.max_timestamp_ms,
                            segment_size,
                            &mut done,
                        )?;
                        let at = Booked {
                            segment_base: part.log.active_base_offset(),
                            path: part.log.active_log_path(),
                            position,
                        };
                        (at, req.batch.len() as u64)
                    }
                    LeaderLog::Prewritten(pre) => {
                        let len = pre.batch_bytes();
                        (pre.book(p)?, len)
                    }
                };
                bytes += len;
                let end = {
                    let mut st = shared.lock();
                    st.appended(p, at.segment_base, at.path, at.position, len, req.records);
                    st.parts[p].leo
                };
                shared.data.notify_all();
                shared.hw.notify_all();
                let at_ns = clock.now_ns();
                appended_at = Some(at_ns);
                if req.acks != Acks::Zero {
                    let _ = reply.send(Ok(Appended { end, at_ns }));
                }
            }
        }
        let now = appended_at.unwrap_or_else(|| clock.now_ns());
        if now >= next_check {
            next_check = now + check_ns;
            if shared.lock().shrink_isr(now) {
                shared.hw.notify_all();
            }
        }
    }
    if let LeaderLog::Appending(parts) = &mut log {
        for part in parts.iter_mut() {
            part.close(&mut done)?;
        }
    }
    let cpu = crate::usage::CpuSnapshot::thread().since(&cpu0);
    Ok((bytes, cpu.user_s + cpu.sys_s))
}
