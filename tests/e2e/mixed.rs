//! `segbench mixed` end to end: the parts run over one interval (their timelines overlap),
//! each part also alone, the pairing in the results, every byte verified on disk; bad parts
//! refused before any work, on the command line and in a suite file.

use results::{Status, WorkloadResult};

use crate::util::{assert_bad_input, assert_success, results, segbench_in};

fn row<'a>(r: &'a results::ResultsFile, name: &str) -> &'a WorkloadResult {
    r.workloads
        .iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("no row {name}"))
}

/// Timeline intervals in which both rows moved bytes.
fn overlap(a: &WorkloadResult, b: &WorkloadResult) -> usize {
    let (ta, tb) = (&a.repetitions[0].timeline, &b.repetitions[0].timeline);
    assert_eq!(ta.interval_s, tb.interval_s);
    ta.bytes
        .iter()
        .zip(&tb.bytes)
        .filter(|(x, y)| **x > 0 && **y > 0)
        .count()
}

#[test]
fn mixed_parts_run_together_and_alone_and_each_is_paired() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("data");
    let snaps = t.path().join("snaps");
    let out = segbench_in(
        t.path(),
        &[
            "mixed",
            "--write",
            "name=produce,engine=buffered,partitions=2,segment_size=1MiB",
            "--read",
            "name=tail,engine=sendfile,cache=hot,size=4MiB,partitions=2",
            "--snapshot",
            "size=1MiB,every_records=2000",
            "--checkpoint",
            "name=cp,size=256KiB,every=200ms",
            "--duration",
            "1500ms",
            "--warmup",
            "0",
            "--verify",
            "--dir",
            dir.to_str().unwrap(),
            "--snap-dir",
            snaps.to_str().unwrap(),
            "--json",
            "--quiet",
            "--no-probe",
        ],
    );
    assert_success(&out);
    let r = results(&out);
    let parts = ["produce", "tail", "snapshot", "cp"];
    for p in parts {
        for name in [format!("mixed/{p}"), format!("mixed/{p} alone")] {
            let w = row(&r, &name);
            assert_eq!(w.status, Status::Completed, "{name}");
            assert_eq!(w.repetitions.len(), 1, "{name}");
            let role = w.mixed.as_ref().unwrap();
            assert_eq!(
                (role.part.as_str(), role.alone),
                (p, name.ends_with("alone"))
            );
        }
    }
    // One start gate: every part of the run together starts at the same instant ...
    let start = |n: &str| row(&r, n).repetitions[0].extra["mixed_start_offset_s"].as_f64();
    for p in &parts[1..] {
        assert_eq!(start(&format!("mixed/{p}")), start("mixed/produce"));
    }
    // ... and they moved bytes in the same 100 ms intervals.
    let produce = row(&r, "mixed/produce");
    assert!(overlap(produce, row(&r, "mixed/tail")) >= 5);
    assert!(overlap(produce, row(&r, "mixed/cp")) >= 2);
    assert!(row(&r, "mixed/snapshot").repetitions[0].records >= 1);
    // Alone, a checkpoint keeps its interval ...
    assert!(row(&r, "mixed/cp alone").repetitions[0].records >= 2);
    // ... while a snapshot has no transactions to count: it is written once.
    assert_eq!(row(&r, "mixed/snapshot alone").repetitions[0].records, 1);
    // The pairing is in the results, on the "with" rows.
    let i = produce
        .mixed
        .as_ref()
        .unwrap()
        .interference
        .as_ref()
        .unwrap();
    assert_eq!(i.beside, ["tail", "snapshot", "cp"]);
    assert_eq!(
        i.with_latency_ns,
        produce.summary.as_ref().unwrap().latency_ns
    );
    let alone = row(&r, "mixed/produce alone").summary.as_ref().unwrap();
    assert_eq!(i.alone_latency_ns, alone.latency_ns);
    let cp = row(&r, "mixed/cp").mixed.as_ref().unwrap();
    assert!(
        cp.placement.as_deref().unwrap().starts_with("same device"),
        "{cp:?}"
    );
    // Each part's CPU is its own threads', not the whole process's.
    for p in parts {
        let w = row(&r, &format!("mixed/{p}"));
        let rep = &w.repetitions[0];
        let threads: f64 = rep.threads.iter().map(|t| t.cpu_user_s + t.cpu_sys_s).sum();
        assert!(
            (rep.cpu_user_s + rep.cpu_sys_s - threads).abs() < 1e-9,
            "{p}"
        );
    }
    // Nothing left behind in either directory.
    assert!(!dir.exists() || std::fs::read_dir(&dir).unwrap().next().is_none());
    assert!(!snaps.exists() || std::fs::read_dir(&snaps).unwrap().next().is_none());
}

#[test]
fn bad_parts_are_refused_before_any_work() {
    let t = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (
            vec!["--write", "engine=turbo", "--read", "engine=sendfile"],
            "--write write: unknown write engine 'turbo'",
        ),
        (
            vec!["--write", "engine=buffered"],
            "mixed workload 'mixed' has 1 part(s)",
        ),
        (
            vec!["--write", "engine=buffered", "--write", "engine=mmap"],
            "part name 'write' is used twice",
        ),
        (
            vec!["--read", "engine=sendfile", "--snapshot", "size=1MiB"],
            "add a write part",
        ),
        (
            vec![
                "--write",
                "engine=buffered,speed=3",
                "--read",
                "engine=sendfile",
            ],
            "--write engine=buffered,speed=3: 'speed=3' is not KEY=VALUE with a known key",
        ),
    ] {
        let mut all = vec!["mixed", "--no-probe"];
        all.extend(args);
        let out = segbench_in(t.path(), &all);
        assert_bad_input(&out, needle);
    }
    assert_eq!(
        std::fs::read_dir(t.path()).unwrap().count(),
        0,
        "nothing written"
    );

    let suite = t.path().join("bad.toml");
    std::fs::write(
        &suite,
        "name = \"bad\"\n\n[[workload]]\nkind = \"mixed\"\nname = \"m\"\nduration = \"1s\"\n\n[[workload.part]]\nkind = \"write\"\nname = \"w\"\nengines = [\"buffered\"]\n\n[[workload.part]]\nkind = \"read\"\nname = \"r\"\nengines = [\"sendfile\"]\ncache = \"lukewarm\"\n",
    )
    .unwrap();
    let out = segbench_in(t.path(), &["run", suite.to_str().unwrap()]);
    assert_bad_input(&out, "bad.toml, line 17: cache 'lukewarm'");
}
