#!/usr/bin/env bash
# Peak memory of one large field: how many times its size snapdelta holds while it diffs an
# export whose one value is FIELD_MIB MiB (default 1023, just under the 1 GiB record limit).
#
#   bench/large_field.sh        (after `make build`; never run by `make test`, which runs the
#                                64 MiB version: tests/integration/hostile_size_test.cc)
#
# Workloads, on old.csv.gz and new.csv.gz (id,v; rows 1 and 3 small, row 2's v FIELD_MIB MiB of
# 'o' in old and 'n' in new; gzip -1, about 1 MB each):
#   first    snapdelta diff --first NEW -o FILE                  one INSERT of the field
#   spilled  snapdelta diff --first NEW --stats-only --memory-limit 512MB
#   two      snapdelta diff OLD NEW -o FILE                      one UPDATE of the field
# Reported: peak RSS (/usr/bin/time %M) in MiB and as a multiple of the field, and the RSS of a
# diff of a one-row file (the process's own cost). Written to bench/results/large_field.md.
#
# Environment: FIELD_MIB=1023, BUILD_DIR=build, BENCH_TMP (default: a fresh folder in $TMPDIR).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/paths.sh"
FIELD_MIB=${FIELD_MIB:-1023}
RESULTS=$BENCH_DIR/results/large_field.md
TIME=/usr/bin/time

die() { echo "large_field.sh: $*" >&2; exit 1; }
[[ -x $SNAPDELTA ]] || die "$SNAPDELTA missing: run 'make build' first"
[[ -x $TIME ]] || die "$TIME missing: apt-get install time"
[[ $FIELD_MIB =~ ^[0-9]+$ && $FIELD_MIB -ge 1 && $FIELD_MIB -le 1023 ]] ||
  die "FIELD_MIB must be 1..1023 (a record is at most 1 GiB)"

WORK=${BENCH_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/snapdelta-large-field-XXXXXX")}
trap 'rm -rf "$WORK"' EXIT

# id,v with row 2's value FIELD_MIB MiB of the letter $1.
make_export() {
  { printf 'id,v\n1,a\n2,'
    head -c "${FIELD_MIB}M" /dev/zero | tr '\0' "$1"
    printf '\n3,c\n'
  } | gzip -1 > "$2"
}
echo "large_field.sh: writing two exports with a ${FIELD_MIB} MiB field" >&2
make_export o "$WORK/old.csv.gz"
make_export n "$WORK/new.csv.gz"
printf 'id,v\n1,a\n' > "$WORK/tiny.csv"

# Peak RSS in KiB of the command.
peak_kib() {
  "$TIME" -f '%M' -o "$WORK/time.txt" "$@" > /dev/null 2> "$WORK/err.txt" ||
    die "$* failed: $(cat "$WORK/err.txt")"
  tail -1 "$WORK/time.txt"
}

baseline=$(peak_kib "$SNAPDELTA" diff --first "$WORK/tiny.csv" --stats-only)
declare -A runs=(
  [first]="diff --first $WORK/new.csv.gz -o $WORK/events.jsonl"
  [spilled]="diff --first $WORK/new.csv.gz --stats-only --memory-limit 512MB"
  [two]="diff $WORK/old.csv.gz $WORK/new.csv.gz -o $WORK/events.jsonl"
)
{
  echo "Large field $(date -u '+%Y-%m-%d %H:%M UTC'): $(uname -m), $(nproc) cores;" \
    "snapdelta $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "($(grep -m1 CMAKE_BUILD_TYPE: "$BUILD_DIR/CMakeCache.txt" 2>/dev/null | cut -d= -f2));" \
    "one value of ${FIELD_MIB} MiB; baseline (one-row diff) $((baseline / 1024)) MiB."
  echo
  echo "| workload | command | peak RSS MiB | x field |"
  echo "|---|---|---:|---:|"
  for name in first spilled two; do
    # shellcheck disable=SC2086  # the command is split into words on purpose
    kib=$(peak_kib "$SNAPDELTA" ${runs[$name]})
    ratio=$(awk -v k="$kib" -v f="$FIELD_MIB" 'BEGIN { printf "%.2f", k / 1024 / f }')
    echo "| $name | \`snapdelta ${runs[$name]//$WORK\//}\` | $((kib / 1024)) | $ratio |"
  done
} | tee "$RESULTS"
