#!/usr/bin/env bash
# Cross-checks segbench's read engines against iperf3 over loopback, or with --netns across a
# pair of network namespaces joined by a veth pair (scripts/netns-pair.sh).
#
#   scripts/crosscheck-iperf3.sh [DIR] [--time 3] [--pairs 5] [--size 1GiB] [--len 1MiB]
#                                [--port 5299] [--jobs sendfile,sendfile-small,readwrite,readwrite-file]
#                                [--jobs ...,sendfile-file] [--netns [--pin]] [--tsv FILE] [--no-build]
#
# job             iperf3 (client -> server on 127.0.0.1)   segbench read (in-process loopback sink)
# sendfile        iperf3 -Z -t T -l LEN: sendfile(2) from  --engine sendfile --duration T
#                 a cached temporary file of LEN bytes
# sendfile-small  the same                                 the same, from a log of 2 x LEN bytes
# sendfile-file   iperf3 -Z -F SEGMENT: sendfile(2) the    --engine sendfile, the log once
#                 cached segment file, once
# readwrite       iperf3 -t T -l LEN: send(2) from one     --engine readwrite:buf=LEN --duration T
#                 user buffer (no file is read)
# readwrite-file  iperf3 -F SEGMENT -l LEN: read(2) the    --engine readwrite:buf=LEN, the log once
#                 cached segment file, send(2) it, once
#
# One stream each way: one iperf3 connection; one segbench consumer (--cache hot) reading one
# partition of SIZE bytes (written once, first, by `segbench write`; read over and over for T
# seconds, or once for readwrite-file, whose iperf3 side reads that log's segment file). LEN is
# iperf3's buffer (bytes per send, sendfile or read call) and segbench's fetch size. Runs are
# timed where iperf3 allows it, so both reach a steady state (TCP window growth takes a good
# part of a sub-second run); iperf3 -F stops at the end of its file. Pairs are interleaved
# (iperf3 first in odd pairs, segbench first in even ones). iperf3's figure is the receiver's
# (end.sum_received: bytes over the receiver's time), segbench's the repetition's
# throughput_bytes_per_s. The iperf3 server listens on 127.0.0.1:PORT and is killed at the end;
# every file made (the log in a fresh directory under DIR, default the current one) is removed,
# also on Ctrl-C. Target: segbench's sendfile jobs at >= 0.90x iperf3 -Z on loopback.
#
# --netns: the same jobs, pairs and interleaving across two network namespaces made for this
# run (sbx-a-PID and sbx-b-PID, addresses 198.19.N.1 and .2/24 with N from the PID, veth MTU
# from $MTU, default 1500). In namespace A: the iperf3 server (-B ADDR_A -p PORT) and a
# `segbench sink --listen ADDR_A:PORT+1`; in namespace B: the iperf3 client and
# `segbench read --sink ADDR_A:PORT+1`. Target: >= 0.95x iperf3 -Z for the sendfile jobs. The
# server, the sink and both namespaces are removed on every exit, Ctrl-C too. Needs root and
# ip(8) (otherwise exit 2); the host's interfaces, routes and firewall are never touched.
#
# Not identical by design: iperf3 -Z sends the same LEN bytes of one small file over and over
# (they stay in the CPU caches); segbench's sendfile job sends SIZE distinct bytes of segment
# files from the page cache, as a broker serving a tail reader does, so the receiver's copy
# reads DRAM. sendfile-small gives segbench iperf3 -Z's footprint. Plain iperf3 reads no file
# at all, so segbench's readwrite (pread + send: one more copy) is expected well below it;
# readwrite-file is the like-for-like job for that path, and sendfile-file for sendfile (same
# footprint, the same 1 GiB of page cache sent once by both tools; not in the default jobs).
#
# --pin (with --netns): every command in namespace A runs on CPU 0 and every one in B on CPU 1
# (taskset), both tools alike, so the sender and the receiver never share a core; on 2 cores
# the scheduler otherwise moves them, and both tools lose 10-15 %.
#
# Environment: SEGBENCH=/path/to/segbench skips the build; CARGO_TARGET_DIR is honoured.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=.
TIME=3
SIZE=1GiB
PAIRS=5
LEN=1MiB
PORT=5299
JOBS=sendfile,sendfile-small,readwrite,readwrite-file
TSV=
# shellcheck disable=SC2034 # read by crosscheck_prepare (lib.sh)
BUILD=
NETNS=
PIN=
while [ $# -gt 0 ]; do
    case "$1" in
    --time) TIME=${2:?--time needs seconds}; shift 2 ;;
    --size) SIZE=${2:?--size needs a value}; shift 2 ;;
    --pairs) PAIRS=${2:?--pairs needs a value}; shift 2 ;;
    --len) LEN=${2:?--len needs a value}; shift 2 ;;
    --port) PORT=${2:?--port needs a value}; shift 2 ;;
    --jobs) JOBS=${2:?--jobs needs a value}; shift 2 ;;
    --netns) NETNS=1; shift ;;
    --pin) PIN=1; shift ;;
    *) crosscheck_opt "$@"; shift "$SHIFT" ;;
    esac
