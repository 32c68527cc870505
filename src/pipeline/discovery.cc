#include "pipeline/discovery.h"

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

Status DiscoverExports(LandingZone* landing, Registry* registry,
                       std::vector<ImportRecord>* skipped) {
  ASSIGN_OR_RETURN(std::vector<LandingFile> files, landing->List());
  for (const LandingFile& file : files) {
    ASSIGN_OR_RETURN(std::optional<ImportRecord> existing,
                     registry->FindImport(file.tenant, file.table, file.version, file.file));
    if (existing && existing->size == file.size && existing->mtime_ms == file.mtime_ms) continue;
    ImportRecord record;
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
      RETURN_IF_ERROR(RegisterSkipped(record,
                                      "re-upload of identical content (import #" +
                                          std::to_string(existing->id) + ", " +
                                          std::string(ImportStateName(existing->state)) + ")",
                                      registry, skipped));
      continue;
    }
    ASSIGN_OR_RETURN(std::optional<TableState> table,
                     registry->GetTableState(file.tenant, file.table));
    std::string stale = table ? StaleReason(file.version, table->version) : "";
    if (!stale.empty()) {
      RETURN_IF_ERROR(RegisterSkipped(record, stale, registry, skipped));
      continue;
    }
    record.state = ImportState::kDiscovered;
    ASSIGN_OR_RETURN(record.id, registry->RegisterImport(record));
  }
  return Status::OK();
}

}  // namespace snapdelta
