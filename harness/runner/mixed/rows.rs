//! A mixed workload's rows, made from what its runs gave ([`Tally`]): per part
//! `<name>/<part>` (with the others) then `<name>/<part> alone` (or `… without <parts>` when
//! background parts stayed), each with its kind, engine, configuration, medium, warnings and
//! [`MixedRole`], paired by [`results::interference::pair_all`].

use std::collections::BTreeMap;

use results::interference::pair_all;
use results::schema::MixedRole;
use results::{Kind, Medium, Repetition, WorkloadResult};
use serde_json::{json, Value};

use super::env::{Env, Tally};
use super::{MixedConfig, Part, Trigger};
use crate::runner::read;
use crate::runner::settle;
use crate::runner::storage::StorageContext;

/// Every part's two rows, in part order ("with" then "alone"), paired.
pub(super) fn assemble(env: &Env<'_>, mut tally: Tally) -> Vec<WorkloadResult> {
    let ctx = StorageContext::for_dir(env.first.path());
    let mut rows = Vec::new();
    for i in 0..env.cfg.parts.len() {
        for (slot, alone) in [(0, false), (1, true)] {
            let reps = std::mem::take(&mut tally.reps[i][slot]);
            rows.push(part_row(env, &ctx, &tally, i, alone, reps));
        }
    }
    pair_all(&mut rows);
    rows
}

/// The row of part `i` with the others (`alone` false) or alone, over its repetitions `reps`.
fn part_row(
    env: &Env<'_>,
    ctx: &StorageContext,
    tally: &Tally,
    i: usize,
    alone: bool,
    reps: Vec<Repetition>,
) -> WorkloadResult {
    let cfg = env.cfg;
    let (name, part) = &cfg.parts[i];
    let mut status = tally.status[i].clone();
    let skipped = settle(&mut status, reps.len(), tally.interrupted);
    let (kind, engine, mut config, (medium, mut warnings)) = match part {
        Part::Write(wc) => (
            Kind::Write,
            wc.engine.to_string(),
            wc.config_map(),
            ctx.classify(wc, tally.write_caps[i].as_ref(), &reps),
        ),
        Part::Read { cfg: rc, .. } => {
            let config = match (env.logs[i].as_ref(), env.sink_target()) {
                (Some(l), Some(s)) => rc.config_map(l, s, tally.read_caps[i].as_ref()),
                _ => BTreeMap::<String, Value>::new(),
            };
            (
                Kind::Read,
                rc.engine.to_string(),
                config,
                read::assemble::classify(rc, &reps),
            )
        }
        Part::Periodic(pc) => (
            Kind::Write,
            pc.trigger.kind().to_string(),
            pc.config_map(),
            (Medium::Device, Vec::new()),
        ),
    };
    warnings.extend(skipped);
    if let Part::Periodic(pc) = part {
        warnings.extend(idle_warning(pc.trigger, &reps));
    }
    config.insert("mixed_part_kind".into(), json!(part.kind()));
    config.insert("suite_workload".into(), json!(cfg.name));
    let row_name = if alone {
        format!("{}/{}", cfg.name, alone_label(cfg, i))
    } else {
        format!("{}/{name}", cfg.name)
    };
    let mut row = WorkloadResult::new(row_name, kind, engine, config, status, medium)
        .with_repetitions(reps, warnings);
    row.mixed = Some(MixedRole {
        workload: cfg.name.clone(),
        part: name.clone(),
        part_kind: part.kind().into(),
        alone,
        beside: if alone { cfg.kept(i) } else { cfg.beside(i) },
        placement: match part {
            Part::Periodic(pc) => Some(super::placement(env.first.path(), pc.dir.as_deref())),
            _ => None,
        },
        interference: None,
    });
    row
}

/// A periodic part's warning when some of its repetitions wrote nothing: its interval is
/// longer than the run.
fn idle_warning(trigger: Trigger, reps: &[Repetition]) -> Option<String> {
    let idle = reps.iter().filter(|x| x.records == 0).count();
    (idle > 0).then(|| {
        format!(
            "no {} was written in {idle} of {} repetitions: the interval is shorter than the schedule; raise duration or lower {}",
            trigger.kind(),
            reps.len(),
            match trigger {
                Trigger::Records { .. } => "every_records",
                Trigger::Every(_) => "every",
            }
        )
    })
}

/// What part `i`'s "alone" run is called: `produce alone`, or, with background parts running
/// in it, `produce without catch-up`.
pub(super) fn alone_label(cfg: &MixedConfig, i: usize) -> String {
    let name = &cfg.parts[i].0;
    if cfg.kept(i).is_empty() {
        format!("{name} alone")
    } else {
        format!("{name} without {}", cfg.beside(i).join(" + "))
    }
}
