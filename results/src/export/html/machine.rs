//! The machine section: the hardware probe summarised as a table (CPU, memory, kernel, file
//! system, device, DIO alignment, NICs, io_uring), with the raw probe JSON below.

use std::fmt::Write as _;

use serde_json::Value;

use crate::format::{self, MISSING};
use crate::plot::svg::escape;
use crate::schema::ResultsFile;

use super::Section;

/// The value at a dotted `path` (`storage.fs_type`) of a JSON object, if any.
fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| v.get(key))
}

/// A JSON scalar as text; null, arrays, objects and empty strings are `None`.
fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_string()),
        _ => None,
    }
}

/// `path` as text, or `–`.
fn field(v: &Value, path: &str) -> String {
    scalar(at(v, path)).unwrap_or_else(|| MISSING.to_string())
}

/// `path` as a byte count in binary units, if it is a number.
fn bytes_at(v: &Value, path: &str) -> Option<String> {
    at(v, path).and_then(Value::as_u64).map(format::bytes_iec)
}

/// `path` as a bytes/s figure in MB/s, if it is a number.
fn rate_at(v: &Value, path: &str) -> Option<String> {
    at(v, path).and_then(Value::as_f64).map(format::mb_per_s)
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

/// The bottom-most disk of the probe's device chain (no lower device, not a partition).
fn primary_disk(p: &Value) -> Option<&Value> {
    let devices = at(p, "storage.devices")?.as_array()?;
    devices
        .iter()
        .find(|d| {
            // No lower device (or none listed): a disk or the bottom of the chain.
            let bottom = match d.get("lower").and_then(Value::as_array) {
                Some(lower) => lower.is_empty(),
                None => true,
            };
            bottom && d.get("kind").and_then(Value::as_str) != Some("partition")
        })
        .or_else(|| devices.last())
}

/// Key/value rows summarising the probe.
fn probe_rows(p: &Value) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    rows.push((
        "host",
        join(
            [
                scalar(at(p, "host.hostname")),
                scalar(at(p, "host.distribution")),
                scalar(at(p, "host.arch")),
            ],
            " · ",
        ),
    ));
    rows.push(("kernel", field(p, "host.kernel_release")));
    rows.push((
        "virtualisation",
        join(
            [
                scalar(at(p, "host.virtualization")),
                labelled("container", scalar(at(p, "host.container"))),
            ],
            " · ",
        ),
    ));
    rows.push(("CPU model", field(p, "cpu.model")));
    rows.push((
        "cores",
        join(
            [
                labelled("sockets", scalar(at(p, "cpu.sockets"))),
                labelled("cores", scalar(at(p, "cpu.cores"))),
                labelled("threads", scalar(at(p, "cpu.threads"))),
                labelled("NUMA nodes", scalar(at(p, "cpu.numa_nodes"))),
            ],
            ", ",
        ),
    ));
    rows.push((
        "CPU frequency",
        join(
            [
                at(p, "cpu.max_frequency_hz")
                    .and_then(Value::as_f64)
                    .map(|hz| format!("{} GHz max", format::sig(hz / 1e9))),
                labelled("governor", scalar(at(p, "cpu.governor"))),
            ],
            ", ",
        ),
    ));
    rows.push((
        "memory",
        join(
            [
                bytes_at(p, "memory.total_bytes").map(|b| format!("{b} total")),
                bytes_at(p, "memory.available_bytes").map(|b| format!("{b} available")),
                bytes_at(p, "memory.swap_total_bytes").map(|b| format!("swap {b}")),
            ],
            ", ",
        ),
    ));
    rows.push((
        "dirty limit",
        join(
            [
                bytes_at(p, "vm.dirty_limit_bytes"),
                bytes_at(p, "vm.dirty_background_limit_bytes").map(|b| format!("background {b}")),
            ],
            ", ",
        ),
    ));
    rows.push((
        "data directory",
        scalar(at(p, "storage.canonical_dir"))
            .or_else(|| scalar(at(p, "storage.dir")))
            .unwrap_or_else(|| MISSING.to_string()),
    ));
    rows.push((
        "file system",
        join(
            [
                scalar(at(p, "storage.fs_type")),
                labelled("on", scalar(at(p, "storage.mount_point"))),
                scalar(at(p, "storage.mount_source")).map(|s| format!("({s})")),
            ],
            " ",
        ),
    ));
    rows.push(("mount options", field(p, "storage.mount_options")));
    rows.push((
        "free space",
        join(
            [
                bytes_at(p, "storage.available_bytes").map(|b| format!("{b} available")),
                bytes_at(p, "storage.total_bytes").map(|b| format!("of {b}")),
            ],
            " ",
        ),
    ));
    let chain = at(p, "storage.devices")
        .and_then(Value::as_array)
        .map(|ds| {
            ds.iter()
                .map(|d| {
                    let name = scalar(d.get("name")).unwrap_or_else(|| "?".into());
                    match scalar(d.get("dm_name")) {
                        Some(dm) => format!("{name} ({dm})"),
                        None => name,
                    }
                })
                .collect::<Vec<_>>()
                .join(" → ")
        });
    rows.push((
        "device chain",
        chain
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| MISSING.to_string()),
    ));
    let disk = primary_disk(p);
    let d = |key: &str| disk.and_then(|d| scalar(d.get(key)));
    let db = |key: &str| disk.and_then(|d| d.get(key)).and_then(Value::as_u64);
    rows.push((
        "disk",
        join(
            [
                d("name"),
                join([d("vendor"), d("model")], " ")
                    .ne(MISSING)
                    .then(|| join([d("vendor"), d("model")], " ")),
                db("size_bytes").map(format::bytes_iec),
                labelled("driver", d("driver")),
                labelled("rotational", d("rotational")),
            ],
            ", ",
        ),
    ));
    rows.push((
        "queue",
        join(
            [
                labelled("scheduler", d("scheduler")),
                labelled("write cache", d("write_cache")),
                db("logical_block_bytes").map(|b| format!("logical block {b} B")),
                db("physical_block_bytes").map(|b| format!("physical block {b} B")),
            ],
            ", ",
        ),
    ));
    let dio = match at(p, "storage.direct_io").and_then(Value::as_bool) {
        Some(true) => Some("O_DIRECT works".to_string()),
        Some(false) => Some("O_DIRECT refused".to_string()),
        None => None,
    };
    rows.push((
        "direct I/O",
        join(
            [
                dio,
                at(p, "storage.dio_mem_align_bytes")
                    .and_then(Value::as_u64)
                    .map(|b| format!("memory alignment {b} B")),
                at(p, "storage.dio_offset_align_bytes")
                    .and_then(Value::as_u64)
                    .map(|b| format!("offset alignment {b} B")),
            ],
            ", ",
        ),
    ));
    let uring_state = match at(p, "io_uring.enabled").and_then(Value::as_bool) {
        Some(true) => Some("enabled".to_string()),
        Some(false) => Some(match scalar(at(p, "io_uring.disabled_reason")) {
            Some(why) => format!("disabled: {why}"),
            None => "disabled".to_string(),
        }),
        None => None,
    };
    rows.push((
        "io_uring",
        join(
            [
                uring_state,
                labelled("SQPOLL allowed", scalar(at(p, "io_uring.sqpoll_allowed"))),
                labelled(
                    "registered buffers",
                    scalar(at(p, "io_uring.registered_buffers_allowed")),
                ),
                at(p, "io_uring.features")
                    .and_then(Value::as_array)
                    .filter(|f| !f.is_empty())
                    .map(|f| format!("{} features", f.len())),
            ],
            ", ",
        ),
    ));
    rows.push((
        "micro-probes",
        join(
            [
                labelled("memcpy", rate_at(p, "micro.memcpy_bytes_per_s")),
                labelled("first touch", rate_at(p, "micro.first_touch_bytes_per_s")),
                labelled("loopback TCP", rate_at(p, "micro.loopback_tcp_bytes_per_s")),
                at(p, "micro.clock_read_ns")
                    .and_then(Value::as_f64)
                    .map(|ns| format!("clock read {}", format::latency(ns))),
            ],
            ", ",
        ),
    ));
    rows.push(("fingerprint", field(p, "fingerprint")));
    rows
}

