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
//! | `cluster` | fleet runs only: hosts (clock offsets, fingerprints), cluster warnings, phases, aggregate against the baseline and linear scaling, network heat map |
//! | `throughput` | bars at the median with min–max whiskers and the per-node baseline line |
//! | `latency` | percentile curves on HdrHistogram's "nines" axis, from the merged histograms |
//! | `interference` | mixed workloads: each part's latency curve with the other parts running and alone, and the verdicts |
//! | `timeline` | throughput over time of each workload's median repetition |
//! | `scaling` | throughput against a swept parameter (workload `config.sweep` / `config.sweep_value`) with its USL fit, extrapolated dashed to 2× the largest value |
//! | `replication` | replication rows only: per acks mode throughput (acks=all / acks=1 beside Kreps's 0.54), produce and end-to-end latency curves, follower lag over time, CPU per role, ISR events |
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
//! 2. build the chart with [`crate::plot::LineChart`] (x: brokers, y: MB/s; a [`crate::plot::Series`] per
//!    replication factor) and put `chart.render()` inside [`figure`];
//! 3. list the function in [`SECTIONS`] where it should appear (e.g. after `scaling`), or, for a
//!    section that needs more than the results file, add it at run time with
//!    [`HtmlExporter::with_section`].
//!
//! The section's `id` becomes its anchor and table-of-contents entry; its `html` is inserted as
//! is, so escape every piece of text with [`escape`].
//!
//! Files: this module holds the exporter and the list of sections; `page` the document, its
//! header and the table sections; `machine` the hardware probe section; `charts` the bar
//! charts (throughput, CPU); `curves` the line charts (latency, timeline, capacity); `sweeps`
//! the scaling charts with their USL fits ([`crate::fit`]);
//! `cluster` the fleet section (tables from [`crate::export::cluster`], scaling chart, network
//! heat map); `replication` the replication section.

use super::{ExportError, Exporter};
pub use crate::plot::svg::escape;
use crate::schema::ResultsFile;

mod charts;
mod cluster;
mod curves;
mod interference;
mod machine;
mod page;
mod replication;
mod sweeps;

use page::document;

pub use charts::*;
pub use cluster::*;
pub use curves::*;
pub use interference::*;
pub use machine::*;
pub use page::*;
pub use replication::*;
pub use sweeps::*;

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
    cluster,
    throughput,
    latency,
    interference,
    timeline,
    scaling,
    capacity,
    replication,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Kind, Status};
    use crate::testing::check_well_formed;

    use crate::export::html::MB_AXIS;
    use crate::testing::{html_section as section, with_sweeps};

    #[test]
    fn report_is_well_formed_with_one_chart_per_chart_section() {
        let r = with_sweeps();
        let html = render(&r);
        check_well_formed(&html).unwrap_or_else(|e| panic!("{e}"));
        assert!(html.starts_with(&format!("<!DOCTYPE html>\n{}\n", crate::export::HTML_MARK)));
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
        assert!(html.contains(&escape(crate::testing::SKIP_REASON)));
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
                crate::testing::SKIP_REASON
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
        let mut r = crate::testing::results();
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
        r.probe = Some(crate::probe::Probe {
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
    fn sections_without_data_are_left_out() {
        let mut r = crate::testing::results();
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
        let html = String::from_utf8(e.export(&crate::testing::results()).unwrap()).unwrap();
        assert!(html.contains("<a href=\"#capacity\">Capacity</a>"));
        assert!(section(&html, "capacity").contains("<p>5 workloads</p>"));
        check_well_formed(&html).unwrap();
    }
}
