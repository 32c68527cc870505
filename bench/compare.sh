#!/usr/bin/env bash
# snapdelta against DuckDB on the same export pairs, in one run, the tools alternating.
#
#   bench/compare.sh            (run by `make bench`, which builds first; never by `make test`)
#
# Workloads, for each row count in BENCH_ROWS (a pair of full gzip exports made by
# build/snapdelta-gen --rows N --exports 2 --gzip --seed 1: zlib level 6, ~26 MB per 1M rows):
#   diff    snapdelta diff OLD NEW -k KEY -o FILE            stateless: reads both exports
#   run     snapdelta run on NEW, the state of OLD held       stateful: reads NEW and the state
#   duckdb  bench/duckdb_delta.mjs: FULL OUTER JOIN of the two files in DuckDB, COPY to a CSV
#   igzip   igzip -dc NEW > /dev/null                         the physical floor
# Each iteration runs diff, run, duckdb, igzip in that order; BENCH_ITER iterations (default 3).
# Reported: median wall time, peak RSS (the highest of the iterations, /usr/bin/time %M), DuckDB's
# time / the tool's, the tool's RSS / DuckDB's, the tool's time / the igzip floor. Every run's
# INSERT/UPDATE/DELETE counts must equal the generator's truth.json, or the script fails.
#
# Environment:
#   BENCH_ROWS="1000000 10000000"   row counts of the export pairs
#   BENCH_ITER=3                    iterations (the median needs at least 3)
#   BUILD_DIR=build                 where snapdelta and snapdelta-gen are
#   BENCH_SPILL=1                   also the bounded-memory run (off by default, see below)
#   BENCH_SPILL_ROWS=20000000 BENCH_SPILL_LIMIT=512MB
#
# Generated pairs are cached in bench/data/<rows>/ (reused when truth.json is there); DuckDB is
# installed from npm into bench/duckdb/. Both are git-ignored. The table is printed and written
# to bench/results/latest.md (committed; copy it into the README's benchmark section).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/paths.sh"
GEN=$BUILD_DIR/snapdelta-gen
ROWS_LIST=${BENCH_ROWS:-1000000 10000000}
ITER=${BENCH_ITER:-3}
DUCKDB_PKG=@duckdb/node-api@1.5.6-r.1
DUCKDB_DIR=$BENCH_DIR/duckdb
DATA_DIR=$BENCH_DIR/data
RESULTS=$BENCH_DIR/results/latest.md
TIME=/usr/bin/time

die() { echo "compare.sh: $*" >&2; exit 1; }
note() { echo "compare.sh: $*" >&2; }

# --- Prerequisites ------------------------------------------------------------------------------

[[ $ITER =~ ^[0-9]+$ && $ITER -ge 1 ]] || die "BENCH_ITER must be a positive integer, not '$ITER'"
[[ $ITER -ge 3 ]] || note "BENCH_ITER=$ITER: a median of fewer than 3 runs is noise"
[[ -x $SNAPDELTA && -x $GEN ]] ||
  die "$SNAPDELTA or $GEN missing: run 'make bench' (it builds first)"

apt_install() {
  local sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  note "installing $*"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@"
}
missing=()
[[ -x $TIME ]] || missing+=(time)
command -v igzip >/dev/null || missing+=(isal)
command -v jq >/dev/null || missing+=(jq)
command -v node >/dev/null || missing+=(nodejs npm)
[[ ${#missing[@]} -eq 0 ]] || apt_install "${missing[@]}"

warnings=()
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
case $build_type in
  Release | RelWithDebInfo | MinSizeRel) ;;
  *) warnings+=("WARNING: $SNAPDELTA built as '${build_type:-unknown}', not optimised: timings are meaningless") ;;
esac
if grep -q '^SNAPDELTA_SANITIZE:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
  warnings+=("WARNING: $SNAPDELTA built with sanitizers: timings are meaningless")
fi
# The version stamp, taken now: the sources may change while the benchmark runs.
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain -- src include CMakeLists.txt 2>/dev/null) ]]; then
  commit+="+uncommitted"
fi
newer=$(find "$ROOT/src" "$ROOT/include" "$ROOT/CMakeLists.txt" -newer "$SNAPDELTA" -type f 2>/dev/null | awk 'NR <= 3')
if [[ -n $newer ]]; then
  warnings+=("WARNING: $SNAPDELTA is older than its sources (${newer//$'\n'/, }...): rebuild, or run 'make bench'")
