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

/// Bytes the suite's data directories hold at once, known before it runs, for the free-space
/// check ([`crate::budget::check_space`]): the largest workload's (they run one after another
/// and each removes its data), or with `keep` every workload's, all repetitions. A write
/// workload holds its `size`, or what its retention keeps when less (`best` and duration-bound
/// rows are not known in advance), a read
/// workload its log, a replicate workload its log once per replica, a mixed workload its read
/// parts' logs and its snapshots and checkpoints.
pub fn data_bytes(jobs: &[Job<'_>], keep: bool) -> u64 {
    let each = jobs.iter().map(|j| match j {
        Job::Write(w) => {
            let mut largest = 0u64;
            let mut rows = 0u64;
            for e in w.engines.iter().filter(|e| *e != "best") {
                for p in &w.points {
                    let size = (w.config)(e, p).map_or(0, |c| c.held_bytes());
                    largest = largest.max(size);
                    rows += 1;
                }
            }
            if keep {
                largest.saturating_mul(rows.saturating_mul(u64::from(w.repeat)))
            } else {
                largest
            }
        }
        Job::Read(r) => r.log_size,
        Job::Replicate(r) => {
            let one = r
                .cfgs
                .first()
                .map_or(0, |c| c.size.unwrap_or(0).saturating_mul(u64::from(c.rf)));
            if keep {
                one.saturating_mul(r.cfgs.len() as u64 * u64::from(r.repeat))
            } else {
                one
            }
        }
        Job::Mixed(m) => m.cfg.data_bytes(),
    });
    if keep {
        each.fold(0, u64::saturating_add)
    } else {
        each.max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// A suite's data at once: its largest workload (each removes its data), every workload's
    /// with `keep`; a replicate workload counts once per replica.
    #[test]
    fn a_suite_needs_its_largest_workload_or_all_of_them_kept() {
        let text = "name = \"s\"\nrepeat = 2\n\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"null\", \"buffered\"]\nsize = \"8MiB\"\n\n[[workload]]\nkind = \"read\"\nname = \"r\"\nengines = [\"sendfile\"]\nsize = \"16MiB\"\n\n[[workload]]\nkind = \"replicate\"\nname = \"p\"\nrf = 3\nsize = \"4MiB\"\n";
        let s = super::super::parse(text, Path::new("s.toml")).unwrap();
        let j = jobs(&s, None).unwrap();
        assert_eq!(data_bytes(&j, false), 16 << 20);
        // 8 MiB x 2 engines x 2 repetitions + 16 MiB + 4 MiB x 3 replicas x 3 acks modes x 2.
        assert_eq!(data_bytes(&j, true), (32 << 20) + (16 << 20) + (72 << 20));
        // A retention keeps less than the size: (8 MiB + one 4 MiB segment) x 2 partitions.
        let kept = "name = \"s\"\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"null\"]\nsize = \"1GiB\"\nretention = \"8MiB\"\nsegment_size = \"4MiB\"\npartitions = 2\n";
        let s = super::super::parse(kept, Path::new("s.toml")).unwrap();
        assert_eq!(data_bytes(&jobs(&s, None).unwrap(), false), 24 << 20);
    }
}
