//! Typed arguments back to a command line, for a child process of this binary (a fleet
//! rank's `segbench run`): one function per `*Args` struct. Each destructures its struct
//! without `..`, so a field added to the struct does not compile until it is written here
//! too; a round-trip test parses what the function writes (clap's `try_parse_from`) and must
//! get the same value back, so every option is forwarded under its own name.

use std::fmt::Display;
use std::path::Path;
use std::time::Duration;

use crate::commands::run::RunArgs;

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
}

/// A path as an argument (the command line is UTF-8: `main` refuses anything else).
fn path(p: &Path) -> String {
    p.display().to_string()
}

/// A duration to the millisecond, at least 1 ms.
fn millis(d: Duration) -> String {
    format!("{}ms", d.as_millis().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `segbench run` alone, as the tests parse it.
    #[derive(Debug, Parser)]
    struct Run {
        #[command(flatten)]
        a: RunArgs,
    }

    fn parse(argv: &[String]) -> RunArgs {
        let words = std::iter::once("run").chain(argv.iter().map(String::as_str));
        Run::try_parse_from(words)
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"))
            .a
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
        let defaults = parse(&[]);
        for a in [full, defaults] {
            let argv = run_argv(&a);
            assert_eq!(format!("{:?}", parse(&argv)), format!("{a:?}"), "{argv:?}");
        }
    }
}
