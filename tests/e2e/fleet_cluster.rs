//! `segbench fleet` started by the engines clusters have, on the one-machine namespace cluster
//! (`fleet ssh` to three namespaces, `srun -N 3`) and `mpirun` on loopback. Each prints `SKIP:
//! reason` where that cannot work here (not root, packages missing); otherwise it must pass.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use results::fleet::FleetInfo;
use workloads::skip::{skip, Skip};

use crate::cluster::Cluster;
use crate::fleet::{free_port, TINY};
use crate::util::{wait_within, BIN};

/// A command's exit code and output, its stdout and stderr kept in files (no pipe fills up).
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `cmd` to its end, at most `limit` (killed beyond: `code` is then `None`).
fn run_bounded(mut cmd: Command, dir: &Path, name: &str, limit: Duration) -> Ran {
    let (out, err) = (
        dir.join(format!("{name}.out")),
        dir.join(format!("{name}.err")),
    );
    let t0 = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} starts: {e}"));
    let status = wait_within(&mut child, limit);
    Ran {
        code: status.and_then(|s| s.code()),
        stdout: fs::read_to_string(&out).unwrap_or_default(),
        stderr: fs::read_to_string(&err).unwrap_or_default(),
        took: t0.elapsed(),
    }
}

/// The fleet section of the results in `dir`, checked: `n` ranks, no failure, the network ring,
/// scaling at 1 … n hosts, the local phase on every host. Prints the measured figures.
fn check_cluster_results(dir: &Path, n: u32, launcher: &str, ran: &Ran) -> FleetInfo {
    let file = results::io::read_results(dir.join("results.json")).unwrap_or_else(|e| {
        panic!(
            "no results in {} ({e}):\n{}\n{}",
            dir.display(),
            ran.stdout,
            ran.stderr
        )
    });
    let fleet = file.fleet.expect("a fleet section");
    assert_eq!((fleet.size, fleet.launcher.as_str()), (n, launcher));
    assert!(
        fleet.failure.is_none() && !file.interrupted,
        "{:?}",
        fleet.failure
    );
    let ranks: Vec<u32> = fleet.hosts.iter().map(|h| h.rank).collect();
    assert_eq!(ranks, (0..n).collect::<Vec<_>>());
    let local = fleet
        .phases
        .iter()
        .find(|p| p.name == "local")
        .expect("local");
    assert_eq!(local.workloads[0].hosts, n);
    let mut ring: Vec<(u32, u32)> = fleet
        .network
        .iter()
        .map(|r| (r.from_rank, r.to_rank))
        .collect();
    ring.dedup();
    let want: Vec<(u32, u32)> = (0..n).map(|r| (r, (r + 1) % n)).collect();
    assert_eq!(ring, want, "the network ring");
    assert!(fleet.network.iter().all(|r| r.throughput_bytes_per_s > 0.0));
    let scaling: Vec<u32> = fleet.scaling.iter().map(|s| s.hosts).collect();
    assert_eq!(scaling, (1..=n).collect::<Vec<_>>());
    // The figures, for the record.
    let mb = |b: f64| b / 1e6;
    eprintln!("{launcher}: {n} ranks in {:.1} s", ran.took.as_secs_f64());
    for h in &fleet.hosts {
        eprintln!(
            "  rank {} {} ({}): clock offset {:.3} ms ± {:.3} ms",
            h.rank,
            h.host,
            h.addr,
            h.offset_ns as f64 / 1e6,
            h.uncertainty_ns as f64 / 1e6
        );
    }
    let w = &local.workloads[0];
    eprintln!(
        "  local {}: aggregate {:.0} MB/s, per host {:?} MB/s, straggler {:.2}",
        w.name,
        mb(w.aggregate_bytes_per_s),
        w.host_bytes_per_s
            .iter()
            .map(|b| mb(*b).round())
            .collect::<Vec<_>>(),
        w.straggler_ratio
    );
    for r in &fleet.network {
        eprintln!(
            "  ring {} -> {} {}: {:.0} MB/s",
            r.from_rank,
            r.to_rank,
            r.engine,
            mb(r.throughput_bytes_per_s)
        );
    }
    for s in &fleet.scaling {
        eprintln!(
            "  scaling {} host(s): {:.0} MB/s",
            s.hosts,
            mb(s.aggregate_bytes_per_s)
        );
    }
    fleet
}

