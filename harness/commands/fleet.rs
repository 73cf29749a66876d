//! `segbench fleet …`: one run across many hosts (see `crate::fleet`). Subcommands: `run` (one
//! rank of a run started by a launcher), `token` (a fresh run token), `ssh` (a launcher over
//! OpenSSH), `k8s` (a Kubernetes Indexed Job's manifest). The command lines of `fleet run`'s
//! children are built in [`crate::commands::fleet_child`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::auth::new_token;
use crate::bad_input;
use crate::commands::fleet_child::{local_args, read_args, replicate_args, replicate_options};
use crate::commands::run::{load_suite, RunArgs};
use crate::fleet::coordinator::NetworkMode;
use crate::fleet::proto::TOKEN_ENV;
use crate::fleet::rank::{discover, RankFlags, DEFAULT_PORT};
use crate::fleet::worker::{ChildPlan, WorkerConfig};
use crate::fleet::FleetConfig;

/// Help after `segbench fleet run`'s options.
pub const FLEET_RUN_HELP: &str =
    "One process per host, started by your launcher; rank 0 hosts the rendezvous and writes
segbench-results/<run-id>/results.json with the cluster view (per-host breakdown, clock
offsets, local phase aggregate, network ring, scaling on 1, 2, 4 … N hosts) and each host's
own results beside it. Every rank needs the same token in SEGBENCH_FLEET_TOKEN
(`segbench fleet token`); Slurm and MPI pass the environment on.

Rank and size come from, in order: Slurm (SLURM_PROCID, SLURM_NTASKS, node list), Open MPI /
PMIx (OMPI_COMM_WORLD_RANK/SIZE, PMIX_RANK), MPICH (PMI_RANK, PMI_SIZE), a Kubernetes Indexed
Job (JOB_COMPLETION_INDEX with --size), else --rank/--size/--coordinator.

Examples:
  export SEGBENCH_FLEET_TOKEN=$(segbench fleet token)
  srun -N 3 --ntasks-per-node=1 segbench fleet run --quick
  mpirun -n 3 --map-by node -x SEGBENCH_FLEET_TOKEN segbench fleet run --coordinator node1:7879
  ssh h1 \"SEGBENCH_FLEET_TOKEN=$T segbench fleet run --rank 0 --size 3 --coordinator h1:7879\" &
  ssh h2 \"SEGBENCH_FLEET_TOKEN=$T segbench fleet run --rank 1 --size 3 --coordinator h1:7879\" &
  ssh h3 \"SEGBENCH_FLEET_TOKEN=$T segbench fleet run --rank 2 --size 3 --coordinator h1:7879\"
  segbench fleet ssh --hosts h1,h2,h3 -- run   (the three lines above, with a fresh token and the fetch)
  segbench fleet run my-suite.toml --rank 0 --size 2 --coordinator 10.0.0.1 --no-scaling
  srun -N 3 --ntasks-per-node=1 segbench fleet run --quick --replicate   (rank 0 leads, 1 and 2 follow)
  srun -N 3 segbench fleet run --replicate --replicate-args \"--partitions 8 --acks all\"

Exit codes: 0 every phase ran; 1 a rank failed, vanished or never joined (rank 0 still writes
what it gathered, naming the host and the reason); 2 bad input (a token shorter than 16
characters, more than 65536 ranks); 130 / 143 / 129 interrupted by SIGINT / SIGTERM / SIGHUP
(also during the join).";

/// `segbench fleet`.
#[derive(Debug, Args, Clone)]
pub struct FleetArgs {
    /// The fleet command.
    #[command(subcommand)]
    pub command: FleetCommand,
}

/// The fleet subcommands.
#[derive(Debug, Subcommand, Clone)]
pub enum FleetCommand {
    /// Take part in one run across hosts (one process per host, started by srun, mpirun,
    /// ssh or a Kubernetes Indexed Job).
    #[command(after_help = FLEET_RUN_HELP)]
    Run(Box<FleetRunArgs>),
    /// Print a fresh random run token (hex) for SEGBENCH_FLEET_TOKEN.
    Token,
    /// Start one rank per host over OpenSSH and fetch rank 0's results.
    #[command(after_help = FLEET_SSH_HELP)]
    Ssh(Box<FleetSshArgs>),
    /// Print a Kubernetes manifest (headless Service, token Secret, Indexed Job) for one run.
    #[command(after_help = FLEET_K8S_HELP)]
    K8s(Box<FleetK8sArgs>),
}

