//! The value parsers of the command line (clap `value_parser`s): sizes, durations, rates, the
//! baseline cluster. They wrap the parsers suite files use (`workloads::units`), so a bad value
//! gets one line naming it and the expected form, on the command line as in a suite. Also
//! clap's own error as that one line ([`clap_error_line`]), for the binary and for options
//! parsed from a list (a suite workload's, a fleet child's).

use std::time::Duration;

use results::Baseline;

/// Clap's error `e` as one line, without its `error: ` and the usage after it: its first line
/// names the option and the value. "the following required arguments were not provided:"
/// lists them on the next lines; they are kept on this one, joined by commas.
pub fn clap_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    if !first.ends_with(':') {
        return first.to_string();
    }
    let listed: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.ends_with(':'))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect();
    format!("{first} {}", listed.join(", "))
}

/// Parses a size for clap.
pub fn size(s: &str) -> Result<u64, String> {
    workloads::units::parse_size(s).map_err(|e| e.0)
}
/// Parses a duration for clap.
pub fn duration(s: &str) -> Result<Duration, String> {
    workloads::units::parse_duration(s).map_err(|e| e.0)
}
/// A duration as text that [`duration`] reads back exactly: whole milliseconds as `Nms`, else
/// nanoseconds as `Nns` (the one way a duration is written back for a suite or a command
/// line).
pub fn duration_text(d: Duration) -> String {
    if d.subsec_nanos() % 1_000_000 == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}ns", d.as_nanos())
    }
}
/// Parses a duration that may be zero (`0` disables), for clap.
pub fn duration_or_zero(s: &str) -> Result<Duration, String> {
    workloads::units::parse_duration_or_zero(s).map_err(|e| e.0)
}
/// Parses a rate for clap.
pub fn rate(s: &str) -> Result<f64, String> {
    workloads::units::parse_rate(s).map_err(|e| e.0)
}

/// `segbench run`'s default `--baseline`: the classic ~20 MB/s for a 10-node cluster.
pub const CLASSIC_BASELINE: &str = "20MB/s@10";

/// Parses a baseline cluster `RATE@NODES` (e.g. `20MB/s@10`, `100MB/s@5`): the one parser of
/// `--baseline`, for every command that takes it. [`CLASSIC_BASELINE`] is
/// [`Baseline::default`] (the classic cluster); any other value's source is `given: VALUE`.
/// The error says what was wrong and gives the form with an example (clap names the flag and
/// the value before it).
pub fn baseline(s: &str) -> Result<Baseline, String> {
    const FORM: &str = "use RATE@NODES, e.g. 20MB/s@10 (the cluster's throughput @ its node count)";
    let t = s.trim();
    if t == CLASSIC_BASELINE {
        return Ok(Baseline::default());
    }
    let (r, n) = t
        .rsplit_once('@')
        .ok_or_else(|| format!("no '@NODES'; {FORM}"))?;
    let cluster = workloads::units::parse_rate(r)
        .map_err(|_| format!("'{}' is not a rate; {FORM}", r.trim()))?;
    let nodes: u32 = n
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("'{}' is not a node count of at least 1; {FORM}", n.trim()))?;
    Ok(Baseline {
        cluster_bytes_per_s: cluster,
        nodes,
        per_node_bytes_per_s: cluster / f64::from(nodes),
        source: format!("given: {t}"),
    })
}

/// A `--baseline` value as given: the text (what a fleet rank forwards to its children, so
/// they record the same source) and the cluster it names.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineArg {
    /// The value as given on the command line.
    pub text: String,
    /// The cluster it names ([`baseline`]).
    pub cluster: Baseline,
}

/// Parses a `--baseline` value that is kept with its text ([`BaselineArg`]), as [`baseline`].
pub fn baseline_arg(s: &str) -> Result<BaselineArg, String> {
    Ok(BaselineArg {
        text: s.to_string(),
        cluster: baseline(s)?,
    })
}

/// Parses `--flush` and `--sync` (as `segbench write` takes them); the error names the option.
pub fn flush_sync(
    flush: &str,
    sync: &str,
) -> Result<(workloads::FlushPolicy, workloads::SyncKind), String> {
    let f = flush.parse().map_err(|e: String| format!("--flush {e}"))?;
    let s = sync.parse().map_err(|e: String| format!("--sync {e}"))?;
    Ok((f, s))
}

/// Parses `--engine n` of a `family` (`read`, `write`): a spec of one of the family's `names`
/// whose options its `check` accepts; the error names the option and the value.
pub fn engine(
    n: &str,
    family: &str,
    names: &[&str],
    check: fn(&workloads::EngineSpec) -> Result<(), workloads::EngineError>,
) -> Result<workloads::EngineSpec, String> {
    let about = |e: workloads::EngineError| e.about_spec("--engine", n);
    let spec: workloads::EngineSpec = n.parse().map_err(about)?;
    if !names.contains(&spec.name.as_str()) {
        return Err(format!(
            "--engine '{}': unknown {family} engine; use one of {}",
            spec.name,
            names.join(", ")
        ));
    }
    check(&spec).map_err(about)?;
    Ok(spec)
}

/// The most measured repetitions a workload may have. Every repetition's figures (histograms,
/// timeline, per-thread rows: about 1.3 MB each for a default write) are held until the results
/// file is written, so the count bounds the run's memory (200 × 1.3 MB ≈ 260 MB); more
/// repetitions are more runs, merged with `segbench merge`.
pub const MAX_REPEAT: u32 = 200;

