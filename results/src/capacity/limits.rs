//! Per-node limits taken from a results file: the disk write figure of the best (or the
//! chosen) write workload, the read path of the best read workload, and the disk capacity
//! and NIC speed from the hardware probe.

use super::model::{CapacityError, Figure, NodeLimits};
use crate::format;
use crate::probe::Probe;
use crate::schema::{Kind, Medium, ResultsFile, Status, WorkloadResult};

fn usable_median(w: &WorkloadResult) -> Option<f64> {
    if !matches!(w.status, Status::Completed) {
        return None;
    }
    let m = match hosts_median(w) {
        Some((m, _)) => m,
        None => w.summary.as_ref()?.throughput_bytes_per_s.median,
    };
    (m.is_finite() && m > 0.0).then_some(m)
}

/// For a result merged from several hosts (`segbench merge`, `segbench fleet`), whose own
/// throughput is the hosts' sum: the median of the hosts' own figures over all repetitions,
/// and how many hosts there were. `None` for a single host's result.
fn hosts_median(w: &WorkloadResult) -> Option<(f64, usize)> {
    let hosts = crate::merge::host_count(w);
    (hosts > 1).then(|| {
        let figures: Vec<f64> = w
            .repetitions
            .iter()
            .flat_map(crate::merge::host_figures)
            .map(|f| f.throughput_bytes_per_s)
            .collect();
        (crate::stats::median(&figures), hosts)
    })
}

fn best<'a>(ws: impl Iterator<Item = &'a WorkloadResult>) -> Option<(&'a WorkloadResult, f64)> {
    ws.filter_map(|w| usable_median(w).map(|m| (w, m))).fold(
        None,
        |acc: Option<(&WorkloadResult, f64)>, (w, m)| match acc {
            Some((_, b)) if b >= m => acc,
            _ => Some((w, m)),
        },
    )
}

fn measured(w: &WorkloadResult, m: f64, what: &str) -> Figure {
    match hosts_median(w) {
        Some((_, n)) => Figure::new(
            m,
            format!(
                "measured: {} median per host, over {n} hosts ({what})",
                w.name
            ),
        ),
        None => Figure::new(m, format!("measured: {} median ({what})", w.name)),
    }
}