fi
for w in "${warnings[@]}"; do echo "$w" >&2; done

if [[ ${BENCH_SPILL:-0} == 1 ]]; then
  spill_rows=${BENCH_SPILL_ROWS:-20000000}
  spill_limit=${BENCH_SPILL_LIMIT:-512MB}
  [[ $spill_rows =~ ^[0-9]+$ ]] || die "BENCH_SPILL_ROWS holds '$spill_rows', not a row count"
  # The limit in KiB, MB read as MiB (2^20 bytes), to compare with /usr/bin/time's %M.
  limit_kb=$(awk -v s="$spill_limit" 'BEGIN {
    n = s + 0; u = toupper(s); sub(/^[0-9.]+/, "", u)
    f = (u ~ /^G/) ? 1048576 : (u ~ /^M/) ? 1024 : (u ~ /^K/) ? 1 : -1
    if (n <= 0 || f < 0) exit 1; printf "%d", n * f }') ||
    die "BENCH_SPILL_LIMIT '$spill_limit' is not a size like 512MB or 1GB"
fi

if [[ ! -f $DUCKDB_DIR/node_modules/@duckdb/node-api/package.json ]] ||
   [[ $(jq -r .version "$DUCKDB_DIR/node_modules/@duckdb/node-api/package.json") != "${DUCKDB_PKG##*@}" ]]; then
  note "installing $DUCKDB_PKG into $DUCKDB_DIR"
  mkdir -p "$DUCKDB_DIR"
  npm install --silent --no-audit --no-fund --prefix "$DUCKDB_DIR" "$DUCKDB_PKG" >&2
fi

# --- Helpers ------------------------------------------------------------------------------------

# generate ROWS: the cached pair bench/data/ROWS/{export1,export2}.csv.gz and truth.json.
generate() {
  local rows=$1 dir=$DATA_DIR/$1
  [[ -f $dir/truth.json ]] && return 0
  note "generating $rows-row export pair into $dir"
  rm -rf "$dir" "$dir.tmp"
  mkdir -p "$DATA_DIR"
  "$GEN" "$dir.tmp" --rows "$rows" --exports 2 --gzip --seed 1 >&2
  mv "$dir.tmp" "$dir"
}

# truth ROWS: "insert update delete" of the second export, from the generator.
truth() {
  jq -r '.exports[1] | "\(.insert) \(.update) \(.delete)"' "$DATA_DIR/$1/truth.json"
}

# link SRC DST: a hard link when possible (the landing zone must not cost a copy), else a copy.
link() { mkdir -p "$(dirname "$2")" && { ln -f "$1" "$2" 2>/dev/null || cp "$1" "$2"; }; }

# measure STDOUT_FILE CMD...: runs CMD, its stdout to STDOUT_FILE and stderr to $LAST_ERR; sets
# LAST_MS (wall, from the clock around the run) and LAST_KB (peak RSS from /usr/bin/time).
measure() {
  local out=$1 t0 t1
  shift
  LAST_ERR=$WORK/stderr
  sync  # no write-back of an earlier tool's output (or the home's copy) while this one is timed
  t0=$(date +%s%N)
  if ! "$TIME" -f '%M' -o "$WORK/rss" "$@" >"$out" 2>"$LAST_ERR"; then
    cat "$LAST_ERR" >&2
    die "failed: $*"
  fi
  t1=$(date +%s%N)
  LAST_MS=$(((t1 - t0) / 1000000))
  LAST_KB=$(tail -n 1 "$WORK/rss")
}

# check TOOL ROWS "i u d": fails loudly when a tool's counts differ from the generator's truth.
check() {
  local want
  want=$(truth "$2")
  [[ $3 == "$want" ]] ||
    die "$1 on $2 rows found INSERT/UPDATE/DELETE $3, truth.json says $want"
}

