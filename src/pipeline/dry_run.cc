#include "pipeline/dry_run.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "base/fs.h"
#include "diff/differ.h"
#include "diff/spill.h"
#include "pipeline/discovery.h"
#include "pipeline/guards.h"
#include "pipeline/importer.h"
#include "pipeline/multipart.h"
#include "pipeline/settle.h"
#include "snapdelta/landing.h"
#include "snapdelta/sink.h"

namespace snapdelta {
namespace {

// Copies of the registry taken while another process changed it are retried this often, this
// far apart: a commit takes milliseconds.
constexpr int kSnapshotAttempts = 20;
constexpr auto kSnapshotRetryDelay = std::chrono::milliseconds(50);

DryRunImport Entry(const ImportRecord& record, DryRunAction action, std::string reason) {
  DryRunImport entry;
  entry.tenant = record.tenant;
  entry.table = record.table;
  entry.version = record.version;
  entry.file = record.file;
  entry.action = action;
  entry.reason = std::move(reason);
  return entry;
}

// The registry's answer, or that of an empty registry when there is none (null).
StatusOr<std::optional<TableState>> GetTableState(Registry* registry, const std::string& tenant,
                                                  const std::string& table) {
  if (registry == nullptr) return std::optional<TableState>();
  return registry->GetTableState(tenant, table);
}

// Adds what one discovery pass would record: new landing files become `pending` (with id 0);
// skipped and failed ones become kSkip and kFail entries in `out`.
void AddPass(DiscoveryPass pass, std::vector<ImportRecord>* pending,
             std::vector<DryRunImport>* out) {
  for (DiscoveredExport& item : pass.exports) {
    const ImportState state = item.record.state;
    if (state == ImportState::kDiscovered) {
      pending->push_back(std::move(item.record));
    } else {
      DryRunAction action =
          state == ImportState::kFailed ? DryRunAction::kFail : DryRunAction::kSkip;
      out->push_back(Entry(item.record, action, item.record.reason));
    }
  }
}

// The imports discovery would register, as a run finds them: files still being written are
// looked at again once they could have settled; those that have not are kSkip entries, and the
// later versions of their table wait (as in a run).
Status FindNewExports(const EngineOptions& options, LandingZone* landing, Registry* registry,
                      std::vector<ImportRecord>* pending, std::vector<DryRunImport>* out) {
  SettleTracker settle(options.settle_ms);
  ASSIGN_OR_RETURN(DiscoveryPass pass,
                   ClassifyExports(landing, registry, &settle, options.retry_backoff_ms, nullptr,
                                   &options.config));
  std::vector<LandingFile> unsettled = std::move(pass.unsettled);
  const std::vector<LandingFile> incomplete = std::move(pass.incomplete);
  AddPass(std::move(pass), pending, out);
  if (!unsettled.empty() && WaitForNextLook(settle, options.stop)) {
    std::set<std::string> paths;
    for (const LandingFile& file : unsettled) paths.insert(file.path);
    ASSIGN_OR_RETURN(pass,
                     ClassifyExports(landing, registry, &settle, options.retry_backoff_ms, &paths));
    unsettled = std::move(pass.unsettled);
    AddPass(std::move(pass), pending, out);
  }
  for (const LandingFile& file : unsettled) {
    ImportRecord record;
    record.tenant = file.tenant;
    record.table = file.table;
    record.version = file.version;
    record.file = file.file;
    out->push_back(Entry(record, DryRunAction::kSkip, UnsettledNote(file, settle.settle_ms())));
  }
  std::vector<ImportRecord> held_back;
  unsettled.insert(unsettled.end(), incomplete.begin(), incomplete.end());
  *pending = HoldBackUnsettled(std::move(*pending), unsettled, &held_back);
  for (const ImportRecord& record : held_back) {
    out->push_back(Entry(record, DryRunAction::kSkip,
                         "left for a later run: an earlier or the same version of its table is "
                         "still being written or waits for its marker"));
  }
  return Status::OK();
}

// Failed imports that hold their table back, as RunOnce sees them: one due for its retry joins
// `pending` (a run would retry it); one not due (or a crash) is a blocker of its table, listed
// in `out` as a fail entry saying when it is retried.
Status PlanBlocking(const EngineOptions& options, Registry* registry,
                    std::vector<ImportRecord>* pending,
                    std::map<std::pair<std::string, std::string>, ImportRecord>* blockers,
                    std::vector<DryRunImport>* out) {
  ASSIGN_OR_RETURN(std::vector<ImportRecord> blocking, registry->ListBlocking());
  const int64_t now = SystemClockMs();
  for (const ImportRecord& failed : blocking) {
    ASSIGN_OR_RETURN(std::optional<TableState> state,
                     registry->GetTableState(failed.tenant, failed.table));
    if (state && state->version >= failed.version) continue;  // a newer one was committed
    if (RetryDue(options, failed, now)) {
      ImportRecord retry = failed;
      retry.state = ImportState::kDiscovered;
      pending->insert(pending->begin(), std::move(retry));  // a re-upload's record still wins
      continue;
    }
    if (!blockers->emplace(std::make_pair(failed.tenant, failed.table), failed).second) continue;
    const std::string when = RetryWhen(failed, now);
    out->push_back(Entry(failed, DryRunAction::kFail,
                         "failed (" + std::string(FailureKindName(failed.failure)) + "), " + when +
                             ": " + failed.reason));
  }
  return Status::OK();
}

// What one table's pending imports would do, one after the other.
class TableDryRun {
 public:
  TableDryRun(const EngineOptions& options, const EngineStorage& storage, const SpillDir& temp,
              int* temp_files)
      : options_(options), storage_(storage), temp_(temp), temp_files_(temp_files) {}

