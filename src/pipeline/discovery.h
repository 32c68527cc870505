// Discovery: turns the files of a landing zone into import records in the registry.
#ifndef SNAPDELTA_PIPELINE_DISCOVERY_H_
#define SNAPDELTA_PIPELINE_DISCOVERY_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "snapdelta/landing.h"
#include "snapdelta/registry.h"

namespace snapdelta {

// A landing file discovery would register: as pending, or (skip_reason set) as skipped.
struct DiscoveredExport {
  ImportRecord record;
  std::string skip_reason;
};

// What discovery would do with the landing files, without writing anything (see
// DiscoverExports for the rules). `registry` may be null: nothing is registered yet.
StatusOr<std::vector<DiscoveredExport>> ClassifyExports(LandingZone* landing, Registry* registry);

// Registers every landing file not registered yet. A file whose path, size and mtime match its
// newest record is not looked at again. Otherwise its checksum decides: the same content as
// the newest record is recorded as skipped (re-upload of identical content); new content for a
// version not newer than the table's committed one is recorded as skipped (stale); anything
// else is registered as discovered. Records skipped here are appended to `skipped`.
Status DiscoverExports(LandingZone* landing, Registry* registry,
                       std::vector<ImportRecord>* skipped);

// Pending imports grouped by (tenant, table), each table's in version order, keeping only the
// newest record of each file: `pending` lists the records of one file oldest first (as
// ListPending does); the older ones, superseded by a re-upload, go to `superseded`.
using TablePlan = std::map<std::pair<std::string, std::string>, std::vector<ImportRecord>>;
TablePlan PlanPending(const std::vector<ImportRecord>& pending,
                      std::vector<ImportRecord>* superseded);
inline constexpr char kSupersededReason[] = "superseded by a re-upload of the same file";

// The skip reason for `version` when the table's committed version is `committed`, or "" when
// `version` is newer and may be imported.
std::string StaleReason(const std::string& version, const std::string& committed);

}  // namespace snapdelta

#endif  // SNAPDELTA_PIPELINE_DISCOVERY_H_
