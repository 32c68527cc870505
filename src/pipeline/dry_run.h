// Dry run: what `snapdelta run` would do with the landing zone now, computed without changing
// anything under options.home.
//
// Pending exports are found as discovery finds them (discovery.h: identical re-uploads and
// stale versions would be skipped) and merged with the imports already pending in the registry
// (the newest record of a path wins, as in RunOnce). Each table's pending exports are diffed in
// version order: the first against the table's committed state, each later one against the
// state the earlier one would have committed (an import that would be held or fail leaves the
// previous state in place, as a real run does). Those intermediate states live in a temporary
// folder under $TMPDIR (or /tmp), removed before DryRun returns. Events are counted and dropped.
//
// Nothing is written under options.home: a missing registry.db is an empty registry and is not
// created; an existing one (with its write-ahead log) is copied into the temporary folder and
// the copy is read, since SQLite may checkpoint a log left by a killed process even for a
// connection that only reads. Nothing is registered. Tables are processed one after the other.
#ifndef SNAPDELTA_PIPELINE_DRY_RUN_H_
#define SNAPDELTA_PIPELINE_DRY_RUN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "snapdelta/engine.h"
#include "snapdelta/registry.h"
#include "snapdelta/sink.h"
#include "snapdelta/status.h"

namespace snapdelta {

// What the run would do with one export.
enum class DryRunAction {
  kCommit,  // publish the events and commit the new state
  kHold,    // a change guard trips (reason names it)
  kSkip,    // re-upload, stale version or superseded record (reason says which)
  kFail,    // the diff fails, e.g. a malformed export (reason is the error)
};
// "commit", "hold", "skip", "fail".
std::string_view DryRunActionName(DryRunAction action);

struct DryRunImport {
  std::string tenant;
  std::string table;
  std::string version;
  std::string file;
  DryRunAction action = DryRunAction::kCommit;
  // The skip reason, the guard that trips (TrippedGuard) or the error; empty for kCommit.
  std::string reason;
  // rows, inserts, updates, deletes: zero for kSkip and kFail.
  ImportCounts counts;
  uint64_t previous_rows = 0;  // rows of the previous export (DiffStats::old_rows)
  bool first_import = false;   // no previous state: exempt from the ratio guards
  double delete_ratio = 0;     // DeleteRatio(counts, previous_rows)
  double change_ratio = 0;     // ChangeRatio(counts, previous_rows)
};

// The imports a run would perform now, sorted by (tenant, table, version, file). Errors are
// about the dry run itself (unreadable landing folder or registry, no temporary folder); a bad
// export is a kFail entry.
StatusOr<std::vector<DryRunImport>> DryRun(const EngineOptions& options);

}  // namespace snapdelta

#endif  // SNAPDELTA_PIPELINE_DRY_RUN_H_
