//! `segbench plan`: how many brokers a target load needs on this hardware. Per-node limits come
//! from a results file (`--from`) unless given explicitly; the model is
//! [`results::capacity`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use results::capacity::{self, Figure, NodeLimits, Resource, Shape, Targets};
use results::Baseline;

use crate::bad_input;
use crate::parse::{duration, rate, size};

/// Examples shown by `segbench plan --help`.
pub const PLAN_HELP: &str =
    "Per-node limits come from --from RESULTS.json (disk write: the chosen --engine or the best
device-medium write in Kafka's format, never --format raw; read path: the best sendfile read,
the path a broker serves consumers by; disk size and NIC speed: the embedded probe) unless
given explicitly. NIC speeds take bits too: 10Gbit/s = 1250MB/s.

Brokers = ceil(max(r·W/(D·U), r·W/(NICin·U), (r−1+c)·W/(NICout·U), r·W·T/(S·F), r)) + spare

Examples:
  segbench plan --ingest 100MB/s --rf 3 --consumers 2 --retention 7d --from results.json
  segbench plan --ingest 200MB/s --rf 3 --consumers 1 --retention 3d \\
      --disk-bw 500MB/s --nic 10Gbit/s --disk-capacity 4TB
  segbench plan --ingest 50MB/s --rf 3 --consumers 1 --retention 1d --from results.json \\
      --engine uring:direct,qd=8 --partitions 12 --consumer-instances 5 --json";

/// `segbench plan`.
#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    /// Produced data, all topics (W), e.g. 100MB/s.
    #[arg(long, value_parser = rate, allow_hyphen_values = true, value_name = "RATE")]
    pub ingest: f64,
    /// Replication factor (r), at least 1.
    #[arg(long, value_parser = replication_factor, allow_hyphen_values = true, value_name = "R")]
    pub rf: u32,
    /// Consumer groups reading everything (c), 0 or more.
    #[arg(long, value_parser = consumer_groups, allow_hyphen_values = true, value_name = "C")]
    pub consumers: u32,
    /// Retention (T), e.g. 7d, 12h, 2w.
    #[arg(long, value_parser = duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub retention: Duration,
    /// A results file (`segbench run/write --out`) to take per-node limits from.
    #[arg(long, value_name = "RESULTS.json")]
    pub from: Option<PathBuf>,
    /// The write engine whose throughput is the disk bandwidth (default: the best device result).
    #[arg(long, requires = "from", value_name = "NAME")]
    pub engine: Option<String>,
    /// Sustained disk write bandwidth per node (D).
    #[arg(long, value_parser = rate, allow_hyphen_values = true, value_name = "RATE")]
    pub disk_bw: Option<f64>,
    /// Read-path (serving) throughput per node (R); default: the best sendfile read result (else
    /// the best read), if any.
    #[arg(long, value_parser = rate, allow_hyphen_values = true, value_name = "RATE")]
    pub read_path: Option<f64>,
    /// NIC speed per node, both directions (e.g. 10Gbit/s or 1250MB/s).
    #[arg(long, value_parser = nic_rate, allow_hyphen_values = true, value_name = "RATE")]
    pub nic: Option<f64>,
    /// NIC receive speed per node (overrides --nic).
    #[arg(long, value_parser = nic_rate, allow_hyphen_values = true, value_name = "RATE")]
    pub nic_in: Option<f64>,
    /// NIC send speed per node (overrides --nic).
    #[arg(long, value_parser = nic_rate, allow_hyphen_values = true, value_name = "RATE")]
    pub nic_out: Option<f64>,
    /// Disk capacity for log data per node (S), e.g. 4TB, 2TiB.
    #[arg(long, value_parser = size, allow_hyphen_values = true, value_name = "BYTES")]
    pub disk_capacity: Option<u64>,
    /// Target utilisation of each measured limit (U), in (0, 1]; 0.7 or 70%.
    #[arg(long, default_value = "0.7", value_parser = fraction, allow_hyphen_values = true, value_name = "U")]
    pub utilization: f64,
    /// Target disk fill (F), in (0, 1].
    #[arg(long, default_value = "0.8", value_parser = fraction, allow_hyphen_values = true, value_name = "F")]
    pub fill: f64,
    /// Spare brokers on top, for a failed broker.
    #[arg(long, default_value = "1", value_parser = spare, allow_hyphen_values = true, value_name = "N")]
    pub spare: u32,
    /// Partitions of the consumed topic (with --consumer-instances: the group's split).
    #[arg(long, requires = "consumer_instances", value_parser = positive_count, allow_hyphen_values = true, value_name = "P")]
    pub partitions: Option<u32>,
    /// Instances in one consumer group.
    #[arg(long, requires = "partitions", value_parser = positive_count, allow_hyphen_values = true, value_name = "K")]
    pub consumer_instances: Option<u32>,
    /// The baseline cluster, RATE@NODES (default: the results file's, else 20MB/s@10).
    #[arg(long, value_parser = crate::parse::baseline, value_name = "RATE@NODES")]
    pub baseline: Option<Baseline>,
    /// Print the plan as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

