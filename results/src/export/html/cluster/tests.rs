//! The cluster section on the three-host fixture, and its absence for one host.

use crate::export::html::{render, HtmlExporter, SectionFn, SECTIONS};
use crate::testing::check_well_formed;
use crate::testing::{
    fleet_results, fleet_results_late, fleet_results_same_hardware, html_section as section,
    FLEET_HOSTS, OTHER_FINGERPRINT,
};

fn well_formed(html: &str) {
    check_well_formed(html).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_section_shows_three_hosts_with_offsets_and_fingerprints() {
    let html = render(&fleet_results());
    well_formed(&html);
    assert!(html.contains("<a href=\"#cluster\">Cluster</a>"));
    let s = section(&html, "cluster");
    for h in FLEET_HOSTS {
        assert!(s.contains(&format!("<td>{h}</td>")), "{h} in {s}");
    }
    assert!(
        s.contains("<td class=\"num\">+0.152 ms ± 0.041 ms</td>"),
        "{s}"
    );
    assert!(s.contains(&format!(
        "<td>{OTHER_FINGERPRINT} (differs from rank 0)</td>"
    )));
    // After the read paths, before the charts of the merged workloads.
    let at = |id: &str| html.find(&format!("<section id=\"{id}\">")).unwrap();
    assert!(at("write") < at("cluster") && at("cluster") < at("throughput"));
}

#[test]
fn different_hardware_is_a_warning_row_and_the_same_hardware_is_not() {
    let s = render(&fleet_results());
    let banner = section(&s, "cluster")
        .split("<div class=\"banner\">")
        .nth(1)
        .expect("warning banner")
        .split("</div>")
        .next()
        .unwrap();
    assert!(
        banner.contains("<li>the hosts have different (or unknown) hardware: rank 0"),
        "{banner}"
    );
    let same = render(&fleet_results_same_hardware());
    assert!(!section(&same, "cluster").contains("class=\"banner\""));
    let late = render(&fleet_results_late(0.4));
    assert!(section(&late, "cluster").contains("they did not run at once"));
}

#[test]
fn the_baseline_comparison_shows_the_hand_checked_figures() {
    let html = render(&fleet_results());
    let s = section(&html, "cluster");
    // write/buffered on 3 hosts: 1380 MB / 1.004 s against 3 × 2 MB/s and 3 × 500 MB/s.
    let row = "<tr><td class=\"name\">write/buffered</td><td class=\"cache\" title=\"the data may \
               not have left the page cache: a memory number, not a disk number\">page cache</td>\
               <td class=\"num\">3</td><td class=\"num\">1375</td><td class=\"num\">6.00</td>\
               <td class=\"num\">229×</td><td class=\"num\">1500</td><td class=\"num\">91.6%</td></tr>";
    assert!(s.contains(row), "{s}");
    assert!(s.contains("<th class=\"num\">baseline × hosts (MB/s)</th>"));
    // One chart: measured and linear per workload, the baseline line; page cache said.
    let chart = s
        .split("<svg")
        .find(|c| c.contains("Measured cluster scaling"))
        .unwrap();
    assert!(
        chart.contains(">write/buffered (page cache): measured</text>"),
        "{chart}"
    );
    assert!(chart.contains(">write/buffered: linear (hosts × 1 host)</text>"));
    assert!(chart.contains(">baseline × hosts (2.00 MB/s per node)</text>"));
    assert!(chart.contains("<title>write/buffered, 3 hosts: measured 1375 MB/s</title>"));
    assert!(chart.contains("throughput (MB/s; 1 MB = 10⁶ bytes), log scale"));
}

#[test]
fn the_network_heat_map_has_a_cell_for_each_ring_pair() {
    let html = render(&fleet_results());
    let s = section(&html, "cluster");
    assert_eq!(
        s.matches("<svg").count(),
        3,
        "scaling + one heat map per engine"
    );
    for (from, to, mbps) in [(0, 1, 1100), (1, 2, 1050), (2, 0, 900)] {
        let title = format!(
            "<title>rank {from} {} → rank {to} {}, sendfile: {mbps} MB/s; CPU s/GB sender 0.350, \
             receiver 0.490</title>",
            FLEET_HOSTS[from], FLEET_HOSTS[to]
        );
        assert!(s.contains(&title), "{title} in {s}");
        assert!(s.contains(&format!(">{mbps} MB/s</text>")));
    }
    // The other six of each 3 × 3 grid were not measured.
    assert_eq!(s.matches("<title>pair not measured</title>").count(), 12);
    assert!(s.contains("MB/s (1 MB = 10⁶ bytes); grey: pair not measured"));
    assert!(
        s.contains("<td class=\"num\">1100</td>"),
        "the detail table"
    );
}

#[test]
fn single_host_results_have_no_cluster_section_and_an_unchanged_report() {
    for r in [crate::testing::results(), crate::testing::with_sweeps()] {
        let html = render(&r);
        assert!(!html.contains("id=\"cluster\""));
        assert!(!html.contains("href=\"#cluster\""));
        let fleet = fleet_results();
        let without: Vec<SectionFn> = SECTIONS
            .iter()
            .copied()
            .filter(|f| f(&fleet).map(|s| s.id) != Some("cluster".into()))
            .collect();
        assert_eq!(without.len(), SECTIONS.len() - 1);
        let e = HtmlExporter { sections: without };
        assert_eq!(e.render(&r), html, "the same report without the section");
    }
}

#[test]
fn hostile_fleet_text_is_escaped() {
    let mut r = fleet_results();
    let evil = "<script>alert('x')</script>&\"";
    let f = r.fleet.as_mut().unwrap();
    f.hosts[1].host = evil.into();
    f.hosts[2].fingerprint = Some(evil.into());
    f.launcher = evil.into();
    f.warnings.push(evil.into());
    f.network[0].engine = evil.into();
    let html = render(&r);
    well_formed(&html);
    assert!(!html.contains("<script"), "unescaped script tag");
    assert!(section(&html, "cluster").contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
}