done

size_b=$(to_bytes "$SIZE")
len_b=$(to_bytes "$LEN")
[[ $TIME =~ ^[1-9][0-9]*$ ]] || die "--time must be a whole number of seconds"
[[ $PAIRS =~ ^[1-9][0-9]*$ ]] || die "--pairs must be a positive integer"
if ! { [[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -gt 0 ] && [ "$PORT" -lt 65536 ]; }; then die "--port must be 1..65535"; fi
if ! { [ "$len_b" -gt 0 ] && [ "$size_b" -ge "$len_b" ]; }; then die "--size must be at least --len"; fi
for j in ${JOBS//,/ }; do
    case "$j" in sendfile | sendfile-small | sendfile-file | readwrite | readwrite-file) ;; *) die "unknown job '$j' (sendfile, sendfile-small, sendfile-file, readwrite, readwrite-file)" ;; esac
done
[ -z "$PIN" ] || [ -n "$NETNS" ] || die "--pin needs --netns (on loopback segbench's sink runs in the reader's own process)"
# Where the traffic goes: SRV (the iperf3 server's and segbench sink's address) and how to run a
# command on either side (IN_A: the servers, IN_B: the clients; empty on loopback).
IN_A=()
IN_B=()
NS_A=
NS_B=
if [ -n "$NETNS" ]; then
    [ "$(id -u)" = 0 ] || die "--netns needs root (it creates network namespaces): run it with sudo, or drop --netns"
    command -v ip >/dev/null 2>&1 || die "--netns needs ip(8): install iproute2 (e.g. apt-get install iproute2), or drop --netns"
    [ "$PORT" -lt 65535 ] || die "--port must be 1..65534 with --netns (the sink listens on PORT+1)"
    NS_A="sbx-a-$$"
    NS_B="sbx-b-$$"
    NET=$(($$ % 254 + 1)) # 198.19.NET.0/24, inside 198.18.0.0/15
    ADDR_A="198.19.$NET.1"
    ADDR_B="198.19.$NET.2"
    SRV=$ADDR_A
    SINK="$ADDR_A:$((PORT + 1))"
    IN_A=(ip netns exec "$NS_A")
    IN_B=(ip netns exec "$NS_B")
    PATH_LINE="namespace pair $ADDR_B -> $ADDR_A over veth (mtu ${MTU:-1500})"
    if [ -n "$PIN" ]; then
        command -v taskset >/dev/null 2>&1 || die "--pin needs taskset(1): install util-linux, or drop --pin"
        [ "$(nproc)" -ge 2 ] || die "--pin needs 2 CPUs (the servers on CPU 0, the clients on CPU 1); this machine has $(nproc)"
        IN_A+=(taskset -c 0)
        IN_B+=(taskset -c 1)
        PATH_LINE="$PATH_LINE, servers pinned to CPU 0 and clients to CPU 1"
    fi
    TARGET=0.95
else
    SRV=127.0.0.1
    PATH_LINE="loopback (127.0.0.1)"
    TARGET=0.90
fi

crosscheck_prepare iperf3
"$SB" read --help >/dev/null 2>&1 || die "this segbench has no 'read' command ($("$SB" --version))"
NO_PROBE=()
"$SB" read --no-probe --help >/dev/null 2>&1 && NO_PROBE=(--no-probe)

