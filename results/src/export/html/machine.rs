//! The machine section: the hardware probe summarised as a table (CPU, memory, kernel, file
//! system, device, DIO alignment, NICs, io_uring), with the raw probe JSON below.

use std::fmt::Write as _;

use crate::format::{self, MISSING};
use crate::plot::svg::escape;
use crate::probe::{BlockDevice, Probe};
use crate::schema::ResultsFile;

use super::Section;

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

/// Key/value rows summarising the probe: the host, its storage, then io_uring, the
/// micro-probes and the fingerprint.
fn probe_rows(p: &Probe) -> Vec<(&'static str, String)> {
    let mut rows = host_rows(p);
    rows.extend(storage_rows(p));
    rows.extend(feature_rows(p));
    rows
}

/// The host's rows: name and system, kernel, virtualisation, CPU, memory, dirty limit.
fn host_rows(p: &Probe) -> Vec<(&'static str, String)> {
    let (host, cpu) = (&p.host, &p.cpu);
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
    rows
}

/// The storage rows: the data directory, its file system and free space, the device chain,
/// the disk under it, its queue, and direct I/O.
fn storage_rows(p: &Probe) -> Vec<(&'static str, String)> {
    let st = &p.storage;
    let mut rows = Vec::new();
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
    rows
}

/// io_uring's state, the micro-probes and the hardware fingerprint.
fn feature_rows(p: &Probe) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
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

#[cfg(test)]
mod tests {

    use crate::export::html::render;
    use crate::probe::{BlockDevice, Probe};
    use crate::testing::{self as fixture, html_section as section};

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
}
