//! What a run will take of the machine, checked before anything is written: memory for its
//! buffers, open files against `RLIMIT_NOFILE`, threads and sweep points, and the free space
//! of the data directory ([`check_space`], the one check every writer makes). A run that would not
//! fit is bad input (exit 2) with one line naming the limit and the fix, never an OOM kill or
//! "Too many open files" halfway through.

use workloads::payload::DEFAULT_POOL_BYTES;

use crate::runner::read::ReadConfig;
use crate::runner::write::{Shape, WriteConfig};

/// The share of the machine's memory a run's buffers may take (the rest is the page cache the
/// benchmark measures, and everything else).
const MEMORY_SHARE: f64 = 0.5;
/// Files a process keeps open besides the run's own (stdio, the binary, the sink's listener,
/// io_uring rings, the probe).
const FILE_MARGIN: u64 = 64;
/// The most threads one workload may start (writer threads, or consumers × groups).
pub const MAX_THREADS: u64 = 4096;
/// The most points one sweep may have.
pub const MAX_SWEEP_POINTS: usize = 64;
/// Files each write partition keeps open: the `.log`, `.index` and `.timeindex`.
const FILES_PER_PARTITION: u64 = 3;
/// Default queue depth of the io_uring engines (their `qd`).
const DEFAULT_QD: u64 = 8;
/// Default read buffer of the readwrite and uring read engines (their `buf`).
const DEFAULT_READ_BUF: u64 = 1 << 20;

/// What one workload will need.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Bytes of buffers allocated up front.
    pub buffer_bytes: u64,
    /// Files and sockets open at once.
    pub open_files: u64,
    /// Threads it starts.
    pub threads: u64,
}

/// The machine's side: how much of each there is.
#[derive(Debug, Clone, Copy)]
pub struct Room {
    /// Bytes the run's buffers may take.
    pub buffer_bytes: u64,
    /// The soft `RLIMIT_NOFILE`, after raising it to the hard limit.
    pub open_files: u64,
}

impl Room {
    /// This machine: half of `MemTotal`, and the open-file limit (the soft limit
    /// is first raised to the hard one, as servers do).
    pub fn here() -> Room {
        use nix::sys::resource::{getrlimit, setrlimit, Resource};
        let files = match getrlimit(Resource::RLIMIT_NOFILE) {
            Ok((soft, hard)) if soft < hard => {
                if setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                    hard
                } else {
                    soft
                }
            }
            Ok((soft, _)) => soft,
            Err(_) => 1024,
        };
        let mem = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map(|kb| kb * 1024)
            .unwrap_or(u64::MAX);
        Room {
            buffer_bytes: (mem as f64 * MEMORY_SHARE) as u64,
            open_files: files,
        }
    }
}

/// A write workload's needs: per partition the engine's buffers (an io_uring queue holds `qd`
/// batches) and its three files, plus the payload pool; one thread per `--threads`.
pub fn write_needs(cfg: &WriteConfig, shape: &Shape) -> Needs {
    let slots = if cfg.engine.name == "uring" {
        cfg.engine.value("qd", DEFAULT_QD).unwrap_or(DEFAULT_QD)
    } else {
        1
    };
    let partitions = u64::from(cfg.partitions);
    Needs {
        buffer_bytes: partitions
            .saturating_mul(shape.batch_bytes as u64)
            .saturating_mul(slots)
            .saturating_add(DEFAULT_POOL_BYTES as u64 * u64::from(cfg.threads)),
        open_files: partitions.saturating_mul(FILES_PER_PARTITION),
        threads: u64::from(cfg.threads),
    }
}

/// A read workload's needs: one thread and one connection per consumer (two sockets with the
/// in-process sink), a read buffer per consumer (`qd` of them for io_uring), and each
/// consumer's segment files, at most `segments` per group.
pub fn read_needs(cfg: &ReadConfig, segments: u64) -> Needs {
    let consumers = u64::from(cfg.consumers).saturating_mul(u64::from(cfg.groups));
    let buf = cfg
        .engine
        .value("buf", DEFAULT_READ_BUF)
        .unwrap_or(DEFAULT_READ_BUF);
    let per_consumer = match cfg.engine.name.as_str() {
        "readwrite" => buf,
        "uring" => buf.saturating_mul(cfg.engine.value("qd", DEFAULT_QD).unwrap_or(DEFAULT_QD)),
        _ => 0,
    };
    Needs {
        buffer_bytes: consumers.saturating_mul(per_consumer),
        open_files: consumers
            .saturating_mul(2)
            .saturating_add(segments.saturating_mul(u64::from(cfg.groups))),
        threads: consumers,
    }
}

