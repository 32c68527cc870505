// Discovery: turns the files of a landing zone into import records in the registry.
//
// Per landing file, in this order:
//   - a file whose size and mtime match its newest record is not looked at again (unless that
//     record is a failure to read it: then reading is tried again);
//   - a name discovery refuses (ExportNameProblem) is recorded failed, with the reason;
//   - an entry the landing zone cannot read as an export (LandingFile::unusable: a FIFO, a
//     symlink leaving the landing zone) is recorded skipped, with the reason;
//   - a file not settled yet (SettleTracker) is left for a later look, not registered;
//   - a file that cannot be read is recorded failed (environment), with the reason;
//   - the same content as the file's newest record, or as its committed import, is recorded
//     skipped (re-upload of identical content);
//   - new content for a version not newer than the table's committed one is recorded skipped
//     (stale), with a warning when that file's own earlier content was committed;
//   - anything else is registered as discovered, to be imported.
// One bad file never stops the others: only a landing zone or registry that cannot be read at
// all is an error.
#ifndef SNAPDELTA_PIPELINE_DISCOVERY_H_
#define SNAPDELTA_PIPELINE_DISCOVERY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/settle.h"
#include "snapdelta/landing.h"
#include "snapdelta/options.h"
#include "snapdelta/registry.h"

namespace snapdelta {

// What to record for one landing file.
struct DiscoveredExport {
  // state: kDiscovered (to import), kSkipped or kFailed (reason set).
  ImportRecord record;
  // Set when the file of a committed import now holds other content: the published events came
  // from the earlier content.
  std::string warning;
  // The waiting record of a multi-part version this complete one replaces (marked skipped).
  int64_t completes = 0;
};

// One look at the landing zone.
struct DiscoveryPass {
  std::vector<DiscoveredExport> exports;
  std::vector<LandingFile> unsettled;  // still being written: left for a later look
  // Multi-part versions waiting for their marker (multipart.h), as one entry each.
  std::vector<LandingFile> incomplete;
  std::vector<std::string> notes;  // LandingListing::notes
};

// What discovery would record now (see the file comment), without writing anything.
// `registry` may be null (nothing registered yet); `settle` may be null (every file settled).
// `only_paths`, when set, limits the look to those landing paths (a second look at the files
// an earlier pass found unsettled). An unreadable file's failure is due for its retry
// `retry_backoff_ms` after discovery.
// `config` names the tables' markers (TableOptions::marker); null: none.
StatusOr<DiscoveryPass> ClassifyExports(LandingZone* landing, Registry* registry,
                                        SettleTracker* settle, int64_t retry_backoff_ms,
                                        const std::set<std::string>* only_paths = nullptr,
                                        const Config* config = nullptr);

// What discovery passes recorded, for the run's report.
struct DiscoveryReport {
  std::vector<ImportRecord> finished;  // recorded skipped or failed, by every pass
  std::vector<std::string> warnings;   // by every pass
  std::vector<std::string> notes;      // by the last pass: entries passed over, files unsettled
  // By the last pass: files unsettled and multi-part versions waiting for their marker; each
  // holds its table's later versions back.
  std::vector<LandingFile> unsettled;
};

// Classifies (as ClassifyExports) and records the result in `registry`: one discovery pass.
Status DiscoverExports(LandingZone* landing, Registry* registry, SettleTracker* settle,
                       int64_t retry_backoff_ms, DiscoveryReport* report,
                       const Config* config = nullptr);

// Why the names of an export are refused, or "" when they are fine: a tenant, table, version or
// file name that is not valid UTF-8 (event ids, change files and JSON need UTF-8), or a version
// whose change or state file name (<version>.jsonl, <version>.state, plus ".tmp" while written)
// would pass the file system's limit of kMaxFileNameBytes bytes. The reason names the fix.
std::string ExportNameProblem(const std::string& tenant, const std::string& table,
                              const std::string& version, const std::string& file);
inline constexpr size_t kMaxFileNameBytes = 255;  // NAME_MAX of Linux file systems

// Pending imports grouped by (tenant, table), each table's in version order, keeping only the
// newest record of each file: `pending` lists the records of one file oldest first (as
// ListPending does); the older ones, superseded by a re-upload, go to `superseded`.
using TablePlan = std::map<std::pair<std::string, std::string>, std::vector<ImportRecord>>;
TablePlan PlanPending(const std::vector<ImportRecord>& pending,
                      std::vector<ImportRecord>* superseded);
inline constexpr char kSupersededReason[] = "superseded by a re-upload of the same file";

// `pending` without the imports that must wait for an unsettled file: those of its table from
// its version on (an earlier version still being written is imported first). They are appended
// to `held_back` when it is not null.
std::vector<ImportRecord> HoldBackUnsettled(std::vector<ImportRecord> pending,
                                            const std::vector<LandingFile>& unsettled,
                                            std::vector<ImportRecord>* held_back = nullptr);

// Whether the export `file` belongs to is registered: the file's own record, or its version's
// marker record (a multi-part export, waiting or complete).
StatusOr<bool> ExportRegistered(Registry* registry, const LandingFile& file);

// The skip reason for `version` when the table's committed version is `committed`, or "" when
// `version` is newer and may be imported.
std::string StaleReason(const std::string& version, const std::string& committed);

}  // namespace snapdelta

#endif  // SNAPDELTA_PIPELINE_DISCOVERY_H_
