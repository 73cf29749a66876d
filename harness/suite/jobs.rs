//! A checked suite as the executor's jobs ([`crate::runner::execute`]): each workload's
//! runner configurations built (and so checked) before any work, through its kind's one
//! conversion ([`super::config`], [`super::replicate`], [`super::mixed`]); a write workload's
//! `best` engine is configured when its turn comes.

use std::path::PathBuf;

use super::{config, sweep_points, until_steady, Suite, WorkloadSpec};
use crate::runner::execute::{Job, MixedJob, ReadJob, ReplicateJob, WriteJob};
use crate::runner::read::prepare::{DEFAULT_PARTITIONS, DEFAULT_SIZE};

/// The jobs of suite `s`, in order; `snap_dir` holds mixed workloads' snapshots and
/// checkpoints. The error is one line naming the workload.
pub fn jobs<'a>(s: &'a Suite, snap_dir: Option<&PathBuf>) -> Result<Vec<Job<'a>>, String> {
    let default_repeat = s.repeat.unwrap_or(3);
    let mut out = Vec::new();
    for w in &s.workloads {
        let bad = |m: String| format!("workload '{}': {m}", w.name());
        let repeat = w.repeat().unwrap_or(default_repeat);
        let job = match w {
            WorkloadSpec::Write(x) => {
                let points = sweep_points(x.sweep.as_ref());
                for e in x.engines.iter().filter(|e| *e != "best") {
                    for p in &points {
                        config::write_config(x, e, p).map_err(bad)?;
                    }
                }
                Job::Write(WriteJob {
                    name: x.name.clone(),
                    engines: x.engines.clone(),
                    points,
                    repeat,
                    verify: w.verify(),
                    until_steady: until_steady(w),
                    config: Box::new(move |e, p| config::write_config(x, e, p)),
                })
            }
            WorkloadSpec::Read(x) => {
                let mut points = Vec::new();
                for p in sweep_points(x.sweep.as_ref()) {
                    let cfgs = config::read_configs(x, &p).map_err(bad)?;
                    points.push((p, cfgs));
                }
                let log_size = match &x.size {
                    Some(z) => workloads::units::parse_size(z).map_err(|e| bad(e.0))?,
                    None => DEFAULT_SIZE,
                };
                Job::Read(ReadJob {
                    name: x.name.clone(),
                    engines: x.engines.clone(),
                    points,
                    repeat,
                    log_size,
                    log_partitions: x.partitions.unwrap_or(DEFAULT_PARTITIONS),
                })
            }
            WorkloadSpec::Replicate(x) => Job::Replicate(ReplicateJob {
                name: x.name.clone(),
                cfgs: super::replicate::configs(x, repeat).map_err(bad)?,
                acks: x
                    .acks
                    .as_deref()
                    .unwrap_or(super::replicate::DEFAULT_ACKS)
                    .split(',')
                    .map(|a| a.trim().to_string())
                    .collect(),
                repeat,
            }),
            WorkloadSpec::Mixed(x) => Job::Mixed(MixedJob {
                cfg: super::mixed::config(x, snap_dir).map_err(bad)?,
                repeat,
                verify: w.verify(),
            }),
        };
        out.push(job);
    }
    Ok(out)
}
