# shellcheck shell=bash
# Shared helpers of the scripts in scripts/ (sourced, not run): logging and dying (exit 2),
# finding or building segbench, installing tools, sizes, JSON and the cross-checks' tables.
# Needs bash and python3 (JSON parsing and statistics).

# Repository root (this file lives in scripts/).
SEGBENCH_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '%s\n' "$*" >&2; }

# usage [CODE]: prints the script's opening comment (its help, without the `# `) and exits with
# CODE (default 0).
usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit "${1:-0}"
}
die() {
    printf '%s: %s\n' "$(basename "$0")" "$*" >&2
    exit 2
}

# need CMD "how to get it": exits 2 with a hint when CMD is missing.
need() {
    command -v "$1" >/dev/null 2>&1 || die "$1 is missing: $2"
}

# ensure_tool CMD PACKAGE: installs PACKAGE with apt-get when CMD is missing and we are root,
# otherwise stops with the command to run.
ensure_tool() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing $pkg (apt-get install -y $pkg) ..."
        DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >/dev/null 2>&1; } ||
            die "could not install $pkg: install it (e.g. sudo apt-get install $pkg) and run again"
        command -v "$cmd" >/dev/null 2>&1 || die "$pkg installed but $cmd is still missing"
    else
        die "$cmd is missing: install it first (e.g. sudo apt-get install $pkg, or dnf install $pkg) and run again"
    fi
}

# to_bytes SIZE: 1GiB / 512MiB / 128KiB / 128k / 1G (binary) or 1GB / 100MB (decimal) or plain bytes.
to_bytes() {
    local s=$1 n u
    if [[ ! $s =~ ^([0-9]+)([A-Za-z]*)$ ]]; then
        die "bad size '$s' (use e.g. 512MiB, 1GiB, 128k)"
    fi
    n=${BASH_REMATCH[1]}
    u=${BASH_REMATCH[2]}
    case "$u" in
    "" | B | b) echo "$n" ;;
    k | K | KiB | Ki | kib) echo $((n * 1024)) ;;
    m | M | MiB | Mi | mib) echo $((n * 1024 * 1024)) ;;
    g | G | GiB | Gi | gib) echo $((n * 1024 * 1024 * 1024)) ;;
    KB | kB) echo $((n * 1000)) ;;
    MB) echo $((n * 1000 * 1000)) ;;
    GB) echo $((n * 1000 * 1000 * 1000)) ;;
    *) die "bad size unit in '$s' (use KiB/MiB/GiB, k/m/g, or KB/MB/GB)" ;;
    esac
}

