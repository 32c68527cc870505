// RunOnce: discovery, then a worker pool over the tables with pending imports (engine.h).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "base/cores.h"
#include "base/fs.h"
#include "base/log.h"
#include "pipeline/discovery.h"
#include "pipeline/import_log.h"
#include "pipeline/importer.h"
#include "pipeline/lease_keeper.h"
#include "pipeline/partitions.h"
#include "pipeline/settle.h"
#include "snapdelta/engine.h"
#include "snapdelta/landing.h"
#include "snapdelta/sink.h"

namespace snapdelta {
namespace {

using TableKey = std::pair<std::string, std::string>;  // (tenant, table)

// How long a run waits for another process's discovery of the same home, and how often it
// checks: discovery only lists folders and checksums new files.
constexpr auto kDiscoveryWait = std::chrono::minutes(5);
constexpr auto kDiscoveryPoll = std::chrono::milliseconds(50);
// The lease that serializes discovery: a '.' name is never a landing-zone tenant.
const TableKey kDiscoveryLease{".snapdelta", "discovery"};

// The worker threads of one run: each takes a table's pending imports, holds its lease and
// imports them in version order.
class ImportPool {
 public:
  ImportPool(const EngineOptions& options, Registry* registry, LandingZone* landing,
             StateStore* states)
      : options_(options),
        registry_(registry),
        landing_(landing),
        states_(states),
        owner_(MakeOwnerId()) {}

  // Groups pending imports by table in version order, keeping only the newest record of a path
  // (an older one was superseded by a re-upload). Environment failures due for their retry join
  // them; one not yet due holds its table's later versions back. Tables with an import left
  // running by a dead worker are suspects: they run one at a time, after the others, so an
  // export that kills the worker takes no other table's import down with it.
  Status Plan(std::vector<ImportRecord> pending, const std::vector<ImportRecord>& blocking) {
    std::map<TableKey, ImportRecord> blockers;
    for (const ImportRecord& failed : blocking) {
      ASSIGN_OR_RETURN(bool rearmed, PlanRetry(failed, &pending));
      if (!rearmed) blockers.emplace(TableKey{failed.tenant, failed.table}, failed);
    }
    std::vector<ImportRecord> superseded;
    TablePlan plan = PlanPending(pending, &superseded);
    for (ImportRecord& older : superseded) {
      Status marked = registry_->MarkSkipped(older.id, kSupersededReason);
      if (marked.code() == StatusCode::kAborted) continue;  // another process finished it
      RETURN_IF_ERROR(marked);
      older.state = ImportState::kSkipped;
      older.reason = kSupersededReason;
      Finished(older);
    }
    for (const auto& [table, blocker] : blockers) {
      std::vector<ImportRecord>& imports = plan[table];
      auto later = std::find_if(imports.begin(), imports.end(),
                                [&](const ImportRecord& r) { return r.version > blocker.version; });
      WaitBehind(blocker, std::vector<ImportRecord>(later, imports.end()));
      imports.erase(later, imports.end());
    }
    for (auto& [table, imports] : plan) {
      if (imports.empty()) continue;
      bool suspect = std::any_of(imports.begin(), imports.end(), [](const ImportRecord& r) {
        return r.state == ImportState::kRunning;
      });
      (suspect ? suspects_ : queue_)[table] = std::move(imports);
    }
    return Status::OK();
  }

  Status Execute() {
    int workers = options_.workers > 0 ? options_.workers : UsableCores();
    workers = std::clamp(workers, 1, std::max<int>(1, static_cast<int>(queue_.size())));
    std::vector<std::thread> threads;
    for (int i = 0; i < workers; ++i) threads.emplace_back([this] { Work(); });
    for (std::thread& thread : threads) thread.join();
    std::unique_ptr<Sink> sink = NewChangeFileSink(options_.home + "/changes");
    for (auto& [table, imports] : suspects_) {
      if (Stopping() || !first_error_.ok()) break;
      Status status = ImportTable(imports, sink.get());
      if (!status.ok() && first_error_.ok()) first_error_ = status;
    }
    return first_error_;
  }

  void Finished(const ImportRecord& record) {
    std::lock_guard<std::mutex> lock(mutex_);
    report_.imports.push_back(record);
    LogImportEnd(record);
    if (options_.on_import_done) options_.on_import_done(record);
  }

  RunReport TakeReport() { return std::move(report_); }

 private:
  bool Stopping() const { return options_.stop != nullptr && options_.stop->load(); }

  void Work() {
    std::unique_ptr<Sink> sink = NewChangeFileSink(options_.home + "/changes");
    for (;;) {
      std::vector<ImportRecord> imports;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (queue_.empty() || !first_error_.ok()) return;
        imports = std::move(queue_.begin()->second);
        queue_.erase(queue_.begin());
      }
      Status status = ImportTable(imports, sink.get());
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (first_error_.ok()) first_error_ = status;
      }
    }
  }

