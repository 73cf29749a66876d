//! The capacity model in words: the capacity paragraph of the reports and the text of
//! `segbench plan`.

use super::consumers::RangeSplit;
use super::inputs::{Figure, Resource, Shape, Targets, CEIL_TOLERANCE, DEFAULT_UTILIZATION};
use super::limits::{limits_from_results, with_measured_replication};
use super::model::{max_ingest, per_node_ingest};
use super::plan::{BrokerLoads, Plan};
use crate::format;
use crate::schema::ResultsFile;
use crate::table::{pad, Align};

/// Brokers on the x axis of the reports' capacity chart.
pub const REPORT_MAX_NODES: u32 = 20;

/// Replication factors the reports show, each with one consumer group.
pub const REPORT_REPLICATION: [u32; 2] = [1, 3];

/// The capacity paragraph of the reports, one sentence per item: the per-node limits with
/// their sources, then for each of [`REPORT_REPLICATION`] (one consumer group) what a broker
/// and a cluster of the baseline's size carry flat out against the baseline. Empty when the
/// results hold no usable disk write figure.
pub fn report_summary(r: &ResultsFile) -> Vec<String> {
    let Some(l) = limits_from_results(r) else {
        return Vec::new();
    };
    let b = &r.baseline;
    let mut lines = Vec::new();
    let mut per_node = Vec::new();
    for (name, f) in [
        ("disk write", &l.disk_write_bytes_per_s),
        ("read path", &l.read_path_bytes_per_s),
        ("NIC", &l.nic_in_bytes_per_s),
    ] {
        if let Some(f) = f {
            per_node.push(format!(
                "{name} {} ({})",
                format::mb_per_s(f.value),
                f.source
            ));
        }
    }
    lines.push(format!("Per node: {}.", per_node.join("; ")));
    let mut notes = l.notes.clone();
    for rf in REPORT_REPLICATION {
        // With replication rows, rf > 1 takes the measured replication cost.
        let l = with_measured_replication(r, l.clone(), rf);
        let replicated = l.disk_write_bytes_per_s != limits_disk(r);
        for n in &l.notes {
            if !notes.contains(n) {
                notes.push(n.clone());
            }
        }
        let Some((binding, per)) = per_node_ingest(&l, rf, 1) else {
            continue;
        };
        let measured = match (&l.disk_write_bytes_per_s, replicated) {
            (Some(d), true) => format!(
                ": the measured replication cost, {}",
                format::mb_per_s(d.value)
            ),
            _ => String::new(),
        };
        let shape = Shape {
            replication_factor: rf,
            consumer_groups: 1,
            retention_s: None,
        };
        let at = max_ingest(&l, &shape, &Targets::FLAT_OUT, b.nodes);
        let ratio = if b.cluster_bytes_per_s > 0.0 {
            format!(
                " = {} the baseline",
                format::ratio(at / b.cluster_bytes_per_s)
            )
        } else {
            String::new()
        };
        lines.push(format!(
            "rf {rf}, one consumer group: {} per broker flat out ({} binds{measured}); {} brokers \
             carry {}{ratio} ({} on {} nodes).",
            format::mb_per_s(per),
            binding.label(),
            b.nodes,
            format::mb_per_s(at),
            format::mb_per_s(b.cluster_bytes_per_s),
            b.nodes
        ));
    }
    if l.nic_in_bytes_per_s.is_none() {
        lines.push(
            "NIC speed unknown (the probe has none): the network is left out; give it to segbench plan with --nic."
                .to_string(),
        );
    }
    lines.extend(notes);
    lines.push(format!(
        "Flat out means 100% of each measured limit; plan at {} with a spare broker: \
         segbench plan --from RESULTS.json --ingest RATE --rf R --consumers C --retention D.",
        format::percent(DEFAULT_UTILIZATION)
    ));
    lines
}

/// The plain disk write figure of `r` (no replication cost), to tell whether a plan used it.
fn limits_disk(r: &ResultsFile) -> Option<Figure> {
    limits_from_results(r).and_then(|l| l.disk_write_bytes_per_s)
}