/// Help after `segbench fleet k8s`'s options.
pub const FLEET_K8S_HELP: &str =
    "Prints YAML on stdout for `kubectl apply -f -`: a headless Service (publishNotReadyAddresses,
so rank 0's name resolves before the pods are ready), a Secret with a fresh token, and an
Indexed Job of N pods, one per node (required pod anti-affinity). Kubernetes sets each pod's
JOB_COMPLETION_INDEX (its rank); rank 0 is NAME-0.NAME. The image's entry point is segbench
(examples/fleet/Dockerfile). Rank 0's summary is in its pod log, its results in /results
(an emptyDir, or --pvc CLAIM to keep them).

Examples:
  segbench fleet k8s --nodes 3 --image registry.example/segbench:latest -- run --quick | kubectl apply -f -
  kubectl logs -f -l job-name=segbench,batch.kubernetes.io/job-completion-index=0
  kubectl delete job,service,secret -l segbench-run=segbench";

/// `segbench fleet k8s`.
#[derive(Debug, Args, Clone)]
pub struct FleetK8sArgs {
    /// Pods, one per node.
    #[arg(long, value_name = "N")]
    pub nodes: u32,
    /// Container image whose entry point is segbench.
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// Namespace of the objects (default: kubectl's current one).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Name of the Job and the Service (the Secret is NAME-token).
    #[arg(long, default_value = "segbench", value_name = "NAME")]
    pub name: String,
    /// PersistentVolumeClaim for rank 0's /results (default an emptyDir).
    #[arg(long, value_name = "CLAIM")]
    pub pvc: Option<String>,
    /// `run` and its options, as `segbench fleet run` takes them.
    #[arg(last = true, value_name = "run ARGS")]
    pub run: Vec<String>,
}

/// Checks `fleet k8s`'s input.
fn k8s_launch(a: &FleetK8sArgs) -> anyhow::Result<crate::fleet::k8s::K8sLaunch> {
    use crate::fleet::k8s::{check_name, K8sLaunch};
    if a.nodes == 0 {
        return Err(bad_input(
            "--nodes 0: give the number of pods (nodes), at least 1",
        ));
    }
    if a.image.trim().is_empty() {
        return Err(bad_input("--image '': give the image with segbench in it"));
    }
    check_name("--name", &a.name).map_err(bad_input)?;
    if let Some(ns) = &a.namespace {
        check_name("--namespace", ns).map_err(bad_input)?;
    }
    let run_args = crate::fleet::ssh::check_run_args(&a.run).map_err(bad_input)?;
    Ok(K8sLaunch {
        nodes: a.nodes,
        image: a.image.trim().to_string(),
        namespace: a.namespace.clone(),
        name: a.name.clone(),
        pvc: a.pvc.clone(),
        run_args,
    })
}

/// Help after `segbench fleet ssh`'s options.
pub const FLEET_SSH_HELP: &str =
    "Rank i runs on the i-th host; rank 0's address is the first host's HostName as `ssh -G`
