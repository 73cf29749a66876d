//! Flush policy: when a batch counts as acknowledged, and which sync call makes it durable.

use std::fmt;
use std::str::FromStr;

/// The system call that makes written data durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncKind {
    /// `fdatasync(2)`: data and the metadata needed to read it.
    #[default]
    Fdatasync,
    /// `fsync(2)`: data and all metadata.
    Fsync,
    /// Files opened with `O_DSYNC`: every write is durable when it returns; no separate flush.
    Dsync,
}

impl FromStr for SyncKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fdatasync" => Ok(SyncKind::Fdatasync),
            "fsync" => Ok(SyncKind::Fsync),
            "dsync" | "o_dsync" => Ok(SyncKind::Dsync),
            _ => Err(format!(
                "unknown sync call '{s}': use fdatasync, fsync or dsync"
            )),
        }
    }
}

impl fmt::Display for SyncKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncKind::Fdatasync => "fdatasync",
            SyncKind::Fsync => "fsync",
            SyncKind::Dsync => "dsync",
        })
    }
}

/// When the runner flushes, and so when a batch is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushPolicy {
    /// Never flush (Kafka's default): a batch is acknowledged when the write returns.
    #[default]
    Never,
    /// Flush after every batch.
    Batch,
    /// Flush when this many bytes were written since the last flush.
    Bytes(u64),
    /// Flush when this many milliseconds passed since the last flush.
    Millis(u64),
}

impl FlushPolicy {
    /// True when the policy ever flushes.
    pub fn flushes(&self) -> bool {
        !matches!(self, FlushPolicy::Never)
    }
}

impl FromStr for FlushPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("invalid flush policy '{s}': use never, batch, bytes=SIZE (e.g. bytes=1MiB) or ms=N (e.g. ms=100)")
        };
        match s {
            "never" => Ok(FlushPolicy::Never),
            "batch" => Ok(FlushPolicy::Batch),
            _ => {
                if let Some(v) = s.strip_prefix("bytes=") {
                    let n = crate::units::parse_size(v).map_err(|_| bad())?;
                    Ok(FlushPolicy::Bytes(n))
                } else if let Some(v) = s.strip_prefix("ms=") {
                    let n: u64 = v.parse().map_err(|_| bad())?;
                    if n == 0 {
                        return Err(bad());
                    }
                    Ok(FlushPolicy::Millis(n))
                } else {
                    Err(bad())
                }
            }
        }
    }
}

impl fmt::Display for FlushPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlushPolicy::Never => f.write_str("never"),
            FlushPolicy::Batch => f.write_str("batch"),
            FlushPolicy::Bytes(n) => write!(f, "bytes={n}"),
            FlushPolicy::Millis(n) => write!(f, "ms={n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_policies_parse_and_print() {
        for (s, p) in [
            ("never", FlushPolicy::Never),
            ("batch", FlushPolicy::Batch),
            ("bytes=4096", FlushPolicy::Bytes(4096)),
            ("ms=100", FlushPolicy::Millis(100)),
        ] {
            assert_eq!(s.parse::<FlushPolicy>().unwrap(), p);
            assert_eq!(p.to_string(), s);
        }
        assert_eq!(
            "bytes=1MiB".parse::<FlushPolicy>().unwrap(),
            FlushPolicy::Bytes(1 << 20)
        );
        for bad in ["", "always", "bytes=", "bytes=0", "ms=0", "ms=x"] {
            assert!(bad.parse::<FlushPolicy>().is_err(), "{bad}");
        }
    }

    #[test]
    fn sync_kinds_parse() {
        assert_eq!("fsync".parse::<SyncKind>().unwrap(), SyncKind::Fsync);
        assert!("sync".parse::<SyncKind>().is_err());
    }
}