/// A duration in the largest whole-ish unit: `7 d`, `36 h`, `90 s`.
pub fn retention_label(s: f64) -> String {
    const UNITS: [(f64, &str); 3] = [(86_400.0, "d"), (3_600.0, "h"), (60.0, "min")];
    for (scale, unit) in UNITS {
        if s >= scale && (s / scale).fract() == 0.0 {
            return format!("{} {unit}", s / scale);
        }
    }
    if s >= 86_400.0 {
        return format!("{} d", format::sig(s / 86_400.0));
    }
    format!("{} s", format::sig(s))
}

fn figure_text(r: Resource, v: f64) -> String {
    if r.is_storage() {
        format::bytes_iec(v)
    } else {
        format::mb_per_s(v)
    }
}

fn use_lines(out: &mut String, l: &BrokerLoads) {
    for u in &l.utilization {
        let util = u
            .utilization
            .map(format::percent)
            .unwrap_or_else(|| format::MISSING.to_string());
        let verdict = if u.utilization.is_none() {
            "no broker"
        } else if u.within_target {
            "within target"
        } else if u.utilization.is_some_and(|x| x <= 1.0 + CEIL_TOLERANCE) {
            "over target"
        } else {
            "OVER LIMIT"
        };
        out.push_str(&format!(
            "  {} {} of {} = {}  (target {}: {verdict})\n",
            pad(u.resource.label(), 12, Align::Left),
            pad(&figure_text(u.resource, u.load), 10, Align::Right),
            pad(&figure_text(u.resource, u.limit), 10, Align::Right),
            pad(&util, 6, Align::Right),
            format::percent(u.target),
        ));
    }
}

/// The plan as a readable table (what `segbench plan` prints).
pub fn render_text(p: &Plan) -> String {
    let mut out = String::new();
    let s = &p.shape;
    out.push_str(&format!(
        "Capacity plan: ingest {}, rf {}, {} consumer group{}, retention {}\n\n",
        format::mb_per_s(p.ingest_bytes_per_s),
        s.replication_factor,
        s.consumer_groups,
        if s.consumer_groups == 1 { "" } else { "s" },
        s.retention_s
            .map(retention_label)
            .unwrap_or_else(|| "none".to_string()),
    ));
    limits_text(&mut out, p);
    brokers_text(&mut out, p);
    loads_text(&mut out, p);
    broker_down_text(&mut out, p);
    baseline_text(&mut out, p);
    if let Some(g) = &p.consumer_group {
        consumer_group_text(&mut out, g);
    }
    notes_text(&mut out, p);
    out
}

/// The per-node limits, each with where it came from.
fn limits_text(out: &mut String, p: &Plan) {
    out.push_str("Per-node limits\n");
    let l = &p.limits;
    let rows = [
        (
            "disk write (D)",
            &l.disk_write_bytes_per_s,
            Resource::DiskWrite,
        ),
        (
            "read path (R)",
            &l.read_path_bytes_per_s,
            Resource::ReadPath,
        ),
        ("NIC in", &l.nic_in_bytes_per_s, Resource::NicIn),
        ("NIC out", &l.nic_out_bytes_per_s, Resource::NicOut),
        ("disk size (S)", &l.disk_capacity_bytes, Resource::Storage),
    ];
    for (name, f, r) in rows {
        if let Some(f) = f {
            out.push_str(&format!(
                "  {} {}  {}\n",
                pad(name, 15, Align::Left),
                pad(&figure_text(r, f.value), 10, Align::Right),
                f.source
            ));
        }
    }
}

