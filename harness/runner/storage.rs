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

/// A buffered result counts as a device figure only when at least this share of its bytes
/// cannot have stayed in the page cache (bytes beyond the dirty-page limit).
pub const MIN_DEVICE_SHARE: f64 = 0.5;

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
            Some(limit) => {
                // Up to `limit` bytes could have stayed dirty in memory: only the rest surely
                // went to the device during the repetition.
                let min_bytes = reps.iter().map(|r| r.bytes).min().unwrap_or(0);
                let device_share = min_bytes.saturating_sub(limit) as f64 / min_bytes.max(1) as f64;
                if device_share < MIN_DEVICE_SHARE {
                    warnings.push(format!(
                        "mostly page cache, not disk: of {:.0} MB per repetition, up to {:.0} MB (the dirty-page limit) could stay in memory, so at most {:.0}% surely reached the device; write at least twice the limit, flush, or use a direct engine for disk figures",
                        min_bytes as f64 / 1e6,
                        limit as f64 / 1e6,
                        device_share * 100.0
                    ));
                    (Medium::PageCache, warnings)
                } else {
                    warnings.push(format!(
                        "buffered without flushes: up to {:.0} MB of each repetition was absorbed by the page cache; the timeline shows when writeback throttled it",
                        limit as f64 / 1e6
                    ));
                    (Medium::Device, warnings)
                }
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

    fn rep(bytes: u64) -> Repetition {
        serde_json::from_value(serde_json::json!({
            "index": 0, "bytes": bytes, "records": 1, "batches": 1, "elapsed_s": 1.0,
            "throughput_bytes_per_s": 1.0, "records_per_s": 1.0, "cpu_user_s": 0.0, "cpu_sys_s": 0.0,
            "cpu_s_per_gb": null, "device_bytes": null, "storage_io_bytes": null,
            "latency_ns": {"count": 0, "min": 0, "mean": 0.0, "p50": 0, "p90": 0, "p99": 0, "p999": 0, "p9999": 0, "max": 0, "hdr": ""},
            "flush_latency_ns": null, "roll_latency_ns": null, "timeline": {"interval_s": 0.1, "bytes": []},
            "threads": [], "context_switches": null, "harness_overhead_ratio": null
        }))
        .unwrap()
    }

    #[test]
    fn buffered_writes_are_device_figures_only_well_beyond_the_dirty_limit() {
        let ctx = StorageContext {
            fs_type: Some("ext4".into()),
            dirty_limit_bytes: Some(1000),
        };
        let cfg = crate::runner::write::WriteConfig {
            engine: "buffered".parse().unwrap(),
            topic: "t".into(),
            partitions: 1,
            threads: 1,
            record_size: 100,
            batch_size: 4096,
            segment_size: 1 << 20,
            index_interval: 4096,
            preallocate: false,
            retention: None,
            flush: workloads::FlushPolicy::Never,
            sync: SyncKind::Fdatasync,
            format: workloads::kafka::log::LogFormat::Kafka,
            size: Some(1),
            duration: None,
            rate: None,
        };
        let caps = Caps {
            page_cache: true,
            ..Caps::default()
        };
        let label = |b: u64| ctx.classify(&cfg, Some(&caps), &[rep(b)]).0;
        assert_eq!(label(900), Medium::PageCache);
        assert_eq!(
            label(1500),
            Medium::PageCache,
            "a third beyond the limit: mostly cache"
        );
        assert_eq!(label(2500), Medium::Device);
        let mut flushed = cfg.clone();
        flushed.flush = workloads::FlushPolicy::Batch;
        assert_eq!(
            ctx.classify(&flushed, Some(&caps), &[rep(10)]).0,
            Medium::Device
        );
        let direct = Caps {
            direct: true,
            ..Caps::default()
        };
        assert_eq!(
            ctx.classify(&cfg, Some(&direct), &[rep(10)]).0,
            Medium::Device
        );
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
