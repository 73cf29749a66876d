//! Tests of comparing two results files: matching, refusals, verdicts and the bootstrap.

use super::*;
use crate::schema::Repetition;
use crate::testing::{
    buffered_write as workload, file_of as file, plain_repetition as rep, repetitions as reps,
};

fn only(m: Metric) -> CompareOptions {
    CompareOptions {
        metrics: vec![m],
        ..Default::default()
    }
}

#[test]
fn identical_samples_are_no_change_with_a_point_interval() {
    let r = reps(&[500.0, 510.0, 490.0, 505.0, 495.0]);
    let c = compare(
        &file(vec![workload("write/buffered", r.clone())]),
        &file(vec![workload("write/buffered", r)]),
        &CompareOptions::default(),
    )
    .unwrap();
    assert_eq!(c.workloads[0].metrics.len(), 4);
    for (_, m) in c.results() {
        assert_eq!(m.verdict, Verdict::NoSignificantChange, "{m:?}");
        let ch = m.change.unwrap();
        assert_eq!(ch.relative, 0.0);
        assert!(ch.ci_low <= 0.0 && ch.ci_high >= 0.0, "{ch:?}");
    }
    assert_eq!(c.exit_code(), 0);
}

#[test]
fn a_clear_twenty_percent_throughput_drop_is_a_regression() {
    let base = reps(&[500.0, 505.0, 495.0, 502.0, 498.0]);
    let new = reps(&[400.0, 404.0, 396.0, 401.0, 399.0]);
    let c = compare(
        &file(vec![workload("w", base)]),
        &file(vec![workload("w", new)]),
        &only(Metric::Throughput),
    )
    .unwrap();
    let m = &c.workloads[0].metrics[0];
    assert_eq!(m.verdict, Verdict::Regressed);
    let ch = m.change.unwrap();
    assert!((ch.relative + 0.2).abs() < 1e-9, "{ch:?}");
    assert!(ch.ci_low <= ch.relative && ch.relative <= ch.ci_high);
    assert!(ch.ci_high < -0.15 && ch.ci_low > -0.25, "{ch:?}");
    assert_eq!(c.exit_code(), 1);
    assert!(c.render_terminal().contains("regressed"));
    assert!(c.render_markdown().contains("**regressed**"));
}

#[test]
fn latency_and_cpu_regress_upwards() {
    let base: Vec<Repetition> = (0..5).map(|i| rep(i, 5e8, 100_000, 1.0)).collect();
    let new: Vec<Repetition> = (0..5).map(|i| rep(i, 5e8, 130_000, 1.3)).collect();
    let c = compare(
        &file(vec![workload("w", base)]),
        &file(vec![workload("w", new)]),
        &CompareOptions::default(),
    )
    .unwrap();
    let v: Vec<(Metric, Verdict)> = c.results().map(|(_, m)| (m.metric, m.verdict)).collect();
    assert_eq!(
        v,
        vec![
            (Metric::Throughput, Verdict::NoSignificantChange),
            (Metric::P99, Verdict::Regressed),
            (Metric::P999, Verdict::Regressed),
            (Metric::Cpu, Verdict::Regressed),
        ]
    );
}

#[test]
fn noisy_overlapping_samples_are_no_significant_change() {
    // Medians 8% apart, but the spread (±25%) overlaps completely.
    let base = reps(&[500.0, 380.0, 620.0, 450.0, 560.0, 410.0, 590.0]);
    let new = reps(&[460.0, 360.0, 600.0, 400.0, 545.0, 380.0, 580.0]);
    let c = compare(
        &file(vec![workload("w", base)]),
        &file(vec![workload("w", new)]),
        &only(Metric::Throughput),
    )
    .unwrap();
    let m = &c.workloads[0].metrics[0];
    let ch = m.change.unwrap();
    assert!(ch.relative < -0.05, "{ch:?}"); // the point estimate alone would call it
    assert!(ch.ci_high > -0.05, "{ch:?}");
    assert_eq!(m.verdict, Verdict::NoSignificantChange);
    assert_eq!(c.exit_code(), 0);
}