WORK=
SRV_PID=
SINK_PID=
NS_UP=
# stop PID: kills and reaps one process this script started.
stop() {
    if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
        kill "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
cleanup() {
    stop "$CHILD_PID" # a run cut short (run_child, lib.sh)
    stop "$SRV_PID"
    stop "$SINK_PID"
    if [ -n "$NS_UP" ]; then
        # Whatever still runs in this run's namespaces (a client cut short by a signal), then
        # the namespaces themselves (the veth pair goes with them).
        for ns in "$NS_A" "$NS_B"; do
            ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
        done
        NETNS_A=$NS_A NETNS_B=$NS_B sh "$SEGBENCH_REPO/scripts/netns-pair.sh" down ||
            log "could not remove the namespaces $NS_A and $NS_B: remove them with 'ip netns delete'"
    fi
    [ -n "$WORK" ] && [ -e "$WORK" ] && rm -rf -- "$WORK"
    return 0
}
trap cleanup EXIT
trap 'log "interrupted: cleaning up"; exit 130' INT TERM

WORK=$(mktemp -d "$DIR/crosscheck-iperf3.XXXXXX") || die "cannot create a directory under $DIR"
LOG="$WORK/log"
SMALL_LOG="$WORK/small-log"

# The log segbench serves: one partition of SIZE bytes of Kafka batches, written once.
log "writing the log segbench reads: $SIZE, one partition ($LOG) ..."
run_child /dev/null "$WORK/write.err" "$SB" write --engine buffered --size "$size_b" --partitions 1 \
    --segment-size "$size_b" --dir "$LOG" --repeat 1 --warmup 0 --keep --quiet "${NO_PROBE[@]}" ||
    die "segbench write failed: $(last_line "$WORK/write.err")"
# A log of 2 x LEN bytes: a footprint like iperf3 -Z's LEN-byte file (sendfile-small).
if [[ ,$JOBS, == *,sendfile-small,* ]]; then
    run_child /dev/null "$WORK/write.err" "$SB" write --engine buffered --size $((2 * len_b)) --partitions 1 \
        --segment-size "$size_b" --dir "$SMALL_LOG" --repeat 1 --warmup 0 --keep --quiet "${NO_PROBE[@]}" ||
        die "segbench write failed: $(last_line "$WORK/write.err")"
fi
# The largest segment file of that log: what iperf3 -F reads in the readwrite-file job.
SEGFILE=$(find "$LOG" -name '*.log' -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
[ -n "$SEGFILE" ] || die "no segment file found under $LOG"
cat -- "$SEGFILE" >/dev/null # hot in the page cache, as segbench's --cache hot makes the log

if [ -n "$NETNS" ]; then
    if ip netns list | awk '{print $1}' | grep -qx -e "$NS_A" -e "$NS_B"; then
        die "namespace $NS_A or $NS_B already exists (left by an earlier run?): remove it with 'ip netns delete'"
    fi
    NS_UP=1 # from here on, cleanup removes them (also when cut short while they are made)
    ADDR_A=$ADDR_A ADDR_B=$ADDR_B NETNS_A=$NS_A NETNS_B=$NS_B sh "$SEGBENCH_REPO/scripts/netns-pair.sh" up >&2 ||
        die "cannot create the network namespace pair (see above)"
fi

# await_listen PID PORT WHAT LOGFILE: waits (at most ~5 s) until PORT listens in namespace A
# (or on the host), dying with LOGFILE's last line when PID exits first.
await_listen() {
    local pid=$1 port=$2 what=$3 file=$4
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null ||
            die "$what did not start on $SRV:$port (port in use? try --port): $(tail -1 "$file")"
        if command -v ss >/dev/null 2>&1; then
            "${IN_A[@]}" ss -ltnH "sport = :$port" 2>/dev/null | grep -q . && return 0
        else
            sleep 0.5
            return 0
        fi
        sleep 0.1
    done
    die "$what does not listen on $SRV:$port after 5 s: $(tail -1 "$file")"
}

# The iperf3 server at a fixed port: on loopback, or in namespace A.
"${IN_A[@]}" iperf3 -s -B "$SRV" -p "$PORT" >"$WORK/server.log" 2>&1 &
SRV_PID=$!
await_listen "$SRV_PID" "$PORT" "the iperf3 server" "$WORK/server.log"
# In netns mode segbench sends to a sink in namespace A, as iperf3 does to its server.
SB_SINK=()
if [ -n "$NETNS" ]; then
    "${IN_A[@]}" "$SB" sink --listen "$SINK" --quiet >"$WORK/sink.log" 2>&1 &
    SINK_PID=$!
    await_listen "$SINK_PID" "$((PORT + 1))" "segbench sink" "$WORK/sink.log"
    SB_SINK=(--sink "$SINK")
fi

# run_iperf3 JOB: sets BW to the receiver's bytes/s, or nan.
run_iperf3() {
    local job=$1 out="$WORK/iperf3.json" how
    case "$job" in
    sendfile | sendfile-small) how=(-t "$TIME" -Z) ;;
    sendfile-file) how=(-Z -F "$SEGFILE") ;;
    readwrite) how=(-t "$TIME") ;;
    readwrite-file) how=(-F "$SEGFILE") ;;
    esac
    if run_child "$out" "$WORK/iperf3.err" "${IN_B[@]}" iperf3 -c "$SRV" -p "$PORT" -l "$len_b" "${how[@]}" -J; then
        BW=$(json_get "$out" "d['end']['sum_received']['bytes'] / d['end']['sum_received']['seconds']" 2>/dev/null || echo nan)
    else
        log "  iperf3 failed: $(json_get "$out" "d.get('error','')" 2>/dev/null || tail -1 "$WORK/iperf3.err")"
        BW=nan
    fi
    rm -f -- "$out"
}

