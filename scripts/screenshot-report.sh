#!/usr/bin/env bash
# Renders a results file to report.html with `segbench report` and takes a screenshot of it in
# headless Chromium, to check the report in a real browser (charts, labels, legends).
#
# usage: scripts/screenshot-report.sh [RESULTS.json] [OUT.png] [HEIGHT]
#   RESULTS.json  default tests/fixtures/results/sample.json
#   OUT.png       default /tmp/report.png
#   HEIGHT        window height in pixels (default 3000; the page is longer: use e.g. 9000 to
#                 capture it whole)
#
# Installs Debian's `chromium` with apt-get when it is missing (needs root). Uses
# SEGBENCH=/path/to/segbench when set, else builds the debug binary with cargo.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
results=${1:-$root/tests/fixtures/results/sample.json}
out=${2:-/tmp/report.png}
height=${3:-3000}

if [[ ! -f $results ]]; then
    echo "screenshot-report: $results: no such file" >&2
    exit 2
fi

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z $browser ]]; then
    echo "screenshot-report: installing chromium (apt-get)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    browser=$(command -v chromium)
fi

if [[ -z ${SEGBENCH:-} ]]; then
    (cd "$root" && cargo build -q --bin segbench)
    target=$(cd "$root" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    SEGBENCH=${target:-$root/target}/debug/segbench
fi

work=$(mktemp -d)
profile=$(mktemp -d)
trap 'rm -rf "$work" "$profile"' EXIT

"$SEGBENCH" report "$results" --html "$work/report.html" --markdown "$work/summary.md" >/dev/null

# No network, no first-run UI, no extensions: the report must render on its own.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" --window-size=1400,"$height" \
    --screenshot="$out" "file://$work/report.html" >/dev/null 2>&1

echo "$out"
