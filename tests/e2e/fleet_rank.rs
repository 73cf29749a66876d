//! The fleet e2e tests' ranks: a `segbench fleet run` process in its own working directory
//! (stdout and stderr in files there, TMPDIR shared by the test's ranks), and what they leave.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use results::ResultsFile;

/// A free TCP port on loopback.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One rank: its process and its own working directory (stdout / stderr in files there).
pub(crate) struct Rank {
    pub(crate) child: Child,
    pub(crate) dir: PathBuf,
}

impl Rank {
    /// Starts a rank in `root/NAME`, its temporary directory `root/tmp` ([`scratch_left`]).
    pub(crate) fn start(root: &Path, name: &str, token: &str, args: &[String]) -> Rank {
        Rank::start_with(root, name, token, args, &[])
    }

    /// [`Rank::start`] with `env` added to its environment.
    pub(crate) fn start_with(
        root: &Path,
        name: &str,
        token: &str,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Rank {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::create_dir_all(root.join("tmp")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_segbench"))
            .arg("fleet")
            .arg("run")
            .args(args)
            .env("SEGBENCH_FLEET_TOKEN", token)
            .env("TMPDIR", root.join("tmp"))
            .envs(env.iter().copied())
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(fs::File::create(dir.join("stdout")).unwrap())
            .stderr(fs::File::create(dir.join("stderr")).unwrap())
            .spawn()
            .expect("segbench starts");
        Rank { child, dir }
    }

    /// Waits at most `limit` for the exit code (kills and fails the test beyond).
    pub(crate) fn wait(&mut self, limit: Duration) -> i32 {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "{} did not exit within {limit:?}:\n{}",
                    self.dir.display(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn stderr(&self) -> String {
        fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    pub(crate) fn stdout(&self) -> String {
        fs::read_to_string(self.dir.join("stdout")).unwrap_or_default()
    }

    /// Waits at most `limit` until stderr contains `needle`.
    pub(crate) fn wait_for(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.stderr().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "'{needle}' not seen within {limit:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// True once a child's data directory holds a workload's files (its probe is over, its
    /// workload runs): a signal then stops it at once.
    pub(crate) fn measuring(&self) -> bool {
        self.data_dirs().iter().any(|d| {
            fs::read_dir(self.dir.join(d))
                .map(|e| e.filter_map(|e| e.ok()).any(|e| e.path().is_dir()))
                .unwrap_or(false)
        })
    }

    /// Leftover data directories of its children.
    pub(crate) fn data_dirs(&self) -> Vec<String> {
        fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("segbench-data"))
            .collect()
    }
}

impl Drop for Rank {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `SUITE --quick? --rank R --size N --coordinator 127.0.0.1:PORT --out OUT` and `extra`.
pub(crate) fn args(suite: &Path, rank: u32, size: u32, port: u16, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = vec![
        suite.display().to_string(),
        "--rank".into(),
        rank.to_string(),
        "--size".into(),
        size.to_string(),
        "--coordinator".into(),
        format!("127.0.0.1:{port}"),
        "--out".into(),
        "out".into(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// Ranks 0 .. `size` of one fleet run of `suite`, each in `root/r<rank>` with the tests' token.
pub(crate) fn start_ranks(
    root: &Path,
    suite: &Path,
    size: u32,
    port: u16,
    extra: &[&str],
) -> Vec<Rank> {
    (0..size)
        .map(|r| {
            let a = args(suite, r, size, port, extra);
            Rank::start(root, &format!("r{r}"), crate::fleet::TOKEN, &a)
        })
        .collect()
}

pub(crate) fn cluster_file(rank0: &Rank) -> ResultsFile {
    results::io::read_results(rank0.dir.join("out/results.json"))
        .unwrap_or_else(|e| panic!("no results at rank 0 ({e}):\n{}", rank0.stderr()))
}

/// The ranks' scratch directories (`segbench-fleet-*`) left in `root/tmp`, their TMPDIR, once
/// `limit` has passed (a killed rank's child removes its rank's when it ends).
pub(crate) fn scratch_left(root: &Path, limit: Duration) -> Vec<String> {
    let left = || -> Vec<String> {
        fs::read_dir(root.join("tmp"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("segbench-fleet-"))
            .collect()
    };
    eventually(limit, || left().is_empty());
    left()
}

/// Asserts no rank's children left a data directory.
pub(crate) fn assert_no_data_left(ranks: &[&Rank]) {
    for r in ranks {
        assert!(
            r.data_dirs().is_empty(),
            "{:?} left in {}",
            r.data_dirs(),
            r.dir.display()
        );
    }
}

/// Asserts no scratch directory is left in `root/tmp` once `limit` has passed ([`scratch_left`]).
pub(crate) fn assert_no_scratch_left(root: &Path, limit: Duration) {
    let left = scratch_left(root, limit);
    assert!(left.is_empty(), "{left:?}");
}

/// Waits at most `limit` until `cond` holds.
pub(crate) fn eventually(limit: Duration, cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}