#[test]
fn a_clear_improvement_is_improved_and_exits_zero() {
    let base = reps(&[500.0, 505.0, 495.0, 502.0, 498.0]);
    let new = reps(&[650.0, 640.0, 660.0, 655.0, 645.0]);
    let c = compare(
        &file(vec![workload("w", base)]),
        &file(vec![workload("w", new)]),
        &only(Metric::Throughput),
    )
    .unwrap();
    assert_eq!(c.workloads[0].metrics[0].verdict, Verdict::Improved);
    assert_eq!(c.exit_code(), 0);
    assert_eq!(c.count(Verdict::Improved), 1);
}

#[test]
fn each_metric_can_have_its_own_threshold() {
    let base = reps(&[500.0, 505.0, 495.0, 502.0, 498.0]);
    let new = reps(&[400.0, 404.0, 396.0, 401.0, 399.0]);
    let mut opts = CompareOptions::default();
    opts.metric_thresholds.insert(Metric::Throughput, 0.3);
    let c = compare(
        &file(vec![workload("w", base)]),
        &file(vec![workload("w", new)]),
        &opts,
    )
    .unwrap();
    let m = &c.workloads[0].metrics[0];
    assert_eq!((m.metric, m.threshold), (Metric::Throughput, 0.3));
    assert_eq!(m.verdict, Verdict::NoSignificantChange); // -20% is inside ±30%
    assert_eq!(c.workloads[0].metrics[3].threshold, DEFAULT_THRESHOLD);
    let line = c.summary_line();
    assert!(
        line.contains("thresholds throughput ±30%, p99 ±5%"),
        "{line}"
    );
    opts.metric_thresholds.insert(Metric::Cpu, 1.5);
    let e = compare(&file(vec![]), &file(vec![]), &opts).unwrap_err();
    assert!(e.to_string().contains("150% is out of range"), "{e}");
}

#[test]
fn a_change_inside_the_threshold_is_not_significant_even_when_certain() {
    // A tight 3% drop: the interval excludes zero but not the ±5% band.
    let base = reps(&[500.0, 500.5, 499.5, 500.2, 499.8]);
    let new = reps(&[485.0, 485.5, 484.5, 485.2, 484.8]);
    let c = compare(
        &file(vec![workload("w", base.clone())]),
        &file(vec![workload("w", new.clone())]),
        &only(Metric::Throughput),
    )
    .unwrap();
    let m = &c.workloads[0].metrics[0];
    assert!(m.change.unwrap().ci_high < 0.0);
    assert_eq!(m.verdict, Verdict::NoSignificantChange);
    // With a 1% threshold the same data is a regression.
    let strict = CompareOptions {
        threshold: 0.01,
        ..only(Metric::Throughput)
    };
    let c = compare(
        &file(vec![workload("w", base)]),
        &file(vec![workload("w", new)]),
        &strict,
    )
    .unwrap();
    assert_eq!(c.workloads[0].metrics[0].verdict, Verdict::Regressed);
}

#[test]
fn too_few_repetitions_never_regress() {
    let c = compare(
        &file(vec![workload("w", reps(&[500.0, 500.0]))]),
        &file(vec![workload("w", reps(&[100.0, 100.0]))]),
        &only(Metric::Throughput),
    )
    .unwrap();
    let m = &c.workloads[0].metrics[0];
    assert_eq!(m.verdict, Verdict::NoSignificantChange);
    assert!(m.note.as_deref().unwrap().contains("too few repetitions"));
}

#[test]
fn mismatched_configuration_is_refused_naming_the_keys() {
    let b = workload("w", reps(&[500.0; 3]));
    let mut n = workload("w", reps(&[500.0; 5]));
    // `repeat` differs (3 vs 5) but does not define the workload.
    assert!(compare(
        &file(vec![b.clone()]),
        &file(vec![n.clone()]),
        &Default::default()
    )
    .is_ok());
    n.config
        .insert("size_bytes".into(), serde_json::json!(1048576));
    n.config.insert("threads".into(), serde_json::json!(2));
    let e = compare(
        &file(vec![b.clone()]),
        &file(vec![n.clone()]),
        &Default::default(),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("size_bytes: 67108864 -> 1048576"), "{msg}");
    assert!(msg.contains("threads: (absent) -> 2"), "{msg}");
    let ignoring = CompareOptions {
        ignore_config: vec!["size_bytes".into(), "threads".into()],
        ..Default::default()
    };
    assert!(compare(&file(vec![b]), &file(vec![n]), &ignoring).is_ok());
}

