//! `segbench replicate`: Kafka's leader → follower replication with acks 0 / 1 / all, over
//! TCP: all roles in this process over loopback, or leader and followers as separate
//! processes ([`replicate_role`]); see [`crate::replicate`].

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use results::{Kind, Medium, Status, WorkloadResult};

use crate::bad_input;
use crate::commands::common;
use crate::commands::replicate_role::{self, Placement, Role};
use crate::datadir::DataDir;
use crate::meta::RunMeta;
use crate::parse::{duration, rate, size};
use crate::replicate::{self, Acks, ReplicaConfig};
use crate::runner::progress::Progress;
use crate::runner::RunError;
use crate::suite::WorkloadSpec;
use workloads::pacing::Clock;

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
summary on stdout, and exits 0 (1 with its partial figures when the leader went away). A follower
lost mid-run leaves the ISR after --replica-lag-time-max-ms and the results say so.

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
  sudo ip netns exec sb-a segbench replicate --role leader --listen 198.18.1.1:7879 --rf 2
  sudo ip netns exec sb-b segbench replicate --role follower --leader 198.18.1.1:7879";

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
    /// Partitions (one log per replica each).
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
    /// replica.fetch.wait.max.ms.
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
    /// Where the roles run: all (this process, loopback TCP), leader (producer and leader;
    /// followers join at --listen), follower (joins --leader; the leader sends the settings).
    #[arg(long, value_enum, default_value = "all")]
    pub role: Role,
    /// --role leader: address to listen on for followers, HOST:PORT (port 0: any, printed).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// --role follower: the leader's --listen address, HOST:PORT.
    #[arg(long, value_name = "ADDR")]
    pub leader: Option<String>,
    /// --role leader: how long to wait for the rf - 1 followers; --role follower: to reach the leader.
    #[arg(long, default_value = "30s", value_parser = duration, value_name = "DURATION")]
    pub join_timeout: Duration,
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

/// Default bytes per repetition when neither --size nor --duration is given.
pub const DEFAULT_SIZE: u64 = 256 << 20;

/// One configuration per acks mode; every bad value is a [`crate::BadInput`].
pub fn configs(a: &ReplicateArgs) -> anyhow::Result<Vec<ReplicaConfig>> {
    if a.rf < 1 || a.rf > 64 {
        return Err(bad_input(format!("--rf {}: use 1..=64", a.rf)));
    }
    if a.repeat == 0 {
        return Err(bad_input("--repeat 0: need at least one repetition"));
    }
    let mut modes = Vec::new();
    for m in a.acks.split(',') {
        let acks: Acks = m
            .parse()
            .map_err(|e: String| bad_input(format!("--acks {e}")))?;
        if modes.contains(&acks) {
            return Err(bad_input(format!("--acks {acks} given twice")));
        }
        modes.push(acks);
    }
    let engine = |flag: &str, s: &str| {
        crate::parse::engine(
            s,
            "write",
            workloads::write::ENGINE_NAMES,
            workloads::write::check_spec,
        )
        .map_err(|e| bad_input(e.replace("--engine", flag)))
    };
    let leader_engine = engine("--leader-engine", &a.leader_engine)?;
    let follower_engine = engine("--follower-engine", &a.follower_engine)?;
    let fetch_engine = crate::parse::engine(
        &a.fetch_engine,
        "read",
        workloads::read::ENGINE_NAMES,
        workloads::read::check_spec,
    )
    .map_err(|e| bad_input(e.replace("--engine", "--fetch-engine")))?;
    let (flush, sync) = crate::parse::flush_sync(&a.flush, &a.sync).map_err(bad_input)?;
    let size = match (a.size, a.duration) {
        (None, None) => Some(DEFAULT_SIZE),
        (s, _) => s,
    };
    let room = crate::budget::Room::here();
    let mut out = Vec::new();
    for acks in modes {
        let c = ReplicaConfig {
            rf: a.rf as u32,
            acks,
            partitions: a.partitions,
            record_size: a.record_size as usize,
            batch_size: a.batch_size as usize,
            segment_size: a.segment_size,
            index_interval: 4096,
            topic: "segbench".into(),
            leader_engine: leader_engine.clone(),
            follower_engine: follower_engine.clone(),
            fetch_engine: fetch_engine.clone(),
            fetch_max_bytes: a.replica_fetch_max_bytes,
            fetch_min_bytes: a.replica_fetch_min_bytes,
            fetch_wait_max: Duration::from_millis(a.replica_fetch_wait_max_ms),
            lag_time_max: Duration::from_millis(a.replica_lag_time_max_ms),
            min_insync: a.min_insync_replicas,
            size,
            duration: a.duration,
            rate: a.rate,
            flush,
            sync,
            consumer: !a.no_consumer,
            producers: a.producers,
        };
        c.check().map_err(bad_input)?;
        // Each role's logs and engines are those of a write workload with one thread.
        for (role, spec) in [
            ("leader", &c.leader_engine),
            ("follower", &c.follower_engine),
        ] {
            let w = crate::runner::write::WriteConfig {
                engine: spec.clone(),
                topic: c.topic.clone(),
                partitions: c.partitions,
                threads: 1,
                record_size: c.record_size,
                batch_size: c.batch_size,
                segment_size: c.segment_size,
                index_interval: c.index_interval,
                preallocate: false,
                retention: None,
                flush,
                sync,
                format: workloads::kafka::log::LogFormat::Kafka,
                size: c.size,
                duration: c.duration,
                rate: c.rate,
            };
            let shape = w.shape().map_err(bad_input)?;
            crate::budget::check(
                &format!("replicate/{role} {spec}"),
                crate::budget::write_needs(&w, &shape),
                room,
            )
            .map_err(bad_input)?;
        }
        out.push(c);
    }
    Ok(out)
}

