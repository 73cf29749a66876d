//! `segbench read`: serves a segment log to consumers through one or more read engines
//! (sendfile against read+write, and splice, mmap, io_uring), hot or cold, and compares them.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Args;
use results::Status;

use crate::commands::common;
use crate::datadir::DataDir;
use crate::meta::RunMeta;
use crate::parse::{duration, size};
use crate::runner::progress::Progress;
use crate::runner::read::prepare::{
    self, local_sink, precheck, write_log, DEFAULT_PARTITIONS, DEFAULT_SEGMENT_SIZE, DEFAULT_SIZE,
};
use crate::runner::read::{self as reader, CacheMode, LoadError, LogSet, ReadConfig, SinkTarget};
use crate::suite::config::ReadSettings;
use crate::{bad_input, CheckFailed};

/// Engines compared when none is given.
pub const DEFAULT_ENGINES: &[&str] = &["sendfile", "readwrite", "splice", "mmap", "uring"];
/// Help after the options.
pub const READ_HELP: &str = "Engines (repeat --engine to compare; repetitions are interleaved A B C A B C):
  sendfile                      sendfile(2) from the page cache to the socket (Kafka's transferTo)
  readwrite[:buf=SIZE]          pread into a user buffer, then send (two copies)
  splice[:pipe=SIZE]            splice(2) file -> pipe -> socket
  mmap                          send from a read-only mapping of each segment
  uring[:qd=N,buf=SIZE,splice]  io_uring: registered-buffer read + send (qd reads ahead), or splice pairs
Default: sendfile, readwrite, splice, mmap, uring.

The consumers send to an in-process sink on loopback unless --sink names a `segbench sink`
(another host, or another network namespace: scripts/netns-pair.sh). Without --dir a fresh
log is written first (buffered, 1 KiB records in 16 KiB batches) and removed afterwards;
with --dir an existing log (segbench's, or a Kafka partition or log directory) is read
strictly read-only.

Examples:
  segbench read --engine sendfile --engine readwrite --size 1GiB --consumers 2 --verify
  segbench read --cache cold --size 2GiB                      catch-up readers (evicted first)
  segbench read --cache hot --cache cold --engine sendfile    both cache states
  segbench read --dir /var/lib/kafka/orders-0 --engine sendfile --consumers 1
  segbench read --sink 198.18.1.1:7878 --engine sendfile --duration 10s --groups 3
  segbench read --engine sendfile --until-steady=2s --duration 1m   (rounds until steady)";

/// `segbench read`.
#[derive(Debug, Args, Clone)]
pub struct ReadArgs {
    /// Read engine spec NAME[:opt,opt=val]; repeat to compare several.
    #[arg(long = "engine", short = 'e', value_name = "SPEC")]
    pub engines: Vec<String>,
    /// Read this existing log, strictly read-only: a partition directory (<topic>-<n>), a broker's log directory, or a segbench data directory.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["size", "partitions", "segment_size", "data_dir"])]
    pub dir: Option<PathBuf>,
    /// Without --dir: size of the log written first [default: 256MiB].
    #[arg(long, value_parser = size, value_name = "BYTES")]
    pub size: Option<u64>,
    /// Without --dir: partitions of the log written first [default: 4].
    #[arg(long, value_name = "N")]
    pub partitions: Option<u32>,
    /// Without --dir: segment size of the log written first [default: 128MiB].
    #[arg(long, value_parser = size, value_name = "BYTES")]
    pub segment_size: Option<u64>,
    /// Without --dir: where to write that log (a new or empty directory) [default: a new one here].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Consumers per group; partitions are dealt by Kafka's range assignor.
    #[arg(long, default_value = "1", value_name = "N")]
    pub consumers: u32,
    /// Independent consumer groups, each reading the whole log (fan-out).
    #[arg(long, default_value = "1", value_name = "N")]
    pub groups: u32,
    /// Largest fetch; fetches end on whole batches (at least one).
    #[arg(long, default_value = "1MiB", value_parser = size, value_name = "BYTES")]
    pub fetch_size: u64,
    /// Page cache before each repetition: hot (read first) or cold (evicted); repeat for both.
    #[arg(long = "cache", value_name = "hot|cold")]
    pub caches: Vec<String>,
    /// Send to a `segbench sink` at HOST:PORT instead of the in-process loopback sink.
    #[arg(long, value_name = "HOST:PORT")]
    pub sink: Option<String>,
    /// The sink checks every batch's CRC and that offsets arrive once, in order (exit 1 if not); a segment other than a partition's last that ends in a partial batch fails too (a warning without --verify).
    #[arg(long)]
    pub verify: bool,
    /// Read for this long per repetition, starting over at the beginning (default: the whole log once).
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Run each repetition in rounds of ROUND (default 5s) until the SNIA PTS steady state holds
    /// over the last 5 rounds, or until --duration (then labelled not steady).
    #[arg(long, value_name = "ROUND", num_args = 0..=1, default_missing_value = "5s", value_parser = crate::parse::duration_or_zero, allow_hyphen_values = true)]
    pub until_steady: Option<Duration>,
    /// Measured repetitions per engine.
    #[arg(long, default_value = "3", value_name = "N")]
    pub repeat: u32,
    /// Keep the log written first (default: removed at the end).
    #[arg(long)]
    pub keep: bool,
    /// Where results and progress go.
    #[command(flatten)]
    pub output: common::OutputArgs,
}

/// Turns the arguments into one configuration per engine and cache state (engines inner, so
/// `--cache hot --cache cold` runs every engine hot, then every engine cold, per repetition).
pub fn configs(a: &ReadArgs) -> anyhow::Result<Vec<ReadConfig>> {
    crate::parse::repeat(a.repeat).map_err(bad_input)?;
    if let Some(round) = a.until_steady {
        crate::runner::steady::check_round("--until-steady", round, a.duration)
            .map_err(bad_input)?;
    }
    let names: Vec<String> = if a.engines.is_empty() {
        DEFAULT_ENGINES.iter().map(|s| s.to_string()).collect()
    } else {
        a.engines.clone()
    };
    crate::parse::unique_engines(&names).map_err(bad_input)?;
    let room = crate::budget::Room::here();
    let caches: Vec<CacheMode> = if a.caches.is_empty() {
        vec![CacheMode::Hot]
    } else {
        a.caches
            .iter()
            .map(|c| {
                c.parse()
                    .map_err(|e: String| bad_input(format!("--cache {e}")))
            })
            .collect::<Result<_, _>>()?
    };
    let settings = a.settings();
    let mut out = Vec::new();
    for cache in caches {
        for n in &names {
            let cfg = settings.config(n, cache, room).map_err(bad_input)?;
            if out.iter().any(|c: &ReadConfig| c.name() == cfg.name()) {
                return Err(bad_input(format!("--engine {} is given twice", cfg.engine)));
            }
            out.push(cfg);
        }
    }
    Ok(out)
}

impl ReadArgs {
    /// The workload's settings (what defines it but its engines and cache states): what a
    /// suite's read workload builds too.
    pub fn settings(&self) -> ReadSettings {
        ReadSettings {
            consumers: self.consumers,
            groups: self.groups,
            fetch_size: self.fetch_size,
            duration: self.duration,
            verify: self.verify,
            until_steady: self.until_steady,
            rate: None,
        }
    }
}

/// Resolves `--sink HOST:PORT` and checks that something accepts connections there.
pub fn remote_sink(spec: &str) -> anyhow::Result<SinkTarget> {
    let addr = crate::parse::socket_addr("--sink", spec).map_err(bad_input)?;
    std::net::TcpStream::connect_timeout(&addr, reader::CONNECT_TIMEOUT).map_err(|e| {
        bad_input(format!("--sink {spec}: cannot reach the sink at {addr}: {e} (is `segbench sink --listen {addr}` running there?)"))
    })?;
    Ok(SinkTarget { addr, remote: true })
}

/// Runs `segbench read`: the arguments parsed into configurations, the log opened (or written
/// first), the sink started, the runs, and the results delivered.
pub fn run(a: ReadArgs) -> anyhow::Result<u8> {
    let cfgs = configs(&a)?;
    common::check_outputs(&a.output)?;
    let skips = reader_precheck(&cfgs)?;
    let progress = Progress::new(a.output.quiet);
    for s in skips.iter().flatten() {
        progress.line(&format!("skipping: {s}"));
    }
    let target = match &a.sink {
        Some(s) => Some(remote_sink(s)?),
        None => None,
    };
    let meta = RunMeta::now();
    let signals = crate::signals::install();
    let ReadLog {
        data,
        root,
        log,
        damage,
    } = open_log(&a, &meta, &signals.stop, &progress)?;

    let probe = if a.output.no_probe {
        None
    } else {
        let p = crate::probe::probe(&crate::probe::ProbeOptions {
            dir: root.clone(),
            micro: false,
        });
        Some(p)
    };
    let sessions = (a.groups as usize) * (a.consumers as usize).min(log.partitions.len()) + 8;
    let (local, target) = match target {
        Some(t) => (None, t),
        None => {
            let (s, t) = local_sink(sessions)?;
            (Some(s), t)
        }
    };
    let run_warnings = run_warnings(&log, damage, &target);

    let runnable = prepare::runnable(&cfgs, &skips);
    let outcome = reader::run_reads(
        &runnable,
        a.repeat,
        &log,
        &target,
        workloads::pacing::best_clock().0,
        &signals.stop,
        &progress,
        None,
    );
    // Back in the order given, with the engines this machine cannot run reported as skipped.
    let workloads = prepare::with_skips(&cfgs, &skips, outcome.workloads, &log, &target);
    drop(local);
    drop(log);
    let kept = data.and_then(|d| d.finish());
    let file = crate::output::results_file(
        &meta,
        probe,
        results::Baseline::default(),
        workloads,
        run_warnings,
        outcome.interrupted,
    );
    let report = results::export::detail::with_read_lines(&file);
    common::deliver(&file, &report, &a.output)?;
    if let Some(k) = kept {
        progress.line(&format!("log kept in {}", k.display()));
    }
    exit_code(&file, outcome.sink_failure, outcome.check_failures, signals)
}

/// The log a `read` runs over, opened and scanned.
struct ReadLog {
    /// The data directory the log was written into first (none with `--dir`).
    data: Option<DataDir>,
    /// The log's directory.
    root: PathBuf,
    /// The log, scanned.
    log: LogSet,
    /// Segments cut short before their partition's last, one line each.
    damage: Vec<String>,
}

/// The log: an existing one (`--dir`), read-only, or a fresh one written first; scanned, its
/// damage refused with `--verify` (else warned of on stderr, even with `--quiet`), and
/// described on the progress lines.
fn open_log(
    a: &ReadArgs,
    meta: &RunMeta,
    stop: &AtomicBool,
    progress: &Progress,
) -> anyhow::Result<ReadLog> {
    let mut data = None;
    let root = match &a.dir {
        Some(d) => d.clone(),
        None => {
            if a.partitions == Some(0) {
                return Err(bad_input("--partitions 0: need at least one partition"));
            }
            let dd = DataDir::acquire(a.data_dir.as_deref(), &meta.id, a.keep)
                .map_err(|e| bad_input(e.to_string()))?;
            let dir = write_log(
                &dd,
                a.size.unwrap_or(DEFAULT_SIZE),
                a.partitions.unwrap_or(DEFAULT_PARTITIONS),
                a.segment_size.unwrap_or(DEFAULT_SEGMENT_SIZE),
                stop,
                progress,
            )?;
            data = Some(dd);
            dir
        }
    };
    let log = LogSet::open(std::slice::from_ref(&root)).map_err(|e| match e {
        LoadError::BadInput(m) => bad_input(m),
        LoadError::Corrupt(e) => {
            anyhow::Error::new(CheckFailed(format!("the log is damaged: {e}")))
        }
    })?;
    // A segment cut short before the partition's last: a check failure with --verify, else
    // a warning on stderr (even with --quiet) and in the results.
    let damage: Vec<String> = log.damage.iter().map(ToString::to_string).collect();
    if a.verify && !damage.is_empty() {
        return Err(anyhow::Error::new(CheckFailed(damage.join("; "))));
    }
    for d in &damage {
        eprintln!("segbench: warning: {d}");
    }
    let segments: usize = log.partitions.iter().map(|p| p.segments.len()).sum();
    progress.line(&format!(
        "log: {} partitions, {} segments, {} in whole batches ({})",
        log.partitions.len(),
        segments,
        results::format::bytes_iec(log.bytes),
        root.display()
    ));
    for n in &log.notes {
        progress.line(&format!("note: {n}"));
    }
    Ok(ReadLog {
        data,
        root,
        log,
        damage,
    })
}

/// The run's warnings: the log's notes, its damage, and the loopback sink's caveat.
fn run_warnings(log: &LogSet, damage: Vec<String>, target: &SinkTarget) -> Vec<String> {
    let mut run_warnings: Vec<String> = log.notes.clone();
    run_warnings.extend(damage);
    if !target.remote {
        run_warnings.push(
            "the sink ran in this process on loopback: no NIC in the path, and the kernel's receive processing is partly charged to the sending threads; use --sink with `segbench sink` on another host or network namespace for network figures"
                .into(),
        );
    }
    run_warnings
}

/// The exit code once the results are delivered: an error for a sink failure (partial
/// results) or failed checks, the signal's code when stopped, 1 when a workload failed.
fn exit_code(
    file: &results::ResultsFile,
    sink_failure: Option<String>,
    check_failures: Vec<String>,
    signals: &crate::signals::StopSignals,
) -> anyhow::Result<u8> {
    if let Some(msg) = sink_failure {
        return Err(anyhow::anyhow!(
            "{msg}; the run stopped there and the results are partial"
        ));
    }
    if !check_failures.is_empty() {
        return Err(anyhow::Error::new(CheckFailed(check_failures.join("; "))));
    }
    if let Some(code) = signals.exit_code() {
        return Ok(code);
    }
    let failed = file
        .workloads
        .iter()
        .any(|w| matches!(w.status, Status::Failed { .. }));
    Ok(if failed { 1 } else { 0 })
}

/// [`precheck`], refusing a run in which no engine can run.
fn reader_precheck(cfgs: &[ReadConfig]) -> anyhow::Result<Vec<Option<String>>> {
    let skips = precheck(cfgs)?;
    if skips.iter().all(|s| s.is_some()) {
        let reasons: Vec<String> = skips.into_iter().flatten().collect();
        return Err(bad_input(reasons.join("; ")));
    }
    Ok(skips)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::read::DEFAULT_FETCH_BYTES;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: ReadArgs,
    }

    fn parse(args: &[&str]) -> ReadArgs {
        T::try_parse_from(std::iter::once("read").chain(args.iter().copied()))
            .unwrap()
            .a
    }

    #[test]
    fn engines_and_caches_make_one_config_each() {
        let c = configs(&parse(&[
            "-e",
            "sendfile",
            "-e",
            "readwrite",
            "--cache",
            "hot",
            "--cache",
            "cold",
        ]))
        .unwrap();
        let names: Vec<String> = c.iter().map(|c| c.name()).collect();
        assert_eq!(
            names,
            [
                "read/sendfile/hot",
                "read/readwrite/hot",
                "read/sendfile/cold",
                "read/readwrite/cold"
            ]
        );
        assert_eq!(configs(&parse(&[])).unwrap().len(), DEFAULT_ENGINES.len());
        assert_eq!(c[0].fetch_size, DEFAULT_FETCH_BYTES);
    }

    #[test]
    fn bad_values_are_bad_input() {
        for (args, needle) in [
            (&["-e", "bogus"][..], "unknown read engine"),
            (&["--cache", "warm"], "--cache 'warm'"),
            (&["--consumers", "0"], "--consumers 0"),
            (&["--groups", "0"], "--groups 0"),
            (&["--repeat", "0"], "--repeat 0"),
            (&["-e", "sendfile", "-e", "sendfile"], "given twice"),
            (
                &["-e", "uring:qd=0"],
                "--engine uring:qd=0: qd=0 is out of range: use 1..=64",
            ),
            (
                &["-e", "splice:pipe"],
                "--engine splice:pipe: option 'pipe' needs a size, e.g. pipe=256KiB",
            ),
        ] {
            let e = configs(&parse(args)).unwrap_err();
            assert!(e.downcast_ref::<crate::BadInput>().is_some(), "{args:?}");
            assert!(e.to_string().contains(needle), "{args:?}: {e}");
        }
        assert!(T::try_parse_from(["read", "--dir", "/x", "--size", "1MiB"]).is_err());
        let e = remote_sink("127.0.0.1:1").unwrap_err();
        assert!(e.to_string().contains("cannot reach the sink"), "{e}");
    }

    /// The same options as flags and as a suite workload give the same configurations.
    #[test]
    fn flags_and_suite_options_give_the_same_configs() {
        let flags = configs(&parse(&[
            "-e",
            "sendfile",
            "-e",
            "uring:qd=4",
            "--cache",
            "cold",
            "--consumers",
            "2",
            "--groups",
            "3",
            "--fetch-size",
            "256KiB",
            "--duration",
            "2s",
            "--verify",
        ]))
        .unwrap();
        let text = "name = \"s\"\n[[workload]]\nkind = \"read\"\nname = \"r\"\nengines = [\"sendfile\", \"uring:qd=4\"]\ncache = \"cold\"\nconsumers = 2\ngroups = 3\nfetch_size = \"256KiB\"\nduration = \"2s\"\nverify = true\n";
        let s = crate::suite::parse(text, std::path::Path::new("s.toml")).unwrap();
        let crate::suite::WorkloadSpec::Read(r) = &s.workloads[0] else {
            panic!("{:?}", s.workloads[0]);
        };
        let suite = crate::suite::config::read_configs(r, &None).unwrap();
        assert_eq!(format!("{flags:?}"), format!("{suite:?}"));
    }
}
