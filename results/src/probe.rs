//! The hardware probe's data: plain serde structs, units in field names, `None` for what the
//! probe could not find. `segbench probe` fills them from `/proc` and `/sys` (the collectors live
//! in the harness, `harness/probe/`); results files carry them as `probe`, and the capacity
//! model, the report's machine section, compare and merge read their fields.
//!
//! Every struct is `#[serde(default)]`, so a probe written by an older segbench (with fewer
//! fields) still loads; [`Probe::from_json_lenient`] also loads one whose fields have changed
//! type, leaving out (with a note) what it cannot read.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// Everything the probe found. Units are in field names; unknown values are `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Probe {
    /// Host and kernel.
    pub host: Host,
    /// Processor.
    pub cpu: Cpu,
    /// Memory and swap.
    pub memory: Memory,
    /// Writeback and VM settings.
    pub vm: VmSettings,
    /// Storage behind the data directory.
    pub storage: Storage,
    /// Network interfaces, by name.
    pub nics: Vec<Nic>,
    /// io_uring availability.
    pub io_uring: IoUringInfo,
    /// Micro-probe results, when run.
    pub micro: Option<Micro>,
    /// Wall time the probe took.
    pub probe_elapsed_ns: u64,
    /// Hardware fingerprint: 16 hex digits of FNV-1a 64 over `fingerprint_source`.
    pub fingerprint: String,
    /// The canonical text hashed into the fingerprint (to see why two fingerprints differ).
    pub fingerprint_source: String,
    /// Why fields are unknown, and caveats.
    pub notes: Vec<String>,
    /// Top-level fields this version does not know (written by another segbench version), kept
    /// as written so that merge and the report's JSON view lose nothing. Empty for a probe taken
    /// by this version.
    #[serde(flatten)]
    pub unknown_fields: BTreeMap<String, serde_json::Value>,
}

impl Probe {
    /// The hardware fingerprint, or `None` when the probe has none (empty).
    pub fn fingerprint(&self) -> Option<&str> {
        Some(self.fingerprint.as_str()).filter(|f| !f.is_empty())
    }

    /// Reads a probe as JSON without failing: a field whose value does not fit this version's
    /// type (a probe from another segbench version, or a hand-written one) is left at its
    /// default, with a note naming it; unknown fields land in
    /// [`unknown_fields`](Probe::unknown_fields). A value that is not a JSON object gives an
    /// empty probe with a note.
    pub fn from_json_lenient(v: serde_json::Value) -> Probe {
        if let Ok(p) = Probe::deserialize(&v) {
            return p;
        }
        let serde_json::Value::Object(map) = v else {
            return Probe {
                notes: vec![format!(
                    "probe: not a JSON object ({}): nothing could be read",
                    json_kind(&v)
                )],
                ..Probe::default()
            };
        };
        let mut kept = serde_json::Map::new();
        let mut left_out = Vec::new();
        for (k, val) in map {
            let single = serde_json::Value::Object(std::iter::once((k.clone(), val)).collect());
            match Probe::deserialize(&single) {
                Ok(_) => {
                    if let serde_json::Value::Object(m) = single {
                        kept.extend(m);
                    }
                }
                Err(e) => left_out.push(format!(
                    "probe: field `{k}` does not fit this version's schema ({e}): left out"
                )),
            }
        }
        // Every field that is left parses on its own, so together they do too.
        let mut p = Probe::deserialize(serde_json::Value::Object(kept)).unwrap_or_default();
        p.notes.extend(left_out);
        p
    }
}

/// The JSON type of `v`, for a note.
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Reads a results file's `probe` with [`Probe::from_json_lenient`], so a probe from another
/// segbench version never stops the file from loading; `null` or a missing field is `None`.
pub(crate) fn deserialize_optional<'de, D>(d: D) -> Result<Option<Probe>, D::Error>
where
    D: Deserializer<'de>,
{
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.filter(|v| !v.is_null()).map(Probe::from_json_lenient))
}

