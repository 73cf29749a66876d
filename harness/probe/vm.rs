//! Writeback and VM settings: dirty limits, expiry, swappiness, and the effective dirty limit.

use results::probe::VmSettings;

use super::source::Root;
use results::probe::Memory;

/// Reads the VM settings under `root` and computes the effective limits from `mem`.
pub(crate) fn parse(root: &Root, mem: &Memory, notes: &mut Vec<String>) -> VmSettings {
    let vm = |k: &str| root.u64(&format!("/proc/sys/vm/{k}"));
    let mut v = VmSettings {
        dirty_ratio_percent: vm("dirty_ratio"),
        dirty_background_ratio_percent: vm("dirty_background_ratio"),
        dirty_bytes: vm("dirty_bytes"),
        dirty_background_bytes: vm("dirty_background_bytes"),
        dirty_expire_ms: vm("dirty_expire_centisecs").map(|c| c * 10),
        dirty_writeback_ms: vm("dirty_writeback_centisecs").map(|c| c * 10),
        swappiness: vm("swappiness"),
        ..VmSettings::default()
    };
    if v.dirty_ratio_percent.is_none() && v.dirty_bytes.is_none() {
        notes.push("vm: dirty limits unknown (/proc/sys/vm unreadable)".into());
    }
    let base = mem.available_bytes.or(mem.total_bytes);
    let limit = |bytes: Option<u64>, ratio: Option<u64>| match (bytes, ratio, base) {
        (Some(b), _, _) if b > 0 => Some(b),
        (_, Some(r), Some(m)) => Some((m as u128 * r as u128 / 100) as u64),
        _ => None,
    };
    v.dirty_limit_bytes = limit(v.dirty_bytes, v.dirty_ratio_percent);
    v.dirty_background_limit_bytes =
        limit(v.dirty_background_bytes, v.dirty_background_ratio_percent);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_setting_overrides_ratio() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("proc/sys/vm");
        std::fs::create_dir_all(&d).unwrap();
        for (k, v) in [
            ("dirty_ratio", "20"),
            ("dirty_background_ratio", "10"),
            ("dirty_bytes", "0"),
        ] {
            std::fs::write(d.join(k), v).unwrap();
        }
        std::fs::write(d.join("dirty_background_bytes"), "1048576\n").unwrap();
        let mem = Memory {
            available_bytes: Some(1000 << 20),
            ..Memory::default()
        };
        let v = parse(&Root::new(dir.path()), &mem, &mut Vec::new());
        assert_eq!(v.dirty_limit_bytes, Some(200 << 20));
        assert_eq!(v.dirty_background_limit_bytes, Some(1 << 20));
        assert_eq!(v.swappiness, None);
    }
}
