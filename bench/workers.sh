#!/usr/bin/env bash
# Scaling out: 1, 2 and 4 `snapdelta worker` processes sharing a landing folder, a state folder
# and a PostgreSQL registry, on the same 12 tables of 3 exports each. A PostgreSQL server of its
# own runs in a temporary folder (as `nobody` when root). Each configuration starts on a fresh
# database and empty home; the time is from the workers' start until psql counts every import
# committed; prints the median of RUNS and checks the change files against one `run`.
#   bench/workers.sh [ROWS] [RUNS]     (default 200000 rows per table's first export, 3 runs)
set -euo pipefail
source "$(dirname "$0")/paths.sh"
ROWS=${1:-200000}
RUNS=${2:-3}
TABLES=12
EXPORTS=3
WORK=$(mktemp -d)
chmod 755 "$WORK"

pg_bin=$(dirname "$(readlink -f "$(command -v initdb || ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")")
as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u nobody --); fi
mkdir -p "$WORK/pg" && [ "$(id -u)" -ne 0 ] || chown nobody "$WORK/pg"
"${as_pg[@]}" "$pg_bin/initdb" -D "$WORK/pg/data" -U snapdelta --auth=trust --no-sync >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pg_bin/pg_ctl" start -w -D "$WORK/pg/data" -l "$WORK/pg/log" \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $WORK/pg -c max_connections=100" >/dev/null
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  "${as_pg[@]}" "$pg_bin/pg_ctl" stop -m immediate -D "$WORK/pg/data" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
BASE="postgresql://snapdelta@127.0.0.1:$PORT"
export SNAPDELTA_SETTLE_SECONDS=0

for t in $(seq -w 1 $TABLES); do
  "$BUILD_DIR/snapdelta-gen" "$WORK/landing" --rows "$ROWS" --exports $EXPORTS --seed "$((10#$t))" \
    --gzip --landing "acme/t$t" --truth "$WORK/truth-$t.json" >/dev/null
done
"$SNAPDELTA" run --landing "$WORK/landing" --home "$WORK/reference" >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| workers | wall s (median of $RUNS) | imports/s |"
echo "|---:|---:|---:|"
for n in 1 2 4; do
  times=()
  for run in $(seq "$RUNS"); do
    db="bench_${n}_${run}"
    psql -X -q "$BASE/postgres" -c "CREATE DATABASE $db" >/dev/null
    rm -rf "$WORK/home" "$WORK/state"
    pids=()
    start=$(date +%s.%N)
    for i in $(seq "$n"); do
      "$SNAPDELTA" worker --landing "$WORK/landing" --home "$WORK/home" --state "$WORK/state" \
        --registry "$BASE/$db" --interval 0.1 --workers 1 >"$WORK/worker-$i.log" 2>&1 &
      pids+=($!)
    done
    want=$((TABLES * EXPORTS))
    until [ "$(psql -X -At "$BASE/$db" -c \
      "SELECT count(*) FROM snapdelta_imports WHERE state = 'committed'" 2>/dev/null)" = "$want" ]; do
      sleep 0.05
    done
    end=$(date +%s.%N)
    for pid in "${pids[@]}"; do kill -TERM "$pid"; wait "$pid" || true; done
    pids=()
    diff -r "$WORK/reference/changes" "$WORK/home/changes" >/dev/null ||
      { echo "workers=$n: change files differ from one run's" >&2; exit 1; }
    times+=("$(echo "$end - $start" | bc)")
    echo "workers=$n run $run: ${times[-1]} s" >&2
  done
  seconds=$(printf '%s\n' "${times[@]}" | median)
  printf '| %d | %.1f | %.2f |\n' "$n" "$seconds" "$(echo "scale=3; $want / $seconds" | bc)"
done
echo "($TABLES tables x $EXPORTS exports, $ROWS rows in each first export, gzip; $(nproc) cores)"