/// Each term of the broker-count formula, the binding one marked, and the count.
fn brokers_text(out: &mut String, p: &Plan) {
    out.push_str(&format!(
        "\nBrokers needed (U = {} utilisation, F = {} fill)\n",
        format::percent(p.targets.utilization),
        format::percent(p.targets.fill)
    ));
    for c in &p.constraints {
        out.push_str(&format!(
            "  {} {} = {}{}\n",
            pad(c.resource.label(), 18, Align::Left),
            pad(&c.formula, 22, Align::Left),
            pad(&format::sig(c.term), 8, Align::Right),
            if c.binding { "   <- binding" } else { "" }
        ));
    }
    out.push_str(&format!(
        "  brokers: ceil({}) + {} spare = {}\n",
        format::sig(p.constraints.iter().map(|c| c.term).fold(0.0, f64::max)),
        p.targets.spare,
        p.brokers
    ));
    out.push_str(&format!(
        "\nBrokers: {} ({} binds)\n",
        p.brokers,
        p.binding.label()
    ));
}

/// The per-broker load and the utilisation of each resource.
fn loads_text(out: &mut String, p: &Plan) {
    out.push_str(&format!(
        "\nPer-broker load on {} brokers\n",
        p.loads.brokers
    ));
    let ld = &p.loads;
    let mut line = |name: &str, v: Option<f64>, storage: bool| {
        if let Some(v) = v {
            let t = if storage {
                format::bytes_iec(v)
            } else {
                format::mb_per_s(v)
            };
            out.push_str(&format!(
                "  {} {}\n",
                pad(name, 30, Align::Left),
                pad(&t, 10, Align::Right)
            ));
        }
    };
    line("disk writes", ld.disk_write_bytes_per_s, false);
    line("NIC in", ld.nic_in_bytes_per_s, false);
    line("NIC out", ld.nic_out_bytes_per_s, false);
    line(
        "catch-up disk reads (worst)",
        ld.catchup_read_bytes_per_s,
        false,
    );
    line("storage", ld.storage_bytes, true);
    out.push_str("Utilisation\n");
    use_lines(out, &p.loads);
}

/// Whether the load still fits with one broker down.
fn broker_down_text(out: &mut String, p: &Plan) {
    let s = &p.shape;
    let d = &p.one_broker_down;
    out.push_str(&format!("\nOne broker down ({} brokers)\n", d.brokers));
    use_lines(out, d);
    let verdict = if !d.replicas_placeable {
        format!(
            "does NOT fit: {} brokers cannot hold {} replicas of each partition",
            d.brokers, s.replication_factor
        )
    } else if d.within_target {
        "fits, within every target".to_string()
    } else if d.fits {
        "fits (under 100%), but over target".to_string()
    } else {
        "does NOT fit: a resource is over 100%".to_string()
    };
    let highest = d
        .highest
        .map(|h| {
            format!(
                "; highest {} {}",
                h.resource.label(),
                format::percent(h.utilization)
            )
        })
        .unwrap_or_default();
    out.push_str(&format!("  {verdict}{highest}\n"));
}

/// What this hardware carries against the baseline cluster.
fn baseline_text(out: &mut String, p: &Plan) {
    let s = &p.shape;
    let b = &p.baseline;
    out.push_str(&format!(
        "\nBaseline\n  {} nodes of this hardware carry {} (within targets, {} spare; {} flat out) \
         vs baseline {} on {}\n",
        b.brokers,
        format::mb_per_s(b.carry_bytes_per_s),
        p.targets.spare,
        format::mb_per_s(b.ceiling_bytes_per_s),
        format::mb_per_s(b.baseline_cluster_bytes_per_s),
        b.baseline_nodes
    ));
    let with_retention = if b.at_baseline_nodes_with_retention_bytes_per_s
        < b.at_baseline_nodes_bytes_per_s * (1.0 - CEIL_TOLERANCE)
    {
        format!(
            "; {} with {} retention on these disks",
            format::mb_per_s(b.at_baseline_nodes_with_retention_bytes_per_s),
            s.retention_s
                .map(retention_label)
                .unwrap_or_else(|| "this".to_string())
        )
    } else {
        String::new()
    };
    out.push_str(&format!(
        "  {} nodes of this hardware carry {} flat out: {} the baseline ({}){with_retention}\n",
        b.baseline_nodes,
        format::mb_per_s(b.at_baseline_nodes_bytes_per_s),
        format::ratio(b.ratio_to_baseline),
        b.baseline_source
    ));
}

