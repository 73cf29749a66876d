//! The command lines of `segbench fleet run`'s children, from its typed options: the local
//! phase's `segbench run` (every `run` option forwarded or the fleet's, by name), the network
//! phase's `segbench read`, the replication phase's `segbench replicate` leader and follower
//! (`--replicate-args` split as a shell splits it). The rank adds what only it knows (`--out`,
//! `--sink`, `--listen`, `--leader`, its barrier's socket).

use std::time::Duration;

use crate::bad_input;
use crate::commands::argv;
use crate::commands::common::OutputArgs;
use crate::commands::replicate::ReplicateArgs;
use crate::commands::replicate_role::{Role, RoleArgs};
use crate::commands::run::RunArgs;

/// The `run` arguments of the local phase's child, without `--out`, `-q` and `--fleet-sync`
/// (the rank adds its own): every `run` option of `fleet run`, by name, forwarded or the
/// fleet's (a new one does not compile until it is placed here).
pub fn local_args(r: &RunArgs) -> Vec<String> {
    let child = RunArgs {
        suite: r
            .suite
            .as_ref()
            .map(|s| std::path::absolute(s).unwrap_or_else(|_| s.clone())),
        preset: r.preset.clone(),
        print: false, // refused by `config`
        dirs: r.dirs.clone(),
        snap_dir: r.snap_dir.clone(),
        out: None, // rank 0's results directory
        quick: r.quick,
        duration: r.duration,
        repeat: r.repeat,
        baseline: r.baseline.clone(),
        json: false, // refused by `config`
        keep: r.keep,
        quiet: false,     // refused by `config`; the rank makes its children quiet
        hdr_log: None,    // refused by `config`
        fleet_sync: None, // refused by `config`; the rank's own relay
    };
    let mut a = vec!["run".to_string()];
    a.extend(argv::run_argv(&child));
    a
}

/// The `read` arguments of the network phase's child, without `--sink` and `--out`: both
/// read engines over a log written first in the first `--dir`, quiet, without a probe.
pub fn read_args(r: &RunArgs) -> Vec<String> {
    use crate::commands::read::ReadArgs;
    // Read for a fixed time (starting over at the log's beginning), so a fast NIC is measured
    // over more than a few milliseconds.
    let (size, duration, repeat) = if r.quick {
        (16 << 20, Duration::from_secs(1), 1)
    } else {
        (256 << 20, Duration::from_secs(5), 3)
    };
    let child = ReadArgs {
        engines: vec!["sendfile".into(), "readwrite".into()],
        size: Some(size),
        duration: Some(duration),
        repeat,
        data_dir: r.dirs.first().cloned(),
        keep: r.keep,
        output: OutputArgs {
            quiet: true,
            no_probe: true,
            ..argv::defaults()
        },
        ..argv::defaults()
    };
    let mut a = vec!["read".to_string()];
    a.extend(argv::read_argv(&child));
    a
}

/// `segbench replicate` flags that `--replicate-args` may not give: the fleet sets them.
const FLEET_REPLICATE_FLAGS: [(&str, &str); 9] = [
    ("--rf", "use --replicate-rf"),
    ("--role", "rank 0 leads, the next ranks follow"),
    ("--listen", "the leader listens on its fleet address"),
    (
        "--leader",
        "the followers get the leader's address from the fleet",
    ),
    ("--dir", "use fleet run's --dir"),
    ("--keep", "use fleet run's --keep"),
    ("--out", "rank 0 writes the fleet's results"),
    ("--json", "rank 0 writes the fleet's results"),
    ("--join-timeout", "the fleet sets it"),
];

/// `--replicate-args`' string as words, by the shell's rules (quotes keep a value with spaces
/// whole, `\` escapes); an unbalanced quote is one line naming it.
fn split_options(s: &str) -> anyhow::Result<Vec<String>> {
    shlex::split(s).ok_or_else(|| {
        bad_input(format!(
            "--replicate-args {s:?}: a quote is not closed; quote as a shell does, e.g. \"--record-size '2 KiB'\""
        ))
    })
}

