//! The sample results file `tests/fixtures/results/sample.json`, generated here so it always
//! matches the schema: a `kafka`-preset-like run on a 2-core VM with write and read workloads,
//! three repetitions each with timelines and whole histograms, a skipped and a failed engine,
//! partition and queue-depth sweeps and warnings, and the probe of a 2-core cloud VM.

use std::collections::BTreeMap;

use crate::probe::{
    BlockDevice, Cpu, Host, IoUringInfo, Memory, Micro, Nic, Probe, Storage, VmSettings,
};
use crate::schema::*;
use crate::{hist, stats};

/// Why the SQPOLL engine was skipped.
pub const SKIP_REASON: &str =
    "io_uring SQPOLL needs CAP_SYS_NICE on this kernel (io_uring_setup: EPERM)";

/// A deterministic generator (SplitMix64), so the fixture is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Roughly standard normal (Irwin–Hall of 4 uniforms, scaled).
    fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.unit()).sum::<f64>() - 2.0) * 3f64.sqrt()
    }
}

/// How a workload's throughput moves over a repetition.
#[derive(Clone, Copy)]
enum Shape {
    /// Steady around the mean.
    Steady,
    /// Page cache absorbs writes at `burst`× the mean for the first `burst_s`, then
    /// writeback speed with a stall every second.
    CacheBurst { burst: f64, burst_s: f64 },
}

struct Spec {
    name: String,
    kind: Kind,
    engine: String,
    medium: Medium,
    mb_per_s: Vec<f64>,
    cpu_s_per_gb: f64,
    latency_p50_ns: f64,
    /// Log-normal sigma of the latency body.
    spread: f64,
    /// Share of batches hitting a stall, and the stall multiplier.
    tail: (f64, f64),
    shape: Shape,
    elapsed_s: f64,
    batch_bytes: u64,
    config: BTreeMap<String, serde_json::Value>,
    warnings: Vec<String>,
}

