//! `segbench report`: regenerates `report.html` and `summary.md` from any results file, and
//! prints the comparison table and verdict.

use std::path::{Path, PathBuf};

use clap::Args;
use results::export::html::HtmlExporter;
use results::export::markdown::MarkdownExporter;
use results::export::{json, terminal, Exporter};
use results::ResultsFile;

/// Help text after the options.
pub const REPORT_HELP: &str =
    "Writes a self-contained HTML report (inline SVG charts, no scripts, nothing fetched) and a
Markdown summary, each atomically, and prints the comparison table and verdict on stdout.

Examples:
  segbench report segbench-results/20261124T101500Z-3f9a/results.json
  segbench report results.json --html /tmp/report.html --markdown pr-comment.md";

/// `segbench report`.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// A results file written by `segbench run`, `write`, `read` or `merge`.
    #[arg(value_name = "RESULTS.json")]
    pub results: PathBuf,
    /// Where to write the HTML report [default: report.html beside the results file].
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Where to write the Markdown summary [default: summary.md beside the results file].
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// The directory holding `file` (`.` for a bare file name).
fn parent_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` with its directory made absolute and resolved, for comparing output paths; the path
/// itself when that fails (the write will then report the problem).
fn resolved(path: &Path) -> PathBuf {
    match (std::fs::canonicalize(parent_dir(path)), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// Writes the HTML report to `html` and the Markdown summary to `markdown`, each atomically
/// (a reader sees the old file or the whole new one). Used by `segbench report` and
/// `segbench run`. A file that cannot be written is bad environment (exit 2).
pub fn write_reports(r: &ResultsFile, html: &Path, markdown: &Path) -> anyhow::Result<()> {
    let outputs: [(&Path, &dyn Exporter); 2] = [
        (html, &HtmlExporter::default()),
        (markdown, &MarkdownExporter),
    ];
    for (path, exporter) in outputs {
        let bytes = exporter
            .export(r)
            .map_err(|e| crate::bad_input(e.to_string()))?;
        json::write_atomic(path, &bytes).map_err(|e| crate::bad_input(e.to_string()))?;
    }
    Ok(())
}

/// Reads the results, writes both reports, prints the terminal report on stdout.
pub fn run(a: ReportArgs) -> anyhow::Result<u8> {
    let r = json::read_results(&a.results).map_err(|e| crate::bad_input(e.to_string()))?;
    // Beside the results file, spelled as the user spelled it (`report.html`, not `./report.html`).
    let beside = |name: &str| a.results.with_file_name(name);
    let html = a.html.clone().unwrap_or_else(|| beside("report.html"));
    let markdown = a.markdown.clone().unwrap_or_else(|| beside("summary.md"));
    let source = resolved(&a.results);
    for (flag, path) in [("--html", &html), ("--markdown", &markdown)] {
        if resolved(path) == source {
            return Err(crate::bad_input(format!(
                "{flag} {} is the results file itself; name another file",
                path.display()
            )));
        }
    }
    if resolved(&html) == resolved(&markdown) {
        return Err(crate::bad_input(format!(
            "--html and --markdown both name {}; give two files",
            html.display()
        )));
    }
    write_reports(&r, &html, &markdown)?;
    print!("{}", terminal::render(&r));
    eprintln!(
        "segbench: wrote {} and {}",
        html.display(),
        markdown.display()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{
        BlockDevice, Cpu, Host, IoUringInfo, Memory, Micro, Nic, Probe, Storage, VmSettings,
    };
    use crate::BadInput;
    use results::plot::check_well_formed;
    use results::testing::sample;
    use results::{Kind, Status};

    /// Path of the sample results fixture, from the crate root.
    const SAMPLE_PATH: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/results/sample.json"
    );

    /// The sample results ([`sample::results`]) with a full probe built from the probe types.
    fn sample_results() -> ResultsFile {
        sample::results(probe())
    }

    /// A 2-core cloud VM with a virtio persistent disk, as `segbench probe` sees it.
    fn probe() -> serde_json::Value {
        let disk = BlockDevice {
            name: "sda".into(),
            kind: "disk".into(),
            dev: Some("8:0".into()),
            size_bytes: Some(107_374_182_400),
            model: Some("PersistentDisk".into()),
            vendor: Some("Google".into()),
            driver: Some("virtio_scsi".into()),
            rotational: Some(true),
            logical_block_bytes: Some(512),
            physical_block_bytes: Some(4096),
            optimal_io_bytes: Some(0),
            scheduler: Some("mq-deadline".into()),
            schedulers_available: vec!["mq-deadline".into(), "none".into()],
            nr_requests: Some(256),
            max_request_bytes: Some(1_048_576),
            read_ahead_bytes: Some(131_072),
            write_cache: Some("write back".into()),
            discard: Some(true),
            ..Default::default()
        };
        let part = BlockDevice {
            name: "sda1".into(),
            kind: "partition".into(),
            dev: Some("8:1".into()),
            size_bytes: Some(107_372_085_248),
            lower: vec!["sda".into()],
            ..Default::default()
        };
        let p = Probe {
            host: Host {
                hostname: Some("bench-01".into()),
                kernel_release: Some("6.1.0-26-cloud-amd64".into()),
                kernel_version: Some("#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1".into()),
                arch: Some("x86_64".into()),
                distribution: Some("Debian GNU/Linux 12 (bookworm)".into()),
                virtualization: Some("kvm".into()),
                container: None,
                clock_source: Some("kvm-clock".into()),
                clock_sources_available: vec!["kvm-clock".into(), "tsc".into(), "acpi_pm".into()],
            },
            cpu: Cpu {
                model: Some("AMD EPYC 7B13".into()),
                sockets: Some(1),
                cores: Some(1),
                threads: Some(2),
                numa_nodes: Some(1),
                governor: None,
                scaling_driver: None,
                max_frequency_hz: None,
                current_frequency_hz: Some(2_450_000_000),
            },
            memory: Memory {
                total_bytes: Some(8_341_966_848),
                available_bytes: Some(7_120_000_000),
                free_bytes: Some(5_900_000_000),
                dirty_bytes: Some(1_200_000),
                swap_total_bytes: Some(0),
                swap_free_bytes: Some(0),
                swap_devices: Some(0),
                thp_enabled: Some("madvise".into()),
                ..Default::default()
            },
            vm: VmSettings {
                dirty_ratio_percent: Some(20),
                dirty_background_ratio_percent: Some(10),
                dirty_bytes: Some(0),
                dirty_background_bytes: Some(0),
                dirty_expire_ms: Some(30_000),
                dirty_writeback_ms: Some(5_000),
                swappiness: Some(60),
                dirty_limit_bytes: Some(1_424_000_000),
                dirty_background_limit_bytes: Some(712_000_000),
            },
            storage: Storage {
                dir: "/home/bench".into(),
                canonical_dir: Some("/home/bench".into()),
                mount_point: Some("/".into()),
                fs_type: Some("ext4".into()),
                mount_source: Some("/dev/sda1".into()),
                mount_options: Some("rw,relatime,discard,errors=remount-ro".into()),
                dev: Some("8:1".into()),
                total_bytes: Some(105_089_261_568),
                free_bytes: Some(80_000_000_000),
                available_bytes: Some(74_600_000_000),
                direct_io: Some(true),
                dio_mem_align_bytes: Some(512),
                dio_offset_align_bytes: Some(512),
                devices: vec![part, disk],
                ..Default::default()
            },
            nics: vec![
                Nic {
                    name: "ens4".into(),
                    state: Some("up".into()),
                    mtu_bytes: Some(1460),
                    speed_mbit_per_s: None,
                    driver: Some("virtio_net".into()),
                    rx_queues: Some(2),
                    tx_queues: Some(2),
                    addresses: vec!["10.128.0.7/32".into()],
                    ..Default::default()
                },
                Nic {
                    name: "lo".into(),
                    state: Some("unknown".into()),
                    mtu_bytes: Some(65536),
                    virtual_device: true,
                    rx_queues: Some(1),
                    tx_queues: Some(1),
                    addresses: vec!["127.0.0.1/8".into(), "::1/128".into()],
                    ..Default::default()
                },
            ],
            io_uring: IoUringInfo {
                enabled: Some(true),
                disabled_reason: None,
                sysctl_disabled: Some(0),
                seccomp_mode: Some(0),
                opcodes_supported: vec!["READ".into(), "WRITE".into(), "FSYNC".into(), "SEND".into(), "SPLICE".into()],
                opcodes_unsupported: vec![],
                features: vec!["SINGLE_MMAP".into(), "NODROP".into(), "FAST_POLL".into(), "SUBMIT_STABLE".into()],
                sqpoll_allowed: Some(false),
                registered_buffers_allowed: Some(true),
                memlock_limit_bytes: Some(8_388_608),
                memlock_unlimited: false,
            },
            micro: Some(Micro {
                memcpy_bytes_per_s: Some(9.8e9),
                first_touch_bytes_per_s: Some(0.52e9),
                clock_read_ns: Some(21.5),
                loopback_tcp_bytes_per_s: Some(3.1e9),
            }),
            probe_elapsed_ns: 812_000_000,
            fingerprint: "5f0c2a9e71d3b846".into(),
            fingerprint_source: "cpu=AMD EPYC 7B13;threads=2;mem=8341966848;disk=PersistentDisk".into(),
            notes: vec![
                "cpu: no cpufreq in a VM: governor and frequency unknown".into(),
                "storage: rotational=1 reported by sda under virtualisation: the flag is unreliable there".into(),
            ],
        };
        serde_json::to_value(p).expect("a probe serializes")
    }

    fn args(results: &Path) -> ReportArgs {
        ReportArgs {
            results: results.to_path_buf(),
            html: None,
            markdown: None,
        }
    }

    /// The one-line message of a bad-input error (exit 2 in the binary).
    fn bad_input(e: anyhow::Error) -> String {
        let b = e
            .downcast_ref::<BadInput>()
            .unwrap_or_else(|| panic!("not bad input: {e:#}"));
        let msg = b.to_string();
        assert!(!msg.contains('\n'), "not one line: {msg}");
        msg
    }

    /// Regenerate with `SEGBENCH_BLESS=1 cargo test -p segbench --lib sample_fixture`.
    #[test]
    fn sample_fixture_matches_its_generator() {
        let generated = sample_results();
        if std::env::var_os("SEGBENCH_BLESS").is_some() {
            json::write_results(Path::new(SAMPLE_PATH), &generated).unwrap();
        }
        let on_disk = json::read_results(SAMPLE_PATH).unwrap_or_else(|e| {
            panic!(
                "{e}; regenerate with SEGBENCH_BLESS=1 cargo test -p segbench --lib sample_fixture"
            )
        });
        assert!(
            on_disk == generated,
            "{} is out of date; regenerate with SEGBENCH_BLESS=1 cargo test -p segbench --lib sample_fixture",
            SAMPLE_PATH
        );
        // What the fixture promises.
        let w = &on_disk.workloads;
        assert!(w.iter().any(|w| w.kind == Kind::Write) && w.iter().any(|w| w.kind == Kind::Read));
        assert!(w.iter().any(|w| matches!(w.status, Status::Skipped { .. })));
        assert!(w.iter().filter(|w| w.repetitions.len() == 3).count() >= 8);
        assert!(w.iter().flat_map(|w| &w.repetitions).all(|r| r
            .timeline
            .bytes
            .iter()
            .sum::<u64>()
            == r.bytes));
        let sweeps = |p: &str| {
            w.iter()
                .filter(|w| w.config.get("sweep").and_then(|s| s.as_str()) == Some(p))
                .count()
        };
        assert_eq!((sweeps("partitions"), sweeps("qd")), (5, 4));
        let probe: crate::probe::Probe =
            serde_json::from_value(on_disk.probe.clone().unwrap()).unwrap();
        assert_eq!(probe.storage.dio_mem_align_bytes, Some(512));
        assert!(!on_disk.warnings.is_empty() && w.iter().any(|w| !w.warnings.is_empty()));
    }

    #[test]
    fn report_writes_html_and_markdown_beside_the_results() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        std::fs::copy(SAMPLE_PATH, &path).unwrap();
        assert_eq!(run(args(&path)).unwrap(), 0);
        let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
        let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
        check_well_formed(&html).unwrap();
        // Six chart sections: throughput, latency (write, read), timeline (write, read),
        // scaling (partitions, qd), CPU, capacity.
        assert_eq!(html.matches("<svg").count(), 9);
        for name in [
            "write/buffered",
            "write/uring:qd=8,direct",
            "read-hot/sendfile",
            "read-cold/readwrite",
        ] {
            assert!(html.contains(name), "{name}");
            assert!(md.contains(&name.replace('_', r"\_")), "{name} in Markdown");
        }
        assert!(html.contains(sample::SKIP_REASON));
        assert!(html.contains(
            ">baseline: 2.00 MB/s per node (classic: ~20 MB/s for a 10-node cluster)</text>"
        ));
        assert!(html.contains("AMD EPYC 7B13"));
        assert!(md.starts_with("### segbench results"));
        assert!(md.contains("**Verdict**"));
        // Nothing else was written beside the results.
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["report.html", "results.json", "summary.md"]);
    }

    #[test]
    fn report_writes_where_it_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let a = ReportArgs {
            results: PathBuf::from(SAMPLE_PATH),
            html: Some(dir.path().join("r.html")),
            markdown: Some(dir.path().join("s.md")),
        };
        assert_eq!(run(a).unwrap(), 0);
        assert!(dir.path().join("r.html").is_file());
        assert!(dir.path().join("s.md").is_file());
    }

    #[test]
    fn report_refuses_what_is_not_a_results_file_with_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("package.json");
        std::fs::write(&path, r#"{"name": "left-pad", "version": "1.3.0"}"#).unwrap();
        let msg = bad_input(run(args(&path)).unwrap_err());
        assert!(
            msg.contains("package.json") && msg.contains("not a segbench results file"),
            "{msg}"
        );
        let msg = bad_input(run(args(&dir.path().join("absent.json"))).unwrap_err());
        assert!(msg.contains("absent.json"), "{msg}");
        // Nothing written.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn report_never_overwrites_the_results_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        std::fs::copy(SAMPLE_PATH, &path).unwrap();
        let before = std::fs::read(&path).unwrap();
        let mut a = args(&path);
        a.html = Some(dir.path().join(".").join("results.json"));
        let msg = bad_input(run(a).unwrap_err());
        assert!(
            msg.contains("--html") && msg.contains("results file itself"),
            "{msg}"
        );
        let mut a = args(&path);
        a.markdown = Some(dir.path().join("same"));
        a.html = Some(dir.path().join("same"));
        assert!(bad_input(run(a).unwrap_err()).contains("give two files"));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // An output directory that does not exist: exit 2, naming the file.
        let mut a = args(&path);
        a.html = Some(dir.path().join("no/such/dir/report.html"));
        assert!(bad_input(run(a).unwrap_err()).contains("no/such/dir/report.html"));
    }
}