/// The remote temp directories `fleet ssh` makes (the namespaces share /tmp).
fn launcher_temp_dirs() -> Vec<PathBuf> {
    fs::read_dir("/tmp")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().contains("/segbench-fleet."))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn fleet_ssh_starts_three_namespaces_and_fetches_one_result() {
    let cluster = match Cluster::up(3, false) {
        Ok(c) => c,
        Err(reason) => {
            return skip(Skip::Prerequisite, &reason);
        }
    };
    let root = tempfile::tempdir().unwrap();
    let suite = root.path().join("tiny.toml");
    fs::write(&suite, TINY).unwrap();
    let before = launcher_temp_dirs();
    let config = cluster.ssh_config();
    let ssh = |binary: &Path, out: &Path, extra: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(["fleet", "ssh", "--ssh-config"])
            .arg(&config)
            .args(["--hosts", "sbn1,sbn2,sbn3", "--remote-binary"])
            .arg(binary)
            .arg("--out")
            .arg(out)
            .args(["--", "run"])
            .arg(&suite)
            .arg("--quick")
            .args(extra)
            .current_dir(root.path());
        c
    };
    let out = root.path().join("results");
    let ran = run_bounded(
        ssh(Path::new(BIN), &out, &["--replicate"]),
        root.path(),
        "ssh",
        Duration::from_secs(120),
    );
    assert_eq!(ran.code, Some(0), "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains("[sbn2] "),
        "stderr relayed per host:\n{}",
        ran.stderr
    );
    let fleet = check_cluster_results(&out, 3, "flags", &ran);
    let names: Vec<&str> = fleet.hosts.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(names, ["sbn1", "sbn2", "sbn3"]);
    assert_eq!(fleet.coordinator, format!("{}:7879", cluster.node_addr(1)));
    // Replication across the namespaces: sbn1 leads on its own address, sbn2 and sbn3 follow.
    let r = fleet.replication.as_ref().expect("a replication section");
    assert!(
        r.leader_addr
            .starts_with(&format!("{}:", cluster.node_addr(1))),
        "{}",
        r.leader_addr
    );
    let file = results::io::read_results(out.join("results.json")).unwrap();
    for f in &r.followers {
        assert!(f.error.is_none() && f.bytes > 0, "{f:?}");
        let n = f.follower.expect("its follower number") as usize;
        let counted: u64 = file
            .workloads
            .iter()
            .filter(|w| w.name.starts_with("replicate/"))
            .flat_map(|w| &w.repetitions)
            .map(|x| x.extra["follower_bytes"][n - 1].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(f.bytes, counted, "rank {}", f.rank);
    }
    for w in file
        .workloads
        .iter()
        .filter(|w| w.name.starts_with("replicate/"))
    {
        let s = w.summary.as_ref().expect("measured");
        eprintln!(
            "  {} rf {}: {:.0} records/s, produce p99 {:.3} ms",
            w.name,
            r.rf,
            s.records_per_s.median,
            s.p99_ns.median / 1e6
        );
    }
    assert_eq!(
        launcher_temp_dirs(),
        before,
        "the hosts' temp directories are removed"
    );

    // A rank that fails: the others are stopped, the launcher names its host and exits 1.
    let failing = root.path().join("fails-on-sbn3.sh");
    fs::write(
        &failing,
        format!("#!/bin/sh\n[ \"$(hostname)\" = sbn3 ] && exit 7\nexec {BIN} \"$@\"\n"),
    )
    .unwrap();
    let mut perms = fs::metadata(&failing).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&failing, perms).unwrap();
    let ran = run_bounded(
        ssh(&failing, &root.path().join("failed"), &[]),
        root.path(),
        "ssh-fail",
        Duration::from_secs(60),
    );
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    let last = ran.stderr.lines().last().unwrap_or("");
    assert!(
        last.contains("rank 2 on sbn3 exited with code 7"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.took < Duration::from_secs(30),
        "{:?}:\n{}",
        ran.took,
        ran.stderr
    );
    assert_eq!(launcher_temp_dirs(), before, "removed after a failure too");
}

