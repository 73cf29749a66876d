#!/usr/bin/env bash
# The replication pipeline against the fetch path it stands on, in interleaved pairs.
#
#   scripts/bench-replication.sh [DIR] [--size 4GiB] [--pairs 5] [--partitions 4] [--rf 2]
#                                [--fetch-engine sendfile] [--consumer] [--tsv FILE] [--no-build]
#
# Each pair runs, in this process's machine, on loopback:
#   read       segbench read --engine FETCH --size SIZE --partitions P --cache hot: one consumer
#              sending the log to an in-process sink (bytes/s of the repetition);
#   replicate  segbench replicate --rf RF --acks 0 --leader-engine null --follower-engine null
#              --fetch-engine FETCH --size SIZE --partitions P --no-consumer: the leader serves a log written
#              and synced before the clock starts, the followers receive and discard; the
#              figure is the replicated rate, bytes every follower received over the time
#              until the last one caught up (followers_caught_up_s), times rf - 1 (what the
#              leader carried to all of them). --consumer keeps replicate's end-to-end consumer,
#              a thread that reads (copies) every byte below the high watermark beside the pipeline.
# Issue 15's target: replicate >= 0.8 x read. Pairs are interleaved (read first in odd pairs).
# No disk write is in either path: both are the page cache, the fetch engine, TCP and the
# receiver's copy, so the ratio is the cost of the replication protocol (requests, the high
# watermark, long-polled fetches, per-partition frames) and of the producer, leader and
# consumer threads sharing the machine's cores.
#
# Environment: SEGBENCH=/path/to/segbench skips the build; CARGO_TARGET_DIR is honoured.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=.
SIZE=4GiB
PAIRS=5
PARTS=4
RF=2
FETCH=sendfile
TSV=
# shellcheck disable=SC2034 # read by crosscheck_prepare (lib.sh)
BUILD=
TARGET=0.80
CONSUMER=
while [ $# -gt 0 ]; do
    case "$1" in
    --size) SIZE=${2:?--size needs a value}; shift 2 ;;
    --pairs) PAIRS=${2:?--pairs needs a value}; shift 2 ;;
    --partitions) PARTS=${2:?--partitions needs a value}; shift 2 ;;
    --rf) RF=${2:?--rf needs a value}; shift 2 ;;
    --fetch-engine) FETCH=${2:?--fetch-engine needs a value}; shift 2 ;;
    --consumer) CONSUMER=1; shift ;;
    *) crosscheck_opt "$@"; shift "$SHIFT" ;;
    esac
done
size_b=$(to_bytes "$SIZE")
[[ $PAIRS =~ ^[1-9][0-9]*$ ]] || die "--pairs must be a positive integer"
[[ $PARTS =~ ^[1-9][0-9]*$ ]] || die "--partitions must be a positive integer"
if ! { [[ $RF =~ ^[0-9]+$ ]] && [ "$RF" -ge 2 ]; }; then die "--rf must be at least 2 (one follower)"; fi

need python3 "install python3 (it parses the JSON outputs)"
# shellcheck disable=SC2086 # BUILD is empty or one word
SB=$(find_segbench $BUILD)
[ -d "$DIR" ] || die "$DIR is not a directory"

WORK=
cleanup() {
    if [ -n "$CHILD_PID" ] && kill -0 "$CHILD_PID" 2>/dev/null; then
        kill "$CHILD_PID" 2>/dev/null || true
        wait "$CHILD_PID" 2>/dev/null || true
    fi
    [ -n "$WORK" ] && [ -e "$WORK" ] && rm -rf -- "$WORK"
    return 0
}
trap cleanup EXIT
trap 'log "interrupted: cleaning up"; exit 130' INT TERM
WORK=$(mktemp -d "$DIR/bench-replication.XXXXXX") || die "cannot create a directory under $DIR"

# run_read: prints the read's bytes/s, or nan.
run_read() {
    local rc=0
    run_child "$WORK/read.json" "$WORK/read.err" "$SB" read --engine "$FETCH" --size "$size_b" \
        --partitions "$PARTS" --cache hot --repeat 1 --data-dir "$WORK/read-log" --json --quiet || rc=$?
    sb_figure "$rc" "$WORK/read.json" "$WORK/read.err"
    rm -rf -- "$WORK/read.json" "$WORK/read-log"
}

# run_replicate: prints the bytes/s the leader carried to its followers, or nan.
run_replicate() {
    local rc=0 out="$WORK/repl.json" consumer=(--no-consumer)
    [ -z "$CONSUMER" ] || consumer=()
    run_child "$out" "$WORK/repl.err" "$SB" replicate --rf "$RF" --acks 0 --leader-engine null \
        --follower-engine null --fetch-engine "$FETCH" --size "$size_b" --partitions "$PARTS" \
        --repeat 1 "${consumer[@]}" --dir "$WORK/repl" --json --quiet || rc=$?
    if [ "$rc" != 0 ]; then
        log "  segbench replicate failed (exit $rc): $(last_line "$WORK/repl.err")"
        echo nan
    else
        json_get "$out" "(lambda r: sum(r['extra']['follower_bytes']) / max(r['elapsed_s'], r['extra']['followers_caught_up_s']))(d['workloads'][0]['repetitions'][0])" 2>/dev/null || echo nan
    fi
    rm -rf -- "$out" "$WORK/repl"
}

echo "replication pipeline (null engines, rf $RF) vs segbench read, loopback, hot page cache"
machine_lines
echo "segbench: $("$SB" --version)"
echo "pairs:   $PAIRS of a $SIZE log in $PARTS partitions, fetch engine $FETCH, end-to-end consumer ${CONSUMER:+on}${CONSUMER:-off}; interleaved (read first in odd pairs)"
echo

PAIRS_TSV="$WORK/pairs.tsv"
: >"$PAIRS_TSV"
for p in $(seq 1 "$PAIRS"); do
    if [ $((p % 2)) = 1 ]; then
        a=$(run_read)
        b=$(run_replicate)
    else
        b=$(run_replicate)
        a=$(run_read)
    fi
    log "  pair $p: read $(mb "$a") MB/s, replicate (carried to $((RF - 1)) followers) $(mb "$b") MB/s  (load $(cut -d' ' -f1 /proc/loadavg))"
    printf 'replicate-rf%s\t%s\t%s\n' "$RF" "$a" "$b" >>"$PAIRS_TSV"
done
echo
summarize_pairs "$PAIRS_TSV" "$TARGET" "loopback, hot cache, $SIZE in $PARTS partitions; replicate = follower bytes over the time until caught up, all followers" read
echo "target >= $TARGET: the replication pipeline (null write engines) against segbench read --engine $FETCH (issue 15)."
echo
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$TSV" ]; then
    cp -- "$PAIRS_TSV" "$TSV"
    echo "per-pair figures (job, read B/s, replicate B/s): $TSV"
fi
