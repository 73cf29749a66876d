//! The typed workloads of a suite: one struct per kind, tagged by `kind` in the TOML
//! ([`WorkloadSpec`]: write, read, replicate, mixed; a mixed workload's [`PartSpec`]s: write,
//! read, snapshot, checkpoint). Each struct takes only its kind's options (a key of another
//! kind is refused when the suite is read, [`super::parse`]); sizes, durations and rates stay
//! the TOML strings, so a suite prints back as it was written, and are parsed where each kind
//! becomes its runner configuration ([`super::config`], [`super::replicate`],
//! [`super::mixed`]).

use serde::{Deserialize, Serialize};

use super::Sweep;

/// One workload of a suite: the options of `segbench write` / `segbench read` /
/// `segbench replicate`, or the parts of a mixed workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum WorkloadSpec {
    /// Appends through one or more write engines.
    Write(WriteSpec),
    /// Consumers of a log through one or more read engines.
    Read(ReadSpec),
    /// Leader → follower replication, one row per acks mode.
    Replicate(ReplicateSpec),
    /// Parts run together and alone ([`crate::runner::mixed`]).
    Mixed(MixedSpec),
}

/// A write workload (`segbench write`'s options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WriteSpec {
    /// Name, unique in the suite (workload names in results are `<name>/<engine>`).
    pub name: String,
    /// Engine specs; `best` = the fastest write engine measured so far in this run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engines: Vec<String>,
    /// Partitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<u32>,
    /// Runner threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// Record value size, e.g. "1KiB".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_size: Option<String>,
    /// Batch size limit, e.g. "16KiB".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<String>,
    /// Segment size, e.g. "1GiB".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_size: Option<String>,
    /// Index interval, e.g. "4KiB".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_interval: Option<String>,
    /// Preallocate segments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preallocate: Option<bool>,
    /// Retention per partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
    /// Flush policy: never, batch, bytes=SIZE, ms=N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush: Option<String>,
    /// Sync call: fdatasync, fsync, dsync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<String>,
    /// kafka or raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Bytes per repetition; a size relative to the dirty limit (`"2x-dirty-limit"`) is
    /// resolved from the probe before the suite runs ([`crate::sustained`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Time per repetition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Open-loop rate of all partitions, e.g. "50MB/s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// Verify every written segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
    /// Repetitions of this workload (overrides the suite's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
    /// Sweep one parameter over several values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Sweep>,
    /// In a mixed workload: a part that runs in every run (see [`PartSpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<bool>,
    /// Run each repetition in rounds of this length until steady (SNIA PTS), e.g. "5s":
    /// `duration` caps the rounds; `size` is the minimum written before the window may start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_steady: Option<String>,
}

/// A read workload (`segbench read`'s options) over a log of `size` written first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReadSpec {
    /// Name, unique in the suite (workload names in results are `<name>/<engine>`).
    pub name: String,
    /// Engine specs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engines: Vec<String>,
    /// Partitions of the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<u32>,
    /// The log size written first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Time per repetition (passes over the log until it ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Open-loop rate of each consumer group, e.g. "50MB/s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// Consumers per group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumers: Option<u32>,
    /// Independent consumer groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<u32>,
    /// Fetch size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_size: Option<String>,
    /// hot or cold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
    /// Verify every delivered batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
    /// Repetitions of this workload (overrides the suite's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
    /// Sweep one parameter over several values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Sweep>,
    /// In a mixed workload: a part that runs in every run (see [`PartSpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<bool>,
    /// Run each repetition in rounds of this length until steady (SNIA PTS), e.g. "5s";
    /// `duration` caps the rounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_steady: Option<String>,
}

/// A replicate workload: `segbench replicate`'s options of the same names (with `_` for `-`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReplicateSpec {
    /// Name, unique in the suite (workload names in results are `<name>/acks=<A>`).
    pub name: String,
    /// Partitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<u32>,
    /// Record value size, e.g. "1KiB".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_size: Option<String>,
    /// Producer batch size, e.g. "16KiB".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<String>,
    /// Segment size of every replica, e.g. "1GiB".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_size: Option<String>,
    /// Flush policy of every replica's log: never, batch, bytes=SIZE, ms=N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush: Option<String>,
    /// Sync call of the flushes: fdatasync, fsync, dsync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<String>,
    /// Bytes produced per repetition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Time per repetition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Open-loop rate of all partitions, e.g. "50MB/s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// Repetitions of this workload (overrides the suite's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
    /// Replicas per partition, the leader included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rf: Option<u32>,
    /// Acks modes to compare, e.g. "0,1,all".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acks: Option<String>,
    /// The leader's write engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_engine: Option<String>,
    /// Every follower's write engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follower_engine: Option<String>,
    /// min.insync.replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_insync_replicas: Option<u32>,
    /// replica.fetch.max.bytes, e.g. "1MiB".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_fetch_max_bytes: Option<String>,
    /// replica.fetch.wait.max.ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_fetch_wait_max_ms: Option<u64>,
    /// replica.lag.time.max.ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_lag_time_max_ms: Option<u64>,
}

