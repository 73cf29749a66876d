//! The HTML report: one self-contained file (inline CSS, inline SVG, no scripts, nothing fetched
//! from the network) that reads well in a browser and prints.
//!
//! Layout: a header (tool, git, host, run id, date, command line, baseline) with the verdict and
//! a table of contents, then the [`SECTIONS`] in order:
//!
//! | id | section |
//! |---|---|
//! | `machine` | the hardware probe: CPU, memory, kernel, file system, device, DIO alignment, NICs, io_uring |
//! | `warnings` | the run's and every workload's warnings |
//! | `write`, `read` | the comparison tables (as in the terminal) with their verdict lines |
//! | `throughput` | bars at the median with min–max whiskers and the per-node baseline line |
//! | `latency` | percentile curves on HdrHistogram's "nines" axis, from the merged histograms |
//! | `timeline` | throughput over time of each workload's median repetition |
//! | `scaling` | throughput against a swept parameter (workload `config.sweep` / `config.sweep_value`) |
//! | `cpu` | CPU seconds per GB |
//!
//! A section whose data is absent (no read workloads, no sweep) is left out, with its entry in
//! the table of contents.
//!
//! # Adding a section
//!
//! A section is a function `fn(&ResultsFile) -> Option<Section>`. To add one — say "Capacity",
//! a chart of cluster throughput against broker count:
//!
//! 1. write `pub fn capacity(r: &ResultsFile) -> Option<Section>` (in its own module if it is
//!    large), returning `None` when the results cannot support it;
//! 2. build the chart with [`crate::plot::LineChart`] (x: brokers, y: MB/s; a [`Series`] per
//!    replication factor) and put `chart.render()` inside [`figure`];
//! 3. list the function in [`SECTIONS`] where it should appear (e.g. after `scaling`), or, for a
//!    section that needs more than the results file, add it at run time with
//!    [`HtmlExporter::with_section`].
//!
//! The section's `id` becomes its anchor and table-of-contents entry; its `html` is inserted as
//! is, so escape every piece of text with [`escape`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;

use super::table::{self, Align, Table};
use super::terminal;
use super::{ExportError, Exporter};
use crate::format::{self, MISSING};
use crate::hist;
use crate::plot::scale::{
    all_powers_of_two, latency_label, linear_ticks, log2_ticks, log_ticks, nines, nines_decades,
    nines_ticks, number_label,
};
pub use crate::plot::svg::escape;
use crate::plot::{
    series_stroke, Axis, Bar, BarChart, LegendItem, LegendMark, LineChart, Point, ReferenceLine,
    Series, Stroke, PALETTE,
};
use crate::probe::{BlockDevice, Probe};
use crate::schema::{Kind, Medium, ResultsFile, Status, WorkloadResult};

/// One part of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Anchor (`<section id>`), unique in the report, e.g. `throughput`.
    pub id: String,
    /// Heading and table-of-contents entry.
    pub title: String,
    /// The content, already escaped HTML.
    pub html: String,
}

/// Builds a section from the results, or `None` when the results have nothing for it.
pub type SectionFn = fn(&ResultsFile) -> Option<Section>;

/// The report's sections, in order. See the module documentation to add one.
pub const SECTIONS: &[SectionFn] = &[
    machine,
    warnings,
    write_table,
    read_table,
    throughput,
    latency,
    timeline,
    scaling,
    capacity,
    cpu,
];

/// The HTML report ([`render`]) as UTF-8 bytes.
#[derive(Debug, Clone)]
pub struct HtmlExporter {
    sections: Vec<SectionFn>,
}

impl Default for HtmlExporter {
    fn default() -> Self {
        HtmlExporter {
            sections: SECTIONS.to_vec(),
        }
    }
}

impl HtmlExporter {
    /// The exporter with the default [`SECTIONS`].
    pub fn new() -> HtmlExporter {
        HtmlExporter::default()
    }

    /// The same exporter with `section` appended after the others.
    pub fn with_section(mut self, section: SectionFn) -> HtmlExporter {
        self.sections.push(section);
        self
    }

    /// The section builders, in order.
    pub fn sections(&self) -> &[SectionFn] {
        &self.sections
    }

    /// The whole document for `r`.
    pub fn render(&self, r: &ResultsFile) -> String {
        let sections: Vec<Section> = self.sections.iter().filter_map(|f| f(r)).collect();
        document(r, &sections)
    }
}

impl Exporter for HtmlExporter {
    fn export(&self, r: &ResultsFile) -> Result<Vec<u8>, ExportError> {
        Ok(self.render(r).into_bytes())
    }
}

/// The report of `r` with the default sections.
pub fn render(r: &ResultsFile) -> String {
    HtmlExporter::default().render(r)
}

