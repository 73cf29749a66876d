//! A rank's phase work runs as a child process of the same binary (`segbench run`, `segbench
//! sink`, `segbench read`, `segbench replicate`): a crashing workload cannot take the
//! coordination connection with it, and the child cleans up its own data directory. The child inherits stderr; stdout (its table)
//! is dropped: the cluster report is rank 0's (a replication follower's stdout, its summary,
//! goes to a file the rank reads). Stopping a child asks it first (SIGTERM, so it
//! removes its data), then kills it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Environment variable carrying the rank's pid to its children, which watch it
/// ([`follow_parent`]), so a killed rank leaves no workload behind.
pub const PARENT_ENV: &str = "SEGBENCH_FLEET_PARENT";

/// How often a child looks whether its rank is still there.
const PARENT_POLL: Duration = Duration::from_millis(100);

/// In a child started by a rank: exit at once when the rank is already gone, else watch it and
/// send this process one SIGTERM when it dies (a clean stop that removes the data, as Ctrl-C
/// does). Does nothing in any other process.
///
/// A watching thread rather than the kernel's parent-death signal: that one fires again each
/// time the child is handed to another thread of the dying rank, and a second SIGTERM means
/// "exit now, skip the cleanup".
pub fn follow_parent() {
    let Some(pid) = std::env::var(PARENT_ENV)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    if nix::unistd::getppid().as_raw() != pid {
        eprintln!("segbench: the fleet rank that started this process is gone; exiting");
        std::process::exit(1);
    }
    std::thread::spawn(move || {
        while nix::unistd::getppid().as_raw() == pid {
            std::thread::sleep(PARENT_POLL);
        }
        let _ = kill(nix::unistd::getpid(), Signal::SIGTERM);
    });
}

/// How long a child has to stop after SIGTERM before it is killed.
const TERM_GRACE: Duration = Duration::from_secs(3);
/// How long a sink has to start accepting connections.
const SINK_START: Duration = Duration::from_secs(10);

/// A running child.
#[derive(Debug)]
pub struct Running {
    child: Child,
    what: String,
}

impl Running {
    /// Starts `segbench ARGS` (this same executable) in `cwd`, its stdout dropped.
    pub fn spawn(args: &[String], cwd: &Path, what: &str) -> std::io::Result<Running> {
        Running::spawn_to(args, cwd, what, Stdio::null())
    }

    /// Starts `segbench ARGS` in `cwd` with its stdout going to `stdout` (a file, for a
    /// child that prints its summary there).
    pub fn spawn_to(
        args: &[String],
        cwd: &Path,
        what: &str,
        stdout: Stdio,
    ) -> std::io::Result<Running> {
        let exe = std::env::current_exe()?;
        let child = Command::new(exe)
            .args(args)
            .current_dir(cwd)
            .env(PARENT_ENV, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()?;
        Ok(Running {
            child,
            what: what.to_string(),
        })
    }

    /// The exit status when it has exited.
    pub fn poll(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// What it is, for messages (`segbench run`).
    pub fn what(&self) -> &str {
        &self.what
    }

    /// Stops it: SIGTERM, then SIGKILL after a grace of a few seconds; waits for it.
    pub fn stop(mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + TERM_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on `ip` (bound, read and released; the sink binds it right after).
pub fn free_port(ip: std::net::IpAddr) -> std::io::Result<u16> {
    Ok(TcpListener::bind(SocketAddr::new(ip, 0))?
        .local_addr()?
        .port())
}

/// Starts `segbench sink` on `addr` and waits until it accepts connections.
pub fn start_sink(addr: SocketAddr, cwd: &Path) -> Result<Running, String> {
    let args: Vec<String> = ["sink", "--listen", &addr.to_string(), "--verify", "-q"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut sink = Running::spawn(&args, cwd, "segbench sink").map_err(|e| e.to_string())?;
    let deadline = Instant::now() + SINK_START;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = sink.poll() {
            return Err(format!("segbench sink --listen {addr} exited ({status})"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(sink);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    sink.stop();
    Err(format!(
        "segbench sink --listen {addr} did not accept connections within {} s",
        SINK_START.as_secs()
    ))
}

/// A scratch directory for one rank's child outputs, removed on drop.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates `<tmp>/segbench-fleet-<pid>-rank<rank>`.
    pub fn create(rank: u32) -> std::io::Result<Scratch> {
        let path =
            std::env::temp_dir().join(format!("segbench-fleet-{}-rank{rank}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Scratch { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
