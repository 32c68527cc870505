#!/usr/bin/env bash
# snapdelta against DuckDB and Polars on the same export pairs, in one run, the tools alternating.
#
#   bench/compare.sh            (run by `make bench`, which builds first; never by `make test`)
#
# Workloads, for each row count in BENCH_ROWS (a pair of full gzip exports made by
# build/snapdelta-gen --rows N --exports 2 --gzip --seed 1: zlib level 6, ~26 MB per 1M rows):
#   diff    snapdelta diff OLD NEW -k KEY -o FILE            stateless: reads both exports
#   run     snapdelta run on NEW, the state of OLD held       stateful: reads NEW and the state
#   duckdb  bench/duckdb_delta.mjs: FULL OUTER JOIN of the two files in DuckDB, COPY to a CSV
#   polars  bench/polars_delta.mjs: the same join in Polars (lazy scanCSV, streaming engine,
#           sinkCSV); scanCSV reads the .gz files itself
#   igzip   igzip -dc NEW > /dev/null                         the physical floor
# Each iteration runs diff, run, duckdb, polars, igzip in that order; BENCH_ITER iterations
# (default 3). Reported: median wall time, peak RSS (the highest of the iterations, /usr/bin/time
# %M), DuckDB's and Polars's time / the tool's, the tool's RSS / DuckDB's, the tool's time / the
# igzip floor. Every run's INSERT/UPDATE/DELETE counts must equal the generator's truth.json, or
# the script fails. First, snapdelta-fresh-memory measures (3 times, 3 s apart, median) how fast
# the machine faults in fresh memory and memory a process just gave back: a VM whose host takes
# freed memory back zeroes fresh pages ten times slower, and every table and arena page is one.
# After the timed iterations, diff and run each run once more under `perf stat`
# (task-clock, context switches, migrations, page faults, cycles, instructions, cache misses):
# an extra run, so that perf's own cost is in no timing; on a VM without hardware counters,
# cycles/instructions/cache-misses read "<not supported>".
#
# Environment:
#   BENCH_ROWS="1000000 10000000"   row counts of the export pairs
#   BENCH_ITER=3                    iterations (the median needs at least 3)
#   BUILD_DIR=build                 where snapdelta and snapdelta-gen are
#   BENCH_SPILL=1                   also the bounded-memory run (off by default, see below)
#   BENCH_SPILL_ROWS=20000000 BENCH_SPILL_LIMIT=512MB
#
# Generated pairs are cached in bench/data/<rows>/ (reused when truth.json is there); DuckDB and
# Polars are installed from npm into bench/duckdb/ and bench/polars/. All three are git-ignored.
# The table is printed and written to bench/results/latest.md (committed; copy it into the
# README's benchmark section).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/paths.sh"
GEN=$BUILD_DIR/snapdelta-gen
ROWS_LIST=${BENCH_ROWS:-1000000 10000000}
ITER=${BENCH_ITER:-3}
DUCKDB_PKG=@duckdb/node-api@1.5.6-r.1
DUCKDB_DIR=$BENCH_DIR/duckdb
# nodejs-polars loads its native code from a per-platform package, an optional dependency npm
# may skip: named here, so a missing binary fails the install, not the first benchmark run.
POLARS_VERSION=0.25.2
case $(uname -m) in
  x86_64) POLARS_BINARY=nodejs-polars-linux-x64-gnu ;;
  aarch64) POLARS_BINARY=nodejs-polars-linux-arm64-gnu ;;
  *) POLARS_BINARY="" ;;
esac
POLARS_DIR=$BENCH_DIR/polars
PERF_EVENTS=task-clock,context-switches,cpu-migrations,page-faults,cycles,instructions,cache-misses
DATA_DIR=$BENCH_DIR/data
RESULTS=$BENCH_DIR/results/latest.md
TIME=/usr/bin/time

die() { echo "compare.sh: $*" >&2; exit 1; }
note() { echo "compare.sh: $*" >&2; }

# --- Prerequisites ------------------------------------------------------------------------------