/// Checks a repetition count given to `--repeat` (or a suite's `repeat`): 1 ..= [`MAX_REPEAT`].
pub fn repeat(n: u32) -> Result<u32, String> {
    match n {
        0 => Err("--repeat 0: need at least one repetition".into()),
        n if n > MAX_REPEAT => Err(format!(
            "--repeat {n}: at most {MAX_REPEAT} repetitions per run (each is held in memory until the results are written); run more times and combine them with segbench merge"
        )),
        n => Ok(n),
    }
}

/// Refuses an engine given twice (`--engine buffered --engine buffered`, or the same spec
/// spelled twice): two rows of one engine could not be told apart, nor matched by `compare`.
/// Names that do not parse are left to the engine checks.
pub fn unique_engines(names: &[String]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for n in names {
        let Ok(spec) = n.parse::<workloads::EngineSpec>() else {
            continue;
        };
        if !seen.insert(spec.to_string()) {
            return Err(format!(
                "--engine {n}: given twice; give each engine once (repetitions come from --repeat)"
            ));
        }
    }
    Ok(())
}

/// Resolves `HOST:PORT` given to `flag` to its first address; the error is one line naming
/// the flag, the value and the expected form.
pub fn socket_addr(flag: &str, spec: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    spec.to_socket_addrs()
        .map_err(|e| format!("{flag} {spec}: {e} (expected HOST:PORT, e.g. 127.0.0.1:7878)"))?
        .next()
        .ok_or_else(|| format!("{flag} {spec}: the name resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_are_one_line_naming_the_option() {
        #[derive(Debug, clap::Parser)]
        #[command(no_binary_name = true)]
        struct Two {
            #[arg(long, value_parser = size)]
            size: u64,
            #[arg(long)]
            name: String,
        }
        let line = |argv: &[&str]| {
            clap_error_line(&<Two as clap::Parser>::try_parse_from(argv).unwrap_err())
        };
        let e = line(&["--size", "lots", "--name", "x"]);
        assert!(
            e.starts_with("invalid value 'lots' for '--size <SIZE>'"),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        assert_eq!(
            line(&[]),
            "the following required arguments were not provided: --size <SIZE>, --name <NAME>"
        );
    }

    #[test]
    fn durations_read_back_from_their_text() {
        for d in [
            Duration::from_millis(1),
            Duration::from_millis(300),
            Duration::from_millis(1500),
            Duration::from_nanos(1),
            Duration::from_nanos(2_500_001),
            Duration::from_nanos(1_234_567_891),
            Duration::from_micros(1500),
            Duration::from_secs(5),
            Duration::from_secs(86_400 * 7),
        ] {
            let t = duration_text(d);
            assert_eq!(duration(&t), Ok(d), "{d:?} as {t}");
        }
        assert_eq!(duration_text(Duration::from_secs(2)), "2000ms");
        assert_eq!(duration_text(Duration::from_micros(1500)), "1500000ns");
    }

    #[test]
    fn repetitions_are_bounded_with_the_limit_named() {
        assert_eq!(repeat(3), Ok(3));
        assert_eq!(repeat(MAX_REPEAT), Ok(MAX_REPEAT));
        assert!(repeat(0).unwrap_err().starts_with("--repeat 0"));
        let e = repeat(1_000_000).unwrap_err();
        assert!(e.starts_with("--repeat 1000000: at most 200"), "{e}");
    }

    #[test]
    fn an_engine_given_twice_is_refused() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(unique_engines(&v(&["buffered", "mmap", "uring:qd=8"])).is_ok());
        // The same options in another order are the same engine.
        let e =
            unique_engines(&v(&["uring:qd=8,direct", "mmap", "uring:direct,qd=8"])).unwrap_err();
        assert!(e.contains("--engine uring:direct,qd=8: given twice"), "{e}");
        // The same number spelled with a leading zero is the same engine too.
        let e = unique_engines(&v(&["uring:qd=8", "uring:qd=08"])).unwrap_err();
        assert!(e.contains("--engine uring:qd=08: given twice"), "{e}");
        let e = unique_engines(&v(&["buffered", "buffered"])).unwrap_err();
        assert!(e.contains("--engine buffered: given twice"), "{e}");
        assert_eq!(duration_or_zero("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn baselines_name_what_is_wrong_and_the_form() {
        assert_eq!(baseline(CLASSIC_BASELINE), Ok(Baseline::default()));
        let b = baseline("50MB/s@5").unwrap();
        assert_eq!(
            (b.cluster_bytes_per_s, b.nodes, b.per_node_bytes_per_s),
            (5e7, 5, 1e7)
        );
        assert_eq!(b.source, "given: 50MB/s@5");
        for (bad, what) in [
            ("20MB/s", "no '@NODES'"),
            ("fast@10", "'fast' is not a rate"),
            ("20MB/s@0", "'0' is not a node count"),
            ("20MB/s@ten", "'ten' is not a node count"),
            ("", "no '@NODES'"),
        ] {
            let e = baseline(bad).unwrap_err();
            assert!(e.starts_with(what), "{bad}: {e}");
            assert!(
                e.ends_with(
                    "use RATE@NODES, e.g. 20MB/s@10 (the cluster's throughput @ its node count)"
                ),
                "{bad}: {e}"
            );
        }
    }
}