/// The replication phase's options: its defaults (acks 0, 1, all, a short time per
/// repetition, shorter with `quick`) unless `replicate_args` (`fleet run --replicate-args`)
/// gives them (split by the shell's rules), then those, over `rf` replicas. One line naming
/// the option when one is the fleet's or does not parse.
pub fn replicate_options(
    replicate_args: Option<&str>,
    quick: bool,
    rf: u32,
) -> anyhow::Result<ReplicateArgs> {
    let extra = split_options(replicate_args.unwrap_or(""))?;
    let flag = |x: &String| x.split('=').next().unwrap_or("").to_string();
    if let Some((f, why)) = extra
        .iter()
        .find_map(|x| FLEET_REPLICATE_FLAGS.iter().find(|(f, _)| flag(x) == *f))
    {
        return Err(bad_input(format!(
            "--replicate-args: {f} is the fleet's ({why})"
        )));
    }
    let given = |f: &str| extra.iter().any(|x| flag(x) == f);
    let (duration, repeat) = if quick { ("1s", "1") } else { ("5s", "3") };
    let mut argv = vec!["--rf".to_string(), rf.to_string()];
    for (f, v) in [
        ("--acks", "0,1,all"),
        ("--duration", duration),
        ("--repeat", repeat),
    ] {
        // A size alone bounds the run: no default duration beside it.
        let set = given(f) || (f == "--duration" && given("--size"));
        if !set {
            argv.extend([f.to_string(), v.to_string()]);
        }
    }
    argv.extend(extra);
    let bad = |e: String| bad_input(format!("--replicate-args: {e}"));
    let options: ReplicateArgs = argv::parse(&argv).map_err(bad)?;
    crate::commands::replicate::configs(&options).map_err(|e| bad(e.to_string()))?;
    Ok(options)
}

