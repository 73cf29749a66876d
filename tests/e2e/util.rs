//! Helpers: run the binary (to the end, or spawned and waited for), parse its JSON, check
//! its exit code and one-line errors.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use workloads::skip::{skip, Skip};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_segbench");

/// Runs `segbench ARGS` in `cwd`.
pub fn segbench_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("segbench runs")
}

/// Starts a long buffered write (60 s, no warm-up, no probe, quiet) into `cwd/d` and returns
/// once it has started its first repetition (`d/w0-r0` exists): a live run to stop, kill or
/// get in the way of.
pub fn spawn_long_write(cwd: &Path) -> Child {
    let child = spawn_in(
        cwd,
        &[
            "write",
            "--engine",
            "buffered",
            "--duration",
            "60s",
            "--warmup",
            "0",
            "--dir",
            "d",
            "--no-probe",
            "--quiet",
        ],
    );
    wait_for(&cwd.join("d/w0-r0"));
    child
}

/// Starts `segbench ARGS` in `cwd`, stdout and stderr piped.
pub fn spawn_in(cwd: &Path, args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("segbench starts")
}

/// Waits for `child` to exit on its own, at most `limit`; past it, kills and reaps it and
/// gives `None`.
pub fn wait_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Waits until `path` exists (the run has started writing), at most 20 s.
pub fn wait_for(path: &Path) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until a `.log` segment under `dir` holds bytes (the run is appending), at most 20 s:
/// a fixed sleep after the directory appears is not enough on a loaded machine.
pub fn wait_for_log_bytes(dir: &Path) {
    fn has_bytes(dir: &Path) -> bool {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let p = e.path();
                if p.is_dir() {
                    has_bytes(&p)
                } else {
                    p.extension().is_some_and(|x| x == "log")
                        && e.metadata().is_ok_and(|m| m.len() > 0)
                }
            })
    }
    let t0 = Instant::now();
    while !has_bytes(dir) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "nothing appended under {} in 20 s",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until a TCP connection to local port `port` is established in this network namespace
/// (the peer has connected and been accepted), at most 20 s: read from /proc/net/tcp{,6}.
pub fn wait_for_connection_to(port: u16) {
    fn established(port: u16) -> bool {
        ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
            std::fs::read_to_string(f).is_ok_and(|t| {
                t.lines().skip(1).any(|l| {
                    let cols: Vec<&str> = l.split_whitespace().collect();
                    // local_address is "ADDR:PORT" in hex; state 01 is ESTABLISHED.
                    cols.len() > 3
                        && cols[3] == "01"
                        && cols[1]
                            .rsplit(':')
                            .next()
                            .and_then(|p| u16::from_str_radix(p, 16).ok())
                            == Some(port)
                })
            })
        })
    }
    let t0 = Instant::now();
    while !established(port) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no connection to port {port} in 20 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Decodes every partition directory under `dir` with `scripts/check-kafka-format.py` (an
/// independent implementation, kafka-python) and asserts it passes; prints SKIP when no Python
/// here has kafka-python (`apt-get install python3-kafka`; .ci/run installs it as root).
pub fn check_kafka_format(dir: &Path) {
    let python = ["python3", "/usr/bin/python3"].into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import kafka.record.default_records"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        return skip(
            Skip::Prerequisite,
            "kafka-python is not installed: scripts/check-kafka-format.py not run",
        );
    };
    let parts: Vec<std::path::PathBuf> = workloads::kafka::reader::list_partitions(dir)
        .unwrap()
        .into_iter()
        .map(|(_, _, p)| p)
        .collect();
    assert!(!parts.is_empty(), "no partition under {}", dir.display());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-kafka-format.py");
    let out = Command::new(python)
        .arg(script)
        .args(&parts)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "check-kafka-format on {}: {}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts exit code 0, showing stderr otherwise.
