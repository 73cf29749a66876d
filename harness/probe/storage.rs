//! Storage section for the run's directory: the mount (from `/proc/self/mountinfo`), free
//! space, O_DIRECT support and alignment, and the block-device chain resolved through
//! `/sys/dev/block/MAJ:MIN` (partition -> disk, device-mapper and md layers).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use results::probe::{BlockDevice, Storage};

use super::source::{bracketed, dir_names, line_path, link_name, u64_path, Root};

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountEntry {
    pub(crate) dev: (u64, u64),
    pub(crate) mount_point: String,
    pub(crate) options: String,
    pub(crate) fs_type: String,
    pub(crate) source: String,
    pub(crate) super_options: String,
}

/// Decodes the octal escapes (`\040` for a space) of mountinfo fields.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `/proc/self/mountinfo`; malformed lines are skipped.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let f: Vec<&str> = pre.split_whitespace().collect();
            let g: Vec<&str> = post.split_whitespace().collect();
            if f.len() < 6 || g.len() < 2 {
                return None;
            }
            let (ma, mi) = f[2].split_once(':')?;
            Some(MountEntry {
                dev: (ma.parse().ok()?, mi.parse().ok()?),
                mount_point: unescape(f[4]),
                options: f[5].to_string(),
                fs_type: g[0].to_string(),
                source: unescape(g[1]),
                super_options: g.get(2).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

/// True when mount point `mp` contains absolute path `path`.
fn contains(mp: &str, path: &str) -> bool {
    mp == "/" || path == mp || path.strip_prefix(mp).is_some_and(|r| r.starts_with('/'))
}

/// The mount holding `path`: the longest mount-point prefix (the last one when stacked); when
/// the device number is known, the longest prefix whose device matches it.
pub(crate) fn find_mount<'a>(
    entries: &'a [MountEntry],
    path: &str,
    dev: Option<(u64, u64)>,
) -> Option<&'a MountEntry> {
    let best = |want_dev: Option<(u64, u64)>| {
        let mut best: Option<&MountEntry> = None;
        for e in entries.iter().filter(|e| contains(&e.mount_point, path)) {
            if want_dev.is_some_and(|d| d != e.dev) {
                continue;
            }
            if best.map_or(true, |b| e.mount_point.len() >= b.mount_point.len()) {
                best = Some(e);
            }
        }
        best
    };
    dev.and_then(|d| best(Some(d))).or_else(|| best(None))
}

/// Reads the mount and device chain of `path` (a path in the root's namespace). `dev` is the
/// directory's device number when it could be stat-ed (live probes).
pub(crate) fn parse(
    root: &Root,
    dir: &Path,
    path: &str,
    dev: Option<(u64, u64)>,
    notes: &mut Vec<String>,
) -> Storage {
    let mut s = Storage {
        dir: dir.display().to_string(),
        ..Storage::default()
    };
    let Some(text) = root.read("/proc/self/mountinfo") else {
        notes.push("storage: /proc/self/mountinfo unreadable: mount unknown".into());
        return s;
    };
    let entries = parse_mountinfo(&text);
    let Some(m) = find_mount(&entries, path, dev) else {
        notes.push(format!("storage: no mount found for {path}"));
        return s;
    };
    if let Some(d) = dev {
        if d != m.dev {
            notes.push(format!(
                "storage: {path} has device {}:{} but its mount {} reports {}:{}",
                d.0, d.1, m.mount_point, m.dev.0, m.dev.1
            ));
        }
    }
    s.mount_point = Some(m.mount_point.clone());
    s.fs_type = Some(m.fs_type.clone());
    s.mount_source = Some(m.source.clone());
    s.mount_options = Some(m.options.clone());
    s.fs_options = (!m.super_options.is_empty()).then(|| m.super_options.clone());
    s.dev = Some(format!("{}:{}", m.dev.0, m.dev.1));

    let start =
        std::fs::canonicalize(root.path(&format!("/sys/dev/block/{}:{}", m.dev.0, m.dev.1)))
            .ok()
            .or_else(|| device_from_source(root, &m.source));
    match start {
        Some(p) => walk(&p, &mut s.devices, &mut BTreeSet::new(), 0),
        None => notes.push(format!(
            "storage: no block device behind {} ({} on {}): device fields unknown",
            m.mount_point, m.fs_type, m.source
        )),
    }
    s
}

