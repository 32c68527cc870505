#include "pipeline/importer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <set>

#include "base/fs.h"
#include "diff/differ.h"
#include "diff/state_file.h"
#include "pipeline/discovery.h"
#include "pipeline/guards.h"
#include "pipeline/import_log.h"
#include "pipeline/multipart.h"
#include "pipeline/partitions.h"
#include "snapdelta/landing.h"

namespace snapdelta {
namespace {

constexpr std::string_view kStateSuffix = ".state";
// The longest automatic-retry wait: an environment failure is tried again at least hourly.
constexpr int64_t kMaxRetryBackoffMs = 3600 * 1000;

// Reads a whole state file, so its header, identity and footer checksum are checked.
Status VerifyState(std::shared_ptr<StoredFile> state, const StateIdentity& expected) {
  StateReader reader;
  RETURN_IF_ERROR(reader.Open(state, expected));
  bool has_record = true;
  std::string_view key;
  std::string_view row;
  Fingerprint fp;
  while (has_record) RETURN_IF_ERROR(reader.Next(&has_record, &key, &fp, &row));
  return Status::OK();
}

// The failure `status` is, with the previous state's health deciding when the export seemed
// bad: a state that cannot be read is the environment's fault, whatever the diff said.
Failure ClassifyImportFailure(const Status& status, const DiffRequest& request,
                              const EngineOptions& options, const ImportRecord& record) {
  Failure failure{status.message(), ClassifyFailure(status), 0};
  if (failure.kind == FailureKind::kContent &&
      request.previous.kind == PreviousExport::Kind::kState) {
    Status state = VerifyState(request.previous.file, request.previous_identity);
    if (!state.ok()) {
      failure.kind = FailureKind::kEnvironment;
      failure.reason = "the table's committed state cannot be read: " + state.message() +
                       "; restore it, or `snapdelta rewind` to a kept version";
    }
  }
  if (failure.kind == FailureKind::kEnvironment) {
    failure.retry_at_ms = SystemClockMs() + RetryDelayMs(options, std::max(record.attempts, 1));
  }
  return failure;
}

// Records the failure; when the registry cannot record it either (a full disk fails both), the
// root cause is kept first in the message and the import stays running, to be resumed.
ImportRecord RecordFailure(Registry* registry, ImportRecord record, Failure failure) {
  Status marked = registry->MarkFailed(record.id, failure);
  record.state = ImportState::kFailed;
  record.failure = failure.kind;
  record.retry_at_ms = failure.retry_at_ms;
  record.reason = failure.reason;
  if (!marked.ok()) {
    record.reason += " (recording this failure in the registry failed too: " + marked.message() +
                     "; the next run retries the import)";
  }
  record.finished_at_ms = SystemClockMs();
  return record;
}

ImportRecord WithState(ImportRecord record, ImportState state, std::string reason) {
  record.state = state;
  record.reason = std::move(reason);
  record.finished_at_ms = SystemClockMs();
  return record;
}

// Removes the states the table no longer needs: all but those of the newest `keep` committed
// versions (rewind targets) and those newer than the newest committed one (left by an import
// still to finish). This also drops states left by held, skipped or failed imports, but never a
// state of a version the registry does not know: that one it cannot account for; nor the
// table's current state.
void PruneStates(Registry* registry, StateStore* states, const ImportRecord& record, int keep) {
  auto imports = registry->ListImports(record.tenant, record.table);
  auto current = registry->GetTableState(record.tenant, record.table);
  auto stored = states->List(record.tenant, record.table);
  if (!imports.ok() || !current.ok() || !*current || !stored.ok()) return;
  std::vector<std::string> committed;
  std::set<std::string> known;  // a state of a version the registry never saw is not ours
  for (const ImportRecord& item : *imports) {
    known.insert(item.version);
    if (item.state == ImportState::kCommitted) committed.push_back(item.version);
  }
  std::sort(committed.begin(), committed.end());
  committed.erase(std::unique(committed.begin(), committed.end()), committed.end());
  if (committed.empty()) return;
  std::vector<std::string> kept(
      committed.end() - std::min<ptrdiff_t>(keep, static_cast<ptrdiff_t>(committed.size())),
      committed.end());
  for (const StoredState& state : *stored) {
    if (state.name == (*current)->state_file) continue;
    if (state.version > committed.back() || !known.contains(state.version)) continue;
    if (std::find(kept.begin(), kept.end(), state.version) != kept.end()) continue;
    (void)states->Remove(record.tenant, record.table, state.name);
  }
}

// States of versions the registry has no import of, for a table without a committed state: a
// home whose registry was lost or replaced. Comma-separated, empty when none.
std::string UnaccountedStates(Registry* registry, StateStore* states, const ImportRecord& record) {
  auto imports = registry->ListImports(record.tenant, record.table);
  auto stored = states->List(record.tenant, record.table);
  if (!imports.ok() || !stored.ok()) return "";
  std::set<std::string> known;
  for (const ImportRecord& item : *imports) known.insert(item.version);
  std::string found;
  for (const StoredState& state : *stored) {
    if (known.contains(state.version)) continue;
    found += (found.empty() ? "" : ", ") + state.name;
  }
  return found;
}

}  // namespace

int64_t RetryDelayMs(const EngineOptions& options, int attempts) {
  int64_t delay = std::max<int64_t>(options.retry_backoff_ms, 0);
  for (int i = 1; i < attempts && delay < kMaxRetryBackoffMs; ++i) delay *= 2;
  return std::min(delay, kMaxRetryBackoffMs);
}

bool RetryDue(const EngineOptions& options, const ImportRecord& failed, int64_t now_ms) {
  if (failed.failure == FailureKind::kCrash) return false;
  return std::min(failed.retry_at_ms,
                  failed.finished_at_ms + RetryDelayMs(options, failed.attempts)) <= now_ms;
}

std::string RetryWhen(const ImportRecord& blocker, int64_t now_ms) {
  const std::string path = ImportPath(blocker);
  if (blocker.failure == FailureKind::kCrash) {
    return "retried only by hand: `snapdelta retry " + path +
           "` once the cause is fixed, or `snapdelta skip " + path + "`";
  }
  const int64_t wait_s = std::max<int64_t>(0, (blocker.retry_at_ms - now_ms) / 1000);
  return "retried automatically in " + std::to_string(wait_s) +
         " s, or now with `snapdelta retry " + path + "`";
}

std::string ImportPath(const ImportRecord& record) {
  return record.tenant + "/" + record.table + "/" + record.version;
}

std::string FailureNextStep(const ImportRecord& record) {
  const std::string path = ImportPath(record);
  if (record.failure == FailureKind::kEnvironment) {
    int64_t wait_s = std::max<int64_t>(0, (record.retry_at_ms - SystemClockMs() + 999) / 1000);
    return fmt::format(
        "environment failure: retried automatically in {} s (later versions of the table wait "
        "for it), or now with `snapdelta retry {}`; `snapdelta skip {}` gives it up",
        wait_s, path, path);
  }
  if (record.failure == FailureKind::kCrash) {
    return fmt::format(
        "crash: later versions of the table wait; `snapdelta retry {}` once the cause is fixed, "
        "or `snapdelta skip {}` gives it up",
        path, path);
  }
  return fmt::format(
      "content failure: stays failed until its file changes; later versions diff against the "
      "last committed state; `snapdelta retry {}` retries it by hand",
      path);
}

std::string WaitsBehind(const ImportRecord& blocker, int64_t now_ms) {
  return "waits behind " + ImportPath(blocker) + ", which is " + RetryWhen(blocker, now_ms);
}

Status UseCommittedState(Registry* registry, LandingZone* landing, StateStore* states,
                         const TableState& table, DiffRequest* request) {
  request->previous = {PreviousExport::Kind::kState,
                       states->Open(table.tenant, table.table, table.state_file)};
  request->previous_identity = {table.tenant, table.table, table.version, ""};
  request->previous_export.reset();
  ASSIGN_OR_RETURN(std::vector<ImportRecord> imports,
                   registry->ListImports(table.tenant, table.table));
  for (const ImportRecord& import : imports) {
    if (import.id != table.import_id) continue;
    request->previous_identity.export_checksum = import.checksum;
    request->previous_export_bytes = import.size;
    StatusOr<std::unique_ptr<StoredFile>> file = OpenImportExport(landing, import);
    if (file.ok()) request->previous_export = std::move(file).value();  // else: gone or changed
  }
  return Status::OK();
}

StatusOr<DiffRequest> ImportRequest(Registry* registry, LandingZone* landing, StateStore* states,
                                    const EngineOptions& options, const ImportRecord& record,
                                    const std::optional<TableState>& table) {
  DiffRequest request;
  request.options = options.config.ForTable(record.table);
  request.build_state = true;
  request.memory_limit = options.memory_limit;
  request.spill_dir = options.spill_dir;
  request.state_identity = {record.tenant, record.table, record.version, record.checksum};
  if (table) RETURN_IF_ERROR(UseCommittedState(registry, landing, states, *table, &request));
  return request;
}

Status CheckOneExportPerVersion(LandingZone* landing, const ImportRecord& record) {
  if (IsMarkerName(record.file)) return Status::OK();  // a multi-part export
  ASSIGN_OR_RETURN(std::vector<LandingFile> files,
                   landing->ListVersion(record.tenant, record.table, record.version));
  std::string others;
  for (const LandingFile& file : files) {
    // A FIFO, a folder or a dangling symlink is no export (landing.h).
    if (file.file == record.file || !file.unusable.empty() || IsMarkerName(file.file)) continue;
    others += (others.empty() ? "" : ", ") + file.file;
  }
  if (others.empty()) return Status::OK();
  return InvalidArgumentError(landing->url() + "/" + ImportPath(record) + ": holds other files " +
                              "besides " + record.file + " (" + others +
                              "); one export file per version is expected");
}

std::string StateUrl(const EngineOptions& options) {
  return options.state.empty() ? options.home + "/state" : options.state;
}

StatusOr<EngineStorage> OpenEngineStorage(const EngineOptions& options) {
  EngineStorage storage;
  storage.landing = options.landing_zone;
  if (storage.landing == nullptr) {
    ASSIGN_OR_RETURN(storage.landing, OpenLandingZone(options.landing));
  }
  ASSIGN_OR_RETURN(storage.states, OpenStateStore(StateUrl(options)));
  return storage;
}

std::string RegistryPath(const std::string& home) { return home + "/registry.db"; }

std::string RegistryUrl(const std::string& home, const std::string& registry) {
  return registry.empty() ? RegistryPath(home) : registry;
}

StatusOr<std::unique_ptr<Registry>> OpenExistingRegistry(const std::string& home,
                                                         const std::string& registry) {
  return OpenRegistry(RegistryUrl(home, registry), RegistryAccess::kExisting);
}

StatusOr<std::unique_ptr<Registry>> OpenExistingRegistryReadOnly(const std::string& home,
                                                                 const std::string& registry) {
  return OpenRegistry(RegistryUrl(home, registry), RegistryAccess::kReadOnly);
}

namespace {

// Whether `lease` is still the table's current grant (expired or not: while nobody else holds
// it, nobody else wrote under the import's names). When the registry cannot tell, it is not.
bool StillHolds(Registry* registry, const Lease& lease) {
  StatusOr<std::optional<Lease>> current = registry->GetLease(lease.tenant, lease.table);
  return current.ok() && current->has_value() && (*current)->token == lease.token;
}

// The "diffed" step: counts, the previous state's rows, time and speed.
void LogDiffed(const ImportRecord& record, const PartsOutcome& outcome, int partitions,
               std::chrono::steady_clock::duration took) {
  double seconds = std::chrono::duration<double>(took).count();
  ImportLog line(LogLevel::kInfo, "diffed", record);
  line.Add("import", record.id)
      .Add("rows", record.counts.rows)
      .Add("previous_rows", outcome.old_rows)
      .Add("inserts", record.counts.inserts)
      .Add("updates", record.counts.updates)
      .Add("deletes", record.counts.deletes)
      .Add("bytes", record.size)
      .Add("ms", static_cast<int64_t>(seconds * 1000))
      .Add("rows_per_s", static_cast<uint64_t>(static_cast<double>(record.counts.rows) /
                                               std::max(seconds, 1e-3)));
  if (partitions > 1) line.Add("partitions", partitions);
}

}  // namespace

StatusOr<ImportRecord> RunImport(const ImportContext& context, const ImportRecord& pending,
                                 const Lease& lease) {
  Registry* registry = context.registry;
  const EngineOptions& options = *context.options;
  ImportRecord record = pending;
  // Discovery refuses such names; this catches one registered by an older snapdelta or retried.
  std::string refused = ExportNameProblem(record.tenant, record.table, record.version, record.file);
  if (!refused.empty()) {
    return RecordFailure(registry, record, Failure{refused, FailureKind::kContent, 0});
  }
  ASSIGN_OR_RETURN(std::optional<TableState> table,
                   registry->GetTableState(record.tenant, record.table));
  if (table) {
    std::string stale = StaleReason(record.version, table->version);
    if (!stale.empty()) {
      RETURN_IF_ERROR(registry->MarkSkipped(record.id, stale));
      return WithState(record, ImportState::kSkipped, stale);
    }
  }
  if (record.state == ImportState::kRunning && record.crashes >= 1) {
    return RecordFailure(registry, record,
                         Failure{"crashed the worker twice: two attempts never finished (the "
                                 "process died or lost its lease)",
                                 FailureKind::kCrash, 0});
  }
  Status running = registry->MarkRunning(record.id, lease);
  if (running.code() == StatusCode::kAborted) {
    return WithState(record, ImportState::kRunning, running.message());  // lease lost
  }
  RETURN_IF_ERROR(running);
  record.state = ImportState::kRunning;
  record.attempts += 1;
  record.started_at_ms = SystemClockMs();
  CrashPoint("import.after_running");
  CrashPoint("import.running/" + ImportPath(record));

  StateStore* states = context.states;
  if (!table) {
    std::string unaccounted = UnaccountedStates(registry, states, record);
    if (!unaccounted.empty()) {
      Failure lost{states->Location(record.tenant, record.table) +
                       " holds states the registry does not know (" + unaccounted +
                       "): the registry that accounts for them was lost or replaced, and "
                       "importing as a first export would publish every row as an INSERT. "
                       "Restore the registry from a backup; or, to start the table over, move "
                       "those states away and `snapdelta retry " +
                       ImportPath(record) + "`",
                   FailureKind::kEnvironment, 0};
      lost.retry_at_ms = SystemClockMs() + RetryDelayMs(options, std::max(record.attempts, 1));
      return RecordFailure(registry, record, lost);
    }
  }
  ASSIGN_OR_RETURN(DiffRequest request,
                   ImportRequest(registry, context.landing, states, options, record, table));
  if (options.on_progress) {
    request.progress = [&](uint64_t bytes, uint64_t rows) {
      options.on_progress(record, ImportProgress{bytes, rows});
    };
  }

  std::string state_name;  // of the new state, once its writer exists
  auto attempt = [&]() -> Status {
    RETURN_IF_ERROR(CheckOneExportPerVersion(context.landing, record));
    ASSIGN_OR_RETURN(request.new_export, OpenImportExport(context.landing, record));
    ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> state_out,
                     states->Create(record.tenant, record.table, record.version));
    state_name = state_out->name();
    request.state_out = std::move(state_out);
    return Status::OK();
  };
  Status prepared = attempt();
  if (!prepared.ok()) {
    return RecordFailure(registry, record,
                         ClassifyImportFailure(prepared, request, options, record));
  }
  // A partitioned table's import is assembled from its parts (partitions.h); any other is
  // one diff.
  const int partitions = request.options.partitions;
  const bool partitioned = partitions > 1;
  std::optional<Differ> differ;
  if (!partitioned) differ.emplace(request);
  PartsOutcome outcome;
  ImportIdentity identity{record.tenant, record.table, record.version};
  std::optional<std::string> held;
  std::string released_past;  // the guard a `release` lifted, for the import's note
  auto run = [&]() -> Status {
    RETURN_IF_ERROR(context.sink->Begin(identity));
    if (options.on_progress) options.on_progress(record, ImportProgress{});
    const auto diff_start = std::chrono::steady_clock::now();
    if (partitioned) {
      RETURN_IF_ERROR(RunPartitionedImport(context, record, table, request, &outcome));
    } else {
      RETURN_IF_ERROR(differ->Run(context.sink));
      const DiffStats& stats = differ->stats();
      outcome.counts = ImportCounts{stats.new_rows, stats.inserts, stats.updates, stats.deletes};
      outcome.old_rows = stats.old_rows;
      if (!stats.schema_change.empty()) outcome.schema_change = stats.schema_change.ToString();
      outcome.note = stats.note;
    }
    record.counts = outcome.counts;
    LogDiffed(record, outcome, partitions, std::chrono::steady_clock::now() - diff_start);
    held = TrippedGuard(request.options, record.counts, outcome.old_rows, !table.has_value());
    if (held && !context.lift_guards) return Status::OK();
    if (held) released_past = "released by hand past " + *held;
    held.reset();
    RETURN_IF_ERROR(partitioned ? WritePartitionedState(states, record, request, outcome)
                                : differ->CommitState());
    CrashPoint("import.after_state");
    return context.sink->Finish();
  };
  // What this attempt wrote is taken back, unless the lease passed to another worker (this one
  // was paused past it): the change file and state under the same names may then be the new
  // holder's, committed.
  auto take_back = [&](bool remove_state) {
    if (context.lease_lost->load() || !StillHolds(registry, lease)) {
      context.sink->Abandon();
      return;
    }
    context.sink->Abort();
    if (remove_state && (!table || table->state_file != state_name)) {
      // Written before a later step failed: not current.
      (void)states->Remove(record.tenant, record.table, state_name);
    }
  };
  Status status = run();
  if (!status.ok()) {
    take_back(true);
    if (context.lease_lost->load()) {  // the next holder runs the import
      return WithState(record, ImportState::kRunning, status.message());
    }
    return RecordFailure(registry, record, ClassifyImportFailure(status, request, options, record));
  }
  if (held) {  // nothing published, state untouched: it waits for release or skip
    take_back(false);
    RETURN_IF_ERROR(registry->MarkHeld(record.id, *held, record.counts));
    return WithState(record, ImportState::kHeld, *held);
  }
  CrashPoint("import.before_commit");
  if (!outcome.schema_change.empty()) {
    record.note = "schema change: " + outcome.schema_change;
    if (!outcome.note.empty()) record.note += "; " + outcome.note;
  }
  if (!released_past.empty()) {
    record.note += (record.note.empty() ? "" : "; ") + released_past;
  }
  if (context.lease_lost->load()) {
    return WithState(record, ImportState::kRunning, "lease lost before commit; not committed");
  }
  TableState next{record.tenant, record.table, record.version, record.id, state_name};
  Status commit = registry->CommitImport(lease, record.id, record.counts, record.note, next);
  if (commit.code() == StatusCode::kAborted) {
    return WithState(record, ImportState::kRunning, commit.message());
  }
  RETURN_IF_ERROR(commit);
  CrashPoint("import.after_commit");
  PruneStates(registry, states, record, options.keep_states);
  if (partitioned) PruneParts(registry, states, record.tenant, record.table);
  return WithState(record, ImportState::kCommitted, "");
}

}  // namespace snapdelta
