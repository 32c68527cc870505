#!/usr/bin/env bash
# Publishing throughput: a 1M-row first import (1M INSERT events) is imported once with the change
# file sink, then published RUNS times to librdkafka's mock Kafka cluster (3 brokers, 4
# partitions) by `snapdelta run --sink kafka://...`, the position reset in between; prints the
# median events/s. Then the Kinesis request and byte counts per event, measured against
# moto_server by the Kinesis stream test (moto's speed says nothing about AWS's, its counts do).
#   bench/publish.sh [ROWS] [RUNS]     (default 1000000 rows, 3 runs)
set -euo pipefail
source "$(dirname "$0")/paths.sh"
ROWS=${1:-1000000}
RUNS=${2:-3}
WORK=$(mktemp -d)
mkfifo "$WORK/mock.in"
"$BUILD_DIR/snapdelta-kafka-mock" --brokers 3 --topic snapdelta.acme.orders:4 \
  <"$WORK/mock.in" >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK=$!
exec 3>"$WORK/mock.in"  # the mock serves while its stdin is open
trap 'exec 3>&-; kill $MOCK 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$WORK/mock.out" ] && break; sleep 0.1; done
BOOTSTRAP=$(head -1 "$WORK/mock.out")
export SNAPDELTA_SETTLE_SECONDS=0

"$BUILD_DIR/snapdelta-gen" "$WORK/chain" --rows "$ROWS" --exports 1 --gzip --landing acme/orders \
  >/dev/null
"$SNAPDELTA" run --landing "$WORK/chain" --home "$WORK/home" >/dev/null
events=$(sqlite3 "$WORK/home/registry.db" "SELECT inserts + updates + deletes FROM imports")
bytes=$(stat -c %s "$WORK"/home/changes/acme/orders/*.jsonl)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
times=()
for run in $(seq "$RUNS"); do
  sqlite3 "$WORK/home/registry.db" "UPDATE imports SET published_seq = 0, published_at_ms = 0"
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$WORK/rss" "$SNAPDELTA" run --landing "$WORK/chain" \
    --home "$WORK/home" --sink "kafka://$BOOTSTRAP/snapdelta.{tenant}.{table}" >/dev/null
  end=$(date +%s.%N)
  times+=("$(echo "$end - $start" | bc)")
  echo "run $run: ${times[-1]} s, peak RSS $(($(cat "$WORK/rss") / 1024)) MB" >&2
done
seconds=$(printf '%s\n' "${times[@]}" | median)
echo "Kafka (mock cluster, 3 brokers): $events events ($((bytes / events)) bytes each) in" \
  "$seconds s: $(echo "$events / $seconds" | bc) events/s (median of $RUNS)"

# The same change file's lines produced by kcat (librdkafka's own command-line producer) with
# snapdelta's producer settings, a header per message and each line's key (its "key" object, as
# snapdelta keys it), to the same cluster, just after: a reference for what this machine gives a
# bare producer at this moment (no delivery tracking, no recorded position). These VMs' speed
# drifts by half within an hour. Keys matter: keyed messages spread over the partitions cost
# librdkafka about 1.5x the time of keyless ones (sticky partitioning), so the keyless run is
# printed too, as the floor for unkeyed messages.
if command -v kcat >/dev/null; then
  sed -E 's/^(.*"key":(\{[^}]*\}).*)$/\2\t\1/' "$WORK"/home/changes/acme/orders/*.jsonl \
    >"$WORK/keyed.txt"
  kcat_seconds() {  # the median time of RUNS kcat runs of file $1, with the extra arguments given
    local input=$1 ktimes=() start end
    shift
    for _ in $(seq "$RUNS"); do
      start=$(date +%s.%N)
      kcat -P -b "$BOOTSTRAP" -t snapdelta.acme.orders -z lz4 -H snapdelta-id=acme/orders/v0001/1 \
        -X enable.idempotence=true -X acks=all -X partitioner=murmur2_random -X linger.ms=10 \
        -X batch.size=1000000 -X batch.num.messages=100000 \
        -X queue.buffering.max.messages=1000000 "$@" <"$input"
      end=$(date +%s.%N)
      ktimes+=("$(echo "$end - $start" | bc)")
    done
    printf '%s\n' "${ktimes[@]}" | median
  }
  kseconds=$(kcat_seconds "$WORK/keyed.txt" -K $'\t')
  echo "kcat, the same lines, keys and settings: $kseconds s: $(echo "$events / $kseconds" | bc)" \
    "events/s (median of $RUNS); snapdelta takes $(echo "scale=2; $seconds / $kseconds" | bc)x kcat's time"
  useconds=$(kcat_seconds "$(echo "$WORK"/home/changes/acme/orders/*.jsonl)")
  echo "kcat, the same lines without keys: $useconds s: $(echo "$events / $useconds" | bc) events/s"
fi

if command -v moto_server >/dev/null && command -v aws >/dev/null; then
  "$BUILD_DIR/snapdelta_tests" --gtest_filter='KinesisStreamTest.RequestsAndBytesPerEvent' \
    2>&1 | grep -i "request" || echo "Kinesis: the measuring test did not run" >&2
fi
