#!/usr/bin/env bash
# Rebuilds data/ladder/l2.jsonl: the 720 Harvard sentences (IEEE 1969), as packaged in Debian
# bookworm's r-cran-stringr 1.5.0-1 (R data object `sentences`). Needs apt and python3 only.
set -euo pipefail
TOOLS="$(cd "$(dirname "$0")" && pwd)"
OUT="${1:-$TOOLS/../ladder/l2.jsonl}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
apt-get update -qq
cd "$WORK"
apt-get download r-cran-stringr=1.5.0-1 2>&1 | grep -v unsandboxed || true
dpkg -x r-cran-stringr_1.5.0-1_all.deb stringr
python3 "$TOOLS/r_strings.py" stringr/usr/lib/R/site-library/stringr/data sentences |
  sed -E 's/[[:space:]]+/ /g; s/^ //; s/ $//' |
  python3 -c 'import json, sys
for i, line in enumerate(l.strip() for l in sys.stdin):
    if line: print(json.dumps({"id": f"harvard:{i + 1}", "text": line, "lang": "en"}))' > "$OUT"
wc -l "$OUT"
