#!/usr/bin/env bash
# Truce against PyOcto (association) and scipy least_squares (location) on the same picks, in
# one run (issue 4). Sets up its own virtual environment in bench/.venv with pinned versions.
#   bash bench/peers.sh                       # small scenario + Central Italy (if ../shared)
#   bash bench/peers.sh --scenario scenarios/day.toml
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p truce-cli
cargo build --release --quiet -p truce-locate --example picks_csv
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install --quiet -r bench/requirements.txt
fi
exec bench/.venv/bin/python bench/peers.py "$@"
