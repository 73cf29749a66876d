//! Typed arguments back to a command line, for a child process of this binary (a fleet
//! rank's `segbench run`, `read` and `replicate`): one function per `*Args` struct. Each destructures its struct
//! without `..`, so a field added to the struct does not compile until it is written here
//! too; a round-trip test parses what the function writes (clap's `try_parse_from`) and must
//! get the same value back, so every option is forwarded under its own name.

use std::fmt::Display;
use std::path::Path;

use crate::commands::common::OutputArgs;
use crate::commands::read::ReadArgs;
use crate::commands::replicate::ReplicateArgs;
use crate::commands::replicate_role::RoleArgs;
use crate::commands::run::RunArgs;
use crate::parse::duration_text;

/// `argv` (options, without the command's name) as `A`; else clap's error as one line
/// ([`crate::parse::clap_error_line`]).
pub fn parse<A: clap::Args + clap::FromArgMatches>(argv: &[String]) -> Result<A, String> {
    let line = |e: clap::Error| crate::parse::clap_error_line(&e);
    let command = A::augment_args(clap::Command::new("segbench").no_binary_name(true));
    let matches = command.try_get_matches_from(argv).map_err(line)?;
    A::from_arg_matches(&matches).map_err(line)
}

/// The value `A` takes when no option is given: its defaults, from its own declarations.
pub fn defaults<A: clap::Args + clap::FromArgMatches>() -> A {
    // Every option of these Args has a default or is optional: none is required.
    parse(&[]).expect("Args with no required option parse from nothing")
}

/// `a` as `segbench run`'s options (without the command's name): parsed back, they give `a`.
pub fn run_argv(a: &RunArgs) -> Vec<String> {
    let RunArgs {
        suite,
        preset,
        print,
        dirs,
        snap_dir,
        out,
        quick,
        duration,
        repeat,
        baseline,
        json,
        keep,
        quiet,
        hdr_log,
        fleet_sync,
    } = a;
    let mut v = Argv::default();
    if let Some(s) = suite {
        v.0.push(path(s));
    }
    v.value("--preset", preset);
    v.flag("--print", *print);
    for d in dirs {
        v.value("--dir", path(d));
    }
    v.option("--snap-dir", snap_dir.as_deref().map(path));
    v.option("--out", out.as_deref().map(path));
    v.flag("--quick", *quick);
    v.option("--duration", duration.map(duration_text));
    v.option("--repeat", *repeat);
    v.value("--baseline", &baseline.text);
    v.flag("--json", *json);
    v.flag("--keep", *keep);
    v.flag("--quiet", *quiet);
    v.option("--hdr-log", hdr_log.as_deref().map(path));
    v.option("--fleet-sync", fleet_sync.as_deref().map(path));
    v.0
}

/// `a` as `segbench read`'s options (without the command's name): parsed back, they give `a`.
pub fn read_argv(a: &ReadArgs) -> Vec<String> {
    let ReadArgs {
        engines,
        dir,
        size,
        partitions,
        segment_size,
        data_dir,
        consumers,
        groups,
        fetch_size,
        caches,
        sink,
        verify,
        duration,
        until_steady,
        repeat,
        keep,
        output,
    } = a;
    let mut v = Argv::default();
    for e in engines {
        v.value("--engine", e);
    }
    v.option("--dir", dir.as_deref().map(path));
    v.option("--size", *size);
    v.option("--partitions", *partitions);
    v.option("--segment-size", *segment_size);
    v.option("--data-dir", data_dir.as_deref().map(path));
    v.value("--consumers", consumers);
    v.value("--groups", groups);
    v.value("--fetch-size", fetch_size);
    for c in caches {
        v.value("--cache", c);
    }
    v.option("--sink", sink.as_deref());
    v.flag("--verify", *verify);
    v.option("--duration", duration.map(duration_text));
    // Its round is optional (`--until-steady` alone is 5s): always given, after `=`.
    if let Some(round) = until_steady {
        v.0.push(format!("--until-steady={}", duration_text(*round)));
    }
    v.value("--repeat", repeat);
    v.flag("--keep", *keep);
    v.output(output);
    v.0
}

