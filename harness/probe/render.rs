//! Human output: a compact table grouped by section, one function per section (host, cpu,
//! memory, writeback, storage, nic, io_uring, micro, probe) in `SECTIONS` order, then the notes.

use std::fmt::Write as _;

use results::format::bytes_iec;
use results::table::{Align, TextLayout};

use super::Probe;
use results::probe::BlockDevice;

/// Rate text in MB/s (10^6 bytes/s), or GB/s above 10 GB/s.
fn rate(bps: f64) -> String {
    if bps >= 10e9 {
        format!("{:.1} GB/s", bps / 1e9)
    } else {
        format!("{:.0} MB/s", bps / 1e6)
    }
}

/// `f` of the value, or `?` when it is unknown.
fn or_unknown<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "?".into())
}

fn or_dash<T: ToString>(v: &Option<T>) -> String {
    or_unknown(v.as_ref(), |x| x.to_string())
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    }
}

fn plural(n: u32, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Rows of the table: (group, key, value); the group is printed on its first row only.
struct Table {
    rows: Vec<(String, String, String)>,
    group: String,
}

impl Table {
    fn group(&mut self, g: &str) {
        self.group = g.to_string();
    }
    fn row(&mut self, k: &str, v: String) {
        let g = std::mem::take(&mut self.group);
        self.rows.push((g, k.to_string(), v));
    }
    fn finish(self) -> String {
        let table = results::table::Table {
            columns: ["group", "key", "value"]
                .map(|h| (h.to_string(), Align::Left))
                .to_vec(),
            rows: self
                .rows
                .into_iter()
                .map(|(g, k, v)| vec![g, k, v])
                .collect(),
        };
        table.render_text(&TextLayout {
            gap: "  ",
            header: false,
            rule: None,
            pad_last: false,
        })
    }
}

fn device_text(d: &BlockDevice, virt: bool) -> String {
    let mut parts = vec![d.kind.clone()];
    if let Some(s) = d.size_bytes {
        parts.push(bytes_iec(s));
    }
    if let Some(n) = &d.dm_name {
        parts.push(format!(
            "dm {n}{}",
            d.dm_kind
                .as_ref()
                .map(|k| format!(" ({k})"))
                .unwrap_or_default()
        ));
    }
    if let Some(l) = &d.md_level {
        parts.push(l.clone());
    }
    if let Some(m) = &d.model {
        parts.push(format!("model {m}"));
    }
    if let Some(v) = &d.vendor {
        parts.push(format!("vendor {v}"));
    }
    if let Some(dr) = &d.driver {
        parts.push(format!("driver {dr}"));
    }
    if let Some(r) = d.rotational {
        let mut s = if r {
            "rotational".to_string()
        } else {
            "non-rotational".to_string()
        };
        if virt && r {
            s.push_str(" (flag unreliable under virtualisation)");
        }
        parts.push(s);
    }
    if let (Some(l), Some(p)) = (d.logical_block_bytes, d.physical_block_bytes) {
        parts.push(format!("blocks {l}/{p} B"));
    }
    if let Some(s) = &d.scheduler {
        parts.push(format!("scheduler {s}"));
    }
    if let Some(n) = d.nr_requests {
        parts.push(format!("nr_requests {n}"));
    }
    if let Some(w) = &d.write_cache {
        parts.push(w.clone());
    }
    if let Some(dc) = d.discard {
        parts.push(format!("discard {}", if dc { "yes" } else { "no" }));
    }
    if let Some(b) = &d.backing_file {
        parts.push(format!("file {b}"));
    }
    parts.join(", ")
}

/// The table's sections, in order: each adds its group's rows.
const SECTIONS: &[fn(&mut Table, &Probe)] = &[
    host, cpu, memory, writeback, storage, nics, io_uring, micro, probe,
];

/// The probe as a grouped human-readable table, followed by the notes.
pub fn render(p: &Probe) -> String {
    let mut t = Table {
        rows: Vec::new(),
        group: String::new(),
    };
    for section in SECTIONS {
        section(&mut t, p);
    }
    let mut out = t.finish();
    if !p.notes.is_empty() {
        out.push_str("notes:\n");
        for n in &p.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
    out
}

/// Host name, kernel, distribution, virtualisation, clock source.
fn host(t: &mut Table, p: &Probe) {
    let h = &p.host;
    t.group("host");
    t.row("hostname", or_dash(&h.hostname));
    t.row(
        "kernel",
        format!("{} ({})", or_dash(&h.kernel_release), or_dash(&h.arch)),
    );
    t.row("distribution", or_dash(&h.distribution));
    let mut virt = or_dash(&h.virtualization);
    if let Some(c) = &h.container {
        virt.push_str(&format!(", container {c}"));
    }
    t.row("virtualisation", virt);
    t.row(
        "clock source",
        format!(
            "{} (available: {})",
            or_dash(&h.clock_source),
            h.clock_sources_available.join(" ")
        ),
    );
}

/// CPU model, topology, frequency governor.
fn cpu(t: &mut Table, p: &Probe) {
    let c = &p.cpu;
    t.group("cpu");
    t.row("model", or_dash(&c.model));
    t.row(
        "topology",
        [
            (c.sockets, "socket"),
            (c.cores, "core"),
            (c.threads, "thread"),
            (c.numa_nodes, "NUMA node"),
        ]
        .iter()
        .map(|(n, what)| match n {
            Some(n) => plural(*n, what),
            None => format!("? {what}s"),
        })
        .collect::<Vec<_>>()
        .join(", "),
    );
    let mut gov = c
        .governor
        .clone()
        .unwrap_or_else(|| "none (no cpufreq)".into());
    if let Some(d) = &c.scaling_driver {
        gov.push_str(&format!(" ({d})"));
    }
    if let Some(f) = c.max_frequency_hz {
        gov.push_str(&format!(", max {:.2} GHz", f as f64 / 1e9));
    }
    t.row("governor", gov);
}

/// Memory: total and available, huge pages, swap.
fn memory(t: &mut Table, p: &Probe) {
    let m = &p.memory;
    t.group("memory");
    t.row(
        "total",
        format!(
            "{} (available {})",
            or_unknown(m.total_bytes, bytes_iec),
            or_unknown(m.available_bytes, bytes_iec)
        ),
    );
    t.row(
        "huge pages",
        format!(
            "{} x {} reserved ({} free), THP {} (defrag {})",
            or_dash(&m.hugepages_total),
            or_unknown(m.hugepage_size_bytes, bytes_iec),
            or_dash(&m.hugepages_free),
            or_dash(&m.thp_enabled),
            or_dash(&m.thp_defrag)
        ),
    );
    t.row(
        "swap",
        if m.swap_active() {
            format!(
                "{} ({} free, {} areas)",
                or_unknown(m.swap_total_bytes, bytes_iec),
                or_unknown(m.swap_free_bytes, bytes_iec),
                or_dash(&m.swap_devices)
            )
        } else if m.swap_total_bytes.is_some() {
            "none".into()
        } else {
            "?".into()
        },
    );
}

/// The dirty-page limits and the flusher's timing.
fn writeback(t: &mut Table, p: &Probe) {
    let v = &p.vm;
    t.group("writeback");
    let lim = |bytes: Option<u64>, ratio: Option<u64>, eff: Option<u64>| {
        let set = match (bytes, ratio) {
            (Some(b), _) if b > 0 => format!("{} bytes", b),
            (_, Some(r)) => format!("{r}%"),
            _ => "?".into(),
        };
        format!("{set} (~{})", or_unknown(eff, bytes_iec))
    };
    t.row(
        "dirty limit",
        lim(v.dirty_bytes, v.dirty_ratio_percent, v.dirty_limit_bytes),
    );
    t.row(
        "background",
        lim(
            v.dirty_background_bytes,
            v.dirty_background_ratio_percent,
            v.dirty_background_limit_bytes,
        ),
    );
    t.row(
        "expire",
        format!(
            "{} ms, flusher every {} ms, swappiness {}",
            or_dash(&v.dirty_expire_ms),
            or_dash(&v.dirty_writeback_ms),
            or_dash(&v.swappiness)
        ),
    );
}

/// The data directory: its mount, space, O_DIRECT, the device chain and each device.
fn storage(t: &mut Table, p: &Probe) {
    let s = &p.storage;
    t.group("storage");
    t.row("dir", s.dir.clone());
    t.row(
        "mount",
        format!(
            "{} {} from {} ({}{})",
            or_dash(&s.mount_point),
            or_dash(&s.fs_type),
            or_dash(&s.mount_source),
            or_dash(&s.mount_options),
            s.fs_options
                .as_ref()
                .map(|o| format!("; {o}"))
                .unwrap_or_default()
        ),
    );
    t.row(
        "space",
        match (s.available_bytes, s.total_bytes) {
            (Some(a), Some(tot)) => format!("{} available of {}", bytes_iec(a), bytes_iec(tot)),
            _ => "?".into(),
        },
    );
    t.row(
        "O_DIRECT",
        format!(
            "{}, memory align {}, offset align {}",
            yes_no(s.direct_io),
            or_unknown(s.dio_mem_align_bytes, |a| format!("{a} B")),
            or_unknown(s.dio_offset_align_bytes, |a| format!("{a} B"))
        ),
    );
    t.row("chain", s.chain_text().unwrap_or_else(|| "?".into()));
    let in_vm = p
        .host
        .virtualization
        .as_deref()
        .is_some_and(|v| v != "none");
    for d in &s.devices {
        t.row(&d.name, device_text(d, in_vm));
    }
}

/// One row per network interface.
fn nics(t: &mut Table, p: &Probe) {
    t.group("nic");
    for n in &p.nics {
        let mut parts = vec![or_dash(&n.state), format!("mtu {}", or_dash(&n.mtu_bytes))];
        match n.speed_mbit_per_s {
            Some(sp) => parts.push(format!("{sp} Mbit/s")),
            None if !n.virtual_device => parts.push("speed ?".into()),
            None => {}
        }
        parts.push(match (&n.driver, n.virtual_device) {
            (Some(d), _) => d.clone(),
            (None, true) => "virtual".into(),
            (None, false) => "driver ?".into(),
        });
        if let (Some(r), Some(tx)) = (n.rx_queues, n.tx_queues) {
            parts.push(format!("{r} rx / {tx} tx queues"));
        }
        if !n.addresses.is_empty() {
            parts.push(n.addresses.join(" "));
        }
        t.row(&n.name, parts.join(", "));
    }
}

/// Whether io_uring is enabled, its opcodes and limits.
fn io_uring(t: &mut Table, p: &Probe) {
    let u = &p.io_uring;
    t.group("io_uring");
    t.row(
        "enabled",
        match (u.enabled, &u.disabled_reason) {
            (Some(false), Some(r)) => format!("no: {r}"),
            (e, _) => yes_no(e).to_string(),
        },
    );
    if !u.opcodes_supported.is_empty() {
        let mut o = plural(u.opcodes_supported.len() as u32, "opcode");
        o.push_str(" supported");
        if !u.opcodes_unsupported.is_empty() {
            o.push_str(&format!("; missing: {}", u.opcodes_unsupported.join(" ")));
        }
        t.row("opcodes", o);
    }
    t.row(
        "limits",
        format!(
            "SQPOLL {}, registered buffers {}, memlock {}",
            yes_no(u.sqpoll_allowed),
            yes_no(u.registered_buffers_allowed),
            if u.memlock_unlimited {
                "unlimited".into()
            } else {
                or_unknown(u.memlock_limit_bytes, bytes_iec)
            }
        ),
    );
}

/// The micro-benchmarks, when they ran.
fn micro(t: &mut Table, p: &Probe) {
    if let Some(mi) = &p.micro {
        t.group("micro");
        t.row("memcpy", or_unknown(mi.memcpy_bytes_per_s, rate));
        t.row("first touch", or_unknown(mi.first_touch_bytes_per_s, rate));
        t.row(
            "clock read",
            or_unknown(mi.clock_read_ns, |n| format!("{n:.1} ns")),
        );
        t.row(
            "loopback tcp",
            or_unknown(mi.loopback_tcp_bytes_per_s, rate),
        );
    }
}

/// The probe's own fingerprint and how long it took.
fn probe(t: &mut Table, p: &Probe) {
    t.group("probe");
    t.row("fingerprint", p.fingerprint.clone());
    t.row("took", format!("{:.2} s", p.probe_elapsed_ns as f64 / 1e9));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(rate(2.5e9), "2500 MB/s");
        assert_eq!(rate(12e9), "12.0 GB/s");
    }
}
