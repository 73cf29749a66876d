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
# SEGBENCH=/path/to/segbench when set, else builds segbench with `cargo build --release`.
set -euo pipefail

. "$(dirname "$0")/lib.sh"

results=${1:-$SEGBENCH_REPO/tests/fixtures/results/sample.json}
out=${2:-/tmp/report.png}
height=${3:-3000}

[[ -f $results ]] || die "$results: no such file"

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z $browser ]]; then
    ensure_tool chromium chromium
    browser=$(command -v chromium)
fi

SEGBENCH=$(find_segbench)

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