# run_sb JOB: sets BW to segbench's throughput_bytes_per_s, or nan.
run_sb() {
    local job=$1 out="$WORK/sb.json" how rc=0
    case "$job" in
    sendfile) how=(--dir "$LOG" --engine sendfile --duration "${TIME}s") ;;
    sendfile-small) how=(--dir "$SMALL_LOG" --engine sendfile --duration "${TIME}s") ;;
    readwrite) how=(--dir "$LOG" --engine "readwrite:buf=$len_b" --duration "${TIME}s") ;;
    readwrite-file) how=(--dir "$LOG" --engine "readwrite:buf=$len_b") ;;
    sendfile-file) how=(--dir "$LOG" --engine sendfile) ;;
    esac
    run_child "$out" "$WORK/sb.err" "${IN_B[@]}" "$SB" read "${how[@]}" "${SB_SINK[@]}" --fetch-size "$len_b" \
        --cache hot --consumers 1 --repeat 1 "${NO_PROBE[@]}" --json --quiet || rc=$?
    BW=$(sb_figure "$rc" "$out" "$WORK/sb.err")
    rm -f -- "$out"
}

echo "segbench vs iperf3: $PATH_LINE, hot page cache"
machine_lines
echo "iperf3:  $(iperf3 --version 2>&1 | head -1)"
echo "segbench: $("$SB" --version)"
echo "pairs:   $PAIRS per job of ${TIME}s each, $LEN per call, log of $SIZE; interleaved (iperf3 first in odd pairs)"
echo

PAIRS_TSV="$WORK/pairs.tsv"
: >"$PAIRS_TSV"
for job in ${JOBS//,/ }; do
    for p in $(seq 1 "$PAIRS"); do
        # In this shell, not in $(...), so that Ctrl-C stops the run at once (run_child).
        if [ $((p % 2)) = 1 ]; then
            run_iperf3 "$job"
            a=$BW
            run_sb "$job"
            b=$BW
        else
            run_sb "$job"
            b=$BW
            run_iperf3 "$job"
            a=$BW
        fi
        log "  $job pair $p: iperf3 $(mb "$a") MB/s, segbench $(mb "$b") MB/s  (load $(cut -d' ' -f1 /proc/loadavg))"
        printf '%s\t%s\t%s\n' "$job" "$a" "$b" >>"$PAIRS_TSV"
    done
done
echo
summarize_pairs "$PAIRS_TSV" "$TARGET" "$PATH_LINE, hot cache; ${TIME}s per run (readwrite-file: the $SIZE log once), $LEN per call" iperf3
echo "target >= $TARGET: sendfile jobs (vs iperf3 -Z). Plain iperf3 reads no file: readwrite-file is readwrite's like-for-like job."
echo
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$TSV" ]; then
    cp -- "$PAIRS_TSV" "$TSV"
    echo "per-pair figures (job, iperf3 B/s, segbench B/s): $TSV"
fi
