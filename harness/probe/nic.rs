//! Network interfaces: state, MTU, speed, driver, queues, addresses.

use results::probe::Nic;

use super::source::{dir_names, line_path, link_name, Root};

/// Reads the interfaces under `root`, sorted by name.
pub(crate) fn parse(root: &Root, notes: &mut Vec<String>) -> Vec<Nic> {
    let base = root.path("/sys/class/net");
    let names = dir_names(&base);
    if names.is_empty() {
        notes.push("nic: no interfaces in /sys/class/net".into());
    }
    let mut no_speed = Vec::new();
    let mut nics = Vec::new();
    for name in names {
        let p = base.join(&name);
        if !p.is_dir() {
            continue; // bonding_masters and other plain files
        }
        let count = |prefix: &str| {
            let q = p.join("queues");
            q.is_dir().then(|| {
                dir_names(&q)
                    .iter()
                    .filter(|n| n.starts_with(prefix))
                    .count() as u32
            })
        };
        let virtual_device = !p.join("device").exists();
        // `speed` fails to read (EINVAL) or says -1 when the driver does not know it.
        let speed = line_path(&p.join("speed"))
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|s| *s > 0)
            .map(|s| s as u64);
        if speed.is_none() && !virtual_device {
            no_speed.push(name.clone());
        }
        nics.push(Nic {
            state: line_path(&p.join("operstate")),
            mtu_bytes: line_path(&p.join("mtu")).and_then(|s| s.parse().ok()),
            speed_mbit_per_s: speed,
            duplex: line_path(&p.join("duplex")).filter(|d| d != "unknown"),
            driver: link_name(&p.join("device/driver")),
            virtual_device,
            rx_queues: count("rx-"),
            tx_queues: count("tx-"),
            mac: line_path(&p.join("address")).filter(|a| !a.is_empty()),
            addresses: Vec::new(),
            name,
        });
    }
    if !no_speed.is_empty() {
        notes.push(format!(
            "nic: link speed not reported by the driver of {} (usual for virtio and other virtual NICs)",
            no_speed.join(", ")
        ));
    }
    nics
}

/// Fills the addresses of `nics` from `getifaddrs` (live probes only).
pub(crate) fn live(nics: &mut [Nic], notes: &mut Vec<String>) {
    let addrs = match nix::ifaddrs::getifaddrs() {
        Ok(a) => a,
        Err(e) => {
            notes.push(format!("nic: getifaddrs failed: {e}: addresses unknown"));
            return;
        }
    };
    for a in addrs {
        let Some(addr) = a.address.as_ref() else {
            continue;
        };
        let text = if let Some(v4) = addr.as_sockaddr_in() {
            let prefix = a
                .netmask
                .as_ref()
                .and_then(|m| m.as_sockaddr_in())
                .map(|m| m.ip().to_bits().count_ones());
            with_prefix(v4.ip().to_string(), prefix)
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            let prefix = a
                .netmask
                .as_ref()
                .and_then(|m| m.as_sockaddr_in6())
                .map(|m| m.ip().to_bits().count_ones());
            with_prefix(v6.ip().to_string(), prefix)
        } else {
            continue;
        };
        if let Some(n) = nics.iter_mut().find(|n| n.name == a.interface_name) {
            if !n.addresses.contains(&text) {
                n.addresses.push(text);
            }
        }
    }
}

fn with_prefix(ip: String, prefix: Option<u32>) -> String {
    match prefix {
        Some(p) => format!("{ip}/{p}"),
        None => ip,
    }
}