/// Runs `segbench replicate`.
pub fn run(a: ReplicateArgs) -> anyhow::Result<u8> {
    let cfgs = configs(&a)?;
    let addr = replicate_role::check(&a)?;
    if let (Role::Follower, Some(leader)) = (a.role, addr) {
        return replicate_role::run_follower(&a, leader);
    }
    common::check_outputs(&a.output)?;
    let meta = RunMeta::now();
    let data = DataDir::acquire(a.dir.as_deref(), &meta.id, a.keep)
        .map_err(|e| bad_input(e.to_string()))?;
    let progress = Progress::new(a.output.quiet);
    let signals = crate::signals::install();
    let clock = workloads::pacing::best_clock().0;
    let mut place = match Placement::set_up(a.role, addr, cfgs[0].rf, a.join_timeout, &signals.stop)
    {
        Ok(p) => p,
        Err(e) => {
            data.finish();
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
    let file = common::results_file(
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

/// Where and how a set of acks modes runs.
pub struct ModesRun<'a> {
    /// Measured repetitions per acks mode.
    pub repeat: u32,
    /// The data directory: each repetition's replicas go in a child directory of it,
    /// `<prefix>acks<A>-r<i>`, created for the repetition and swept after it (segbench's files
    /// only) unless `keep`.
    pub data: &'a DataDir,
    /// Starts the repetitions' directory names ("" for `segbench replicate`, "<workload>-"
    /// in a suite).
    pub prefix: &'a str,
    /// Keep every replica's log (else each repetition's is removed after it).
    pub keep: bool,
    /// The run's clock.
    pub clock: Arc<dyn Clock>,
    /// The stop flag (signals).
    pub stop: &'a AtomicBool,
    /// Progress lines.
    pub progress: &'a Progress,
}

/// Runs every acks mode of `cfgs` as `run` says, with the followers where `place` has them,
/// repetitions interleaved (A B C A B C). One result per acks mode, named `<name>/acks=<A>`;
/// true when stopped.
pub fn run_modes(
    cfgs: &[ReplicaConfig],
    run: &ModesRun<'_>,
    name: &str,
    place: &mut Placement,
) -> (Vec<WorkloadResult>, bool) {
    let ModesRun {
        repeat,
        data,
        prefix,
        keep,
        ref clock,
        stop,
        progress,
    } = *run;
    let mut reps = vec![Vec::new(); cfgs.len()];
    let mut status = vec![Status::Completed; cfgs.len()];
    let mut warnings: Vec<Vec<String>> = vec![Vec::new(); cfgs.len()];
    let mut interrupted = false;
    'reps: for rep in 0..repeat {
        for (w, c) in cfgs.iter().enumerate() {
            if status[w] != Status::Completed {
                continue;
            }
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                interrupted = true;
                break 'reps;
            }
            let label = format!("{name} acks={} rep {}/{}", c.acks, rep + 1, repeat);
            let rep_name = format!("{prefix}acks{}-r{rep}", c.acks);
            let dir = match data.create_child(&rep_name) {
                Ok(d) => d,
                Err(e) => {
                    let error = format!("{}: {e}", data.path().join(&rep_name).display());
                    progress.line(&format!("{label}: {error}"));
                    status[w] = Status::Failed { error };
                    continue;
                }
            };
            match place.run(c, &dir, &rep_name, clock.clone(), stop) {
                Ok(mut o) => {
                    o.repetition.index = rep;
                    progress.done(&label, &o.repetition);
                    if !o.behind.is_empty() {
                        warnings[w].push(format!(
                            "rep {rep}: followers {:?} had not reached the leader's log end {}s after the producer stopped",
                            o.behind,
                            replicate::repetition::DRAIN_TIMEOUT.as_secs()
                        ));
                    }
                    for (f, why) in &o.lost {
                        warnings[w].push(format!("rep {rep}: follower {f} was lost: {why}"));
                    }
                    if o.interrupted {
                        interrupted = true;
                        status[w] = Status::Interrupted;
                    }
                    reps[w].push(o.repetition);
                }
                Err(e) => {
                    progress.line(&format!("{label}: {e}"));
                    status[w] = match e {
                        RunError::Unsupported(reason) => Status::Skipped { reason },
                        RunError::Engine(err) => Status::Failed {
                            error: err.to_string(),
                        },
                    };
                }
            }
            if !keep {
                data.remove_child(&rep_name);
            }
        }
    }
    // A mode the stop came before never ran: not a completed row without figures.
    for (st, r) in status.iter_mut().zip(&reps) {
        if interrupted && r.is_empty() && *st == Status::Completed {
            *st = Status::Skipped {
                reason: crate::runner::NOT_RUN.into(),
            };
        }
    }
    for (w, c) in cfgs.iter().enumerate().filter(|(_, c)| c.prewritten()) {
        warnings[w].push(format!(
            "--leader-engine null: the leader served a log written and synced before the clock started, and the producer named batches without sending bytes; MB/s is the rate produces were acknowledged{} — the replication pipeline's rate is \"follower writes\" (each follower's bytes over the time until the followers caught up)",
            if c.acks == replicate::Acks::Zero { " (acks=0: on sending, not bounded by the followers)" } else { "" }
        ));
    }
    let placement = place.describe();
    let medium = if cfgs.iter().any(|c| c.leader_engine.name == "direct") {
        Medium::Device
    } else {
        Medium::PageCache
    };
    let workloads = cfgs
        .iter()
        .enumerate()
        .map(|(w, c)| {
            WorkloadResult::new(
                format!("{name}/acks={}", c.acks),
                Kind::Write,
                format!("{} -> {}", c.leader_engine, c.follower_engine),
                {
                    let mut m = c.config_map();
                    m.insert("placement".into(), placement.clone().into());
                    m
                },
                status[w].clone(),
                medium,
            )
            .with_repetitions(
                std::mem::take(&mut reps[w]),
                std::mem::take(&mut warnings[w]),
            )
        })
        .collect();
    (workloads, interrupted)
}

/// `segbench replicate`'s arguments, for parsing a suite workload's options as the flags of
/// the same names (one parser, one set of checks and defaults for both).
#[derive(Debug, clap::Parser)]
#[command(no_binary_name = true)]
struct SuiteArgs {
    #[command(flatten)]
    a: ReplicateArgs,
}

/// The configurations of a suite workload of kind `replicate` (one per acks mode), its options
/// checked as `segbench replicate` checks its flags; options that do not apply are refused.
pub fn suite_configs(w: &WorkloadSpec, repeat: u32) -> Result<Vec<ReplicaConfig>, String> {
    let not_here = [
        ("engines", !w.engines.is_empty()),
        ("threads", w.threads.is_some()),
        ("index_interval", w.index_interval.is_some()),
        ("preallocate", w.preallocate.is_some()),
        ("retention", w.retention.is_some()),
        ("format", w.format.is_some()),
        ("consumers", w.consumers.is_some()),
        ("groups", w.groups.is_some()),
        ("fetch_size", w.fetch_size.is_some()),
        ("cache", w.cache.is_some()),
        ("verify", w.verify.is_some()),
        ("sweep", w.sweep.is_some()),
        ("until_steady", w.until_steady.is_some()),
    ];
    if let Some((k, _)) = not_here.iter().find(|x| x.1) {
        return Err(format!(
            "{k} does not apply to replicate workloads (leader_engine and follower_engine name the engines)"
        ));
    }
    let mut argv: Vec<String> = vec!["--repeat".into(), repeat.to_string()];
    let mut opt = |flag: &str, v: Option<String>| {
        if let Some(v) = v {
            argv.push(format!("--{flag}"));
            argv.push(v);
        }
    };
    let n = |x: Option<u32>| x.map(|v| v.to_string());
    let ms = |x: Option<u64>| x.map(|v| v.to_string());
    opt("rf", n(w.rf));
    opt("acks", w.acks.clone());
    opt("partitions", n(w.partitions));
    opt("record-size", w.record_size.clone());
    opt("batch-size", w.batch_size.clone());
    opt("segment-size", w.segment_size.clone());
    opt("size", w.size.clone());
    opt("duration", w.duration.clone());
    opt("rate", w.rate.clone());
    opt("flush", w.flush.clone());
    opt("sync", w.sync.clone());
    opt("leader-engine", w.leader_engine.clone());
    opt("follower-engine", w.follower_engine.clone());
    opt("min-insync-replicas", n(w.min_insync_replicas));
    opt("replica-fetch-max-bytes", w.replica_fetch_max_bytes.clone());
    opt("replica-fetch-wait-max-ms", ms(w.replica_fetch_wait_max_ms));
    opt("replica-lag-time-max-ms", ms(w.replica_lag_time_max_ms));
    check_argv(&argv).map_err(|e| e.replace("--", ""))
}

/// The configurations `segbench replicate ARGV` would run (flags after the command's name),
/// or clap's or the checks' one line.
pub fn check_argv(argv: &[String]) -> Result<Vec<ReplicaConfig>, String> {
    let parsed = <SuiteArgs as clap::Parser>::try_parse_from(argv).map_err(|e| {
        let text = e.render().to_string();
        let line = text.lines().next().unwrap_or("invalid options").to_string();
        line.trim_start_matches("error: ").to_string()
    })?;
    configs(&parsed.a).map_err(|e| e.to_string())
}

/// Runs a suite workload of kind `replicate` (`segbench run`): its acks modes as `run` says,
/// in `<run.dir>/<workload>`; results named `<workload>/acks=<A>`. Returns them and whether
/// the run was stopped.
pub fn run_suite_workload(
    w: &WorkloadSpec,
    run: &ModesRun<'_>,
) -> anyhow::Result<(Vec<WorkloadResult>, bool)> {
    let cfgs = suite_configs(w, run.repeat)
        .map_err(|m| bad_input(format!("workload '{}': {m}", w.name)))?;
    let prefix = format!("{}-", w.name);
    let here = ModesRun {
        prefix: &prefix,
        clock: run.clock.clone(),
        ..*run
    };
    let (mut rows, stopped) = run_modes(&cfgs, &here, &w.name, &mut Placement::InProcess);
    for r in &mut rows {
        r.config
            .insert("suite_workload".into(), serde_json::json!(w.name));
    }
    Ok((rows, stopped))
}

/// The rows of a suite workload of kind `replicate` that a stopped run never started (none
/// of `done` by name): one per acks mode, skipped as "not run".
pub fn not_run_rows(w: &WorkloadSpec, done: &[WorkloadResult]) -> Vec<WorkloadResult> {
    w.acks
        .as_deref()
        .unwrap_or("0,1,all")
        .split(',')
        .filter(|acks| {
            let name = format!("{}/acks={}", w.name, acks.trim());
            !done.iter().any(|d| d.name == name)
        })
        .map(|acks| {
            let mut config = std::collections::BTreeMap::new();
            config.insert("suite_workload".into(), serde_json::json!(w.name));
            config.insert("rf".into(), serde_json::json!(w.rf.unwrap_or(3)));
            config.insert("acks".into(), serde_json::json!(acks.trim()));
            WorkloadResult::new(
                format!("{}/acks={}", w.name, acks.trim()),
                Kind::Write,
                "replicate".to_string(),
                config,
                Status::Skipped {
                    reason: crate::runner::NOT_RUN.into(),
                },
                Medium::PageCache,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::suite_configs;
    use crate::suite::parse;

    #[test]
    fn replicate_workloads_take_the_replicate_options_and_nothing_else() {
        let repl = |lines: &str| {
            format!("name = \"r\"\n[[workload]]\nkind = \"replicate\"\nname = \"repl\"\nduration = \"1s\"\n{lines}\n")
        };
        let ok = repl("rf = 2\nacks = \"1,all\"\nflush = \"batch\"\nleader_engine = \"buffered\"\nreplica_lag_time_max_ms = 500");
        let s = parse(&ok, Path::new("r.toml")).unwrap();
        let w = &s.workloads[0];
        assert_eq!((w.rf, w.acks.as_deref()), (Some(2), Some("1,all")));
        let back = parse(&toml::to_string(&s).unwrap(), Path::new("again")).unwrap();
        assert_eq!(back, s);
        let cfgs = suite_configs(w, 1).unwrap();
        assert_eq!(cfgs.len(), 2);
        assert_eq!(cfgs[1].acks, crate::replicate::Acks::All);
        assert_eq!(cfgs[0].flush, workloads::FlushPolicy::Batch);
        assert_eq!(cfgs[0].lag_time_max, Duration::from_millis(500));
        // A stopped run lists the acks modes it never started, by the names they would have had.
        let names = |done: &[results::WorkloadResult]| -> Vec<String> {
            super::not_run_rows(w, done)
                .into_iter()
                .map(|r| r.name)
                .collect()
        };
        let all = names(&[]);
        assert_eq!(all, ["repl/acks=1", "repl/acks=all"]);
        let first = super::not_run_rows(w, &[]).remove(0);
        assert_eq!(names(&[first]), ["repl/acks=all"]);
        for (bad, needle) in [
            ("rf = 0", "rf 0"),
            ("acks = \"2\"", "acks '2'"),
            ("engines = [\"buffered\"]", "engines does not apply"),
            ("threads = 2", "threads does not apply"),
            ("flush = \"often\"", "flush"),
        ] {
            let e = parse(&repl(bad), Path::new("r.toml")).unwrap_err().0;
            assert!(e.contains(needle) && e.contains("'repl'"), "{bad}: {e}");
        }
        let write_with_rf = "name = \"w\"\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"buffered\"]\nduration = \"1s\"\nrf = 3\n";
        let e = parse(write_with_rf, Path::new("w.toml")).unwrap_err().0;
        assert!(e.contains("replicate\" only"), "{e}");
    }

    #[test]
    fn modes_a_stop_came_before_are_not_run_rows_not_completed_ones() {
        let text =
            "name = \"r\"\n[[workload]]\nkind = \"replicate\"\nname = \"repl\"\nsize = \"1MiB\"\n";
        let s = parse(text, Path::new("r.toml")).unwrap();
        let cfgs = suite_configs(&s.workloads[0], 1).unwrap();
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
