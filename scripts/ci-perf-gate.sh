#!/usr/bin/env bash
# CI performance gate: run a small fixed segbench workload, compare it with a stored baseline
# results file, write a Markdown summary for a pull-request comment, and exit with
# `segbench compare`'s code: 0 no regression, 1 a regression, 2 cannot compare (or cannot run).
#
#   scripts/ci-perf-gate.sh [options] [BASELINE]
#
# BASELINE defaults to ci/perf-baseline.json in this repository (found from the script's own
# location, whatever the working directory). It is recorded on the runner that runs the gate
# (the comparison refuses other hardware): see ci/README.md.
#
# Options:
#   --update-baseline     run the workload and store it as BASELINE (then commit it); exit 0
#   --out-dir DIR         where new.json and perf-gate.md go (default: target/perf-gate)
#   --segbench BIN        segbench binary (default: $SEGBENCH, else `cargo build --release`)
#   --new FILE            do not run; judge this results file
#   --workload-arg ARG    one more argument for `segbench write` (repeatable)
#   --compare-arg ARG     one more argument for `segbench compare` (repeatable)
#   -h, --help            this text
#
# The workload: buffered and io_uring (qd=8) appends of 64 MiB, 5 interleaved repetitions after a
# 500 ms warm-up (about 5 s). The verdict needs a change's whole 95% interval beyond the noise
# threshold; the thresholds below were measured on a shared 2-core VM (see scripts/gate-noise.sh):
# wall-clock throughput there swings up to 3x with other tenants' CPU load, CPU seconds per GB
# by about 10%. On a quiet dedicated runner, tighten them with --compare-arg, e.g.
#   --compare-arg=--threshold --compare-arg=throughput=10%
# If $GITHUB_STEP_SUMMARY is set (GitHub Actions), the Markdown summary is appended to it.
set -euo pipefail

WORKLOAD=(write --engine buffered --engine uring:qd=8 --size 64MiB --repeat 5 --warmup 500ms)
GATE=(--metric throughput,cpu --threshold throughput=40% --threshold cpu=10%)

. "$(dirname "$0")/lib.sh"

baseline=$SEGBENCH_REPO/ci/perf-baseline.json
out_dir=target/perf-gate
segbench=${SEGBENCH:-}
update=0
new=
workload_extra=()
compare_extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --update-baseline) update=1 ;;
        --out-dir) [ $# -ge 2 ] || die "--out-dir needs a directory"; out_dir=$2; shift ;;
        --out-dir=*) out_dir=${1#*=} ;;
        --segbench) [ $# -ge 2 ] || die "--segbench needs a path"; segbench=$2; shift ;;
        --segbench=*) segbench=${1#*=} ;;
        --new) [ $# -ge 2 ] || die "--new needs a file"; new=$2; shift ;;
        --new=*) new=${1#*=} ;;
        --workload-arg) [ $# -ge 2 ] || die "--workload-arg needs a value"; workload_extra+=("$2"); shift ;;
        --workload-arg=*) workload_extra+=("${1#*=}") ;;
        --compare-arg) [ $# -ge 2 ] || die "--compare-arg needs a value"; compare_extra+=("$2"); shift ;;
        --compare-arg=*) compare_extra+=("${1#*=}") ;;
        -h|--help) usage 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) baseline=$1 ;;
    esac
    shift
done

if [ $update -eq 0 ] && [ ! -f "$baseline" ]; then
    die "no baseline at $baseline. Record one on the reference build (main), on the runner that \
runs the gate: $0 --update-baseline $baseline, then commit it (see ci/README.md)"
fi

[ -n "$segbench" ] || segbench=$(find_segbench)
[ -x "$segbench" ] || die "segbench binary $segbench not found or not executable"

mkdir -p "$out_dir" || die "cannot create $out_dir"
if [ -z "$new" ]; then
    new="$out_dir/new.json"
    data="$out_dir/data"
    rm -rf "$data" # a previous run's leftovers (segbench removes its data itself on success)
    set +e
    "$segbench" "${WORKLOAD[@]}" ${workload_extra[@]+"${workload_extra[@]}"} --dir "$data" --out "$new" --quiet >"$out_dir/run.txt"
    rc=$?
    set -e
    if [ $rc -ne 0 ] || [ ! -f "$new" ]; then
        cat "$out_dir/run.txt" >&2
        log "ci-perf-gate: the benchmark run failed (exit $rc)"
        [ $rc -ne 0 ] && exit $rc
        exit 2
    fi
fi

if [ $update -eq 1 ]; then
    mkdir -p "$(dirname "$baseline")"
    cp "$new" "$baseline.tmp.$$" && mv "$baseline.tmp.$$" "$baseline"
    echo "ci-perf-gate: baseline updated: $baseline (commit it)"
    exit 0
fi

md="$out_dir/perf-gate.md"
set +e
"$segbench" compare "$baseline" "$new" "${GATE[@]}" ${compare_extra[@]+"${compare_extra[@]}"} --markdown "$md"
rc=$?
set -e
if [ -f "$md" ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat "$md" >>"$GITHUB_STEP_SUMMARY" || true
fi
[ -f "$md" ] && log "ci-perf-gate: Markdown summary in $md"
exit $rc