fn count(s: &str, what: &str) -> Result<i64, String> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| format!("{what} must be a whole number, got '{s}'"))
}

/// Parses the replication factor: a whole number, at least 1.
pub fn replication_factor(s: &str) -> Result<u32, String> {
    match count(s, "the replication factor")? {
        n @ 1..=1000 => Ok(n as u32),
        n if n < 1 => Err(format!(
            "the replication factor must be at least 1, got {n}"
        )),
        n => Err(format!(
            "replication factor {n} is not plausible (at most 1000)"
        )),
    }
}

/// Parses the number of consumer groups: 0 or more.
pub fn consumer_groups(s: &str) -> Result<u32, String> {
    match count(s, "consumers")? {
        n @ 0..=100_000 => Ok(n as u32),
        n if n < 0 => Err(format!("consumers must be 0 or more, got {n}")),
        n => Err(format!(
            "{n} consumer groups is not plausible (at most 100000)"
        )),
    }
}

/// Parses a spare broker count: 0 or more.
pub fn spare(s: &str) -> Result<u32, String> {
    match count(s, "spare")? {
        n @ 0..=1000 => Ok(n as u32),
        n => Err(format!("spare must be between 0 and 1000, got {n}")),
    }
}

/// Parses a partition or instance count: at least 1.
pub fn positive_count(s: &str) -> Result<u32, String> {
    match count(s, "the count")? {
        n @ 1..=1_000_000 => Ok(n as u32),
        n => Err(format!("must be between 1 and 1000000, got {n}")),
    }
}

/// Parses a share in (0, 1]: `0.7` or `70%`.
pub fn fraction(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(p) => (p.trim(), 100.0),
        None => (t, 1.0),
    };
    let v = num
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v / scale)
        .ok_or_else(|| format!("'{s}' is not a share: use a number in (0, 1], e.g. 0.7 or 70%"))?;
    if v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(format!("'{s}' is outside (0, 1]: use e.g. 0.7 or 70%"))
    }
}

/// Parses a NIC speed: a rate in bytes (`1250MB/s`) or in bits (`10Gbit/s`, `10Gbit`,
/// `25000Mbit/s`; decimal prefixes). Refuses `10Gbps` and `10Gb/s`, which read as bytes
/// elsewhere in segbench but usually mean bits on a NIC.
pub fn nic_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let bits = t
        .strip_suffix("bit/s")
        .or_else(|| t.strip_suffix("bits/s"))
        .or_else(|| t.strip_suffix("bit"));
    if let Some(b) = bits {
        let b = b.trim();
        let (num, mult) = match b.chars().last() {
            Some('k' | 'K') => (&b[..b.len() - 1], 1e3),
            Some('M') => (&b[..b.len() - 1], 1e6),
            Some('G') => (&b[..b.len() - 1], 1e9),
            Some('T') => (&b[..b.len() - 1], 1e12),
            _ => (b, 1.0),
        };
        return num
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(|v| v * mult / 8.0)
            .ok_or_else(|| {
                format!("invalid NIC speed '{s}': use e.g. 10Gbit/s, 25000Mbit/s or 1250MB/s")
            });
    }
    let lower = t.to_ascii_lowercase();
    let bits_like = [
        "kbps", "mbps", "gbps", "tbps", "kb/s", "mb/s", "gb/s", "tb/s",
    ];
    if bits_like.iter().any(|u| lower.ends_with(u)) && !t.contains('B') {
        return Err(format!(
            "ambiguous NIC speed '{s}': write bits as 10Gbit/s or bytes as 1250MB/s"
        ));
    }
    rate(s)
}

/// The flag that supplies a resource's figure.
fn flag(r: Resource) -> &'static str {
    match r {
        Resource::DiskWrite => "--disk-bw RATE",
        Resource::NicIn => "--nic-in RATE (or --nic)",
        Resource::NicOut => "--nic-out RATE (or --nic)",
        Resource::ReadPath => "--read-path RATE",
        Resource::Storage => "--disk-capacity BYTES",
        Resource::ReplicationFloor => "--rf",
    }
}

