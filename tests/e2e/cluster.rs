//! A test cluster on one machine (`scripts/netns-cluster.sh`): N network namespaces on a bridge,
//! each with its own sshd and, on request, a Slurm cluster. The namespace and bridge names are
//! fixed, so a file lock lets only one cluster exist at a time, across threads and test processes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::fcntl::{Flock, FlockArg};
use workloads::skip::{skip, Skip};

/// The script's exit code for "a cluster cannot be made on this machine".
const CANNOT_HERE: i32 = 3;

/// A running cluster of nodes `sbn1..sbnN`; dropping it runs `down`.
pub struct Cluster {
    dir: PathBuf,
    slurm: bool,
    // Held until after `down` has run (fields drop after `Drop::drop`).
    _lock: Flock<File>,
}

impl Cluster {
    /// Brings up `n` nodes (with Slurm when `slurm`), installing the Debian packages if missing.
    ///
    /// `Err` says why a cluster cannot be made here (not root, a package cannot be installed, the
    /// kernel refuses namespaces): the caller prints `SKIP: reason`. Any other failure of the
    /// script is a bug and panics with its output, so that it fails the test instead of skipping.
    pub fn up(n: usize, slurm: bool) -> Result<Cluster, String> {
        if !nix::unistd::geteuid().is_root() {
            return Err("needs root (network namespaces, sshd, slurmd)".into());
        }
        let lock_path = std::env::temp_dir().join("segbench-e2e-cluster.lock");
        let file = File::create(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| format!("cannot lock {}: {e}", lock_path.display()))?;

        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sb-cluster-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let cluster = Cluster {
            dir,
            slurm,
            _lock: lock,
        };
        let mut args = vec!["up".to_string(), n.to_string()];
        if slurm {
            args.push("--slurm".into());
        }
        let out = cluster.script(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => Ok(cluster),
            // The script removed what it made; dropping `cluster` runs an idempotent `down`.
            Some(CANNOT_HERE) => Err(err.lines().last().unwrap_or("").trim().to_string()),
            code => panic!("netns-cluster.sh up {n} failed ({code:?}):\n{err}"),
        }
    }

    /// `ssh -F THIS sbnI CMD` logs in as root with the cluster's key, no prompts.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }

    /// Node `i`'s address (1-based), e.g. `198.18.0.11` for node 1.
    pub fn node_addr(&self, i: usize) -> String {
        format!("198.18.0.{}", 10 + i)
    }

    /// Runs `args` in node `i`'s network namespace, with the node's hostname.
    pub fn exec(&self, i: usize, args: &[&str]) -> Output {
        let mut all = vec!["exec".to_string(), i.to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        self.script(&all)
    }

    /// The environment `srun`, `sinfo` and `scontrol` need (empty without Slurm).
    pub fn slurm_env(&self) -> Vec<(String, String)> {
        if !self.slurm {
            return Vec::new();
        }
        let conf = self.dir.join("slurm.conf");
        vec![("SLURM_CONF".into(), conf.display().to_string())]
    }

    fn script(&self, args: &[String]) -> Output {
        Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/netns-cluster.sh"))
            .args(args)
            .env("SB_CLUSTER_DIR", &self.dir)
            .output()
            .expect("bash runs")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let out = self.script(&["down".to_string()]);
        if !out.status.success() {
            eprintln!(
                "netns-cluster.sh down failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn stdout(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The node's hostname and IPv4 address on eth0, as a shell command prints them.
const WHO: &str =
    "echo $(hostname) $(ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)";

#[test]
fn a_three_node_cluster_answers_over_ssh_and_slurm() {
    let cluster = match Cluster::up(3, true) {
        Ok(c) => c,
        Err(reason) => {
            return skip(Skip::Prerequisite, &reason);
        }
    };
    let config = cluster.ssh_config();
    let config = config.to_str().unwrap();

    // From the host to each node by name.
    for i in 1..=3 {
        let out = Command::new("ssh")
            .args(["-F", config, &format!("sbn{i}"), WHO])
            .output()
            .unwrap();
        let who = stdout(&out, &format!("ssh sbn{i}"));
        assert_eq!(who.trim(), format!("sbn{i} {}", cluster.node_addr(i)));
    }

    // From inside node 1 to node 2 by address.
    let out = cluster.exec(1, &["ssh", "-F", config, &cluster.node_addr(2), WHO]);
    let who = stdout(&out, "ssh from sbn1 to sbn2");
    assert_eq!(who.trim(), format!("sbn2 {}", cluster.node_addr(2)));

    // srun -N 3: ranks 0, 1, 2, each in its own node's namespace.
    let out = Command::new("timeout")
        .args(["30", "srun", "-N", "3", "sh", "-c"])
        .arg(format!("echo $SLURM_PROCID $({WHO})"))
        .envs(cluster.slurm_env())
        .output()
        .unwrap();
    let text = stdout(&out, "srun -N 3");
    let mut ranks: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    ranks.sort();
    assert_eq!(ranks.len(), 3, "{text}");
    let mut nodes: Vec<usize> = Vec::new();
    for (rank, fields) in ranks.iter().enumerate() {
        assert_eq!(fields.len(), 3, "rank, hostname, address: {text}");
        assert_eq!(fields[0], rank.to_string(), "{text}");
        let node: usize = fields[1]
            .strip_prefix("sbn")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("hostname of a node: {text}"));
        assert_eq!(fields[2], cluster.node_addr(node), "{text}");
        nodes.push(node);
    }
    nodes.sort();
    assert_eq!(nodes, [1, 2, 3], "three namespaces: {text}");
}