/// The disk write figure: the chosen engine's, else the best device-medium write, else the
/// best page-cache write (labelled as such).
fn disk_write(
    r: &ResultsFile,
    engine: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Option<Figure>, CapacityError> {
    // A replication workload's produce rate (`segbench replicate`) is not a disk's write
    // bandwidth, nor is a mixed workload's part (paced, or sharing the disk): only plain
    // writes set the disk limit.
    let writes = || {
        r.workloads.iter().filter(|w| {
            w.kind == Kind::Write && !w.name.starts_with("replicate/") && w.mixed.is_none()
        })
    };
    if let Some(e) = engine {
        let matches: Vec<&WorkloadResult> = writes()
            .filter(|w| w.engine == e || w.name == e || w.name == format!("write/{e}"))
            .collect();
        if matches.is_empty() {
            let names: Vec<&str> = writes().map(|w| w.engine.as_str()).collect();
            return Err(CapacityError::Engine {
                engine: e.to_string(),
                reason: if names.is_empty() {
                    "is not in the results: they hold no write workload".to_string()
                } else {
                    format!(
                        "is not in the results; write engines there: {}",
                        names.join(", ")
                    )
                },
            });
        }
        let Some((w, m)) = best(matches.iter().copied()) else {
            let why = match &matches[0].status {
                Status::Skipped { reason } => format!("was skipped ({reason})"),
                Status::Failed { error } => format!("failed ({error})"),
                Status::Interrupted => "was interrupted".to_string(),
                Status::Completed => "has no throughput summary".to_string(),
            };
            return Err(CapacityError::Engine {
                engine: e.to_string(),
                reason: format!("{why}: no figure to plan with"),
            });
        };
        if w.medium != Medium::Device {
            notes.push(format!(
                "{} measured the {}, not the disk: its figure overstates sustained disk bandwidth",
                w.name,
                format::medium_label(w.medium)
            ));
        }
        return Ok(Some(measured(w, m, format::medium_label(w.medium))));
    }
    let device = best(writes().filter(|w| w.medium == Medium::Device));
    let cache = best(writes().filter(|w| w.medium == Medium::PageCache));
    match (device, cache) {
        (Some((w, m)), cache) => {
            if let Some((cw, cm)) = cache {
                if cm > m {
                    notes.push(format!(
                        "disk write: preferred the device result {} ({}) over the faster page-cache result \
                         {} ({}), which measures memory, not the disk",
                        w.name,
                        format::mb_per_s(m),
                        cw.name,
                        format::mb_per_s(cm)
                    ));
                }
            }
            Ok(Some(measured(w, m, "device")))
        }
        (None, Some((w, m))) => {
            notes.push(format!(
                "disk write: no completed write reached the device; using the page-cache result {}, \
                 which overstates sustained disk bandwidth (pass --disk-bw to override)",
                w.name
            ));
            Ok(Some(measured(w, m, "page cache")))
        }
        (None, None) => Ok(None),
    }
}

/// A probe's count or size when it is known and positive.
fn positive(v: Option<u64>) -> Option<u64> {
    v.filter(|x| *x > 0)
}

/// Disk capacity from the probe's storage section: the file system's total size, else the
/// space available or free.
fn disk_capacity(probe: &Probe) -> Option<Figure> {
    let storage = &probe.storage;
    let place = storage
        .mount_point
        .as_deref()
        .or(Some(storage.dir.as_str()).filter(|d| !d.is_empty()))
        .unwrap_or("the data directory");
    let free = positive(storage.free_bytes).or_else(|| positive(storage.available_bytes));
    if let Some(total) = positive(storage.total_bytes) {
        let free = free
            .map(|f| format!(", {} free", format::bytes_iec(f)))
            .unwrap_or_default();
        return Some(Figure::new(
            total as f64,
            format!("probe: storage total_bytes of {place}{free}"),
        ));
    }
    for (key, v) in [
        ("available_bytes", storage.available_bytes),
        ("free_bytes", storage.free_bytes),
    ] {
        if let Some(v) = positive(v) {
            return Some(Figure::new(
                v as f64,
                format!("probe: storage {key} of {place}"),
            ));
        }
    }
    None
}

/// NIC speed from the probe's interface list: the fastest non-loopback interface with a known
/// speed (physical ones, or bonds); bytes/s.
fn nic_speed(probe: &Probe) -> Option<Figure> {
    let mut best: Option<(String, u64)> = None;
    for nic in &probe.nics {
        let name = nic.name.as_str();
        if name.is_empty() || name == "lo" {
            continue;
        }
        // veth, bridges and tunnels report made-up speeds; bonds aggregate real links.
        if nic.virtual_device && !(name.starts_with("bond") || name.starts_with("team")) {
            continue;
        }
        let Some(speed) = positive(nic.speed_mbit_per_s) else {
            continue;
        };
        match &best {
            Some((_, s)) if speed <= *s => {}
            _ => best = Some((name.to_string(), speed)),
        }
    }
    let (name, mbit) = best?;
    Some(Figure::new(
        mbit as f64 * 1e6 / 8.0,
        format!("probe: {name} speed {mbit} Mbit/s"),
    ))
}

/// Per-node limits from a results file, with `engine` choosing the write workload (by engine
/// spec or workload name) instead of the best one. Figures the file does not hold are `None`;
/// the error is only for an `engine` without a usable result.
///
/// - disk write: the median throughput of the chosen engine's write workload, or of the best
///   completed write whose medium is the device (page-cache results only when no device result
///   exists, with a note);
/// - read path: the median of the best completed read workload;
/// - disk capacity: the probe's storage `total_bytes` (else available or free bytes);
/// - NIC in and out: the probe's fastest non-loopback interface speed (full duplex).
pub fn limits_from_results_for(
    r: &ResultsFile,
    engine: Option<&str>,
) -> Result<NodeLimits, CapacityError> {
    let mut notes = Vec::new();
    let disk_write_bytes_per_s = disk_write(r, engine, &mut notes)?;
    let read_path_bytes_per_s = best(
        r.workloads
            .iter()
            .filter(|w| w.kind == Kind::Read && w.mixed.is_none()),
    )
    .map(|(w, m)| measured(w, m, format::medium_label(w.medium)));
    let probe = r.probe.as_ref();
    let nic = probe.and_then(nic_speed);
    if r.interrupted {
        notes.push(
            "the results file is from an interrupted run: figures may be partial".to_string(),
        );
    }
    Ok(NodeLimits {
        disk_write_bytes_per_s,
        read_path_bytes_per_s,
        nic_in_bytes_per_s: nic.clone(),
        nic_out_bytes_per_s: nic,
        disk_capacity_bytes: probe.and_then(disk_capacity),
        notes,
    })
}

/// Per-node limits from a results file for the report ([`limits_from_results_for`] with the
/// best write engine); `None` when the file has no usable disk write figure.
pub fn limits_from_results(r: &ResultsFile) -> Option<NodeLimits> {
    limits_from_results_for(r, None)
        .ok()
        .filter(|l| l.disk_write_bytes_per_s.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{capacity_probe as probe, results_with, workload_with as workload};

    const MB: f64 = 1e6;

    #[test]
    fn a_replication_workload_is_not_a_disk_write_figure() {
        let r = results_with(
            vec![
                workload("replicate/acks=1", Kind::Write, Medium::Device, 900.0 * MB),
                workload("write/direct", Kind::Write, Medium::Device, 400.0 * MB),
            ],
            None,
        );
        let d = limits_from_results(&r)
            .unwrap()
            .disk_write_bytes_per_s
            .unwrap();
        assert_eq!(d.value, 400.0 * MB);
    }

    #[test]
    fn a_mixed_workloads_part_is_not_a_disk_figure() {
        let snapshot = crate::testing::mixed_row("m", "snapshot", true, &[], 1000, 900.0);
        let r = results_with(
            vec![
                snapshot,
                workload("write/direct", Kind::Write, Medium::Device, 400.0 * MB),
            ],
            None,
        );
        let d = limits_from_results(&r)
            .unwrap()
            .disk_write_bytes_per_s
            .unwrap();
        assert_eq!(d.value, 400.0 * MB);
    }

    #[test]
    fn a_result_merged_from_hosts_gives_a_per_host_figure_not_their_sum() {
        let r = crate::testing::fleet_results();
        let l = limits_from_results(&r).unwrap();
        let d = l.disk_write_bytes_per_s.unwrap();
        let w = r
            .workloads
            .iter()
            .find(|w| d.source.contains(w.name.as_str()))
            .unwrap();
        let sum = w.summary.as_ref().unwrap().throughput_bytes_per_s.median;
        assert!(d.value < sum * 0.6, "{} vs the sum {sum}", d.value);
        assert!(
            d.source.contains("median per host, over 3 hosts"),
            "{}",
            d.source
        );
    }

    #[test]
    fn limits_from_results_prefers_device_writes_and_reads_the_probe() {
        let r = results_with(
            vec![
                workload(
                    "write/buffered",
                    Kind::Write,
                    Medium::PageCache,
                    2000.0 * MB,
                ),
                workload("write/direct", Kind::Write, Medium::Device, 400.0 * MB),
                workload(
                    "write/uring:direct,qd=8",
                    Kind::Write,
                    Medium::Device,
                    600.0 * MB,
                ),
                workload("write/null", Kind::Write, Medium::Memory, 9000.0 * MB),
                workload("read/sendfile", Kind::Read, Medium::Network, 1600.0 * MB),
                workload("read/readwrite", Kind::Read, Medium::Network, 1000.0 * MB),
            ],
            probe(),
        );
        let l = limits_from_results(&r).unwrap();
        let d = l.disk_write_bytes_per_s.as_ref().unwrap();
        assert_eq!(d.value, 600.0 * MB);
        assert_eq!(
            d.source,
            "measured: write/uring:direct,qd=8 median (device)"
        );
        assert!(
            l.notes
                .iter()
                .any(|n| n.contains("preferred the device result")),
            "{:?}",
            l.notes
        );
        let rp = l.read_path_bytes_per_s.as_ref().unwrap();
        assert_eq!(
            (rp.value, rp.source.as_str()),
            (1600.0 * MB, "measured: read/sendfile median (network)")
        );
        let nic = l.nic_in_bytes_per_s.as_ref().unwrap();
        assert_eq!(nic.value, 1250.0 * MB);
        assert_eq!(nic.source, "probe: eth0 speed 10000 Mbit/s");
        assert_eq!(l.nic_out_bytes_per_s, l.nic_in_bytes_per_s);
        let s = l.disk_capacity_bytes.as_ref().unwrap();
        assert_eq!(s.value, 2e12);
        assert!(
            s.source.starts_with("probe: storage total_bytes of /data"),
            "{}",
            s.source
        );

        // A chosen engine wins even when slower; a page-cache engine is flagged.
        let l = limits_from_results_for(&r, Some("direct")).unwrap();
        assert_eq!(l.disk_write_bytes_per_s.unwrap().value, 400.0 * MB);
        let l = limits_from_results_for(&r, Some("buffered")).unwrap();
        assert!(l
            .disk_write_bytes_per_s
            .unwrap()
            .source
            .contains("page cache"));
        assert!(
            l.notes.iter().any(|n| n.contains("overstates")),
            "{:?}",
            l.notes
        );
        let e = limits_from_results_for(&r, Some("mmap")).unwrap_err();
        assert!(e.to_string().contains("buffered, direct"), "{e}");
    }

    #[test]
    fn limits_from_results_falls_back_and_tolerates_odd_probes() {
        // Only page-cache writes: used, with a note; a probe of another shape: no NIC, no disk.
        let mut skipped = workload("write/uring:sqpoll", Kind::Write, Medium::Device, 0.0);
        skipped.status = Status::Skipped {
            reason: "io_uring is disabled".into(),
        };
        let r = results_with(
            vec![
                workload(
                    "write/buffered",
                    Kind::Write,
                    Medium::PageCache,
                    2000.0 * MB,
                ),
                skipped,
            ],
            Some(Probe::from_json_lenient(serde_json::json!(
                {"cpus": 2, "nics": "eth0", "storage": {"total_bytes": -1}}
            ))),
        );
        let l = limits_from_results(&r).unwrap();
        assert!(l
            .disk_write_bytes_per_s
            .unwrap()
            .source
            .contains("page cache"));
        assert!(l
            .notes
            .iter()
            .any(|n| n.contains("no completed write reached the device")));
        assert_eq!(l.nic_in_bytes_per_s, None);
        assert_eq!(l.disk_capacity_bytes, None);
        assert_eq!(l.read_path_bytes_per_s, None);
        let e = limits_from_results_for(&r, Some("uring:sqpoll")).unwrap_err();
        assert!(
            e.to_string().contains("skipped (io_uring is disabled)"),
            "{e}"
        );
        // Nothing usable at all.
        let r = results_with(vec![], None);
        assert_eq!(limits_from_results(&r), None);
    }
}
