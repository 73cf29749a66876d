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
/// does). Does nothing in any other process. `main` holds the returned [`ParentWatch`] for the
/// whole command: its drop removes the scratch directory this process is the last user of.
///
/// A watching thread rather than the kernel's parent-death signal: that one fires again each
/// time the child is handed to another thread of the dying rank, and a second SIGTERM means
/// "exit now, skip the cleanup".
pub fn follow_parent() -> ParentWatch {
    let Some(pid) = parent_rank() else {
        return ParentWatch;
    };
    if nix::unistd::getppid().as_raw() != pid {
        eprintln!("segbench: the fleet rank that started this process is gone; exiting");
        remove_scratch_now();
        std::process::exit(1);
    }
    std::thread::spawn(move || {
        while nix::unistd::getppid().as_raw() == pid {
            std::thread::sleep(PARENT_POLL);
        }
        let _ = kill(nix::unistd::getpid(), Signal::SIGTERM);
    });
    ParentWatch
}

/// The pid of the rank that started this process, when it is a rank's child.
fn parent_rank() -> Option<i32> {
    std::env::var(PARENT_ENV).ok()?.parse().ok()
}

/// Held by `main` for the whole command; on drop (the command's end) removes the scratch
/// directory nobody else will remove ([`remove_scratch_now`]).
#[derive(Debug)]
#[must_use = "hold it until the command ends: its drop removes an orphaned scratch directory"]
pub struct ParentWatch;

impl Drop for ParentWatch {
    fn drop(&mut self) {
        remove_scratch_now();
    }
}

/// Removes, at once, the scratch directories whose owner cannot: this process's own (a
/// [`Scratch`] still held when the process ends: a second signal's exit, or rank 0 returning
/// before its worker thread finished) and, in a rank's child whose rank is gone (killed with
/// SIGKILL, so it ran no cleanup), the rank's, named by [`SCRATCH_ENV`]. It removes only a
/// directory named as [`Scratch::create`] names them for that pid.
pub fn remove_scratch_now() {
    let own = LIVE_SCRATCH.lock().ok().and_then(|mut s| s.take());
    if let Some(p) = own {
        let _ = std::fs::remove_dir_all(p);
    }
    let Some(pid) = parent_rank() else {
        return;
    };
    if nix::unistd::getppid().as_raw() == pid {
        return; // the rank is alive and removes its own
    }
    if let Some(p) = std::env::var_os(SCRATCH_ENV).map(PathBuf::from) {
        if is_scratch_of(&p, pid) {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// Environment variable naming a rank's scratch directory to its children: a child that
/// outlives its rank removes it at its end ([`remove_scratch_now`]), being the last to write there.
pub const SCRATCH_ENV: &str = "SEGBENCH_FLEET_SCRATCH";

/// The scratch directory of this process while a [`Scratch`] holds it.
static LIVE_SCRATCH: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

/// The name of rank `rank`'s scratch directory in process `pid`, up to the rank number.
fn scratch_prefix(pid: i64) -> String {
    format!("segbench-fleet-{pid}-rank")
}

/// The pid of the rank whose scratch directory `path` is, when it is named as
/// [`Scratch::create`] names them (`segbench clean` takes one a process-group SIGKILL left).
pub fn scratch_owner(path: &Path) -> Option<i32> {
    let name = path.file_name()?.to_str()?;
    let pid: i32 = name
        .strip_prefix("segbench-fleet-")?
        .split_once("-rank")?
        .0
        .parse()
        .ok()?;
    is_scratch_of(&std::path::absolute(path).ok()?, pid).then_some(pid)
}

/// True when `path` is an absolute `<dir>/segbench-fleet-<pid>-rank<N>`.
fn is_scratch_of(path: &Path, pid: i32) -> bool {
    path.is_absolute()
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(&scratch_prefix(pid.into())))
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
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
        let mut cmd = Command::new(exe);
        if let Some(p) = LIVE_SCRATCH.lock().ok().and_then(|s| s.clone()) {
            cmd.env(SCRATCH_ENV, p);
        }
        let child = cmd
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

/// A scratch directory for one rank's child outputs, removed on drop; a second signal's exit
/// and a child that outlives a killed rank remove it too ([`remove_scratch_now`]). One per
/// process.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates `<tmp>/segbench-fleet-<pid>-rank<rank>` (an absolute path: the children run
    /// elsewhere).
    pub fn create(rank: u32) -> std::io::Result<Scratch> {
        let tmp = std::path::absolute(std::env::temp_dir())?;
        let path = tmp.join(format!(
            "{}{rank}",
            scratch_prefix(std::process::id().into())
        ));
        std::fs::create_dir_all(&path)?;
        if let Ok(mut live) = LIVE_SCRATCH.lock() {
            *live = Some(path.clone());
        }
        Ok(Scratch { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut live) = LIVE_SCRATCH.lock() {
            if live.as_deref() == Some(self.path.as_path()) {
                *live = None;
            }
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_ranks_scratch_name_for_that_pid_is_taken_for_one() {
        let tmp = Path::new("/tmp");
        assert!(is_scratch_of(&tmp.join("segbench-fleet-42-rank2"), 42));
        assert!(is_scratch_of(&tmp.join("segbench-fleet-42-rank10"), 42));
        for other in [
            "segbench-fleet-43-rank2",
            "segbench-fleet-42-rank",
            "segbench-fleet-42-rank2x",
            "segbench-fleet-420-rank2",
            "home",
        ] {
            assert!(!is_scratch_of(&tmp.join(other), 42), "{other}");
        }
        assert!(!is_scratch_of(Path::new("segbench-fleet-42-rank2"), 42));
        assert!(!is_scratch_of(Path::new("/"), 42));
    }

    #[test]
    fn a_scratch_is_removed_on_drop_and_forgotten() {
        let s = Scratch::create(7).unwrap();
        let p = s.path().to_path_buf();
        std::fs::write(p.join("step0.json"), "{}").unwrap();
        assert_eq!(LIVE_SCRATCH.lock().unwrap().as_deref(), Some(p.as_path()));
        drop(s);
        assert!(!p.exists());
        assert!(LIVE_SCRATCH.lock().unwrap().is_none());
    }
}
