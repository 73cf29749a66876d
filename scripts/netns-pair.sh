#!/bin/sh
# Two network namespaces joined by a veth pair, for measuring the read path over a real
# (virtual) NIC on one machine: `segbench sink` in one, `segbench read --sink` in the other.
#
#   scripts/netns-pair.sh up      create sb-a (198.18.1.1/24) and sb-b (198.18.1.2/24)
#   scripts/netns-pair.sh down    remove them (and the veth pair with them)
#   scripts/netns-pair.sh status  show them
#
#   sudo scripts/netns-pair.sh up
#   sudo ip netns exec sb-a segbench sink --listen 198.18.1.1:7878 &
#   sudo ip netns exec sb-b segbench read --sink 198.18.1.1:7878 --engine sendfile --engine readwrite
#   sudo scripts/netns-pair.sh down
#
# The host's interfaces, addresses and routes are never touched: the veth pair is created
# inside sb-a with its peer placed straight into sb-b, and the addresses exist only inside
# the namespaces. Names can be changed with NETNS_A / NETNS_B (e.g. for concurrent tests);
# addresses with ADDR_A / ADDR_B (same /24). Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and ip(8).
set -eu

A="${NETNS_A:-sb-a}"
B="${NETNS_B:-sb-b}"
ADDR_A="${ADDR_A:-198.18.1.1}"
ADDR_B="${ADDR_B:-198.18.1.2}"
MTU="${MTU:-1500}"

die() {
    echo "netns-pair.sh: $*" >&2
    exit 2
}

command -v ip >/dev/null 2>&1 || die "ip(8) not found (install iproute2)"

exists() {
    ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"
}

down() {
    # Deleting a namespace deletes the veth end in it, and with it the peer.
    for ns in "$A" "$B"; do
        if exists "$ns"; then
            ip netns delete "$ns"
        fi
    done
}

up() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (creates network namespaces)"
    if exists "$A" || exists "$B"; then
        die "namespace $A or $B already exists: run '$0 down' first"
    fi
    ip netns add "$A" || die "cannot create namespace $A"
    if ! ip netns add "$B"; then
        down
        die "cannot create namespace $B"
    fi
    # Any failure from here on removes both namespaces again.
    trap 'down; die "setup failed; namespaces removed"' EXIT
    ip -n "$A" link add veth-a mtu "$MTU" type veth peer name veth-b netns "$B" mtu "$MTU"
    ip -n "$A" addr add "$ADDR_A/24" dev veth-a
    ip -n "$B" addr add "$ADDR_B/24" dev veth-b
    for ns in "$A" "$B"; do
        ip -n "$ns" link set lo up
    done
    ip -n "$A" link set veth-a up
    ip -n "$B" link set veth-b up
    # Wait until both ends report carrier (a veth is up once both ends are).
    i=0
    until ip -n "$A" link show veth-a | grep -q LOWER_UP && ip -n "$B" link show veth-b | grep -q LOWER_UP; do
        i=$((i + 1))
        [ "$i" -lt 50 ] || die "the veth pair did not come up"
        sleep 0.1
    done
    trap - EXIT
    echo "netns-pair.sh: $A ($ADDR_A, veth-a) <-> $B ($ADDR_B, veth-b), mtu $MTU"
}

status() {
    for ns in "$A" "$B"; do
        if exists "$ns"; then
            echo "== $ns"
            ip -n "$ns" -brief addr
        else
            echo "== $ns: absent"
        fi
    done
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*)
    echo "usage: $0 up|down|status   (env: NETNS_A, NETNS_B, ADDR_A, ADDR_B, MTU)" >&2
    exit 2
    ;;
esac
