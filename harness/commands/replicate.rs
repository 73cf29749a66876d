//! `segbench replicate`: Kafka's leader → follower replication with acks 0 / 1 / all, over
//! TCP: all roles in this process over loopback, or leader and followers as separate
//! processes ([`replicate_role`]); see [`crate::replicate`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::bad_input;
use crate::commands::common;
use crate::commands::replicate_role::{self, Role, RoleArgs};
use crate::datadir::DataDir;
use crate::meta::RunMeta;
use crate::parse::{duration, rate, size};
use crate::replicate::ReplicaConfig;
use crate::runner::progress::Progress;
use crate::runner::replicate::{run_modes, ModesRun, Placement};
use crate::suite::replicate::ReplicateSettings;

/// Help after the options.
pub const REPLICATE_HELP: &str =
    "Roles (all threads of this process, followers connected over loopback TCP): one producer
(closed loop, or open loop at --rate), a leader appending through --leader-engine, rf - 1 followers
long-polling it from their log end offset; the leader answers with whole batches of its segment
files sent by --fetch-engine (sendfile: page cache to socket), each follower appends them through
--follower-engine. Results: one workload per acks mode (replicate/acks=0, ...), repetitions
interleaved; replication figures (ISR events, follower lag, NotEnoughReplicas, end-to-end latency,
CPU per role) in each repetition's extra.

Separate processes: `--role leader --listen ADDR` runs the producer and the leader and waits
(--join-timeout) for rf - 1 `--role follower --leader ADDR` processes; the leader sends them every
setting and writes the results. A follower prints a line per repetition on stderr and one JSON
summary on stdout, and exits 0 (1 with its partial figures when the leader went away or sent a
batch that fails its checks). A follower lost mid-run leaves the ISR after
--replica-lag-time-max-ms and the results say so. Followers join with the run's token: the
leader and its followers take it from SEGBENCH_FLEET_TOKEN (set by `fleet run --replicate`), else
SEGBENCH_REPLICATION_TOKEN (at least 16 characters: `segbench fleet token` makes one); a leader
with neither makes one and prints it for its followers.

