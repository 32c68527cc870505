#include "pipeline/discovery.h"

#include <tuple>

namespace snapdelta {
namespace {

Status RegisterSkipped(ImportRecord record, const std::string& reason, Registry* registry,
                       std::vector<ImportRecord>* skipped) {
  record.state = ImportState::kSkipped;
  record.reason = reason;
  record.finished_at_ms = record.discovered_at_ms;
  ASSIGN_OR_RETURN(record.id, registry->RegisterImport(record));
  skipped->push_back(std::move(record));
  return Status::OK();
}

}  // namespace

std::string StaleReason(const std::string& version, const std::string& committed) {
  if (version > committed) return "";
  if (version == committed) {
    return "version " + version +
           " is already committed with other content; a changed export "
           "needs a new version";
  }
  return "stale: version " + version + " is older than the committed version " + committed;
}

StatusOr<std::vector<DiscoveredExport>> ClassifyExports(LandingZone* landing, Registry* registry) {
  std::vector<DiscoveredExport> found;
  ASSIGN_OR_RETURN(std::vector<LandingFile> files, landing->List());
  for (const LandingFile& file : files) {
    std::optional<ImportRecord> existing;
    if (registry != nullptr) {
      ASSIGN_OR_RETURN(existing,
                       registry->FindImport(file.tenant, file.table, file.version, file.file));
    }
    if (existing && existing->size == file.size && existing->mtime_ms == file.mtime_ms) continue;
    DiscoveredExport item;
    ImportRecord& record = item.record;
    record.tenant = file.tenant;
    record.table = file.table;
    record.version = file.version;
    record.file = file.file;
    record.size = file.size;
    record.mtime_ms = file.mtime_ms;
    record.discovered_at_ms = SystemClockMs();
    ASSIGN_OR_RETURN(record.checksum, landing->Checksum(file));
    if (existing && existing->checksum == record.checksum) {
      if (existing->state == ImportState::kDiscovered || existing->state == ImportState::kRunning) {
        continue;  // touched while pending: it will be imported once
      }
      item.skip_reason = "re-upload of identical content (import #" + std::to_string(existing->id) +
                         ", " + std::string(ImportStateName(existing->state)) + ")";
    } else if (registry != nullptr) {
      ASSIGN_OR_RETURN(std::optional<TableState> table,
                       registry->GetTableState(file.tenant, file.table));
      if (table) item.skip_reason = StaleReason(file.version, table->version);
    }
    found.push_back(std::move(item));
  }
  return found;
}

Status DiscoverExports(LandingZone* landing, Registry* registry,
                       std::vector<ImportRecord>* skipped) {
  ASSIGN_OR_RETURN(std::vector<DiscoveredExport> found, ClassifyExports(landing, registry));
  for (DiscoveredExport& item : found) {
    if (!item.skip_reason.empty()) {
      RETURN_IF_ERROR(RegisterSkipped(item.record, item.skip_reason, registry, skipped));
      continue;
    }
    item.record.state = ImportState::kDiscovered;
    ASSIGN_OR_RETURN(item.record.id, registry->RegisterImport(item.record));
  }
  return Status::OK();
}

TablePlan PlanPending(const std::vector<ImportRecord>& pending,
                      std::vector<ImportRecord>* superseded) {
  std::map<std::tuple<std::string, std::string, std::string, std::string>, ImportRecord> newest;
  for (const ImportRecord& record : pending) {
    auto [it, inserted] = newest.emplace(
        std::make_tuple(record.tenant, record.table, record.version, record.file), record);
    if (inserted) continue;
    superseded->push_back(it->second);
    it->second = record;
  }
  TablePlan plan;
  for (auto& [key, record] : newest) plan[{record.tenant, record.table}].push_back(record);
  return plan;
}

}  // namespace snapdelta
