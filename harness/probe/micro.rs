//! Micro-probes (about 0.8 s in all): single-thread memcpy bandwidth, first-touch bandwidth of
//! fresh memory, cost of a clock read, short loopback TCP bandwidth.

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use results::probe::Micro;

/// Size of each memcpy / first-touch buffer: larger than common last-level caches.
const BUF_BYTES: usize = 64 << 20;
/// Minimum time spent copying.
const MEMCPY_TIME: Duration = Duration::from_millis(200);
/// Clock reads timed.
const CLOCK_READS: u32 = 200_000;
/// Duration of the loopback TCP stream.
const TCP_TIME: Duration = Duration::from_millis(300);
/// Size of each loopback write.
const TCP_CHUNK: usize = 256 << 10;

/// Runs all micro-probes; a failing one is `None` with a note.
pub(crate) fn run(notes: &mut Vec<String>) -> Micro {
    let mut m = Micro::default();
    let (touch, copy) = memory();
    m.first_touch_bytes_per_s = Some(touch);
    m.memcpy_bytes_per_s = Some(copy);
    m.clock_read_ns = Some(clock_read_ns());
    match loopback_tcp() {
        Ok(b) => m.loopback_tcp_bytes_per_s = Some(b),
        Err(e) => notes.push(format!("micro: loopback TCP probe failed: {e}")),
    }
    m
}

/// `(first_touch, memcpy)` bandwidths in bytes per second.
fn memory() -> (f64, f64) {
    // vec![x; n] with x != 0 allocates fresh pages and writes every byte: a first touch.
    let t = Instant::now();
    let src = black_box(vec![0xa5u8; BUF_BYTES]);
    let touch = BUF_BYTES as f64 / t.elapsed().as_secs_f64().max(1e-9);
    let mut dst = vec![0x5au8; BUF_BYTES];
    dst.copy_from_slice(&src); // warm-up
    let t = Instant::now();
    let mut copies = 0u64;
    while copies < 3 || t.elapsed() < MEMCPY_TIME {
        dst.copy_from_slice(black_box(&src));
        black_box(&mut dst);
        copies += 1;
    }
    let copy = (copies * BUF_BYTES as u64) as f64 / t.elapsed().as_secs_f64().max(1e-9);
    (touch, copy)
}

/// Mean cost of one `Instant::now()`.
fn clock_read_ns() -> f64 {
    let t = Instant::now();
    let mut last = t;
    for _ in 0..CLOCK_READS {
        last = black_box(Instant::now());
    }
    (last - t).as_nanos() as f64 / CLOCK_READS as f64
}

/// Streams over a loopback TCP connection for [`TCP_TIME`]; bytes received per second.
fn loopback_tcp() -> std::io::Result<f64> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let mut s = TcpStream::connect(listener.local_addr()?)?;
    // Connected before the reader starts (the backlog holds it), so a failure leaves no thread.
    let reader = std::thread::spawn(move || -> std::io::Result<u64> {
        let (mut s, _) = listener.accept()?;
        let mut buf = vec![0u8; TCP_CHUNK];
        let mut total = 0u64;
        loop {
            match s.read(&mut buf)? {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    });
    s.set_nodelay(true)?;
    let buf = vec![0x42u8; TCP_CHUNK];
    let t = Instant::now();
    while t.elapsed() < TCP_TIME {
        s.write_all(&buf)?;
    }
    s.shutdown(std::net::Shutdown::Write)?;
    let received = match reader.join() {
        Ok(r) => r?,
        Err(_) => return Err(std::io::Error::other("loopback reader thread panicked")),
    };
    Ok(received as f64 / t.elapsed().as_secs_f64().max(1e-9))
}