#[test]
fn srun_on_the_namespace_slurm_cluster_leaves_one_result_at_rank_0() {
    let cluster = match Cluster::up(3, true) {
        Ok(c) => c,
        Err(reason) => {
            return skip(Skip::Prerequisite, &reason);
        }
    };
    let root = tempfile::tempdir().unwrap();
    let suite = root.path().join("tiny.toml");
    fs::write(&suite, TINY).unwrap();
    let out = root.path().join("results");
    // Each rank in its own working directory (the namespaces share the file system); rank 0
    // writes to `out`. `sbn1` does not resolve: the ranks take its NodeAddr from scontrol.
    let rank = format!(
        "d={}/rank$SLURM_PROCID && mkdir -p $d && cd $d && exec {BIN} fleet run {} --quick --out {}",
        root.path().display(),
        suite.display(),
        out.display()
    );
    let mut c = Command::new("timeout");
    c.args([
        "150",
        "srun",
        "-N",
        "3",
        "--ntasks-per-node=1",
        "sh",
        "-c",
        &rank,
    ])
    .env("SEGBENCH_FLEET_TOKEN", "e2e-srun-token-0123")
    .envs(cluster.slurm_env())
    .current_dir(root.path());
    let ran = run_bounded(c, root.path(), "srun", Duration::from_secs(160));
    assert_eq!(ran.code, Some(0), "{}\n{}", ran.stdout, ran.stderr);
    let fleet = check_cluster_results(&out, 3, "slurm", &ran);
    let mut names: Vec<&str> = fleet.hosts.iter().map(|h| h.host.as_str()).collect();
    names.sort();
    assert_eq!(names, ["sbn1", "sbn2", "sbn3"]);
    assert!(
        fleet.coordinator.starts_with("sbn"),
        "{}",
        fleet.coordinator
    );
    // One results file, at rank 0 only.
    assert_eq!(
        fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name() == "results.json")
            .count(),
        1
    );
}

/// `mpirun` from Open MPI: installed with apt-get when missing and root; `Err` says why not.
fn open_mpi() -> Result<(), String> {
    let have = || {
        Command::new("mpirun")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if have() {
        return Ok(());
    }
    if !nix::unistd::geteuid().is_root() {
        return Err("mpirun missing (apt-get install openmpi-bin needs root)".into());
    }
    eprintln!("installing openmpi-bin (apt-get install -y --no-install-recommends) ...");
    let status = Command::new("timeout")
        .args(["600", "apt-get", "install", "-y", "--no-install-recommends"])
        .args(["-o", "DPkg::Lock::Timeout=120", "openmpi-bin"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() && have() => Ok(()),
        Ok(s) => Err(format!("apt-get install openmpi-bin failed ({s})")),
        Err(e) => Err(format!("apt-get: {e}")),
    }
}

#[test]
fn mpirun_ranks_are_detected_from_open_mpi() {
    if let Err(reason) = open_mpi() {
        return skip(Skip::Prerequisite, &reason);
    }
    let root = tempfile::tempdir().unwrap();
    let suite = root.path().join("tiny.toml");
    fs::write(&suite, TINY).unwrap();
    let out = root.path().join("results");
    let rank = format!(
        "d={}/rank$OMPI_COMM_WORLD_RANK && mkdir -p $d && cd $d && exec {BIN} fleet run {} --quick --no-scaling --network off --coordinator 127.0.0.1:{} --out {}",
        root.path().display(),
        suite.display(),
        free_port(),
        out.display()
    );
    let mut c = Command::new("timeout");
    c.args([
        "90",
        "mpirun",
        "--allow-run-as-root",
        "--oversubscribe",
        "-n",
        "3",
    ])
    .args(["sh", "-c", &rank])
    .env("SEGBENCH_FLEET_TOKEN", "e2e-mpi-token-01234")
    .current_dir(root.path());
    let ran = run_bounded(c, root.path(), "mpirun", Duration::from_secs(100));
    assert_eq!(ran.code, Some(0), "{}\n{}", ran.stdout, ran.stderr);
    let file = results::io::read_results(out.join("results.json"))
        .unwrap_or_else(|e| panic!("no results ({e}):\n{}", ran.stderr));
    let fleet = file.fleet.expect("a fleet section");
    assert_eq!((fleet.size, fleet.launcher.as_str()), (3, "openmpi"));
    assert_eq!(
        fleet.hosts.iter().map(|h| h.rank).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(fleet.failure.is_none());
    eprintln!("mpirun: 3 ranks in {:.1} s", ran.took.as_secs_f64());
}

#[test]
fn fleet_ssh_bad_input_is_one_line_before_connecting() {
    let root = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--", "run"], "no hosts"),
        (&["--hosts", "a,b,a", "--", "run"], "twice"),
        (&["--hosts", "a", "--fanout", "0", "--", "run"], "--fanout"),
        (&["--hosts", "a", "--", "--quick"], "run"),
        (&["--hosts", "a", "--", "run", "--rank", "1"], "--rank"),
    ];
    for (args, needle) in cases {
        let out = Command::new(BIN)
            .args(["fleet", "ssh"])
            .args(args)
            .current_dir(root.path())
            .output()
            .unwrap();
        crate::util::assert_bad_input(&out, needle);
    }
    assert_eq!(
        fs::read_dir(root.path()).unwrap().count(),
        0,
        "nothing written"
    );
}