/// The NICs table, if the probe lists any.
fn nic_table(p: &Value) -> Option<String> {
    let nics = at(p, "nics")?.as_array()?;
    if nics.is_empty() {
        return None;
    }
    let mut out = String::from(
        "<div class=\"tablewrap\"><table>\n<thead><tr><th>NIC</th><th>state</th>\
         <th class=\"num\">speed (Mbit/s)</th><th class=\"num\">MTU (bytes)</th><th>driver</th>\
         <th class=\"num\">queues rx/tx</th><th>virtual</th><th>addresses</th></tr></thead>\n<tbody>\n",
    );
    for n in nics {
        let queues = match (scalar(n.get("rx_queues")), scalar(n.get("tx_queues"))) {
            (None, None) => MISSING.to_string(),
            (a, b) => format!(
                "{}/{}",
                a.unwrap_or_else(|| MISSING.into()),
                b.unwrap_or_else(|| MISSING.into())
            ),
        };
        let addresses = n
            .get("addresses")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| MISSING.to_string());
        let cell = |k: &str| escape(&scalar(n.get(k)).unwrap_or_else(|| MISSING.into()));
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            cell("name"),
            cell("state"),
            cell("speed_mbit_per_s"),
            cell("mtu_bytes"),
            cell("driver"),
            escape(&queues),
            cell("virtual_device"),
            escape(&addresses)
        );
    }
    out.push_str("</tbody>\n</table></div>\n");
    Some(out)
}

