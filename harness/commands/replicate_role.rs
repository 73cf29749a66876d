//! The process roles of `segbench replicate` (`--role all|leader|follower`): where the
//! followers run. `all` (default): threads of this process over loopback TCP; `leader`: this
//! process runs the producer and the leader, listens on `--listen` and waits (at most
//! `--join-timeout`) for `rf − 1` follower processes, and writes the results; `follower`: this
//! process joins the leader at `--leader`, replicates every repetition the leader runs into
//! its own data directory, prints its own figures and exits 0 (1 when the leader went away).
//! Where the followers of each repetition are is the runner's ([`crate::runner::replicate`]).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::auth::{check_token, new_token};
use crate::bad_input;
use crate::datadir::DataDir;
use crate::fleet::proto::TOKEN_ENV;
use crate::meta::RunMeta;
use crate::replicate::follower;
use crate::replicate::wire::FollowerReport;
use crate::replicate::{RunToken, REPLICATION_TOKEN_ENV};
use crate::runner::progress::Progress;

/// Where the roles run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Every role in this process; followers over loopback TCP.
    All,
    /// The producer and the leader; followers join over TCP.
    Leader,
    /// One follower, joining the leader at --leader.
    Follower,
}

/// `segbench replicate`'s options of where the roles run.
#[derive(Debug, Args, Clone)]
pub struct RoleArgs {
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
    #[arg(long, default_value = "30s", value_parser = crate::parse::duration, value_name = "DURATION")]
    pub join_timeout: Duration,
}

/// Checks the role flags before any work; returns the address to listen on or join.
pub fn check(a: &RoleArgs) -> anyhow::Result<Option<SocketAddr>> {
    let addr = |flag: &str, v: &str| crate::parse::socket_addr(flag, v).map_err(bad_input);
    match (a.role, &a.listen, &a.leader) {
        (Role::All, None, None) => Ok(None),
        (Role::Leader, Some(l), None) => addr("--listen", l).map(Some),
        (Role::Follower, None, Some(l)) => addr("--leader", l).map(Some),
        (Role::Leader, None, _) => Err(bad_input(
            "--role leader needs --listen HOST:PORT (where followers join)",
        )),
        (Role::Follower, _, None) => Err(bad_input(
            "--role follower needs --leader HOST:PORT (the leader's --listen address)",
        )),
        (_, Some(_), _) => Err(bad_input("--listen: only with --role leader")),
        (_, _, Some(_)) => Err(bad_input("--leader: only with --role follower")),
    }
}

/// The run's token for `role` (none for `all`: its followers are its own threads, which use
/// a fresh one): `SEGBENCH_FLEET_TOKEN` (set when `fleet run --replicate` launched this
/// process), else `SEGBENCH_REPLICATION_TOKEN`, else a leader makes one (and prints it) and a
/// follower is refused. A token too short or not text is bad input (exit 2).
pub fn run_token(role: Role) -> anyhow::Result<Option<RunToken>> {
    if role == Role::All {
        return Ok(None);
    }
    for name in [TOKEN_ENV, REPLICATION_TOKEN_ENV] {
        let Some(raw) = std::env::var_os(name) else {
            continue;
        };
        let Some(value) = raw.to_str().map(|t| t.trim().to_string()) else {
            return Err(bad_input(format!(
                "{name} is not valid UTF-8: use a token from `segbench fleet token`"
            )));
        };
        if value.is_empty() {
            continue;
        }
        check_token(name, &value).map_err(bad_input)?;
        return Ok(Some(RunToken {
            value,
            generated: false,
        }));
    }
    match role {
        Role::Follower => Err(bad_input(format!(
            "--role follower needs the leader's token: set {REPLICATION_TOKEN_ENV} (the leader prints it when it makes one) or {TOKEN_ENV}"
        ))),
        _ => {
            let value = new_token().map_err(|e| bad_input(format!("/dev/urandom: {e}")))?;
            Ok(Some(RunToken {
                value,
                generated: true,
            }))
        }
    }
}

/// A name the leader may give a repetition's directory: one plain path component.
fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '='))
}

/// One report as a JSON object, with CPU per GB.
fn report_json(rep: Option<&str>, r: &FollowerReport) -> serde_json::Value {
    json!({
        "rep": rep,
        "bytes": r.bytes,
        "fetches": r.fetches,
        "cpu_s": r.cpu_s,
        "cpu_s_per_gb": results::stats::cpu_s_per_gb(r.cpu_s, r.bytes),
    })
}

/// `--role follower`: joins, replicates until the leader ends the session; prints a line per
/// repetition on stderr and one JSON summary on stdout. Exit 0, or 1 when the leader went away
/// (the summary then holds the partial figures).
pub fn run_follower(
    a: &RoleArgs,
    dir: Option<&Path>,
    keep: bool,
    quiet: bool,
    leader: SocketAddr,
    token: &RunToken,
) -> anyhow::Result<u8> {
    let meta = RunMeta::now();
    let data = DataDir::acquire(dir, &meta.id, keep).map_err(|e| bad_input(e.to_string()))?;
    let progress = Progress::new(quiet);
    let signals = crate::signals::install();
    let (stream, n) = match follower::join(leader, a.join_timeout, &token.value, &signals.stop) {
        Ok(j) => j,
        Err(e) => {
            data.finish();
            if let Some(code) = signals.exit_code() {
                eprintln!("segbench: interrupted while joining the leader at {leader}");
                return Ok(code);
            }
            return Err(anyhow::anyhow!(e));
        }
    };
    progress.line(&format!("follower {n}: joined the leader at {leader}"));
    let mut reps: Vec<String> = Vec::new();
    let mut rep_dir = |rep: &str| -> Result<std::path::PathBuf, String> {
        if !safe_name(rep) {
            return Err(format!(
                "the leader named a repetition '{rep}': not a plain directory name"
            ));
        }
        data.create_child(rep)
            .map_err(|e| format!("{}: {e}", data.path().join(rep).display()))
    };
    let mut on_rep = |rep: &str, r: &FollowerReport| {
        progress.line(&format!(
            "follower {n} {rep}: {} bytes appended in {} fetches, CPU {:.3} s",
            r.bytes, r.fetches, r.cpu_s
        ));
        if !keep {
            data.remove_child(rep);
        }
        reps.push(rep.to_string());
    };
    let never = AtomicBool::new(false);
    let outcome =
        follower::run_session(&stream, n, &mut rep_dir, &never, &signals.stop, &mut on_rep);
    let names = reps;
    let summary = |done: &[FollowerReport]| -> Vec<serde_json::Value> {
        done.iter()
            .zip(&names)
            .map(|(r, name)| report_json(Some(name), r))
            .collect()
    };
    let (code, doc) = match &outcome {
        Ok(done) => (
            0,
            json!({"role": "follower", "follower": n, "ok": true, "repetitions": summary(done)}),
        ),
        Err(f) => {
            progress.line(&format!("follower {n}: {}", f.reason));
            (
                1,
                json!({"role": "follower", "follower": n, "ok": false, "error": f.reason,
                       "repetitions": summary(&f.done), "partial": report_json(None, &f.partial)}),
            )
        }
    };
    println!("{doc}");
    if let Some(k) = data.finish() {
        progress.line(&format!("data kept in {}", k.display()));
    }
    if signals.stop.load(Ordering::Relaxed) {
        return Ok(signals.exit_code().unwrap_or(code));
    }
    Ok(code)
}