resolves it (or --coordinator). A fresh token goes to each rank on its session's stdin; nothing
is written to the hosts but a temp directory (rank 0's results, the copied binary), removed at
the end. When a rank fails, the other sessions are closed (the ranks get SIGHUP and stop) and
the launcher exits 1 naming the host. Needs OpenSSH's ssh and scp and key-based login
(BatchMode: nothing prompts).

Examples:
  segbench fleet ssh --hosts node1,node2,node3 -- run --quick
  segbench fleet ssh --hosts-file hosts.txt --copy-binary --out results/ -- run my-suite.toml
  segbench fleet ssh --ssh-config ./ssh_config --hosts sbn1,sbn2 --remote-binary /opt/segbench -- run

Exit codes: 0 every rank finished and the results were fetched; 1 a host could not be set up,
a rank failed, or the results could not be fetched (partial results are still fetched when
rank 0 wrote them); 2 bad input (no hosts, a host twice, a bad --fanout).";

/// `segbench fleet ssh`.
#[derive(Debug, Args, Clone)]
pub struct FleetSshArgs {
    /// Hosts, comma-separated, in rank order (`[user@]host` as ssh takes it).
    #[arg(long, value_name = "H1,H2,…")]
    pub hosts: Vec<String>,
    /// A file of hosts, one a line (# comments), after those of --hosts.
    #[arg(long, value_name = "FILE")]
    pub hosts_file: Option<PathBuf>,
    /// ssh_config for ssh and scp (-F).
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// Hosts set up, copied to and cleaned up at once (pdsh -f); the ranks all run at once.
    #[arg(long, default_value_t = crate::fleet::ssh::DEFAULT_FANOUT, value_name = "N")]
    pub fanout: usize,
    /// Copy this binary to a temp directory on each host (same architecture) and remove it after.
    #[arg(long, conflicts_with = "remote_binary")]
    pub copy_binary: bool,
    /// The segbench to start on each host.
    #[arg(long, default_value = "segbench", value_name = "PATH")]
    pub remote_binary: String,
    /// Rendezvous port on rank 0's host.
    #[arg(long, default_value_t = DEFAULT_PORT, value_name = "PORT")]
    pub port: u16,
    /// Rank 0's address as the other hosts reach it (default: the first host's ssh HostName).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub coordinator: Option<String>,
    /// Local directory for rank 0's results (default segbench-results/<run-id>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// `run` and its options, as `segbench fleet run` takes them.
    #[arg(last = true, value_name = "run ARGS")]
    pub run: Vec<String>,
}

/// Checks `fleet ssh`'s input before connecting anywhere.
fn ssh_launch(a: &FleetSshArgs) -> anyhow::Result<crate::fleet::ssh::SshLaunch> {
    use crate::fleet::ssh::{check_run_args, host_list, SshLaunch};
    let hosts = host_list(&a.hosts, a.hosts_file.as_deref()).map_err(bad_input)?;
    if a.fanout == 0 {
        return Err(bad_input("--fanout 0: give at least 1 (default 32)"));
    }
    let run_args = check_run_args(&a.run).map_err(bad_input)?;
    if a.coordinator
        .as_deref()
        .is_some_and(|c| c.trim().is_empty())
    {
        return Err(bad_input(
            "--coordinator '': give HOST or HOST:PORT of rank 0",
        ));
    }
    Ok(SshLaunch {
        hosts,
        ssh_config: a.ssh_config.clone(),
        fanout: a.fanout,
        copy_binary: a.copy_binary,
        remote_binary: a.remote_binary.clone(),
        port: a.port,
        coordinator: a.coordinator.clone(),
        out: a.out.clone(),
        run_args,
    })
}

/// `segbench fleet run`. `run`'s `--print`, `--json` and `--hdr-log` are refused here (rank 0
/// writes the cluster's files), as are `--quiet` (the children are quiet) and `--fleet-sync`
/// (the rank's), so they are hidden from this command's help.
#[derive(Debug, Args, Clone)]
#[command(
    mut_arg("print", |a| a.hide(true)),
    mut_arg("json", |a| a.hide(true)),
    mut_arg("hdr_log", |a| a.hide(true)),
    mut_arg("quiet", |a| a.hide(true))
)]
pub struct FleetRunArgs {
    /// This rank (with --size and --coordinator, when no launcher sets it).
    #[arg(long, value_name = "R")]
    pub rank: Option<u32>,
    /// Number of ranks.
    #[arg(long, value_name = "N")]
    pub size: Option<u32>,
    /// Rank 0's rendezvous, HOST:PORT or HOST (overrides the Slurm node list and Kubernetes names).
    #[arg(long, value_name = "HOST:PORT")]
    pub coordinator: Option<String>,
    /// Rendezvous port when --coordinator gives none.
    #[arg(long, default_value_t = DEFAULT_PORT, value_name = "PORT")]
    pub port: u16,
    /// How long ranks may take to join before rank 0 gives up.
    #[arg(long, default_value = "60s", value_parser = crate::parse::duration, value_name = "DURATION")]
    pub join_timeout: Duration,
    /// Network phase: ring (rank i to i+1, all at once), matrix (every ordered pair, one at a
    /// time) or off.
    #[arg(long, value_enum, default_value = "ring", value_name = "MODE")]
    pub network: NetworkMode,
    /// Replication phase: rank 0 runs `segbench replicate --role leader` (acks 0, 1, all)
    /// and ranks 1 … rf − 1 follow it from their own hosts, so replication crosses the NICs.
    #[arg(long)]
    pub replicate: bool,
    /// The replication phase's replication factor, the leader included (default min(3, size)).
    #[arg(long, value_name = "R", requires = "replicate")]
    pub replicate_rf: Option<u32>,
    /// More `segbench replicate` options for the replication phase, as one string split as a
    /// shell splits it (quote a value with spaces), e.g.
    /// "--partitions 8 --leader-engine direct --follower-engine direct --acks all --duration 30s"
    /// (rank 0's leader sends them to the followers); --rf is --replicate-rf, and --role,
    /// --listen, --leader, --dir, --keep, --out, --json and --join-timeout are the fleet's.
    #[arg(
        long,
        value_name = "OPTIONS",
        requires = "replicate",
        allow_hyphen_values = true
    )]
    pub replicate_args: Option<String>,
    /// Skip the scaling phase (the suite on 1, 2, 4 … hosts).
    #[arg(long)]
    pub no_scaling: bool,
    /// Kubernetes: the Indexed Job's name (rank 0 is JOB-0.SERVICE).
    #[arg(long, value_name = "NAME")]
    pub k8s_job: Option<String>,
    /// Kubernetes: the headless Service's name.
    #[arg(long, value_name = "NAME")]
    pub k8s_service: Option<String>,
    /// The suite and its options, as `segbench run` takes them.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Runs `segbench fleet …`.