/// The machine and its kernel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Host {
    /// Host name (`/proc/sys/kernel/hostname`).
    pub hostname: Option<String>,
    /// Kernel release, as `uname -r` prints it (`/proc/sys/kernel/osrelease`).
    pub kernel_release: Option<String>,
    /// Kernel build string (`/proc/sys/kernel/version`).
    pub kernel_version: Option<String>,
    /// Machine architecture (`/proc/sys/kernel/arch`, else the binary's target).
    pub arch: Option<String>,
    /// Distribution name (`PRETTY_NAME` of `/etc/os-release`).
    pub distribution: Option<String>,
    /// Hypervisor: `none`, a name (`kvm`, `qemu`, `vmware`, `hyperv`, `xen`, `amazon`, `google`,
    /// ...), or `vm` when the CPU says it runs under a hypervisor that cannot be named.
    pub virtualization: Option<String>,
    /// Container runtime when detectable (`docker`, `podman`, `lxc`, `kubernetes`).
    pub container: Option<String>,
    /// Current clock source (`tsc`, `kvm-clock`, `hpet`, ...).
    pub clock_source: Option<String>,
    /// Available clock sources.
    pub clock_sources_available: Vec<String>,
}

/// Processor model and topology.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cpu {
    /// Model name (`model name` of `/proc/cpuinfo`; implementer/part codes on Arm).
    pub model: Option<String>,
    /// Physical packages.
    pub sockets: Option<u32>,
    /// Physical cores over all sockets.
    pub cores: Option<u32>,
    /// Online hardware threads (logical CPUs).
    pub threads: Option<u32>,
    /// NUMA nodes (`/sys/devices/system/node/node*`).
    pub numa_nodes: Option<u32>,
    /// cpufreq governor(s) of the online CPUs, comma-joined when they differ.
    pub governor: Option<String>,
    /// cpufreq scaling driver (`intel_pstate`, `acpi-cpufreq`, `amd-pstate`, ...).
    pub scaling_driver: Option<String>,
    /// Maximum frequency (cpufreq `cpuinfo_max_freq`).
    pub max_frequency_hz: Option<u64>,
    /// Current frequency of the first CPU as `/proc/cpuinfo` reports it (varies; not in the
    /// fingerprint).
    pub current_frequency_hz: Option<u64>,
}

/// Main memory and swap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Memory {
    /// `MemTotal`.
    pub total_bytes: Option<u64>,
    /// `MemAvailable`: what new work can use without swapping (free plus reclaimable cache).
    pub available_bytes: Option<u64>,
    /// `MemFree`.
    pub free_bytes: Option<u64>,
    /// `Dirty`: page-cache data waiting for writeback now.
    pub dirty_bytes: Option<u64>,
    /// Reserved huge pages (`HugePages_Total`).
    pub hugepages_total: Option<u64>,
    /// Free reserved huge pages (`HugePages_Free`).
    pub hugepages_free: Option<u64>,
    /// Default huge page size (`Hugepagesize`).
    pub hugepage_size_bytes: Option<u64>,
    /// Transparent huge page mode (`always`, `madvise`, `never`).
    pub thp_enabled: Option<String>,
    /// Transparent huge page defragmentation mode.
    pub thp_defrag: Option<String>,
    /// `SwapTotal`.
    pub swap_total_bytes: Option<u64>,
    /// `SwapFree`.
    pub swap_free_bytes: Option<u64>,
    /// Active swap areas (lines of `/proc/swaps`).
    pub swap_devices: Option<u32>,
}

impl Memory {
    /// True when swap is configured (some swap area or a non-zero `SwapTotal`).
    pub fn swap_active(&self) -> bool {
        self.swap_total_bytes.unwrap_or(0) > 0 || self.swap_devices.unwrap_or(0) > 0
    }
}

