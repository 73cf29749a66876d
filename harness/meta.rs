//! Run identity: id, start time (RFC 3339, UTC), host, tool version.

use std::time::{SystemTime, UNIX_EPOCH};

/// Civil date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i64 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `(date, time)` parts of a Unix time in seconds, UTC.
fn utc_parts(secs: u64) -> ((i64, u32, u32), (u64, u64, u64)) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    (
        civil_from_days(days),
        (rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// RFC 3339 UTC time of a Unix time in seconds, e.g. `2026-11-24T10:15:00Z`.
pub fn rfc3339(secs: u64) -> String {
    let ((y, mo, d), (h, mi, s)) = utc_parts(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

static PROCESS_START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Seconds since the run started ([`RunMeta::now`]); the start offset of a repetition in
/// HdrHistogram interval logs.
pub fn since_start_s() -> f64 {
    PROCESS_START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
}

/// The identity of one invocation.
#[derive(Debug, Clone)]
pub struct RunMeta {
    /// `20261124T101500Z-3f9a`.
    pub id: String,
    /// RFC 3339 start time.
    pub start_time: String,
    /// Host name.
    pub host: String,
    /// Command line.
    pub command_line: Vec<String>,
}

impl RunMeta {
    /// Now, on this host, for this process's arguments.
    pub fn now() -> Self {
        let _ = since_start_s();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let ((y, mo, d), (h, mi, s)) = utc_parts(now.as_secs());
        let suffix = (now.subsec_nanos() ^ std::process::id().wrapping_mul(2_654_435_761)) & 0xffff;
        RunMeta {
            id: format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z-{suffix:04x}"),
            start_time: rfc3339(now.as_secs()),
            host: nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "unknown".into()),
            command_line: std::env::args().collect(),
        }
    }

    /// The results file's `run` section.
    pub fn run_info(&self) -> results::RunInfo {
        results::RunInfo {
            id: self.id.clone(),
            start_time: self.start_time.clone(),
            host: self.host.clone(),
            command_line: self.command_line.clone(),
        }
    }
}

/// The results file's `tool` section.
pub fn tool() -> results::Tool {
    let git = env!("SEGBENCH_GIT");
    results::Tool {
        name: "segbench".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        git: (!git.is_empty()).then(|| git.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_479_300), "2026-11-24T00:15:00Z");
        let m = RunMeta::now();
        assert_eq!(m.id.len(), "20261124T101500Z-3f9a".len());
    }
}
