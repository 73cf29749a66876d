//! Pooling the runs of one machine (`segbench merge --append`): every input's repetitions in
//! one result, each tagged with its source run.

use crate::identity::fingerprint;
use crate::schema::{ResultsFile, WorkloadResult};

use super::{
    check_configs, check_distinct_runs, check_workload_sets, combined_file, combined_run,
    first_unfinished, labelled_warnings, merged_medium, per_input, MergeError,
};

/// Key of a repetition's source run id in [`crate::schema::Repetition::extra`], set by [`append`].
pub const RUN_ID_KEY: &str = "run_id";

/// Several runs of the same workloads on one machine become one result whose repetitions are
/// all of theirs, in input order (`segbench merge --append`): the way to pool runs made at
/// different times, so that run-to-run variation (page cache, writeback, other tenants) shows in
/// the spread of the repetitions instead of passing for a change between builds.
///
/// The inputs must hold the same workloads with the same configuration (ignoring
/// [`crate::identity::NON_DEFINING_CONFIG_KEYS`], so `--repeat` may differ) and, when probed, the
/// same hardware fingerprint. Each repetition keeps its source run's id in
/// `extra["run_id"]` ([`RUN_ID_KEY`]) and is renumbered; summaries are recomputed.
pub fn append(inputs: &[ResultsFile]) -> Result<ResultsFile, MergeError> {
    let first = inputs.first().ok_or(MergeError::Empty)?;
    let labels: Vec<String> = inputs.iter().map(|r| format!("run {}", r.run.id)).collect();
    check_distinct_runs(inputs)?;
    let fp0 = fingerprint(first);
    for (r, label) in inputs.iter().zip(&labels).skip(1) {
        if let (Some(a), Some(b)) = (fp0, fingerprint(r)) {
            if a != b {
                return Err(MergeError::Hardware {
                    first: labels[0].clone(),
                    other: label.clone(),
                    a: a.to_string(),
                    b: b.to_string(),
                });
            }
        }
    }
    check_workload_sets(inputs, &labels)?;
    let warnings = labelled_warnings(inputs, &labels);
    let mut workloads = Vec::new();
    for w0 in &first.workloads {
        let per_run = per_input(inputs, &w0.name);
        check_configs(w0, &per_run, &labels, &[])?;
        let mut repetitions = Vec::new();
        let mut wwarn = Vec::new();
        for (w, r) in per_run.iter().zip(inputs) {
            for x in &w.warnings {
                if !wwarn.contains(x) {
                    wwarn.push(x.clone());
                }
            }
            for rep in &w.repetitions {
                let mut rep = rep.clone();
                rep.index = repetitions.len() as u32;
                rep.extra
                    .insert(RUN_ID_KEY.to_string(), serde_json::json!(r.run.id));
                repetitions.push(rep);
            }
        }
        workloads.push(
            WorkloadResult::new(
                w0.name.clone(),
                w0.kind,
                w0.engine.clone(),
                w0.config.clone(),
                first_unfinished(&per_run, &labels),
                merged_medium(per_run.iter().map(|w| w.medium)),
            )
            .with_repetitions(repetitions, wwarn),
        );
    }
    Ok(combined_file(
        inputs,
        combined_run(inputs, "appended", first.run.host.clone()),
        first.probe.clone(),
        workloads,
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::tests::{host, rep};

    #[test]
    fn append_pools_the_repetitions_of_runs_of_one_machine() {
        let a = host(
            "vm",
            vec![rep(0, 1000, 1.0, &[10], &[]), rep(1, 1100, 1.0, &[10], &[])],
        );
        let mut b = host("vm", vec![rep(0, 900, 1.0, &[20, 30], &[])]);
        b.run.id = "run-vm-2".into();
        b.workloads[0]
            .config
            .insert("repeat".into(), serde_json::json!(1)); // does not define the workload
        let p = append(&[a.clone(), b.clone()]).unwrap();
        let w = &p.workloads[0];
        let bytes: Vec<u64> = w.repetitions.iter().map(|r| r.bytes).collect();
        assert_eq!(bytes, vec![1000, 1100, 900]);
        let idx: Vec<u32> = w.repetitions.iter().map(|r| r.index).collect();
        assert_eq!(idx, vec![0, 1, 2]);
        assert_eq!(
            w.repetitions[2].extra[RUN_ID_KEY],
            serde_json::json!("run-vm-2")
        );
        let s = w.summary.as_ref().unwrap();
        assert_eq!(
            (s.throughput_bytes_per_s.n, s.throughput_bytes_per_s.median),
            (3, 1000.0)
        );
        assert_eq!(s.latency_ns.count, 4);
        assert_eq!(p.run.host, "vm");

        let mut other = b.clone();
        other.probe = Some(crate::probe::Probe {
            fingerprint: "bb".into(),
            ..Default::default()
        });
        let e = append(&[a.clone(), other]).unwrap_err();
        assert!(e.to_string().contains("other hardware"), "{e}");
        let mut sized = b;
        sized.workloads[0]
            .config
            .insert("size_bytes".into(), serde_json::json!(5));
        let e = append(&[a, sized]).unwrap_err();
        assert!(
            e.to_string()
                .contains("in run run-vm-2: size_bytes: 1000 -> 5"),
            "{e}"
        );
    }
}