The pipeline alone: `--leader-engine null --follower-engine null --size N` writes (and syncs) the
leader's N bytes before the clock starts; the producer then names batches without sending bytes
and the leader books them, so what is measured is requests, ISR and high watermark, long-polled
fetches sent from the page cache and the followers' receive. Its rate is \"follower writes\" in the
replication table (bytes over the time until the followers caught up; --no-consumer leaves out
the end-to-end consumer's copy of every byte); compare it with
`segbench read --engine sendfile` (scripts/bench-replication.sh does, interleaved).

Examples:
  segbench replicate --size 1GiB
  segbench replicate --rf 3 --acks 1,all --partitions 4 --duration 10s
  segbench replicate --acks all --min-insync-replicas 2 --replica-lag-time-max-ms 1000
  segbench replicate --rate 50MB/s --duration 10s      (open loop)
  segbench replicate --flush batch --sync fdatasync --acks 1,all
  segbench replicate --fetch-engine splice --follower-engine null
  segbench replicate --leader-engine null --follower-engine null --size 4GiB --no-consumer
  export SEGBENCH_REPLICATION_TOKEN=$(segbench fleet token)
  sudo -E ip netns exec sb-a segbench replicate --role leader --listen 198.18.1.1:7879 --rf 2
  sudo -E ip netns exec sb-b segbench replicate --role follower --leader 198.18.1.1:7879";

/// `segbench replicate`.
#[derive(Debug, Args, Clone)]
pub struct ReplicateArgs {
    /// Replicas per partition, the leader included.
    #[arg(
        long,
        default_value = "3",
        allow_hyphen_values = true,
        value_name = "R"
    )]
    pub rf: i64,
    /// Producer acks to compare, comma-separated: 0, 1, all.
    #[arg(long, default_value = "0,1,all", value_name = "LIST")]
    pub acks: String,
    /// Partitions (one log per replica each; at most 4096).
    #[arg(
        long,
        default_value = "1",
        allow_hyphen_values = true,
        value_name = "N"
    )]
    pub partitions: u32,
    /// Record value size.
    #[arg(long, default_value = "1KiB", value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub record_size: u64,
    /// Producer batch.size.
    #[arg(long, default_value = "16KiB", value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub batch_size: u64,
    /// Roll a segment at this size (every replica).
    #[arg(long, default_value = "1GiB", value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub segment_size: u64,
    /// Bytes produced per repetition (all partitions); default 256MiB when --duration is not given.
    #[arg(long, value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub size: Option<u64>,
    /// Time per repetition.
    #[arg(long, value_parser = duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Open-loop target rate (all partitions), as `write --rate`; produce latency then runs
    /// from each batch's intended start. Default: closed loop.
    #[arg(long, value_parser = rate, allow_hyphen_values = true, value_name = "RATE")]
    pub rate: Option<f64>,
    /// Measured repetitions per acks mode.
    #[arg(
        long,
        default_value = "3",
        allow_hyphen_values = true,
        value_name = "N"
    )]
    pub repeat: u32,
    /// The leader's write engine spec (null: serve a log written before the clock starts; needs --size).
    #[arg(long, default_value = "buffered", value_name = "SPEC")]
    pub leader_engine: String,
    /// Every follower's write engine spec.
    #[arg(long, default_value = "buffered", value_name = "SPEC")]
    pub follower_engine: String,
    /// Producer threads, each closed loop (or open loop at its share of --rate) over its own
    /// partitions (producer i: partitions i, i + N, …), so up to N produces are in flight.
    #[arg(
        long,
        default_value = "1",
        allow_hyphen_values = true,
        value_name = "N"
    )]
    pub producers: u32,
    /// No end-to-end consumer (so no end-to-end latency): the replication pipeline alone,
    /// without a reader copying every byte beside it.
    #[arg(long)]
    pub no_consumer: bool,
    /// The read engine the leader serves fetches with (sendfile, readwrite, splice, mmap, uring).
    #[arg(long, default_value = "sendfile", value_name = "SPEC")]
    pub fetch_engine: String,
    /// replica.fetch.max.bytes, per partition.
    #[arg(long, default_value = "1MiB", value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub replica_fetch_max_bytes: u64,
    /// replica.fetch.min.bytes: the leader holds a fetch until this much is there, or the wait ends.
    #[arg(long, default_value = "1", value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub replica_fetch_min_bytes: u64,
    /// replica.fetch.wait.max.ms (at most 30000).
    #[arg(
        long,
        default_value = "500",
        allow_hyphen_values = true,
        value_name = "MS"
    )]
    pub replica_fetch_wait_max_ms: u64,
    /// replica.lag.time.max.ms.
    #[arg(
        long,
        default_value = "30000",
        allow_hyphen_values = true,
        value_name = "MS"
    )]
    pub replica_lag_time_max_ms: u64,
    /// min.insync.replicas (acks=all produces fail with NotEnoughReplicas below it).
    #[arg(
        long,
        default_value = "1",
        allow_hyphen_values = true,
        value_name = "N"
    )]
    pub min_insync_replicas: u32,
    /// Flush policy of every replica's log, as `write --flush`: never (Kafka default), batch,
    /// bytes=SIZE, ms=N.
    #[arg(long, default_value = "never", value_name = "POLICY")]
    pub flush: String,
    /// Sync call of the flushes, as `write --sync`: fdatasync, fsync, or dsync (O_DSYNC).
    #[arg(long, default_value = "fdatasync", value_name = "CALL")]
    pub sync: String,
    /// Where the roles run (`--role`, `--listen`, `--leader`, `--join-timeout`).
    #[command(flatten)]
    pub roles: RoleArgs,
    /// Data directory: created if missing, or empty; default a fresh one under the current directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Keep every replica's log (default: removed at the end).
    #[arg(long)]
    pub keep: bool,
    /// Where results and progress go.
    #[command(flatten)]
    pub output: common::OutputArgs,
}

