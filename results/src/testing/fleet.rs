//! A fleet fixture: what rank 0 of `segbench fleet run` on three hosts writes, built from three
//! per-host results files with [`crate::fleet`]'s own aggregation (local phase, ring network
//! phase, scaling on 1 and 2 hosts), so the report is tested on realistic figures.
//!
//! The hosts: `node-a` and `node-b` share a hardware fingerprint, `node-c` is slower and has
//! another (so the hardware warning is raised). Each host writes with `write/buffered` (page
//! cache) and `write/uring:direct,qd=8` (device), three repetitions of 1 s each; ring pairs
//! 0 → 1 → 2 → 0 with `sendfile` and `readwrite`.

use crate::fleet::{
    aggregate_phase, hardware_warning, network_rows, scaling_rows, skew_warnings, span_and_skew,
    FleetHost, FleetInfo, FleetPhase, HostPart, PhaseWindow,
};
use crate::hdrlog::START_OFFSET_KEY;
use crate::schema::{Kind, Medium, ResultsFile, WorkloadResult};
use crate::stats;

use super::{buffered_write, file_of, plain_repetition};

/// Host names, in rank order.
pub const FLEET_HOSTS: [&str; 3] = ["node-a", "node-b", "node-c"];
/// Fingerprint of `node-a` and `node-b`.
pub const FINGERPRINT: &str = "3f9a00c1d2e3f405";
/// Fingerprint of `node-c`.
pub const OTHER_FINGERPRINT: &str = "77b1e0c1d2e3f499";
/// Each host's median buffered (page-cache) write, MB/s, in rank order.
pub const BUFFERED_MB_PER_S: [f64; 3] = [500.0, 480.0, 400.0];
/// Each host's median direct (device) write, MB/s, in rank order.
pub const DIRECT_MB_PER_S: [f64; 3] = [250.0, 240.0, 200.0];
/// Each sender's `sendfile` throughput in the ring, MB/s, in rank order (`readwrite` is 60%).
pub const RING_MB_PER_S: [f64; 3] = [1100.0, 1050.0, 900.0];
/// Clock offsets of the ranks, ns, and their uncertainties.
pub const OFFSETS_NS: [(i64, u64); 3] = [(0, 0), (152_300, 41_000), (-87_650, 38_500)];

/// `mbps` as three 1 s repetitions (a little spread) started 1.5 s apart.
fn reps(mbps: f64) -> Vec<crate::schema::Repetition> {
    [0.98, 1.0, 1.01]
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut r = plain_repetition(i as u32, mbps * f * 1e6, 80_000, 0.4);
            r.extra
                .insert(START_OFFSET_KEY.into(), serde_json::json!(i as f64 * 1.5));
            r
        })
        .collect()
}

/// A completed direct (device) write `name` at `mbps`.
fn direct_write(mbps: f64) -> WorkloadResult {
    let mut w = buffered_write("write/uring:direct,qd=8", reps(mbps));
    w.engine = "uring:direct,qd=8".into();
    w.medium = Medium::Device;
    w.config
        .insert("engine".into(), serde_json::json!("uring:direct,qd=8"));
    w
}

/// A completed network read with `engine` at `mbps`, sink CPU recorded.
fn network_read(engine: &str, mbps: f64, cpu_s_per_gb: f64) -> WorkloadResult {
    let mut reps = reps(mbps);
    for r in &mut reps {
        r.cpu_s_per_gb = Some(cpu_s_per_gb);
        r.extra.insert(
            "sink_cpu_s_per_gb".into(),
            serde_json::json!(cpu_s_per_gb * 1.4),
        );
    }
    let mut w = buffered_write(&format!("read/{engine}"), reps);
    w.kind = Kind::Read;
    w.engine = engine.into();
    w.medium = Medium::Network;
    w.summary = stats::summarize(&w.repetitions);
    w
}

/// Rank `rank`'s own results of a local phase, its throughputs scaled by `factor`.
fn host_file(rank: usize, factor: f64) -> ResultsFile {
    let mut f = file_of(vec![
        buffered_write("write/buffered", reps(BUFFERED_MB_PER_S[rank] * factor)),
        direct_write(DIRECT_MB_PER_S[rank] * factor),
    ]);
    f.run.host = FLEET_HOSTS[rank].into();
    f.run.id = format!("20261130T020000Z-f1ee-rank{rank}");
    if let Some(p) = f.probe.as_mut() {
        p.fingerprint = fingerprint(rank).into();
    }
    f
}

fn fingerprint(rank: usize) -> &'static str {
    if rank == 2 {
        OTHER_FINGERPRINT
    } else {
        FINGERPRINT
    }
}