/// Kernel writeback (`vm.dirty_*`) and swap settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VmSettings {
    /// `vm.dirty_ratio`: percent of dirtyable memory at which writers are throttled.
    pub dirty_ratio_percent: Option<u64>,
    /// `vm.dirty_background_ratio`: percent at which background writeback starts.
    pub dirty_background_ratio_percent: Option<u64>,
    /// `vm.dirty_bytes` (0 = the ratio applies).
    pub dirty_bytes: Option<u64>,
    /// `vm.dirty_background_bytes` (0 = the ratio applies).
    pub dirty_background_bytes: Option<u64>,
    /// `vm.dirty_expire_centisecs`, in ms: age at which dirty data is written back.
    pub dirty_expire_ms: Option<u64>,
    /// `vm.dirty_writeback_centisecs`, in ms: flusher wake-up interval.
    pub dirty_writeback_ms: Option<u64>,
    /// `vm.swappiness`.
    pub swappiness: Option<u64>,
    /// Effective throttling limit: `dirty_bytes`, else `dirty_ratio` of available memory (an
    /// approximation of the kernel's dirtyable memory).
    pub dirty_limit_bytes: Option<u64>,
    /// Effective background writeback threshold, computed the same way.
    pub dirty_background_limit_bytes: Option<u64>,
}

/// The file system and devices behind the run's directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Storage {
    /// The directory as given.
    pub dir: String,
    /// The directory with symbolic links resolved (live probes only).
    pub canonical_dir: Option<String>,
    /// Mount point holding the directory.
    pub mount_point: Option<String>,
    /// File system type (`ext4`, `xfs`, `btrfs`, `tmpfs`, `overlay`, ...).
    pub fs_type: Option<String>,
    /// Mount source (`/dev/nvme0n1p2`, `/dev/mapper/vg-root`, ...).
    pub mount_source: Option<String>,
    /// Per-mount options (`rw,relatime`, ...).
    pub mount_options: Option<String>,
    /// Per-superblock (file-system) options (`discard`, `data=ordered`, ...).
    pub fs_options: Option<String>,
    /// Device number of the mounted file system, `major:minor`.
    pub dev: Option<String>,
    /// File-system size.
    pub total_bytes: Option<u64>,
    /// Free space (including space reserved for root).
    pub free_bytes: Option<u64>,
    /// Space available to this user: what a run can fill.
    pub available_bytes: Option<u64>,
    /// Whether files here can be opened with `O_DIRECT` (tested on an unnamed `O_TMPFILE`).
    pub direct_io: Option<bool>,
    /// Required alignment of O_DIRECT user buffers (statx `STATX_DIOALIGN`).
    pub dio_mem_align_bytes: Option<u32>,
    /// Required alignment of O_DIRECT file offsets and lengths (statx `STATX_DIOALIGN`).
    pub dio_offset_align_bytes: Option<u32>,
    /// The block devices from the mounted one down to the disks, top first.
    pub devices: Vec<BlockDevice>,
}

impl Storage {
    /// The bottom-most devices (disks with nothing below them).
    pub fn disks(&self) -> Vec<&BlockDevice> {
        self.devices
            .iter()
            .filter(|d| d.lower.is_empty() && d.kind != "partition")
            .collect()
    }

    /// The first disk of the chain: the one whose model, scheduler and flags summarise storage.
    pub fn primary_disk(&self) -> Option<&BlockDevice> {
        self.disks().into_iter().next()
    }

    /// The chain as text, e.g. `dm-0 (vg0-root) -> sda2 -> sda`.
    pub fn chain_text(&self) -> Option<String> {
        if self.devices.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .devices
            .iter()
            .map(|d| match &d.dm_name {
                Some(n) => format!("{} ({n})", d.name),
                None => d.name.clone(),
            })
            .collect();
        Some(parts.join(" -> "))
    }
}