impl ReplicateArgs {
    /// The workload's settings (the options that define it, not where it runs nor where its
    /// results go): what a suite's replicate workload builds too.
    pub fn settings(&self) -> ReplicateSettings {
        ReplicateSettings {
            rf: self.rf,
            acks: self.acks.clone(),
            partitions: self.partitions,
            record_size: self.record_size,
            batch_size: self.batch_size,
            segment_size: self.segment_size,
            size: self.size,
            duration: self.duration,
            rate: self.rate,
            repeat: self.repeat,
            leader_engine: self.leader_engine.clone(),
            follower_engine: self.follower_engine.clone(),
            producers: self.producers,
            consumer: !self.no_consumer,
            fetch_engine: self.fetch_engine.clone(),
            fetch_max_bytes: self.replica_fetch_max_bytes,
            fetch_min_bytes: self.replica_fetch_min_bytes,
            fetch_wait_max_ms: self.replica_fetch_wait_max_ms,
            lag_time_max_ms: self.replica_lag_time_max_ms,
            min_insync_replicas: self.min_insync_replicas,
            flush: self.flush.clone(),
            sync: self.sync.clone(),
        }
    }
}

/// One configuration per acks mode; every bad value is a [`crate::BadInput`].
pub fn configs(a: &ReplicateArgs) -> anyhow::Result<Vec<ReplicaConfig>> {
    a.settings().configs().map_err(bad_input)
}

/// Runs `segbench replicate`.
pub fn run(a: ReplicateArgs) -> anyhow::Result<u8> {
    let cfgs = configs(&a)?;
    let addr = replicate_role::check(&a.roles)?;
    let token = replicate_role::run_token(a.roles.role)?;
    if let (Role::Follower, Some(leader), Some(token)) = (a.roles.role, addr, &token) {
        let quiet = a.output.quiet;
        let dir = a.dir.as_deref();
        return replicate_role::run_follower(&a.roles, dir, a.keep, quiet, leader, token);
    }
    common::check_outputs(&a.output)?;
    let meta = RunMeta::now();
    let data = DataDir::acquire(a.dir.as_deref(), &meta.id, a.keep)
        .map_err(|e| bad_input(e.to_string()))?;
    // The leader's log and, unless they run elsewhere, every follower's, all on this host.
    let here = if addr.is_some() {
        1
    } else {
        u64::from(cfgs[0].rf)
    };
    let needed = cfgs[0].size.unwrap_or(0).saturating_mul(here);
    crate::budget::check_space(
        data.path(),
        needed,
        "lower --size or --rf, or use --dir on a larger file system",
    )
    .map_err(bad_input)?;
    let progress = Progress::new(a.output.quiet);
    let signals = crate::signals::install();
    let clock = workloads::pacing::best_clock().0;
    let listen = addr
        .filter(|_| a.roles.role == Role::Leader)
        .zip(token.as_ref());
    let mut place = match Placement::set_up(listen, cfgs[0].rf, a.roles.join_timeout, &signals.stop)
    {
        Ok(p) => p,
        Err(e) => {
            data.finish();
            // A signal while waiting for the followers is an interruption, not a failure.
            if let Some(code) = signals.exit_code() {
                eprintln!("segbench: interrupted while waiting for followers; nothing measured");
                return Ok(code);
            }
            return Err(e);
        }
    };
    let run = ModesRun {
        repeat: a.repeat,
        data: &data,
        prefix: "",
        keep: a.keep,
        clock,
        stop: &signals.stop,
        progress: &progress,
    };
    let (workloads, interrupted) = run_modes(&cfgs, &run, "replicate", &mut place);
    place.finish();
    let kept = data.finish();
    let file = crate::output::results_file(
        &meta,
        None,
        results::Baseline::default(),
        workloads,
        Vec::new(),
        interrupted,
    );
    let table = results::export::detail::with_flushes(&file);
    common::deliver(&file, &table, &a.output)?;
    if let Some(k) = kept {
        progress.line(&format!("data kept in {}", k.display()));
    }
    common::finish(&file, Vec::new(), signals)
}

/// `segbench replicate`'s arguments, for parsing a suite workload's options as the flags of
/// the same names (one parser, one set of checks and defaults for both).
#[derive(Debug, clap::Parser)]
#[command(no_binary_name = true)]
struct SuiteArgs {
    #[command(flatten)]
    a: ReplicateArgs,
}

