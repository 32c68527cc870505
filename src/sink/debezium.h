// Debezium's change-event envelope, for Kafka Connect sinks (the Debezium JDBC sink, any sink
// that reads Debezium topics) to consume snapdelta's events unchanged (`--format debezium`).
//
// One change-file event (README.md, "Event format") becomes a Kafka message:
//   key    {"<key column>": "<value>", ...}
//   value  {"before": {...} | null, "after": {...} | null, "op": "c" | "u" | "d" | "r",
//           "source": {"connector": "snapdelta", "name": "<tenant>", "db": "<tenant>",
//                      "table": "<table>", "version": "<version>", "seq": N,
//                      "snapshot": "true" | "false", "ts_ms": <export time>},
//           "ts_ms": <publish time>}
// INSERT is "c", or "r" (a snapshot read) in a table's first import; UPDATE "u"; DELETE "d".
// `after` is the new row; `before` the old row when before-images are on, else, for a DELETE,
// the key columns (all a sink needs to delete the row). Values stay strings (null for a
// null-marker value), as in the change file. With tombstones, a DELETE is followed by a message
// of the same key and a null value, so a compacted topic forgets the row.
//
// The payload is schemaless JSON (Kafka Connect's JsonConverter with schemas.enable=false).
// Thread safety: the functions are reentrant.
#ifndef SNAPDELTA_SINK_DEBEZIUM_H_
#define SNAPDELTA_SINK_DEBEZIUM_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "snapdelta/status.h"

namespace snapdelta {

struct DebeziumContext {
  bool snapshot = false;     // the table's first import: INSERTs are "r"
  int64_t export_ts_ms = 0;  // when the export was written (source.ts_ms)
  int64_t now_ms = 0;        // when it is published (ts_ms)
};

struct KafkaMessage {
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone
};

// The Debezium message of one change-file event, and its tombstone after a DELETE when
// `tombstones`. kCorruption when `event` is not a snapdelta event (names the missing member).
Status ToDebezium(const nlohmann::json& event, const DebeziumContext& context, bool tombstones,
                  std::vector<KafkaMessage>* out);

}  // namespace snapdelta

#endif  // SNAPDELTA_SINK_DEBEZIUM_H_
