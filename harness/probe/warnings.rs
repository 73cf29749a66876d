//! Warnings about a planned run, computed from the probe, and the free-space check that must
//! stop a run before it starts.

use std::path::PathBuf;

use super::Probe;
use results::format::bytes_iec;

/// What a run is about to do, as far as the probe's warnings care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunPlan {
    /// Bytes the run writes (all repetitions' data kept on disk at once).
    pub data_bytes: u64,
    /// Worker threads.
    pub threads: u32,
    /// Whether some engine writes or reads with `O_DIRECT`.
    pub uses_direct: bool,
    /// Whether some engine uses io_uring.
    pub uses_uring: bool,
    /// Whether the flush policy syncs data (anything but `never`).
    pub flushes: bool,
    /// The data directory.
    pub dir: PathBuf,
}

/// One line per condition that makes the run's numbers misleading or slower than the hardware
/// allows. Free space is not among them: see [`check_free_space`].
pub fn warnings(p: &Probe, plan: &RunPlan) -> Vec<String> {
    let mut w = Vec::new();
    if !plan.uses_direct && !plan.flushes {
        if let Some(limit) = p.vm.dirty_limit_bytes {
            if plan.data_bytes < limit {
                w.push(format!(
                    "data set {} is below the dirty limit {} (vm.dirty_ratio/dirty_bytes): buffered writes \
                     may never leave the page cache, so this measures the cache, not the disk",
                    bytes_iec(plan.data_bytes),
                    bytes_iec(limit)
                ));
            }
        }
    }
    if plan.uses_direct && p.storage.direct_io == Some(false) {
        w.push(format!(
            "file system {} at {} does not support O_DIRECT: direct engines will fail",
            p.storage.fs_type.as_deref().unwrap_or("?"),
            p.storage.mount_point.as_deref().unwrap_or("?")
        ));
    }
    if let Some(t) = p.cpu.threads {
        if plan.threads > t {
            w.push(format!(
                "{} threads on {} hardware threads: workers will share CPUs",
                plan.threads, t
            ));
        } else if let Some(c) = p.cpu.cores {
            if plan.threads > c {
                w.push(format!(
                    "{} threads on {} physical cores: some workers share a core (SMT)",
                    plan.threads, c
                ));
            }
        }
    }
    if plan.uses_uring && p.io_uring.enabled == Some(false) {
        w.push(format!(
            "io_uring is disabled: {}",
            p.io_uring
                .disabled_reason
                .as_deref()
                .unwrap_or("reason unknown")
        ));
    }
    if let Some(g) = &p.cpu.governor {
        if g != "performance" {
            w.push(format!("CPU frequency governor is '{g}', not 'performance': results may vary with clock ramp-up"));
        }
    }
    if p.memory.swap_active() {
        w.push(format!(
            "swap is active ({}): page-cache pressure can push memory to swap during the run",
            p.memory
                .swap_total_bytes
                .map(bytes_iec)
                .unwrap_or_else(|| "size unknown".into())
        ));
    }
    if p.storage.available_bytes.is_none() {
        w.push("free space in the data directory is unknown: cannot check the run fits".into());
    }
    if !p.storage.dir.is_empty()
        && !plan.dir.as_os_str().is_empty()
        && std::path::Path::new(&p.storage.dir) != plan.dir
    {
        w.push(format!(
            "the probe describes {} but the run uses {}: storage facts may not apply",
            p.storage.dir,
            plan.dir.display()
        ));
    }
    w
}

/// `Err` (one line) when the data directory has less available space than the run needs; the
/// caller must refuse to start. Unknown free space passes (and [`warnings`] says so).
pub fn check_free_space(p: &Probe, needed_bytes: u64) -> Result<(), String> {
    match p.storage.available_bytes {
        Some(avail) if avail < needed_bytes => Err(format!(
            "not enough free space in {} (mount {}): the run needs {} but only {} is available",
            p.storage.dir,
            p.storage.mount_point.as_deref().unwrap_or("?"),
            bytes_iec(needed_bytes),
            bytes_iec(avail)
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> Probe {
        let mut p = Probe::default();
        p.cpu.threads = Some(4);
        p.cpu.cores = Some(2);
        p.vm.dirty_limit_bytes = Some(1 << 30);
        p.storage.dir = "/data".into();
        p.storage.available_bytes = Some(10 << 30);
        p.storage.direct_io = Some(true);
        p.io_uring.enabled = Some(true);
        p.cpu.governor = Some("performance".into());
        p
    }

    fn plan() -> RunPlan {
        RunPlan {
            data_bytes: 4 << 30,
            threads: 2,
            dir: "/data".into(),
            ..RunPlan::default()
        }
    }

    #[test]
    fn a_clean_setup_has_no_warnings() {
        assert_eq!(warnings(&probe(), &plan()), Vec::<String>::new());
    }

    #[test]
    fn each_condition_warns() {
        let has = |p: &Probe, plan: &RunPlan, needle: &str| {
            warnings(p, plan).iter().any(|w| w.contains(needle))
        };
        let small = RunPlan {
            data_bytes: 100 << 20,
            ..plan()
        };
        assert!(has(&probe(), &small, "dirty limit"));
        assert!(!has(
            &probe(),
            &RunPlan {
                flushes: true,
                ..small.clone()
            },
            "dirty limit"
        ));
        assert!(!has(
            &probe(),
            &RunPlan {
                uses_direct: true,
                ..small
            },
            "dirty limit"
        ));

        let mut p = probe();
        p.storage.direct_io = Some(false);
        assert!(has(
            &p,
            &RunPlan {
                uses_direct: true,
                ..plan()
            },
            "O_DIRECT"
        ));
        assert!(!has(&p, &plan(), "O_DIRECT"));

        assert!(has(
            &probe(),
            &RunPlan {
                threads: 8,
                ..plan()
            },
            "8 threads on 4 hardware threads"
        ));
        assert!(has(
            &probe(),
            &RunPlan {
                threads: 3,
                ..plan()
            },
            "physical cores"
        ));

        let mut p = probe();
        p.io_uring.enabled = Some(false);
        p.io_uring.disabled_reason = Some("disabled by sysctl kernel.io_uring_disabled=2".into());
        assert!(has(
            &p,
            &RunPlan {
                uses_uring: true,
                ..plan()
            },
            "io_uring_disabled=2"
        ));
        assert!(!has(&p, &plan(), "io_uring"));

        let mut p = probe();
        p.cpu.governor = Some("powersave".into());
        assert!(has(&p, &plan(), "powersave"));

        let mut p = probe();
        p.memory.swap_total_bytes = Some(2 << 30);
        assert!(has(&p, &plan(), "swap is active"));

        assert!(has(
            &probe(),
            &RunPlan {
                dir: "/elsewhere".into(),
                ..plan()
            },
            "/elsewhere"
        ));
    }

    #[test]
    fn free_space_is_an_error_not_a_warning() {
        let p = probe();
        assert!(check_free_space(&p, 1 << 30).is_ok());
        let e = check_free_space(&p, 20 << 30).unwrap_err();
        assert!(e.contains("not enough free space in /data"), "{e}");
        assert!(!e.contains('\n'));
        assert!(warnings(
            &p,
            &RunPlan {
                data_bytes: 20 << 30,
                ..plan()
            }
        )
        .iter()
        .all(|w| !w.contains("free space")));
        let mut unknown = probe();
        unknown.storage.available_bytes = None;
        assert!(check_free_space(&unknown, u64::MAX).is_ok());
    }
}
