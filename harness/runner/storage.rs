//! What a write result means for the storage under it: device, page cache or memory.

use std::path::Path;

use results::{Medium, Repetition};
use workloads::write::Caps;
use workloads::SyncKind;

use super::write::WriteConfig;

/// Facts about the file system of the data directory that decide what a number means.
#[derive(Debug, Clone, Default)]
pub struct StorageContext {
    /// File system type name (`ext4`, `tmpfs`, …) when known.
    pub fs_type: Option<String>,
    /// Dirty page-cache limit, bytes: writes below it may never leave memory during a run.
    pub dirty_limit_bytes: Option<u64>,
}

/// File system magic numbers (statfs `f_type`) of memory-backed file systems.
const TMPFS_MAGIC: i64 = 0x0102_1994;
const RAMFS_MAGIC: i64 = 0x8584_58f6_u32 as i64;

impl StorageContext {
    /// Reads the file-system type of `dir` and the kernel's dirty limit.
    pub fn for_dir(dir: &Path) -> Self {
        let fs_type = nix::sys::statfs::statfs(dir).ok().map(|s| {
            let magic = s.filesystem_type().0;
            match magic {
                TMPFS_MAGIC => "tmpfs".to_string(),
                RAMFS_MAGIC => "ramfs".to_string(),
                0xEF53 => "ext4".to_string(),
                0x5846_5342 => "xfs".to_string(),
                0x9123_683E => "btrfs".to_string(),
                0x794c_7630 => "overlayfs".to_string(),
                m => format!("0x{m:x}"),
            }
        });
        StorageContext {
            fs_type,
            dirty_limit_bytes: dirty_limit_bytes(),
        }
    }

    fn in_memory(&self) -> bool {
        matches!(self.fs_type.as_deref(), Some("tmpfs") | Some("ramfs"))
    }

    /// Labels a write workload's figures and says why.
    pub fn classify(
        &self,
        cfg: &WriteConfig,
        caps: Option<&Caps>,
        reps: &[Repetition],
    ) -> (Medium, Vec<String>) {
        let mut warnings = Vec::new();
        if cfg.engine.name == "null" {
            return (Medium::Memory, warnings);
        }
        if self.in_memory() {
            warnings.push(format!(
                "the data directory is on {}: these are memory figures, not disk figures",
                self.fs_type.as_deref().unwrap_or("memory")
            ));
            return (Medium::Memory, warnings);
        }
        let Some(caps) = caps else {
            return (Medium::Device, warnings);
        };
        let durable = cfg.flush.flushes() || cfg.sync == SyncKind::Dsync;
        if !caps.page_cache || durable {
            return (Medium::Device, warnings);
        }
        let max_bytes = reps.iter().map(|r| r.bytes).max().unwrap_or(0);
        match self.dirty_limit_bytes {
            Some(limit) if max_bytes < limit => {
                warnings.push(format!(
                    "page cache, not disk: each repetition wrote {:.0} MB, under the dirty-page limit of {:.0} MB, and never flushed; use --flush, a direct engine, or a size above the limit for disk figures",
                    max_bytes as f64 / 1e6,
                    limit as f64 / 1e6
                ));
                (Medium::PageCache, warnings)
            }
            Some(_) => {
                warnings.push(
                    "buffered without flushes: part of each repetition was absorbed by the page cache; the timeline shows when writeback throttled it".into(),
                );
                (Medium::Device, warnings)
            }
            None => {
                warnings.push(
                    "dirty-page limit unknown: these buffered figures may be page-cache figures"
                        .into(),
                );
                (Medium::PageCache, warnings)
            }
        }
    }
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The kernel's dirty limit: `vm.dirty_bytes`, or `vm.dirty_ratio` percent of available memory.
pub fn dirty_limit_bytes() -> Option<u64> {
    if let Some(b) = read_u64("/proc/sys/vm/dirty_bytes").filter(|b| *b > 0) {
        return Some(b);
    }
    let ratio = read_u64("/proc/sys/vm/dirty_ratio")?;
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let avail_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(avail_kib * 1024 * ratio / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirty_limit_is_known_on_linux() {
        let l = dirty_limit_bytes().expect("/proc/sys/vm readable");
        assert!(l > 1 << 20, "{l}");
    }

    #[test]
    fn tmpfs_is_memory() {
        let ctx = StorageContext {
            fs_type: Some("tmpfs".into()),
            dirty_limit_bytes: Some(1 << 30),
        };
        assert!(ctx.in_memory());
        if std::path::Path::new("/dev/shm").exists() {
            let shm = StorageContext::for_dir(std::path::Path::new("/dev/shm"));
            assert_eq!(shm.fs_type.as_deref(), Some("tmpfs"));
        }
    }
}
