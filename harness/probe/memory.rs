//! Memory section: totals, huge pages, transparent huge pages, swap.

use results::probe::Memory;

use super::source::{bracketed, field, Root};

/// A `/proc/meminfo` value in bytes (`kB` lines are KiB; counts have no unit).
fn kib(text: &str, key: &str) -> Option<u64> {
    let v = field(text, key)?;
    let mut it = v.split_whitespace();
    let n: u64 = it.next()?.parse().ok()?;
    match it.next() {
        Some("kB") => Some(n * 1024),
        _ => Some(n),
    }
}

/// Reads the memory section under `root`.
pub(crate) fn parse(root: &Root, notes: &mut Vec<String>) -> Memory {
    let mi = root.read("/proc/meminfo").unwrap_or_default();
    if mi.is_empty() {
        notes.push("memory: /proc/meminfo unreadable".into());
    }
    let mut m = Memory {
        total_bytes: kib(&mi, "MemTotal"),
        available_bytes: kib(&mi, "MemAvailable"),
        free_bytes: kib(&mi, "MemFree"),
        dirty_bytes: kib(&mi, "Dirty"),
        hugepages_total: kib(&mi, "HugePages_Total"),
        hugepages_free: kib(&mi, "HugePages_Free"),
        hugepage_size_bytes: kib(&mi, "Hugepagesize"),
        swap_total_bytes: kib(&mi, "SwapTotal"),
        swap_free_bytes: kib(&mi, "SwapFree"),
        ..Memory::default()
    };
    if !mi.is_empty() && m.available_bytes.is_none() {
        notes.push("memory: no MemAvailable in /proc/meminfo (kernel before 3.14)".into());
    }
    let thp = "/sys/kernel/mm/transparent_hugepage";
    m.thp_enabled = root
        .line(&format!("{thp}/enabled"))
        .and_then(|s| bracketed(&s));
    m.thp_defrag = root
        .line(&format!("{thp}/defrag"))
        .and_then(|s| bracketed(&s));
    if m.thp_enabled.is_none() {
        notes.push("memory: transparent huge page mode unknown".into());
    }
    m.swap_devices = root
        .read("/proc/swaps")
        .map(|s| s.lines().skip(1).filter(|l| !l.trim().is_empty()).count() as u32);
    m
}