  // Starts from the table's committed state, if any.
  Status Start(Registry* registry, const std::string& tenant, const std::string& table) {
    ASSIGN_OR_RETURN(std::optional<TableState> state, GetTableState(registry, tenant, table));
    if (!state) return Status::OK();
    committed_version_ = state->version;
    DiffRequest committed;
    RETURN_IF_ERROR(UseCommittedState(registry, storage_.landing.get(), storage_.states.get(),
                                      *state, &committed));
    previous_ = std::move(committed.previous);
    previous_export_ = std::move(committed.previous_export);
    previous_identity_ = std::move(committed.previous_identity);
    previous_export_bytes_ = committed.previous_export_bytes;
    return Status::OK();
  }

  // `build_state`: a later import diffs against this one's state.
  DryRunImport Import(const ImportRecord& record, bool build_state) {
    if (committed_version_) {
      std::string stale = StaleReason(record.version, *committed_version_);
      if (!stale.empty()) return Entry(record, DryRunAction::kSkip, stale);
    }
    Status one_file = CheckOneExportPerVersion(storage_.landing.get(), record);
    if (!one_file.ok()) return Entry(record, DryRunAction::kFail, one_file.message());
    DiffRequest request;
    request.previous = previous_;
    request.previous_export = previous_export_;
    request.previous_identity = previous_identity_;
    request.previous_export_bytes = previous_export_bytes_;
    StatusOr<std::unique_ptr<StoredFile>> new_export =
        OpenImportExport(storage_.landing.get(), record);
    if (!new_export.ok()) {
      return Entry(record, DryRunAction::kFail, new_export.status().message());
    }
    request.new_export = std::move(new_export).value();
    request.options = options_.config.ForTable(record.table);
    request.build_state = build_state;
    std::string state_path;
    if (build_state) {
      state_path = temp_.File(std::to_string((*temp_files_)++) + ".state");
      StatusOr<std::unique_ptr<ObjectWriter>> state_out = CreateLocalFile(state_path);
      if (!state_out.ok()) return Entry(record, DryRunAction::kFail, state_out.status().message());
      request.state_out = std::move(state_out).value();
    }
    request.memory_limit = options_.memory_limit;
    request.spill_dir = options_.spill_dir;
    Differ differ(request);
    std::unique_ptr<Sink> sink = NewDiscardSink();
    Status status = differ.Run(sink.get());
    if (status.ok() && build_state) status = differ.CommitState();
    if (!status.ok()) return Entry(record, DryRunAction::kFail, status.message());

    const DiffStats& stats = differ.stats();
    DryRunImport entry = Entry(record, DryRunAction::kCommit, "");
    entry.counts = ImportCounts{stats.new_rows, stats.inserts, stats.updates, stats.deletes};
    entry.previous_rows = stats.old_rows;
    entry.first_import = previous_.kind == PreviousExport::Kind::kNone;
    entry.delete_ratio = DeleteRatio(entry.counts, entry.previous_rows);
    entry.change_ratio = ChangeRatio(entry.counts, entry.previous_rows);
    std::optional<std::string> guard =
        TrippedGuard(request.options, entry.counts, entry.previous_rows, entry.first_import);
    if (guard) {
      entry.action = DryRunAction::kHold;
      entry.reason = *guard;
      return entry;  // a held import leaves the committed state as it was
    }
    committed_version_ = record.version;
    previous_ = {PreviousExport::Kind::kState, OpenLocalFile(state_path)};
    previous_export_ = request.new_export;
    previous_identity_ = {};  // the dry run's own state, written just now
    previous_export_bytes_ = record.size;
    return entry;
  }

