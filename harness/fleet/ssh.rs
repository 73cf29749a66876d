//! `segbench fleet ssh`: starts one rank per host over the system's OpenSSH and fetches rank
//! 0's results. Nothing is deployed: `ssh` and `scp` do the work, as pdsh does.
//!
//! - One ControlMaster per host (socket in a private temp directory), so the set-up, the rank's
//!   session, the fetch and the clean-up share one authenticated connection; `BatchMode=yes`, so
//!   nothing ever prompts.
//! - Set-up, copies and clean-up run at most `--fanout` hosts at a time (pdsh `-f`); the ranks
//!   themselves all run at once, since they meet at a rendezvous.
//! - Rank i is the i-th host; the coordinator is the first host as the others reach it (`ssh
//!   -G`'s HostName of it, or `--coordinator`). The run's token travels on the session's stdin
//!   into the rank's environment: never in a file, never on a command line.
//! - The remote shell watches its stdin: when the session closes (a rank failed, Ctrl-C, the
//!   launcher died) it sends the rank SIGHUP, which segbench handles as SIGTERM.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{bad_input, CheckFailed};

use super::exec::{bounded, fan_out, why};
use super::proto::TOKEN_ENV;
use super::rank::with_port;
use crate::auth::new_token;

/// Hosts set up at once unless `--fanout` says otherwise (pdsh's default).
pub const DEFAULT_FANOUT: usize = 32;
/// Bound of one set-up or clean-up command (connect, `uname`, `mktemp`, `rm`).
const COMMAND_LIMIT: Duration = Duration::from_secs(30);
/// Bound of a copy of the binary or of the results.
const COPY_LIMIT: Duration = Duration::from_secs(300);
/// How long the ranks have to stop once their sessions are closed, before they are cut.
const STOP_GRACE: Duration = Duration::from_secs(20);
/// How often the launcher looks at its ranks.
const TICK: Duration = Duration::from_millis(50);

/// A validated `segbench fleet ssh`.
#[derive(Debug, Clone)]
pub struct SshLaunch {
    /// The hosts, rank order, as `ssh` takes them (`[user@]host`).
    pub hosts: Vec<String>,
    /// `ssh -F` / `scp -F`.
    pub ssh_config: Option<PathBuf>,
    /// Hosts set up at once.
    pub fanout: usize,
    /// Copy this binary to each host (architecture checked).
    pub copy_binary: bool,
    /// The segbench to start on each host when not copied.
    pub remote_binary: String,
    /// Rendezvous port.
    pub port: u16,
    /// Rank 0's address as the ranks reach it (default: the first host's `ssh -G` HostName).
    pub coordinator: Option<String>,
    /// Local results directory (default `segbench-results/<run-id>`).
    pub out: Option<PathBuf>,
    /// `fleet run`'s arguments (after `run`).
    pub run_args: Vec<String>,
}

/// Flags the launcher sets itself and the ranks must not be given.
const LAUNCHER_FLAGS: [&str; 5] = ["--rank", "--size", "--coordinator", "--port", "--out"];

/// The hosts of `--hosts` (comma-separated, repeatable) then of `--hosts-file` (one per line,
/// `#` comments), checked: at least one, none twice.
pub fn host_list(lists: &[String], file: Option<&Path>) -> Result<Vec<String>, String> {
    let mut hosts: Vec<String> = lists
        .iter()
        .flat_map(|l| l.split(','))
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
    if let Some(f) = file {
        let text =
            fs::read_to_string(f).map_err(|e| format!("--hosts-file {}: {e}", f.display()))?;
        hosts.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|h| !h.is_empty())
                .map(str::to_string),
        );
    }
    if hosts.is_empty() {
        return Err("no hosts: give --hosts h1,h2,… or --hosts-file FILE".into());
    }
    for (i, h) in hosts.iter().enumerate() {
        if h.starts_with('-') || h.contains(char::is_whitespace) {
            return Err(format!("host '{h}': not a host name"));
        }
        if hosts[..i].contains(h) {
            return Err(format!(
                "host '{h}' is given twice: one rank per host (list each once)"
            ));
        }
    }
    Ok(hosts)
}