/// The limits of `a`: the results file's, overridden by explicit values.
fn limits(a: &PlanArgs) -> anyhow::Result<(NodeLimits, Option<Baseline>)> {
    let mut l = NodeLimits::default();
    let mut file_baseline = None;
    if let Some(path) = &a.from {
        let r = results::io::read_results(path).map_err(|e| bad_input(e.to_string()))?;
        l = capacity::limits_from_results_for(&r, a.engine.as_deref())
            .map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
        // Replication rows in the file: their measured cost instead of the formula's (rf > 1).
        l = capacity::with_measured_replication(&r, l, a.rf);
        file_baseline = Some(r.baseline);
    }
    let given = |v: Option<f64>, flag: &str| v.map(|v| Figure::new(v, format!("given: {flag}")));
    if let Some(f) = given(a.disk_bw, "--disk-bw") {
        l.disk_write_bytes_per_s = Some(f);
    }
    if let Some(f) = given(a.read_path, "--read-path") {
        l.read_path_bytes_per_s = Some(f);
    }
    if let Some(f) = given(a.nic, "--nic") {
        l.nic_in_bytes_per_s = Some(f.clone());
        l.nic_out_bytes_per_s = Some(f);
    }
    if let Some(f) = given(a.nic_in, "--nic-in") {
        l.nic_in_bytes_per_s = Some(f);
    }
    if let Some(f) = given(a.nic_out, "--nic-out") {
        l.nic_out_bytes_per_s = Some(f);
    }
    if let Some(f) = given(a.disk_capacity.map(|b| b as f64), "--disk-capacity") {
        l.disk_capacity_bytes = Some(f);
    }
    Ok((l, file_baseline))
}

/// Runs the plan and prints it (table, or JSON with `--json`).
pub fn run(a: PlanArgs) -> anyhow::Result<u8> {
    let (limits, file_baseline) = limits(&a)?;
    let baseline = a.baseline.clone().or(file_baseline).unwrap_or_default();
    let shape = Shape {
        replication_factor: a.rf,
        consumer_groups: a.consumers,
        retention_s: Some(a.retention.as_secs_f64()),
    };
    let targets = Targets {
        utilization: a.utilization,
        fill: a.fill,
        spare: a.spare,
    };
    let mut plan = match capacity::plan(&limits, a.ingest, &shape, &targets, &baseline) {
        Ok(p) => p,
        Err(capacity::CapacityError::MissingLimits(missing)) => {
            let both_nics =
                missing.contains(&Resource::NicIn) && missing.contains(&Resource::NicOut);
            let flags: Vec<String> = missing
                .iter()
                .filter_map(|r| match r {
                    Resource::NicIn if both_nics => {
                        Some("--nic RATE (or --nic-in and --nic-out) for NIC speed".to_string())
                    }
                    Resource::NicOut if both_nics => None,
                    r => Some(format!("{} for {}", flag(*r), r.label())),
                })
                .collect();
            let whence = match &a.from {
                Some(p) => format!("{} does not hold them", p.display()),
                None => "or --from RESULTS.json".to_string(),
            };
            return Err(bad_input(format!(
                "missing per-node figures: pass {} ({whence})",
                flags.join(", ")
            )));
        }
        Err(e) => return Err(bad_input(e.to_string())),
    };
    if let (Some(p), Some(k)) = (a.partitions, a.consumer_instances) {
        plan.consumer_group = Some(
            capacity::range_split(p, k, Some(a.ingest)).map_err(|e| bad_input(e.to_string()))?,
        );
    }
    if a.json {
        crate::output::println(&serde_json::to_string_pretty(&plan)?)?;
    } else {
        crate::output::print(&capacity::render_text(&plan))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nic_speeds_take_bits_and_refuse_ambiguous_units() {
        assert_eq!(nic_rate("10Gbit/s"), Ok(1.25e9));
        assert_eq!(nic_rate("10Gbit"), Ok(1.25e9));
        assert_eq!(nic_rate("25000Mbit/s"), Ok(3.125e9));
        assert_eq!(nic_rate("1250MB/s"), Ok(1.25e9));
        for s in ["10Gbps", "10Gb/s", "100mbps"] {
            let e = nic_rate(s).unwrap_err();
            assert!(e.contains("ambiguous"), "{s}: {e}");
        }
        assert!(nic_rate("fastbit/s").is_err());
        assert!(nic_rate("0Gbit/s").is_err());
    }

    #[test]
    fn counts_and_shares() {
        assert_eq!(replication_factor("3"), Ok(3));
        assert!(replication_factor("0").unwrap_err().contains("at least 1"));
        assert_eq!(consumer_groups("0"), Ok(0));
        assert!(consumer_groups("-1").unwrap_err().contains("0 or more"));
        assert!(consumer_groups("two").unwrap_err().contains("whole number"));
        assert_eq!(fraction("0.7"), Ok(0.7));
        assert_eq!(fraction("70%"), Ok(0.7));
        assert_eq!(fraction("1"), Ok(1.0));
        for bad in ["0", "1.5", "-0.2", "150%", "x", "NaN"] {
            assert!(fraction(bad).is_err(), "{bad}");
        }
    }
}
