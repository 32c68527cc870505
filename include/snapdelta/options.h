// Options: how one table's exports are read and compared. Filled from the config file
// ([tables.<table>] sections, with top-level keys as defaults) and from command-line flags.
#ifndef SNAPDELTA_OPTIONS_H_
#define SNAPDELTA_OPTIONS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace snapdelta {

// What to do when an export holds the same key twice.
enum class DuplicatePolicy {
  kFail,   // the import fails, naming both lines
  kFirst,  // the first row with the key wins, later ones are ignored
  kLast,   // the last row with the key wins
};

// What to do when the columns of an export differ from the previous one's.
enum class SchemaChangePolicy {
  kAllow,  // compare on the new columns; report the change once (log and registry)
  kFail,   // refuse the import
};

// Marker files of a multi-part export: an empty _SUCCESS, or a manifest.json listing the files
// ({"files": ["part-0000.csv.gz", ...]} or just the array).
inline constexpr char kSuccessMarker[] = "_SUCCESS";
inline constexpr char kManifestMarker[] = "manifest.json";

struct TableOptions {
  // Key columns, by header name. Default: empty, meaning the first column of the header.
  std::vector<std::string> key;
  // Columns left out of the comparison (e.g. an export timestamp). They still appear in rows.
  // Default: none.
  std::vector<std::string> ignore;
  // An unquoted field equal to this is null (JSON null in events). Default: none.
  std::optional<std::string> null_marker;
  // Field separator. Default: ','.
  char delimiter = ',';
  // Keep full rows in the state so UPDATE and DELETE events carry the old row ("before") and
  // UPDATEs list the changed columns. Costs state size. Default: false.
  bool before_images = false;
  // Default: kFail.
  DuplicatePolicy on_duplicate = DuplicatePolicy::kFail;
  // Default: kAllow.
  SchemaChangePolicy schema_change = SchemaChangePolicy::kAllow;
  // The file that says a version folder is complete (kSuccessMarker or kManifestMarker): a
  // version waits for it, and then all its files are one export. Default: empty: a version
  // with one file is that export, one with several waits for either marker.
  std::string marker;
  // Split each import into this many tasks by key-digest range, claimable by different workers
  // (each reads the whole export and keeps its range's keys); the import commits when all are
  // done. For a table too large for one worker. Default: 1 (one task).
  uint32_t partitions = 1;

  // Change guards (imports only; the first import of a table is exempt from the ratios).
  // An import that trips one is held: nothing published, state untouched, until released.
  // DELETEs over the previous export's rows above this hold the import. Default: 0.5.
  std::optional<double> max_delete_ratio = 0.5;
  // INSERT + UPDATE + DELETE over the previous export's rows above this hold it. Default: off.
  std::optional<double> max_change_ratio;
  // An export with fewer rows than this is held (a header-only export has 0). Default: off.
  std::optional<uint64_t> min_rows;
};

// Every table's options: the [tables.<table>] sections of the config file over its top-level
// defaults (see src/config/config.h for the file format).
struct Config {
  TableOptions defaults;
  std::map<std::string, TableOptions> tables;  // by table name
  // The landing zone and the state store (top-level `landing` and `state`): a folder or
  // s3://BUCKET[/PREFIX]; --landing and --state win over them. Default: empty (unset).
  std::string landing;
  std::string state;
  // The registry (top-level `registry`): postgresql://… or a SQLite file; --registry wins.
  // Default: empty (<home>/registry.db).
  std::string registry;
  // Committed states kept per table, for `rewind` (top-level `keep_states`). Default: 3.
  int keep_states = 3;
  // Seconds a landing file's size and mtime must stay unchanged before it is imported
  // (top-level `settle_seconds`, or --settle-seconds; 0 turns waiting off). Default: 2.
  double settle_seconds = 2;
  // Where events are published (the [sink] table): `url` ("file", kafka://..., kinesis://...)
  // and the other keys as sink URL parameters (format, tombstones, transactional, region, and
  // librdkafka properties), which the URL's own parameters win over; --sink wins over `url`.
  // Default: empty (the change files only).
  std::string sink_url;
  std::map<std::string, std::string> sink_parameters;
  // How long the change files of published imports are kept, in milliseconds (top-level
  // `keep_changes`, "7d", "12h", "30m", "90s" or seconds). Default: -1, forever.
  int64_t keep_changes_ms = -1;

  // The options of `table`: its section, or the defaults.
  const TableOptions& ForTable(const std::string& table) const {
    auto it = tables.find(table);
    return it == tables.end() ? defaults : it->second;
  }
};

// Which kinds of events to emit (for `diff`). Default: all.
struct OpFilter {
  bool insert = true;
  bool update = true;
  bool del = true;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_OPTIONS_H_