/// A mixed workload: its parts measured over one common interval ([`super::mixed`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MixedSpec {
    /// Name, unique in the suite.
    pub name: String,
    /// The common measured interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Verify every written segment and delivered batch of its parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
    /// Repetitions of this workload (overrides the suite's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
    /// The parts.
    #[serde(rename = "part", default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartSpec>,
}

/// One part of a mixed workload, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PartSpec {
    /// A write workload's options, one engine (no duration, sweep or repeat of its own).
    Write(WriteSpec),
    /// A read workload's options, one engine; `size` is its log.
    Read(ReadSpec),
    /// A ZooKeeper-style snapshot writer.
    Snapshot(PeriodicSpec),
    /// A Flume-style checkpoint writer.
    Checkpoint(PeriodicSpec),
}

/// A snapshot or checkpoint part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PeriodicSpec {
    /// Name, unique in its mixed workload.
    pub name: String,
    /// Bytes written each time, e.g. "256MiB".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// A checkpoint part's interval, e.g. "30s" (Flume's `checkpointInterval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
    /// A snapshot part's transaction count between snapshots (ZooKeeper's `snapCount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_records: Option<u64>,
    /// A part that runs in every run of its mixed workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<bool>,
}

/// The keys each kind takes, for the messages that refuse a key of another kind: read from the
/// spec structs themselves (the field names serde matches), so a new option is known here the
/// moment it is declared.
pub(super) mod keys {
    use std::cell::Cell;

    use serde::de::{self, Deserialize, Deserializer, Visitor};

    use super::{PeriodicSpec, ReadSpec, ReplicateSpec, WriteSpec};