/// The hardware probe: a summary table, the NICs, the probe's notes and its whole JSON.
pub fn machine(r: &ResultsFile) -> Option<Section> {
    let mut html = String::new();
    match &r.probe {
        None | Some(Value::Null) => {
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
            if let Some(notes) = at(p, "notes")
                .and_then(Value::as_array)
                .filter(|n| !n.is_empty())
            {
                let _ = writeln!(
                    html,
                    "<details><summary>Probe notes ({})</summary>\n<ul>",
                    notes.len()
                );
                for n in notes {
                    let text = n
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| n.to_string());
                    let _ = writeln!(html, "<li>{}</li>", escape(&text));
                }
                html.push_str("</ul>\n</details>\n");
            }
            let json = serde_json::to_string_pretty(p).unwrap_or_default();
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

#[cfg(test)]
mod tests {

    use crate::export::html::render;
    use crate::testing::html_section as section;

    #[test]
    fn probe_summary_reads_what_is_there_and_dashes_the_rest() {
        let mut r = crate::testing::results();
        r.probe = Some(serde_json::json!({
            "host": {"hostname": "bench-01", "kernel_release": "6.1.0-18-amd64", "arch": "x86_64"},
            "cpu": {"model": "AMD EPYC 7B13", "cores": 2, "threads": 2, "max_frequency_hz": 3_000_000_000u64},
            "memory": {"total_bytes": 8_589_934_592u64},
            "storage": {
                "dir": "/data", "fs_type": "ext4", "mount_point": "/", "mount_source": "/dev/vda1",
                "direct_io": true, "dio_mem_align_bytes": 512, "dio_offset_align_bytes": 512,
                "devices": [
                    {"name": "vda1", "kind": "partition", "lower": ["vda"]},
                    {"name": "vda", "kind": "disk", "lower": [], "model": "virtio disk", "rotational": true}
                ]
            },
            "nics": [{"name": "eth0", "state": "up", "speed_mbit_per_s": 10000, "mtu_bytes": 1500}],
            "io_uring": {"enabled": false, "disabled_reason": "kernel.io_uring_disabled=2"},
            "fingerprint": "0123456789abcdef"
        }));
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
        let html = render(&crate::testing::results());
        let m = section(&html, "machine");
        assert!(m.contains("<tr><th>CPU model</th><td>–</td></tr>"), "{m}");
        assert!(m.contains("&quot;rotational&quot;: 1"), "raw JSON");
        // No probe at all.
        let mut r = crate::testing::results();
        r.probe = None;
        assert!(section(&render(&r), "machine").contains("No hardware probe"));
    }
}
