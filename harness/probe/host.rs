//! Host section: name, kernel, distribution, virtualisation, clock source.

use results::probe::Host;

use super::source::{field, Root};

/// Reads the host section under `root`.
pub(crate) fn parse(root: &Root, notes: &mut Vec<String>) -> Host {
    let mut h = Host {
        hostname: root.line("/proc/sys/kernel/hostname"),
        kernel_release: root.line("/proc/sys/kernel/osrelease"),
        kernel_version: root.line("/proc/sys/kernel/version"),
        arch: root.line("/proc/sys/kernel/arch"),
        ..Host::default()
    };
    if h.hostname.is_none() {
        notes.push("host: hostname unknown (/proc/sys/kernel/hostname unreadable)".into());
    }
    if h.kernel_release.is_none() {
        notes.push("host: kernel release unknown (/proc/sys/kernel/osrelease unreadable)".into());
    }
    if h.arch.is_none() && root.is_live() {
        h.arch = Some(std::env::consts::ARCH.to_string());
    }
    h.distribution = root
        .read("/etc/os-release")
        .or_else(|| root.read("/usr/lib/os-release"))
        .and_then(|t| os_release_name(&t));
    if h.distribution.is_none() {
        notes.push("host: distribution unknown (no /etc/os-release)".into());
    }
    h.virtualization = virtualization(root);
    if h.virtualization.is_none() {
        notes.push("host: virtualisation unknown (no DMI data and no x86 CPU flags)".into());
    }
    h.container = container(root);
    let cs = "/sys/devices/system/clocksource/clocksource0";
    h.clock_source = root.line(&format!("{cs}/current_clocksource"));
    if h.clock_source.is_none() {
        notes.push("host: clock source unknown".into());
    }
    h.clock_sources_available = root
        .line(&format!("{cs}/available_clocksource"))
        .map(|s| s.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    h
}

/// `PRETTY_NAME` (else `NAME` + `VERSION_ID`) of an os-release file.
fn os_release_name(text: &str) -> Option<String> {
    let get = |k: &str| {
        text.lines().find_map(|l| {
            let (a, b) = l.split_once('=')?;
            (a.trim() == k).then(|| b.trim().trim_matches('"').trim_matches('\'').to_string())
        })
    };
    get("PRETTY_NAME").filter(|s| !s.is_empty()).or_else(|| {
        let n = get("NAME")?;
        Some(match get("VERSION_ID") {
            Some(v) => format!("{n} {v}"),
            None => n,
        })
    })
}

/// Names the hypervisor from DMI strings, `/sys/hypervisor/type`, then the CPU's `hypervisor`
/// flag (x86). `None` when nothing tells either way.
fn virtualization(root: &Root) -> Option<String> {
    let dmi = |f: &str| {
        root.line(&format!("/sys/class/dmi/id/{f}"))
            .unwrap_or_default()
            .to_lowercase()
    };
    let joined = format!(
        "{} {} {} {}",
        dmi("sys_vendor"),
        dmi("product_name"),
        dmi("bios_vendor"),
        dmi("board_vendor")
    );
    const KNOWN: &[(&str, &str)] = &[
        ("amazon ec2", "amazon"),
        ("google", "google"),
        ("vmware", "vmware"),
        ("virtualbox", "oracle"),
        ("innotek", "oracle"),
        ("microsoft corporation virtual machine", "hyperv"),
        ("kvm", "kvm"),
        ("qemu", "qemu"),
        ("xen", "xen"),
        ("bochs", "bochs"),
        ("parallels", "parallels"),
        ("openstack", "kvm"),
        ("firecracker", "firecracker"),
    ];
    for (needle, name) in KNOWN {
        if joined.contains(needle) {
            return Some((*name).to_string());
        }
    }
    if let Some(t) = root.line("/sys/hypervisor/type") {
        return Some(t);
    }
    let cpuinfo = root.read("/proc/cpuinfo")?;
    let flags = field(&cpuinfo, "flags")?;
    if flags.split_whitespace().any(|f| f == "hypervisor") {
        Some("vm".into())
    } else {
        Some("none".into())
    }
}

/// Detects a container runtime from marker files and the init process's cgroups.
fn container(root: &Root) -> Option<String> {
    if root.path("/.dockerenv").exists() {
        return Some("docker".into());
    }
    if root.path("/run/.containerenv").exists() {
        return Some("podman".into());
    }
    if let Some(c) = root.line("/run/systemd/container") {
        return Some(c);
    }
    let cg = root.read("/proc/1/cgroup").unwrap_or_default();
    for (needle, name) in [
        ("kubepods", "kubernetes"),
        ("docker", "docker"),
        ("lxc", "lxc"),
        ("libpod", "podman"),
    ] {
        if cg.contains(needle) {
            return Some(name.into());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_prefers_pretty_name() {
        assert_eq!(
            os_release_name("NAME=\"Debian\"\nPRETTY_NAME=\"Debian 12\"\n").as_deref(),
            Some("Debian 12")
        );
        assert_eq!(
            os_release_name("NAME=Alpine\nVERSION_ID=3.20\n").as_deref(),
            Some("Alpine 3.20")
        );
        assert_eq!(os_release_name("X=1"), None);
    }
}