pub fn run(a: FleetArgs) -> anyhow::Result<u8> {
    match a.command {
        FleetCommand::Token => {
            let token = new_token().map_err(|e| bad_input(format!("/dev/urandom: {e}")))?;
            crate::output::println(&token)?;
            Ok(0)
        }
        FleetCommand::Run(r) => {
            let cfg = config(&r)?;
            let signals = crate::signals::install();
            crate::fleet::run(cfg, signals.stop.clone())
        }
        FleetCommand::Ssh(a) => {
            let launch = ssh_launch(&a)?;
            let signals = crate::signals::install();
            crate::fleet::ssh::launch(launch, signals.stop.clone())
        }
        FleetCommand::K8s(a) => {
            let launch = k8s_launch(&a)?;
            let token = new_token().map_err(|e| bad_input(format!("/dev/urandom: {e}")))?;
            crate::output::print(&crate::fleet::k8s::manifest(&launch, &token))?;
            Ok(0)
        }
    }
}

/// The replication factor of `--replicate` on `size` ranks; one line naming the fix when it
/// cannot be.
fn replicate_rf(a: &FleetRunArgs, size: u32) -> anyhow::Result<Option<u32>> {
    if !a.replicate {
        return Ok(None);
    }
    if size < 2 {
        return Err(bad_input(
            "--replicate: needs at least 2 ranks (rank 0 leads, the next ranks follow); add ranks or drop --replicate",
        ));
    }
    let rf = a.replicate_rf.unwrap_or(size.min(3));
    if rf < 2 || rf > size {
        return Err(bad_input(format!(
            "--replicate-rf {rf}: use 2 ..= {size} (the leader and at least one follower, one per rank)"
        )));
    }
    Ok(Some(rf))
}

/// Most ranks `--network matrix` measures (every ordered pair, one after another).
const MAX_MATRIX_RANKS: u32 = 64;

