//! Hardware probe (`segbench probe`): host, CPU, memory, writeback settings, the storage behind
//! the data directory, NICs, io_uring and a few micro-probes, plus a hardware fingerprint and the
//! warnings a planned run deserves.
//!
//! The data types ([`Probe`] and its parts) live in `results::probe`, where results files carry
//! them and the report, compare, merge and the capacity model read them; this module fills them.
//!
//! [`NicCounters`] samples per-NIC traffic counters around network workloads (sysinfo).
//!
//! Every parser reads `/proc` and `/sys` under a root directory ([`probe_at`]), so tests run them
//! against fixture trees; live-only checks (statvfs, O_DIRECT, io_uring rings, addresses,
//! micro-probes) run only when the root is `/`. A missing source never fails the probe: the
//! field is `None` (JSON `null`) and a note says why.

mod cpu;
mod fingerprint;
mod host;
mod memory;
mod micro;
mod nic;
mod nic_counters;
mod render;
mod source;
mod storage;
mod uring;
mod vm;
mod warnings;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use nic_counters::NicCounters;
pub use render::render;
pub use results::probe::{
    BlockDevice, Cpu, Host, IoUringInfo, Memory, Micro, Nic, Probe, Storage, VmSettings,
};
pub use warnings::{check_free_space, warnings, RunPlan};

use source::Root;

/// What to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOptions {
    /// The data directory whose file system and devices are described.
    pub dir: PathBuf,
    /// Run the micro-probes (about 0.8 s).
    pub micro: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            dir: PathBuf::from("."),
            micro: true,
        }
    }
}

/// Probes the live system. Never fails: missing fields are `None` with a note.
pub fn probe(opts: &ProbeOptions) -> Probe {
    probe_at(Path::new("/"), opts)
}

/// Probes the system whose `/proc`, `/sys` and `/etc` are under `root`. With a root other than
/// `/` (a fixture tree), `opts.dir` is a path in that tree's mount namespace and the live-only
/// checks are skipped.
pub fn probe_at(root: &Path, opts: &ProbeOptions) -> Probe {
    let start = Instant::now();
    let root = Root::new(root);
    let mut notes = Vec::new();
    let mut p = Probe {
        host: host::parse(&root, &mut notes),
        cpu: cpu::parse(&root, &mut notes),
        memory: memory::parse(&root, &mut notes),
        ..Probe::default()
    };
    p.vm = vm::parse(&root, &p.memory, &mut notes);

    if root.is_live() {
        // A data directory the run has yet to create is described by its nearest existing
        // ancestor: the run's files will live on that file system.
        let canonical = existing_ancestor(&opts.dir);
        let (path, dev) = match &canonical {
            Ok(c) => {
                use std::os::unix::fs::MetadataExt;
                if !opts.dir.exists() {
                    notes.push(format!(
                        "storage: {} does not exist yet: described {}, where it would be created",
                        opts.dir.display(),
                        c.display()
                    ));
                }
                let dev = std::fs::metadata(c).ok().map(|m| {
                    (
                        nix::sys::stat::major(m.dev()),
                        nix::sys::stat::minor(m.dev()),
                    )
                });
                (c.display().to_string(), dev)
            }
            Err(e) => {
                notes.push(format!(
                    "storage: {} cannot be resolved: {e}",
                    opts.dir.display()
                ));
                (opts.dir.display().to_string(), None)
            }
        };
        p.storage = storage::parse(&root, &opts.dir, &path, dev, &mut notes);
        if let Ok(c) = canonical {
            p.storage.canonical_dir = Some(c.display().to_string());
            storage::live(&mut p.storage, &c, &mut notes);
        }
    } else {
        let path = opts.dir.display().to_string();
        p.storage = storage::parse(&root, &opts.dir, &path, None, &mut notes);
    }
    if p.host
        .virtualization
        .as_deref()
        .is_some_and(|v| v != "none")
    {
        let rot: Vec<&str> = p
            .storage
            .disks()
            .iter()
            .filter(|d| d.rotational == Some(true))
            .map(|d| d.name.as_str())
            .collect();
        if !rot.is_empty() {
            notes.push(format!(
                "storage: rotational=1 reported by {} under virtualisation: the flag is unreliable there",
                rot.join(", ")
            ));
        }
    }

    p.nics = nic::parse(&root, &mut notes);
    p.io_uring = uring::parse(&root, &mut notes);
    if root.is_live() {
        nic::live(&mut p.nics, &mut notes);
        uring::live(&mut p.io_uring, &mut notes);
        if opts.micro {
            p.micro = Some(micro::run(&mut notes));
        }
    } else {
        notes.push(format!(
            "live checks skipped (root {}): free space, O_DIRECT, addresses, io_uring rings, micro-probes",
            root.base().display()
        ));
    }

    p.fingerprint_source = fingerprint::canonical(&p);
    p.fingerprint = fingerprint::fingerprint(&p);
    p.notes = notes;
    p.probe_elapsed_ns = start.elapsed().as_nanos() as u64;
    p
}

/// The canonical form of `dir`, or of its nearest existing ancestor when it does not exist.
fn existing_ancestor(dir: &Path) -> std::io::Result<PathBuf> {
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()?.join(dir)
    };
    let mut cur = abs.as_path();
    loop {
        match std::fs::canonicalize(cur) {
            Ok(c) => return Ok(c),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match cur.parent() {
                Some(parent) => cur = parent,
                None => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