/// Resolves a mount source such as `/dev/sda1` or `/dev/mapper/vg-root` to its sysfs directory
/// (used when the mount's device number is anonymous, as on btrfs).
fn device_from_source(root: &Root, source: &str) -> Option<PathBuf> {
    let name = source.strip_prefix("/dev/")?;
    if let Some(dm) = name.strip_prefix("mapper/") {
        for n in dir_names(&root.path("/sys/block")) {
            if line_path(&root.path(&format!("/sys/block/{n}/dm/name"))).as_deref() == Some(dm) {
                return std::fs::canonicalize(root.path(&format!("/sys/block/{n}"))).ok();
            }
        }
        return None;
    }
    std::fs::canonicalize(root.path(&format!("/sys/class/block/{name}"))).ok()
}

/// Appends the device at sysfs directory `p` and, recursively, the devices below it.
fn walk(p: &Path, out: &mut Vec<BlockDevice>, seen: &mut BTreeSet<String>, depth: u32) {
    let Some(name) = p.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    if depth > 8 || !seen.insert(name.clone()) {
        return;
    }
    let mut d = BlockDevice {
        name: name.clone(),
        dev: line_path(&p.join("dev")),
        size_bytes: u64_path(&p.join("size")).map(|sectors| sectors * 512),
        ..BlockDevice::default()
    };
    let mut below: Vec<PathBuf> = Vec::new();
    if p.join("partition").exists() {
        d.kind = "partition".into();
        if let Some(parent) = p.parent() {
            if let Some(n) = parent.file_name() {
                d.lower.push(n.to_string_lossy().into_owned());
                below.push(parent.to_path_buf());
            }
        }
    } else {
        d.kind = if p.join("dm").is_dir() {
            "dm"
        } else if p.join("md").is_dir() {
            "md"
        } else if name.starts_with("loop") {
            "loop"
        } else {
            "disk"
        }
        .into();
        d.dm_name = line_path(&p.join("dm/name"));
        d.dm_kind = line_path(&p.join("dm/uuid"))
            .and_then(|u| u.split_once('-').map(|(k, _)| k.to_string()));
        d.md_level = line_path(&p.join("md/level"));
        d.backing_file = line_path(&p.join("loop/backing_file"));
        d.model = line_path(&p.join("device/model"));
        d.vendor = line_path(&p.join("device/vendor"));
        d.driver = link_name(&p.join("device/driver"))
            .or_else(|| link_name(&p.join("device/device/driver")))
            .or_else(|| {
                (d.kind == "disk")
                    .then(|| link_name(&p.join("device/subsystem")))
                    .flatten()
            });
        let q = p.join("queue");
        d.rotational = u64_path(&q.join("rotational")).map(|r| r == 1);
        d.logical_block_bytes = u64_path(&q.join("logical_block_size"));
        d.physical_block_bytes = u64_path(&q.join("physical_block_size"));
        d.optimal_io_bytes = u64_path(&q.join("optimal_io_size"));
        let sched = line_path(&q.join("scheduler"));
        d.scheduler = sched
            .as_deref()
            .and_then(|s| bracketed(s).or_else(|| (s == "none").then(|| s.to_string())));
        d.schedulers_available = sched
            .map(|s| {
                s.split_whitespace()
                    .map(|x| x.trim_matches(['[', ']']).to_string())
                    .collect()
            })
            .unwrap_or_default();
        d.nr_requests = u64_path(&q.join("nr_requests"));
        d.max_request_bytes = u64_path(&q.join("max_sectors_kb")).map(|k| k * 1024);
        d.read_ahead_bytes = u64_path(&q.join("read_ahead_kb")).map(|k| k * 1024);
        d.write_cache = line_path(&q.join("write_cache"));
        d.discard_max_bytes = u64_path(&q.join("discard_max_bytes"));
        d.discard_granularity_bytes = u64_path(&q.join("discard_granularity"));
        d.discard = d.discard_max_bytes.map(|m| m > 0);
        for s in dir_names(&p.join("slaves")) {
            if let Ok(c) = std::fs::canonicalize(p.join("slaves").join(&s)) {
                d.lower.push(s);
                below.push(c);
            }
        }
    }
    out.push(d);
    for b in below {
        walk(&b, out, seen, depth + 1);
    }
}

/// Live-only storage facts for `dir`: free space (statvfs) and O_DIRECT support and
/// alignment, tested on an unnamed `O_TMPFILE` so nothing is left in the directory.
pub(crate) fn live(s: &mut Storage, dir: &Path, notes: &mut Vec<String>) {
    match nix::sys::statvfs::statvfs(dir) {
        // The statvfs field types are narrower on 32-bit targets.
        #[allow(clippy::unnecessary_cast)]
        Ok(v) => {
            let f = v.fragment_size() as u64;
            s.total_bytes = Some(v.blocks() as u64 * f);
            s.free_bytes = Some(v.blocks_free() as u64 * f);
            s.available_bytes = Some(v.blocks_available() as u64 * f);
        }
        Err(e) => notes.push(format!(
            "storage: statvfs({}) failed: {e}: free space unknown",
            dir.display()
        )),
    }
    direct_io(s, dir, notes);
}