/// Rank `rank`'s window of a phase starting at `start_s` (rank 0's clock) and lasting `len_s`;
/// each rank starts 2 ms after the one before.
fn window(rank: usize, start_s: f64, len_s: f64) -> PhaseWindow {
    let start_ns = ((start_s + rank as f64 * 0.002) * 1e9) as i64;
    PhaseWindow {
        rank: rank as u32,
        start_ns,
        end_ns: start_ns + (len_s * 1e9) as i64,
    }
}

/// Adds up a local phase on `ranks`, started at `start_s`, the last rank `late_s` late.
fn local_phase(
    name: &str,
    ranks: &[usize],
    start_s: f64,
    factor: f64,
    late_s: f64,
) -> (ResultsFile, FleetPhase) {
    let files: Vec<ResultsFile> = ranks.iter().map(|&k| host_file(k, factor)).collect();
    let last = ranks.last().copied();
    let parts: Vec<HostPart<'_>> = ranks
        .iter()
        .zip(&files)
        .map(|(&k, f)| HostPart {
            rank: k as u32,
            file: f,
            window: window(k, start_s + if Some(k) == last { late_s } else { 0.0 }, 4.2),
        })
        .collect();
    aggregate_phase(name, &parts).expect("the hosts' files merge")
}

/// What rank 0 of a three-host `segbench fleet run` writes: the merged local phase as the
/// workloads, the cluster view in `fleet`, its warnings copied to the run's (as the harness
/// does). `node-c`'s hardware differs.
pub fn fleet_results() -> ResultsFile {
    fleet_results_late(0.0)
}

/// [`fleet_results`] with `node-c` starting the local phase `late_s` seconds after the
/// others: from 0.1 s on, the hosts did not run at once and the phase carries the warning.
pub fn fleet_results_late(late_s: f64) -> ResultsFile {
    let t0 = 1_796_000_000.0;
    let (mut file, local) = local_phase("local", &[0, 1, 2], t0, 1.0, late_s);
    let (_, one) = local_phase("scaling/1", &[0], t0 + 20.0, 1.0, 0.0);
    let (_, two) = local_phase("scaling/2", &[0, 1], t0 + 30.0, 0.99, 0.0);
    let mut info = FleetInfo {
        size: 3,
        launcher: "slurm".into(),
        coordinator: "node-a:7420".into(),
        ..Default::default()
    };
    for (k, host) in FLEET_HOSTS.iter().enumerate() {
        info.hosts.push(FleetHost {
            rank: k as u32,
            host: host.to_string(),
            addr: format!("198.18.0.{}", k + 1),
            offset_ns: OFFSETS_NS[k].0,
            uncertainty_ns: OFFSETS_NS[k].1,
            fingerprint: Some(fingerprint(k).into()),
            results_file: Some(format!("rank{k}-{host}.json")),
        });
    }
    let mut windows = Vec::new();
    for (from, &mbps) in RING_MB_PER_S.iter().enumerate() {
        let to = (from + 1) % 3;
        let sent = file_of(vec![
            network_read("sendfile", mbps, 0.35),
            network_read("readwrite", mbps * 0.6, 0.9),
        ]);
        info.network.extend(network_rows(
            from as u32,
            to as u32,
            &sent,
            Some(from as u64 * 3),
        ));
        windows.push(window(from, t0 + 10.0, 6.0));
    }
    let (span_s, start_skew_s) = span_and_skew(&windows);
    let ring = FleetPhase {
        name: "network/ring".into(),
        ranks: vec![0, 1, 2],
        windows,
        span_s,
        start_skew_s,
        workloads: vec![],
        warnings: vec![],
    };
    info.scaling = scaling_rows(&[&local, &one, &two]);
    info.phases = vec![local, ring, one, two];
    for p in &info.phases {
        info.warnings.extend(p.warnings.iter().cloned());
    }
    info.warnings
        .extend(skew_warnings(&info.hosts, &info.phases));
    info.warnings.extend(hardware_warning(&info.hosts));
    file.run.id = "20261130T020000Z-f1ee".into();
    file.warnings.extend(info.warnings.iter().cloned());
    file.fleet = Some(info);
    file
}

/// [`fleet_results`] with every host on the same hardware (no hardware warning).
pub fn fleet_results_same_hardware() -> ResultsFile {
    let mut r = fleet_results();
    let f = r.fleet.as_mut().expect("fleet");
    for h in &mut f.hosts {
        h.fingerprint = Some(FINGERPRINT.into());
    }
    let hw = |w: &String| w.starts_with("the hosts have different");
    f.warnings.retain(|w| !hw(w));
    r.warnings.retain(|w| !hw(w));
    r
}
