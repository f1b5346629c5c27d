#!/usr/bin/env bash
# Renders a gpufleet HTML report in headless Chromium and writes a PNG screenshot, to check that
# the page actually draws (fonts, SVG, layout) and to look at it.
#
#   scripts/check-report.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]
#   scripts/check-report.sh --fleet FLEET.yaml [OUT.png] [WIDTHxHEIGHT]   # runs gpufleet report first
#
# Needs chromium (Debian: apt-get install -y chromium); exits 3 with a message when it is missing.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
if [[ "${1:-}" == "--fleet" ]]; then
  fleet="${2:?usage: scripts/check-report.sh --fleet FLEET.yaml [OUT.png] [WIDTHxHEIGHT]}"
  shift 2
  report="$(mktemp -d)/report.html"
  node "$here/bin/gpufleet" report "$fleet" --out "$report"
else
  report="${1:?usage: scripts/check-report.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]}"
  shift
fi
out="${1:-${report%.html}.png}"
size="${2:-1400x1000}"

browser=""
for b in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
done
if [[ -z "$browser" ]]; then
  echo "check-report: no chromium found (apt-get install -y chromium); screenshot skipped" >&2
  exit 3
fi

abs="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --disable-dev-shm-usage \
  --screenshot="$out" --window-size="${size/x/,}" "file://$abs" >/dev/null 2>&1
if [[ ! -s "$out" ]]; then
  echo "check-report: chromium wrote no screenshot for $report" >&2
  exit 1
fi
echo "$out"
