#!/usr/bin/env bash
# The simulated day end to end, timed: `truce process` (issue 5: at most 10 s), `truce report`
# and `truce verify` (issue 7: at most 3 s each), and `truce verify --full` (the whole analysis
# re-run, as long as `process`; no target).
#   bash bench/day.sh                         # 3 runs of each on scenarios/day.toml
#   bash bench/day.sh 5 scenarios/small.toml  # runs, scenario
# Each `process` run writes into a new folder (a first run, as on a fresh machine: re-running
# into the same folder first deletes the last run's store, and creating the new store's files
# right after that deletion can cost up to a second more on ext4 without a journal). Wall and
# CPU (user + system) seconds per run, then the fastest and the median; this machine's timings
# drift by a tenth from run to run, so compare builds in alternating runs of the same hour.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
scenario=${2:-scenarios/day.toml}
cargo build --release --quiet -p truce-cli
truce=$PWD/target/release/truce
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$truce" simulate "$scenario" --out "$work/sim" > /dev/null
sim=$work/sim
"$truce" keygen log --origin bench.example --out "$work/mission.key" > /dev/null

# timed LABEL COMMAND...: run it, print its wall and CPU seconds, keep the wall time.
timed() {
  local label=$1
  shift
  local TIMEFORMAT='%R %U %S'
  if ! { time "$@" > "$work/out" 2>&1; } 2> "$work/time"; then
    cat "$work/out" >&2
    echo "$label failed" >&2
    exit 1
  fi
  read -r wall user sys < "$work/time"
  awk -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" \
    'BEGIN { printf "%-11s %7.2f s wall %7.2f s CPU\n", l, w, u + s }'
  echo "$wall" >> "$work/$label.walls"
}

summary() {
  sort -n "$work/$1.walls" | awk -v label="$1" -v target="$2" '
    { w[NR] = $1 }
    END { printf "%-11s fastest %.2f s, median %.2f s (target %s s)\n", label, w[1], w[int((NR + 1) / 2)], target }'
}

for i in $(seq 1 "$runs"); do
  timed process "$truce" process --agreement "$sim/agreement.geojson" \
    --sensors "$sim/sensors.json" --out "$work/run$i" "$sim/observations.jwsl"
done
for i in $(seq 1 "$runs"); do
  timed report "$truce" report --agreement "$sim/agreement.geojson" \
    --sensors "$sim/sensors.json" --key "$work/mission.key" "$work/run1"
done
for i in $(seq 1 "$runs"); do
  timed verify "$truce" verify --mission-key "$work/mission.key.pub" \
    "$work/run1/report/report.truce-bundle"
done
for i in $(seq 1 "$runs"); do
  timed verify-full "$truce" verify --full --mission-key "$work/mission.key.pub" \
    "$work/run1/report/report.truce-bundle"
done
echo
summary process 10
summary report 3
summary verify 3
summary verify-full -
echo
"$truce" score --truth "$sim/truth.json" --findings "$work/run1/violations.geojson" \
  --events "$work/run1/events.geojson" | head -12
