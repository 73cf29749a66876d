//! Typed arguments back to a command line, for a child process of this binary (a fleet
//! rank's `segbench run` and `segbench read`): one function per `*Args` struct. Each destructures its struct
//! without `..`, so a field added to the struct does not compile until it is written here
//! too; a round-trip test parses what the function writes (clap's `try_parse_from`) and must
//! get the same value back, so every option is forwarded under its own name.

use std::fmt::Display;
use std::path::Path;
use std::time::Duration;

use crate::commands::common::OutputArgs;
use crate::commands::read::ReadArgs;
use crate::commands::run::RunArgs;

/// The value `A` takes when no option is given: its defaults, from its own declarations.
pub fn defaults<A: clap::Args + clap::FromArgMatches>() -> A {
    let command = A::augment_args(clap::Command::new("defaults"));
    // Every option of these Args has a default or is optional: none is required.
    let matches = command
        .try_get_matches_from(["defaults"])
        .expect("Args with no required option parse from nothing");
    A::from_arg_matches(&matches).expect("Args with no required option parse from nothing")
}

/// `a` as `segbench run`'s options (without the command's name): parsed back, they give `a`.
/// `--duration` is written to the millisecond, as `run` applies it.
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
    v.option("--duration", duration.map(millis));
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
/// Durations are written to the millisecond.
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
    v.option("--duration", duration.map(millis));
    // Its round is optional (`--until-steady` alone is 5s): always given, after `=`.
    if let Some(round) = until_steady {
        v.0.push(format!("--until-steady={}", millis_or_zero(*round)));
    }
    v.value("--repeat", repeat);
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

/// A duration to the millisecond, at least 1 ms.
fn millis(d: Duration) -> String {
    format!("{}ms", d.as_millis().max(1))
}

/// A duration to the millisecond where zero stays zero (it means "none").
fn millis_or_zero(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// One command's Args alone, as the tests parse them.
    #[derive(Debug, Parser)]
    struct Alone<A: clap::Args> {
        #[command(flatten)]
        a: A,
    }

    /// `argv` parsed back into `A`.
    fn parse<A: clap::Args + clap::FromArgMatches + std::fmt::Debug>(argv: &[String]) -> A {
        let words = std::iter::once("segbench").chain(argv.iter().map(String::as_str));
        Alone::<A>::try_parse_from(words)
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"))
            .a
    }

    /// `to_argv` then [`parse`] gives back each of `values`.
    fn round_trip<A>(values: Vec<A>, to_argv: fn(&A) -> Vec<String>)
    where
        A: clap::Args + clap::FromArgMatches + std::fmt::Debug,
    {
        for a in values {
            let argv = to_argv(&a);
            assert_eq!(
                format!("{:?}", parse::<A>(&argv)),
                format!("{a:?}"),
                "{argv:?}"
            );
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
}