# find_segbench [--no-build]: prints the path of a release segbench binary. $SEGBENCH wins;
# otherwise `cargo build --release` in the repository (quick when up to date) unless --no-build.
find_segbench() {
    if [ -n "${SEGBENCH:-}" ]; then
        [ -x "$SEGBENCH" ] || die "SEGBENCH=$SEGBENCH is not an executable"
        echo "$SEGBENCH"
        return
    fi
    local target="${CARGO_TARGET_DIR:-$SEGBENCH_REPO/target}"
    case "$target" in /*) ;; *) target="$SEGBENCH_REPO/$target" ;; esac
    if [ "${1:-}" != --no-build ]; then
        need cargo "install a Rust toolchain (https://rustup.rs), or set SEGBENCH=/path/to/segbench"
        log "building segbench (cargo build --release) ..."
        (cd "$SEGBENCH_REPO" && cargo build --release --quiet) >&2 || die "cargo build --release failed"
    fi
    [ -x "$target/release/segbench" ] || die "no $target/release/segbench: build it (cargo build --release) or set SEGBENCH"
    echo "$target/release/segbench"
}

# crosscheck_opt ARGS...: the options every cross-check takes, for the catch-all branch of its
# own option loop: --tsv FILE, --no-build, -h/--help, and DIR (any other word); another option
# prints the usage and exits 2. Sets TSV, BUILD or DIR, and SHIFT to the number of words taken.
# shellcheck disable=SC2034 # the caller's variables
crosscheck_opt() {
    case "$1" in
    --tsv) TSV=${2:?--tsv needs a file}; SHIFT=2 ;;
    --no-build) BUILD=--no-build; SHIFT=1 ;;
    -h | --help) usage 0 ;;
    -*) log "unknown option $1"; usage 2 ;;
    *) DIR=$1; SHIFT=1 ;;
    esac
}

# crosscheck_prepare TOOL: what every cross-check needs before it runs: python3, TOOL (the
# package of the same name installed when missing), segbench's path in SB (built unless
# BUILD=--no-build), and DIR an existing directory.
# shellcheck disable=SC2034 # SB is the caller's
crosscheck_prepare() {
    need python3 "install python3 (it parses the JSON outputs)"
    ensure_tool "$1" "$1"
    # shellcheck disable=SC2086 # BUILD is empty or one word
    SB=$(find_segbench $BUILD)
    [ -d "$DIR" ] || die "$DIR is not a directory"
}

# mb BYTES_PER_S: the figure in MB/s (10^6 bytes/s), no decimals; `-` for nan.
mb() { python3 -c 'import sys; v=sys.argv[1]; print("-" if v=="nan" else "%.0f" % (float(v)/1e6))' "$1"; }

# json_get FILE PYTHON-EXPR: evaluates EXPR with `d` bound to the parsed JSON of FILE.
json_get() {
    python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

# last_line FILE: the last non-empty line of FILE (the gist of a failed command's stderr).
last_line() { grep -v '^$' "$1" | tail -1; }

# sb_figure RC OUT ERR: prints the first repetition's throughput_bytes_per_s from the segbench
# results file OUT, or nan when segbench exited with RC other than 0 (then logging the last line
# of its stderr ERR) or the file holds no such figure.
sb_figure() {
    local rc=$1 out=$2 err=$3
    if [ "$rc" = 0 ]; then
        json_get "$out" "d['workloads'][0]['repetitions'][0]['throughput_bytes_per_s']" 2>/dev/null || echo nan
    else
        log "  segbench failed (exit $rc): $(last_line "$err")"
        echo nan
    fi
}

# The machine the figures come from, one line each.
machine_lines() {
    local cpu cores
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
    cores=$(nproc 2>/dev/null || echo '?')
    echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host:    $(uname -n), kernel $(uname -r), ${cores} CPUs ${cpu:+($cpu)}"
    echo "load:    $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) (1/5/15 min; other work on the machine skews the figures)"
}

# fs_line DIR: file system type and device under DIR.
fs_line() {
    df -PT "$1" 2>/dev/null | awk 'NR==2 {print $2 " on " $1}'
}

# summarize_pairs TSV TARGET TITLE OTHER: prints the table of a TSV of
# "job<TAB>other_bytes_per_s<TAB>segbench_bytes_per_s" lines (one per pair, in job order).
# OTHER names the reference tool (fio, iperf3). Columns: MB/s median (min-max) of each side,
# the median of the per-pair ratios segbench/OTHER, their spread (min-max), and whether the
# median meets TARGET.
summarize_pairs() {
    python3 - "$@" <<'PY'
import statistics, sys
path, target, title, other = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
jobs = {}
order = []
for line in open(path):
    f = line.rstrip("\n").split("\t")
    if len(f) < 3:
        continue
    job = f[0]
    if job not in jobs:
        jobs[job] = []
        order.append(job)
    ref = float(f[1]) if f[1] not in ("", "nan") else None
    sb = float(f[2]) if f[2] not in ("", "nan") else None
    jobs[job].append((ref, sb))

def mbs(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    return "%.0f (%.0f-%.0f)" % (statistics.median(xs) / 1e6, min(xs) / 1e6, max(xs) / 1e6)

rows = []
for job in order:
    p = jobs[job]
    ratios = [s / r for r, s in p if r and s]
    if ratios:
        med = statistics.median(ratios)
        ratio = "%.3f" % med
        spread = "%.2f-%.2f" % (min(ratios), max(ratios))
        verdict = "ok" if med >= target else "MISS"
    else:
        ratio, spread, verdict = "-", "-", "n/a"
    rows.append((job, mbs([r for r, _ in p]), mbs([s for _, s in p]), ratio, spread, str(len(ratios)), verdict))

head = ("job", other + " MB/s med (min-max)", "segbench MB/s med (min-max)",
        "ratio sb/" + other, "pair ratios", "pairs", ">=%.2f" % target)
w = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
print(title)
print("  ".join(h.ljust(w[i]) if i == 0 else h.rjust(w[i]) for i, h in enumerate(head)))
print("  ".join("-" * x for x in w))
for r in rows:
    print("  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r)))
PY
}

# run_child OUT ERR CMD...: runs CMD with stdout to OUT and stderr to ERR and returns its exit
# status, as a child that the caller's INT/TERM trap interrupts at once: bash runs a trap only
# after a foreground command ends (a TERM during a timed run or a long write would wait for it),
# but `wait` returns as soon as the signal comes. The child (SIGINT ignored, as for any
# background command) is in CHILD_PID for the caller's cleanup to kill. OUT and ERR are
# arguments, not redirections of the call, which would also capture the trap's own messages.
CHILD_PID=
run_child() {
    local out=$1 err=$2 rc=0
    shift 2
    "$@" >"$out" 2>"$err" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=
    return "$rc"
}
