//! `segbench write`: compares write engines on Kafka-format (or raw) segment logs.

use workloads::kafka::log::LogFormat;
use workloads::{write, EngineSpec, FlushPolicy, SyncKind};

use crate::bad_input;
use crate::cli::WriteArgs;
use crate::commands::common;
use crate::datadir::DataDir;
use crate::meta::RunMeta;
use crate::runner::progress::Progress;
use crate::runner::write::WriteConfig;
use crate::runner::{run_writes, RunOptions};

/// Engines compared when none is given.
pub const DEFAULT_ENGINES: &[&str] = &["buffered", "mmap", "direct", "uring:qd=8,direct"];

/// Default bytes per repetition when neither --size nor --duration is given.
pub const DEFAULT_SIZE: u64 = 256 << 20;

/// Turns the arguments into one configuration per engine; every bad value is a [`crate::BadInput`].
pub fn configs(a: &WriteArgs) -> anyhow::Result<Vec<WriteConfig>> {
    let names: Vec<String> = if a.engines.is_empty() {
        DEFAULT_ENGINES.iter().map(|s| s.to_string()).collect()
    } else {
        a.engines.clone()
    };
    let flush: FlushPolicy = a
        .flush
        .parse()
        .map_err(|e: String| bad_input(format!("--flush {e}")))?;
    let sync: SyncKind = a
        .sync
        .parse()
        .map_err(|e: String| bad_input(format!("--sync {e}")))?;
    let format = match a.format.as_str() {
        "kafka" => LogFormat::Kafka,
        "raw" => LogFormat::Raw,
        other => return Err(bad_input(format!("--format '{other}': use kafka or raw"))),
    };
    if a.repeat == 0 {
        return Err(bad_input("--repeat 0: need at least one repetition"));
    }
    let size = match (a.size, a.duration) {
        (None, None) => Some(DEFAULT_SIZE),
        (s, _) => s,
    };
    let mut out = Vec::new();
    for n in names {
        let engine: EngineSpec = n
            .parse()
            .map_err(|e: workloads::EngineError| bad_input(format!("--engine {e}")))?;
        if !write::ENGINE_NAMES.contains(&engine.name.as_str()) {
            return Err(bad_input(format!(
                "--engine '{}': unknown write engine; use one of {}",
                engine.name,
                write::ENGINE_NAMES.join(", ")
            )));
        }
        let cfg = WriteConfig {
            engine,
            topic: a.topic.clone(),
            partitions: a.partitions,
            threads: a.threads,
            record_size: a.record_size as usize,
            batch_size: a.batch_size as usize,
            segment_size: a.segment_size,
            index_interval: a.index_interval,
            preallocate: a.preallocate,
            retention: a.retention,
            flush,
            sync,
            format,
            size,
            duration: a.duration,
            rate: a.rate,
        };
        cfg.shape().map_err(bad_input)?;
        out.push(cfg);
    }
    Ok(out)
}

/// Checks each engine's options and support on the data directory. Invalid options are bad input;
/// engines this machine cannot run are returned as skip reasons.
pub fn precheck(
    cfgs: &[WriteConfig],
    dir: &std::path::Path,
) -> anyhow::Result<Vec<Option<String>>> {
    let mut skips = Vec::new();
    for c in cfgs {
        let len = c.shape().map_err(bad_input)?.batch_bytes;
        match write::build(&c.engine, dir, len) {
            Ok(_) => skips.push(None),
            Err(e) if e.is_unsupported() => skips.push(Some(e.to_string())),
            Err(e) => return Err(bad_input(format!("--engine {e}"))),
        }
    }
    Ok(skips)
}

/// What the probe's warnings and free-space check need to know: the bytes on disk at once
/// (one repetition's data, or all of them with --keep), threads, engines, flushing.
fn run_plan(cfgs: &[WriteConfig], a: &WriteArgs, dir: &std::path::Path) -> crate::probe::RunPlan {
    let per_rep = cfgs.iter().filter_map(|c| c.size).max().unwrap_or(0);
    let at_once = if a.keep {
        per_rep * a.repeat as u64 * cfgs.len() as u64
    } else {
        per_rep
    };
    let capped = match a.retention {
        Some(r) => at_once.min(
            r.saturating_add(a.segment_size)
                * a.partitions as u64
                * if a.keep {
                    a.repeat as u64 * cfgs.len() as u64
                } else {
                    1
                },
        ),
        None => at_once,
    };
    crate::probe::RunPlan {
        data_bytes: capped,
        threads: a.threads,
        uses_direct: cfgs
            .iter()
            .any(|c| c.engine.name == "direct" || c.engine.flag("direct")),
        uses_uring: cfgs.iter().any(|c| c.engine.name == "uring"),
        flushes: cfgs
            .iter()
            .any(|c| c.flush.flushes() || c.sync == SyncKind::Dsync),
        dir: dir.to_path_buf(),
    }
}

/// Runs `segbench write`.
pub fn run(a: WriteArgs) -> anyhow::Result<u8> {
    let cfgs = configs(&a)?;
    let meta = RunMeta::now();
    let data = DataDir::acquire(a.dir.as_deref(), &meta.id, a.keep)
        .map_err(|e| bad_input(e.to_string()))?;
    let skips = precheck(&cfgs, data.path())?;
    if skips.iter().all(|s| s.is_some()) {
        let reasons: Vec<String> = skips.into_iter().flatten().collect();
        return Err(bad_input(reasons.join("; ")));
    }
    let progress = Progress::new(a.output.quiet);
    for s in skips.iter().flatten() {
        progress.line(&format!("skipping: {s}"));
    }
    let mut run_warnings = Vec::new();
    let probe = if a.output.no_probe {
        None
    } else {
        let p = crate::probe::probe(&crate::probe::ProbeOptions {
            dir: data.path().to_path_buf(),
            micro: false,
        });
        let plan = run_plan(&cfgs, &a, data.path());
        crate::probe::check_free_space(&p, plan.data_bytes).map_err(bad_input)?;
        run_warnings = crate::probe::warnings(&p, &plan);
        Some(p)
    };
    let opts = RunOptions {
        repeat: a.repeat,
        warmup: a.warmup,
        keep: a.keep,
        verify: a.verify,
    };
    let signals = crate::signals::install();
    let data = [data];
    let outcome = run_writes(
        &cfgs,
        &opts,
        &data,
        workloads::pacing::best_clock().0,
        &signals.stop,
        &progress,
    );
    let [data] = data;
    let kept = data.finish();
    let file = common::results_file(
        &meta,
        probe,
        results::Baseline::default(),
        outcome.workloads,
        run_warnings,
        outcome.interrupted,
    );
    common::emit_json(&file, a.output.out.as_deref(), a.output.json)?;
    common::emit_hdr_logs(&file, a.output.hdr_log.as_deref())?;
    let table = common::terminal_report(&file);
    if a.output.json {
        eprint!("{table}");
    } else {
        print!("{table}");
    }
    if let Some(k) = kept {
        progress.line(&format!("data kept in {}", k.display()));
    }
    common::finish(&file, outcome.check_failures, signals)
}