  Status ImportTable(const std::vector<ImportRecord>& imports, Sink* sink) {
    const ImportRecord& first = imports.front();
    StatusOr<Lease> lease =
        AcquireOrTakeOver(registry_, first.tenant, first.table, owner_, options_.lease_ttl_ms);
    if (lease.status().code() == StatusCode::kUnavailable) {
      // A partitioned table's import is shared out: compute the parts nobody holds.
      std::string helped =
          HelpPartitionedImport(registry_, landing_, states_, options_, first.tenant, first.table);
      std::lock_guard<std::mutex> lock(mutex_);
      report_.busy_tables.push_back(first.tenant + "/" + first.table + ": " +
                                    lease.status().message());
      if (!helped.empty()) report_.notes.push_back(std::move(helped));
      return Status::OK();
    }
    RETURN_IF_ERROR(lease.status());
    Log(LogLevel::kInfo, "leased")
        .Add("tenant", first.tenant)
        .Add("table", first.table)
        .Add("token", lease->token)
        .Add("owner", owner_)
        .Add("pending", static_cast<uint64_t>(imports.size()));
    Status status;
    {
      LeaseKeeper keeper(registry_, *lease, options_.lease_ttl_ms);
      ImportContext context{registry_, landing_, states_, sink, &options_, &keeper.lost()};
      for (const ImportRecord& pending : imports) {
        if (Stopping() || keeper.lost()) break;
        StatusOr<bool> still_pending = StillPending(pending);
        if (!still_pending.ok()) {
          status = still_pending.status();
          break;
        }
        if (!*still_pending) continue;  // another process finished it while we waited
        StatusOr<ImportRecord> done = RunImport(context, pending, keeper.lease());
        if (!done.ok()) {
          status = done.status();
          break;
        }
        Finished(*done);
        if (done->state == ImportState::kFailed && done->failure != FailureKind::kContent) {
          auto later = std::find_if(imports.begin(), imports.end(), [&](const ImportRecord& r) {
            return r.version > done->version;
          });
          WaitBehind(*done, std::vector<ImportRecord>(later, imports.end()), false);
          break;  // later versions wait: never published out of order
        }
      }
    }
    Status released = registry_->ReleaseLease(*lease);
    return status.ok() ? released : status;
  }

  // Whether `pending` is still the newest record of its file and not finished: the list of
  // pending imports was read before this process held the table's lease.
  StatusOr<bool> StillPending(const ImportRecord& pending) {
    ASSIGN_OR_RETURN(
        std::optional<ImportRecord> current,
        registry_->FindImport(pending.tenant, pending.table, pending.version, pending.file));
    return current && current->id == pending.id &&
           (current->state == ImportState::kDiscovered || current->state == ImportState::kRunning);
  }

  // Re-arms an environment failure due for its retry (adding it to `pending`; true), drops one
  // made obsolete by a re-upload or a newer commit (true), or leaves one not yet due (false).
  StatusOr<bool> PlanRetry(const ImportRecord& failed, std::vector<ImportRecord>* pending) {
    ASSIGN_OR_RETURN(
        std::optional<ImportRecord> current,
        registry_->FindImport(failed.tenant, failed.table, failed.version, failed.file));
    if (current && current->id != failed.id) {  // re-uploaded since: the new record counts
      Status marked = registry_->MarkSkipped(failed.id, kSupersededReason);
      if (marked.code() != StatusCode::kAborted) RETURN_IF_ERROR(marked);
      return true;
    }
    ASSIGN_OR_RETURN(std::optional<TableState> table,
                     registry_->GetTableState(failed.tenant, failed.table));
    if (table && table->version >= failed.version) return true;  // a newer one was committed
    if (!RetryDue(options_, failed, SystemClockMs())) return false;
    Status rearmed = registry_->RetryImport(failed.id);
    if (rearmed.code() == StatusCode::kAborted) return true;  // another process retried it
    RETURN_IF_ERROR(rearmed);
    ImportRecord retry = failed;
    retry.state = ImportState::kDiscovered;
    pending->push_back(std::move(retry));
    return true;
  }

  // Reports `blocker`, an environment failure (unless `report_blocker` is false: it was just
  // reported as failed), and the later versions of its table waiting behind it.
  void WaitBehind(const ImportRecord& blocker, const std::vector<ImportRecord>& later,
                  bool report_blocker = true) {
    const std::string path = ImportPath(blocker);
    const int64_t now = SystemClockMs();
    const std::string when = RetryWhen(blocker, now);
    const std::string waits = WaitsBehind(blocker, now);
    std::lock_guard<std::mutex> lock(mutex_);
    if (report_blocker) {
      report_.waiting.push_back(path + " (import #" + std::to_string(blocker.id) + "): failed (" +
                                std::string(FailureKindName(blocker.failure)) + "), " + when +
                                ": " + blocker.reason);
    }
    for (const ImportRecord& record : later) {
      report_.waiting.push_back(ImportPath(record) + ": " + waits);
    }
  }

