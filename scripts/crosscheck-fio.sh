#!/usr/bin/env bash
# Cross-checks segbench's write engines against fio on the jobs they share.
#
#   scripts/crosscheck-fio.sh [DIR] [--size 1GiB] [--pairs 5] [--bs 128k] [--preallocate]
#                             [--jobs buffered,direct,uring1,uring8,uring32,mmap]
#                             [--no-shm | --shm-only] [--tsv FILE] [--no-build]
#
# For each job, fio and segbench run in interleaved pairs (fio first in odd pairs, segbench
# first in even ones, so drift and after-effects hit both alike) on the same directory: a fresh
# one under DIR (default: the current directory; the disk case) and a fresh one under /dev/shm
# (tmpfs; the memory case). The jobs are matched exactly: one job / one partition and thread,
# sequential appends of --bs to a new file of --size, the same O_DIRECT flag and queue depth,
# no fsync, no preallocation (or both preallocated with --preallocate).
#
#   job       fio                                              segbench --format raw
#   buffered  ioengine=psync                                   buffered
#   direct    ioengine=psync direct=1                          direct
#   uringN    ioengine=io_uring direct=1 fixedbufs=1           uring:qd=N,direct,fixed
#             registerfiles=1 iodepth=N  (N = 1, 8, 32)
#   mmap      ioengine=mmap on a file pre-sized with truncate  mmap (ftruncate + mapping)
#             (fio would otherwise write the whole file first)
#
# Prints a table per directory: fio and segbench MB/s (10^6 bytes/s; median, min-max), the
# median of the per-pair ratios segbench/fio and their spread. fio's figure is bw_bytes of
# --output-format=json; segbench's is the repetition's throughput_bytes_per_s.
# Every file it makes is removed at the end (also on Ctrl-C).
#
# Environment: SEGBENCH=/path/to/segbench skips the build; CARGO_TARGET_DIR is honoured.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=.
SIZE=1GiB
PAIRS=5
BS=128k
PREALLOC=0
JOBS=buffered,direct,uring1,uring8,uring32,mmap
SHM=both
TSV=
# shellcheck disable=SC2034 # read by crosscheck_prepare (lib.sh)
BUILD=
TARGET=0.95
while [ $# -gt 0 ]; do
    case "$1" in
    --size) SIZE=${2:?--size needs a value}; shift 2 ;;
    --pairs) PAIRS=${2:?--pairs needs a value}; shift 2 ;;
    --bs) BS=${2:?--bs needs a value}; shift 2 ;;
    --preallocate) PREALLOC=1; shift ;;
    --jobs) JOBS=${2:?--jobs needs a value}; shift 2 ;;
    --no-shm) SHM=no; shift ;;
    --shm-only) SHM=only; shift ;;
    *) crosscheck_opt "$@"; shift "$SHIFT" ;;
    esac
done

size_b=$(to_bytes "$SIZE")
bs_b=$(to_bytes "$BS")
[[ $PAIRS =~ ^[1-9][0-9]*$ ]] || die "--pairs must be a positive integer"
if ! { [ "$bs_b" -gt 0 ] && [ $((size_b % bs_b)) -eq 0 ]; }; then die "--size ($size_b bytes) must be a multiple of --bs ($bs_b bytes)"; fi
if ! { [ "$bs_b" -ge 4096 ] && [ $((bs_b % 4096)) -eq 0 ]; }; then die "--bs must be a multiple of 4 KiB (O_DIRECT jobs)"; fi
for j in ${JOBS//,/ }; do
    case "$j" in buffered | direct | mmap | uring[0-9]*) ;; *) die "unknown job '$j' (buffered, direct, uringN, mmap)" ;; esac
done

crosscheck_prepare fio

WORKDIRS=()
cleanup() {
    local w
    for w in "${WORKDIRS[@]}"; do
        [ -n "$w" ] && [ -e "$w" ] && rm -rf -- "$w"
    done
    return 0
}
trap cleanup EXIT
trap 'log "interrupted: cleaning up"; exit 130' INT TERM

OUT=$(mktemp "${TMPDIR:-/tmp}/crosscheck-fio.XXXXXX.tsv")
WORKDIRS+=("$OUT")

fio_args() { # JOB -> fio engine options
    local fa=none
    [ "$PREALLOC" = 1 ] && fa=native
    case "$1" in
    buffered) echo "--ioengine=psync --direct=0 --iodepth=1 --fallocate=$fa" ;;
    direct) echo "--ioengine=psync --direct=1 --iodepth=1 --fallocate=$fa" ;;
    uring*) echo "--ioengine=io_uring --direct=1 --fixedbufs=1 --registerfiles=1 --iodepth=${1#uring} --fallocate=$fa" ;;
    mmap) echo "--ioengine=mmap --direct=0 --iodepth=1 --fallocate=none" ;;
    esac
}
sb_engine() {
    case "$1" in
    uring*) echo "uring:qd=${1#uring},direct,fixed" ;;
    *) echo "$1" ;;
    esac
}