#[test]
fn a_file_with_a_workload_twice_is_refused_not_cross_matched() {
    let a = file(vec![workload("w", reps(&[500.0; 3]))]);
    let mut b = a.clone();
    b.workloads.push(workload("w", reps(&[250.0; 3])));
    let e = compare(&a, &b, &Default::default()).unwrap_err();
    assert!(
        matches!(&e, CompareError::DuplicateName { side: "new", workload } if workload == "w"),
        "{e}"
    );
    assert!(compare(&b, &a, &Default::default()).is_err());
}

#[test]
fn different_hardware_is_refused_unless_allowed() {
    let a = file(vec![workload("w", reps(&[500.0; 3]))]);
    let mut b = a.clone();
    b.probe = Some(crate::probe::Probe {
        fingerprint: "1234".into(),
        ..Default::default()
    });
    let e = compare(&a, &b, &Default::default()).unwrap_err();
    assert!(matches!(e, CompareError::Hardware { .. }));
    assert!(e.to_string().contains("00ff00ff00ff00ff vs 1234"), "{e}");
    let allow = CompareOptions {
        allow_different_hardware: true,
        ..Default::default()
    };
    let c = compare(&a, &b, &allow).unwrap();
    assert!(c.warnings[0].contains("different hardware"));
}

#[test]
fn unfinished_and_unmatched_workloads_are_reported_not_compared() {
    let mut skipped = workload("write/uring", Vec::new());
    skipped.status = Status::Skipped {
        reason: "io_uring is disabled".into(),
    };
    let base = file(vec![
        workload("write/buffered", reps(&[500.0; 3])),
        workload("write/uring", reps(&[500.0; 3])),
        workload("write/old", reps(&[500.0; 3])),
    ]);
    let new = file(vec![
        workload("write/buffered", reps(&[100.0; 3])),
        skipped,
        workload("write/brand-new", reps(&[500.0; 3])),
    ]);
    let c = compare(&base, &new, &only(Metric::Throughput)).unwrap();
    assert_eq!(c.workloads.len(), 2);
    assert!(c.workloads[1].metrics.is_empty());
    let notes = c.notes().join("\n");
    assert!(
        notes.contains("skipped in the new run: io_uring is disabled"),
        "{notes}"
    );
    assert!(notes.contains("write/old: only in the base run"), "{notes}");
    assert!(
        notes.contains("write/brand-new: only in the new run"),
        "{notes}"
    );
    assert_eq!(c.exit_code(), 1); // buffered still regressed
    let md = c.render_markdown();
    assert!(md.starts_with("### segbench compare: regression"), "{md}");

    let none = file(vec![workload("other", reps(&[1.0; 3]))]);
    let e = compare(&base, &none, &Default::default()).unwrap_err();
    assert!(matches!(e, CompareError::NothingInCommon { .. }), "{e}");
}

#[test]
fn thresholds_and_metrics_parse() {
    assert_eq!(parse_threshold("5%").unwrap(), 0.05);
    assert_eq!(parse_threshold("5").unwrap(), 0.05);
    assert_eq!(parse_threshold("2.5 %").unwrap(), 0.025);
    assert!(parse_threshold("150%").is_err());
    assert!(parse_threshold("-1%").is_err());
    assert!(parse_threshold("five").is_err());
    assert_eq!(
        parse_threshold_arg("throughput=40%").unwrap(),
        (Some(Metric::Throughput), 0.4)
    );
    assert_eq!(parse_threshold_arg("7%").unwrap(), (None, 0.07));
    assert!(parse_threshold_arg("p50=7%").is_err());
    assert_eq!("p99.9".parse::<Metric>().unwrap(), Metric::P999);
    assert_eq!("CPU".parse::<Metric>().unwrap(), Metric::Cpu);
    assert!("p50".parse::<Metric>().is_err());
}
