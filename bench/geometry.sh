#!/usr/bin/env bash
# Geometry classification (issue 5): Truce against shapely + pyproj on the same points and the
# same DeepStateMap 2025-08-03 agreement, in one run. Needs ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(cargo bench -p truce-cli --bench geometry 2>/dev/null)
echo "$out"
rate=$(echo "$out" | sed -n 's/.*: \([0-9]*\)\/s on [0-9]* threads.*/\1/p')
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install --quiet -r bench/requirements.txt
fi
bench/.venv/bin/python bench/geometry_peer.py "$rate"
