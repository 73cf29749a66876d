//! Per-node limits taken from a results file: the disk write figure of the best (or the
//! chosen) write workload in Kafka's format, the read path of the best sendfile read (the path
//! a broker serves consumers by), and the disk capacity and NIC speed from the hardware probe.

use super::inputs::{CapacityError, Figure, NodeLimits};
use crate::figures::RowKind;
use crate::format;
use crate::probe::Probe;
use crate::schema::{Medium, ResultsFile, Status, WorkloadResult};

fn best<'a>(ws: impl Iterator<Item = &'a WorkloadResult>) -> Option<(&'a WorkloadResult, f64)> {
    ws.filter_map(|w| crate::merge::usable_median(w).map(|m| (w, m)))
        .fold(
            None,
            |acc: Option<(&WorkloadResult, f64)>, (w, m)| match acc {
                Some((_, b)) if b >= m => acc,
                _ => Some((w, m)),
            },
        )
}

fn measured(w: &WorkloadResult, m: f64, what: &str) -> Figure {
    match crate::merge::hosts_median(w) {
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

/// True when every repetition of `w` ran until steady and was steady (SNIA PTS,
/// [`crate::steady`]): a sustained figure, not a short run's.
fn is_steady(w: &WorkloadResult) -> bool {
    !w.repetitions.is_empty()
        && w.repetitions
            .iter()
            .all(|r| r.steady().is_some_and(|s| s.steady))
}

/// The note saying a steady figure was preferred, and over which figure not shown steady (the
/// best of the short or never-settled runs) when one exists.
fn steady_note(w: &WorkloadResult, m: f64, short: Option<(&WorkloadResult, f64)>) -> String {
    let over = match short {
        Some((s, sm)) => format!(
            " over figures not shown steady (short runs, or runs that never settled) such as {} ({})",
            s.name,
            format::mb_per_s(sm)
        ),
        None => String::new(),
    };
    format!(
        "disk write: preferred the steady figure of {} ({}, run in rounds until steady by the SNIA PTS criteria){over}: capacity plans need sustained figures",
        w.name,
        format::mb_per_s(m)
    )
}

/// True when `w` wrote `--format raw`: no record batches and no indexes, a path no Kafka broker
/// runs (a row without the key wrote the default, Kafka's format).
fn is_raw_format(w: &WorkloadResult) -> bool {
    w.config.get("format").and_then(|v| v.as_str()) == Some("raw")
}

/// The write rows a broker's disk limit may come from: plain writes in Kafka's format; raw-format
/// rows only when the results hold no other write (with a note). The note also names a faster
/// raw row left out.
fn broker_writes<'a>(r: &'a ResultsFile, notes: &mut Vec<String>) -> Vec<&'a WorkloadResult> {
    let writes: Vec<&WorkloadResult> = (r.workloads.iter())
        .filter(|w| RowKind::of(w) == RowKind::Write)
        .collect();
    let (raw, kafka): (Vec<&WorkloadResult>, Vec<&WorkloadResult>) =
        writes.iter().partition(|w| is_raw_format(w));
    if kafka.is_empty() {
        if !raw.is_empty() {
            notes.push(
                "disk write: only --format raw writes in the results (no record batches, no \
                 indexes): the figure overstates what a broker's log appends sustain"
                    .to_string(),
            );
        }
        return raw;
    }
    // A faster raw row is named, against the Kafka rows of its own medium.
    if let Some((rw, rm)) = best(raw.iter().copied()) {
        let km = best(kafka.iter().copied().filter(|k| k.medium == rw.medium)).map(|x| x.1);
        if !matches!(km, Some(km) if km >= rm) {
            notes.push(format!(
                "disk write: left out {} ({}), a --format raw row: a broker writes Kafka's \
                 record batches and indexes",
                rw.name,
                format::mb_per_s(rm)
            ));
        }
    }
    kafka
}

