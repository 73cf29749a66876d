#!/usr/bin/env bash
# A test cluster on one machine: N network namespaces joined by a bridge, each with its own sshd
# and, with --slurm, a Slurm cluster (munge, slurmctld, one slurmd per namespace).
#
#   scripts/netns-cluster.sh up N [--slurm]   make sbn1..sbnN (1 <= N <= 8); prints the export lines
#   scripts/netns-cluster.sh down             stop what up started, remove namespaces, bridge, scratch dir
#   scripts/netns-cluster.sh status           nodes, addresses, whether sshd / slurmd answer
#   scripts/netns-cluster.sh exec I CMD...    run CMD in node I's namespaces (network and hostname)
#   scripts/netns-cluster.sh install          only install the missing Debian packages (CI), and
#                                             openmpi-bin for the mpirun test
#
#   eval "$(sudo scripts/netns-cluster.sh up 3 --slurm)"   # sets SLURM_CONF and SB_CLUSTER_DIR
#   ssh -F "$SB_CLUSTER_DIR/ssh_config" sbn2 hostname
#   srun -N 3 sh -c 'echo $SLURM_PROCID $(hostname)'
#   sudo scripts/netns-cluster.sh down
#
# Network: bridge sbbr0 with 198.18.0.1/24 (RFC 2544 benchmarking range), node i in namespace
# sbn<i> at 198.18.0.(10+i) on eth0, whose peer sbv<i> is a port of the bridge. The host's own
# interfaces, routes and firewall are never touched. slurmctld runs on the host (hostname "ctl"
# in its own UTS namespace) at 198.18.0.1; each sshd and slurmd runs in its node's network
# namespace (nsenter --net, not `ip netns exec`, which remounts /sys) and its own UTS namespace
# with hostname sbn<i>. munged is private too: its own key and socket in the scratch directory.
#
# Scratch directory: $SB_CLUSTER_DIR (default /tmp/sb-cluster); it must be absent or empty. It
# holds the keys, ssh_config, sshd_config, slurm.conf, logs and the pid file of every daemon up
# started; down kills exactly those (and whatever still runs inside the sbn namespaces). The
# bridge's alias records the directory, so down/status/exec find it without the variable.
#
# Exit codes: 0 ok; 2 usage, the cluster already exists, or up failed (everything it made is
# removed); 3 a cluster cannot be made on this machine (not root, packages cannot be installed,
# the kernel refuses namespaces) -- tests print SKIP for 3 only.
# shellcheck disable=SC2015 # `A && B || fail` is meant: fail when either step fails
set -u

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BR=sbbr0
NET=198.18.0
BR_ADDR=$NET.1
MAX_NODES=8
SSHD=/usr/sbin/sshd
READY_TIMEOUT_S=${SB_CLUSTER_READY_TIMEOUT:-30}
MARKER=.sb-cluster
ME=$(basename "$0")

# cannot REASON: this machine cannot host the cluster (exit 3; tests SKIP on it).
cannot() {
    printf '%s: cannot make a cluster here: %s\n' "$ME" "$*" >&2
    exit 3
}

node_addr() { echo "$NET.$((10 + $1))"; }

ns_exists() { [ -e "/run/netns/sbn$1" ]; }
bridge_exists() { ip link show "$BR" >/dev/null 2>&1; }