/// The configurations `segbench replicate ARGV` would run (flags after the command's name),
/// or clap's or the checks' one line.
pub fn check_argv(argv: &[String]) -> Result<Vec<ReplicaConfig>, String> {
    let parsed = <SuiteArgs as clap::Parser>::try_parse_from(argv)
        .map_err(|e| crate::parse::clap_error_line(&e))?;
    configs(&parsed.a).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{ReplicateSettings, SuiteArgs};
    use crate::suite::parse;

    /// The command line with no options gives the settings a suite workload with none does:
    /// one set of defaults.
    #[test]
    fn the_flags_defaults_are_the_settings_defaults() {
        let parsed = <SuiteArgs as clap::Parser>::try_parse_from(["--repeat", "3"]).unwrap();
        assert_eq!(parsed.a.settings(), ReplicateSettings::default());
        let w = crate::suite::ReplicateSpec {
            name: "r".into(),
            ..Default::default()
        };
        assert_eq!(
            crate::suite::replicate::settings(&w, 3).unwrap(),
            ReplicateSettings::default()
        );
    }

    /// The same options given as flags and as a suite workload give the same configurations.
    #[test]
    fn flags_and_suite_options_give_the_same_configs() {
        let argv = [
            "--rf",
            "2",
            "--acks",
            "1,all",
            "--partitions",
            "2",
            "--record-size",
            "512",
            "--batch-size",
            "8KiB",
            "--segment-size",
            "64MiB",
            "--size",
            "16MiB",
            "--rate",
            "10MB/s",
            "--flush",
            "batch",
            "--sync",
            "fsync",
            "--repeat",
            "2",
            "--replica-fetch-max-bytes",
            "512KiB",
            "--replica-lag-time-max-ms",
            "700",
            "--min-insync-replicas",
            "2",
        ];
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let text = "name = \"r\"\n[[workload]]\nkind = \"replicate\"\nname = \"r\"\nrf = 2\nacks = \"1,all\"\npartitions = 2\nrecord_size = \"512\"\nbatch_size = \"8KiB\"\nsegment_size = \"64MiB\"\nsize = \"16MiB\"\nrate = \"10MB/s\"\nflush = \"batch\"\nsync = \"fsync\"\nreplica_fetch_max_bytes = \"512KiB\"\nreplica_lag_time_max_ms = 700\nmin_insync_replicas = 2\n";
        let s = crate::suite::parse(text, std::path::Path::new("r.toml")).unwrap();
        let crate::suite::WorkloadSpec::Replicate(w) = &s.workloads[0] else {
            panic!("{:?}", s.workloads[0]);
        };
        let from_suite = crate::suite::replicate::configs(w, 2).unwrap();
        let from_flags = super::check_argv(&argv).unwrap();
        assert_eq!(format!("{from_suite:?}"), format!("{from_flags:?}"));
    }

    #[test]
    fn modes_a_stop_came_before_are_not_run_rows_not_completed_ones() {
        let text =
            "name = \"r\"\n[[workload]]\nkind = \"replicate\"\nname = \"repl\"\nsize = \"1MiB\"\n";
        let s = parse(text, Path::new("r.toml")).unwrap();
        let crate::suite::WorkloadSpec::Replicate(w) = &s.workloads[0] else {
            panic!("{:?}", s.workloads[0]);
        };
        let cfgs = crate::suite::replicate::configs(w, 1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let stop = std::sync::atomic::AtomicBool::new(true);
        let progress = crate::runner::progress::Progress::new(true);
        let data =
            crate::datadir::DataDir::acquire(Some(&dir.path().join("d")), "test", false).unwrap();
        let run = super::ModesRun {
            repeat: 1,
            data: &data,
            prefix: "",
            keep: false,
            clock: std::sync::Arc::new(workloads::pacing::MonotonicClock::new()),
            stop: &stop,
            progress: &progress,
        };
        let (rows, stopped) =
            super::run_modes(&cfgs, &run, "repl", &mut super::Placement::InProcess);
        assert!(stopped);
        assert_eq!(rows.len(), 3);
        for r in rows {
            assert!(
                matches!(&r.status, results::Status::Skipped { reason } if reason == crate::runner::NOT_RUN),
                "{}: {:?}",
                r.name,
                r.status
            );
        }
    }
}