/// The disk write figure: the chosen engine's (its steady result first), else the best steady
/// device-medium write, else the best device-medium write, else the best page-cache write
/// (labelled as such); among Kafka-format rows ([`broker_writes`]).
fn disk_write(
    r: &ResultsFile,
    engine: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Option<Figure>, CapacityError> {
    // A replication workload's produce rate (`segbench replicate`) is not a disk's write
    // bandwidth, nor is a mixed workload's part (paced, or sharing the disk): only plain
    // writes set the disk limit ([`replication_cost`] weighs replication).
    let broker = broker_writes(r, notes);
    let writes = || broker.iter().copied();
    if let Some(e) = engine {
        let matches: Vec<&WorkloadResult> = writes()
            .filter(|w| w.engine == e || w.name == e || w.name == format!("write/{e}"))
            .collect();
        if matches.is_empty() {
            let names: Vec<&str> = writes().map(|w| w.engine.as_str()).collect();
            let only_raw = r
                .workloads
                .iter()
                .any(|w| RowKind::of(w) == RowKind::Write && is_raw_format(w) && w.engine == e);
            return Err(CapacityError::Engine {
                engine: e.to_string(),
                reason: if only_raw {
                    "is in the results only as --format raw writes, a path no broker runs; \
                     run it in Kafka's format"
                        .to_string()
                } else if names.is_empty() {
                    "is not in the results: they hold no write workload".to_string()
                } else {
                    format!(
                        "is not in the results; write engines there: {}",
                        names.join(", ")
                    )
                },
            });
        }
        // A figure run until steady is the sustained one: preferred over the same engine's
        // short runs.
        let steady: Vec<&WorkloadResult> =
            matches.iter().copied().filter(|w| is_steady(w)).collect();
        if let Some((w, m)) = best(steady.iter().copied()) {
            notes.push(steady_note(
                w,
                m,
                best(matches.iter().copied().filter(|x| !is_steady(x))),
            ));
            return Ok(Some(measured(w, m, "device, steady")));
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
    if let Some((w, m)) = best(writes().filter(|w| w.medium == Medium::Device && is_steady(w))) {
        let short = best(writes().filter(|w| w.medium == Medium::Device && !is_steady(w)));
        notes.push(steady_note(w, m, short));
        return Ok(Some(measured(w, m, "device, steady")));
    }
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

/// The read path's figure: the best `sendfile` read, the path a Kafka broker serves plaintext
/// consumers by; another engine only when the results hold no sendfile read. A note names a
/// faster engine left out, or says no sendfile row was there.
fn read_path(r: &ResultsFile, notes: &mut Vec<String>) -> Option<Figure> {
    let reads = || (r.workloads.iter()).filter(|w| RowKind::of(w) == RowKind::Read);
    let is_sendfile = |w: &&WorkloadResult| w.engine.split(':').next() == Some("sendfile");
    let any = best(reads());
    let (w, m) = match best(reads().filter(is_sendfile)) {
        Some((w, m)) => {
            if let Some((fw, fm)) = any.filter(|(_, fm)| *fm > m) {
                notes.push(format!(
                    "read path: {} ({}), the path a broker serves consumers by, over the faster {} \
                     ({})",
                    w.name,
                    format::mb_per_s(m),
                    fw.name,
                    format::mb_per_s(fm)
                ));
            }
            (w, m)
        }
        None => {
            let (w, m) = any?;
            notes.push(format!(
                "read path: no sendfile read in the results (Kafka's consumer path); using {}",
                w.name
            ));
            (w, m)
        }
    };
    Some(measured(w, m, format::medium_label(w.medium)))
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
///   exists, with a note); results run until steady (all repetitions steady) are preferred over
///   short runs, with a note;
/// - read path: the median of the best completed `sendfile` read (Kafka's consumer path; another
///   engine only when there is none, with a note); write rows in `--format raw` are left out
///   of the disk write (used only when nothing else was written, with a note);
/// - disk capacity: the probe's storage `total_bytes` (else available or free bytes);
/// - NIC in and out: the probe's fastest non-loopback interface speed (full duplex).
pub fn limits_from_results_for(
    r: &ResultsFile,
    engine: Option<&str>,
) -> Result<NodeLimits, CapacityError> {
    let mut notes = Vec::new();
    let disk_write_bytes_per_s = disk_write(r, engine, &mut notes)?;
    let read_path_bytes_per_s = read_path(r, &mut notes);
    notes.extend(crate::host_cache::suspects(&r.workloads, r.probe.as_ref()));
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

/// The measured replication cost, when the results have replication rows (`segbench
/// replicate`, suite kind `replicate`), in place of the formula's assumptions; a note says
/// which was used.
///
/// - Replicated appends: the acks=all row (else acks=1) produced W with every byte appended by
///   the leader and, measured, `m` more times by the followers (m = follower bytes / produced,
///   r − 1 when they kept up), all on this host with the fetches served: the host sustains
///   `W·(1 + m)` bytes/s of log appends with replication (the producer and the consumer
///   threads ran on it too, so this errs low). A broker's disk writes are r·W/N,
///   so when that is below the plain disk write figure it is the disk write limit (the
///   replication pipeline binds before the disk); otherwise the plain figure stands.
/// - NIC out: the formula sends r − 1 bytes to followers per produced byte; when the leader
///   sent more (`m > r − 1`, e.g. fetch framing), the NIC out limit is scaled by (r − 1)/m.
fn replication_cost(
    r: &ResultsFile,
    disk: Option<Figure>,
    nic_out: Option<Figure>,
    notes: &mut Vec<String>,
) -> (Option<Figure>, Option<Figure>) {
    let rows = crate::replication::rows(r);
    let pick = |acks: &str| rows.iter().find(|x| x.acks == acks && x.bytes_per_s > 0.0);
    let Some(row) = pick("all").or_else(|| pick("1")) else {
        return (disk, nic_out);
    };
    let Some(m) = row.follower_bytes_per_produced else {
        return (disk, nic_out);
    };
    let formula_m = row.rf.saturating_sub(1) as f64;
    let appends = row.bytes_per_s * (1.0 + m);
    let what = format!(
        "{} median {} × (1 + {} follower bytes per produced byte, rf {})",
        row.w.name,
        format::mb_per_s(row.bytes_per_s),
        format::sig(m),
        row.rf
    );
    let disk = match disk {
        Some(d) if d.value <= appends => {
            notes.push(format!(
                "replication (rf > 1): measured {what} = {} of replicated appends per node, above the disk \
                 write figure: the formula's r·W over {} stands",
                format::mb_per_s(appends),
                format::mb_per_s(d.value)
            ));
            Some(d)
        }
        d => {
            let over = d.map_or(" (none in the results)".to_string(), |d| {
                format!(" ({})", format::mb_per_s(d.value))
            });
            notes.push(format!(
                "disk write with replication (rf > 1): used the measured replication cost, \
                 not the plain disk write figure{over}: this host's replicated appends bind first"
            ));
            Some(Figure::new(
                appends,
                format!(
                    "measured replication: {what}, appends of every replica on this host, \
                     its producer and consumer running there too"
                ),
            ))
        }
    };
    let nic_out = match nic_out {
        Some(n) if formula_m > 0.0 && m > formula_m * (1.0 + 1e-6) => {
            notes.push(format!(
                "NIC out: the leader sent {} bytes per produced byte to its followers (measured, \
                 {}), not the formula's r − 1 = {}: its limit is scaled by {}",
                format::sig(m),
                row.w.name,
                formula_m,
                format::ratio(formula_m / m)
            ));
            Some(Figure::new(
                n.value * formula_m / m,
                format!("{} × (r − 1)/{} measured", n.source, format::sig(m)),
            ))
        }
        n => {
            if formula_m > 0.0 {
                notes.push(format!(
                    "NIC out: the leader sent {} bytes per produced byte to its followers \
                 (measured, {}), as the formula's r − 1",
                    format::sig(m),
                    row.w.name
                ));
            }
            n
        }
    };
    (disk, nic_out)
}

/// `limits` for a plan with replication factor `rf`: with rf > 1 and replication rows in `r`,
/// the measured replication cost in place of the formula's assumptions (`replication_cost`),
/// with notes saying which was used; unchanged otherwise (rf 1 replicates nothing).
pub fn with_measured_replication(r: &ResultsFile, limits: NodeLimits, rf: u32) -> NodeLimits {
    if rf <= 1 {
        return limits;
    }
    let mut l = limits;
    let (disk, nic_out) = replication_cost(
        r,
        l.disk_write_bytes_per_s.take(),
        l.nic_out_bytes_per_s.take(),
        &mut l.notes,
    );
    l.disk_write_bytes_per_s = disk;
    l.nic_out_bytes_per_s = nic_out;
    l
}

/// Per-node limits from a results file for the report ([`limits_from_results_for`] with the
/// best write engine); `None` when the file has no usable disk write figure.
pub fn limits_from_results(r: &ResultsFile) -> Option<NodeLimits> {
    limits_from_results_for(r, None)
        .ok()
        .filter(|l| l.disk_write_bytes_per_s.is_some())
}

#[cfg(test)]
mod tests;
