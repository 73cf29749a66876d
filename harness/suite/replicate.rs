//! A replicate workload's settings — `segbench replicate`'s options, from its command line or
//! a suite's `[[workload]]` of `kind = "replicate"` — and the one place they become runner
//! configurations ([`ReplicateSettings::configs`], one [`ReplicaConfig`] per acks mode).

use std::time::Duration;

use super::ReplicateSpec;
use crate::replicate::{Acks, ReplicaConfig};
use crate::runner::write::{
    WriteConfig, DEFAULT_BATCH_SIZE, DEFAULT_INDEX_INTERVAL, DEFAULT_RECORD_SIZE,
    DEFAULT_SEGMENT_SIZE, DEFAULT_SIZE,
};

/// Replicas per partition unless given, the leader included.
pub const DEFAULT_RF: u32 = 3;
/// The acks modes compared unless given.
pub const DEFAULT_ACKS: &str = "0,1,all";
/// Kafka's `replica.fetch.max.bytes` default, 1 MiB.
pub const DEFAULT_FETCH_MAX_BYTES: u64 = 1 << 20;
/// Kafka's `replica.fetch.min.bytes` default.
pub const DEFAULT_FETCH_MIN_BYTES: u64 = 1;
/// Kafka's `replica.fetch.wait.max.ms` default.
pub const DEFAULT_FETCH_WAIT_MAX_MS: u64 = 500;
/// Kafka's `replica.lag.time.max.ms` default.
pub const DEFAULT_LAG_TIME_MAX_MS: u64 = 30_000;
/// The topic every replica's partition directories are named after.
const TOPIC: &str = "segbench";

/// Everything that defines a replicate workload, parsed: `segbench replicate`'s options of
/// the same names. The command line and a suite workload both build one, so both check and
/// default alike.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicateSettings {
    /// Replicas per partition, the leader included (signed, so a negative one is named).
    pub rf: i64,
    /// Acks modes to compare, comma-separated.
    pub acks: String,
    /// Partitions.
    pub partitions: u32,
    /// Record value bytes.
    pub record_size: u64,
    /// Producer `batch.size`.
    pub batch_size: u64,
    /// Segment size of every replica.
    pub segment_size: u64,
    /// Bytes produced per repetition.
    pub size: Option<u64>,
    /// Time per repetition.
    pub duration: Option<Duration>,
    /// Open-loop target rate (all partitions), bytes/s.
    pub rate: Option<f64>,
    /// Measured repetitions per acks mode.
    pub repeat: u32,
    /// The leader's write engine spec.
    pub leader_engine: String,
    /// Every follower's write engine spec.
    pub follower_engine: String,
    /// Producer threads.
    pub producers: u32,
    /// An end-to-end consumer beside the replication.
    pub consumer: bool,
    /// The read engine the leader serves fetches with.
    pub fetch_engine: String,
    /// `replica.fetch.max.bytes`.
    pub fetch_max_bytes: u64,
    /// `replica.fetch.min.bytes`.
    pub fetch_min_bytes: u64,
    /// `replica.fetch.wait.max.ms`.
    pub fetch_wait_max_ms: u64,
    /// `replica.lag.time.max.ms`.
    pub lag_time_max_ms: u64,
    /// `min.insync.replicas`.
    pub min_insync_replicas: u32,
    /// Flush policy of every replica's log.
    pub flush: String,
    /// Sync call of the flushes.
    pub sync: String,
}

impl Default for ReplicateSettings {
    fn default() -> Self {
        ReplicateSettings {
            rf: DEFAULT_RF.into(),
            acks: DEFAULT_ACKS.into(),
            partitions: 1,
            record_size: DEFAULT_RECORD_SIZE,
            batch_size: DEFAULT_BATCH_SIZE,
            segment_size: DEFAULT_SEGMENT_SIZE,
            size: None,
            duration: None,
            rate: None,
            repeat: 3,
            leader_engine: "buffered".into(),
            follower_engine: "buffered".into(),
            producers: 1,
            consumer: true,
            fetch_engine: "sendfile".into(),
            fetch_max_bytes: DEFAULT_FETCH_MAX_BYTES,
            fetch_min_bytes: DEFAULT_FETCH_MIN_BYTES,
            fetch_wait_max_ms: DEFAULT_FETCH_WAIT_MAX_MS,
            lag_time_max_ms: DEFAULT_LAG_TIME_MAX_MS,
            min_insync_replicas: 1,
            flush: "never".into(),
            sync: "fdatasync".into(),
        }
    }
}