pub fn assert_success(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Stdout as results JSON.
pub fn results(out: &Output) -> results::ResultsFile {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "stdout is not results JSON ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Asserts exit code 2 and exactly one line on stderr containing `needle`.
pub fn assert_bad_input(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {err}");
    assert!(lines[0].contains(needle), "'{needle}' not in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A `segbench` child that listens (`sink`, `replicate --role leader`) and its address, read
/// from the first stderr line saying `listening on ADDR`; the other stderr lines are kept.
pub struct Listening {
    /// The process.
    pub child: Child,
    /// Where it listens.
    pub addr: String,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Listening {
    /// Starts `segbench ARGS` (in network namespace `netns` when given), stdout discarded,
    /// and waits (at most 20 s) for its listening line.
    pub fn start(netns: Option<&str>, args: &[&str]) -> Listening {
        Self::start_in(netns, args, None)
    }

    /// [`Listening::start`], in `cwd` with stdout piped when `cwd` is given.
    pub fn start_in(netns: Option<&str>, args: &[&str], cwd: Option<&Path>) -> Listening {
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, BIN]);
                c
            }
            None => Command::new(BIN),
        };
        if let Some(d) = cwd {
            cmd.current_dir(d).stdout(Stdio::piped());
        } else {
            cmd.stdout(Stdio::null());
        }
        let mut child = cmd
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("segbench starts");
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let t0 = Instant::now();
        let addr = loop {
            let left = Duration::from_secs(20).saturating_sub(t0.elapsed());
            let line = rx
                .recv_timeout(left)
                .expect("the process prints where it listens");
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_else(|| panic!("no address in: {line}"))
                    .to_string();
            }
        };
        Listening {
            child,
            addr,
            lines: rx,
        }
    }

    /// Waits for the child to exit on its own (at most `limit`), else kills it.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        wait_within(&mut self.child, limit)
    }

    /// The stderr lines so far (after the listening line).
    pub fn output(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Waits (at most `limit`) for a stderr line containing `needle`.
    pub fn wait_line(&self, needle: &str, limit: Duration) -> String {
        let t0 = Instant::now();
        loop {
            let left = limit.saturating_sub(t0.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(_) => panic!("no line with '{needle}' within {limit:?}"),
            }
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Two network namespaces joined by a veth pair (`scripts/netns-pair.sh`), removed when dropped.
pub struct NetnsPair {
    /// Namespace A (198.18.1.1).
    pub a: String,
    /// Namespace B (198.18.1.2).
    pub b: String,
    script: std::path::PathBuf,
    env: [(String, String); 2],
}

/// Whether this process may make network namespaces (root, ip(8) installed); if not, says why
/// on stderr as a SKIP of `test`.
pub fn can_make_netns(test: &str) -> bool {
    // Root: the effective uid in /proc/self/status.
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        skip(
            Skip::Prerequisite,
            &format!("{test} needs root (network namespaces)"),
        );
        return false;
    }
    if Command::new("ip").arg("-V").output().is_err() {
        skip(
            Skip::Prerequisite,
            &format!("{test} needs ip(8) (iproute2)"),
        );
        return false;
    }
    true
}

impl NetnsPair {
    /// Creates a pair named after this process, or says why not (not root, no ip(8), no
    /// namespaces here) on stderr as a SKIP of `test` and gives `None`.
    pub fn up(test: &str) -> Option<NetnsPair> {
        if !can_make_netns(test) {
            return None;
        }
        // Unique per process and test, so concurrent tests do not share a pair.
        let tag: u32 = test
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()))
            % 1000;
        let id = std::process::id();
        let (a, b) = (format!("sbe{id}-{tag}a"), format!("sbe{id}-{tag}b"));
        let pair = NetnsPair {
            script: Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/netns-pair.sh"),
            env: [("NETNS_A".into(), a.clone()), ("NETNS_B".into(), b.clone())],
            a,
            b,
        };
        let up = pair.run("up");
        if !up.status.success() {
            skip(
                Skip::Platform,
                &format!(
                    "{test}: cannot create network namespaces here: {}",
                    String::from_utf8_lossy(&up.stderr).trim()
                ),
            );
            return None;
        }
        Some(pair)
    }

    fn run(&self, action: &str) -> Output {
        Command::new("sh")
            .arg(&self.script)
            .arg(action)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("sh runs")
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let _ = self.run("down");
    }
}

/// A size-limited tmpfs mounted at `dir` (created), unmounted on drop; `None` (with a SKIP line)
/// when not root or the mount fails.
pub fn small_tmpfs(dir: &Path, size: &str) -> Option<Tmpfs> {
    if !nix::unistd::geteuid().is_root() {
        skip(Skip::Prerequisite, "mounting a small tmpfs needs root");
        return None;
    }
    std::fs::create_dir_all(dir).expect("mount point");
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status();
    if !matches!(ok, Ok(s) if s.success()) {
        skip(Skip::Platform, "cannot mount a tmpfs here");
        return None;
    }
    Some(Tmpfs(dir.to_path_buf()))
}

/// A tmpfs mounted by [`small_tmpfs`]; unmounted when dropped.
pub struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
