#!/usr/bin/env bash
# Cross-checks segbench's read engines against iperf3 over loopback.
#
#   scripts/crosscheck-iperf3.sh [DIR] [--time 3] [--pairs 5] [--size 1GiB] [--len 1MiB]
#                                [--port 5299] [--jobs sendfile,sendfile-small,readwrite,readwrite-file]
#                                [--tsv FILE] [--no-build]
#
# job             iperf3 (client -> server on 127.0.0.1)   segbench read (in-process loopback sink)
# sendfile        iperf3 -Z -t T -l LEN: sendfile(2) from  --engine sendfile --duration T
#                 a cached temporary file of LEN bytes
# sendfile-small  the same                                 the same, from a log of 2 x LEN bytes
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
# also on Ctrl-C.
#
# Not identical by design: iperf3 -Z sends the same LEN bytes of one small file over and over
# (they stay in the CPU caches); segbench's sendfile job sends SIZE distinct bytes of segment
# files from the page cache, as a broker serving a tail reader does, so the receiver's copy
# reads DRAM. sendfile-small gives segbench iperf3 -Z's footprint. Plain iperf3 reads no file
# at all, so segbench's readwrite (pread + send: one more copy) is expected well below it;
# readwrite-file is the like-for-like job for that path.
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
TARGET=0.90
while [ $# -gt 0 ]; do
    case "$1" in
    --time) TIME=${2:?--time needs seconds}; shift 2 ;;
    --size) SIZE=${2:?--size needs a value}; shift 2 ;;
    --pairs) PAIRS=${2:?--pairs needs a value}; shift 2 ;;
    --len) LEN=${2:?--len needs a value}; shift 2 ;;
    --port) PORT=${2:?--port needs a value}; shift 2 ;;
    --jobs) JOBS=${2:?--jobs needs a value}; shift 2 ;;
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
    case "$j" in sendfile | sendfile-small | readwrite | readwrite-file) ;; *) die "unknown job '$j' (sendfile, sendfile-small, readwrite, readwrite-file)" ;; esac
done

crosscheck_prepare iperf3
"$SB" read --help >/dev/null 2>&1 || die "this segbench has no 'read' command ($("$SB" --version))"
NO_PROBE=()
"$SB" read --no-probe --help >/dev/null 2>&1 && NO_PROBE=(--no-probe)

WORK=
SRV_PID=
cleanup() {
    if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
        kill "$SRV_PID" 2>/dev/null || true
        wait "$SRV_PID" 2>/dev/null || true
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
"$SB" write --engine buffered --size "$size_b" --partitions 1 --segment-size "$size_b" \
    --dir "$LOG" --repeat 1 --warmup 0 --keep --quiet "${NO_PROBE[@]}" >/dev/null 2>"$WORK/write.err" ||
    die "segbench write failed: $(last_line "$WORK/write.err")"
# A log of 2 x LEN bytes: a footprint like iperf3 -Z's LEN-byte file (sendfile-small).
if [[ ,$JOBS, == *,sendfile-small,* ]]; then
    "$SB" write --engine buffered --size $((2 * len_b)) --partitions 1 --segment-size "$size_b" \
        --dir "$SMALL_LOG" --repeat 1 --warmup 0 --keep --quiet "${NO_PROBE[@]}" >/dev/null 2>"$WORK/write.err" ||
        die "segbench write failed: $(last_line "$WORK/write.err")"
fi
# The largest segment file of that log: what iperf3 -F reads in the readwrite-file job.
SEGFILE=$(find "$LOG" -name '*.log' -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
[ -n "$SEGFILE" ] || die "no segment file found under $LOG"
cat -- "$SEGFILE" >/dev/null # hot in the page cache, as segbench's --cache hot makes the log

# The iperf3 server, on loopback only, at a fixed port.
iperf3 -s -B 127.0.0.1 -p "$PORT" >"$WORK/server.log" 2>&1 &
SRV_PID=$!
for _ in $(seq 1 50); do
    kill -0 "$SRV_PID" 2>/dev/null ||
        die "the iperf3 server did not start on 127.0.0.1:$PORT (port in use? try --port): $(tail -1 "$WORK/server.log")"
    if command -v ss >/dev/null 2>&1; then
        ss -ltnH "sport = :$PORT" 2>/dev/null | grep -q . && break
    else
        sleep 0.5
        break
    fi
    sleep 0.1
done

# run_iperf3 JOB: prints the receiver's bytes/s, or nan.
run_iperf3() {
    local job=$1 out="$WORK/iperf3.json" how bw
    case "$job" in
    sendfile | sendfile-small) how=(-t "$TIME" -Z) ;;
    readwrite) how=(-t "$TIME") ;;
    readwrite-file) how=(-F "$SEGFILE") ;;
    esac
    if iperf3 -c 127.0.0.1 -p "$PORT" -l "$len_b" "${how[@]}" -J >"$out" 2>"$WORK/iperf3.err"; then
        bw=$(json_get "$out" "d['end']['sum_received']['bytes'] / d['end']['sum_received']['seconds']" 2>/dev/null || echo nan)
    else
        log "  iperf3 failed: $(json_get "$out" "d.get('error','')" 2>/dev/null || tail -1 "$WORK/iperf3.err")"
        bw=nan
    fi
    rm -f -- "$out"
    echo "$bw"
}