/// Bytes the file system holding `dir` gives an unprivileged writer (`statvfs`: available
/// blocks × fragment size); `None` when it cannot be asked.
pub fn available_bytes(dir: &std::path::Path) -> Option<u64> {
    let v = nix::sys::statvfs::statvfs(dir).ok()?;
    Some((v.blocks_available() as u64).saturating_mul(v.fragment_size() as u64))
}

/// Refuses a run that will hold `needed_bytes` at once in `dir` (its data, repetitions kept,
/// logs written first, every replica on this host) when the file system has less available:
/// one line with the size, the free space and `fix`. Every writer calls it before it starts,
/// probe or not; unknown free space passes. A duration-bound writer's bytes (and a warm-up's)
/// are not known in advance: a full disk mid-run is an ENOSPC error with partial results.
pub fn check_space(dir: &std::path::Path, needed_bytes: u64, fix: &str) -> Result<(), String> {
    space_verdict(dir, needed_bytes, available_bytes(dir), fix)
}

fn space_verdict(
    dir: &std::path::Path,
    needed_bytes: u64,
    available: Option<u64>,
    fix: &str,
) -> Result<(), String> {
    match available {
        Some(avail) if avail < needed_bytes => Err(format!(
            "not enough free space in {}: the run needs {} but only {} is available; {fix}",
            dir.display(),
            results::format::bytes_iec(needed_bytes),
            results::format::bytes_iec(avail)
        )),
        _ => Ok(()),
    }
}

/// Refuses `needs` of workload `name` that this `room` cannot give, with the fix.
pub fn check(name: &str, needs: Needs, room: Room) -> Result<(), String> {
    if needs.threads > MAX_THREADS {
        return Err(format!(
            "{name}: needs {} threads, more than {MAX_THREADS}; lower --threads, --consumers or --groups",
            needs.threads
        ));
    }
    if needs.buffer_bytes > room.buffer_bytes {
        return Err(format!(
            "{name}: needs {} of buffers up front, more than {} (half this machine's memory); lower --partitions, --batch-size, qd or the consumers",
            results::format::bytes_iec(needs.buffer_bytes),
            results::format::bytes_iec(room.buffer_bytes)
        ));
    }
    if needs.open_files.saturating_add(FILE_MARGIN) > room.open_files {
        return Err(format!(
            "{name}: needs about {} open files, more than this process may open ({}, RLIMIT_NOFILE); lower --partitions or the consumers, or raise the limit (ulimit -n)",
            needs.open_files + FILE_MARGIN,
            room.open_files
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: Room = Room {
        buffer_bytes: 8 << 30,
        open_files: 1024,
    };

    #[test]
    fn what_does_not_fit_is_named_with_its_fix() {
        let big = Needs {
            buffer_bytes: 64 << 30,
            open_files: 10,
            threads: 1,
        };
        let e = check("write/buffered", big, ROOM).unwrap_err();
        assert!(
            e.contains("64.0 GiB of buffers") && e.contains("--batch-size"),
            "{e}"
        );
        let files = Needs {
            open_files: 3 * 1000,
            ..Needs::default()
        };
        let e = check("w", files, ROOM).unwrap_err();
        assert!(
            e.contains("RLIMIT_NOFILE") && e.contains("ulimit -n"),
            "{e}"
        );
        let threads = Needs {
            threads: MAX_THREADS + 1,
            ..Needs::default()
        };
        assert!(check("r", threads, ROOM).unwrap_err().contains("threads"));
        assert!(check(
            "ok",
            Needs {
                buffer_bytes: 1 << 20,
                open_files: 10,
                threads: 4
            },
            ROOM
        )
        .is_ok());
    }

    #[test]
    fn free_space_is_checked_with_the_size_the_room_and_the_fix() {
        let d = std::path::Path::new("/data");
        let e = space_verdict(d, 64 << 20, Some(4 << 20), "lower --size").unwrap_err();
        assert_eq!(
            e,
            "not enough free space in /data: the run needs 64.0 MiB but only 4.00 MiB is available; lower --size"
        );
        assert!(space_verdict(d, 1 << 20, Some(4 << 20), "x").is_ok());
        assert!(space_verdict(d, u64::MAX, None, "x").is_ok());
        assert!(available_bytes(std::path::Path::new("/")).is_some());
    }

    #[test]
    fn this_machine_has_room_and_a_raised_file_limit() {
        let r = Room::here();
        assert!(r.buffer_bytes > 0 && r.open_files >= 64, "{r:?}");
        let (soft, hard) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(soft, hard, "the soft limit was raised to the hard one");
    }
}
