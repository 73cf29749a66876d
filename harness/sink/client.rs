//! The sink's client, the reader's side of a session: connect with the reader's socket
//! options, HELLO, END.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::protocol::{is_timeout, FrameHeader, FrameKind, Hello, HelloReply, SessionSummary};

/// How long a reader waits for a sink's answer line.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest answer line a reader accepts.
const MAX_REPLY_BYTES: usize = 16 << 20;

/// What went wrong talking to a sink, from the reader's side.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A socket error or timeout.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The sink refused the session.
    #[error("the sink refused the session: {0}")]
    Refused(String),
    /// The sink answered something that is not a segbench answer.
    #[error("the sink answered something unexpected: {0}")]
    Protocol(String),
}

/// Connects to a sink with a timeout, with the reader's socket options: `TCP_NODELAY`, send
/// and receive timeouts of `timeout` (no send may stall longer), and `TCP_USER_TIMEOUT` of the
/// same (unacknowledged data for that long aborts the connection; io_uring sends honour it).
pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_nodelay(true)?;
    s.set_write_timeout(Some(timeout))?;
    s.set_read_timeout(Some(REPLY_TIMEOUT))?;
    let ms = timeout.as_millis().min(u32::MAX as u128) as u32;
    nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::TcpUserTimeout, &ms)
        .map_err(io::Error::from)?;
    Ok(s)
}

/// Reads one answer line (up to `\n`), bounded in size and by the socket's read timeout.
fn read_line(stream: &mut TcpStream) -> Result<Vec<u8>, ClientError> {
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => {
                return Err(ClientError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the sink closed the connection without answering",
                )))
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => {
                return Err(ClientError::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the sink did not answer within {REPLY_TIMEOUT:?}"),
                )))
            }
            Err(e) => return Err(e.into()),
        };
        line.extend_from_slice(&buf[..n]);
        if let Some(i) = line.iter().position(|&b| b == b'\n') {
            line.truncate(i);
            return Ok(line);
        }
        if line.len() > MAX_REPLY_BYTES {
            return Err(ClientError::Protocol(format!(
                "an answer line longer than {MAX_REPLY_BYTES} bytes"
            )));
        }
    }
}

/// Starts a session: sends HELLO and reads the answer.
pub fn hello(stream: &mut TcpStream, hello: &Hello) -> Result<HelloReply, ClientError> {
    let payload = serde_json::to_vec(hello).map_err(|e| ClientError::Protocol(e.to_string()))?;
    let mut msg = FrameHeader::control(FrameKind::Hello, payload.len() as u32)
        .encode()
        .to_vec();
    msg.extend_from_slice(&payload);
    stream.write_all(&msg)?;
    let line = read_line(stream)?;
    let reply: HelloReply = serde_json::from_slice(&line)
        .map_err(|e| ClientError::Protocol(format!("{e}: {}", String::from_utf8_lossy(&line))))?;
    if !reply.ok {
        return Err(ClientError::Refused(
            reply.error.unwrap_or_else(|| "no reason given".into()),
        ));
    }
    Ok(reply)
}

/// Ends a session: sends END and reads the summary.
pub fn end(stream: &mut TcpStream) -> Result<SessionSummary, ClientError> {
    stream.write_all(&FrameHeader::control(FrameKind::End, 0).encode())?;
    let line = read_line(stream)?;
    serde_json::from_slice(&line)
        .map_err(|e| ClientError::Protocol(format!("{e}: {}", String::from_utf8_lossy(&line))))
}