  const EngineOptions& options_;
  Registry* registry_;
  LandingZone* landing_;
  StateStore* states_;
  const std::string owner_;
  std::mutex mutex_;
  std::map<TableKey, std::vector<ImportRecord>> queue_;  // guarded by mutex_
  // Tables with an import a dead worker left running; only the main thread touches them.
  std::map<TableKey, std::vector<ImportRecord>> suspects_;
  RunReport report_;    // guarded by mutex_
  Status first_error_;  // guarded by mutex_
};

// Discovery of one home runs in one process at a time (under a lease on no real table), so two
// processes never register the same new file twice. A process that finds discovery busy waits
// for it, then discovers what is left.
Status DiscoverUnderLease(const EngineOptions& options, LandingZone* landing, Registry* registry,
                          SettleTracker* settle, DiscoveryReport* found) {
  const std::string owner = MakeOwnerId();
  auto deadline = std::chrono::steady_clock::now() + kDiscoveryWait;
  for (;;) {
    StatusOr<Lease> lease = AcquireOrTakeOver(registry, kDiscoveryLease.first,
                                              kDiscoveryLease.second, owner, options.lease_ttl_ms);
    if (lease.ok()) {
      Status status = DiscoverExports(landing, registry, settle, options.retry_backoff_ms, found,
                                      &options.config);
      Status released = registry->ReleaseLease(*lease);
      return status.ok() ? released : status;
    }
    if (lease.status().code() != StatusCode::kUnavailable ||
        std::chrono::steady_clock::now() > deadline) {
      return lease.status().WithContext("discovery");
    }
    std::this_thread::sleep_for(kDiscoveryPoll);
  }
}

// Refuses a home whose registry is missing or empty while it holds states or change files:
// a new registry would re-baseline every table (its next export all INSERTs) and prune states
// it cannot account for.
Status CheckRegistryNotLost(const std::string& home, const std::string& path) {
  std::error_code error;
  if (std::filesystem::exists(path, error) && std::filesystem::file_size(path, error) > 0) {
    return Status::OK();
  }
  uint64_t states = 0;
  uint64_t changes = 0;
  for (const char* folder : {"state", "changes"}) {
    std::filesystem::recursive_directory_iterator it(home + "/" + folder, error), end;
    for (; !error && it != end; it.increment(error)) {
      if (it->is_regular_file(error)) ++(folder[0] == 's' ? states : changes);
    }
    error.clear();
  }
  if (states == 0 && changes == 0) return Status::OK();
  return CorruptionError(path + " is missing or empty, but " + home + " holds " +
                         std::to_string(states) + " state file(s) and " + std::to_string(changes) +
                         " change file(s): the registry that accounts for them was lost. Nothing "
                         "was imported. Restore registry.db from a backup; or, to start over "
                         "(every table's next export published as all INSERTs), move " +
                         home + "/state and " + home + "/changes out of the home");
}

}  // namespace

bool RunReport::any_failed() const {
  return std::any_of(imports.begin(), imports.end(),
                     [](const ImportRecord& record) {
                       return record.state == ImportState::kFailed ||
                              record.state == ImportState::kHeld;
                     }) ||
         !waiting.empty();
}

StatusOr<RunReport> RunOnce(const EngineOptions& options) {
  RETURN_IF_ERROR(MakeDirs(options.home));
  if (::access(options.home.c_str(), W_OK) != 0) {  // says "Read-only file system" where it is
    return ErrnoError("home " + options.home + " is not writable", errno);
  }
  const std::string registry_url = RegistryUrl(options.home, options.registry);
  if (!IsPostgresUrl(registry_url)) {
    RETURN_IF_ERROR(CheckRegistryNotLost(options.home, registry_url));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Registry> registry,
                   OpenRegistry(registry_url, RegistryAccess::kCreate));
  ASSIGN_OR_RETURN(EngineStorage storage, OpenEngineStorage(options));
  LandingZone* landing = storage.landing.get();
  ImportPool run(options, registry.get(), landing, storage.states.get());
  // Files still being written get a second look (without the discovery lease held meanwhile)
  // once they could have settled; whatever has not settled then waits for a later run.
  SettleTracker settle(options.settle_ms);
  DiscoveryReport found;
  RETURN_IF_ERROR(DiscoverUnderLease(options, landing, registry.get(), &settle, &found));
  if (WaitForNextLook(settle, options.stop)) {
    RETURN_IF_ERROR(DiscoverUnderLease(options, landing, registry.get(), &settle, &found));
  }
  for (const ImportRecord& record : found.finished) run.Finished(record);
  ASSIGN_OR_RETURN(std::vector<ImportRecord> pending, registry->ListPending());
  pending = HoldBackUnsettled(std::move(pending), found.unsettled);
  ASSIGN_OR_RETURN(std::vector<ImportRecord> blocking, registry->ListBlocking());
  RETURN_IF_ERROR(run.Plan(std::move(pending), blocking));
  RETURN_IF_ERROR(run.Execute());
  RunReport report = run.TakeReport();
  report.warnings = std::move(found.warnings);
  report.notes = std::move(found.notes);
  return report;
}

}  // namespace snapdelta