/// Checks the `-- run …` part: it starts with `run` and leaves placement and output to the
/// launcher.
pub fn check_run_args(args: &[String]) -> Result<Vec<String>, String> {
    match args.first().map(String::as_str) {
        Some("run") => {}
        _ => {
            return Err(
                "after -- give `run` and its options, e.g. `segbench fleet ssh --hosts a,b -- run --quick`"
                    .into(),
            )
        }
    }
    for a in &args[1..] {
        // Refused here, before any host is set up, rather than when the rank starts.
        quote(a)?;
        let flag = a.split('=').next().unwrap_or("");
        if LAUNCHER_FLAGS.contains(&flag) || flag == "-o" {
            return Err(format!(
                "{flag} after --: the launcher sets it (see its own options before --)"
            ));
        }
    }
    Ok(args[1..].to_vec())
}

/// `s` as one word for a POSIX shell (`shlex::try_quote`); a value holding a NUL byte, which
/// no shell word can carry, is refused with one line naming it.
pub fn quote(s: &str) -> Result<String, String> {
    shlex::try_quote(s).map(|q| q.into_owned()).map_err(|_| {
        format!(
            "'{}' holds a NUL byte, which no shell word can carry",
            s.escape_debug()
        )
    })
}

/// The remote shell of one rank: reads the token from stdin into the environment, starts the
/// rank, and sends it SIGHUP when stdin closes (the session ended early). A word that cannot
/// be quoted ([`quote`]) is refused.
pub fn remote_script(binary: &str, args: &[String]) -> Result<String, String> {
    let words = args
        .iter()
        .map(|a| quote(a))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(format!(
        "exec 3<&0; IFS= read -r {TOKEN_ENV} <&3 || exit 2; export {TOKEN_ENV}; \
         {} fleet run {} </dev/null & p=$!; \
         (cat >/dev/null; kill -s HUP $p) <&3 >/dev/null 2>&1 & \
         wait $p",
        quote(binary)?,
        words.join(" ")
    ))
}

/// Whether a host's `uname -m` is the architecture this binary was built for.
pub fn arch_matches(local: &str, uname: &str) -> bool {
    let norm = |a: &str| match a.trim() {
        "amd64" | "x86_64" => "x86_64".to_string(),
        "arm64" | "aarch64" => "aarch64".to_string(),
        "i386" | "i486" | "i586" | "i686" | "x86" => "x86".to_string(),
        a if a.starts_with("armv") => "arm".to_string(),
        a => a.to_string(),
    };
    norm(local) == norm(uname)
}

/// The HostName `ssh -G` resolves `host` to (what the other hosts most likely reach it by).
fn ssh_hostname(out: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.strip_prefix("hostname "))
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// The OpenSSH side: options shared by every `ssh` and `scp`, the control sockets' directory,
/// and what was made on each host (removed on drop, also when the launch fails).
struct Ssh {
    ctl: PathBuf,
    config: Option<PathBuf>,
    fanout: usize,
    /// (host, its temp directory) of each host set up.
    made: Mutex<Vec<(String, Option<String>)>>,
}