impl ReplicateSettings {
    /// One configuration per acks mode, each checked (and its leader's and followers' logs
    /// against what the machine has room for); the error is one line naming the option as a
    /// flag (`--rf 0: use 1..=64`).
    pub fn configs(&self) -> Result<Vec<ReplicaConfig>, String> {
        if self.rf < 1 || self.rf > 64 {
            return Err(format!("--rf {}: use 1..=64", self.rf));
        }
        crate::parse::repeat(self.repeat)?;
        let mut modes = Vec::new();
        for m in self.acks.split(',') {
            let acks: Acks = m.parse().map_err(|e: String| format!("--acks {e}"))?;
            if modes.contains(&acks) {
                return Err(format!("--acks {acks} given twice"));
            }
            modes.push(acks);
        }
        let engine = |flag: &str, s: &str| {
            crate::parse::engine(
                s,
                "write",
                workloads::write::ENGINE_NAMES,
                workloads::write::check_spec,
            )
            .map_err(|e| e.replace("--engine", flag))
        };
        let leader_engine = engine("--leader-engine", &self.leader_engine)?;
        let follower_engine = engine("--follower-engine", &self.follower_engine)?;
        let fetch_engine = crate::parse::engine(
            &self.fetch_engine,
            "read",
            workloads::read::ENGINE_NAMES,
            workloads::read::check_spec,
        )
        .map_err(|e| e.replace("--engine", "--fetch-engine"))?;
        let (flush, sync) = crate::parse::flush_sync(&self.flush, &self.sync)?;
        let size = match (self.size, self.duration) {
            (None, None) => Some(DEFAULT_SIZE),
            (s, _) => s,
        };
        let room = crate::budget::Room::here();
        let mut out = Vec::new();
        for acks in modes {
            let c = ReplicaConfig {
                rf: self.rf as u32,
                acks,
                partitions: self.partitions,
                record_size: self.record_size as usize,
                batch_size: self.batch_size as usize,
                segment_size: self.segment_size,
                index_interval: DEFAULT_INDEX_INTERVAL,
                topic: TOPIC.into(),
                leader_engine: leader_engine.clone(),
                follower_engine: follower_engine.clone(),
                fetch_engine: fetch_engine.clone(),
                fetch_max_bytes: self.fetch_max_bytes,
                fetch_min_bytes: self.fetch_min_bytes,
                fetch_wait_max: Duration::from_millis(self.fetch_wait_max_ms),
                lag_time_max: Duration::from_millis(self.lag_time_max_ms),
                min_insync: self.min_insync_replicas,
                size,
                duration: self.duration,
                rate: self.rate,
                flush,
                sync,
                consumer: self.consumer,
                producers: self.producers,
            };
            check_room(&c, room)?;
            c.check()?;
            out.push(c);
        }
        Ok(out)
    }
}

/// Each role's logs and engines are those of a write workload with one thread: checked
/// against what the machine has room for.
fn check_room(c: &ReplicaConfig, room: crate::budget::Room) -> Result<(), String> {
    for (role, spec) in [
        ("leader", &c.leader_engine),
        ("follower", &c.follower_engine),
    ] {
        let w = WriteConfig {
            engine: spec.clone(),
            topic: c.topic.clone(),
            partitions: c.partitions,
            threads: 1,
            record_size: c.record_size,
            batch_size: c.batch_size,
            segment_size: c.segment_size,
            index_interval: c.index_interval,
            preallocate: false,
            retention: None,
            flush: c.flush,
            sync: c.sync,
            format: workloads::kafka::log::LogFormat::Kafka,
            size: c.size,
            duration: c.duration,
            rate: c.rate,
        };
        let shape = w.shape()?;
        crate::budget::check(
            &format!("replicate/{role} {spec}"),
            crate::budget::write_needs(&w, &shape),
            room,
        )?;
    }
    Ok(())
}