[[ $ITER =~ ^[0-9]+$ && $ITER -ge 1 ]] || die "BENCH_ITER must be a positive integer, not '$ITER'"
[[ $ITER -ge 3 ]] || note "BENCH_ITER=$ITER: a median of fewer than 3 runs is noise"
FRESH=$BUILD_DIR/snapdelta-fresh-memory
[[ -x $SNAPDELTA && -x $GEN && -x $FRESH ]] ||
  die "$SNAPDELTA, $GEN or $FRESH missing: run 'make bench' (it builds first)"

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
command -v perf >/dev/null || missing+=(linux-perf)
[[ ${#missing[@]} -eq 0 ]] || apt_install "${missing[@]}"
[[ -n $POLARS_BINARY ]] || die "no nodejs-polars binary package known for $(uname -m)"
# perf stat needs perf_event_open, which a container or kernel.perf_event_paranoid may refuse:
# then the perf section says so rather than the benchmark failing after all its timed runs.
perf_ok=1
if ! perf_probe=$(perf stat -e task-clock -x, -o /dev/null -- true 2>&1); then
  perf_ok=0
  perf_probe=$(head -n 1 <<<"$perf_probe")
  note "perf stat does not work here, its section is skipped: $perf_probe"
fi

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
polars_installed() {
  local pkg
  for pkg in nodejs-polars "$POLARS_BINARY"; do
    [[ -f $POLARS_DIR/node_modules/$pkg/package.json ]] &&
      [[ $(jq -r .version "$POLARS_DIR/node_modules/$pkg/package.json") == "$POLARS_VERSION" ]] ||
      return 1
  done
}
if ! polars_installed; then
  note "installing nodejs-polars@$POLARS_VERSION and $POLARS_BINARY@$POLARS_VERSION into $POLARS_DIR"
  mkdir -p "$POLARS_DIR"
  # --save-exact: the package.json npm writes there pins the version, not ^0.25.2.
  npm install --silent --no-audit --no-fund --save-exact --prefix "$POLARS_DIR" \
    "nodejs-polars@$POLARS_VERSION" "$POLARS_BINARY@$POLARS_VERSION" >&2
  polars_installed || die "nodejs-polars $POLARS_VERSION did not install into $POLARS_DIR"
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

# diff_counts: "i u d" from the summary snapdelta diff printed on stderr ($LAST_ERR).
diff_counts() {
  sed -n 's/.*rows: \([0-9]*\) INSERT, \([0-9]*\) UPDATE, \([0-9]*\) DELETE.*/\1 \2 \3/p' "$LAST_ERR"
}

# run_counts HOME: "i u d" of the committed import of v2 in a stateful home.
run_counts() {
  "$SNAPDELTA" status --home "$1" --json |
    jq -r 'map(select(.version == "v2" and .state == "committed")) | last //
           error("no committed import of v2") | "\(.inserts) \(.updates) \(.deletes)"'
}

# median / maximum: of the whitespace-separated numbers on stdin.
values() { awk '{for (i = 1; i <= NF; i++) print $i}' | sort -n; }
median() { values | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
maximum() { values | tail -n 1; }
seconds() { awk -v ms="$1" 'BEGIN {printf "%.2f", ms/1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", (b > 0) ? a/b : 0}'; }
megabytes() { awk -v kb="$1" 'BEGIN {printf "%.0f", kb/1024}'; }

# perf_stat OUT CMD...: runs CMD once under perf stat, the counters written to OUT (perf's CSV,
# -x,) and not to stderr, which stays the tool's ($LAST_ERR, where diff's counts are read).
perf_stat() {
  local out=$1
  shift
  LAST_ERR=$WORK/stderr
  sync  # as in measure: the same conditions as the timed runs
  if ! perf stat -e "$PERF_EVENTS" -x, -o "$out" -- "$@" >/dev/null 2>"$LAST_ERR"; then
    cat "$LAST_ERR" >&2
    die "failed under perf stat: $*"
  fi
}

# perf_summary FILE: "task-clock 5.59 msec, context-switches 1, ..." from perf stat's CSV, every
# counter as perf printed it; "<not supported>" (a VM without hardware counters) kept, in a code
# span so that Markdown does not take it for an HTML tag.
perf_summary() {
  awk -F, '/^#/ || NF < 3 {next} {
      v = ($1 ~ /^</) ? "`" $1 "`" : $1
      out = out sep $3 " " v ($2 != "" ? " " $2 : ""); sep = ", "
    } END {print out}' "$1"
}

# --- The benchmark ------------------------------------------------------------------------------

TOOLS=(diff run duckdb polars igzip)
declare -A LABEL=(
  [diff]="snapdelta diff (stateless)"
  [run]="snapdelta run (stateful)"
  [duckdb]="DuckDB FULL OUTER JOIN"
  [polars]="Polars FULL OUTER JOIN"
  [igzip]="igzip -dc NEW (floor)"
)
declare -A MS KB  # "ROWS TOOL" -> space-separated per-iteration values
duckdb_version=""
duckdb_query_ms=""
duckdb_query=""   # per size: DuckDB's own timing of the delta query, without process start-up
polars_version=""
polars_query_ms=""
polars_query=""   # the same for Polars
perf_lines=()     # per size and snapdelta command: its perf stat counters, one extra run each

# fresh_memory: "fresh=GB/s reused=GB/s", the median of 3 probes, each after 3 s idle (so that
# memory freed by earlier processes is back with the host, as it is for a run started cold).
fresh_memory() {
  local fresh=() reused=() line
  for _ in 1 2 3; do
    sleep 3
    line=$("$FRESH") || die "$FRESH failed: $line"
    fresh+=("$(sed -n 's/.*fresh=\([0-9.]*\).*/\1/p' <<<"$line")")
    reused+=("$(sed -n 's/.*reused=\([0-9.]*\).*/\1/p' <<<"$line")")
  done
  printf 'fresh=%s reused=%s\n' "$(printf '%s\n' "${fresh[@]}" | sort -g | sed -n 2p)" \
    "$(printf '%s\n' "${reused[@]}" | sort -g | sed -n 2p)"
}
note "probing how fast this machine faults in fresh memory"
memory_probe=$(fresh_memory)
fresh_gbs=${memory_probe#fresh=}
fresh_gbs=${fresh_gbs%% *}
reused_gbs=${memory_probe##*reused=}

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
    counts=$(diff_counts)
    check "snapdelta diff" "$rows" "$counts"
    MS[$rows diff]+="$LAST_MS " KB[$rows diff]+="$LAST_KB "

    rm -rf "${WORK:?}/home"
    cp -a "$WORK/home1" "$WORK/home"
    measure "$WORK/run.out" "$SNAPDELTA" run --landing "$landing" --home "$WORK/home"
    counts=$(run_counts "$WORK/home")
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

    measure "$WORK/polars.json" node "$BENCH_DIR/polars_delta.mjs" \
      "$old" "$new" "$WORK/polars.csv" "$key"
    counts=$(jq -r '"\(.insert) \(.update) \(.delete)"' "$WORK/polars.json")
    check "Polars" "$rows" "$counts"
    MS[$rows polars]+="$LAST_MS " KB[$rows polars]+="$LAST_KB "
    polars_version=$(jq -r .polars "$WORK/polars.json")
    polars_query_ms+="$(jq -r .delta_ms "$WORK/polars.json") "

    measure /dev/null igzip -dc "$new"
    MS[$rows igzip]+="$LAST_MS " KB[$rows igzip]+="$LAST_KB "
  done
  duckdb_query+="$rows rows: $(seconds "$(echo "$duckdb_query_ms" | median)") s; "
  duckdb_query_ms=""
  polars_query+="$rows rows: $(seconds "$(echo "$polars_query_ms" | median)") s; "
  polars_query_ms=""

  # perf stat: one extra run of each snapdelta command after the timed ones, the same commands
  # on the same inputs (run again from a fresh copy of the home), so perf costs no timing.
  if [[ $perf_ok == 1 ]]; then
    note "$rows rows: snapdelta diff and run once more under perf stat"
    perf_stat "$WORK/perf-diff.csv" "$SNAPDELTA" diff "$old" "$new" -k "$key" -o "$WORK/diff.jsonl"
    counts=$(diff_counts)
    check "snapdelta diff (perf stat)" "$rows" "$counts"
    perf_lines+=("- $rows rows, ${LABEL[diff]}: $(perf_summary "$WORK/perf-diff.csv")")
    rm -rf "${WORK:?}/home"
    cp -a "$WORK/home1" "$WORK/home"
    perf_stat "$WORK/perf-run.csv" "$SNAPDELTA" run --landing "$landing" --home "$WORK/home"
    check "snapdelta run (perf stat)" "$rows" "$(run_counts "$WORK/home")"
    perf_lines+=("- $rows rows, ${LABEL[run]}: $(perf_summary "$WORK/perf-run.csv")")
  fi
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
    counts=$(diff_counts)
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
    "snapdelta $commit ($build_type), DuckDB $duckdb_version (${DUCKDB_PKG##*/}, default threads)," \
    "Polars $polars_version (nodejs-polars@$POLARS_VERSION, streaming engine, default threads)."
  echo "Median wall time of $ITER alternating runs each, highest peak RSS; export pairs from" \
    "\`snapdelta-gen --rows N --exports 2 --gzip --seed 1\` (5% updated, 2% deleted, 3% inserted)."
  echo "Fresh memory (\`snapdelta-fresh-memory\`, 256 MiB in huge pages, median of 3): faulted in at" \
    "$fresh_gbs GB/s after 3 s idle, $reused_gbs GB/s just after a process gave it back" \
    "($(awk -v g="$fresh_gbs" 'BEGIN {printf "%.1f", (g > 0) ? 1 / g : 0}') ms per MB fresh)."
  for w in "${warnings[@]}"; do echo; echo "**$w**"; done
  echo
  echo "| rows | tool | wall s | peak RSS MB | DuckDB time / tool | Polars time / tool |" \
    "RSS / DuckDB | tool / igzip floor |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|"
  for rows in $ROWS_LIST; do
    duck_ms=$(echo "${MS[$rows duckdb]}" | median)
    polars_ms=$(echo "${MS[$rows polars]}" | median)
    duck_kb=$(echo "${KB[$rows duckdb]}" | maximum)
    floor_ms=$(echo "${MS[$rows igzip]}" | median)
    for tool in "${TOOLS[@]}"; do
      ms=$(echo "${MS[$rows $tool]}" | median)
      kb=$(echo "${KB[$rows $tool]}" | maximum)
      echo "| $rows | ${LABEL[$tool]} | $(seconds "$ms") | $(megabytes "$kb") |" \
        "$(ratio "$duck_ms" "$ms") | $(ratio "$polars_ms" "$ms") |" \
        "$(awk -v a="$kb" -v b="$duck_kb" 'BEGIN {printf "%.2f", a/b}') | $(ratio "$ms" "$floor_ms") |"
    done
  done
  echo
  echo "All runs: $(for rows in $ROWS_LIST; do
    for tool in "${TOOLS[@]}"; do printf '%s %s: %s; ' "$rows" "$tool" "${MS[$rows $tool]% }"; done
  done | sed 's/; $//') (ms)."
  echo "DuckDB's own time for the delta query (no Node/DuckDB start-up, no count): ${duckdb_query%; }."
  echo "Polars's own time for the delta query (no Node/Polars start-up, no count; scanCSV reads" \
    "the .gz files itself): ${polars_query%; }."
  echo "Every run's INSERT/UPDATE/DELETE counts matched the generator's truth.json."
  for line in "${spill_lines[@]}"; do echo "$line"; done
  echo
  echo "perf stat (one extra run each)"
  echo
  if [[ $perf_ok == 1 ]]; then
    for line in "${perf_lines[@]}"; do echo "$line"; done
  else
    echo "Skipped: \`perf stat\` does not work on this machine (${perf_probe:-no output})."
  fi
)

mkdir -p "$(dirname "$RESULTS")"
printf '%s\n' "$report" >"$RESULTS"
echo
printf '%s\n' "$report"
echo
note "table written to ${RESULTS#"$ROOT"/}"