# median / maximum: of the whitespace-separated numbers on stdin.
values() { awk '{for (i = 1; i <= NF; i++) print $i}' | sort -n; }
median() { values | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
maximum() { values | tail -n 1; }
seconds() { awk -v ms="$1" 'BEGIN {printf "%.2f", ms/1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", (b > 0) ? a/b : 0}'; }
megabytes() { awk -v kb="$1" 'BEGIN {printf "%.0f", kb/1024}'; }

# --- The benchmark ------------------------------------------------------------------------------

TOOLS=(diff run duckdb igzip)
declare -A LABEL=(
  [diff]="snapdelta diff (stateless)"
  [run]="snapdelta run (stateful)"
  [duckdb]="DuckDB FULL OUTER JOIN"
  [igzip]="igzip -dc NEW (floor)"
)
declare -A MS KB  # "ROWS TOOL" -> space-separated per-iteration values
duckdb_version=""
duckdb_query_ms=""
duckdb_query=""   # per size: DuckDB's own timing of the delta query, without process start-up

for rows in $ROWS_LIST; do
  [[ $rows =~ ^[0-9]+$ ]] || die "BENCH_ROWS holds '$rows', not a row count"
  generate "$rows"
  data=$DATA_DIR/$rows
  old=$data/export1.csv.gz
  new=$data/export2.csv.gz
  key=$(jq -r '.key | join(",")' "$data/truth.json")

  WORK=$data/work
  rm -rf "$WORK"
  mkdir -p "$WORK"

  # The stateful home: the first export imported once, copied before every timed run of the
  # second; the landing then holds v1 (already committed in the home) and v2.
  landing=$WORK/landing
  link "$old" "$landing/tenant/table/v1/export1.csv.gz"
  note "$rows rows: importing the first export into the stateful home"
  "$SNAPDELTA" run --landing "$landing" --home "$WORK/home1" >/dev/null
  # Its events (all INSERTs, 3.5 GB at 10M rows) are delivered output, not state: copying them
  # before every run would only leave gigabytes of dirty pages to write back during the next.
  rm -rf "${WORK:?}/home1/changes"
  link "$new" "$landing/tenant/table/v2/export2.csv.gz"

  cat "$old" "$new" >/dev/null  # the same warm page cache for every tool
  for ((i = 1; i <= ITER; i++)); do
    note "$rows rows: iteration $i/$ITER"

    measure /dev/null "$SNAPDELTA" diff "$old" "$new" -k "$key" -o "$WORK/diff.jsonl"
    counts=$(sed -n 's/.*rows: \([0-9]*\) INSERT, \([0-9]*\) UPDATE, \([0-9]*\) DELETE.*/\1 \2 \3/p' "$LAST_ERR")
    check "snapdelta diff" "$rows" "$counts"
    MS[$rows diff]+="$LAST_MS " KB[$rows diff]+="$LAST_KB "

    rm -rf "${WORK:?}/home"
    cp -a "$WORK/home1" "$WORK/home"
    measure "$WORK/run.out" "$SNAPDELTA" run --landing "$landing" --home "$WORK/home"
    counts=$("$SNAPDELTA" status --home "$WORK/home" --json |
      jq -r 'map(select(.version == "v2" and .state == "committed")) | last //
             error("no committed import of v2") | "\(.inserts) \(.updates) \(.deletes)"')
    check "snapdelta run" "$rows" "$counts"
    MS[$rows run]+="$LAST_MS " KB[$rows run]+="$LAST_KB "

    # shellcheck disable=SC2016 # run in $WORK: DuckDB puts its temporary files in the cwd
    measure "$WORK/duckdb.json" bash -c 'cd "$1" && exec node "$2" "${@:3}"' duckdb \
      "$WORK" "$BENCH_DIR/duckdb_delta.mjs" "$old" "$new" "$WORK/duckdb.csv" "$key"
    counts=$(jq -r '"\(.insert) \(.update) \(.delete)"' "$WORK/duckdb.json")
    check "DuckDB" "$rows" "$counts"
    MS[$rows duckdb]+="$LAST_MS " KB[$rows duckdb]+="$LAST_KB "
    duckdb_version=$(jq -r .duckdb "$WORK/duckdb.json")
    duckdb_query_ms+="$(jq -r .delta_ms "$WORK/duckdb.json") "

    measure /dev/null igzip -dc "$new"
    MS[$rows igzip]+="$LAST_MS " KB[$rows igzip]+="$LAST_KB "
  done
  duckdb_query+="$rows rows: $(seconds "$(echo "$duckdb_query_ms" | median)") s; "
  duckdb_query_ms=""
  rm -rf "${WORK:?}"
done

# --- Optional: bounded memory (BENCH_SPILL=1) ---------------------------------------------------
# `snapdelta diff --memory-limit` on a pair too big to hold, spilling key-digest partitions; the
# target is a peak RSS under the limit plus 20%. Off by default: the 20M-row pair takes ~1 GB of
# disk and minutes to generate. Skipped with a note while the binary has no --memory-limit.
spill_lines=()
if [[ ${BENCH_SPILL:-0} == 1 ]]; then
  diff_help=$("$SNAPDELTA" diff --help 2>&1 || true)
  if [[ $diff_help != *--memory-limit* ]]; then
    note "BENCH_SPILL=1: $SNAPDELTA diff has no --memory-limit yet; bounded-memory run skipped"
    spill_lines+=("Bounded memory: skipped, this snapdelta has no \`diff --memory-limit\`.")
  else
    generate "$spill_rows"
    data=$DATA_DIR/$spill_rows
    WORK=$data/work
    rm -rf "$WORK"
    mkdir -p "$WORK"
    note "$spill_rows rows: snapdelta diff --memory-limit $spill_limit"
    measure /dev/null "$SNAPDELTA" diff "$data/export1.csv.gz" "$data/export2.csv.gz" \
      -k "$(jq -r '.key | join(",")' "$data/truth.json")" --memory-limit "$spill_limit" \
      -o "$WORK/diff.jsonl"
    counts=$(sed -n 's/.*rows: \([0-9]*\) INSERT, \([0-9]*\) UPDATE, \([0-9]*\) DELETE.*/\1 \2 \3/p' "$LAST_ERR")
    check "snapdelta diff --memory-limit" "$spill_rows" "$counts"
    verdict=$(awk -v kb="$LAST_KB" -v lim="$limit_kb" 'BEGIN {
      printf "%.0f%% of the limit, %s", 100 * kb / lim, (kb <= 1.2 * lim) ? "within limit + 20%" : "OVER limit + 20%" }')
    spill_lines+=("Bounded memory: \`snapdelta diff --memory-limit $spill_limit\` on $spill_rows rows: $(
      seconds "$LAST_MS") s, peak RSS $(megabytes "$LAST_KB") MB ($verdict).")
    rm -rf "$WORK"
  fi
fi

# --- Report -------------------------------------------------------------------------------------

cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
report=$(
  echo "Benchmark $(date -u '+%Y-%m-%d %H:%M UTC'): $(uname -m), ${cpu:-unknown CPU}, $(nproc) cores;" \
    "snapdelta $commit ($build_type), DuckDB $duckdb_version (${DUCKDB_PKG##*/}, default threads)."
  echo "Median wall time of $ITER alternating runs each, highest peak RSS; export pairs from" \
    "\`snapdelta-gen --rows N --exports 2 --gzip --seed 1\` (5% updated, 2% deleted, 3% inserted)."
  for w in "${warnings[@]}"; do echo; echo "**$w**"; done
  echo
  echo "| rows | tool | wall s | peak RSS MB | DuckDB time / tool | RSS / DuckDB | tool / igzip floor |"
  echo "|---:|---|---:|---:|---:|---:|---:|"
  for rows in $ROWS_LIST; do
    duck_ms=$(echo "${MS[$rows duckdb]}" | median)
    duck_kb=$(echo "${KB[$rows duckdb]}" | maximum)
    floor_ms=$(echo "${MS[$rows igzip]}" | median)
    for tool in "${TOOLS[@]}"; do
      ms=$(echo "${MS[$rows $tool]}" | median)
      kb=$(echo "${KB[$rows $tool]}" | maximum)
      echo "| $rows | ${LABEL[$tool]} | $(seconds "$ms") | $(megabytes "$kb") |" \
        "$(ratio "$duck_ms" "$ms") | $(awk -v a="$kb" -v b="$duck_kb" 'BEGIN {printf "%.2f", a/b}') |" \
        "$(ratio "$ms" "$floor_ms") |"
    done
  done
  echo
  echo "All runs: $(for rows in $ROWS_LIST; do
    for tool in "${TOOLS[@]}"; do printf '%s %s: %s; ' "$rows" "$tool" "${MS[$rows $tool]% }"; done
  done | sed 's/; $//') (ms)."
  echo "DuckDB's own time for the delta query (no Node/DuckDB start-up, no count): ${duckdb_query%; }."
  echo "Every run's INSERT/UPDATE/DELETE counts matched the generator's truth.json."
  for line in "${spill_lines[@]}"; do echo "$line"; done
)

mkdir -p "$(dirname "$RESULTS")"
printf '%s\n' "$report" >"$RESULTS"
echo
printf '%s\n' "$report"
echo
note "table written to ${RESULTS#"$ROOT"/}"