/// Opens an unnamed temporary file in `dir` with and without `O_DIRECT` and asks statx for
/// its O_DIRECT alignment.
fn direct_io(s: &mut Storage, dir: &Path, notes: &mut Vec<String>) {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let open = |flags: i32| {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_TMPFILE | flags)
            .open(dir)
    };
    let file = match open(libc::O_DIRECT) {
        Ok(f) => {
            s.direct_io = Some(true);
            f
        }
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => match open(0) {
            Ok(f) => {
                s.direct_io = Some(false);
                f
            }
            Err(e2) => {
                notes.push(format!(
                    "storage: O_DIRECT support unknown: O_TMPFILE in {} failed: {e2}",
                    dir.display()
                ));
                return dio_of_dir(s, dir, notes);
            }
        },
        Err(e) => {
            notes.push(format!(
                "storage: O_DIRECT support unknown: O_TMPFILE in {} failed: {e}",
                dir.display()
            ));
            return dio_of_dir(s, dir, notes);
        }
    };
    let fd_path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    match workloads::sys::dio_alignment(&fd_path) {
        Ok(Some(a)) => {
            s.dio_mem_align_bytes = Some(a.mem_align);
            s.dio_offset_align_bytes = Some(a.offset_align);
        }
        Ok(None) if s.direct_io == Some(false) => {}
        Ok(None) => notes.push(
            "storage: O_DIRECT alignment unknown (no statx STATX_DIOALIGN: kernel before 6.1 or file system \
             without it): use the logical block size"
                .into(),
        ),
        Err(e) => notes.push(format!("storage: O_DIRECT alignment unknown: {e}")),
    }
}

/// Last resort: statx `STATX_DIOALIGN` on the directory itself (most file systems answer only
/// for regular files).
fn dio_of_dir(s: &mut Storage, dir: &Path, notes: &mut Vec<String>) {
    match workloads::sys::dio_alignment(dir) {
        Ok(Some(a)) => {
            s.dio_mem_align_bytes = Some(a.mem_align);
            s.dio_offset_align_bytes = Some(a.offset_align);
        }
        _ => notes.push("storage: O_DIRECT alignment unknown".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
40 27 8:17 / /mnt/my\\040disk rw,noatime shared:5 - xfs /dev/sdb1 rw,attr2
41 27 0:50 / /mnt/my\\040disk/sub rw - tmpfs tmpfs rw
42 27 0:51 / /mnt/my\\040disk/sub rw - tmpfs tmpfs2 rw
";

    #[test]
    fn mountinfo_parses_optional_fields_and_escapes() {
        let e = parse_mountinfo(MI);
        assert_eq!(e.len(), 5);
        assert_eq!(e[2].mount_point, "/mnt/my disk");
        assert_eq!(e[2].fs_type, "xfs");
        assert_eq!(e[2].source, "/dev/sdb1");
        assert_eq!(e[2].dev, (8, 17));
        assert_eq!(e[2].super_options, "rw,attr2");
    }

    #[test]
    fn longest_prefix_wins_and_device_disambiguates() {
        let e = parse_mountinfo(MI);
        assert_eq!(find_mount(&e, "/home/x", None).unwrap().fs_type, "ext4");
        assert_eq!(
            find_mount(&e, "/mnt/my disk/data", None).unwrap().fs_type,
            "xfs"
        );
        // A sibling whose name only shares a prefix is not inside the mount.
        assert_eq!(
            find_mount(&e, "/mnt/my diskette", None).unwrap().fs_type,
            "ext4"
        );
        // Stacked mounts: the last one is visible.
        assert_eq!(
            find_mount(&e, "/mnt/my disk/sub/f", None).unwrap().source,
            "tmpfs2"
        );
        assert_eq!(
            find_mount(&e, "/mnt/my disk/sub/f", Some((0, 50)))
                .unwrap()
                .source,
            "tmpfs"
        );
        // An unknown device falls back to the longest prefix.
        assert_eq!(
            find_mount(&e, "/proc/1", Some((9, 9))).unwrap().fs_type,
            "proc"
        );
    }

    #[test]
    fn unescape_keeps_plain_backslashes() {
        assert_eq!(unescape("a\\040b\\134c"), "a b\\c");
        assert_eq!(unescape("x\\"), "x\\");
        assert_eq!(unescape("\\09"), "\\09");
    }
}