 private:
  const EngineOptions& options_;
  const EngineStorage& storage_;
  const SpillDir& temp_;
  int* temp_files_;
  std::optional<std::string> committed_version_;
  PreviousExport previous_;                      // kNone before the first commit
  std::shared_ptr<StoredFile> previous_export_;  // the export previous_ was built from
  StateIdentity previous_identity_;              // what the committed state must say it is
  uint64_t previous_export_bytes_ = 0;           // its size, to size tables (0: unknown)
};

// Size and modification time of the registry file and its write-ahead log (-1 when missing).
using FileSignature = std::vector<std::pair<int64_t, int64_t>>;

FileSignature SignatureOf(const std::vector<std::string>& paths) {
  FileSignature signature;
  for (const std::string& path : paths) {
    std::error_code error;
    auto size = std::filesystem::file_size(path, error);
    auto mtime = std::filesystem::last_write_time(path, error);
    if (error) {
      signature.emplace_back(-1, -1);
      continue;
    }
    signature.emplace_back(static_cast<int64_t>(size), mtime.time_since_epoch().count());
  }
  return signature;
}

// Opens a copy of the registry at `path` (with its write-ahead log, which holds commits not
// yet checkpointed) made in `temp`. Opening the original, even only to read, would let SQLite
// checkpoint and delete a log left by a killed process, rewriting registry.db. A copy taken
// while another process changed the files is taken again.
StatusOr<std::unique_ptr<Registry>> OpenRegistrySnapshot(const std::string& path,
                                                         const SpillDir& temp) {
  const std::vector<std::string> sources = {path, path + "-wal"};
  const std::string copy = temp.File("registry.db");
  for (int attempt = 1;; ++attempt) {
    FileSignature before = SignatureOf(sources);
    std::error_code error;
    std::filesystem::copy_file(sources[0], copy, std::filesystem::copy_options::overwrite_existing,
                               error);
    if (error) return IOError("copy the registry " + path + ": " + error.message());
    (void)RemoveFile(copy + "-wal");
    if (before[1].first >= 0) {
      std::filesystem::copy_file(sources[1], copy + "-wal",
                                 std::filesystem::copy_options::overwrite_existing, error);
    }
    if (!error && SignatureOf(sources) == before) break;
    if (attempt == kSnapshotAttempts) {
      return UnavailableError("the registry " + path +
                              " kept changing while it was read; retry the dry run");
    }
    std::this_thread::sleep_for(kSnapshotRetryDelay);
  }
  return OpenSqliteRegistry(copy);
}

}  // namespace

std::string_view DryRunActionName(DryRunAction action) {
  switch (action) {
    case DryRunAction::kCommit:
      return "commit";
    case DryRunAction::kHold:
      return "hold";
    case DryRunAction::kSkip:
      return "skip";
    case DryRunAction::kFail:
      return "fail";
  }
  return "unknown";
}

StatusOr<std::vector<DryRunImport>> DryRun(const EngineOptions& options) {
  SpillDir temp;  // the registry's copy and the intermediate states; removed on return
  RETURN_IF_ERROR(temp.Create(TempRoot()));
  std::unique_ptr<Registry> registry;
  const std::string registry_url = RegistryUrl(options.home, options.registry);
  if (IsPostgresUrl(registry_url)) {
    // Read in one snapshot, changed only in a scratch SQLite copy: the shared registry is
    // never written, not even a lease.
    ASSIGN_OR_RETURN(std::unique_ptr<Registry> shared,
                     OpenRegistry(registry_url, RegistryAccess::kExisting));
    ASSIGN_OR_RETURN(RegistrySnapshot rows, shared->Snapshot());
    ASSIGN_OR_RETURN(registry, OpenSqliteRegistryCopy(temp.File("registry.db"), rows));
  } else if (PathExists(registry_url)) {
    ASSIGN_OR_RETURN(registry, OpenRegistrySnapshot(registry_url, temp));
  }
  std::vector<DryRunImport> out;
  std::vector<ImportRecord> registered;
  if (registry) {
    ASSIGN_OR_RETURN(registered, registry->ListPending());
  }
  ASSIGN_OR_RETURN(EngineStorage storage, OpenEngineStorage(options));
  std::vector<ImportRecord> pending = registered;  // ordered by id; discovered ones are newer
  RETURN_IF_ERROR(FindNewExports(options, storage.landing.get(), registry.get(), &pending, &out));
  std::map<std::pair<std::string, std::string>, ImportRecord> blockers;
  if (registry) {
    RETURN_IF_ERROR(PlanBlocking(options, registry.get(), &pending, &blockers, &out));
  }
  std::vector<ImportRecord> superseded;
  TablePlan tables = PlanPending(pending, &superseded);
  for (const ImportRecord& older : superseded) {
    out.push_back(Entry(older, DryRunAction::kSkip, kSupersededReason));
  }
  for (const auto& [table_key, blocker] : blockers) {  // later versions wait, as in a run
    std::vector<ImportRecord>& imports = tables[table_key];
    auto later = std::find_if(imports.begin(), imports.end(), [&](const ImportRecord& record) {
      return record.version > blocker.version;
    });
    for (auto it = later; it != imports.end(); ++it) {
      out.push_back(Entry(*it, DryRunAction::kSkip, WaitsBehind(blocker, SystemClockMs())));
    }
    imports.erase(later, imports.end());
  }

  int temp_files = 0;
  for (const auto& [table_key, imports] : tables) {
    TableDryRun table(options, storage, temp, &temp_files);
    RETURN_IF_ERROR(table.Start(registry.get(), table_key.first, table_key.second));
    for (size_t import_idx = 0; import_idx < imports.size(); ++import_idx) {
      out.push_back(table.Import(imports[import_idx], import_idx + 1 < imports.size()));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const DryRunImport& a, const DryRunImport& b) {
    return std::tie(a.tenant, a.table, a.version, a.file) <
           std::tie(b.tenant, b.table, b.version, b.file);
  });
  return out;
}

}  // namespace snapdelta