/// The replication phase's command lines (leader without `--listen` and `--out`, follower
/// without `--leader`): the leader runs `options` ([`replicate_options`]), quiet and without
/// a probe; the follower, quiet, gets its settings from the leader. A data directory given
/// with --dir gets one subdirectory per rank (ranks may share a host).
pub fn replicate_args(
    r: &RunArgs,
    rank: u32,
    options: &ReplicateArgs,
) -> (Vec<String>, Vec<String>) {
    let dir = r
        .dirs
        .first()
        .map(|d| d.join(format!("segbench-replicate-rank{rank}")));
    let leader = ReplicateArgs {
        roles: RoleArgs {
            role: Role::Leader,
            join_timeout: Duration::from_secs(120),
            ..options.roles.clone()
        },
        dir: dir.clone(),
        keep: r.keep,
        output: OutputArgs {
            quiet: true,
            no_probe: true,
            ..options.output.clone()
        },
        ..options.clone()
    };
    let follower = ReplicateArgs {
        roles: RoleArgs {
            role: Role::Follower,
            join_timeout: Duration::from_secs(60),
            ..argv::defaults::<ReplicateArgs>().roles
        },
        dir,
        keep: r.keep,
        output: OutputArgs {
            quiet: true,
            ..argv::defaults()
        },
        ..argv::defaults()
    };
    let command = |a: &ReplicateArgs| {
        let mut words = vec!["replicate".to_string()];
        words.extend(argv::replicate_argv(a));
        words
    };
    (command(&leader), command(&follower))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::fleet::FleetRunArgs;
    use clap::Parser;

    /// `segbench fleet run` alone, as the tests parse it.
    #[derive(Debug, Parser)]
    struct FleetRun {
        #[command(flatten)]
        a: FleetRunArgs,
    }

    fn fleet_run(args: &[&str]) -> FleetRunArgs {
        let argv = std::iter::once("fleet-run").chain(args.iter().copied());
        FleetRun::try_parse_from(argv).expect("fleet run parses").a
    }

    #[test]
    fn the_local_child_gets_every_run_option_but_the_ranks() {
        // In the order `run_argv` writes them, after the default preset.
        let forwarded = [
            "--dir",
            "d",
            "--snap-dir",
            "snaps",
            "--quick",
            "--duration",
            "1500ms",
            "--repeat",
            "2",
            "--baseline",
            "100MB/s@5",
            "--keep",
        ];
        let mut given = forwarded.to_vec();
        given.extend(["--out", "results"]); // rank 0's
        let mut child = vec!["run", "--preset", "kafka"];
        child.extend(forwarded);
        assert_eq!(local_args(&fleet_run(&given).run), child);
    }

    #[test]
    fn the_network_child_reads_with_both_engines_in_the_first_dir() {
        let a = fleet_run(&["--quick", "--dir", "d", "--dir", "e", "--keep"]);
        let words = [
            "read",
            "--engine",
            "sendfile",
            "--engine",
            "readwrite",
            "--size",
            "16777216",
            "--data-dir",
            "d",
            "--consumers",
            "1",
            "--groups",
            "1",
            "--fetch-size",
            "1048576",
            "--duration",
            "1000ms",
            "--repeat",
            "1",
            "--keep",
            "--quiet",
            "--no-probe",
        ];
        assert_eq!(read_args(&a.run), words);
    }

    #[test]
    fn replicate_args_are_split_as_a_shell_splits_them() {
        let a = fleet_run(&[
            "--replicate",
            "--replicate-args",
            "--record-size '2 KiB' --acks=all --flush \"bytes=1 MiB\"",
        ]);
        let o = replicate_options(a.replicate_args.as_deref(), a.run.quick, 2)
            .expect("the options hold");
        // A quoted value with a space is one word; the fleet's defaults fill what is not given.
        assert_eq!(
            (o.rf, o.record_size, o.acks.as_str(), o.flush.as_str()),
            (2, 2048, "all", "bytes=1 MiB")
        );
        assert_eq!((o.duration, o.repeat), (Some(Duration::from_secs(5)), 3));
        let a = fleet_run(&["--replicate", "--replicate-args", "--acks 'all"]);
        let e = replicate_options(a.replicate_args.as_deref(), a.run.quick, 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a quote is not closed"), "{e}");
    }

    #[test]
    fn the_leader_runs_the_options_and_the_follower_joins_it() {
        let a = fleet_run(&[
            "--quick",
            "--dir",
            "d",
            "--replicate",
            "--replicate-args",
            "--partitions 4 --size 8MiB --hdr-log h",
        ]);
        let options = replicate_options(a.replicate_args.as_deref(), a.run.quick, 3)
            .expect("the options hold");
        let (leader, follower) = replicate_args(&a.run, 1, &options);
        let back = |words: &[String]| -> ReplicateArgs {
            assert_eq!(words[0], "replicate");
            argv::parse(&words[1..]).expect("the child's options parse")
        };
        let (l, f) = (back(&leader), back(&follower));
        let own = Some(std::path::PathBuf::from("d/segbench-replicate-rank1"));
        assert_eq!(
            (l.roles.role, l.rf, l.partitions, l.size),
            (Role::Leader, 3, 4, Some(8 << 20))
        );
        // --size alone bounds the run: no default duration beside it; --quick's one repetition.
        assert_eq!((l.duration, l.repeat), (None, 1));
        assert_eq!(
            (l.roles.join_timeout, &l.dir),
            (Duration::from_secs(120), &own)
        );
        let o = &l.output;
        assert!(o.quiet && o.no_probe && o.hdr_log.is_some() && !o.json && o.out.is_none());
        // The follower gets its settings from the leader: its own are the defaults.
        let settings = |a: ReplicateArgs| ReplicateArgs {
            roles: RoleArgs {
                role: Role::All,
                join_timeout: Duration::ZERO,
                ..a.roles.clone()
            },
            dir: None,
            output: argv::defaults(),
            ..a
        };
        assert_eq!(
            (f.roles.role, f.roles.join_timeout, &f.dir),
            (Role::Follower, Duration::from_secs(60), &own)
        );
        assert!(f.output.quiet && !f.output.no_probe);
        assert_eq!(
            format!("{:?}", settings(f)),
            format!("{:?}", settings(argv::defaults()))
        );
    }
}
