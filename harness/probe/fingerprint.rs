//! Hardware fingerprint: FNV-1a 64 over a canonical text of the fields that identify the
//! hardware and kernel. Free memory, free space, addresses, host names and timings are left out,
//! so two probes of the same machine and kernel give the same fingerprint.

use super::Probe;

/// FNV-1a 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(FNV_OFFSET, |h, b| (h ^ *b as u64).wrapping_mul(FNV_PRIME))
}

/// Memory rounded to the nearest GiB (firmware and kernel reservations move `MemTotal` a little
/// between boots and kernels).
fn round_gib(bytes: u64) -> u64 {
    (bytes + (1 << 29)) >> 30
}

/// The canonical text hashed into the fingerprint: one `key=value` line per field, fixed order,
/// `-` for unknown.
pub(crate) fn canonical(p: &Probe) -> String {
    fn o<T: ToString>(v: &Option<T>) -> String {
        v.as_ref()
            .map(|x| x.to_string())
            .unwrap_or_else(|| "-".into())
    }
    let mut lines = vec![
        format!("arch={}", o(&p.host.arch)),
        format!("kernel_release={}", o(&p.host.kernel_release)),
        format!("virtualization={}", o(&p.host.virtualization)),
        format!("cpu_model={}", o(&p.cpu.model)),
        format!("cpu_sockets={}", o(&p.cpu.sockets)),
        format!("cpu_cores={}", o(&p.cpu.cores)),
        format!("cpu_threads={}", o(&p.cpu.threads)),
        format!("numa_nodes={}", o(&p.cpu.numa_nodes)),
        format!(
            "memory_total_gib={}",
            o(&p.memory.total_bytes.map(round_gib))
        ),
        format!("fs_type={}", o(&p.storage.fs_type)),
    ];
    for d in &p.storage.devices {
        lines.push(format!(
            "block={}:{}:{}:{}:{}:{}:{}",
            d.kind,
            o(&d.model),
            o(&d.vendor),
            o(&d.driver),
            o(&d.rotational),
            o(&d.logical_block_bytes),
            o(&d.physical_block_bytes),
        ));
    }
    let mut drivers: Vec<&str> = p.nics.iter().filter_map(|n| n.driver.as_deref()).collect();
    drivers.sort_unstable();
    drivers.dedup();
    lines.push(format!("nic_drivers={}", drivers.join(",")));
    lines.join("\n")
}

/// The fingerprint: 16 lower-case hex digits.
pub(crate) fn fingerprint(p: &Probe) -> String {
    format!("{:016x}", fnv1a64(canonical(p).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn volatile_fields_do_not_change_it_and_hardware_does() {
        let mut p = Probe::default();
        p.cpu.model = Some("X".into());
        p.memory.total_bytes = Some(16 << 30);
        let f = fingerprint(&p);
        p.memory.available_bytes = Some(3 << 30);
        p.memory.total_bytes = Some((16 << 30) - (100 << 20));
        p.storage.available_bytes = Some(1);
        p.host.hostname = Some("other".into());
        p.micro = Some(Default::default());
        assert_eq!(fingerprint(&p), f);
        p.cpu.cores = Some(4);
        assert_ne!(fingerprint(&p), f);
        assert_eq!(fingerprint(&p).len(), 16);
    }

    #[test]
    fn gib_rounding() {
        assert_eq!(round_gib((16 << 30) - (200 << 20)), 16);
        assert_eq!(round_gib((1 << 30) + (600 << 20)), 2);
    }
}