impl Ssh {
    fn new(config: Option<PathBuf>, fanout: usize) -> anyhow::Result<Ssh> {
        use std::os::unix::fs::DirBuilderExt;
        let ctl = std::env::temp_dir().join(format!(
            "segbench-ssh-{}-{}",
            std::process::id(),
            super::clock::realtime_ns() % 1_000_000_000
        ));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&ctl)
            .map_err(|e| bad_input(format!("cannot create {}: {e}", ctl.display())))?;
        Ok(Ssh {
            ctl,
            config,
            fanout,
            made: Mutex::new(Vec::new()),
        })
    }

    /// `ssh` or `scp` with the shared options; `master` lets it start the host's master.
    fn cmd(&self, prog: &str, master: bool) -> Command {
        let mut c = Command::new(prog);
        if let Some(f) = &self.config {
            c.arg("-F").arg(f);
        }
        c.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]);
        c.arg("-o")
            .arg(format!("ControlPath={}/%C", self.ctl.display()));
        if master {
            c.args(["-o", "ControlMaster=auto", "-o", "ControlPersist=300"]);
        } else {
            c.args(["-o", "ControlMaster=no"]);
        }
        c
    }

    /// Runs `script` on `host`; its stdout.
    fn run(&self, host: &str, script: &str, limit: Duration) -> Result<String, String> {
        let mut c = self.cmd("ssh", false);
        c.arg(host).arg(script);
        let out = bounded(c, limit)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(why(&out))
        }
    }

    /// Opens `host`'s master connection; the master outlives this command, so its output goes
    /// to a file rather than a pipe that would stay open.
    fn connect(&self, i: usize, host: &str) -> Result<(), String> {
        let log = self.ctl.join(format!("master-{i}.log"));
        let file = fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let mut child = self
            .cmd("ssh", true)
            .arg(host)
            .arg("true")
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start ssh: {e}"))?;
        let deadline = Instant::now() + COMMAND_LIMIT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(TICK),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("no answer within {} s", COMMAND_LIMIT.as_secs()));
                }
            }
        };
        if status.success() {
            return Ok(());
        }
        let text = fs::read_to_string(&log).unwrap_or_default();
        Err(text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .unwrap_or_else(|| format!("ssh exit {:?}", status.code())))
    }

    /// `scp -r FROM TO`.
    fn scp(&self, from: &str, to: &str) -> Result<(), String> {
        let mut c = self.cmd("scp", false);
        c.args(["-q", "-r", "-p", from, to]);
        let out = bounded(c, COPY_LIMIT)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(why(&out))
        }
    }

    /// Connects to `host`, checks it, makes its temp directory and copies the binary when asked;
    /// the segbench to start there.
    fn prepare(&self, i: usize, host: &str, copy: bool, binary: &str) -> Result<String, String> {
        self.connect(i, host)?;
        if let Ok(mut m) = self.made.lock() {
            m.push((host.to_string(), None));
        }
        let out = self.run(
            host,
            "uname -m && mktemp -d \"${TMPDIR:-/tmp}/segbench-fleet.XXXXXX\"",
            COMMAND_LIMIT,
        )?;
        let mut lines = out.lines().map(str::trim);
        let (arch, dir) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
        if !dir.starts_with('/') {
            return Err(format!("mktemp -d gave '{dir}'"));
        }
        if let Ok(mut m) = self.made.lock() {
            if let Some(e) = m.iter_mut().find(|(h, _)| h == host) {
                e.1 = Some(dir.to_string());
            }
        }
        if !copy {
            return Ok(binary.to_string());
        }
        let local = std::env::consts::ARCH;
        if !arch_matches(local, arch) {
            return Err(format!(
                "architecture {arch}, this binary is {local}: build one for {arch} and give it with --remote-binary"
            ));
        }
        let exe = std::env::current_exe().map_err(|e| format!("this binary: {e}"))?;
        let remote = format!("{dir}/segbench");
        self.scp(&exe.display().to_string(), &format!("{host}:{remote}"))
            .map_err(|e| format!("copying the binary: {e}"))?;
        Ok(remote)
    }

    /// The temp directory made on `host`.
    fn dir_of(&self, host: &str) -> Option<String> {
        let m = self.made.lock().ok()?;
        m.iter()
            .find(|(h, _)| h == host)
            .and_then(|(_, d)| d.clone())
    }
}

impl Drop for Ssh {
    fn drop(&mut self) {
        let made = self.made.lock().map(|m| m.clone()).unwrap_or_default();
        fan_out(&made, self.fanout, |(host, dir)| {
            if let Some(d) = dir {
                let removed =
                    quote(d).and_then(|q| self.run(host, &format!("rm -rf -- {q}"), COMMAND_LIMIT));
                if let Err(e) = removed {
                    eprintln!("segbench fleet ssh: [{host}] could not remove {d}: {e}");
                }
            }
            let mut c = self.cmd("ssh", false);
            c.args(["-O", "exit"]).arg(host);
            let _ = bounded(c, COMMAND_LIMIT);
        });
        let _ = fs::remove_dir_all(&self.ctl);
    }
}

/// One rank's session: the local `ssh`, its stdin (closing it stops the rank), its relays.
struct Session {
    host: String,
    child: Child,
    stdin: Option<ChildStdin>,
    relays: Vec<std::thread::JoinHandle<()>>,
    code: Option<i32>,
}

/// Copies `from` line by line to stdout or stderr, each line prefixed `[host] `.
fn relay(
    from: impl Read + Send + 'static,
    host: &str,
    to_stderr: bool,
) -> std::thread::JoinHandle<()> {
    let prefix = format!("[{host}] ");
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            // One write per line, so the two streams never split a line where they meet.
            let text = format!("{prefix}{}\n", line.trim_end_matches('\r'));
            let _ = if to_stderr {
                std::io::stderr().lock().write_all(text.as_bytes())
            } else {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|_| out.flush())
            };
        }
    })
}