/// The settings of a suite workload of kind `replicate` run `repeat` times: its options
/// parsed as `segbench replicate` parses its flags, the rest defaulted as there.
pub fn settings(w: &ReplicateSpec, repeat: u32) -> Result<ReplicateSettings, String> {
    let d = ReplicateSettings::default();
    let size = |key: &str, v: &Option<String>| -> Result<Option<u64>, String> {
        v.as_deref()
            .map(|s| crate::parse::size(s).map_err(|e| invalid(key, s, e)))
            .transpose()
    };
    Ok(ReplicateSettings {
        rf: w.rf.map_or(d.rf, i64::from),
        acks: w.acks.clone().unwrap_or(d.acks),
        partitions: w.partitions.unwrap_or(d.partitions),
        record_size: size("record-size", &w.record_size)?.unwrap_or(d.record_size),
        batch_size: size("batch-size", &w.batch_size)?.unwrap_or(d.batch_size),
        segment_size: size("segment-size", &w.segment_size)?.unwrap_or(d.segment_size),
        size: size("size", &w.size)?,
        duration: w
            .duration
            .as_deref()
            .map(|s| crate::parse::duration(s).map_err(|e| invalid("duration", s, e)))
            .transpose()?,
        rate: w
            .rate
            .as_deref()
            .map(|s| crate::parse::rate(s).map_err(|e| invalid("rate", s, e)))
            .transpose()?,
        repeat,
        leader_engine: w.leader_engine.clone().unwrap_or(d.leader_engine),
        follower_engine: w.follower_engine.clone().unwrap_or(d.follower_engine),
        fetch_max_bytes: size("replica-fetch-max-bytes", &w.replica_fetch_max_bytes)?
            .unwrap_or(d.fetch_max_bytes),
        fetch_wait_max_ms: w.replica_fetch_wait_max_ms.unwrap_or(d.fetch_wait_max_ms),
        lag_time_max_ms: w.replica_lag_time_max_ms.unwrap_or(d.lag_time_max_ms),
        min_insync_replicas: w.min_insync_replicas.unwrap_or(d.min_insync_replicas),
        flush: w.flush.clone().unwrap_or(d.flush),
        sync: w.sync.clone().unwrap_or(d.sync),
        ..d
    })
}

/// A value that does not parse, in the words clap uses for a flag's value.
fn invalid(key: &str, value: &str, why: String) -> String {
    format!("invalid value '{value}' for '--{key}': {why}")
}

/// The configurations of a suite workload of kind `replicate` (one per acks mode), checked as
/// `segbench replicate` checks its flags; the error names the option without its dashes.
pub fn configs(w: &ReplicateSpec, repeat: u32) -> Result<Vec<ReplicaConfig>, String> {
    settings(w, repeat)
        .and_then(|s| s.configs())
        .map_err(|e| e.replace("--", ""))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::configs;
    use crate::suite::parse;

    #[test]
    fn replicate_workloads_take_the_replicate_options_and_nothing_else() {
        let repl = |lines: &str| {
            format!("name = \"r\"\n[[workload]]\nkind = \"replicate\"\nname = \"repl\"\nduration = \"1s\"\n{lines}\n")
        };
        let ok = repl("rf = 2\nacks = \"1,all\"\nflush = \"batch\"\nleader_engine = \"buffered\"\nreplica_lag_time_max_ms = 500");
        let s = parse(&ok, Path::new("r.toml")).unwrap();
        let crate::suite::WorkloadSpec::Replicate(w) = &s.workloads[0] else {
            panic!("{:?}", s.workloads[0]);
        };
        assert_eq!((w.rf, w.acks.as_deref()), (Some(2), Some("1,all")));
        let back = parse(&toml::to_string(&s).unwrap(), Path::new("again")).unwrap();
        assert_eq!(back, s);
        let cfgs = configs(w, 1).unwrap();
        assert_eq!(cfgs.len(), 2);
        assert_eq!(cfgs[1].acks, crate::replicate::Acks::All);
        assert_eq!(cfgs[0].flush, workloads::FlushPolicy::Batch);
        assert_eq!(cfgs[0].lag_time_max, Duration::from_millis(500));
        // A stopped run lists the acks modes it never started, by the names they would have had.
        let jobs = crate::suite::jobs::jobs(&s, None).unwrap();
        let names = |done: &[results::WorkloadResult]| -> Vec<String> {
            crate::runner::execute::not_run(&jobs, done)
                .into_iter()
                .map(|r| r.name)
                .collect()
        };
        let all = names(&[]);
        assert_eq!(all, ["repl/acks=1", "repl/acks=all"]);
        let first = crate::runner::execute::not_run(&jobs, &[]).remove(0);
        assert_eq!(names(&[first]), ["repl/acks=all"]);
        for (bad, needle) in [
            ("rf = 0", "rf 0"),
            ("acks = \"2\"", "acks '2'"),
            ("engines = [\"buffered\"]", "engines does not apply"),
            ("threads = 2", "threads does not apply"),
            ("flush = \"often\"", "flush"),
        ] {
            let e = parse(&repl(bad), Path::new("r.toml")).unwrap_err().0;
            assert!(e.contains(needle) && e.contains("'repl'"), "{bad}: {e}");
        }
        let write_with_rf = "name = \"w\"\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"buffered\"]\nduration = \"1s\"\nrf = 3\n";
        let e = parse(write_with_rf, Path::new("w.toml")).unwrap_err().0;
        assert!(e.contains("replicate\" only"), "{e}");
    }
}
