//! TCP retransmissions as the kernel counts them (`RetransSegs` in `/proc/net/snmp`, the
//! segments this host — this network namespace — sent again). A rank reads the counter before
//! and after it sends its log, so the network rows say whether the link dropped segments. The
//! counter covers the whole namespace: other traffic of the host adds to it.

/// The kernel's counters.
pub const SNMP_PATH: &str = "/proc/net/snmp";

/// `RetransSegs` from the text of `/proc/net/snmp` (a `Tcp:` header line, then a `Tcp:`
/// values line).
pub fn retrans_segs(snmp: &str) -> Option<u64> {
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let header = tcp.next()?;
    let values = tcp.next()?;
    let i = header.split_whitespace().position(|k| k == "RetransSegs")?;
    values.split_whitespace().nth(i)?.parse().ok()
}

/// The counter now, when the kernel reports it.
pub fn read() -> Option<u64> {
    retrans_segs(&std::fs::read_to_string(SNMP_PATH).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_retrans_segs_from_the_tcp_lines() {
        let text = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
                    Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails \
                    EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n\
                    Tcp: 1 200 120000 -1 1599 1531 73 223 0 2383225 2381252 1042 0 315 0\n\
                    Udp: InDatagrams\nUdp: 5\n";
        assert_eq!(retrans_segs(text), Some(1042));
        assert_eq!(retrans_segs("Tcp: RetransSegs\n"), None);
        assert_eq!(retrans_segs(""), None);
    }
}
