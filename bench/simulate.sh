#!/usr/bin/env bash
# Time `truce simulate` on the day and stress scenarios (targets: 20 s and 2 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for s in day stress; do
  start=$(date +%s.%N)
  ./target/release/truce simulate "scenarios/$s.toml" --out "$out/$s"
  end=$(date +%s.%N)
  printf '%s: %.1f s wall\n' "$s" "$(echo "$end - $start" | bc)"
done
