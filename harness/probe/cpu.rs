//! CPU section: model, topology, NUMA nodes, frequency governor.

use std::collections::BTreeSet;

use results::probe::Cpu;

use super::source::{dir_names, field, parse_cpu_list, Root};

/// Where the kernel lists the CPUs.
const SYS_CPU: &str = "/sys/devices/system/cpu";

/// Reads the CPU section under `root`.
pub(crate) fn parse(root: &Root, notes: &mut Vec<String>) -> Cpu {
    let cpuinfo = root.read("/proc/cpuinfo").unwrap_or_default();
    if cpuinfo.is_empty() {
        notes.push("cpu: /proc/cpuinfo unreadable".into());
    }
    let mut c = Cpu {
        model: model(&cpuinfo),
        ..Cpu::default()
    };
    if c.model.is_none() {
        notes.push("cpu: model unknown (no model name in /proc/cpuinfo)".into());
    }
    c.current_frequency_hz = field(&cpuinfo, "cpu MHz")
        .and_then(|m| m.parse::<f64>().ok())
        .map(|m| (m * 1e6) as u64);

    let Some(online) = online_cpus(root, &cpuinfo) else {
        notes.push("cpu: online CPUs unknown".into());
        return c;
    };
    c.threads = Some(online.len() as u32);

    let (packages, cores) = topology(root, &online, &cpuinfo);
    if packages.is_empty() {
        notes.push("cpu: sockets and cores unknown (no topology in sysfs or /proc/cpuinfo)".into());
    } else {
        c.sockets = Some(packages.len() as u32);
        c.cores = Some(cores.len() as u32);
    }

    c.numa_nodes = numa_nodes(root);
    if c.numa_nodes.is_none() {
        notes.push(
            "cpu: NUMA nodes unknown (no /sys/devices/system/node: kernel without NUMA)".into(),
        );
    }

    frequency(root, &online, &mut c, notes);
    c
}

/// The online CPUs: sysfs's list, else the cpuN directories, else the processor entries of
/// `/proc/cpuinfo`.
fn online_cpus(root: &Root, cpuinfo: &str) -> Option<Vec<u32>> {
    root.line(&format!("{SYS_CPU}/online"))
        .and_then(|s| parse_cpu_list(&s))
        .or_else(|| {
            let dirs: Vec<u32> = dir_names(&root.path(SYS_CPU))
                .iter()
                .filter_map(|n| n.strip_prefix("cpu").and_then(|d| d.parse().ok()))
                .collect();
            if !dirs.is_empty() {
                return Some(dirs);
            }
            let n = cpuinfo
                .lines()
                .filter(|l| l.split(':').next().map(str::trim) == Some("processor"))
                .count() as u32;
            (n > 0).then(|| (0..n).collect())
        })
}

/// The packages and the (package, die, core) triples of the `online` CPUs, from sysfs, else
/// from the physical id / core id lines of `/proc/cpuinfo` (both empty when neither says).
fn topology(
    root: &Root,
    online: &[u32],
    cpuinfo: &str,
) -> (BTreeSet<u64>, BTreeSet<(u64, u64, u64)>) {
    let mut packages = BTreeSet::new();
    let mut cores = BTreeSet::new();
    let mut complete = true;
    for cpu in online {
        let t = format!("{SYS_CPU}/cpu{cpu}/topology");
        match (
            root.u64(&format!("{t}/physical_package_id")),
            root.u64(&format!("{t}/core_id")),
        ) {
            (Some(p), Some(core)) => {
                let die = root.u64(&format!("{t}/die_id")).unwrap_or(0);
                packages.insert(p);
                cores.insert((p, die, core));
            }
            _ => complete = false,
        }
    }
    if !complete || packages.is_empty() {
        packages.clear();
        cores.clear();
        let mut phys = None;
        for l in cpuinfo.lines() {
            let Some((k, v)) = l.split_once(':') else {
                continue;
            };
            let v: Option<u64> = v.trim().parse().ok();
            match k.trim() {
                "physical id" => phys = v,
                "core id" => {
                    if let (Some(p), Some(core)) = (phys, v) {
                        packages.insert(p);
                        cores.insert((p, 0, core));
                    }
                }
                _ => {}
            }
        }
    }
    (packages, cores)
}

/// NUMA nodes: the nodeN directories of sysfs (none without them).
fn numa_nodes(root: &Root) -> Option<u32> {
    let node_dir = root.path("/sys/devices/system/node");
    if !node_dir.is_dir() {
        return None;
    }
    let n = dir_names(&node_dir)
        .iter()
        .filter(|n| {
            n.strip_prefix("node")
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        })
        .count() as u32;
    (n > 0).then_some(n)
}

/// The cpufreq governors of the `online` CPUs, the scaling driver and the largest frequency
/// of the first one.
fn frequency(root: &Root, online: &[u32], c: &mut Cpu, notes: &mut Vec<String>) {
    let mut governors = BTreeSet::new();
    for cpu in online {
        if let Some(g) = root.line(&format!("{SYS_CPU}/cpu{cpu}/cpufreq/scaling_governor")) {
            governors.insert(g);
        }
    }
    if governors.is_empty() {
        notes.push(
            "cpu: no cpufreq governor (cpufreq absent: frequency is set by the host or firmware)"
                .into(),
        );
    } else {
        c.governor = Some(governors.into_iter().collect::<Vec<_>>().join(","));
    }
    let first = online.first().copied().unwrap_or(0);
    c.scaling_driver = root.line(&format!("{SYS_CPU}/cpu{first}/cpufreq/scaling_driver"));
    c.max_frequency_hz = root
        .u64(&format!("{SYS_CPU}/cpu{first}/cpufreq/cpuinfo_max_freq"))
        .map(|khz| khz * 1000);
}

/// The CPU model from `/proc/cpuinfo`: `model name` (x86), else `cpu model` / `Processor`
/// (other architectures), else Arm implementer and part codes.
fn model(cpuinfo: &str) -> Option<String> {
    for k in ["model name", "cpu model", "Processor", "cpu"] {
        if let Some(v) = field(cpuinfo, k).filter(|v| !v.is_empty()) {
            return Some(v.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    let imp = field(cpuinfo, "CPU implementer")?;
    let part = field(cpuinfo, "CPU part")?;
    Some(format!("Arm implementer {imp} part {part}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_model_falls_back_to_codes() {
        let t = "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n";
        assert_eq!(model(t).as_deref(), Some("Arm implementer 0x41 part 0xd0c"));
        assert_eq!(
            model("model name\t: Intel(R)  Xeon(R)\n").as_deref(),
            Some("Intel(R) Xeon(R)")
        );
    }
}
