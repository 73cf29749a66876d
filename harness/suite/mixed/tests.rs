//! Tests of a mixed workload's definition: suite parts, command-line parts, `--quick`, and the
//! configuration (the runs themselves are in tests/e2e/mixed.rs).

use std::path::Path;
use std::time::Duration;

use super as spec;
use super::from_cli;
use crate::runner::mixed::{Part, Trigger};
use crate::suite::{parse, quicken, MixedSpec, PartSpec, Suite, WorkloadSpec};

/// The first workload of `s`, a mixed one.
fn mixed(s: &Suite) -> &MixedSpec {
    match &s.workloads[0] {
        WorkloadSpec::Mixed(m) => m,
        other => panic!("{other:?}"),
    }
}

const GOOD: &str = r#"name = "m"

[[workload]]
kind = "mixed"
name = "kafka-mix"
duration = "4s"

[[workload.part]]
kind = "write"
name = "produce"
engines = ["buffered"]
partitions = 2
rate = "20MB/s"

[[workload.part]]
kind = "read"
name = "catch-up"
engines = ["sendfile"]
cache = "cold"
size = "256MiB"

[[workload.part]]
kind = "snapshot"
name = "snap"
size = "128MiB"
every_records = 50000
"#;

#[test]
fn a_mixed_suite_workload_parses_round_trips_and_configures_its_parts() {
    let s = parse(GOOD, Path::new("s.toml")).unwrap();
    let printed = toml::to_string(&s).unwrap();
    assert_eq!(parse(&printed, Path::new("p")).unwrap(), s);
    let cfg = spec::config(mixed(&s), None).unwrap();
    assert_eq!(cfg.duration, Duration::from_secs(4));
    let kinds: Vec<&str> = cfg.parts.iter().map(|(_, p)| p.kind()).collect();
    assert_eq!(kinds, ["write", "read", "snapshot"]);
    match &cfg.parts[0].1 {
        Part::Write(w) => {
            assert_eq!(w.duration, Some(Duration::from_secs(4)));
            assert_eq!(w.rate, Some(20e6));
            assert_eq!(w.topic, "produce");
        }
        other => panic!("{other:?}"),
    }
    match &cfg.parts[1].1 {
        // A catch-up reader reads for the whole interval too.
        Part::Read { cfg, log_bytes, .. } => {
            assert_eq!(cfg.duration, Some(Duration::from_secs(4)));
            assert_eq!(*log_bytes, 256 << 20);
        }
        other => panic!("{other:?}"),
    }
    match &cfg.parts[2].1 {
        Part::Periodic(p) => {
            assert_eq!(p.bytes, 128 << 20);
            assert_eq!(p.trigger, Trigger::Records { snap_count: 50_000 });
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(cfg.beside(0), ["catch-up", "snap"]);
    assert_eq!(cfg.record_source(), Some(0));
}

/// Each bad definition is refused when the suite is read, with the file, the line and the fix.
#[test]
fn bad_parts_are_refused_with_the_suite_line() {
    let cases: &[(&str, &str, &str)] = &[
        ("engines = [\"sendfile\"]", "engines = [\"turbo\"]", "s.toml, line 18: unknown read engine 'turbo'"),
        ("kind = \"snapshot\"", "kind = \"backup\"", "s.toml, line 23: mixed workload 'kafka-mix', part 'snap': kind 'backup': expected one of write, read, snapshot, checkpoint"),
        ("name = \"snap\"", "name = \"produce\"", "s.toml, line 10: mixed workload 'kafka-mix': part name 'produce' is used twice"),
        ("size = \"128MiB\"", "size = \"lots\"", "s.toml, line 25: part 'snap':"),
        ("duration = \"4s\"\n", "", "s.toml, line 5: mixed workload 'kafka-mix' needs duration"),
        ("rate = \"20MB/s\"", "rate = \"20MB/s\"\nduration = \"1s\"", "s.toml, line 10: mixed workload 'kafka-mix', part 'produce': duration, sweep and repeat belong to the mixed workload"),
        ("engines = [\"buffered\"]", "engines = [\"buffered\", \"mmap\"]", "s.toml, line 10: mixed workload 'kafka-mix', part 'produce': give exactly one engine"),
        ("every_records = 50000", "every_records = 0", "part 'snap': every_records must be at least 1"),
    ];
    for (from, to, want) in cases {
        let text = GOOD.replacen(from, to, 1);
        let e = parse(&text, Path::new("s.toml")).unwrap_err().0;
        assert!(e.contains(want), "{to}: {e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
    // A snapshot counts a write part's transactions: without one it is refused.
    let no_write = r#"name = "m"
[[workload]]
kind = "mixed"
name = "x"
duration = "1s"
[[workload.part]]
kind = "read"
name = "r"
engines = ["sendfile"]
[[workload.part]]
kind = "snapshot"
name = "s"
"#;
    let e = parse(no_write, Path::new("s.toml")).unwrap_err().0;
    assert!(e.contains("add a write part"), "{e}");
    let one_part = "name = \"m\"\n[[workload]]\nkind = \"mixed\"\nname = \"x\"\nduration = \"1s\"\n[[workload.part]]\nkind = \"checkpoint\"\nname = \"c\"\n";
    let e = parse(one_part, Path::new("s.toml")).unwrap_err().0;
    assert!(
        e.contains("s.toml, line 4") && e.contains("at least two"),
        "{e}"
    );
}

#[test]
fn quick_mode_scales_the_schedules_and_caps_the_parts() {
    let text = GOOD.replace("[[workload.part]]\nkind = \"snapshot\"", "[[workload.part]]\nkind = \"checkpoint\"\nname = \"cp\"\n\n[[workload.part]]\nkind = \"snapshot\"");
    let mut s = parse(&text, Path::new("s.toml")).unwrap();
    quicken(&mut s, Duration::from_millis(1500));
    let w = mixed(&s);
    assert_eq!(w.duration.as_deref(), Some("1500ms"));
    let find = |n: &str| w.parts.iter().find(|p| p.name() == n).unwrap();
    let PartSpec::Read(catch_up) = find("catch-up") else {
        panic!()
    };
    assert_eq!(catch_up.size.as_deref(), Some("64MiB"));
    let (PartSpec::Snapshot(snap), PartSpec::Checkpoint(cp)) = (find("snap"), find("cp")) else {
        panic!()
    };
    assert_eq!(snap.every_records, Some(2_500));
    assert_eq!(cp.every.as_deref(), Some("1500ms"));
    // The quickened suite is still a valid suite.
    parse(&toml::to_string(&s).unwrap(), Path::new("q")).unwrap();
}

#[test]
fn command_line_parts_take_key_value_options_and_engine_options() {
    let w = from_cli(
        "write",
        "name=produce,engine=uring:qd=8,direct,partitions=4,rate=20MB/s",
    )
    .unwrap();
    assert_eq!(w.kind(), "write");
    let PartSpec::Write(w) = w else { panic!() };
    assert_eq!(w.name, "produce");
    assert_eq!(w.engines, ["uring:qd=8,direct"]);
    assert_eq!(w.partitions, Some(4));
    assert_eq!(w.rate.as_deref(), Some("20MB/s"));
    let bg = from_cli(
        "read",
        "name=tail,engine=sendfile,rate=40MB/s,background=true",
    )
    .unwrap();
    let PartSpec::Read(bg) = bg else { panic!() };
    assert_eq!(
        (bg.background, bg.rate.as_deref()),
        (Some(true), Some("40MB/s"))
    );
    let PartSpec::Snapshot(s) = from_cli("snapshot", "size=64MiB,every_records=1000").unwrap()
    else {
        panic!()
    };
    assert_eq!((s.name.as_str(), s.every_records), ("snapshot", Some(1000)));
    for (kind, text, want) in [
        (
            "write",
            "colour=red",
            "--write colour=red: 'colour=red' is not KEY=VALUE with a known key",
        ),
        (
            "write",
            "partitions=many",
            "--write partitions=many: partitions=many: expected a whole number",
        ),
        (
            "read",
            "verify=yes",
            "--read verify=yes: verify=yes: expected true or false",
        ),
    ] {
        let e = from_cli(kind, text).unwrap_err();
        assert!(e.starts_with(want), "{e}");
    }
}

#[test]
fn background_parts_run_in_every_run_and_are_left_out_of_the_comparison() {
    let text = GOOD.replacen("cache = \"cold\"", "cache = \"hot\"\nbackground = true", 1);
    // produce and snap stay in the foreground: two, enough to compare.
    let s = parse(&text, Path::new("s.toml")).unwrap();
    let cfg = spec::config(mixed(&s), None).unwrap();
    assert_eq!(cfg.background, [1]);
    // produce alone keeps the tail readers (1) and drops the snapshot (2).
    assert_eq!(cfg.alone_set(0), [0, 1]);
    assert_eq!(cfg.beside(0), ["snap"]);
    assert_eq!(cfg.kept(0), ["catch-up"]);
    // The background part itself is compared with everything and alone.
    assert_eq!(cfg.alone_set(1), [1]);
    assert_eq!(cfg.beside(1), ["produce", "snap"]);
    // With two parts in the background only one is left in front: refused.
    let text = text.replacen(
        "every_records = 50000",
        "every_records = 50000\nbackground = true",
        1,
    );
    let e = parse(&text, Path::new("s.toml")).unwrap_err().0;
    assert!(e.contains("1 part(s) not in the background"), "{e}");
}