/// How the consumer group's partitions split over its instances (range assignor).
fn consumer_group_text(out: &mut String, g: &RangeSplit) {
    out.push_str(&format!(
        "\nConsumer group: {} partitions over {} instances (range assignor)\n",
        g.partitions, g.instances
    ));
    out.push_str(&format!(
        "  active {}, idle {}; most loaded {} partition{} ({} instance{}), least loaded {}\n",
        g.active_instances,
        g.idle_instances,
        g.most_partitions,
        if g.most_partitions == 1 { "" } else { "s" },
        g.instances_with_most,
        if g.instances_with_most == 1 { "" } else { "s" },
        g.least_partitions
    ));
    if let (Some(hi), Some(lo)) = (
        g.busiest_instance_bytes_per_s,
        g.quietest_instance_bytes_per_s,
    ) {
        out.push_str(&format!(
            "  busiest instance reads {}, quietest {}\n",
            format::mb_per_s(hi),
            format::mb_per_s(lo)
        ));
    }
    if g.even {
        out.push_str("  the split is even\n");
    } else {
        let list = |v: &[u32]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        };
        out.push_str(&format!(
            "  even splits: {} partitions for {} instances, or {} instances for {} partitions\n",
            list(&g.even_partition_counts),
            g.instances,
            list(&g.even_instance_counts),
            g.partitions
        ));
    }
}

/// The notes of the limits and of the plan.
fn notes_text(out: &mut String, p: &Plan) {
    let notes: Vec<&String> = p.limits.notes.iter().chain(&p.notes).collect();
    if !notes.is_empty() {
        out.push_str("\nNotes\n");
        for n in notes {
            out.push_str(&format!("  - {n}\n"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Kind, Medium};
    use crate::testing::{capacity_probe as probe, results_with, workload_with as workload};

    const MB: f64 = 1e6;
    const DAY: f64 = 86_400.0;

    #[test]
    fn report_summary_states_limits_and_the_baseline() {
        let r = results_with(
            vec![
                workload("write/direct", Kind::Write, Medium::Device, 600.0 * MB),
                workload("read/sendfile", Kind::Read, Medium::Network, 1600.0 * MB),
            ],
            probe(),
        );
        let lines = report_summary(&r);
        let text = lines.join("\n");
        assert!(text.starts_with("Per node: disk write 600 MB/s (measured: write/direct median (device)); read path 1600 MB/s"), "{text}");
        // rf 1: disk 600, NIC in 1250, out 1250, read 1600 -> 600 per broker, 6000 on 10 = 300×.
        assert!(text.contains("rf 1, one consumer group: 600 MB/s per broker flat out (disk write binds); 10 brokers carry 6000 MB/s = 300× the baseline"), "{text}");
        // rf 3: disk 600/3 = 200 per broker, 2000 on 10 = 100×.
        assert!(text.contains("rf 3, one consumer group: 200 MB/s per broker flat out (disk write binds); 10 brokers carry 2000 MB/s = 100×"), "{text}");
        assert_eq!(
            per_node_ingest(&limits_from_results(&r).unwrap(), 3, 1),
            Some((Resource::DiskWrite, 200.0 * MB))
        );
        // The Markdown report carries it.
        let md = crate::export::markdown::render(&r);
        assert!(md.contains("**Capacity**"), "{md}");
        assert!(md.contains("per broker flat out"), "{md}");
        // No write figure: no paragraph.
        let none = results_with(vec![], None);
        assert!(report_summary(&none).is_empty());
        assert!(!crate::export::markdown::render(&none).contains("**Capacity**"));
    }

    #[test]
    fn labels() {
        assert_eq!(retention_label(7.0 * DAY), "7 d");
        assert_eq!(retention_label(3.0 * DAY), "3 d");
        assert_eq!(retention_label(90.0), "90.0 s");
        assert_eq!(retention_label(36.0 * 3600.0), "36 h");
    }
}