# run_sb JOB: prints segbench's throughput_bytes_per_s, or nan.
run_sb() {
    local job=$1 out="$WORK/sb.json" how bw rc=0
    case "$job" in
    sendfile) how=(--dir "$LOG" --engine sendfile --duration "${TIME}s") ;;
    sendfile-small) how=(--dir "$SMALL_LOG" --engine sendfile --duration "${TIME}s") ;;
    readwrite) how=(--dir "$LOG" --engine "readwrite:buf=$len_b" --duration "${TIME}s") ;;
    readwrite-file) how=(--dir "$LOG" --engine "readwrite:buf=$len_b") ;;
    esac
    "$SB" read "${how[@]}" --fetch-size "$len_b" --cache hot --consumers 1 \
        --repeat 1 "${NO_PROBE[@]}" --json --quiet >"$out" 2>"$WORK/sb.err" || rc=$?
    bw=$(sb_figure "$rc" "$out" "$WORK/sb.err")
    rm -f -- "$out"
    echo "$bw"
}

echo "segbench vs iperf3: loopback, hot page cache"
machine_lines
echo "iperf3:  $(iperf3 --version 2>&1 | head -1)"
echo "segbench: $("$SB" --version)"
echo "pairs:   $PAIRS per job of ${TIME}s each, $LEN per call, log of $SIZE; interleaved (iperf3 first in odd pairs)"
echo

PAIRS_TSV="$WORK/pairs.tsv"
: >"$PAIRS_TSV"
for job in ${JOBS//,/ }; do
    for p in $(seq 1 "$PAIRS"); do
        if [ $((p % 2)) = 1 ]; then
            a=$(run_iperf3 "$job")
            b=$(run_sb "$job")
        else
            b=$(run_sb "$job")
            a=$(run_iperf3 "$job")
        fi
        log "  $job pair $p: iperf3 $(mb "$a") MB/s, segbench $(mb "$b") MB/s  (load $(cut -d' ' -f1 /proc/loadavg))"
        printf '%s\t%s\t%s\n' "$job" "$a" "$b" >>"$PAIRS_TSV"
    done
done
echo
summarize_pairs "$PAIRS_TSV" "$TARGET" "loopback (127.0.0.1), hot cache; ${TIME}s per run (readwrite-file: the $SIZE log once), $LEN per call" iperf3
echo "target >= $TARGET: sendfile jobs (vs iperf3 -Z). Plain iperf3 reads no file: readwrite-file is readwrite's like-for-like job."
echo
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$TSV" ]; then
    cp -- "$PAIRS_TSV" "$TSV"
    echo "per-pair figures (job, iperf3 B/s, segbench B/s): $TSV"
fi