/// Starts `fleet run` of every rank, one session each.
fn start_ranks(
    ssh: &Ssh,
    l: &SshLaunch,
    bins: &[String],
    coordinator: &str,
    token: &str,
) -> anyhow::Result<Vec<Session>> {
    let mut sessions = Vec::new();
    for (rank, host) in l.hosts.iter().enumerate() {
        let mut args: Vec<String> = vec![
            "--rank".into(),
            rank.to_string(),
            "--size".into(),
            l.hosts.len().to_string(),
            "--coordinator".into(),
            coordinator.to_string(),
        ];
        if rank == 0 {
            let dir = ssh.dir_of(host).unwrap_or_default();
            args.extend(["--out".into(), format!("{dir}/results")]);
        }
        args.extend(l.run_args.iter().cloned());
        let mut c = ssh.cmd("ssh", false);
        c.arg(host)
            .arg(remote_script(&bins[rank], &args).map_err(bad_input)?);
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| CheckFailed(format!("cannot start ssh to {host}: {e}")))?;
        let mut stdin = child.stdin.take();
        if let Some(s) = stdin.as_mut() {
            // A failed write shows as the rank's exit (it reads no token).
            let _ = writeln!(s, "{token}").and_then(|_| s.flush());
        }
        let mut relays = Vec::new();
        if let Some(o) = child.stdout.take() {
            relays.push(relay(o, host, false));
        }
        if let Some(e) = child.stderr.take() {
            relays.push(relay(e, host, true));
        }
        sessions.push(Session {
            host: host.clone(),
            child,
            stdin,
            relays,
            code: None,
        });
    }
    Ok(sessions)
}

/// Waits for every rank. The first that fails (or a signal here) closes every session, which
/// stops the others; past [`STOP_GRACE`] the local `ssh` is killed. The first failure, if any.
fn supervise(sessions: &mut [Session], stop: &AtomicBool) -> Option<(usize, String)> {
    let mut failed: Option<(usize, String)> = None;
    let mut closing: Option<Instant> = None;
    loop {
        for (i, s) in sessions.iter_mut().enumerate() {
            if s.code.is_some() {
                continue;
            }
            if let Ok(Some(st)) = s.child.try_wait() {
                let code = st.code().unwrap_or(-1);
                s.code = Some(code);
                if code != 0 && failed.is_none() {
                    let what = match code {
                        255 => "ssh failed (connection lost or refused)".to_string(),
                        c => format!("exited with code {c}"),
                    };
                    failed = Some((i, what));
                }
            }
        }
        if sessions.iter().all(|s| s.code.is_some()) {
            break;
        }
        if closing.is_none() && (failed.is_some() || stop.load(Ordering::Relaxed)) {
            eprintln!("segbench fleet ssh: stopping every rank (closing their sessions)");
            for s in sessions.iter_mut() {
                s.stdin.take();
            }
            closing = Some(Instant::now());
        }
        if closing.is_some_and(|t| t.elapsed() > STOP_GRACE) {
            for s in sessions.iter_mut().filter(|s| s.code.is_none()) {
                eprintln!(
                    "segbench fleet ssh: [{}] did not stop; cutting its session",
                    s.host
                );
                let _ = s.child.kill();
                let _ = s.child.wait();
                s.code = Some(-1);
            }
            break;
        }
        std::thread::sleep(TICK);
    }
    for s in sessions.iter_mut() {
        s.stdin.take();
        for r in s.relays.drain(..) {
            let _ = r.join();
        }
    }
    failed
}

