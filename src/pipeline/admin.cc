#include "pipeline/admin.h"

#include <algorithm>

#include "base/fs.h"
#include "pipeline/importer.h"
#include "pipeline/lease_keeper.h"
#include "snapdelta/sink.h"

namespace snapdelta {
namespace {

// The newest import of tenant/table/version in one of `states`.
StatusOr<ImportRecord> FindImportIn(Registry* registry, const std::string& tenant,
                                    const std::string& table, const std::string& version,
                                    std::initializer_list<ImportState> states,
                                    const std::string& wanted) {
  ASSIGN_OR_RETURN(std::vector<ImportRecord> imports, registry->ListImports(tenant, table));
  for (auto it = imports.rbegin(); it != imports.rend(); ++it) {
    if (it->version != version) continue;
    if (std::find(states.begin(), states.end(), it->state) != states.end()) return *it;
  }
  return NotFoundError(tenant + "/" + table + "/" + version + " has no " + wanted +
                       " import; `snapdelta status` lists them");
}

// Takes the table's lease for a by-hand operation, or says who holds it.
StatusOr<Lease> TakeLease(Registry* registry, const EngineOptions& options,
                          const std::string& tenant, const std::string& table,
                          const std::string& what) {
  StatusOr<Lease> lease =
      AcquireOrTakeOver(registry, tenant, table, MakeOwnerId(), options.lease_ttl_ms);
  if (lease.status().code() == StatusCode::kUnavailable) {
    return UnavailableError(what + " refused: an import of " + tenant + "/" + table +
                            " is running (" + lease.status().message() + ")");
  }
  return lease;
}

// Runs `pending` as a run would, under `lease` (renewed while it works, released after).
StatusOr<ImportRecord> ImportUnderLease(Registry* registry, const EngineOptions& options,
                                        const Lease& lease, const ImportRecord& pending,
                                        bool lift_guards) {
  std::unique_ptr<Sink> sink = NewChangeFileSink(options.home + "/changes");
  StatusOr<ImportRecord> done = [&]() -> StatusOr<ImportRecord> {
    ASSIGN_OR_RETURN(EngineStorage storage, OpenEngineStorage(options));
    LeaseKeeper keeper(registry, lease, options.lease_ttl_ms);
    ImportContext context{registry, storage.landing.get(), storage.states.get(), sink.get(),
                          &options, &keeper.lost(),        lift_guards};
    return RunImport(context, pending, keeper.lease());
  }();
  (void)registry->ReleaseLease(lease);
  return done;
}

}  // namespace

StatusOr<std::vector<std::string>> SplitPath(const std::string& text, size_t parts) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t slash = text.find('/', start);
    if (slash == std::string::npos) slash = text.size();
    out.push_back(text.substr(start, slash - start));
    start = slash + 1;
  }
  bool empty_part = std::any_of(out.begin(), out.end(), [](const auto& s) { return s.empty(); });
  if (out.size() != parts || empty_part) {
    return InvalidArgumentError("'" + text + "' is not " +
                                (parts == 3 ? "TENANT/TABLE/VERSION" : "TENANT/TABLE"));
  }
  return out;
}

StatusOr<ImportRecord> ReleaseHeld(const EngineOptions& options, const std::string& tenant,
                                   const std::string& table, const std::string& version) {
  ASSIGN_OR_RETURN(std::unique_ptr<Registry> registry,
                   OpenExistingRegistry(options.home, options.registry));
  // A release killed half-way left its import running: releasing again finishes it. Killed
  // after its commit, it is done: releasing again says so.
  StatusOr<ImportRecord> found = FindImportIn(registry.get(), tenant, table, version,
                                              {ImportState::kHeld, ImportState::kRunning}, "held");
  if (!found.ok()) {
    StatusOr<ImportRecord> done = FindImportIn(registry.get(), tenant, table, version,
                                               {ImportState::kCommitted}, "committed");
    if (done.ok() && done->released) return done;
    return found.status();
  }
  ImportRecord held = *found;
  ASSIGN_OR_RETURN(Lease lease, TakeLease(registry.get(), options, tenant, table, "release"));
  StatusOr<std::optional<TableState>> state = registry->GetTableState(tenant, table);
  Status status = state.status();
  if (status.ok() && *state && (*state)->version > version) {
    status = AbortedError(tenant + "/" + table + "/" + version + " is stale: version " +
                          (*state)->version + " was committed after it was held; releasing it " +
                          "would undo that. Drop it with `snapdelta skip " + tenant + "/" + table +
                          "/" + version + "`");
  }
  if (!status.ok()) {
    (void)registry->ReleaseLease(lease);
    return status;
  }
  status = registry->MarkReleased(held.id);
  if (!status.ok()) {
    (void)registry->ReleaseLease(lease);
    return status;
  }
  held.released = true;
  return ImportUnderLease(registry.get(), options, lease, held, /*lift_guards=*/true);
}

