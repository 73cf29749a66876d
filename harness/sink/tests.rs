//! Tests of the sink: the session state machine fed in every split, and the server with
//! real clients (garbage, limits, timeouts).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::client::*;
use super::protocol::*;
use super::server::*;
use super::session::*;
use workloads::kafka::batch::{batch_len, encode_batch};
use workloads::payload::PayloadPool;

/// Batches of `counts` records (100-byte values) from offset `base`, concatenated.
fn batches(base: i64, counts: &[u32]) -> (Vec<u8>, Vec<usize>) {
    let mut pool = PayloadPool::new(1 << 16, 3);
    let (mut out, mut starts, mut off) = (Vec::new(), Vec::new(), base);
    for &n in counts {
        starts.push(out.len());
        let mut b = vec![0u8; batch_len(n, 100)];
        encode_batch(&mut b, off, 1_700_000_000_000, n, 100, &mut pool);
        out.extend_from_slice(&b);
        off += i64::from(n);
    }
    (out, starts)
}

fn hello_for(verify: bool) -> Hello {
    Hello {
        verify,
        consumer: "g0-c0".into(),
        partitions: vec![PartitionName {
            id: 7,
            topic: "t".into(),
            partition: 3,
        }],
    }
}

fn frame(pass: u32, position: u64, payload: &[u8]) -> Vec<u8> {
    let mut v = FrameHeader::data(0, 7, pass, position, 100, payload.len() as u32)
        .encode()
        .to_vec();
    v.extend_from_slice(payload);
    v
}

/// Feeds `bytes` to a session in pieces of `step` bytes.
fn feed_in_steps(s: &mut Session, bytes: &[u8], step: usize) -> Result<bool, ProtocolError> {
    let mut ended = false;
    for c in bytes.chunks(step) {
        ended = s.feed(c)?;
    }
    Ok(ended)
}

#[test]
fn headers_round_trip_and_garbage_is_named() {
    let h = FrameHeader::data(3, 70_000, 2, 1 << 40, -5, 123_456);
    assert_eq!(FrameHeader::decode(&h.encode()).unwrap(), h);
    let mut b = h.encode();
    b[0] = b'X';
    assert!(matches!(
        FrameHeader::decode(&b),
        Err(FrameError::BadMagic(_))
    ));
    let mut b = h.encode();
    b[4] = 9;
    assert_eq!(FrameHeader::decode(&b), Err(FrameError::BadVersion(9)));
    let mut b = h.encode();
    b[5] = 0;
    assert_eq!(FrameHeader::decode(&b), Err(FrameError::BadKind(0)));
    assert_eq!(&h.encode()[..4], b"SGBF");
}

#[test]
fn verified_stream_split_anywhere_counts_every_batch_once() {
    let (log, starts) = batches(100, &[1, 5, 30, 2, 9]);
    let mut wire = frame(0, 0, &log[..starts[2]]);
    wire.extend(frame(0, starts[2] as u64, &log[starts[2]..]));
    wire.extend(FrameHeader::control(FrameKind::End, 0).encode());
    for step in [1, 7, 12, 61, 1000, wire.len()] {
        let mut s = Session::new(true, &hello_for(true));
        assert!(feed_in_steps(&mut s, &wire, step).unwrap(), "step {step}");
        let sum = s.finish();
        assert_eq!(sum.verify_errors, 0, "step {step}: {:?}", sum.errors);
        assert_eq!((sum.batches, sum.records, sum.frames), (5, 47, 2));
        assert_eq!(sum.bytes, log.len() as u64);
        let st = &sum.streams[0];
        assert_eq!(
            (st.first_offset, st.next_offset, st.passes),
            (Some(100), Some(147), 1)
        );
    }
}

