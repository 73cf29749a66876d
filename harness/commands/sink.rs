//! `segbench sink`: the receiving end of `segbench read --sink HOST:PORT`, for another host or
//! network namespace. Runs until Ctrl-C (or `--sessions N`), one line per session on stderr.

use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::Args;

use crate::bad_input;
use crate::parse::duration;
use crate::sink::server::{Sink, SinkConfig, DEFAULT_LISTEN};

/// Help after the options.
pub const SINK_HELP: &str = "The sink listens on loopback unless given another address. It drains what readers send,
one thread per connection (at most --max-connections; more are refused politely), closes a
connection idle for --idle-timeout, and answers each session with what it received, the
verification result and its CPU time, which the reader puts in its results.

Examples:
  segbench sink                                         127.0.0.1:7878, until Ctrl-C
  segbench sink --listen 198.18.1.1:7878 --verify       in a network namespace (scripts/netns-pair.sh)
  segbench read --sink 198.18.1.1:7878 --engine sendfile   (from the other namespace or host)";

/// `segbench sink`.
#[derive(Debug, Args, Clone)]
pub struct SinkArgs {
    /// Address to listen on, HOST:PORT (port 0: any free port, printed at start).
    #[arg(long, default_value = DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen: String,
    /// Connections served at once; more are refused with a message.
    #[arg(long, default_value = "64", value_name = "N")]
    pub max_connections: usize,
    /// Close a connection that sends nothing for this long.
    #[arg(long, default_value = "30s", value_parser = duration, value_name = "DURATION")]
    pub idle_timeout: Duration,
    /// Verify every session (CRC-32C of every batch, offsets once and in order), whatever the reader asks.
    #[arg(long)]
    pub verify: bool,
    /// Stop after this many sessions ended (default: run until Ctrl-C).
    #[arg(long, value_name = "N")]
    pub sessions: Option<u64>,
    /// Only the listening line, no line per session.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Runs `segbench sink`.
pub fn run(a: SinkArgs) -> anyhow::Result<u8> {
    if a.sessions == Some(0) {
        return Err(bad_input(
            "--sessions 0: the sink would stop before anyone connects; give at least 1, or leave it out to run until Ctrl-C",
        ));
    }
    if a.max_connections == 0 {
        return Err(bad_input(
            "--max-connections 0: need at least one connection",
        ));
    }
    let addr = crate::parse::socket_addr("--listen", &a.listen).map_err(bad_input)?;
    let cfg = SinkConfig {
        max_connections: a.max_connections,
        idle_timeout: a.idle_timeout,
        verify: a.verify,
        log: !a.quiet,
    };
    let signals = crate::signals::install();
    let sink = Sink::bind(addr, cfg)
        .map_err(|e| bad_input(format!("--listen {addr}: cannot listen there: {e}")))?;
    eprintln!(
        "segbench sink: listening on {} (verify {}, at most {} connections, idle timeout {:?}); Ctrl-C to stop",
        sink.local_addr(),
        if a.verify { "always" } else { "when asked" },
        a.max_connections,
        a.idle_timeout
    );
    loop {
        std::thread::sleep(Duration::from_millis(100));
        if signals.stop.load(Ordering::Relaxed) {
            break;
        }
        if a.sessions.is_some_and(|n| sink.finished_sessions() >= n) {
            // Let the last answers leave before the process exits.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while sink.active_connections() > 0 && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            break;
        }
    }
    let (refused, broken) = sink.refused_or_broken();
    eprintln!(
        "segbench sink: stopped after {} sessions ({refused} refused, {broken} closed early)",
        sink.finished_sessions()
    );
    sink.shutdown();
    // Stopped by a signal: 130 / 143 / 129 like every other command (the README's exit codes).
    Ok(signals.exit_code().unwrap_or(0))
}