# The scratch directory of the cluster that exists (the bridge's alias), else $SB_CLUSTER_DIR.
scratch_dir() {
    local alias
    alias=$(cat "/sys/class/net/$BR/ifalias" 2>/dev/null)
    case "$alias" in
    sb-cluster:/*) echo "${alias#sb-cluster:}" ;;
    *) echo "${SB_CLUSTER_DIR:-/tmp/sb-cluster}" ;;
    esac
}

# ---- packages ----------------------------------------------------------------------------

# missing_packages SLURM [MPI]: the Debian packages the cluster (and, with MPI=1, the mpirun
# test) needs that are not installed yet.
missing_packages() {
    local slurm=$1 mpi=${2:-0}
    command -v ip >/dev/null 2>&1 || echo iproute2
    [ -x "$SSHD" ] || echo openssh-server
    if [ "$slurm" = 1 ]; then
        command -v munged >/dev/null 2>&1 || echo munge
        { command -v slurmctld && command -v slurmd && command -v srun; } >/dev/null 2>&1 || echo slurm-wlm
    fi
    if [ "$mpi" = 1 ]; then
        command -v mpirun >/dev/null 2>&1 || echo openmpi-bin
    fi
}

# install_packages SLURM [MPI]: apt-get installs what is missing, without letting the packages start
# system daemons (policy-rc.d answers 101 during the install; our daemons are per namespace).
install_packages() {
    local pkgs log rc=0 policy=/usr/sbin/policy-rc.d own_policy=0
    pkgs=$(missing_packages "$1" "${2:-0}" | tr '\n' ' ')
    [ -n "${pkgs% }" ] || return 0
    [ "$(id -u)" = 0 ] || cannot "needs root to install ${pkgs% } (or install them first)"
    command -v apt-get >/dev/null 2>&1 || cannot "${pkgs% } missing and no apt-get: install them first"
    log "$ME: installing ${pkgs% } (apt-get install -y --no-install-recommends; services are not started) ..."
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# sb-cluster: no service starts during package installation\nexit 101\n' >"$policy" &&
            chmod 755 "$policy" && own_policy=1
        # shellcheck disable=SC2064 # expand now
        [ "$own_policy" = 1 ] && trap "rm -f '$policy'" EXIT
    fi
    log=$(mktemp)
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    {
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=120 $pkgs ||
            { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=120 $pkgs; }
    } >"$log" 2>&1 || rc=$?
    [ "$own_policy" = 1 ] && rm -f "$policy" && trap - EXIT
    if [ "$rc" != 0 ]; then
        tail -n 5 "$log" >&2
        rm -f "$log"
        cannot "apt-get install ${pkgs% } failed (exit $rc)"
    fi
    rm -f "$log"
    pkgs=$(missing_packages "$1" "${2:-0}" | tr '\n' ' ')
    [ -z "${pkgs% }" ] || cannot "${pkgs% } still missing after apt-get install"
    # A system sshd / munged / slurmd that a package started would sit beside ours: say so.
    local running
    running=$(for p in sshd munged slurmctld slurmd; do pgrep -a -x "$p"; done | tr '\n' ';')
    [ -z "$running" ] || log "$ME: note: running now: $running"
}

# ---- processes ---------------------------------------------------------------------------

# start NAME NODE|- CMD...: starts a foreground daemon in its own session, its output going to
# $D/log/NAME-NODE.log (so a caller's pipes, e.g. a test's, still reach EOF) and without the
# lock's descriptor, and records its pid in $D/run/NAME-NODE.pid.
# With a node number, CMD runs in that node's network namespace and in a new UTS namespace
# whose hostname is the node's name.
start() {
    local name=$1 node=$2 pid tag
    shift 2
    tag=$name-${node/#-/host}
    if [ "$node" = - ]; then
        setsid "$@" </dev/null >>"$D/log/$tag.log" 2>&1 9>&- &
    else
        # shellcheck disable=SC2016 # $0 and $@ are the inner shell's
        setsid nsenter --net="/run/netns/sbn$node" unshare --uts \
            sh -c 'hostname "$0" && exec "$@"' "sbn$node" "$@" </dev/null >>"$D/log/$tag.log" 2>&1 9>&- &
    fi
    pid=$!
    echo "$pid" >"$D/run/$tag.pid"
}

# alive PIDFILE: the pid in PIDFILE when that process still runs the program the file names.
alive() {
    local f=$1 pid name
    pid=$(cat "$f" 2>/dev/null) || return 1
    name=$(basename "$f" .pid)
    name=${name%%-*}
    case "$pid" in '' | *[!0-9]*) return 1 ;; esac
    # setsid/nsenter/unshare/sh exec into the daemon, so for a moment the comm is theirs.
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
    "$name" | setsid | nsenter | unshare | sh) echo "$pid" ;;
    *) return 1 ;;
    esac
}

# stop_pids PID...: SIGTERM, wait up to 5 s, then SIGKILL what is left.
stop_pids() {
    local pid i left
    [ $# -gt 0 ] || return 0
    kill -TERM "$@" 2>/dev/null
    for i in $(seq 50); do
        left=
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && left=1; done
        [ -n "$left" ] || return 0
        sleep 0.1
    done
    kill -KILL "$@" 2>/dev/null
    sleep 0.2
}

# One up/down at a time. The daemons do not inherit the lock's descriptor (9>&- in start).
take_lock() {
    local f=/run/lock/sb-cluster.lock
    [ -d /run/lock ] || f=/tmp/sb-cluster.lock
    exec 9>"$f" || die "cannot open the lock file $f"
    flock -w 120 9 || die "another netns-cluster.sh up/down has held $f for over 120 s"
}

# ---- down --------------------------------------------------------------------------------

# teardown DIR: stops the daemons of DIR's pid files, then anything left in our namespaces,
# deletes the namespaces, veths and bridge, and removes DIR (only if it is ours). Idempotent.
teardown() {
    local dir=$1 f pid pids i
    pids=
    if [ -d "$dir/run" ]; then
        for f in "$dir"/run/*.pid; do
            [ -e "$f" ] || continue
            pid=$(alive "$f") && pids="$pids $pid"
        done
    fi
    # shellcheck disable=SC2086
    stop_pids $pids
    # Job steps (slurmstepd, tasks), ssh sessions: whatever still lives in a namespace of ours.
    for i in $(seq "$MAX_NODES"); do
        ns_exists "$i" || continue
        # shellcheck disable=SC2046
        stop_pids $(ip netns pids "sbn$i" 2>/dev/null)
        ip netns delete "sbn$i" 2>/dev/null
    done
    for i in $(seq "$MAX_NODES"); do
        ip link show "sbv$i" >/dev/null 2>&1 && ip link delete "sbv$i" 2>/dev/null
    done
    bridge_exists && ip link delete "$BR" 2>/dev/null
    if [ -e "$dir/$MARKER" ]; then
        rm -rf "$dir"
    fi
    return 0
}

down() {
    [ "$(id -u)" = 0 ] || die "down needs root"
    take_lock
    teardown "$(scratch_dir)"
    log "$ME: down: no sbn namespaces, no $BR, no daemons of ours, scratch directory removed"
}

# ---- up ----------------------------------------------------------------------------------

write_ssh_files() {
    local i
    mkdir -p "$D/ssh" &&
        ssh-keygen -q -t ed25519 -N '' -C sb-cluster-host -f "$D/ssh/ssh_host_ed25519_key" &&
        ssh-keygen -q -t ed25519 -N '' -C sb-cluster-client -f "$D/ssh/id_ed25519" &&
        cp "$D/ssh/id_ed25519.pub" "$D/ssh/authorized_keys" || return 1
    # StrictModes no: the scratch directory may sit under /tmp (mode 1777), which StrictModes
    # refuses for authorized_keys; the directory itself is 0700 and root's.
    cat >"$D/ssh/sshd_config" <<EOF
# sshd of the sb-cluster nodes; each is started with -o ListenAddress=<node address>:22
HostKey $D/ssh/ssh_host_ed25519_key
AuthorizedKeysFile $D/ssh/authorized_keys
PermitRootLogin prohibit-password
AllowUsers root
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
AcceptEnv SEGBENCH_*
Subsystem sftp internal-sftp
EOF
    {
        echo "# ssh -F $D/ssh_config sbn<i> CMD   (also works with the addresses $NET.11..)"
        for i in $(seq "$N"); do
            printf 'Host sbn%s\n    HostName %s\n' "$i" "$(node_addr "$i")"
        done
        cat <<EOF
Host sbn* $NET.*
    User root
    Port 22
    IdentityFile $D/ssh/id_ed25519
    IdentitiesOnly yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
    BatchMode yes
    ConnectTimeout 5
EOF
    } >"$D/ssh_config"
}

write_slurm_conf() {
    local i cpus
    cpus=$(nproc)
    mkdir -p "$D/state" "$D/munge" &&
        chmod 700 "$D/munge" || return 1
    for i in $(seq "$N"); do mkdir -p "$D/spool/sbn$i" || return 1; done
    cat >"$D/slurm.conf" <<EOF
# sb-cluster: $N nodes in network namespaces, controller on the bridge ($BR_ADDR)
ClusterName=sbtest
SlurmctldHost=ctl($BR_ADDR)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/munge.socket.2
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
SlurmdPidFile=$D/spool/slurmd-%n.pid
SlurmdLogFile=$D/log/slurmd-%n.log
SlurmctldLogFile=$D/log/slurmctld.log
SlurmctldPidFile=$D/state/slurmctld.pid
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
EOF
    for i in $(seq "$N"); do
        echo "NodeName=sbn$i NodeAddr=$(node_addr "$i") CPUs=$cpus State=UNKNOWN" >>"$D/slurm.conf"
    done
    echo "PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES" >>"$D/slurm.conf"
}

# wait_until SECONDS WHAT CMD...: polls CMD every 0.2 s until it succeeds or SECONDS pass.
wait_until() {
    local secs=$1 what=$2 end
    shift 2
    end=$(($(date +%s) + secs))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$end" ] || fail "$what did not happen within ${secs} s"
        sleep 0.2
    done
}

# running PIDFILE: the daemon of PIDFILE still runs (it may have exited on a bad config).
running() {
    local tag
    tag=$(basename "$1" .pid)
    alive "$1" >/dev/null || fail "$tag exited; the end of its log: $(tail -n 3 "$D/log/$tag.log" 2>/dev/null | tr '\n' ' ')"
}

idle_nodes() { [ "$(SLURM_CONF=$D/slurm.conf sinfo -h -t idle -o %D 2>/dev/null | awk '{n += $1} END {print n + 0}')" -ge "$N" ]; }

# fail REASON: up failed; the EXIT trap removes what up made.
fail() {
    printf '%s: up failed: %s (removed what it made)\n' "$ME" "$*" >&2
    exit 2
}

up() {
    local slurm=0 i start_s addr err end f what
    N=${1:-}
    [ "${2:-}" = --slurm ] && slurm=1
    if [ $# -gt 2 ] || { [ $# = 2 ] && [ "$slurm" = 0 ]; }; then die "usage: $ME up N [--slurm]"; fi
    case "$N" in '' | *[!0-9]*) die "bad N '$N': a number of nodes from 1 to $MAX_NODES" ;; esac
    [ "$N" -ge 1 ] && [ "$N" -le "$MAX_NODES" ] || die "bad N '$N': a number of nodes from 1 to $MAX_NODES"
    [ "$(id -u)" = 0 ] || cannot "needs root (network namespaces, sshd, slurmd)"
    start_s=$(date +%s)

    # One up/down at a time; the daemons do not inherit the lock (9>&- in start).
    take_lock

    if bridge_exists || ls /run/netns/sbn[1-9] >/dev/null 2>&1; then
        die "a cluster already exists ($BR or sbn namespaces; scratch dir $(scratch_dir)): run '$ME down' first"
    fi
    install_packages "$slurm"
    need ssh-keygen "install openssh-client"
    need nsenter "install util-linux"
    if [ "$slurm" = 1 ] && ss -Hltn 'sport = :6817' 2>/dev/null | grep -q .; then
        die "port 6817 (slurmctld) is in use on this host: stop that slurmctld first"
    fi

    D=${SB_CLUSTER_DIR:-/tmp/sb-cluster}
    case "$D" in /*) ;; *) D=$PWD/$D ;; esac
    if [ -e "$D" ] && [ -n "$(ls -A "$D" 2>/dev/null)" ] && [ ! -e "$D/$MARKER" ]; then
        die "scratch directory $D exists and is not empty: choose another SB_CLUSTER_DIR"
    fi
    # From here on every failure removes what up made.
    trap 'teardown "$D"' EXIT
    trap 'exit 2' INT TERM HUP
    rm -rf "$D" && mkdir -p "$D" && chmod 700 "$D" && touch "$D/$MARKER" && mkdir -p "$D/log" "$D/run" ||
        fail "cannot create the scratch directory $D"

    # Network.
    ip link add "$BR" type bridge 2>/dev/null || fail "cannot create bridge $BR"
    ip link set "$BR" alias "sb-cluster:$D" &&
        ip addr add "$BR_ADDR/24" dev "$BR" &&
        ip link set "$BR" up || fail "cannot configure bridge $BR"
    for i in $(seq "$N"); do
        addr=$(node_addr "$i")
        if ! err=$(ip netns add "sbn$i" 2>&1); then
            [ "$i" = 1 ] && { trap - EXIT; teardown "$D"; cannot "the kernel refuses network namespaces: $err"; }
            fail "cannot create namespace sbn$i: $err"
        fi
        err=$({ ip link add "sbv$i" type veth peer name eth0 netns "sbn$i" &&
            ip link set "sbv$i" master "$BR" up &&
            ip -n "sbn$i" addr add "$addr/24" dev eth0 &&
            ip -n "sbn$i" link set eth0 up &&
            ip -n "sbn$i" link set lo up; } 2>&1) || fail "cannot wire sbn$i ($addr): $err"
    done

    # sshd per node.
    write_ssh_files || fail "cannot write the ssh keys and configs into $D"
    mkdir -p /run/sshd # sshd's privilege separation directory (Debian makes it at boot)
    for i in $(seq "$N"); do
        start sshd "$i" "$SSHD" -D -f "$D/ssh/sshd_config" -E "$D/log/sshd-$i.log" \
            -o "ListenAddress=$(node_addr "$i"):22" -o "PidFile=none"
    done
    for i in $(seq "$N"); do
        running "$D/run/sshd-$i.pid"
        wait_until 10 "ssh to sbn$i" ssh -F "$D/ssh_config" -o ConnectTimeout=1 "sbn$i" true
    done

    if [ "$slurm" = 1 ]; then
        write_slurm_conf || fail "cannot write slurm.conf into $D"
        if command -v mungekey >/dev/null 2>&1; then
            mungekey -c -k "$D/munge/munge.key" >/dev/null 2>&1
        else
            dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 2>/dev/null
        fi || fail "cannot make a munge key"
        chmod 600 "$D/munge/munge.key"
        start munged - munged -F --force --key-file="$D/munge/munge.key" --socket="$D/munge/munge.socket.2" \
            --pid-file="$D/munge/munged.pid" --seed-file="$D/munge/munged.seed" --log-file="$D/log/munged.log"
        wait_until 10 "munged's socket" test -S "$D/munge/munge.socket.2"
        # shellcheck disable=SC2016 # $0 is the inner shell's
        start slurmctld - unshare --uts sh -c 'hostname ctl && exec slurmctld -D -f "$0"' "$D/slurm.conf"
        for i in $(seq "$N"); do
            start slurmd "$i" slurmd -D -f "$D/slurm.conf"
        done
        end=$(($(date +%s) + READY_TIMEOUT_S))
        until idle_nodes; do
            for f in "$D"/run/munged-host.pid "$D"/run/slurmctld-host.pid "$D"/run/slurmd-*.pid; do running "$f"; done
            [ "$(date +%s)" -lt "$end" ] ||
                fail "sinfo does not show $N idle nodes within ${READY_TIMEOUT_S} s but:" \
                    "$(SLURM_CONF=$D/slurm.conf timeout 5 sinfo -h -N -o '%N %T' 2>&1 | tr '\n' ' ')"
            sleep 0.5
        done
    fi
    trap - EXIT INT TERM HUP

    what="sshd on each"
    [ "$slurm" = 1 ] && what="$what; Slurm: slurmctld at $BR_ADDR, slurmd on each"
    log "$ME: up: $N nodes sbn1..sbn$N ($(node_addr 1)..$(node_addr "$N")) on $BR ($BR_ADDR), $what, in $(($(date +%s) - start_s)) s"
    log "$ME:   ssh -F $D/ssh_config sbn1 hostname;   $ME down  to remove it"
    echo "export SB_CLUSTER_DIR=$D"
    [ "$slurm" = 1 ] && echo "export SLURM_CONF=$D/slurm.conf"
    return 0
}

# ---- status / exec -----------------------------------------------------------------------

status() {
    local i d n=0 sshd slurmd
    d=$(scratch_dir)
    if ! bridge_exists; then
        echo "no cluster ($BR absent)"
        return 0
    fi
    echo "bridge $BR $BR_ADDR/24, scratch dir $d"
    for i in $(seq "$MAX_NODES"); do
        ns_exists "$i" || continue
        n=$((n + 1))
        sshd=no
        ssh -F "$d/ssh_config" -o ConnectTimeout=2 "$(node_addr "$i")" true >/dev/null 2>&1 && sshd=yes
        slurmd=-
        if [ -e "$d/slurm.conf" ]; then
            slurmd=$(SLURM_CONF=$d/slurm.conf timeout 5 sinfo -h -N -n "sbn$i" -o %T 2>/dev/null | head -1)
            slurmd=${slurmd:-no answer}
        fi
        printf 'sbn%s  %-12s  sshd: %-3s  slurmd: %s\n' "$i" "$(node_addr "$i")" "$sshd" "$slurmd"
    done
    [ -e "$d/slurm.conf" ] && echo "export SLURM_CONF=$d/slurm.conf"
    echo "ssh -F $d/ssh_config sbn1 hostname   ($n nodes)"
}

exec_in() {
    local i=${1:-} d pid
    shift || true
    case "$i" in '' | *[!0-9]*) die "usage: $ME exec I CMD..." ;; esac
    [ $# -gt 0 ] || die "usage: $ME exec I CMD..."
    ns_exists "$i" || die "no node sbn$i (is the cluster up?)"
    d=$(scratch_dir)
    # The node's hostname lives in the UTS namespace of its sshd.
    if pid=$(alive "$d/run/sshd-$i.pid"); then
        exec nsenter --net="/run/netns/sbn$i" --uts="/proc/$pid/ns/uts" "$@"
    fi
    exec nsenter --net="/run/netns/sbn$i" "$@"
}

case "${1:-}" in
up)
    shift
    up "$@"
    ;;
down) down ;;
status) status ;;
exec)
    shift
    exec_in "$@"
    ;;
install) install_packages 1 1 ;;
*) die "usage: $ME up N [--slurm] | down | status | exec I CMD... | install" ;;
esac
