#!/usr/bin/env bash
# The cost of S3: `snapdelta run` of the same export chain from a local folder and from S3 (a
# local moto_server, with the states on S3 too), median of RUNS runs each, alternating.
# moto is a Python mock: its numbers bound the client's overhead, not AWS's throughput.
#   bench/s3_import.sh [ROWS] [RUNS]     (default 1000000 rows, 3 runs)
set -euo pipefail
source "$(dirname "$0")/paths.sh"
ROWS=${1:-1000000}
RUNS=${2:-3}
command -v moto_server >/dev/null && command -v aws >/dev/null || {
  echo "s3_import: needs moto_server and the AWS CLI (scripts/install-deps.sh)" >&2
  exit 1
}
WORK=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
moto_server -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null; rm -rf "$WORK"' EXIT
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
export AWS_REGION=us-east-1 SNAPDELTA_SETTLE_SECONDS=0
for _ in $(seq 50); do curl -s "$AWS_ENDPOINT_URL" >/dev/null && break; sleep 0.2; done

"$BUILD_DIR/snapdelta-gen" "$WORK/chain" --rows "$ROWS" --exports 2 --gzip --landing acme/orders \
  >/dev/null
aws s3 mb s3://landing >/dev/null
aws s3 mb s3://states >/dev/null
aws s3 sync --only-show-errors "$WORK/chain/acme" s3://landing/acme

seconds() { # seconds of one run: $1 = landing, $2 = state, $3 = home
  local start end
  rm -rf "$3"
  [[ $2 == s3://* ]] && aws s3 rm --recursive --only-show-errors "$2"
  start=$(date +%s.%N)
  "$SNAPDELTA" run --landing "$1" --state "$2" --home "$3" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

local_times=() s3_times=()
for _ in $(seq "$RUNS"); do
  local_times+=("$(seconds "$WORK/chain" "$WORK/home/state" "$WORK/home")")
  s3_times+=("$(seconds s3://landing s3://states/st "$WORK/s3home")")
done
cmp "$WORK/home/changes/acme/orders/"*2*.jsonl "$WORK/s3home/changes/acme/orders/"*2*.jsonl
local_median=$(printf '%s\n' "${local_times[@]}" | median)
s3_median=$(printf '%s\n' "${s3_times[@]}" | median)
size=$(du -cb "$WORK"/chain/acme/orders/*/* | tail -1 | cut -f1)
printf '%s rows x 2 exports (%s MB gzip): local %.2f s, S3 (moto) %.2f s, %.2fx; change files equal\n' \
  "$ROWS" "$((size / 1000000))" "$local_median" "$s3_median" \
  "$(echo "$s3_median / $local_median" | bc -l)"