# run_fio JOB WORK N: prints fio's bw_bytes, or nan when fio failed.
run_fio() {
    local job=$1 work=$2 n=$3 f="$2/fio-$3.dat" out="$2/fio-$3.json" bw
    rm -f -- "$f"
    if [ "$job" = mmap ]; then
        # fio's mmap engine lays a new file out (writes it whole) before the job; a file already
        # of the job's size is used as it is: sparse (truncate), as segbench's mmap engine makes
        # it, or allocated (fallocate) as with --preallocate.
        if [ "$PREALLOC" = 1 ]; then fallocate -l "$size_b" "$f"; else truncate -s "$size_b" "$f"; fi
    fi
    # shellcheck disable=SC2046
    if fio --name=crosscheck --filename="$f" --rw=write --bs="$bs_b" --size="$size_b" \
        --numjobs=1 --end_fsync=0 --output-format=json $(fio_args "$job") >"$out" 2>"$work/fio.err"; then
        bw=$(json_get "$out" "d['jobs'][0]['write']['bw_bytes']" 2>/dev/null || echo nan)
    else
        log "  fio failed: $(last_line "$work/fio.err")"
        bw=nan
    fi
    rm -f -- "$f" "$out"
    echo "$bw"
}

# run_sb JOB WORK N: prints segbench's throughput_bytes_per_s, or nan when it failed or skipped.
run_sb() {
    local job=$1 work=$2 n=$3 d="$2/sb-$3" out="$2/sb-$3.json" bw rc=0
    local pre=()
    [ "$PREALLOC" = 1 ] && pre=(--preallocate)
    "$SB" write --engine "$(sb_engine "$job")" --format raw --batch-size "$bs_b" --size "$size_b" \
        --segment-size "$size_b" --partitions 1 --threads 1 --dir "$d" --repeat 1 --warmup 0 \
        --json --quiet --no-probe "${pre[@]}" >"$out" 2>"$work/sb.err" || rc=$?
    bw=$(sb_figure "$rc" "$out" "$work/sb.err")
    rm -rf -- "$d" "$out"
    echo "$bw"
}

# crosscheck BASE LABEL: runs every job in a fresh directory under BASE, prints the table.
crosscheck() {
    local base=$1 label=$2 work job p a b tsv
    work=$(mktemp -d "$base/crosscheck-fio.XXXXXX") || die "cannot create a directory under $base"
    WORKDIRS+=("$work")
    tsv="$work/pairs.tsv"
    : >"$tsv"
    log "== $label: $work ($(fs_line "$work")), $PAIRS pairs of $SIZE in blocks of $BS"
    for job in ${JOBS//,/ }; do
        for p in $(seq 1 "$PAIRS"); do
            if [ $((p % 2)) = 1 ]; then
                a=$(run_fio "$job" "$work" "$p"); sync
                b=$(run_sb "$job" "$work" "$p"); sync
            else
                b=$(run_sb "$job" "$work" "$p"); sync
                a=$(run_fio "$job" "$work" "$p"); sync
            fi
            log "  $job pair $p: fio $(mb "$a") MB/s, segbench $(mb "$b") MB/s  (load $(cut -d' ' -f1 /proc/loadavg))"
            printf '%s\t%s\t%s\n' "$job" "$a" "$b" >>"$tsv"
        done
    done
    echo
    summarize_pairs "$tsv" "$TARGET" "$label: $(fs_line "$work") ($base); $SIZE per run, bs $BS$([ "$PREALLOC" = 1 ] && echo ', preallocated')" fio
    sed "s/^/$label\t/" "$tsv" >>"$OUT"
    rm -rf -- "$work"
}

echo "segbench vs fio: write jobs"
machine_lines
echo "fio:     $(fio --version)"
echo "segbench: $("$SB" --version)"
echo "pairs:   $PAIRS per job, interleaved (fio first in odd pairs, segbench first in even pairs)"
echo
case "$SHM" in
only) crosscheck /dev/shm tmpfs ;;
no) crosscheck "$DIR" disk ;;
*)
    crosscheck "$DIR" disk
    echo
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then crosscheck /dev/shm tmpfs; else log "no writable /dev/shm: tmpfs case skipped"; fi
    ;;
esac
echo
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$TSV" ]; then
    cp -- "$OUT" "$TSV"
    echo "per-pair figures (medium, job, fio B/s, segbench B/s): $TSV"
fi