#[test]
fn a_flipped_byte_is_named_with_its_segment_and_position() {
    let (mut log, starts) = batches(100, &[3, 3, 3]);
    log[starts[1] + 70] ^= 0x40; // inside the second batch's records
    let mut wire = frame(0, 4096, &log);
    wire.extend(FrameHeader::control(FrameKind::End, 0).encode());
    let mut s = Session::new(true, &hello_for(true));
    assert!(feed_in_steps(&mut s, &wire, 1000).unwrap());
    let sum = s.finish();
    assert_eq!(sum.verify_errors, 1, "{:?}", sum.errors);
    let e = &sum.errors[0];
    assert_eq!(e.file, "t-3/00000000000000000100.log");
    assert_eq!(e.position, 4096 + starts[1] as u64);
    assert!(e.reason.contains("CRC"), "{}", e.reason);
}

#[test]
fn gaps_duplicates_and_passes_are_checked_per_partition() {
    let (log, starts) = batches(0, &[2, 2, 2]);
    let b = |k: usize| {
        &log[starts[k]..if k + 1 < starts.len() {
            starts[k + 1]
        } else {
            log.len()
        }]
    };
    let mut wire = frame(0, 0, b(0));
    wire.extend(frame(0, 0, b(2))); // gap: offsets 2..3 missing
    wire.extend(frame(0, 0, b(2))); // duplicate
    wire.extend(frame(1, 0, b(0))); // a new pass from the start: fine
    wire.extend(frame(1, 0, b(1)));
    wire.extend(frame(2, 0, b(1))); // a pass that does not start at the first offset
    wire.extend(FrameHeader::control(FrameKind::End, 0).encode());
    let mut s = Session::new(true, &hello_for(true));
    assert!(s.feed(&wire).unwrap());
    let sum = s.finish();
    let reasons: Vec<&str> = sum.errors.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(sum.verify_errors, 3, "{reasons:?}");
    assert!(
        reasons[0].contains("offsets 2..3 are missing"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("delivered again"), "{reasons:?}");
    assert!(
        reasons[2].contains("pass 2 starts at offset 2"),
        "{reasons:?}"
    );
    assert_eq!(sum.streams[0].passes, 3);
}

#[test]
fn a_bad_batch_length_skips_the_frame_and_the_next_frame_is_checked() {
    let (log, starts) = batches(0, &[2, 2]);
    let mut bad = log[..starts[1]].to_vec();
    bad[8..12].copy_from_slice(&1_000_000i32.to_be_bytes());
    let mut wire = frame(0, 0, &bad);
    wire.extend(frame(0, starts[1] as u64, &log[starts[1]..]));
    wire.extend(FrameHeader::control(FrameKind::End, 0).encode());
    let mut s = Session::new(true, &hello_for(true));
    assert!(s.feed(&wire).unwrap());
    let sum = s.finish();
    assert_eq!(sum.verify_errors, 1, "{:?}", sum.errors);
    assert!(sum.errors[0]
        .reason
        .contains("runs past the end of its frame"));
    assert_eq!(sum.batches, 1);
}

#[test]
fn protocol_errors_end_the_session() {
    let mut s = Session::new(false, &hello_for(false));
    let mut wire = FrameHeader::data(0, 8, 0, 0, 0, 0).encode().to_vec();
    assert!(matches!(s.feed(&wire), Err(ProtocolError::Unexpected(_))));
    let mut s = Session::new(false, &hello_for(false));
    wire = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n0123456789abc".to_vec();
    assert!(matches!(
        s.feed(&wire),
        Err(ProtocolError::Frame(FrameError::BadMagic(_)))
    ));
}

fn start(cfg: SinkConfig) -> Sink {
    Sink::bind("127.0.0.1:0".parse().unwrap(), cfg).unwrap()
}

fn good_session(addr: SocketAddr, verify: bool) -> SessionSummary {
    let (log, _) = batches(0, &[4, 4, 4]);
    let mut s = connect(addr, Duration::from_secs(5)).unwrap();
    let r = hello(&mut s, &hello_for(verify)).unwrap();
    assert_eq!(r.verify, verify);
    s.write_all(&frame(0, 0, &log)).unwrap();
    end(&mut s).unwrap()
}

#[test]
fn the_sink_survives_garbage_and_abrupt_disconnects() {
    let sink = start(SinkConfig {
        idle_timeout: Duration::from_secs(2),
        ..SinkConfig::default()
    });
    let addr = sink.local_addr();
    // Garbage instead of HELLO.
    let mut g = TcpStream::connect(addr).unwrap();
    g.write_all(&[0xAB; 5000]).unwrap();
    let mut rest = Vec::new();
    let _ = g.read_to_end(&mut rest); // closed by the sink
                                      // HELLO, half a frame, then gone.
    let mut a = connect(addr, Duration::from_secs(5)).unwrap();
    hello(&mut a, &hello_for(true)).unwrap();
    a.write_all(&frame(0, 0, &[1u8; 500])[..300]).unwrap();
    drop(a);
    // Connected and silent, then gone.
    drop(TcpStream::connect(addr).unwrap());
    // A good client is still served, verified.
    let sum = good_session(addr, true);
    assert!(sum.ok && sum.verified);
    assert_eq!((sum.batches, sum.records, sum.verify_errors), (3, 12, 0));
    assert!(sum.cpu_user_s + sum.cpu_sys_s >= 0.0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while sink.refused_or_broken().1 < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        sink.refused_or_broken().1,
        2,
        "garbage and the abrupt end are counted"
    );
    assert_eq!(sink.finished_sessions(), 1);
    sink.shutdown();
}

#[test]
fn connections_beyond_the_limit_are_refused_politely() {
    let sink = start(SinkConfig {
        max_connections: 1,
        ..SinkConfig::default()
    });
    let addr = sink.local_addr();
    let mut first = connect(addr, Duration::from_secs(5)).unwrap();
    hello(&mut first, &hello_for(false)).unwrap();
    let mut second = connect(addr, Duration::from_secs(5)).unwrap();
    match hello(&mut second, &hello_for(false)) {
        Err(ClientError::Refused(why)) => assert!(why.contains("at most 1"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let sum = end(&mut first).unwrap();
    assert!(sum.ok && !sum.verified);
    // The slot is free again.
    let deadline = Instant::now() + Duration::from_secs(5);
    while sink.active_connections() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(good_session(addr, false).ok);
}

#[test]
fn an_idle_connection_is_closed_after_the_timeout() {
    let sink = start(SinkConfig {
        idle_timeout: Duration::from_millis(300),
        ..SinkConfig::default()
    });
    let mut s = connect(sink.local_addr(), Duration::from_secs(5)).unwrap();
    hello(&mut s, &hello_for(false)).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(sink.refused_or_broken().1, 1);
}

/// Issue 22, item 9: connections that never say HELLO (or trickle it) hold no session slot
/// and leave within AUTH_DEADLINE; a real reader arriving after 64 + 8 of them is served at
/// once.
#[test]
fn silent_and_trickling_connections_cannot_lock_a_reader_out() {
    let sink = start(SinkConfig::default());
    let addr = sink.local_addr();
    let silent: Vec<TcpStream> = (0..DEFAULT_MAX_CONNECTIONS)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let mut trickling: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for t in &mut trickling {
        t.write_all(b"S").unwrap();
    }
    let t0 = Instant::now();
    let sum = good_session(addr, true);
    assert!(sum.ok && sum.verified);
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "the reader waited {:?}",
        t0.elapsed()
    );
    // Every stranger is closed within the deadline (plus slack), whatever it does.
    let deadline = Instant::now() + crate::auth::AUTH_DEADLINE + Duration::from_secs(3);
    for mut c in silent.into_iter().chain(trickling) {
        let _ = c.set_read_timeout(Some(deadline.saturating_duration_since(Instant::now())));
        let _ = c.write_all(b"x");
        let mut b = [0u8; 64];
        let n = c.read(&mut b);
        assert!(
            matches!(n, Ok(0))
                || n.as_ref()
                    .is_err_and(|e| !crate::sink::protocol::is_timeout(e)),
            "a stranger still held after {:?}: {n:?}",
            t0.elapsed()
        );
    }
    assert_eq!(sink.finished_sessions(), 1);
}
