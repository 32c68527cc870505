#include "pipeline/importer.h"

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "base/fs.h"
#include "diff/differ.h"
#include "pipeline/discovery.h"
#include "pipeline/guards.h"
#include "snapdelta/landing.h"

namespace snapdelta {
namespace {

constexpr std::string_view kStateSuffix = ".state";

ImportRecord WithState(ImportRecord record, ImportState state, std::string reason) {
  record.state = state;
  record.reason = std::move(reason);
  record.finished_at_ms = SystemClockMs();
  return record;
}

// Removes the state files the table no longer needs: all but those of the newest `keep`
// committed versions (rewind targets) and those newer than the newest committed one (left by
// an import still to finish). This also drops states left by held, skipped or failed imports.
void PruneStates(Registry* registry, const std::string& dir, const ImportRecord& record, int keep) {
  auto imports = registry->ListImports(record.tenant, record.table);
  if (!imports.ok()) return;
  std::vector<std::string> committed;
  for (const ImportRecord& item : *imports) {
    if (item.state == ImportState::kCommitted) committed.push_back(item.version);
  }
  std::sort(committed.begin(), committed.end());
  committed.erase(std::unique(committed.begin(), committed.end()), committed.end());
  if (committed.empty()) return;
  std::vector<std::string> kept(
      committed.end() - std::min<ptrdiff_t>(keep, static_cast<ptrdiff_t>(committed.size())),
      committed.end());
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(kStateSuffix)) continue;
    std::string version = name.substr(0, name.size() - kStateSuffix.size());
    if (version > committed.back()) continue;
    if (std::find(kept.begin(), kept.end(), version) != kept.end()) continue;
    (void)RemoveFile(entry.path().string());
  }
}

}  // namespace

// Where the export of the table's committed state lies in the landing zone (it may be gone).
StatusOr<std::string> CommittedExportPath(Registry* registry, const EngineOptions& options,
                                          const TableState& table) {
  ASSIGN_OR_RETURN(std::vector<ImportRecord> imports,
                   registry->ListImports(table.tenant, table.table));
  for (const ImportRecord& import : imports) {
    if (import.id != table.import_id) continue;
    return LandingPath(options, import);
  }
  return std::string();
}

Status CheckOneExportPerVersion(const std::string& version_dir, const std::string& file) {
  std::string others;
  DIR* handle = ::opendir(version_dir.c_str());
  if (handle == nullptr) return Status::OK();  // the import reports the missing file
  while (struct dirent* entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (IsIgnoredLandingName(name) || name == file || entry->d_type == DT_DIR) continue;
    others += (others.empty() ? "" : ", ") + name;
  }
  ::closedir(handle);
  if (others.empty()) return Status::OK();
  return InvalidArgumentError(version_dir + ": holds other files besides " + file + " (" + others +
                              "); one export file per version is expected");
}

std::string StateDir(const std::string& home, const std::string& tenant, const std::string& table) {
  return home + "/state/" + tenant + "/" + table;
}

std::string RegistryPath(const std::string& home) { return home + "/registry.db"; }

StatusOr<std::unique_ptr<Registry>> OpenExistingRegistry(const std::string& home) {
  std::string path = RegistryPath(home);
  if (!PathExists(path)) {
    return NotFoundError(path + ": no registry here; run `snapdelta run` first, or check --home");
  }
  return OpenSqliteRegistry(path);
}

std::string StateFileName(const std::string& version) {
  return version + std::string(kStateSuffix);
}

std::string LandingPath(const EngineOptions& options, const ImportRecord& record) {
  return options.landing + "/" + record.tenant + "/" + record.table + "/" + record.version + "/" +
         record.file;
}