fn timeline(rng: &mut Rng, bytes: u64, elapsed_s: f64, shape: Shape) -> Timeline {
    let dt = 0.1;
    let n = (elapsed_s / dt).ceil() as usize;
    let weights: Vec<f64> = (0..n)
        .map(|i| {
            let t = i as f64 * dt;
            let w = match shape {
                Shape::Steady => 1.0,
                Shape::CacheBurst { burst, burst_s } => {
                    if t < burst_s {
                        burst
                    } else if (t - burst_s) % 1.0 < 0.15 {
                        0.12
                    } else {
                        0.75
                    }
                }
            };
            let len = (elapsed_s - t).min(dt) / dt;
            (w * (1.0 + 0.06 * rng.normal())).max(0.01) * len
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut out: Vec<u64> = weights
        .iter()
        .map(|w| (bytes as f64 * w / total) as u64)
        .collect();
    let sum: u64 = out.iter().sum();
    if let Some(last) = out.last_mut() {
        *last += bytes - sum;
    }
    Timeline {
        interval_s: dt,
        bytes: out,
    }
}

fn workload(rng: &mut Rng, s: Spec) -> WorkloadResult {
    let repetitions: Vec<Repetition> = s
        .mb_per_s
        .iter()
        .enumerate()
        .map(|(i, &mb)| {
            let elapsed_s = s.elapsed_s * (1.0 + 0.002 * i as f64);
            let bytes = (mb * 1e6 * elapsed_s) as u64;
            let batches = (bytes / s.batch_bytes).max(1);
            let records = match s.kind {
                Kind::Write => batches * (s.batch_bytes / 1024).max(1),
                Kind::Read => bytes / 1024,
            };
            // Record at most 60 000 latencies; scale the counts to the batches.
            let samples = batches.min(60_000);
            let weight = (batches / samples).max(1);
            let mut h = hist::new_hist();
            let rep_shift = 1.0 + 0.04 * rng.normal();
            for _ in 0..samples {
                let mut v = s.latency_p50_ns * rep_shift * (s.spread * rng.normal()).exp();
                if rng.unit() < s.tail.0 {
                    v *= s.tail.1 * (0.5 + rng.unit());
                }
                hist::record_n(&mut h, v as u64, weight);
            }
            let cpu = s.cpu_s_per_gb * (1.0 + 0.05 * rng.normal());
            let cpu_total = cpu * bytes as f64 / 1e9;
            let flush =
                (s.config.get("flush").and_then(|f| f.as_str()) == Some("batch")).then(|| {
                    let mut fh = hist::new_hist();
                    for _ in 0..samples.min(5000) {
                        hist::record(&mut fh, (900_000.0 * (0.4 * rng.normal()).exp()) as u64);
                    }
                    hist::summarize(&fh)
                });
            Repetition {
                index: i as u32,
                bytes,
                records,
                batches,
                elapsed_s,
                throughput_bytes_per_s: bytes as f64 / elapsed_s,
                records_per_s: records as f64 / elapsed_s,
                cpu_user_s: cpu_total * 0.35,
                cpu_sys_s: cpu_total * 0.65,
                cpu_s_per_gb: Some(cpu_total / (bytes as f64 / 1e9)),
                device_bytes: match (s.kind, s.medium) {
                    (Kind::Write, Medium::Device) => Some(bytes + bytes / 97),
                    (Kind::Write, _) => Some(bytes),
                    _ => None,
                },
                storage_io_bytes: Some(match s.medium {
                    Medium::PageCache => bytes / 3,
                    _ => bytes,
                }),
                latency_ns: hist::summarize(&h),
                flush_latency_ns: flush,
                roll_latency_ns: None,
                timeline: timeline(rng, bytes, elapsed_s, s.shape),
                threads: (0..2)
                    .map(|t| ThreadStats {
                        index: t,
                        bytes: bytes / 2 + if t == 0 { bytes % 2 } else { 0 },
                        cpu_user_s: cpu_total * 0.35 / 2.0,
                        cpu_sys_s: cpu_total * 0.65 / 2.0,
                    })
                    .collect(),
                context_switches: Some(batches / 3 + 120),
                harness_overhead_ratio: Some(0.0012),
                extra: BTreeMap::new(),
                nic_traffic: Vec::new(),
            }
        })
        .collect();
    WorkloadResult {
        name: s.name,
        kind: s.kind,
        engine: s.engine,
        config: s.config,
        status: Status::Completed,
        medium: s.medium,
        summary: stats::summarize(&repetitions),
        repetitions,
        warnings: s.warnings,
        mixed: None,
    }
}

fn config(pairs: &[(&str, serde_json::Value)]) -> BTreeMap<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The sample results, with a cloud VM's hardware probe.
pub fn results() -> ResultsFile {
    let mut rng = Rng(0x5e9b_e4c4);
    let write_cfg = |engine: &str| {
        config(&[
            ("engine", serde_json::json!(engine)),
            ("partitions", serde_json::json!(4)),
            ("threads", serde_json::json!(2)),
            ("record_size_bytes", serde_json::json!(1024)),
            ("batch_size_bytes", serde_json::json!(16384)),
            ("segment_size_bytes", serde_json::json!(1u64 << 30)),
            ("flush", serde_json::json!("never")),
            ("duration_s", serde_json::json!(4.0)),
        ])
    };
    let write = |name: &str, engine: &str, medium, mb: [f64; 3], cpu, p50, shape| Spec {
        name: format!("write/{name}"),
        kind: Kind::Write,
        engine: engine.into(),
        medium,
        mb_per_s: mb.to_vec(),
        cpu_s_per_gb: cpu,
        latency_p50_ns: p50,
        spread: 0.45,
        tail: (0.002, 80.0),
        shape,
        elapsed_s: 4.0,
        batch_bytes: 16384,
        config: write_cfg(engine),
        warnings: vec![],
    };
    let burst = Shape::CacheBurst {
        burst: 2.6,
        burst_s: 1.0,
    };
    let mut buffered = write(
        "buffered",
        "buffered",
        Medium::PageCache,
        [1480.0, 1530.0, 1390.0],
        0.62,
        7_800.0,
        burst,
    );
    buffered.warnings.push(
        "wrote 6.1 GB with a dirty limit of 1.42 GB: the first second is page cache, the rest writeback speed"
            .into(),
    );
    let mmap = write(
        "mmap",
        "mmap",
        Medium::PageCache,
        [1150.0, 1210.0, 1100.0],
        0.71,
        10_500.0,
        burst,
    );
    let direct = write(
        "direct",
        "direct",
        Medium::Device,
        [412.0, 431.0, 405.0],
        0.38,
        148_000.0,
        Shape::Steady,
    );
    let mut uring = write(
        "uring:qd=8,direct",
        "uring:qd=8,direct",
        Medium::Device,
        [781.0, 812.0, 760.0],
        0.29,
        310_000.0,
        Shape::Steady,
    );
    uring.tail = (0.004, 12.0);

    let read_cfg = |engine: &str, cache: &str, groups: u32| {
        config(&[
            ("engine", serde_json::json!(engine)),
            ("partitions", serde_json::json!(4)),
            ("consumers", serde_json::json!(2)),
            ("groups", serde_json::json!(groups)),
            ("cache", serde_json::json!(cache)),
            ("fetch_size_bytes", serde_json::json!(1_048_576)),
            ("duration_s", serde_json::json!(2.0)),
        ])
    };
    let read = |group: &str, engine: &str, mb: [f64; 3], cpu, p50| {
        let (cache, groups) = if group == "read-hot" {
            ("hot", 2)
        } else {
            ("cold", 1)
        };
        Spec {
            name: format!("{group}/{engine}"),
            kind: Kind::Read,
            engine: engine.into(),
            medium: Medium::Network,
            mb_per_s: mb.to_vec(),
            cpu_s_per_gb: cpu,
            latency_p50_ns: p50,
            spread: 0.3,
            tail: (0.001, 15.0),
            shape: Shape::Steady,
            elapsed_s: 2.0,
            batch_bytes: 1_048_576,
            config: read_cfg(engine, cache, groups),
            warnings: vec![],
        }
    };
    let hot_sendfile = read(
        "read-hot",
        "sendfile",
        [2910.0, 3050.0, 2800.0],
        0.34,
        330_000.0,
    );
    let hot_readwrite = read(
        "read-hot",
        "readwrite",
        [1790.0, 1850.0, 1700.0],
        0.61,
        560_000.0,
    );
    let hot_splice = read(
        "read-hot",
        "splice",
        [2480.0, 2600.0, 2390.0],
        0.41,
        400_000.0,
    );
    let mut cold_sendfile = read(
        "read-cold",
        "sendfile",
        [405.0, 431.0, 398.0],
        0.22,
        2_500_000.0,
    );
    cold_sendfile
        .warnings
        .push("cold reads: 0.4% of pages were still resident after eviction (mincore)".into());
    let cold_readwrite = read(
        "read-cold",
        "readwrite",
        [388.0, 420.0, 380.0],
        0.36,
        2_650_000.0,
    );

    let sweep_point =
        |rng: &mut Rng, group: &str, engine: &str, param: &str, value: u32, mb: f64, p50: f64| {
            let mut cfg = write_cfg(engine);
            cfg.insert("sweep".into(), serde_json::json!(param));
            cfg.insert("sweep_value".into(), serde_json::json!(value));
            cfg.insert("duration_s".into(), serde_json::json!(2.0));
            if param == "partitions" {
                cfg.insert("partitions".into(), serde_json::json!(value));
            }
            let (medium, shape) = if engine == "buffered" {
                (Medium::PageCache, burst)
            } else {
                (Medium::Device, Shape::Steady)
            };
            let jitter = 0.03 * rng.normal();
            workload(
                rng,
                Spec {
                    name: format!("{group}/{param}={value}/{engine}"),
                    kind: Kind::Write,
                    engine: engine.into(),
                    medium,
                    mb_per_s: vec![mb * (0.97 + jitter), mb * (1.03 + jitter)],
                    cpu_s_per_gb: 0.5,
                    latency_p50_ns: p50,
                    spread: 0.4,
                    tail: (0.002, 30.0),
                    shape,
                    elapsed_s: 2.0,
                    batch_bytes: 16384,
                    config: cfg,
                    warnings: vec![],
                },
            )
        };

    let mut workloads = vec![
        workload(&mut rng, buffered),
        workload(&mut rng, mmap),
        workload(&mut rng, direct),
        workload(&mut rng, uring),
        WorkloadResult {
            name: "write/uring:qd=8,direct,sqpoll".into(),
            kind: Kind::Write,
            engine: "uring:qd=8,direct,sqpoll".into(),
            config: write_cfg("uring:qd=8,direct,sqpoll"),
            status: Status::Skipped {
                reason: SKIP_REASON.into(),
            },
            medium: Medium::Device,
            repetitions: vec![],
            summary: None,
            warnings: vec![],
            mixed: None,
        },
        workload(&mut rng, hot_sendfile),
        workload(&mut rng, hot_readwrite),
        workload(&mut rng, hot_splice),
        WorkloadResult {
            name: "read-hot/uring".into(),
            kind: Kind::Read,
            engine: "uring".into(),
            config: read_cfg("uring", "hot", 2),
            status: Status::Failed {
                error: "io_uring SPLICE to a socket returned EINVAL on this kernel".into(),
            },
            medium: Medium::Network,
            repetitions: vec![],
            summary: None,
            warnings: vec![],
            mixed: None,
        },
        workload(&mut rng, cold_sendfile),
        workload(&mut rng, cold_readwrite),
    ];
    for (p, mb) in [
        (1, 640.0),
        (2, 1060.0),
        (4, 1470.0),
        (8, 1530.0),
        (16, 1490.0),
    ] {
        workloads.push(sweep_point(
            &mut rng,
            "scale-partitions",
            "buffered",
            "partitions",
            p,
            mb,
            7_500.0 * p as f64 / 4.0,
        ));
    }
    for (qd, mb) in [(1, 96.0), (4, 341.0), (16, 688.0), (64, 721.0)] {
        let engine = format!("uring:direct,qd={qd}");
        workloads.push(sweep_point(
            &mut rng,
            "scale-qd",
            &engine,
            "qd",
            qd,
            mb,
            170_000.0 * qd as f64 / (mb / 96.0),
        ));
    }

    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "segbench".into(),
            version: "0.1.0".into(),
            git: Some("v0.1.0-14-g3c5e9a1".into()),
        },
        run: RunInfo {
            id: "20261124T101500Z-3f9a".into(),
            start_time: "2026-11-24T10:15:00Z".into(),
            host: "bench-01".into(),
            command_line: vec!["segbench".into(), "run".into(), "--preset".into(), "kafka".into()],
        },
        probe: Some(probe()),
        baseline: Baseline::default(),
        workloads,
        warnings: vec![
            "storage: rotational=1 reported by sda under virtualisation: the flag is unreliable there".into(),
            "the virtio disk's speed varies about 3x between runs on cloud VMs: compare medians, not single runs".into(),
        ],
        interrupted: false,
        fleet: None,
    }
}