/// Checks everything before any work: placement, token, suite, baseline.
pub fn config(a: &FleetRunArgs) -> anyhow::Result<FleetConfig> {
    const RESULTS: &str = "use it with segbench run, or read rank 0's results file";
    for (given, flag, instead) in [
        (a.run.print, "--print", RESULTS),
        (a.run.json, "--json", RESULTS),
        (a.run.hdr_log.is_some(), "--hdr-log", RESULTS),
        (
            a.run.quiet,
            "--quiet",
            "the ranks' children are always quiet; drop it",
        ),
        (
            a.run.fleet_sync.is_some(),
            "--fleet-sync",
            "fleet run sets it for its children; drop it",
        ),
    ] {
        if given {
            return Err(bad_input(format!(
                "{flag}: not available with fleet run; {instead}"
            )));
        }
    }
    if a.join_timeout.is_zero() {
        return Err(bad_input(
            "--join-timeout 0: give the ranks time to join, e.g. 60s",
        ));
    }
    let env = crate::fleet::rank::utf8_env(std::env::vars_os()).map_err(|e| bad_input(e.0))?;
    let flags = RankFlags {
        rank: a.rank,
        size: a.size,
        coordinator: a.coordinator.clone(),
        port: a.port,
        k8s_job: a.k8s_job.clone(),
        k8s_service: a.k8s_service.clone(),
    };
    let placement = discover(&env, &flags).map_err(|e| bad_input(e.0))?;
    if a.network == NetworkMode::Matrix && placement.size > MAX_MATRIX_RANKS {
        return Err(bad_input(format!(
            "--network matrix on {} ranks: {} pairs one at a time; use --network ring (or matrix on at most {MAX_MATRIX_RANKS} ranks)",
            placement.size,
            u64::from(placement.size) * u64::from(placement.size - 1)
        )));
    }
    let replicate = replicate_rf(a, placement.size)?;
    let options = match replicate {
        Some(rf) => replicate_options(a.replicate_args.as_deref(), a.run.quick, rf)?,
        None => crate::commands::argv::defaults(),
    };
    let (leader, follower) = replicate_args(&a.run, placement.rank, &options);
    let token = env
        .get(TOKEN_ENV)
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    if !token.is_empty() {
        crate::auth::check_token(TOKEN_ENV, &token).map_err(bad_input)?;
    }
    if placement.size > 1 && token.is_empty() {
        return Err(bad_input(format!(
            "{TOKEN_ENV} is not set: a run of {} ranks needs the same token on every rank; \
             export {TOKEN_ENV}=$(segbench fleet token) where the launcher starts",
            placement.size
        )));
    }
    // A run of one rank still talks to itself over loopback: give it a token of its own.
    let token = if token.is_empty() {
        new_token().map_err(|e| bad_input(format!("/dev/urandom: {e}")))?
    } else {
        token
    };
    load_suite(&a.run)?;
    if let (0, Some(out)) = (placement.rank, &a.run.out) {
        // Rank 0 writes the results there: never over a user's file (issue 22, item 1).
        crate::output::prepare_dir("--out", out, &crate::output::RUN_OUTPUTS)?;
    }
    let baseline = a.run.baseline.cluster.clone();
    let cwd = std::env::current_dir()
        .map_err(|e| bad_input(format!("the current directory is not usable: {e}")))?;
    let host = crate::meta::RunMeta::now().host;
    let probe = crate::probe::probe(&crate::probe::ProbeOptions {
        dir: a.run.dirs.first().cloned().unwrap_or_else(|| cwd.clone()),
        micro: false,
    });
    let worker = WorkerConfig {
        rank: placement.rank,
        size: placement.size,
        coordinator: placement.coordinator.clone(),
        token: token.clone(),
        join_timeout: a.join_timeout,
        slurm_node: placement.slurm_node.clone(),
        host,
        fingerprint: Some(probe.fingerprint),
        plan: ChildPlan {
            local: local_args(&a.run),
            read: read_args(&a.run),
            leader,
            follower,
            cwd,
        },
    };
    Ok(FleetConfig {
        placement,
        token,
        join_timeout: a.join_timeout,
        network: a.network,
        replicate,
        scaling: !a.no_scaling,
        out: a.run.out.clone(),
        baseline,
        worker,
    })
}