/// A figure: the chart's `<svg>` and a caption (plain text, escaped here).
pub fn figure(svg: &str, caption: &str) -> String {
    format!(
        "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>\n",
        escape(caption)
    )
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif;
  color: #222; background: #f6f7f9; margin: 0; line-height: 1.45; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; min-height: 100vh;
  box-shadow: 0 0 0 1px #e4e6ea; }
h1 { font-size: 1.7em; margin: 0 0 4px; }
h2 { font-size: 1.3em; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 2px solid #e4e6ea; }
h3 { font-size: 1.05em; margin: 20px 0 8px; }
.sub { color: #555; margin: 0 0 16px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 16px; }
dl.meta dt { color: #555; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 0.92em; }
pre { background: #f6f7f9; padding: 10px; overflow: auto; max-height: 420px; border: 1px solid #e4e6ea; }
nav.toc { margin: 8px 0 4px; }
nav.toc a { margin-right: 14px; white-space: nowrap; }
a { color: #2f5d8a; }
.verdict { background: #eef5ee; border-left: 4px solid #59a14f; padding: 8px 14px; margin: 12px 0; }
.verdict p { margin: 2px 0; font-weight: 600; }
.banner { background: #fdecea; border-left: 4px solid #e15759; padding: 8px 14px; margin: 12px 0; font-weight: 600; }
ul.warnings li { margin: 3px 0; }
ul.warnings .who { font-weight: 600; }
.tablewrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0 8px; font-size: 0.9em; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e4e6ea; text-align: left; vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
tr.skipped td, tr.failed td { color: #777; font-style: italic; }
tr.failed td.note { color: #b0302f; }
td.name { white-space: nowrap; }
td.cache { color: #8a5a00; white-space: nowrap; }
table.kv th { background: none; color: #555; font-weight: normal; width: 13em; }
.foot { color: #555; font-size: 0.9em; }
figure { margin: 18px 0 26px; }
figcaption { color: #555; font-size: 0.9em; margin-top: 4px; }
details { margin: 8px 0; }
summary { cursor: pointer; color: #2f5d8a; }
@media print { body { background: #fff; } main { box-shadow: none; } figure, table { break-inside: avoid; } }
"#;

/// The whole HTML document around `sections`.
fn document(r: &ResultsFile, sections: &[Section]) -> String {
    let mut out = String::new();
    let title = format!("segbench report · {} · {}", r.run.host, r.run.id);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    out.push_str("<meta name=\"generator\" content=\"segbench\"/>\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&title));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");
    out.push_str(&header(r));
    if !sections.is_empty() {
        out.push_str("<nav class=\"toc\">");
        for s in sections {
            let _ = write!(
                out,
                "<a href=\"#{}\">{}</a> ",
                escape(&s.id),
                escape(&s.title)
            );
        }
        out.push_str("</nav>\n");
    }
    for s in sections {
        let _ = writeln!(
            out,
            "<section id=\"{}\">\n<h2>{}</h2>\n{}</section>",
            escape(&s.id),
            escape(&s.title),
            s.html
        );
    }
    let _ = writeln!(
        out,
        "<p class=\"foot\">Generated by {} {} from results schema version {}. MB = 10⁶ bytes, GB = 10⁹ bytes, KiB/MiB/GiB binary.</p>",
        escape(&r.tool.name),
        escape(&r.tool.version),
        r.schema_version
    );
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// An argument as a POSIX shell would need it quoted.
fn shell_quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Title, run metadata, interruption banner and verdict.
fn header(r: &ResultsFile) -> String {
    let mut out = String::new();
    out.push_str("<header>\n<h1>segbench report</h1>\n");
    let _ = writeln!(
        out,
        "<p class=\"sub\">host <strong>{}</strong> · run <code>{}</code> · {}</p>",
        escape(&r.run.host),
        escape(&r.run.id),
        escape(&r.run.start_time)
    );
    let command: Vec<String> = r.run.command_line.iter().map(|a| shell_quote(a)).collect();
    let rows: [(&str, String); 7] = [
        ("tool", format!("{} {}", r.tool.name, r.tool.version)),
        (
            "git",
            r.tool.git.clone().unwrap_or_else(|| MISSING.to_string()),
        ),
        ("host", r.run.host.clone()),
        ("run id", r.run.id.clone()),
        ("started", r.run.start_time.clone()),
        ("command line", command.join(" ")),
        (
            "baseline",
            format!(
                "{} per node = {} over {} nodes ({})",
                format::mb_per_s(r.baseline.per_node_bytes_per_s),
                format::mb_per_s(r.baseline.cluster_bytes_per_s),
                r.baseline.nodes,
                r.baseline.source
            ),
        ),
    ];
    out.push_str("<dl class=\"meta\">\n");
    for (k, v) in rows {
        let v = if k == "command line" || k == "git" {
            format!("<code>{}</code>", escape(&v))
        } else {
            escape(&v)
        };
        let _ = writeln!(out, "<dt>{}</dt><dd>{v}</dd>", escape(k));
    }
    out.push_str("</dl>\n");
    if r.interrupted {
        out.push_str(
            "<p class=\"banner\">Interrupted: the run was stopped; these results are partial.</p>\n",
        );
    }
    let verdict = terminal::verdict(r);
    if !verdict.is_empty() {
        out.push_str("<div class=\"verdict\">\n");
        for line in verdict {
            let _ = writeln!(out, "<p>{}</p>", escape(&line));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</header>\n");
    out
}

// ---------------------------------------------------------------------------------------------
// Probe summary

/// A probe string as text; `None` when absent or blank.
fn text(v: Option<&str>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty()).map(str::to_string)
}

/// A probe number as text.
fn num<T: std::fmt::Display>(v: Option<T>) -> Option<String> {
    v.map(|n| n.to_string())
}

/// A probe flag as `yes` / `no`.
fn yes_no(v: Option<bool>) -> Option<String> {
    v.map(|b| if b { "yes" } else { "no" }.to_string())
}

/// A value, or `–`.
fn or_missing(v: Option<String>) -> String {
    v.unwrap_or_else(|| MISSING.to_string())
}

/// A byte count in binary units.
fn bytes(v: Option<u64>) -> Option<String> {
    v.map(format::bytes_iec)
}

/// A bytes/s figure in MB/s.
fn rate(v: Option<f64>) -> Option<String> {
    v.map(format::mb_per_s)
}

/// Joins the present parts with `sep`, or `–` when none is.
fn join(parts: impl IntoIterator<Item = Option<String>>, sep: &str) -> String {
    let parts: Vec<String> = parts.into_iter().flatten().collect();
    if parts.is_empty() {
        MISSING.to_string()
    } else {
        parts.join(sep)
    }
}

fn labelled(label: &str, v: Option<String>) -> Option<String> {
    v.map(|v| format!("{label} {v}"))
}

/// The bottom-most disk of the probe's device chain (no lower device, not a partition), else
/// the last device listed.
fn primary_disk(p: &Probe) -> Option<&BlockDevice> {
    p.storage
        .primary_disk()
        .or_else(|| p.storage.devices.last())
}

/// Key/value rows summarising the probe.
fn probe_rows(p: &Probe) -> Vec<(&'static str, String)> {
    let (host, cpu, st) = (&p.host, &p.cpu, &p.storage);
    let mut rows = Vec::new();
    rows.push((
        "host",
        join(
            [
                text(host.hostname.as_deref()),
                text(host.distribution.as_deref()),
                text(host.arch.as_deref()),
            ],
            " · ",
        ),
    ));
    rows.push(("kernel", or_missing(text(host.kernel_release.as_deref()))));
    rows.push((
        "virtualisation",
        join(
            [
                text(host.virtualization.as_deref()),
                labelled("container", text(host.container.as_deref())),
            ],
            " · ",
        ),
    ));
    rows.push(("CPU model", or_missing(text(cpu.model.as_deref()))));
    rows.push((
        "cores",
        join(
            [
                labelled("sockets", num(cpu.sockets)),
                labelled("cores", num(cpu.cores)),
                labelled("threads", num(cpu.threads)),
                labelled("NUMA nodes", num(cpu.numa_nodes)),
            ],
            ", ",
        ),
    ));
    rows.push((
        "CPU frequency",
        join(
            [
                cpu.max_frequency_hz
                    .map(|hz| format!("{} GHz max", format::sig(hz as f64 / 1e9))),
                labelled("governor", text(cpu.governor.as_deref())),
            ],
            ", ",
        ),
    ));
    rows.push((
        "memory",
        join(
            [
                bytes(p.memory.total_bytes).map(|b| format!("{b} total")),
                bytes(p.memory.available_bytes).map(|b| format!("{b} available")),
                bytes(p.memory.swap_total_bytes).map(|b| format!("swap {b}")),
            ],
            ", ",
        ),
    ));
    rows.push((
        "dirty limit",
        join(
            [
                bytes(p.vm.dirty_limit_bytes),
                bytes(p.vm.dirty_background_limit_bytes).map(|b| format!("background {b}")),
            ],
            ", ",
        ),
    ));
    rows.push((
        "data directory",
        or_missing(text(st.canonical_dir.as_deref()).or_else(|| text(Some(&st.dir)))),
    ));
    rows.push((
        "file system",
        join(
            [
                text(st.fs_type.as_deref()),
                labelled("on", text(st.mount_point.as_deref())),
                text(st.mount_source.as_deref()).map(|s| format!("({s})")),
            ],
            " ",
        ),
    ));
    rows.push((
        "mount options",
        or_missing(text(st.mount_options.as_deref())),
    ));
    rows.push((
        "free space",
        join(
            [
                bytes(st.available_bytes).map(|b| format!("{b} available")),
                bytes(st.total_bytes).map(|b| format!("of {b}")),
            ],
            " ",
        ),
    ));
    let chain = st
        .devices
        .iter()
        .map(|d| {
            let name = text(Some(&d.name)).unwrap_or_else(|| "?".into());
            match text(d.dm_name.as_deref()) {
                Some(dm) => format!("{name} ({dm})"),
                None => name,
            }
        })
        .collect::<Vec<_>>()
        .join(" → ");
    rows.push((
        "device chain",
        or_missing(Some(chain).filter(|c| !c.is_empty())),
    ));
    let disk = primary_disk(p);
    let d = |f: fn(&BlockDevice) -> Option<&str>| disk.and_then(|d| text(f(d)));
    let db = |f: fn(&BlockDevice) -> Option<u64>| disk.and_then(f);
    let vendor_model = join([d(|d| d.vendor.as_deref()), d(|d| d.model.as_deref())], " ");
    rows.push((
        "disk",
        join(
            [
                d(|d| Some(&d.name)),
                vendor_model.ne(MISSING).then_some(vendor_model.clone()),
                db(|d| d.size_bytes).map(format::bytes_iec),
                labelled("driver", d(|d| d.driver.as_deref())),
                labelled("rotational", yes_no(disk.and_then(|d| d.rotational))),
            ],
            ", ",
        ),
    ));
    rows.push((
        "queue",
        join(
            [
                labelled("scheduler", d(|d| d.scheduler.as_deref())),
                labelled("write cache", d(|d| d.write_cache.as_deref())),
                db(|d| d.logical_block_bytes).map(|b| format!("logical block {b} B")),
                db(|d| d.physical_block_bytes).map(|b| format!("physical block {b} B")),
            ],
            ", ",
        ),
    ));
    let dio = st.direct_io.map(|works| {
        if works {
            "O_DIRECT works"
        } else {
            "O_DIRECT refused"
        }
        .to_string()
    });
    rows.push((
        "direct I/O",
        join(
            [
                dio,
                st.dio_mem_align_bytes
                    .map(|b| format!("memory alignment {b} B")),
                st.dio_offset_align_bytes
                    .map(|b| format!("offset alignment {b} B")),
            ],
            ", ",
        ),
    ));
    let u = &p.io_uring;
    let uring_state = u.enabled.map(|enabled| {
        if enabled {
            "enabled".to_string()
        } else {
            match text(u.disabled_reason.as_deref()) {
                Some(why) => format!("disabled: {why}"),
                None => "disabled".to_string(),
            }
        }
    });
    rows.push((
        "io_uring",
        join(
            [
                uring_state,
                labelled("SQPOLL allowed", yes_no(u.sqpoll_allowed)),
                labelled("registered buffers", yes_no(u.registered_buffers_allowed)),
                (!u.features.is_empty()).then(|| format!("{} features", u.features.len())),
            ],
            ", ",
        ),
    ));
    let micro = p.micro.as_ref();
    rows.push((
        "micro-probes",
        join(
            [
                labelled("memcpy", rate(micro.and_then(|m| m.memcpy_bytes_per_s))),
                labelled(
                    "first touch",
                    rate(micro.and_then(|m| m.first_touch_bytes_per_s)),
                ),
                labelled(
                    "loopback TCP",
                    rate(micro.and_then(|m| m.loopback_tcp_bytes_per_s)),
                ),
                micro
                    .and_then(|m| m.clock_read_ns)
                    .map(|ns| format!("clock read {}", format::latency(ns))),
            ],
            ", ",
        ),
    ));
    rows.push(("fingerprint", or_missing(text(p.fingerprint()))));
    rows
}

/// The NICs table, if the probe lists any.
fn nic_table(p: &Probe) -> Option<String> {
    if p.nics.is_empty() {
        return None;
    }
    let mut out = String::from(
        "<div class=\"tablewrap\"><table>\n<thead><tr><th>NIC</th><th>state</th>\
         <th class=\"num\">speed (Mbit/s)</th><th class=\"num\">MTU (bytes)</th><th>driver</th>\
         <th class=\"num\">queues rx/tx</th><th>virtual</th><th>addresses</th></tr></thead>\n<tbody>\n",
    );
    for n in &p.nics {
        let queues = match (num(n.rx_queues), num(n.tx_queues)) {
            (None, None) => MISSING.to_string(),
            (a, b) => format!("{}/{}", or_missing(a), or_missing(b)),
        };
        let addresses = Some(n.addresses.join(", ")).filter(|s| !s.is_empty());
        let cell = |v: Option<String>| escape(&or_missing(v));
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            cell(text(Some(&n.name))),
            cell(text(n.state.as_deref())),
            cell(num(n.speed_mbit_per_s)),
            cell(num(n.mtu_bytes)),
            cell(text(n.driver.as_deref())),
            escape(&queues),
            cell(yes_no(Some(n.virtual_device))),
            cell(addresses)
        );
    }
    out.push_str("</tbody>\n</table></div>\n");
    Some(out)
}

/// The hardware probe: a summary table, the NICs, the probe's notes and its whole JSON.
pub fn machine(r: &ResultsFile) -> Option<Section> {
    let mut html = String::new();
    match &r.probe {
        None => {
            html.push_str(
                "<p>No hardware probe in this results file (run without the probe).</p>\n",
            );
        }
        Some(p) => {
            html.push_str("<div class=\"tablewrap\"><table class=\"kv\">\n<tbody>\n");
            for (k, v) in probe_rows(p) {
                let _ = writeln!(
                    html,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    escape(k),
                    escape(&v)
                );
            }
            html.push_str("</tbody>\n</table></div>\n");
            if let Some(t) = nic_table(p) {
                html.push_str("<h3>Network interfaces</h3>\n");
                html.push_str(&t);
            }
            if !p.notes.is_empty() {
                let _ = writeln!(
                    html,
                    "<details><summary>Probe notes ({})</summary>\n<ul>",
                    p.notes.len()
                );
                for n in &p.notes {
                    let _ = writeln!(html, "<li>{}</li>", escape(n));
                }
                html.push_str("</ul>\n</details>\n");
            }
            // Through a `Value`, so the keys print sorted, as results files before the typed
            // probe stored them.
            let json = serde_json::to_value(p)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_default();
            let _ = writeln!(
                html,
                "<details><summary>Whole probe (JSON)</summary>\n<pre>{}</pre>\n</details>",
                escape(&json)
            );
        }
    }
    Some(Section {
        id: "machine".into(),
        title: "Machine".into(),
        html,
    })
}

/// The run's warnings and each workload's, prefixed with the workload.
pub fn warnings(r: &ResultsFile) -> Option<Section> {
    let mut html = String::new();
    if r.warnings.is_empty() && r.workloads.iter().all(|w| w.warnings.is_empty()) {
        html.push_str("<p>No warnings.</p>\n");
    } else {
        html.push_str("<ul class=\"warnings\">\n");
        for w in &r.warnings {
            let _ = writeln!(html, "<li>{}</li>", escape(w));
        }
        for wl in &r.workloads {
            for w in &wl.warnings {
                let _ = writeln!(
                    html,
                    "<li><span class=\"who\">{}</span>: {}</li>",
                    escape(&wl.name),
                    escape(w)
                );
            }
        }
        html.push_str("</ul>\n");
    }
    Some(Section {
        id: "warnings".into(),
        title: "Warnings".into(),
        html,
    })
}

// ---------------------------------------------------------------------------------------------
// Comparison tables

/// A [`Table`] as HTML. The note column is not a column here: a workload without figures
/// (skipped, failed before measuring) shows its note across the figure columns, and one with
/// figures and a note (failed or interrupted after some repetitions) gets the note on a row of
/// its own below, so long reasons never squeeze the table.
fn html_table(t: &Table) -> String {
    let note_col = t.columns.iter().position(|(h, _)| h == "note");
    let shown: Vec<usize> = (0..t.columns.len())
        .filter(|&i| Some(i) != note_col)
        .collect();
    let class = |i: usize| match (i, t.columns[i].1) {
        (0, _) => " class=\"name\"",
        (_, Align::Left) => "",
        (_, Align::Right) => " class=\"num\"",
    };
    let mut out = String::from("<div class=\"tablewrap\"><table class=\"cmp\">\n<thead><tr>");
    for &i in &shown {
        let _ = write!(out, "<th{}>{}</th>", class(i), escape(&t.columns[i].0));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        let note = note_col.map(|i| row[i].as_str()).unwrap_or("");
        let row_class = if note.starts_with("skipped") {
            " class=\"skipped\""
        } else if !note.is_empty() {
            " class=\"failed\""
        } else {
            ""
        };
        let _ = write!(out, "<tr{row_class}>");
        let no_figures = shown.iter().skip(1).all(|&i| row[i] == MISSING);
        if !note.is_empty() && no_figures {
            let _ = writeln!(
                out,
                "<td{}>{}</td><td class=\"note\" colspan=\"{}\">{}</td></tr>",
                class(0),
                escape(&row[0]),
                shown.len() - 1,
                escape(note)
            );
            continue;
        }
        for &i in &shown {
            let cell = &row[i];
            if i > 0 && cell == format::medium_label(Medium::PageCache) {
                let _ = write!(
                    out,
                    "<td class=\"cache\" title=\"the data may not have left the page cache: a memory number, not a disk number\">{}</td>",
                    escape(cell)
                );
            } else {
                let _ = write!(out, "<td{}>{}</td>", class(i), escape(cell));
            }
        }
        out.push_str("</tr>\n");
        if !note.is_empty() {
            let _ = writeln!(
                out,
                "<tr{row_class}><td></td><td class=\"note\" colspan=\"{}\">{}</td></tr>",
                shown.len() - 1,
                escape(note)
            );
        }
    }
    out.push_str("</tbody>\n</table></div>\n");
    out
}

/// The comparison table of the workloads of `kind`, with the verdict lines about them.
fn kind_table(r: &ResultsFile, kind: Kind) -> Option<Section> {
    if !r.workloads.iter().any(|w| w.kind == kind) {
        return None;
    }
    let mut only = r.clone();
    only.workloads.retain(|w| w.kind == kind);
    let mut html = html_table(&table::comparison(&only));
    let prefix = match kind {
        Kind::Write => "write:",
        Kind::Read => "read:",
    };
    let verdict: Vec<String> = terminal::verdict(r)
        .into_iter()
        .filter(|l| l.starts_with(prefix))
        .collect();
    if !verdict.is_empty() {
        html.push_str("<div class=\"verdict\">\n");
        for l in verdict {
            let _ = writeln!(html, "<p>{}</p>", escape(&l));
        }
        html.push_str("</div>\n");
    }
    let _ = writeln!(
        html,
        "<p class=\"foot\">{}</p>",
        escape(&table::footnote(r))
    );
    let (id, title) = match kind {
        Kind::Write => ("write", "Write paths"),
        Kind::Read => ("read", "Read paths"),
    };
    Some(Section {
        id: id.into(),
        title: title.into(),
        html,
    })
}

/// The write workloads' comparison table and verdict.
pub fn write_table(r: &ResultsFile) -> Option<Section> {
    kind_table(r, Kind::Write)
}

/// The read workloads' comparison table and verdict.
pub fn read_table(r: &ResultsFile) -> Option<Section> {
    kind_table(r, Kind::Read)
}

// ---------------------------------------------------------------------------------------------
// Chart data

/// The sweep a workload belongs to: `config.sweep` (the parameter) and `config.sweep_value`.
pub fn sweep_of(w: &WorkloadResult) -> Option<(String, f64)> {
    let param = w.config.get("sweep")?.as_str()?.trim();
    let value = w.config.get("sweep_value")?.as_f64()?;
    (!param.is_empty() && value.is_finite()).then(|| (param.to_string(), value))
}

/// True when the workload has at least one measured repetition summarised.
fn has_figures(w: &WorkloadResult) -> bool {
    !matches!(w.status, Status::Skipped { .. })
        && w.summary
            .as_ref()
            .is_some_and(|s| s.throughput_bytes_per_s.n > 0)
}

/// The label of a workload in charts: its table label, plus its status when it did not
/// complete.
fn chart_label(w: &WorkloadResult) -> String {
    let label = table::workload_label(w);
    match w.status {
        Status::Completed | Status::Skipped { .. } => label,
        Status::Failed { .. } => format!("{label} (failed)"),
        Status::Interrupted => format!("{label} (interrupted)"),
    }
}

/// Workloads of `kind` (or both kinds) drawn in the per-workload charts: those with figures,
/// leaving out sweep points (they have their own chart) unless there is nothing else.
fn charted(r: &ResultsFile, kind: Option<Kind>) -> Vec<&WorkloadResult> {
    let all: Vec<&WorkloadResult> = r
        .workloads
        .iter()
        .filter(|w| !matches!(kind, Some(k) if k != w.kind) && has_figures(w))
        .collect();
    let plain: Vec<&WorkloadResult> = all
        .iter()
        .copied()
        .filter(|w| sweep_of(w).is_none())
        .collect();
    let mut chosen = if plain.is_empty() { all } else { plain };
    // Writes first, then reads, each in file order.
    chosen.sort_by_key(|w| match w.kind {
        Kind::Write => 0,
        Kind::Read => 1,
    });
    chosen
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Write => "write",
        Kind::Read => "read",
    }
}

/// Bar colour by kind and medium: writes blue, reads orange, page-cache figures in a pale
/// shade of the same hue, pure memory grey.
fn bar_color(kind: Kind, medium: Medium) -> &'static str {
    match (kind, medium) {
        (_, Medium::Memory) => "#bab0ac",
        (Kind::Write, Medium::PageCache) => "#a0cbe8",
        (Kind::Write, _) => PALETTE[0],
        (Kind::Read, Medium::PageCache) => "#ffbe7d",
        (Kind::Read, _) => PALETTE[1],
    }
}

/// Legend entries for the (kind, medium) pairs of `ws`, in first-seen order.
fn kind_legend(ws: &[&WorkloadResult]) -> Vec<LegendItem> {
    let mut seen: Vec<(Kind, Medium)> = Vec::new();
    for w in ws {
        if !seen.contains(&(w.kind, w.medium)) {
            seen.push((w.kind, w.medium));
        }
    }
    seen.into_iter()
        .map(|(k, m)| LegendItem {
            label: format!("{} · {}", kind_name(k), format::medium_label(m)),
            mark: LegendMark::Swatch(bar_color(k, m).to_string()),
        })
        .collect()
}

/// Workloads not drawn because they have no figures, as a sentence, or empty.
fn not_shown(r: &ResultsFile, kind: Option<Kind>) -> String {
    let missing: Vec<String> = r
        .workloads
        .iter()
        .filter(|w| !matches!(kind, Some(k) if k != w.kind) && !has_figures(w))
        .map(|w| match &w.status {
            Status::Skipped { reason } => format!("{} (skipped: {reason})", w.name),
            Status::Failed { error } => format!("{} (failed: {error})", w.name),
            Status::Interrupted => format!("{} (interrupted)", w.name),
            Status::Completed => format!("{} (no figures)", w.name),
        })
        .collect();
    if missing.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"foot\">Not shown: {}.</p>\n",
            escape(&missing.join("; "))
        )
    }
}

const MB_AXIS: &str = "throughput (MB/s; 1 MB = 10⁶ bytes)";

/// Throughput per workload: median bars, min–max whiskers, the per-node baseline line.
pub fn throughput(r: &ResultsFile) -> Option<Section> {
    let ws = charted(r, None);
    if ws.is_empty() {
        return None;
    }
    let per_node = r.baseline.per_node_bytes_per_s;
    let mut top = per_node / format::MB;
    let mut bars = Vec::new();
    let mut last_kind = None;
    for w in &ws {
        let Some(s) = &w.summary else { continue };
        let t = &s.throughput_bytes_per_s;
        top = top.max(t.max / format::MB).max(t.median / format::MB);
        let times = if per_node > 0.0 {
            format!(", {} baseline", format::ratio(t.median / per_node))
        } else {
            String::new()
        };
        bars.push(Bar {
            label: chart_label(w),
            value: t.median / format::MB,
            low: Some(t.min / format::MB),
            high: Some(t.max / format::MB),
            color: bar_color(w.kind, w.medium).to_string(),
            annotation: Some(format::mb_per_s_value(t.median)),
            tooltip: format!(
                "{}: median {} (min {}, max {}) over {} repetition{}{times}; {}",
                chart_label(w),
                format::mb_per_s(t.median),
                format::mb_per_s(t.min),
                format::mb_per_s(t.max),
                t.n,
                if t.n == 1 { "" } else { "s" },
                format::medium_label(w.medium)
            ),
            gap_before: last_kind.is_some_and(|k| k != w.kind),
        });
        last_kind = Some(w.kind);
    }
    let (domain, ticks) = linear_ticks(0.0, top * 1.08, 6, number_label);
    let mut legend = kind_legend(&ws);
    legend.push(LegendItem {
        label: "min–max over repetitions".into(),
        mark: LegendMark::Whisker,
    });
    let baseline_stroke = Stroke::dashed(PALETTE[2], 2.0, "8 4");
    let reference = (per_node > 0.0).then(|| ReferenceLine {
        value: per_node / format::MB,
        label: format!("baseline\n{}\nper node", format::mb_per_s(per_node)),
        stroke: baseline_stroke.clone(),
    });
    if reference.is_some() {
        legend.push(LegendItem {
            label: format!(
                "baseline: {} per node ({})",
                format::mb_per_s(per_node),
                r.baseline.source
            ),
            mark: LegendMark::Line(baseline_stroke),
        });
    }
    let chart = BarChart {
        title: "Throughput per workload".into(),
        subtitle: Some(
            "bars: median over repetitions · whiskers: min–max · dashed line: baseline per node"
                .into(),
        ),
        x_label: "workload".into(),
        y: Axis {
            label: MB_AXIS.into(),
            domain,
            ticks,
        },
        bars,
        reference,
        legend,
    };
    let mut html = figure(
        &chart.render(),
        "Pale bars may be page-cache numbers (the data need not have reached the device). \
         Hover a bar for its figures.",
    );
    html.push_str(&not_shown(r, None));
    Some(Section {
        id: "throughput".into(),
        title: "Throughput".into(),
        html,
    })
}

/// Samples per decade of the nines axis.
const NINES_SAMPLES_PER_DECADE: usize = 24;

/// The percentile curve of `h` on the nines axis up to `decades`: (position, latency ns),
/// dropping interior points of flat runs.
fn percentile_curve(h: &Histogram<u64>, decades: usize) -> Vec<(f64, f64)> {
    let n = decades * NINES_SAMPLES_PER_DECADE;
    let raw: Vec<(f64, f64)> = (0..=n)
        .map(|i| {
            let x = i as f64 / NINES_SAMPLES_PER_DECADE as f64;
            let q = 1.0 - 10f64.powf(-x);
            let v = if i == 0 {
                h.min()
            } else {
                h.value_at_quantile(q)
            };
            debug_assert!((nines(q) - x).abs() < 1e-6 || x >= 6.0);
            (x, v.max(1) as f64)
        })
        .collect();
    let mut out = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let same_prev = i > 0 && raw[i - 1].1 == p.1;
        let same_next = i + 1 < raw.len() && raw[i + 1].1 == p.1;
        if !(same_prev && same_next) {
            out.push(*p);
        }
    }
    out
}

/// Latency percentile curves of the workloads of `kind`, or `None` without histograms.
fn latency_chart(r: &ResultsFile, kind: Kind, problems: &mut Vec<String>) -> Option<String> {
    let mut curves: Vec<(&WorkloadResult, Histogram<u64>)> = Vec::new();
    for w in charted(r, Some(kind)) {
        let Some(s) = &w.summary else { continue };
        if s.latency_ns.count == 0 || s.latency_ns.hdr.is_empty() {
            continue;
        }
        match hist::decode(&s.latency_ns.hdr) {
            Ok(h) if !h.is_empty() => curves.push((w, h)),
            Ok(_) => {}
            Err(e) => problems.push(format!("{}: {e}", w.name)),
        }
    }
    if curves.is_empty() {
        return None;
    }
    let decades = curves
        .iter()
        .map(|(_, h)| nines_decades(h.len()))
        .max()
        .unwrap_or(2);
    let lo = curves
        .iter()
        .map(|(_, h)| h.min().max(1) as f64)
        .fold(f64::INFINITY, f64::min);
    let hi = curves
        .iter()
        .map(|(_, h)| h.max().max(1) as f64)
        .fold(0.0, f64::max);
    let (y_domain, y_ticks) = log_ticks(lo, hi, latency_label);
    let (x_domain, x_ticks) = nines_ticks(decades);
    let series: Vec<Series> = curves
        .iter()
        .enumerate()
        .map(|(i, (w, h))| {
            let points = percentile_curve(h, decades)
                .into_iter()
                .map(|(x, y)| Point {
                    x,
                    y,
                    ..Default::default()
                })
                .collect();
            Series {
                label: format!(
                    "{}  (p50 {}, p99 {}, max {})",
                    chart_label(w),
                    format::latency(h.value_at_quantile(0.5)),
                    format::latency(h.value_at_quantile(0.99)),
                    format::latency(h.max())
                ),
                stroke: series_stroke(i, 2.0),
                points,
                markers: false,
            }
        })
        .collect();
    let unit = match kind {
        Kind::Write => "per batch, submit to acknowledgement",
        Kind::Read => "per fetch",
    };
    let chart = LineChart {
        title: format!("{} latency by percentile", capitalised(kind_name(kind))),
        subtitle: Some(format!(
            "latency {unit}; all repetitions' histograms merged; log scales"
        )),
        x: Axis {
            label: "percentile (x = 1/(1−q), log scale)".into(),
            domain: x_domain,
            ticks: x_ticks,
        },
        y: Axis {
            label: "latency (log scale)".into(),
            domain: y_domain,
            ticks: y_ticks,
        },
        series,
    };
    Some(chart.render())
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Latency percentile curves, one chart per kind.
pub fn latency(r: &ResultsFile) -> Option<Section> {
    let mut html = String::new();
    let mut problems = Vec::new();
    for kind in [Kind::Write, Kind::Read] {
        if let Some(svg) = latency_chart(r, kind, &mut problems) {
            html.push_str(&figure(
                &svg,
                "Read the curve left to right: the median is at the left, the tail at the right \
                 (as HdrHistogram plots percentile distributions). Lower is better.",
            ));
        }
    }
    if !problems.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"foot\">Histograms that could not be read: {}.</p>",
            escape(&problems.join("; "))
        );
    }
    if html.is_empty() {
        return None;
    }
    Some(Section {
        id: "latency".into(),
        title: "Latency".into(),
        html,
    })
}

/// The repetition with the median throughput (the lower one of the middle two).
fn median_repetition(w: &WorkloadResult) -> Option<&crate::schema::Repetition> {
    let mut reps: Vec<&crate::schema::Repetition> = w.repetitions.iter().collect();
    if reps.is_empty() {
        return None;
    }
    reps.sort_by(|a, b| {
        a.throughput_bytes_per_s
            .total_cmp(&b.throughput_bytes_per_s)
    });
    Some(reps[(reps.len() - 1) / 2])
}

/// Throughput over time of one repetition: (interval midpoint s, MB/s). The last interval is
/// cut at `elapsed_s`, and dropped when shorter than a fifth of an interval (too noisy).
fn timeline_points(rep: &crate::schema::Repetition) -> Vec<(f64, f64)> {
    let dt = rep.timeline.interval_s;
    if !(dt.is_finite() && dt > 0.0) {
        return Vec::new();
    }
    let n = rep.timeline.bytes.len();
    rep.timeline
        .bytes
        .iter()
        .enumerate()
        .filter_map(|(i, &b)| {
            let start = i as f64 * dt;
            let mut end = start + dt;
            if i + 1 == n && rep.elapsed_s > start && rep.elapsed_s < end {
                end = rep.elapsed_s;
            }
            let len = end - start;
            (len >= dt * 0.2).then(|| ((start + end) / 2.0, b as f64 / len / format::MB))
        })
        .collect()
}

/// Throughput-over-time chart of the workloads of `kind`.
fn timeline_chart(r: &ResultsFile, kind: Kind) -> Option<String> {
    let mut series = Vec::new();
    let (mut t_max, mut y_max) = (0.0f64, 0.0f64);
    let mut interval = None;
    for w in charted(r, Some(kind)) {
        let Some(rep) = median_repetition(w) else {
            continue;
        };
        let pts = timeline_points(rep);
        if pts.is_empty() {
            continue;
        }
        interval.get_or_insert(rep.timeline.interval_s);
        let dt = rep.timeline.interval_s;
        t_max = t_max
            .max(rep.timeline.bytes.len() as f64 * dt)
            .max(rep.elapsed_s.min(rep.timeline.bytes.len() as f64 * dt));
        y_max = pts.iter().fold(y_max, |m, p| m.max(p.1));
        let i = series.len();
        series.push(Series {
            label: format!("{} (repetition {})", chart_label(w), rep.index + 1),
            stroke: series_stroke(i, 1.8),
            points: pts
                .into_iter()
                .map(|(x, y)| Point {
                    x,
                    y,
                    ..Default::default()
                })
                .collect(),
            markers: false,
        });
    }
    if series.is_empty() {
        return None;
    }
    let (x_domain, x_ticks) = linear_ticks(0.0, t_max, 8, number_label);
    let (y_domain, y_ticks) = linear_ticks(0.0, y_max * 1.05, 6, number_label);
    let interval = interval.unwrap_or(0.1);
    let chart = LineChart {
        title: format!("{} throughput over time", capitalised(kind_name(kind))),
        subtitle: Some(format!(
            "median repetition of each workload, bytes per {} interval",
            format::latency(interval * 1e9)
        )),
        x: Axis {
            label: "time since the start of the measured interval (s)".into(),
            domain: x_domain,
            ticks: x_ticks,
        },
        y: Axis {
            label: MB_AXIS.into(),
            domain: y_domain,
            ticks: y_ticks,
        },
        series,
    };
    Some(chart.render())
}

/// Throughput over time, one chart per kind.
pub fn timeline(r: &ResultsFile) -> Option<Section> {
    let mut html = String::new();
    for kind in [Kind::Write, Kind::Read] {
        if let Some(svg) = timeline_chart(r, kind) {
            let caption = match kind {
                Kind::Write => {
                    "Bursts well above the device's speed are the page cache absorbing writes; \
                     dips that follow are writeback stalls (the dirty limit was reached)."
                }
                Kind::Read => {
                    "Hot reads come from the page cache; cold reads run at the device's speed, \
                     and dips are cache misses or a slow consumer."
                }
            };
            html.push_str(&figure(&svg, caption));
        }
    }
    if html.is_empty() {
        return None;
    }
    Some(Section {
        id: "timeline".into(),
        title: "Throughput over time".into(),
        html,
    })
}

/// The engine spec without the swept option: `uring:direct,qd=4` swept over `qd` is
/// `uring:direct`.
fn engine_without(engine: &str, param: &str) -> String {
    let Some((name, opts)) = engine.split_once(':') else {
        return engine.to_string();
    };
    let kept: Vec<&str> = opts
        .split(',')
        .filter(|o| {
            let key = o.split('=').next().unwrap_or("").trim();
            !key.eq_ignore_ascii_case(param) && !o.trim().is_empty()
        })
        .collect();
    if kept.is_empty() {
        name.to_string()
    } else {
        format!("{name}:{}", kept.join(","))
    }
}

/// Scaling curves: one chart per swept parameter, one curve per (kind, workload group, engine).
pub fn scaling(r: &ResultsFile) -> Option<Section> {
    // param -> curve label -> points
    let mut sweeps: BTreeMap<String, Vec<(String, Vec<Point>)>> = BTreeMap::new();
    for w in r.workloads.iter().filter(|w| has_figures(w)) {
        let Some((param, value)) = sweep_of(w) else {
            continue;
        };
        let Some(s) = &w.summary else { continue };
        let t = &s.throughput_bytes_per_s;
        let engine = engine_without(&w.engine, &param);
        let group = w.name.split_once('/').map(|(g, _)| g).unwrap_or("");
        let label = if group.is_empty() {
            format!("{} {engine}", kind_name(w.kind))
        } else {
            format!("{group}: {engine}")
        };
        let point = Point {
            x: value,
            y: t.median / format::MB,
            low: Some(t.min / format::MB),
            high: Some(t.max / format::MB),
            tooltip: Some(format!(
                "{} = {}: {} (min {}, max {}), {}",
                param,
                format::sig(value),
                format::mb_per_s(t.median),
                format::mb_per_s(t.min),
                format::mb_per_s(t.max),
                w.name
            )),
        };
        let curves = sweeps.entry(param).or_default();
        match curves.iter_mut().find(|(l, _)| *l == label) {
            Some((_, pts)) => pts.push(point),
            None => curves.push((label, vec![point])),
        }
    }
    if sweeps.is_empty() {
        return None;
    }
    let mut html = String::new();
    for (param, curves) in sweeps {
        let values: Vec<f64> = curves
            .iter()
            .flat_map(|(_, p)| p.iter().map(|p| p.x))
            .collect();
        let (x_domain, x_ticks, x_label) = if all_powers_of_two(&values) {
            let (d, t) = log2_ticks(&values);
            (d, t, format!("{param} (log2 scale)"))
        } else {
            let lo = values
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
                .min(0.0);
            let hi = values.iter().copied().fold(0.0, f64::max);
            let (d, t) = linear_ticks(lo, hi, 8, number_label);
            (d, t, param.clone())
        };
        let y_max = curves
            .iter()
            .flat_map(|(_, p)| p.iter().map(|p| p.high.unwrap_or(p.y).max(p.y)))
            .fold(0.0, f64::max);
        let (y_domain, y_ticks) = linear_ticks(0.0, y_max * 1.08, 6, number_label);
        let series = curves
            .into_iter()
            .enumerate()
            .map(|(i, (label, mut points))| {
                points.sort_by(|a, b| a.x.total_cmp(&b.x));
                Series {
                    label,
                    stroke: series_stroke(i, 2.2),
                    points,
                    markers: true,
                }
            })
            .collect();
        let chart = LineChart {
            title: format!("Scaling with {param}"),
            subtitle: Some("median throughput over repetitions; whiskers: min–max".into()),
            x: Axis {
                label: x_label,
                domain: x_domain,
                ticks: x_ticks,
            },
            y: Axis {
                label: MB_AXIS.into(),
                domain: y_domain,
                ticks: y_ticks,
            },
            series,
        };
        html.push_str(&figure(
            &chart.render(),
            &format!(
                "Each point is one run of the workload at another value of {param}; where the \
                 curve flattens, something else (device, CPU, network) is the limit."
            ),
        ));
    }
    Some(Section {
        id: "scaling".into(),
        title: "Scaling".into(),
        html,
    })
}

/// Cluster throughput against broker count from the measured per-node limits
/// ([`crate::capacity`]): replication factors 1 and 3 with one consumer group, flat out (100%
/// of each measured limit, no spare, no retention), the baseline cluster as a point, and the
/// capacity paragraph of the Markdown report. `None` without a usable disk write figure.
pub fn capacity(r: &ResultsFile) -> Option<Section> {
    use crate::capacity as cap;
    let limits = cap::limits_from_results(r)?;
    let b = &r.baseline;
    let max_nodes = cap::REPORT_MAX_NODES.max(b.nodes);
    let mut series: Vec<Series> = Vec::new();
    for rf in cap::REPORT_REPLICATION {
        let points: Vec<Point> = cap::cluster_curve(&limits, rf, 1, max_nodes)
            .into_iter()
            .map(|(n, w)| Point {
                x: f64::from(n),
                y: w / format::MB,
                low: None,
                high: None,
                tooltip: Some(format!("rf {rf}, {n} brokers: {}", format::mb_per_s(w))),
            })
            .collect();
        if !points.is_empty() {
            series.push(Series {
                label: format!("this hardware, rf {rf}, 1 consumer group"),
                stroke: series_stroke(series.len(), 2.2),
                points,
                markers: false,
            });
        }
    }
    if series.is_empty() {
        return None;
    }
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.y))
        .fold(0.0, f64::max);
    let baseline_mb = b.cluster_bytes_per_s / format::MB;
    if baseline_mb > 0.0 && b.nodes > 0 {
        series.push(Series {
            label: format!(
                "baseline: {} on {} nodes",
                format::mb_per_s(b.cluster_bytes_per_s),
                b.nodes
            ),
            stroke: series_stroke(series.len(), 2.2),
            points: vec![Point {
                x: f64::from(b.nodes),
                y: baseline_mb,
                low: None,
                high: None,
                tooltip: Some(format!(
                    "baseline: {} ({})",
                    format::mb_per_s(b.cluster_bytes_per_s),
                    b.source
                )),
            }],
            markers: true,
        });
    }
    // A baseline far below this hardware would sit on the x axis of a linear chart.
    let bottom = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.y))
        .filter(|y| *y > 0.0)
        .fold(f64::INFINITY, f64::min);
    let (y_domain, y_ticks, y_label) = if bottom.is_finite() && top / bottom > 50.0 {
        let (d, t) = log_ticks(bottom, top, crate::plot::scale::short_number);
        (d, t, format!("{MB_AXIS}, log scale"))
    } else {
        let (d, t) = linear_ticks(0.0, top.max(baseline_mb) * 1.08, 6, number_label);
        (d, t, MB_AXIS.to_string())
    };
    let (x_domain, x_ticks) = linear_ticks(0.0, f64::from(max_nodes), 10, number_label);
    let chart = LineChart {
        title: "Cluster throughput against broker count".into(),
        subtitle: Some(
            "largest ingest the brokers carry at 100% of the measured per-node limits; \
             no spare, no retention"
                .into(),
        ),
        x: Axis {
            label: "brokers".into(),
            domain: x_domain,
            ticks: x_ticks,
        },
        y: Axis {
            label: y_label,
            domain: y_domain,
            ticks: y_ticks,
        },
        series,
    };
    let mut html = figure(
        &chart.render(),
        "Each broker writes r copies of what is produced and sends r−1+c (REFERENCE: capacity \
         planning); the lowest per-node limit binds. Size a cluster with segbench plan.",
    );
    html.push_str("<ul>\n");
    for line in cap::report_summary(r) {
        let _ = writeln!(html, "<li>{}</li>", escape(&line));
    }
    html.push_str("</ul>\n");
    Some(Section {
        id: "cluster-capacity".into(),
        title: "Capacity".into(),
        html,
    })
}

/// CPU seconds per GB moved, per workload.
pub fn cpu(r: &ResultsFile) -> Option<Section> {
    let ws: Vec<&WorkloadResult> = charted(r, None)
        .into_iter()
        .filter(|w| {
            w.summary
                .as_ref()
                .and_then(|s| s.cpu_s_per_gb)
                .is_some_and(|c| c.n > 0)
        })
        .collect();
    if ws.is_empty() {
        return None;
    }
    let mut bars = Vec::new();
    let mut top: f64 = 0.0;
    let mut last_kind = None;
    for w in &ws {
        let Some(c) = w.summary.as_ref().and_then(|s| s.cpu_s_per_gb) else {
            continue;
        };
        top = top.max(c.max).max(c.median);
        bars.push(Bar {
            label: chart_label(w),
            value: c.median,
            low: Some(c.min),
            high: Some(c.max),
            color: bar_color(w.kind, w.medium).to_string(),
            annotation: Some(format::cpu_s_per_gb(c.median)),
            tooltip: format!(
                "{}: median {} CPU s/GB (min {}, max {})",
                chart_label(w),
                format::cpu_s_per_gb(c.median),
                format::cpu_s_per_gb(c.min),
                format::cpu_s_per_gb(c.max)
            ),
            gap_before: last_kind.is_some_and(|k| k != w.kind),
        });
        last_kind = Some(w.kind);
    }
    let (domain, ticks) = linear_ticks(0.0, top * 1.1, 6, number_label);
    let mut legend = kind_legend(&ws);
    legend.push(LegendItem {
        label: "min–max over repetitions".into(),
        mark: LegendMark::Whisker,
    });
    let chart = BarChart {
        title: "CPU cost per workload".into(),
        subtitle: Some(
            "user + system CPU seconds of the whole process per GB moved · lower is better".into(),
        ),
        x_label: "workload".into(),
        y: Axis {
            label: "CPU seconds per GB (1 GB = 10⁹ bytes)".into(),
            domain,
            ticks,
        },
        bars,
        reference: None,
        legend,
    };
    let html = figure(
        &chart.render(),
        "Read workloads include the in-process sink's CPU when the peer is the loopback sink.",
    );
    Some(Section {
        id: "cpu".into(),
        title: "CPU cost".into(),
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixture;
    use crate::plot::check_well_formed;
    use crate::schema::Kind;
    use crate::stats;

    /// The exporters' fixture plus a partitions sweep and a queue-depth sweep.
    fn with_sweeps() -> ResultsFile {
        let mut r = fixture::results();
        let template = r.workloads[0].clone();
        for (i, p) in [1u32, 2, 4, 8].into_iter().enumerate() {
            let mut w = template.clone();
            w.name = format!("scale-partitions/buffered/partitions={p}");
            w.config
                .insert("sweep".into(), serde_json::json!("partitions"));
            w.config.insert("sweep_value".into(), serde_json::json!(p));
            for rep in &mut w.repetitions {
                rep.throughput_bytes_per_s *= 1.0 + i as f64 * 0.3;
            }
            w.summary = stats::summarize(&w.repetitions);
            r.workloads.push(w);
        }
        let template = r.workloads[1].clone();
        for qd in [1u32, 4, 16] {
            let mut w = template.clone();
            w.engine = format!("uring:direct,qd={qd}");
            w.name = format!("scale-qd/uring:direct,qd={qd}");
            w.config.insert("sweep".into(), serde_json::json!("qd"));
            w.config.insert("sweep_value".into(), serde_json::json!(qd));
            r.workloads.push(w);
        }
        r
    }

    /// The HTML of the section with `id`.
    fn section<'a>(html: &'a str, id: &str) -> &'a str {
        let start = html
            .find(&format!("<section id=\"{id}\">"))
            .unwrap_or_else(|| panic!("no section {id}"));
        let end = html[start..].find("</section>").unwrap() + start;
        &html[start..end]
    }

    #[test]
    fn report_is_well_formed_with_one_chart_per_chart_section() {
        let r = with_sweeps();
        let html = render(&r);
        check_well_formed(&html).unwrap_or_else(|e| {
            let from = e.offset.saturating_sub(200);
            panic!("{e}\n…{}…", &html[from..(e.offset + 200).min(html.len())])
        });
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script"), "no scripts");
        // Nothing is fetched: the only URL is the SVG namespace name.
        let urls = html.replace("http://www.w3.org/2000/svg", "");
        assert!(!urls.contains("http://") && !urls.contains("https://"));
        assert!(!html.contains(" src=") && !html.contains("<link"));
        // One chart per section, one per kind where the data is split by kind.
        let svgs = |id: &str| section(&html, id).matches("<svg").count();
        assert_eq!(svgs("throughput"), 1);
        assert_eq!(svgs("latency"), 2, "write and read");
        assert_eq!(svgs("timeline"), 2, "write and read");
        assert_eq!(svgs("scaling"), 2, "partitions and qd");
        assert_eq!(svgs("cpu"), 1);
        assert_eq!(
            svgs("machine") + svgs("warnings") + svgs("write") + svgs("read"),
            0
        );
        assert_eq!(
            svgs("cluster-capacity"),
            1,
            "rf 1 and rf 3 with the baseline"
        );
        assert_eq!(html.matches("<svg").count(), 9);
        assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
        // Sections appear in order, each in the table of contents.
        let order: Vec<usize> = [
            "machine",
            "warnings",
            "write",
            "read",
            "throughput",
            "latency",
            "timeline",
            "scaling",
            "cpu",
        ]
        .iter()
        .map(|id| {
            assert!(html.contains(&format!("<a href=\"#{id}\">")), "toc {id}");
            html.find(&format!("<section id=\"{id}\">")).unwrap()
        })
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    }

    #[test]
    fn report_names_every_engine_the_baseline_the_skip_reason_and_the_warnings() {
        let r = with_sweeps();
        let html = render(&r);
        for w in &r.workloads {
            assert!(html.contains(&escape(&w.name)), "{} missing", w.name);
        }
        assert!(html.contains(&escape(fixture::SKIP_REASON)));
        let tp = section(&html, "throughput");
        // The line's label in the margin, the whole baseline in the legend.
        for line in [">baseline</text>", ">2.00 MB/s</text>", ">per node</text>"] {
            assert!(tp.contains(line), "{line} in {tp}");
        }
        assert!(tp.contains(
            ">baseline: 2.00 MB/s per node (classic: ~20 MB/s for a 10-node cluster)</text>"
        ));
        assert!(
            tp.contains("Not shown: write/uring:sqpoll (skipped: io_uring is disabled"),
            "{tp}"
        );
        assert!(tp.contains(MB_AXIS));
        let warn = section(&html, "warnings");
        assert!(warn.contains("the disk claims rotational=1"));
        assert!(warn.contains("<span class=\"who\">write/buffered</span>: wrote 0.5 GB"));
        // Tables with the verdict lines of their kind.
        let write = section(&html, "write");
        assert!(
            write.contains("<td class=\"name\">write/uring:direct,qd=8</td>"),
            "{write}"
        );
        // The skipped engine's reason spans the figure columns.
        assert!(
            write.contains(&format!(
                "<tr class=\"skipped\"><td class=\"name\">write/uring:sqpoll</td><td class=\"note\" colspan=\"9\">skipped: {}</td></tr>",
                fixture::SKIP_REASON
            )),
            "{write}"
        );
        assert!(
            write.contains("<td class=\"num\">1000 (950–1010)</td>"),
            "{write}"
        );
        // (The verdict picks the fastest engine, sweep points included: here a qd sweep point.)
        assert!(write.contains("write: uring:direct,qd="), "{write}");
        assert!(
            write.contains("2.00× buffered (device vs page cache)"),
            "{write}"
        );
        assert!(!write.contains("read/sendfile"));
        let read = section(&html, "read");
        assert!(
            read.contains("read: sendfile 1.60× readwrite at 0.550× CPU/GB"),
            "{read}"
        );
        assert!(read.contains("800×"), "× baseline column");
        // Header.
        assert!(html.contains("v0.1.0-3-gabc1234"));
        assert!(html.contains("20261124T101500Z-3f9a"));
        assert!(html.contains("<code>segbench run</code>"));
    }

    #[test]
    fn a_failure_after_some_repetitions_keeps_its_figures_and_shows_the_error_below() {
        let mut r = fixture::results();
        r.workloads[3].status = Status::Failed {
            error: "EIO on the socket".into(),
        };
        let html = render(&r);
        let read = section(&html, "read");
        assert!(
            read.contains(
                "<tr class=\"failed\"><td class=\"name\">read/sendfile</td><td class=\"num\">1600"
            ),
            "{read}"
        );
        assert!(read.contains("<tr class=\"failed\"><td></td><td class=\"note\" colspan=\"9\">failed after 3 repetitions: EIO on the socket</td></tr>"), "{read}");
        // Charted, labelled as failed.
        assert!(section(&html, "throughput").contains(">read/sendfile (failed)</text>"));
        check_well_formed(&html).unwrap();
    }

    #[test]
    fn latency_chart_has_the_nines_axis_and_adaptive_units() {
        let html = render(&fixture::results());
        let lat = section(&html, "latency");
        for label in ["0%", "90%", "99%", "99.9%"] {
            assert!(lat.contains(&format!(">{label}</text>")), "{label} missing");
        }
        // 3000 values per workload resolve four decades of nines.
        assert!(lat.contains(">99.99%</text>"));
        assert!(lat.contains("µs</text>"), "write latencies in µs");
        assert!(lat.contains(" ms</text>"), "read latencies in ms");
        assert!(lat.contains("Write latency by percentile"));
        assert!(lat.contains("Read latency by percentile"));
        assert!(lat.contains(">percentile (x = 1/(1−q), log scale)</text>"));
    }

    #[test]
    fn percentile_curve_is_monotonic_and_ends_at_the_tail() {
        let mut h = hist::new_hist();
        for v in 1..=10_000u64 {
            hist::record(&mut h, v * 100);
        }
        let c = percentile_curve(&h, 4);
        assert_eq!(c[0], (0.0, h.min() as f64));
        assert!(
            c.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{c:?}"
        );
        let last = c.last().unwrap();
        assert_eq!(last.0, 4.0);
        assert_eq!(last.1, h.value_at_quantile(0.9999) as f64);
        // The 90% point sits at x = 1.
        let p90 = c.iter().find(|p| (p.0 - 1.0).abs() < 1e-9).unwrap();
        assert!((p90.1 - 900_000.0).abs() / 9e5 < 0.002, "{p90:?}");
    }

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let mut r = with_sweeps();
        let evil = "<script>alert('x')</script>&\"";
        r.workloads[0].name = format!("write/{evil}");
        r.workloads[0].engine = evil.to_string();
        r.workloads[2].status = Status::Skipped {
            reason: format!("because {evil}"),
        };
        r.run.host = evil.to_string();
        r.run.command_line.push(evil.to_string());
        r.warnings.push(evil.to_string());
        r.baseline.source = evil.to_string();
        r.probe = Some(Probe {
            host: crate::probe::Host {
                hostname: Some(evil.into()),
                ..Default::default()
            },
            cpu: crate::probe::Cpu {
                model: Some(evil.into()),
                ..Default::default()
            },
            nics: vec![crate::probe::Nic {
                name: evil.into(),
                addresses: vec![evil.into()],
                ..Default::default()
            }],
            notes: vec![evil.into()],
            ..Default::default()
        });
        let html = render(&r);
        check_well_formed(&html).unwrap();
        assert!(!html.contains("<script"), "unescaped script tag");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"));
    }

    #[test]
    fn probe_summary_reads_what_is_there_and_dashes_the_rest() {
        use crate::probe::{Cpu, Host, IoUringInfo, Memory, Nic, Storage};
        let mut r = fixture::results();
        r.probe = Some(Probe {
            host: Host {
                hostname: Some("bench-01".into()),
                kernel_release: Some("6.1.0-18-amd64".into()),
                arch: Some("x86_64".into()),
                ..Default::default()
            },
            cpu: Cpu {
                model: Some("AMD EPYC 7B13".into()),
                cores: Some(2),
                threads: Some(2),
                max_frequency_hz: Some(3_000_000_000),
                ..Default::default()
            },
            memory: Memory {
                total_bytes: Some(8_589_934_592),
                ..Default::default()
            },
            storage: Storage {
                dir: "/data".into(),
                fs_type: Some("ext4".into()),
                mount_point: Some("/".into()),
                mount_source: Some("/dev/vda1".into()),
                direct_io: Some(true),
                dio_mem_align_bytes: Some(512),
                dio_offset_align_bytes: Some(512),
                devices: vec![
                    BlockDevice {
                        name: "vda1".into(),
                        kind: "partition".into(),
                        lower: vec!["vda".into()],
                        ..Default::default()
                    },
                    BlockDevice {
                        name: "vda".into(),
                        kind: "disk".into(),
                        model: Some("virtio disk".into()),
                        rotational: Some(true),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
            nics: vec![Nic {
                name: "eth0".into(),
                state: Some("up".into()),
                speed_mbit_per_s: Some(10000),
                mtu_bytes: Some(1500),
                ..Default::default()
            }],
            io_uring: IoUringInfo {
                enabled: Some(false),
                disabled_reason: Some("kernel.io_uring_disabled=2".into()),
                ..Default::default()
            },
            fingerprint: "0123456789abcdef".into(),
            ..Default::default()
        });
        let html = render(&r);
        let m = section(&html, "machine");
        for needle in [
            "AMD EPYC 7B13",
            "6.1.0-18-amd64",
            "8.00 GiB total",
            "ext4 on / (/dev/vda1)",
            "vda1 → vda",
            "vda, virtio disk",
            "rotational yes",
            "O_DIRECT works, memory alignment 512 B, offset alignment 512 B",
            "disabled: kernel.io_uring_disabled=2",
            "<td><code>eth0</code></td><td>up</td><td class=\"num\">10000</td>",
            "3.00 GHz max",
            "0123456789abcdef",
        ] {
            assert!(m.contains(needle), "{needle} missing in\n{m}");
        }
        // Missing fields are dashes, not errors.
        assert!(m.contains("<tr><th>dirty limit</th><td>–</td></tr>"), "{m}");
        // A probe of another shape (the fixture's) still renders, with its JSON.
        let html = render(&fixture::results());
        let m = section(&html, "machine");
        assert!(m.contains("<tr><th>CPU model</th><td>–</td></tr>"), "{m}");
        assert!(m.contains("&quot;rotational&quot;: 1"), "raw JSON");
        // No probe at all.
        let mut r = fixture::results();
        r.probe = None;
        assert!(section(&render(&r), "machine").contains("No hardware probe"));
    }

    #[test]
    fn sections_without_data_are_left_out() {
        let mut r = fixture::results();
        r.workloads.retain(|w| w.kind == Kind::Write);
        let html = render(&r);
        assert!(!html.contains("<section id=\"read\">"));
        assert!(!html.contains("<section id=\"scaling\">"), "no sweep");
        assert!(!html.contains("href=\"#scaling\""));
        assert_eq!(section(&html, "latency").matches("<svg").count(), 1);
        check_well_formed(&html).unwrap();
        // Nothing measured at all: still a valid page.
        r.workloads.clear();
        let html = render(&r);
        check_well_formed(&html).unwrap();
        assert_eq!(html.matches("<svg").count(), 0);
    }

    #[test]
    fn timeline_uses_the_median_repetition_and_cuts_the_last_interval() {
        let r = fixture::results();
        let w = &r.workloads[1]; // 950, 1000, 1010 MB/s
        let rep = median_repetition(w).unwrap();
        assert_eq!(rep.throughput_bytes_per_s, 1000e6);
        let pts = timeline_points(rep);
        // elapsed 0.4333 s over 0.1 s intervals: 4 intervals in the fixture, all full.
        assert_eq!(pts.len(), 4);
        assert!((pts[0].0 - 0.05).abs() < 1e-12);
        let mut short = rep.clone();
        short.elapsed_s = 0.35;
        let pts = timeline_points(&short);
        assert!((pts[3].0 - 0.325).abs() < 1e-12, "{pts:?}");
        let last_mb = short.timeline.bytes[3] as f64 / 0.05 / 1e6;
        assert!((pts[3].1 - last_mb).abs() < 1e-6);
        short.elapsed_s = 0.305; // 5 ms of a 100 ms interval: dropped
        assert_eq!(timeline_points(&short).len(), 3);
    }

    #[test]
    fn sweeps_group_by_engine_without_the_swept_option() {
        assert_eq!(engine_without("uring:direct,qd=4", "qd"), "uring:direct");
        assert_eq!(engine_without("uring:qd=4", "qd"), "uring");
        assert_eq!(engine_without("buffered", "partitions"), "buffered");
        let html = render(&with_sweeps());
        let s = section(&html, "scaling");
        assert!(s.contains("Scaling with partitions"));
        assert!(s.contains("partitions (log2 scale)"));
        assert!(
            s.contains(">scale-qd: uring:direct</text>"),
            "one curve for every qd: {s}"
        );
        assert_eq!(s.matches("<circle").count(), 4 + 3);
        for tick in [
            ">1</text>",
            ">2</text>",
            ">4</text>",
            ">8</text>",
            ">16</text>",
        ] {
            assert!(s.contains(tick), "{tick}");
        }
        // Sweep points stay out of the per-workload bar charts but are in the table.
        let tp = section(&html, "throughput");
        assert!(!tp.contains("scale-partitions"));
        assert!(section(&html, "write").contains("scale-partitions/buffered/partitions=4"));
    }

    #[test]
    fn exporter_sections_can_be_extended() {
        fn capacity(r: &ResultsFile) -> Option<Section> {
            Some(Section {
                id: "capacity".into(),
                title: "Capacity".into(),
                html: format!("<p>{} workloads</p>", r.workloads.len()),
            })
        }
        let e = HtmlExporter::new().with_section(capacity);
        assert_eq!(e.sections().len(), SECTIONS.len() + 1);
        let html = String::from_utf8(e.export(&fixture::results()).unwrap()).unwrap();
        assert!(html.contains("<a href=\"#capacity\">Capacity</a>"));
        assert!(section(&html, "capacity").contains("<p>5 workloads</p>"));
        check_well_formed(&html).unwrap();
    }
}