    /// A write workload's keys.
    pub fn write() -> &'static [&'static str] {
        fields_of::<WriteSpec>()
    }

    /// A read workload's keys.
    pub fn read() -> &'static [&'static str] {
        fields_of::<ReadSpec>()
    }

    /// A snapshot or checkpoint part's keys.
    pub fn periodic() -> &'static [&'static str] {
        fields_of::<PeriodicSpec>()
    }

    /// True for a key only a replicate workload takes (none of a write's or a read's).
    pub fn replicate_only(key: &str) -> bool {
        fields_of::<ReplicateSpec>().contains(&key)
            && !write().contains(&key)
            && !read().contains(&key)
    }

    /// The field names serde matches for the struct `T` (its `#[serde(rename)]`s applied).
    fn fields_of<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
        let fields = Cell::new(&[][..]);
        // The probe always errs once it has the names: there is no value to build.
        let _ = T::deserialize(FieldNames(&fields));
        fields.get()
    }

    /// A deserializer that answers nothing and notes the field names a struct asks for.
    struct FieldNames<'a>(&'a Cell<&'static [&'static str]>);

    impl<'de> Deserializer<'de> for FieldNames<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("only a struct's field names are read"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.set(fields);
            Err(de::Error::custom("field names read"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_keys_are_the_spec_structs_fields() {
            let w = write();
            assert!(
                w.contains(&"threads") && w.contains(&"until_steady"),
                "{w:?}"
            );
            assert!(!w.contains(&"consumers") && !w.contains(&"kind"), "{w:?}");
            assert!(read().contains(&"consumers") && !read().contains(&"threads"));
            assert_eq!(
                periodic(),
                ["name", "size", "every", "every_records", "background"]
            );
            for k in ["rf", "acks", "leader_engine", "replica_lag_time_max_ms"] {
                assert!(replicate_only(k), "{k}");
            }
            for k in ["partitions", "size", "duration", "threads"] {
                assert!(!replicate_only(k), "{k}");
            }
        }
    }
}

impl WorkloadSpec {
    /// The workload's name.
    pub fn name(&self) -> &str {
        match self {
            WorkloadSpec::Write(w) => &w.name,
            WorkloadSpec::Read(r) => &r.name,
            WorkloadSpec::Replicate(r) => &r.name,
            WorkloadSpec::Mixed(m) => &m.name,
        }
    }

    /// `write`, `read`, `replicate` or `mixed`, as the suite names the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            WorkloadSpec::Write(_) => "write",
            WorkloadSpec::Read(_) => "read",
            WorkloadSpec::Replicate(_) => "replicate",
            WorkloadSpec::Mixed(_) => "mixed",
        }
    }

    /// The engines a write or read workload compares (none for the other kinds).
    pub fn engines(&self) -> &[String] {
        match self {
            WorkloadSpec::Write(w) => &w.engines,
            WorkloadSpec::Read(r) => &r.engines,
            WorkloadSpec::Replicate(_) | WorkloadSpec::Mixed(_) => &[],
        }
    }

    /// Whether to verify what the workload writes and delivers (`verify`).
    pub fn verify(&self) -> bool {
        let v = match self {
            WorkloadSpec::Write(w) => w.verify,
            WorkloadSpec::Read(r) => r.verify,
            WorkloadSpec::Mixed(m) => m.verify,
            WorkloadSpec::Replicate(_) => None,
        };
        v == Some(true)
    }

    /// The workload's own repetitions (`repeat`), which override the suite's.
    pub fn repeat_mut(&mut self) -> &mut Option<u32> {
        match self {
            WorkloadSpec::Write(w) => &mut w.repeat,
            WorkloadSpec::Read(r) => &mut r.repeat,
            WorkloadSpec::Replicate(r) => &mut r.repeat,
            WorkloadSpec::Mixed(m) => &mut m.repeat,
        }
    }

    /// The workload's own repetitions, if given.
    pub fn repeat(&self) -> Option<u32> {
        match self {
            WorkloadSpec::Write(w) => w.repeat,
            WorkloadSpec::Read(r) => r.repeat,
            WorkloadSpec::Replicate(r) => r.repeat,
            WorkloadSpec::Mixed(m) => m.repeat,
        }
    }

    /// The time per repetition as written (a mixed workload's common interval).
    pub fn duration(&self) -> Option<&str> {
        match self {
            WorkloadSpec::Write(w) => w.duration.as_deref(),
            WorkloadSpec::Read(r) => r.duration.as_deref(),
            WorkloadSpec::Replicate(r) => r.duration.as_deref(),
            WorkloadSpec::Mixed(m) => m.duration.as_deref(),
        }
    }

    /// The round length of a write or read workload run until steady, as written.
    pub fn until_steady(&self) -> Option<&str> {
        match self {
            WorkloadSpec::Write(w) => w.until_steady.as_deref(),
            WorkloadSpec::Read(r) => r.until_steady.as_deref(),
            WorkloadSpec::Replicate(_) | WorkloadSpec::Mixed(_) => None,
        }
    }

    /// The time per repetition (a mixed workload's common interval).
    pub fn duration_mut(&mut self) -> &mut Option<String> {
        match self {
            WorkloadSpec::Write(w) => &mut w.duration,
            WorkloadSpec::Read(r) => &mut r.duration,
            WorkloadSpec::Replicate(r) => &mut r.duration,
            WorkloadSpec::Mixed(m) => &mut m.duration,
        }
    }

    /// The bytes per repetition (a read workload's log size); none for a mixed workload.
    pub fn size_mut(&mut self) -> Option<&mut Option<String>> {
        match self {
            WorkloadSpec::Write(w) => Some(&mut w.size),
            WorkloadSpec::Read(r) => Some(&mut r.size),
            WorkloadSpec::Replicate(r) => Some(&mut r.size),
            WorkloadSpec::Mixed(_) => None,
        }
    }

    /// The sweep of a write or read workload.
    pub fn sweep(&self) -> Option<&Sweep> {
        match self {
            WorkloadSpec::Write(w) => w.sweep.as_ref(),
            WorkloadSpec::Read(r) => r.sweep.as_ref(),
            WorkloadSpec::Replicate(_) | WorkloadSpec::Mixed(_) => None,
        }
    }

    /// The round length of a write or read workload run until steady, as written.
    pub fn until_steady_mut(&mut self) -> Option<&mut Option<String>> {
        match self {
            WorkloadSpec::Write(w) => Some(&mut w.until_steady),
            WorkloadSpec::Read(r) => Some(&mut r.until_steady),
            WorkloadSpec::Replicate(_) | WorkloadSpec::Mixed(_) => None,
        }
    }
}

impl PartSpec {
    /// `write`, `read`, `snapshot` or `checkpoint`, as the suite names the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            PartSpec::Write(_) => "write",
            PartSpec::Read(_) => "read",
            PartSpec::Snapshot(_) => "snapshot",
            PartSpec::Checkpoint(_) => "checkpoint",
        }
    }

    /// The part's name.
    pub fn name(&self) -> &str {
        match self {
            PartSpec::Write(w) => &w.name,
            PartSpec::Read(r) => &r.name,
            PartSpec::Snapshot(p) | PartSpec::Checkpoint(p) => &p.name,
        }
    }

    /// A part that runs in every run of its mixed workload.
    pub fn background(&self) -> bool {
        let b = match self {
            PartSpec::Write(w) => w.background,
            PartSpec::Read(r) => r.background,
            PartSpec::Snapshot(p) | PartSpec::Checkpoint(p) => p.background,
        };
        b == Some(true)
    }
}