/// `a` as `segbench replicate`'s options (without the command's name): parsed back, they give
/// `a`.
pub fn replicate_argv(a: &ReplicateArgs) -> Vec<String> {
    let ReplicateArgs {
        rf,
        acks,
        partitions,
        record_size,
        batch_size,
        segment_size,
        size,
        duration,
        rate,
        repeat,
        leader_engine,
        follower_engine,
        producers,
        no_consumer,
        fetch_engine,
        replica_fetch_max_bytes,
        replica_fetch_min_bytes,
        replica_fetch_wait_max_ms,
        replica_lag_time_max_ms,
        min_insync_replicas,
        flush,
        sync,
        roles:
            RoleArgs {
                role,
                listen,
                leader,
                join_timeout,
            },
        dir,
        keep,
        output,
    } = a;
    let mut v = Argv::default();
    v.value("--rf", rf);
    v.value("--acks", acks);
    v.value("--partitions", partitions);
    v.value("--record-size", record_size);
    v.value("--batch-size", batch_size);
    v.value("--segment-size", segment_size);
    v.option("--size", *size);
    v.option("--duration", duration.map(duration_text));
    // Bytes per second: f64's `Display` reads back to the same value.
    v.option("--rate", rate.map(|r| format!("{r}B/s")));
    v.value("--repeat", repeat);
    v.value("--leader-engine", leader_engine);
    v.value("--follower-engine", follower_engine);
    v.value("--producers", producers);
    v.flag("--no-consumer", *no_consumer);
    v.value("--fetch-engine", fetch_engine);
    v.value("--replica-fetch-max-bytes", replica_fetch_max_bytes);
    v.value("--replica-fetch-min-bytes", replica_fetch_min_bytes);
    v.value("--replica-fetch-wait-max-ms", replica_fetch_wait_max_ms);
    v.value("--replica-lag-time-max-ms", replica_lag_time_max_ms);
    v.value("--min-insync-replicas", min_insync_replicas);
    v.value("--flush", flush);
    v.value("--sync", sync);
    if let Some(r) = clap::ValueEnum::to_possible_value(role) {
        v.value("--role", r.get_name());
    }
    v.option("--listen", listen.as_deref());
    v.option("--leader", leader.as_deref());
    v.value("--join-timeout", duration_text(*join_timeout));
    v.option("--dir", dir.as_deref().map(path));
    v.flag("--keep", *keep);
    v.output(output);
    v.0
}

/// A command line being written, one option after another.
#[derive(Debug, Default)]
struct Argv(Vec<String>);

impl Argv {
    /// `flag` when `on`.
    fn flag(&mut self, flag: &str, on: bool) {
        if on {
            self.0.push(flag.to_string());
        }
    }
    /// `flag value`.
    fn value(&mut self, flag: &str, value: impl Display) {
        self.0.extend([flag.to_string(), value.to_string()]);
    }
    /// `flag value` when there is a value.
    fn option(&mut self, flag: &str, value: Option<impl Display>) {
        if let Some(v) = value {
            self.value(flag, v);
        }
    }
    /// The output options shared by the single commands.
    fn output(&mut self, o: &OutputArgs) {
        let OutputArgs {
            json,
            out,
            quiet,
            no_probe,
            hdr_log,
        } = o;
        self.flag("--json", *json);
        self.option("--out", out.as_deref().map(path));
        self.flag("--quiet", *quiet);
        self.flag("--no-probe", *no_probe);
        self.option("--hdr-log", hdr_log.as_deref().map(path));
    }
}

