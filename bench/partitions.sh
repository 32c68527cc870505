#!/usr/bin/env bash
# One table larger than one worker: `partitions = N` shares each import out to N workers. Two
# exports of one table (ROWS rows, then 2% changed) are imported by `snapdelta worker` processes
# sharing a landing folder and a home (its SQLite registry), in four configurations:
#   1 worker, unpartitioned            | 4 workers, partitions = 4      (the whole machine)
#   1 worker on 1 core, unpartitioned  | 2 workers on a core each, partitions = 2
# The second pair holds each worker to one core, as workers on separate one-core machines are:
# it shows what adding a worker adds when the worker brings its own core. Time is from the
# workers' start until both imports are committed; median of RUNS. Every partitioned state must
# equal the unpartitioned one byte for byte, and the counts must match.
#   bench/partitions.sh [ROWS] [RUNS]     (default 10000000 rows, 3 runs)
set -euo pipefail
source "$(dirname "$0")/paths.sh"
ROWS=${1:-10000000}
RUNS=${2:-3}
WORK=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
export SNAPDELTA_SETTLE_SECONDS=0

"$BUILD_DIR/snapdelta-gen" "$WORK/landing" --rows "$ROWS" --exports 2 --seed 11 --gzip \
  --fast-gzip --landing acme/big --truth "$WORK/truth.json" >/dev/null
for n in 2 4; do printf '[tables.big]\npartitions = %d\n' "$n" >"$WORK/p$n.toml"; done

# run WORKERS CONFIG PIN: prints the seconds until both imports are committed.
run() {
  local workers=$1 config=$2 pin=$3
  rm -rf "$WORK/home"
  mkdir -p "$WORK/home"
  pids=()
  local start end
  start=$(date +%s.%N)
  for i in $(seq "$workers"); do
    local prefix=()
    if [ "$pin" = 1 ]; then prefix=(taskset -c $(((i - 1) % $(nproc)))); fi
    local args=(worker --landing "$WORK/landing" --home "$WORK/home" --interval 0.1 --workers 1)
    if [ -n "$config" ]; then args+=(--config "$WORK/$config"); fi
    "${prefix[@]}" "$SNAPDELTA" "${args[@]}" >"$WORK/worker-$i.log" 2>&1 &
    pids+=($!)
  done
  until [ "$("$SNAPDELTA" status --home "$WORK/home" --json 2>/dev/null |
    jq '[.[] | select(.state == "committed")] | length' 2>/dev/null)" = 2 ]; do
    sleep 0.1
  done
  end=$(date +%s.%N)
  for pid in "${pids[@]}"; do kill -TERM "$pid"; wait "$pid" || true; done
  pids=()
  echo "$end - $start" | bc
}

# The unpartitioned states and counts every other configuration must reproduce.
run 1 "" 0 >/dev/null
mv "$WORK/home/state" "$WORK/reference-state"
counts() { "$SNAPDELTA" status --home "$WORK/home" --json | jq -c '[.[] | [.version, .inserts, .updates, .deletes]]'; }
counts >"$WORK/reference-counts"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| configuration | wall s (median of $RUNS) |"
echo "|---|---:|"
for spec in "1 worker, unpartitioned|1||0" "4 workers, partitions = 4|4|p4.toml|0" \
  "1 worker on 1 core, unpartitioned|1||1" "2 workers on a core each, partitions = 2|2|p2.toml|1"; do
  IFS='|' read -r label workers config pin <<<"$spec"
  times=()
  for i in $(seq "$RUNS"); do
    times+=("$(run "$workers" "$config" "$pin")")
    echo "$label, run $i: ${times[-1]} s" >&2
    diff -r "$WORK/reference-state/acme" "$WORK/home/state/acme" >/dev/null ||
      { echo "$label: states differ from the unpartitioned import's" >&2; exit 1; }
    counts | cmp -s - "$WORK/reference-counts" || { echo "$label: counts differ" >&2; exit 1; }
  done
  printf '| %s | %.1f |\n' "$label" "$(printf '%s\n' "${times[@]}" | median)"
done
echo "(one table, $ROWS rows then 2% changed, gzip; $(nproc) cores)"