/// One layer of the block-device chain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlockDevice {
    /// Kernel name (`nvme0n1p2`, `sda`, `dm-0`, `md0`, `vda`).
    pub name: String,
    /// `disk`, `partition`, `dm`, `md` or `loop`.
    pub kind: String,
    /// Device number, `major:minor`.
    pub dev: Option<String>,
    /// Size.
    pub size_bytes: Option<u64>,
    /// Devices this one sits on: a partition's disk, device-mapper / md members (`slaves/`).
    pub lower: Vec<String>,
    /// Device-mapper name (`vg0-root`).
    pub dm_name: Option<String>,
    /// Device-mapper target family from the uuid prefix (`LVM`, `CRYPT`, `mpath`, ...).
    pub dm_kind: Option<String>,
    /// md RAID level (`raid1`, ...).
    pub md_level: Option<String>,
    /// Backing file of a loop device.
    pub backing_file: Option<String>,
    /// Device model (`device/model`).
    pub model: Option<String>,
    /// Device vendor (`device/vendor`; `0x1af4` is virtio).
    pub vendor: Option<String>,
    /// Driver (`nvme`, `sd`, `virtio_blk`, ...).
    pub driver: Option<String>,
    /// `queue/rotational`; unreliable under virtualisation (virtio disks often claim 1).
    pub rotational: Option<bool>,
    /// Logical block size.
    pub logical_block_bytes: Option<u64>,
    /// Physical block size.
    pub physical_block_bytes: Option<u64>,
    /// Optimal I/O size (0 = not reported).
    pub optimal_io_bytes: Option<u64>,
    /// Active I/O scheduler.
    pub scheduler: Option<String>,
    /// Available I/O schedulers.
    pub schedulers_available: Vec<String>,
    /// `queue/nr_requests`.
    pub nr_requests: Option<u64>,
    /// Largest request the kernel builds (`queue/max_sectors_kb`).
    pub max_request_bytes: Option<u64>,
    /// Read-ahead (`queue/read_ahead_kb`).
    pub read_ahead_bytes: Option<u64>,
    /// Cache mode: `write back` or `write through`.
    pub write_cache: Option<String>,
    /// Whether the device accepts discard (TRIM/UNMAP): `discard_max_bytes > 0`.
    pub discard: Option<bool>,
    /// Largest discard request.
    pub discard_max_bytes: Option<u64>,
    /// Discard granularity.
    pub discard_granularity_bytes: Option<u64>,
}

/// One network interface (`/sys/class/net/<name>`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Nic {
    /// Interface name.
    pub name: String,
    /// Operational state (`up`, `down`, `unknown`, ...).
    pub state: Option<String>,
    /// MTU.
    pub mtu_bytes: Option<u64>,
    /// Link speed in Mbit/s (10^6 bits/s); `None` when the driver does not report it (virtio,
    /// loopback, link down).
    pub speed_mbit_per_s: Option<u64>,
    /// Duplex (`full`, `half`).
    pub duplex: Option<String>,
    /// Driver of the underlying device (`virtio_net`, `ixgbe`, `mlx5_core`, ...).
    pub driver: Option<String>,
    /// True for software devices (loopback, bridges, veth, tunnels): no `device` link.
    pub virtual_device: bool,
    /// Receive queues (`queues/rx-*`).
    pub rx_queues: Option<u32>,
    /// Transmit queues (`queues/tx-*`).
    pub tx_queues: Option<u32>,
    /// Hardware (MAC) address.
    pub mac: Option<String>,
    /// IP addresses with prefix length (live probes only).
    pub addresses: Vec<String>,
}

/// io_uring availability on this kernel for this process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IoUringInfo {
    /// Whether a ring could be created (`None` when not tried, as on a fixture root).
    pub enabled: Option<bool>,
    /// Why not, when disabled.
    pub disabled_reason: Option<String>,
    /// `kernel.io_uring_disabled`: 0 allowed, 1 only for `kernel.io_uring_group`, 2 disabled.
    pub sysctl_disabled: Option<u32>,
    /// Seccomp mode of this process (0 none, 1 strict, 2 filter).
    pub seccomp_mode: Option<u32>,
    /// Opcodes the kernel supports (`IORING_REGISTER_PROBE`), kernel names without `IORING_OP_`.
    pub opcodes_supported: Vec<String>,
    /// Opcodes known to the io-uring crate that this kernel lacks.
    pub opcodes_unsupported: Vec<String>,
    /// Ring features (`IORING_FEAT_*`) the kernel reports, lower case.
    pub features: Vec<String>,
    /// Whether an SQPOLL ring could be created (unprivileged since Linux 5.11).
    pub sqpoll_allowed: Option<bool>,
    /// Whether a 1 MiB registered (fixed) buffer could be registered.
    pub registered_buffers_allowed: Option<bool>,
    /// `RLIMIT_MEMLOCK` soft limit; `None` with `memlock_unlimited` when unlimited.
    pub memlock_limit_bytes: Option<u64>,
    /// True when `RLIMIT_MEMLOCK` is unlimited.
    pub memlock_unlimited: bool,
}