/// Fetches rank 0's results into `out` (default `segbench-results/<run-id>`); the directory.
fn fetch(ssh: &Ssh, host: &str, out: Option<&Path>) -> Result<PathBuf, String> {
    let dir = ssh
        .dir_of(host)
        .ok_or("no temp directory on rank 0's host")?;
    let parent = match out {
        Some(o) => o.parent().map(Path::to_path_buf).unwrap_or_default(),
        None => PathBuf::from("segbench-results"),
    };
    let parent = if parent.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        parent
    };
    fs::create_dir_all(&parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let staging = parent.join(format!(".segbench-fetch-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    ssh.scp(
        &format!("{host}:{dir}/results"),
        &staging.display().to_string(),
    )?;
    let target = match out {
        Some(o) => o.to_path_buf(),
        None => {
            let file = results::io::read_results(staging.join("results.json"))
                .map_err(|e| format!("rank 0's results: {e}"))?;
            parent.join(&file.run.id)
        }
    };
    fs::rename(&staging, &target).map_err(|e| {
        let _ = fs::remove_dir_all(&staging);
        format!("moving the results to {}: {e}", target.display())
    })?;
    Ok(target)
}

/// Runs the launch: set up every host, start the ranks, supervise, fetch, clean up.
pub fn launch(l: SshLaunch, stop: Arc<AtomicBool>) -> anyhow::Result<u8> {
    if let Some(o) = &l.out {
        if fs::read_dir(o)
            .map(|mut d| d.next().is_some())
            .unwrap_or(o.exists())
        {
            return Err(bad_input(format!(
                "--out {}: exists and is not empty; give a new directory",
                o.display()
            )));
        }
        if o.exists() {
            let _ = fs::remove_dir(o);
        }
    }
    let token = new_token().map_err(|e| bad_input(format!("/dev/urandom: {e}")))?;
    let ssh = Ssh::new(l.ssh_config.clone(), l.fanout)?;
    let coordinator = match &l.coordinator {
        Some(c) => with_port(c, l.port),
        None => {
            let mut c = ssh.cmd("ssh", false);
            c.arg("-G").arg(&l.hosts[0]);
            let out = bounded(c, COMMAND_LIMIT).map_err(|e| bad_input(format!("ssh -G: {e}")))?;
            let host = ssh_hostname(&String::from_utf8_lossy(&out.stdout))
                .filter(|_| out.status.success())
                .ok_or_else(|| bad_input(format!("ssh -G {}: {}", l.hosts[0], why(&out))))?;
            with_port(&host, l.port)
        }
    };
    let n = l.hosts.len();
    eprintln!(
        "segbench fleet ssh: {n} host(s), rank 0 on {} (rendezvous {coordinator}), fan-out {}",
        l.hosts[0], l.fanout
    );
    let indexed: Vec<(usize, &String)> = l.hosts.iter().enumerate().collect();
    let prepared = fan_out(&indexed, l.fanout, |(i, h)| {
        ssh.prepare(*i, h, l.copy_binary, &l.remote_binary)
    });
    let mut bins = Vec::new();
    let mut broken = Vec::new();
    for (h, p) in l.hosts.iter().zip(prepared) {
        match p {
            Ok(b) => bins.push(b),
            Err(e) => broken.push(format!("{h}: {e}")),
        }
    }
    if !broken.is_empty() {
        return Err(anyhow::Error::new(CheckFailed(format!(
            "cannot set up {} of {n} host(s), nothing started: {}",
            broken.len(),
            broken.join("; ")
        ))));
    }
    let t0 = Instant::now();
    let mut sessions = start_ranks(&ssh, &l, &bins, &coordinator, &token)?;
    let failed = supervise(&mut sessions, &stop);
    eprintln!(
        "segbench fleet ssh: ranks done after {:.1} s; fetching rank 0's results",
        t0.elapsed().as_secs_f64()
    );
    let fetched = fetch(&ssh, &l.hosts[0], l.out.as_deref());
    drop(ssh);
    let interrupted = stop.load(Ordering::Relaxed);
    match (&failed, fetched) {
        (None, Ok(dir)) => {
            eprintln!(
                "segbench fleet ssh: results in {}/results.json",
                dir.display()
            );
            Ok(0)
        }
        (None, Err(e)) => Err(anyhow::Error::new(CheckFailed(format!(
            "every rank finished but rank 0's results could not be fetched from {}: {e}",
            l.hosts[0]
        )))),
        (Some((i, what)), fetched) => {
            let partial = match fetched {
                Ok(dir) => format!("partial results in {}", dir.display()),
                Err(e) => format!("no results fetched ({e})"),
            };
            if interrupted {
                eprintln!("segbench fleet ssh: interrupted; {partial}");
                return Ok(crate::signals::install().exit_code().unwrap_or(130));
            }
            Err(anyhow::Error::new(CheckFailed(format!(
                "rank {i} on {} {what}; every other rank was stopped; {partial}",
                sessions[*i].host
            ))))
        }
    }
}

#[cfg(test)]
mod tests;