/// A 2-core cloud VM with a virtio persistent disk, as `segbench probe` sees it.
fn probe() -> Probe {
    let disk = BlockDevice {
        name: "sda".into(),
        kind: "disk".into(),
        dev: Some("8:0".into()),
        size_bytes: Some(107_374_182_400),
        model: Some("PersistentDisk".into()),
        vendor: Some("Google".into()),
        driver: Some("virtio_scsi".into()),
        rotational: Some(true),
        logical_block_bytes: Some(512),
        physical_block_bytes: Some(4096),
        optimal_io_bytes: Some(0),
        scheduler: Some("mq-deadline".into()),
        schedulers_available: vec!["mq-deadline".into(), "none".into()],
        nr_requests: Some(256),
        max_request_bytes: Some(1_048_576),
        read_ahead_bytes: Some(131_072),
        write_cache: Some("write back".into()),
        discard: Some(true),
        ..Default::default()
    };
    let part = BlockDevice {
        name: "sda1".into(),
        kind: "partition".into(),
        dev: Some("8:1".into()),
        size_bytes: Some(107_372_085_248),
        lower: vec!["sda".into()],
        ..Default::default()
    };
    Probe {
        host: Host {
            hostname: Some("bench-01".into()),
            kernel_release: Some("6.1.0-26-cloud-amd64".into()),
            kernel_version: Some("#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1".into()),
            arch: Some("x86_64".into()),
            distribution: Some("Debian GNU/Linux 12 (bookworm)".into()),
            virtualization: Some("kvm".into()),
            container: None,
            clock_source: Some("kvm-clock".into()),
            clock_sources_available: vec!["kvm-clock".into(), "tsc".into(), "acpi_pm".into()],
        },
        cpu: Cpu {
            model: Some("AMD EPYC 7B13".into()),
            sockets: Some(1),
            cores: Some(1),
            threads: Some(2),
            numa_nodes: Some(1),
            governor: None,
            scaling_driver: None,
            max_frequency_hz: None,
            current_frequency_hz: Some(2_450_000_000),
        },
        memory: Memory {
            total_bytes: Some(8_341_966_848),
            available_bytes: Some(7_120_000_000),
            free_bytes: Some(5_900_000_000),
            dirty_bytes: Some(1_200_000),
            swap_total_bytes: Some(0),
            swap_free_bytes: Some(0),
            swap_devices: Some(0),
            thp_enabled: Some("madvise".into()),
            ..Default::default()
        },
        vm: VmSettings {
            dirty_ratio_percent: Some(20),
            dirty_background_ratio_percent: Some(10),
            dirty_bytes: Some(0),
            dirty_background_bytes: Some(0),
            dirty_expire_ms: Some(30_000),
            dirty_writeback_ms: Some(5_000),
            swappiness: Some(60),
            dirty_limit_bytes: Some(1_424_000_000),
            dirty_background_limit_bytes: Some(712_000_000),
        },
        storage: Storage {
            dir: "/home/bench".into(),
            canonical_dir: Some("/home/bench".into()),
            mount_point: Some("/".into()),
            fs_type: Some("ext4".into()),
            mount_source: Some("/dev/sda1".into()),
            mount_options: Some("rw,relatime,discard,errors=remount-ro".into()),
            dev: Some("8:1".into()),
            total_bytes: Some(105_089_261_568),
            free_bytes: Some(80_000_000_000),
            available_bytes: Some(74_600_000_000),
            direct_io: Some(true),
            dio_mem_align_bytes: Some(512),
            dio_offset_align_bytes: Some(512),
            devices: vec![part, disk],
            ..Default::default()
        },
        nics: vec![
            Nic {
                name: "ens4".into(),
                state: Some("up".into()),
                mtu_bytes: Some(1460),
                speed_mbit_per_s: None,
                driver: Some("virtio_net".into()),
                rx_queues: Some(2),
                tx_queues: Some(2),
                addresses: vec!["198.18.2.7/32".into()],
                ..Default::default()
            },
            Nic {
                name: "lo".into(),
                state: Some("unknown".into()),
                mtu_bytes: Some(65536),
                virtual_device: true,
                rx_queues: Some(1),
                tx_queues: Some(1),
                addresses: vec!["127.0.0.1/8".into(), "::1/128".into()],
                ..Default::default()
            },
        ],
        io_uring: IoUringInfo {
            enabled: Some(true),
            disabled_reason: None,
            sysctl_disabled: Some(0),
            seccomp_mode: Some(0),
            opcodes_supported: vec!["READ".into(), "WRITE".into(), "FSYNC".into(), "SEND".into(), "SPLICE".into()],
            opcodes_unsupported: vec![],
            features: vec!["SINGLE_MMAP".into(), "NODROP".into(), "FAST_POLL".into(), "SUBMIT_STABLE".into()],
            sqpoll_allowed: Some(false),
            registered_buffers_allowed: Some(true),
            memlock_limit_bytes: Some(8_388_608),
            memlock_unlimited: false,
        },
        micro: Some(Micro {
            memcpy_bytes_per_s: Some(9.8e9),
            first_touch_bytes_per_s: Some(0.52e9),
            clock_read_ns: Some(21.5),
            loopback_tcp_bytes_per_s: Some(3.1e9),
        }),
        probe_elapsed_ns: 812_000_000,
        fingerprint: "5f0c2a9e71d3b846".into(),
        fingerprint_source: "cpu=AMD EPYC 7B13;threads=2;mem=8341966848;disk=PersistentDisk".into(),
        notes: vec![
            "cpu: no cpufreq in a VM: governor and frequency unknown".into(),
            "storage: rotational=1 reported by sda under virtualisation: the flag is unreliable there".into(),
        ],
        unknown_fields: Default::default(),
    }
}
