//! CPU time, context switches and storage I/O counters of the process and of one thread, read
//! by the runner and by the sink alike.

use nix::sys::resource::{getrusage, UsageWho};

/// A snapshot of `getrusage` for the process or the calling thread.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSnapshot {
    /// User CPU, seconds.
    pub user_s: f64,
    /// System CPU, seconds.
    pub sys_s: f64,
    /// Voluntary + involuntary context switches.
    pub context_switches: u64,
}

impl CpuSnapshot {
    fn take(who: UsageWho) -> Self {
        match getrusage(who) {
            Ok(u) => {
                let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
                CpuSnapshot {
                    user_s: tv(u.user_time()),
                    sys_s: tv(u.system_time()),
                    context_switches: (u.voluntary_context_switches()
                        + u.involuntary_context_switches())
                    .max(0) as u64,
                }
            }
            Err(_) => CpuSnapshot::default(),
        }
    }

    /// The whole process (all threads, including finished ones).
    pub fn process() -> Self {
        Self::take(UsageWho::RUSAGE_SELF)
    }

    /// The calling thread only.
    pub fn thread() -> Self {
        Self::take(UsageWho::RUSAGE_THREAD)
    }

    /// `self - earlier`.
    pub fn since(&self, earlier: &CpuSnapshot) -> CpuSnapshot {
        CpuSnapshot {
            user_s: (self.user_s - earlier.user_s).max(0.0),
            sys_s: (self.sys_s - earlier.sys_s).max(0.0),
            context_switches: self
                .context_switches
                .saturating_sub(earlier.context_switches),
        }
    }
}

/// Bytes the process caused to be read from / written to storage (`/proc/self/io`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageIo {
    /// `read_bytes`.
    pub read_bytes: u64,
    /// `write_bytes`.
    pub write_bytes: u64,
}

impl StorageIo {
    /// Reads `/proc/self/io`; `None` when the kernel does not provide it.
    pub fn now() -> Option<Self> {
        let text = std::fs::read_to_string("/proc/self/io").ok()?;
        Self::parse(&text)
    }

    /// Parses the text of `/proc/<pid>/io`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut io = StorageIo::default();
        let (mut r, mut w) = (false, false);
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("read_bytes:") {
                io.read_bytes = v.trim().parse().ok()?;
                r = true;
            } else if let Some(v) = line.strip_prefix("write_bytes:") {
                io.write_bytes = v.trim().parse().ok()?;
                w = true;
            }
        }
        (r && w).then_some(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_io() {
        let t = "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
        assert_eq!(
            StorageIo::parse(t),
            Some(StorageIo {
                read_bytes: 4096,
                write_bytes: 8192
            })
        );
        assert_eq!(StorageIo::parse("rchar: 1\n"), None);
    }

    #[test]
    fn cpu_time_grows_with_work() {
        let a = CpuSnapshot::thread();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let d = CpuSnapshot::thread().since(&a);
        assert!(d.user_s + d.sys_s > 0.0, "{d:?}");
        assert!(CpuSnapshot::process().user_s >= d.user_s);
    }
}