impl IoUringInfo {
    /// True when the kernel supports the opcode named `name` (e.g. `WRITE_FIXED`).
    pub fn supports(&self, name: &str) -> bool {
        self.opcodes_supported.iter().any(|o| o == name)
    }
}

/// Micro-benchmark results. Bandwidths are bytes per second (display MB/s = 10^6 bytes/s).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Micro {
    /// Single-thread copy between two pre-faulted 64 MiB buffers (bytes copied per second).
    pub memcpy_bytes_per_s: Option<f64>,
    /// Filling freshly allocated, never-touched memory (page faults included). Slow on many
    /// VMs: the reason benchmarks pre-fault and reuse buffers.
    pub first_touch_bytes_per_s: Option<f64>,
    /// Cost of one monotonic clock read (`Instant::now`).
    pub clock_read_ns: Option<f64>,
    /// One TCP stream over loopback for about 0.3 s, 256 KiB writes.
    pub loopback_tcp_bytes_per_s: Option<f64>,
}

/// The traffic one network interface carried between two counter snapshots (the bytes that really
/// crossed it, as the kernel counts them, all traffic included, not only the benchmark's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NicTraffic {
    /// Interface name.
    pub name: String,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
}

impl NicTraffic {
    /// The NIC traffic of a repetition merged from several hosts: every host's interfaces, each
    /// name prefixed with its host label (`host-a/eth0`), as NICs of different hosts are different
    /// NICs. A name that already holds a `/` (from a merged input; interface names cannot) is
    /// kept as it is.
    pub fn of_hosts<'a>(
        hosts: impl IntoIterator<Item = (&'a str, &'a [NicTraffic])>,
    ) -> Vec<NicTraffic> {
        let mut out = Vec::new();
        for (host, traffic) in hosts {
            for t in traffic {
                let name = if t.name.contains('/') {
                    t.name.clone()
                } else {
                    format!("{host}/{}", t.name)
                };
                out.push(NicTraffic { name, ..t.clone() });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::export::ExportFormat;
    use crate::io::parse_results;

    /// A `segbench run --quick` results file written before the probe was typed (probe kept as
    /// a `serde_json::Value`), trimmed to four workloads.
    const BEFORE: &str = include_str!("../../tests/fixtures/results/before-typed-probe.json");

    #[test]
    fn a_results_file_from_before_the_typed_probe_loads_whole_and_renders() {
        let r = parse_results(Path::new("before.json"), BEFORE.as_bytes()).unwrap();
        let p = r.probe.as_ref().expect("the file has a probe");
        // Every field read back: the typed probe writes exactly the JSON it was read from.
        let raw: serde_json::Value = serde_json::from_str(BEFORE).unwrap();
        assert_eq!(serde_json::to_value(p).unwrap(), raw["probe"]);
        assert!(p.unknown_fields.is_empty(), "{:?}", p.unknown_fields);
        assert_eq!(p.fingerprint(), Some("a369ead3a268bded"));
        assert_eq!(p.cpu.model.as_deref(), Some("AMD EPYC"));
        assert_eq!(p.storage.fs_type.as_deref(), Some("ext4"));
        for f in ExportFormat::ALL {
            let text = String::from_utf8(f.exporter().export(&r).unwrap()).unwrap();
            assert!(text.contains("write/direct"), "{f}");
        }
        let html = String::from_utf8(ExportFormat::Html.exporter().export(&r).unwrap()).unwrap();
        for needle in [
            "<tr><th>CPU model</th><td>AMD EPYC</td></tr>",
            "<tr><th>fingerprint</th><td>a369ead3a268bded</td></tr>",
            "Whole probe (JSON)",
        ] {
            assert!(html.contains(needle), "{needle}");
        }
    }

    #[test]
    fn a_probe_of_another_version_loads_with_what_fits() {
        // Fields of the wrong type are left out with a note; unknown fields are kept as written.
        let p = Probe::from_json_lenient(serde_json::json!({
            "cpu": {"model": "Xeon", "cores": "many"},
            "memory": {"total_bytes": 1024},
            "nics": "eth0",
            "gpu": {"model": "none"},
            "fingerprint": "ab",
        }));
        assert_eq!(p.memory.total_bytes, Some(1024));
        assert_eq!(p.cpu, Cpu::default());
        assert!(p.nics.is_empty());
        assert_eq!(p.fingerprint(), Some("ab"));
        assert_eq!(
            p.unknown_fields.get("gpu"),
            Some(&serde_json::json!({"model": "none"}))
        );
        assert_eq!(p.notes.len(), 2, "{:?}", p.notes);
        assert!(p.notes.iter().any(|n| n.contains("field `cpu`")));
        assert!(p.notes.iter().any(|n| n.contains("field `nics`")));
        // The unknown field is written back once, beside the known ones.
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["gpu"]["model"], "none");
        assert_eq!(v["memory"]["total_bytes"], 1024);

        let p = Probe::from_json_lenient(serde_json::json!([1, 2]));
        assert_eq!(
            p.notes,
            ["probe: not a JSON object (an array): nothing could be read"]
        );
        assert_eq!(Probe::default().fingerprint(), None);
    }

    #[test]
    fn merged_nic_traffic_names_each_host() {
        let t = |name: &str, rx_bytes| NicTraffic {
            name: name.into(),
            rx_bytes,
            ..NicTraffic::default()
        };
        let a = [t("eth0", 10), t("lo", 1)];
        let b = [t("eth0", 20)];
        let nested = [t("c/eth1", 30)];
        assert_eq!(
            NicTraffic::of_hosts([("a", &a[..]), ("b", &b[..]), ("ab", &nested[..])]),
            vec![
                t("a/eth0", 10),
                t("a/lo", 1),
                t("b/eth0", 20),
                t("c/eth1", 30)
            ]
        );
    }

    #[test]
    fn nic_traffic_is_absent_from_a_repetition_without_it_and_read_back_with_it() {
        let r = parse_results(Path::new("before.json"), BEFORE.as_bytes()).unwrap();
        let mut rep = r.workloads[0].repetitions[0].clone();
        assert!(rep.nic_traffic.is_empty());
        let v = serde_json::to_value(&rep).unwrap();
        assert!(
            v.get("nic_traffic").is_none(),
            "schema 1 readers see no new field"
        );
        rep.nic_traffic = vec![NicTraffic {
            name: "eth0".into(),
            rx_bytes: 1,
            tx_bytes: 2,
            rx_packets: 3,
            tx_packets: 4,
        }];
        let text = serde_json::to_string(&rep).unwrap();
        assert!(text.contains(
            r#""nic_traffic":[{"name":"eth0","rx_bytes":1,"tx_bytes":2,"rx_packets":3,"tx_packets":4}]"#
        ));
        assert_eq!(
            serde_json::from_str::<crate::Repetition>(&text).unwrap(),
            rep
        );
    }

    #[test]
    fn a_results_file_without_a_probe_or_with_null_loads() {
        let raw: serde_json::Value = serde_json::from_str(BEFORE).unwrap();
        for probe in [None, Some(serde_json::Value::Null)] {
            let mut v = raw.clone();
            let obj = v.as_object_mut().unwrap();
            match probe {
                None => {
                    obj.remove("probe");
                }
                Some(p) => {
                    obj.insert("probe".into(), p);
                }
            }
            let bytes = serde_json::to_vec(&v).unwrap();
            let r = parse_results(Path::new("x.json"), &bytes).unwrap();
            assert_eq!(r.probe, None);
        }
    }
}
