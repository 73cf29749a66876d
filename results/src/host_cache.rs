//! When "device" may not be the device: reads labelled as coming from the disk (cold, evicted
//! and checked) that run far above anything written to that disk past the page cache suggest a
//! cache below the guest (a hypervisor's, a storage array's) is serving them.

use crate::figures::RowKind;
use crate::format;
use crate::probe::Probe;
use crate::schema::{Medium, WorkloadResult};

/// How many times the fastest device write a device read must reach to be suspect.
pub const SUSPECT_RATIO: f64 = 3.0;

/// One warning per device-medium read row whose median is at least [`SUSPECT_RATIO`] times the
/// fastest device-medium plain write in `workloads` (the row each compares against is named;
/// the hypervisor too when the probe saw one).
pub fn suspects(workloads: &[WorkloadResult], probe: Option<&Probe>) -> Vec<String> {
    let fastest_write = (workloads.iter())
        .filter(|w| RowKind::of(w) == RowKind::Write && w.medium == Medium::Device)
        .filter_map(|w| crate::merge::usable_median(w).map(|m| (w, m)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((ww, wm)) = fastest_write else {
        return Vec::new();
    };
    let vm = probe
        .and_then(|p| p.host.virtualization.as_deref())
        .filter(|v| *v != "none")
        .map(|v| format!(" on this virtual machine ({v})"))
        .unwrap_or_default();
    (workloads.iter())
        .filter(|w| RowKind::of(w) == RowKind::Read && w.medium == Medium::Device)
        .filter_map(|w| crate::merge::usable_median(w).map(|m| (w, m)))
        .filter(|(_, m)| *m >= SUSPECT_RATIO * wm)
        .map(|(w, m)| {
            format!(
                "{}: {} from the device is {:.1}× the fastest device write ({}, {}){vm}: a cache \
                 below this system (the host's, the array's) may be serving these reads, not the disk",
                w.name,
                format::mb_per_s(m),
                m / wm,
                ww.name,
                format::mb_per_s(wm)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Kind;
    use crate::testing::workload_with as workload;

    const MB: f64 = 1e6;

    #[test]
    fn cold_reads_far_above_the_device_writes_are_named() {
        let rows = vec![
            workload("write/direct", Kind::Write, Medium::Device, 250.0 * MB),
            workload(
                "write/buffered",
                Kind::Write,
                Medium::PageCache,
                1400.0 * MB,
            ),
            workload(
                "read-cold/readwrite",
                Kind::Read,
                Medium::Device,
                2700.0 * MB,
            ),
            workload("read-cold/sendfile", Kind::Read, Medium::Device, 700.0 * MB),
            workload("read-hot/mmap", Kind::Read, Medium::PageCache, 4400.0 * MB),
        ];
        let mut probe = Probe::default();
        probe.host.virtualization = Some("kvm".into());
        let w = suspects(&rows, Some(&probe));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("read-cold/readwrite: 2700 MB/s"),
            "{}",
            w[0]
        );
        assert!(w[0].contains("10.8× the fastest device write (write/direct"));
        assert!(w[0].contains("(kvm)"));
        // No device write to compare against: nothing to say.
        assert!(suspects(&rows[2..], None).is_empty());
    }
}