/// A path as an argument (the command line is UTF-8: `main` refuses anything else).
fn path(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// `to_argv` then [`parse`] gives back each of `values`.
    fn round_trip<A>(values: Vec<A>, to_argv: fn(&A) -> Vec<String>)
    where
        A: clap::Args + clap::FromArgMatches + std::fmt::Debug,
    {
        for a in values {
            let argv = to_argv(&a);
            let back: A = parse(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            assert_eq!(format!("{back:?}"), format!("{a:?}"), "{argv:?}");
        }
    }

    #[test]
    fn run_args_come_back_from_their_argv() {
        // Every field set away from its default; no `..`, so a new field must be set here.
        let full = RunArgs {
            suite: Some("suites/my suite.toml".into()),
            preset: "zk-txnlog".into(),
            print: true,
            dirs: vec!["/data/one".into(), "data two".into()],
            snap_dir: Some("/snaps".into()),
            out: Some("out dir".into()),
            quick: true,
            duration: Some(Duration::from_millis(1500)),
            repeat: Some(4),
            baseline: crate::parse::baseline_arg("100MB/s@5").unwrap(),
            json: true,
            keep: true,
            quiet: true,
            hdr_log: Some("hlogs".into()),
            fleet_sync: Some("/tmp/rank.sock".into()),
        };
        round_trip(vec![full, defaults()], run_argv);
    }

    #[test]
    fn read_args_come_back_from_their_argv() {
        let output = OutputArgs {
            json: true,
            out: Some("results.json".into()),
            quiet: true,
            no_probe: true,
            hdr_log: Some("hlogs".into()),
        };
        // Every field set away from its default; no `..`, so a new field must be set here.
        // `--dir` (an existing log) excludes the log written first: two values cover both.
        let written = ReadArgs {
            engines: vec!["sendfile".into(), "uring:qd=8".into()],
            dir: None,
            size: Some(3 << 20),
            partitions: Some(3),
            segment_size: Some(1 << 20),
            data_dir: Some("data dir".into()),
            consumers: 2,
            groups: 3,
            fetch_size: 64 << 10,
            caches: vec!["hot".into(), "cold".into()],
            sink: Some("127.0.0.1:7878".into()),
            verify: true,
            duration: Some(Duration::from_millis(2500)),
            until_steady: Some(Duration::from_secs(2)),
            repeat: 5,
            keep: true,
            output: output.clone(),
        };
        let existing = ReadArgs {
            dir: Some("/var/lib/kafka/orders-0".into()),
            size: None,
            partitions: None,
            segment_size: None,
            data_dir: None,
            until_steady: Some(Duration::ZERO),
            ..written.clone()
        };
        round_trip(vec![written, existing, defaults()], read_argv);
    }

    #[test]
    fn replicate_args_come_back_from_their_argv() {
        use crate::commands::replicate_role::Role;
        // Every field set away from its default; no `..`, so a new field must be set here.
        let full = ReplicateArgs {
            rf: 2,
            acks: "all".into(),
            partitions: 8,
            record_size: 512,
            batch_size: 64 << 10,
            segment_size: 4 << 20,
            size: Some(64 << 20),
            duration: Some(Duration::from_micros(1500)),
            rate: Some(12.5e6),
            repeat: 1,
            leader_engine: "direct".into(),
            follower_engine: "uring:qd=8".into(),
            producers: 2,
            no_consumer: true,
            fetch_engine: "splice".into(),
            replica_fetch_max_bytes: 2 << 20,
            replica_fetch_min_bytes: 4096,
            replica_fetch_wait_max_ms: 100,
            replica_lag_time_max_ms: 10_000,
            min_insync_replicas: 2,
            flush: "bytes=1 MiB".into(),
            sync: "fsync".into(),
            roles: RoleArgs {
                role: Role::Leader,
                listen: Some("127.0.0.1:0".into()),
                leader: Some("127.0.0.1:7879".into()),
                join_timeout: Duration::from_secs(120),
            },
            dir: Some("replica dir".into()),
            keep: true,
            output: OutputArgs {
                json: true,
                out: Some("out.json".into()),
                quiet: true,
                no_probe: true,
                hdr_log: Some("hlogs".into()),
            },
        };
        round_trip(vec![full, defaults()], replicate_argv);
    }

    /// A bad option gets the same one line from [`parse`] (a fleet child's options) and from
    /// `check_argv` (a suite's replicate workload): clap's error, read in one place.
    #[test]
    fn a_bad_option_reads_the_same_from_every_parser() {
        let argv = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for bad in [&["--rf", "two"][..], &["--no-such-option"][..]] {
            let from_parse = parse::<ReplicateArgs>(&argv(bad)).unwrap_err();
            let from_check = crate::commands::replicate::check_argv(&argv(bad)).unwrap_err();
            assert_eq!(from_parse, from_check, "{bad:?}");
            assert!(!from_parse.starts_with("error:"), "{from_parse}");
            assert!(!from_parse.contains('\n'), "{from_parse}");
        }
    }
}
