// Config: the TOML file that names each table's key, ignored columns, null marker, delimiter,
// before-images, duplicate and schema-change policies.
//
//   # top-level keys are defaults for every table, except these, which are run-wide
//   landing = "s3://bucket/exports" # the landing zone (--landing wins), a folder or s3://
//   state = "s3://bucket/state"     # the state store (--state wins); default <home>/state
//   registry = "postgresql://snapdelta@db:5432/snapdelta"  # (--registry wins); default
//                                   # <home>/registry.db
//   keep_states = 3                 # committed states kept per table, for rewind
//   settle_seconds = 2              # a landing file must stay unchanged this long
//   keep_changes = "7d"             # change files of published imports deleted after this
//   [sink]                          # where events are published (--sink wins over url)
//   url = "kafka://127.0.0.1:9092/snapdelta.{tenant}.{table}"
//   format = "debezium"             # json | debezium; also tombstones, transactional, region
//   "compression.type" = "zstd"     # a quoted key with dots: a librdkafka property
//   null_marker = "NULL"
//   [tables.orders]
//   key = ["region", "id"]          # or key = "id"
//   ignore = ["exported_at"]
//   delimiter = ";"
//   before_images = true
//   on_duplicate = "fail"           # fail | first | last
//   schema_change = "allow"         # allow | fail
//   marker = "_SUCCESS"             # a version is complete once it holds this (or
//                                   # "manifest.json"); its files are read as one export
//
// Unknown keys and wrong types are errors naming the file, line and column.
#ifndef SNAPDELTA_CONFIG_CONFIG_H_
#define SNAPDELTA_CONFIG_CONFIG_H_

#include <string>

#include "snapdelta/options.h"
#include "snapdelta/status.h"

namespace snapdelta {

// Parses the file at `path`. Errors: kNotFound, kInvalidArgument (located).
StatusOr<Config> LoadConfig(const std::string& path);
// Parses TOML text; `name` is used in messages.
StatusOr<Config> ParseConfig(std::string_view text, const std::string& name);

StatusOr<DuplicatePolicy> ParseDuplicatePolicy(std::string_view text);

// Milliseconds of a duration: "7d", "12h", "30m", "90s", or a whole number of seconds.
StatusOr<int64_t> ParseDuration(std::string_view text);

}  // namespace snapdelta

#endif  // SNAPDELTA_CONFIG_CONFIG_H_