StatusOr<ImportRecord> RetryFailed(const EngineOptions& options, const std::string& tenant,
                                   const std::string& table, const std::string& version) {
  ASSIGN_OR_RETURN(std::unique_ptr<Registry> registry,
                   OpenExistingRegistry(options.home, options.registry));
  // A retry killed half-way left its import running (or discovered): retrying again finishes it.
  ASSIGN_OR_RETURN(ImportRecord failed, FindImportIn(registry.get(), tenant, table, version,
                                                     {ImportState::kFailed, ImportState::kRunning,
                                                      ImportState::kDiscovered},
                                                     "failed"));
  ASSIGN_OR_RETURN(Lease lease, TakeLease(registry.get(), options, tenant, table, "retry"));
  Status status =
      failed.state == ImportState::kFailed ? registry->RetryImport(failed.id) : Status::OK();
  if (!status.ok()) {
    (void)registry->ReleaseLease(lease);
    return status;
  }
  failed.state = ImportState::kDiscovered;
  failed.crashes = 0;
  return ImportUnderLease(registry.get(), options, lease, failed, /*lift_guards=*/false);
}

StatusOr<ImportRecord> SkipByHand(const EngineOptions& options, const std::string& tenant,
                                  const std::string& table, const std::string& version) {
  ASSIGN_OR_RETURN(std::unique_ptr<Registry> registry,
                   OpenExistingRegistry(options.home, options.registry));
  ASSIGN_OR_RETURN(ImportRecord record, FindImportIn(registry.get(), tenant, table, version,
                                                     {ImportState::kHeld, ImportState::kDiscovered,
                                                      ImportState::kFailed},
                                                     "held, pending or failed"));
  ASSIGN_OR_RETURN(Lease lease, TakeLease(registry.get(), options, tenant, table, "skip"));
  record.state = ImportState::kSkipped;
  record.reason = "skipped by hand";
  Status status = registry->MarkSkipped(record.id, record.reason);
  (void)registry->ReleaseLease(lease);
  RETURN_IF_ERROR(status);
  return record;
}

Status RewindTable(const EngineOptions& options, const std::string& tenant,
                   const std::string& table, const std::string& version) {
  ASSIGN_OR_RETURN(std::unique_ptr<Registry> registry,
                   OpenExistingRegistry(options.home, options.registry));
  ASSIGN_OR_RETURN(ImportRecord target, FindImportIn(registry.get(), tenant, table, version,
                                                     {ImportState::kCommitted}, "committed"));
  ASSIGN_OR_RETURN(std::unique_ptr<StateStore> states, OpenStateStore(StateUrl(options)));
  ASSIGN_OR_RETURN(std::vector<StoredState> kept, states->List(tenant, table));
  auto found = std::find_if(kept.begin(), kept.end(),
                            [&](const StoredState& state) { return state.version == version; });
  if (found == kept.end()) {
    return NotFoundError(
        "the state of " + tenant + "/" + table + "/" + version +
        " is no longer kept (keep_states = " + std::to_string(options.keep_states) +
        " keeps the newest committed states); it cannot be rewound to");
  }
  ASSIGN_OR_RETURN(std::vector<ImportRecord> imports, registry->ListImports(tenant, table));
  std::vector<int64_t> undone;
  for (const ImportRecord& import : imports) {
    if (import.state == ImportState::kCommitted && import.version > version) {
      undone.push_back(import.id);
    }
  }
  ASSIGN_OR_RETURN(Lease lease, TakeLease(registry.get(), options, tenant, table, "rewind"));
  CrashPoint("rewind.before_commit");
  Status status = registry->RewindTable(
      lease, TableState{tenant, table, version, target.id, found->name}, undone);
  (void)registry->ReleaseLease(lease);
  return status;
}

}  // namespace snapdelta
