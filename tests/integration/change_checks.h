// Independent checks of what `snapdelta run` produces, for end-to-end tests:
//  - the envelope of every event in a change file (id, seq, op, tenant/table/version, key, which
//    optional members appear), against the event format of README.md, "Event format";
//  - an oracle for the content: the changes between two exports computed by a SQL FULL OUTER
//    JOIN in the sqlite3 command-line shell, which shares no code with snapdelta;
//  - the registry as `snapdelta status --json` reports it.
//
// Failures are recorded with GoogleTest's EXPECT/ADD_FAILURE (at most a few per call, so a wrong
// file does not flood the log); callers stop with ASSERT_FALSE(HasFailure()) where needed.
#ifndef SNAPDELTA_TESTS_INTEGRATION_CHANGE_CHECKS_H_
#define SNAPDELTA_TESTS_INTEGRATION_CHANGE_CHECKS_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "harness.h"

namespace snapdelta::testing {

struct ChangeCounts {
  uint64_t inserts = 0, updates = 0, deletes = 0;
  bool operator==(const ChangeCounts&) const = default;
};
std::ostream& operator<<(std::ostream& os, const ChangeCounts& counts);

// One change as the oracle sees it. Values are strings exactly as exported.
struct ExpectedChange {
  std::string op;                    // "INSERT", "UPDATE" or "DELETE"
  nlohmann::json key;                // key column -> value
  nlohmann::json row;                // the new row (INSERT, UPDATE); null for DELETE
  nlohmann::json before;             // the old row (UPDATE, DELETE); null for INSERT
  std::vector<std::string> changed;  // UPDATE: the columns whose value differs, sorted
};
// KeyString(key) -> change; each key appears once.
using ExpectedChanges = std::map<std::string, ExpectedChange>;

// A canonical text for a key object (members sorted by name), to index changes by key.
std::string KeyString(const nlohmann::json& key);

ChangeCounts CountOf(const ExpectedChanges& changes);

// The changes that turn export `previous` into export `next` (CSV with a header row; plain,
// .gz or .zst), matching rows on the `key` columns and columns by header name. An empty
// `previous` means a first export: every row is an INSERT. Scratch files (decompressed CSVs, the
// sqlite database) go under `work_dir`, which must exist.
ExpectedChanges SqlOracleDiff(const fs::path& previous, const fs::path& next,
                              const std::vector<std::string>& key, const fs::path& work_dir);

// What a change file's events must carry.
struct ChangeFileSpec {
  std::string tenant, table, version;
  std::vector<std::string> key;  // the key columns
  bool before_images = false;    // "before" required on UPDATE/DELETE when true, absent when false
};

// Checks every event's envelope: id == "tenant/table/version/seq", seq exactly 1..N (each
// once), op one of the three, tenant/table/version as `spec`, key with exactly the key columns
// as strings, "row" on INSERT/UPDATE only, "changed" on UPDATE only, "before" per spec, each key
// at most once. Returns the count per op.
ChangeCounts CheckEnvelopes(const std::vector<nlohmann::json>& events, const ChangeFileSpec& spec);

// Checks that `events` are exactly `expected`: the same keys with the same op, "row" equal to
// the new row, and where present "changed" equal to the differing columns and "before" equal to
// the old row.
void ExpectEventsMatch(const std::vector<nlohmann::json>& events, const ExpectedChanges& expected);

// HOME/changes/TENANT/TABLE/VERSION.jsonl.
fs::path ChangeFilePath(const fs::path& home, const ChangeFileSpec& spec);

// Runs `snapdelta status --home HOME --json` and returns its JSON array (null after a failure).
nlohmann::json ReadStatus(const fs::path& home);

// The entries of `status` for tenant/table/version (normally exactly one).
std::vector<nlohmann::json> StatusEntries(const nlohmann::json& status, const std::string& tenant,
                                          const std::string& table, const std::string& version);

// The subset of a status entry that must not move once an import is final (no timings), for
// "a rerun changes nothing" checks.
nlohmann::json StableStatus(const nlohmann::json& status);

// Everything a finished command leaves in a home that a rerun after a crash must reproduce.
struct Outcome {
  std::map<std::string, std::string> changes;  // path under HOME/changes -> content
  std::map<std::string, std::string> states;   // path under HOME/state -> content
  nlohmann::json status;                       // StableStatus(snapdelta status --json)
};
Outcome ReadOutcome(const fs::path& home);

// Compares file sets and contents without printing megabytes of content on a mismatch.
void ExpectSameFiles(const std::map<std::string, std::string>& got,
                     const std::map<std::string, std::string>& want, const std::string& what);
// The same change files, state files and status.
void ExpectSameOutcome(const Outcome& got, const Outcome& want);

}  // namespace snapdelta::testing

#endif  // SNAPDELTA_TESTS_INTEGRATION_CHANGE_CHECKS_H_
