//! Per-NIC traffic counters: a snapshot of every interface's received and sent bytes and packets
//! (sysinfo's `Networks`, which reads the kernel's counters, `/sys/class/net/*/statistics` on
//! Linux), and the traffic between two snapshots as [`NicTraffic`], for the results of network
//! workloads: the bytes that really crossed each NIC, all traffic included, not only the
//! benchmark's.
//!
//! ```no_run
//! use segbench::probe::NicCounters;
//! let before = NicCounters::snapshot();
//! // ... the measured interval ...
//! let traffic = NicCounters::snapshot().since(&before);
//! ```

use std::collections::BTreeMap;

use results::probe::NicTraffic;

/// One interface's cumulative counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    rx_bytes: u64,
    tx_bytes: u64,
    rx_packets: u64,
    tx_packets: u64,
}

/// Every interface's cumulative counters at one moment, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NicCounters {
    by_name: BTreeMap<String, Counts>,
}

impl NicCounters {
    /// The counters of every interface now. An interface the kernel does not list (or a system
    /// where sysinfo reads no counters) is simply absent.
    pub fn snapshot() -> NicCounters {
        let networks = sysinfo::Networks::new_with_refreshed_list();
        NicCounters {
            by_name: networks
                .list()
                .iter()
                .map(|(name, d)| {
                    let counts = Counts {
                        rx_bytes: d.total_received(),
                        tx_bytes: d.total_transmitted(),
                        rx_packets: d.total_packets_received(),
                        tx_packets: d.total_packets_transmitted(),
                    };
                    (name.clone(), counts)
                })
                .collect(),
        }
    }

    /// The interfaces in this snapshot, sorted by name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// The traffic of each interface from `earlier` to this snapshot, sorted by name.
    ///
    /// Left out: interfaces absent from either snapshot (created or removed in between), those
    /// whose counters went backwards (the interface was re-created, so what it carried is
    /// unknown), and those that carried nothing.
    pub fn since(&self, earlier: &NicCounters) -> Vec<NicTraffic> {
        self.by_name
            .iter()
            .filter_map(|(name, now)| {
                let before = earlier.by_name.get(name)?;
                let t = NicTraffic {
                    name: name.clone(),
                    rx_bytes: now.rx_bytes.checked_sub(before.rx_bytes)?,
                    tx_bytes: now.tx_bytes.checked_sub(before.tx_bytes)?,
                    rx_packets: now.rx_packets.checked_sub(before.rx_packets)?,
                    tx_packets: now.tx_packets.checked_sub(before.tx_packets)?,
                };
                let moved = t.rx_bytes | t.tx_bytes | t.rx_packets | t.tx_packets;
                (moved != 0).then_some(t)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use workloads::skip::{skip, Skip};

    use super::*;

    fn counters(entries: &[(&str, [u64; 4])]) -> NicCounters {
        NicCounters {
            by_name: entries
                .iter()
                .map(|(name, [rb, tb, rp, tp])| {
                    let counts = Counts {
                        rx_bytes: *rb,
                        tx_bytes: *tb,
                        rx_packets: *rp,
                        tx_packets: *tp,
                    };
                    (name.to_string(), counts)
                })
                .collect(),
        }
    }

    fn traffic(name: &str, [rx_bytes, tx_bytes, rx_packets, tx_packets]: [u64; 4]) -> NicTraffic {
        NicTraffic {
            name: name.into(),
            rx_bytes,
            tx_bytes,
            rx_packets,
            tx_packets,
        }
    }

    #[test]
    fn since_is_the_difference_per_interface_sorted_by_name() {
        let before = counters(&[
            ("eth0", [1_000, 2_000, 10, 20]),
            ("lo", [500, 500, 5, 5]),
            ("bond0", [0, 0, 0, 0]),
        ]);
        let after = counters(&[
            ("lo", [800, 800, 8, 8]),
            ("eth0", [1_000_000, 2_500, 700, 25]),
            ("bond0", [0, 10, 0, 1]),
        ]);
        assert_eq!(
            after.since(&before),
            vec![
                traffic("bond0", [0, 10, 0, 1]),
                traffic("eth0", [999_000, 500, 690, 5]),
                traffic("lo", [300, 300, 3, 3]),
            ]
        );
        // Near the top of the counters' range: still exact.
        let before = counters(&[("eth0", [u64::MAX - 10, 0, 0, 0])]);
        let after = counters(&[("eth0", [u64::MAX, 0, 0, 0])]);
        assert_eq!(after.since(&before), vec![traffic("eth0", [10, 0, 0, 0])]);
    }

    #[test]
    fn since_leaves_out_new_removed_reset_and_idle_interfaces() {
        let before = counters(&[
            ("gone", [1, 1, 1, 1]),
            ("reset", [1_000, 1_000, 10, 10]),
            ("idle", [7, 7, 7, 7]),
            ("eth0", [0, 0, 0, 0]),
        ]);
        let after = counters(&[
            ("new", [50, 50, 5, 5]),
            ("reset", [20, 2_000, 2, 20]),
            ("idle", [7, 7, 7, 7]),
            ("eth0", [64, 0, 1, 0]),
        ]);
        assert_eq!(after.since(&before), vec![traffic("eth0", [64, 0, 1, 0])]);
        assert_eq!(after.since(&after), vec![]);
        assert_eq!(NicCounters::default().since(&before), vec![]);
    }

    #[test]
    fn a_live_snapshot_sees_loopback_traffic() {
        let before = NicCounters::snapshot();
        if !before.names().any(|n| n == "lo") {
            return skip(Skip::Platform, "no loopback interface in the counters here");
        }
        const BYTES: usize = 1 << 20;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut sink = Vec::new();
            s.read_to_end(&mut sink).unwrap();
            sink.len()
        });
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(&vec![0u8; BYTES]).unwrap();
        drop(s);
        assert_eq!(reader.join().unwrap(), BYTES);
        let lo = NicCounters::snapshot()
            .since(&before)
            .into_iter()
            .find(|t| t.name == "lo")
            .expect("loopback carried the stream");
        // Other tests may add traffic; the stream's payload is a floor.
        assert!(lo.tx_bytes >= BYTES as u64, "{lo:?}");
        assert!(lo.rx_bytes >= BYTES as u64 && lo.tx_packets > 0, "{lo:?}");
    }
}