StatusOr<ImportRecord> RunImport(const ImportContext& context, const ImportRecord& pending,
                                 const Lease& lease) {
  Registry* registry = context.registry;
  const EngineOptions& options = *context.options;
  ImportRecord record = pending;
  ASSIGN_OR_RETURN(std::optional<TableState> table,
                   registry->GetTableState(record.tenant, record.table));
  if (table) {
    std::string stale = StaleReason(record.version, table->version);
    if (!stale.empty()) {
      RETURN_IF_ERROR(registry->MarkSkipped(record.id, stale));
      return WithState(record, ImportState::kSkipped, stale);
    }
  }
  Status running = registry->MarkRunning(record.id, lease);
  if (running.code() == StatusCode::kAborted) {
    return WithState(record, ImportState::kRunning, running.message());  // lease lost
  }
  RETURN_IF_ERROR(running);
  record.state = ImportState::kRunning;
  record.started_at_ms = SystemClockMs();
  CrashPoint("import.after_running");

  std::string state_dir = StateDir(options.home, record.tenant, record.table);
  std::string state_file = StateFileName(record.version);
  DiffRequest request;
  request.new_path = LandingPath(options, record);
  std::string version_dir = DirName(request.new_path);
  request.options = options.config.ForTable(record.table);
  request.build_state = true;
  request.state_path = state_dir + "/" + state_file;
  request.memory_limit = options.memory_limit;
  request.spill_dir = options.spill_dir;
  if (options.on_progress) {
    request.progress = [&](uint64_t bytes) { options.on_progress(record, bytes); };
  }
  if (table) {
    request.previous = {PreviousExport::Kind::kState, state_dir + "/" + table->state_file};
    ASSIGN_OR_RETURN(request.previous_export, CommittedExportPath(registry, options, *table));
  }

  Differ differ(request);
  ImportIdentity identity{record.tenant, record.table, record.version};
  std::optional<std::string> held;
  std::string released_past;  // the guard a `release` lifted, for the import's note
  auto attempt = [&]() -> Status {
    RETURN_IF_ERROR(CheckOneExportPerVersion(version_dir, record.file));
    RETURN_IF_ERROR(context.sink->Begin(identity));
    RETURN_IF_ERROR(differ.Run(context.sink));
    const DiffStats& stats = differ.stats();
    record.counts = ImportCounts{stats.new_rows, stats.inserts, stats.updates, stats.deletes};
    held = TrippedGuard(request.options, record.counts, stats.old_rows, !table.has_value());
    if (held && !context.lift_guards) return Status::OK();
    if (held) released_past = "released by hand past " + *held;
    held.reset();
    RETURN_IF_ERROR(differ.CommitState());
    CrashPoint("import.after_state");
    return context.sink->Finish();
  };
  Status status = attempt();
  if (!status.ok()) {
    context.sink->Abort();
    RETURN_IF_ERROR(registry->MarkFailed(record.id, status.message()));
    return WithState(record, ImportState::kFailed, status.message());
  }
  if (held) {  // nothing published, state untouched: it waits for release or skip
    context.sink->Abort();
    RETURN_IF_ERROR(registry->MarkHeld(record.id, *held, record.counts));
    return WithState(record, ImportState::kHeld, *held);
  }
  CrashPoint("import.before_commit");
  const DiffStats& stats = differ.stats();
  if (!stats.schema_change.empty()) {
    record.note = "schema change: " + stats.schema_change.ToString();
    if (!stats.note.empty()) record.note += "; " + stats.note;
  }
  if (!released_past.empty()) {
    record.note += (record.note.empty() ? "" : "; ") + released_past;
  }
  if (context.lease_lost->load()) {
    return WithState(record, ImportState::kRunning, "lease lost before commit; not committed");
  }
  TableState next{record.tenant, record.table, record.version, record.id, state_file};
  Status commit = registry->CommitImport(lease, record.id, record.counts, record.note, next);
  if (commit.code() == StatusCode::kAborted) {
    return WithState(record, ImportState::kRunning, commit.message());
  }
  RETURN_IF_ERROR(commit);
  CrashPoint("import.after_commit");
  PruneStates(registry, state_dir, record, options.keep_states);
  return WithState(record, ImportState::kCommitted, "");
}

}  // namespace snapdelta
