#!/usr/bin/env bash
# Measures the CI performance gate (scripts/ci-perf-gate.sh) on this machine:
#
#  1. false alarms: PAIRS times, store a baseline with the current build and gate a second run
#     of the same build against it; the gate should exit 0 (no regression), and ideally say
#     "no significant change" on every metric, in at least 19 of 20 pairs;
#  2. sensitivity: for each engine of the gate's workload, TRIALS times, store a baseline, then
#     run that engine alone at half the speed the baseline measured (`--rate`) and gate it; the
#     gate should exit 1 every time.
#
#   scripts/gate-noise.sh [--pairs N] [--trials N] [--segbench BIN] [--out-dir DIR]
#
# Prints one line per comparison and the two figures at the end. Needs python3 (to read the
# baseline's median throughput for --rate). Takes about 10 s per pair.
set -euo pipefail

pairs=20
trials=3
out_dir=target/gate-noise
segbench=${SEGBENCH:-}
. "$(dirname "$0")/lib.sh"
while [ $# -gt 0 ]; do
    case "$1" in
        --pairs) pairs=$2; shift ;;
        --trials) trials=$2; shift ;;
        --segbench) segbench=$2; shift ;;
        --out-dir) out_dir=$2; shift ;;
        -h|--help) usage 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
    shift
done

gate="$SEGBENCH_REPO/scripts/ci-perf-gate.sh"
[ -n "$segbench" ] || segbench=$(find_segbench)
need python3 "it reads medians from results files (e.g. apt-get install python3)"
mkdir -p "$out_dir"

clean=0
quiet=0
echo "== false alarms: $pairs pairs of runs of the same build"
for i in $(seq 1 "$pairs"); do
    d="$out_dir/pair$i"
    rm -rf "$d"
    "$gate" --segbench "$segbench" --out-dir "$d" --update-baseline "$d/base.json" >/dev/null
    set +e
    "$gate" --segbench "$segbench" --out-dir "$d" "$d/base.json" >"$d/compare.txt" 2>"$d/stderr.txt"
    rc=$?
    set -e
    [ $rc -eq 2 ] && { cat "$d/stderr.txt" >&2; die "pair $i: the gate could not compare (exit 2)"; }
    [ $rc -eq 0 ] && clean=$((clean + 1))
    summary=$(grep -E '^[0-9]+ regressed, ' "$d/compare.txt" || true)
    case "$summary" in "0 regressed, 0 improved,"*) quiet=$((quiet + 1)) ;; esac
    echo "pair $i: exit $rc; ${summary%% (*}"
done

echo "== sensitivity: each engine at half its measured speed, $trials trials"
caught=0
total=0
for engine in buffered uring:qd=8; do
    for k in $(seq 1 "$trials"); do
        d="$out_dir/slow-${engine//[:=]/_}-$k"
        rm -rf "$d"
        "$gate" --segbench "$segbench" --out-dir "$d" --update-baseline "$d/base.json" >/dev/null
        median=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
w = [w for w in r["workloads"] if w["engine"] == sys.argv[2]][0]
print(int(w["summary"]["throughput_bytes_per_s"]["median"]))' "$d/base.json" "$engine")
        rate_mb=$((median / 2000000))
        mkdir -p "$d/slow"
        "$segbench" write --engine "$engine" --size 64MiB --repeat 5 --warmup 500ms \
            --rate "${rate_mb}MB/s" --dir "$d/slow/data" --out "$d/slow.json" --quiet >/dev/null
        set +e
        "$gate" --segbench "$segbench" --out-dir "$d" --new "$d/slow.json" \
            --compare-arg=--ignore-config --compare-arg=rate_bytes_per_s \
            "$d/base.json" >"$d/compare.txt" 2>"$d/stderr.txt"
        rc=$?
        set -e
        [ $rc -eq 2 ] && { cat "$d/stderr.txt" >&2; die "$engine trial $k: the gate could not compare"; }
        total=$((total + 1))
        [ $rc -eq 1 ] && caught=$((caught + 1))
        rows=$(grep -E "^write/$engine " "$d/compare.txt" | sed "s|^write/$engine *||" | tr -s ' ' | paste -sd ';' -)
        echo "$engine trial $k: base median $((median / 1000000)) MB/s, paced at ${rate_mb} MB/s: exit $rc; $rows"
    done
done

echo
echo "false alarms: the gate passed (exit 0) $clean of $pairs pairs of runs of the same build;"
echo "              no significant change on every metric in $quiet of $pairs"
echo "slowdown:     a run at half the measured speed was caught (exit 1) $caught of $total times"
[ "$clean" -ge $((pairs * 19 / 20)) ] && [ "$caught" -eq "$total" ]
