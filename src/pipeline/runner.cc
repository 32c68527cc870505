// RunOnce: discovery, then a worker pool over the tables with pending imports (engine.h).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "base/fs.h"
#include "pipeline/discovery.h"
#include "pipeline/importer.h"
#include "pipeline/lease_keeper.h"
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

class Run {
 public:
  Run(const EngineOptions& options, Registry* registry)
      : options_(options), registry_(registry), owner_(MakeOwnerId()) {}

  // Groups pending imports by table in version order, keeping only the newest record of a path
  // (an older one was superseded by a re-upload).
  Status Plan(const std::vector<ImportRecord>& pending) {
    std::vector<ImportRecord> superseded;
    queue_ = PlanPending(pending, &superseded);
    for (ImportRecord& older : superseded) {
      Status marked = registry_->MarkSkipped(older.id, kSupersededReason);
      if (marked.code() == StatusCode::kAborted) continue;  // another process finished it
      RETURN_IF_ERROR(marked);
      older.state = ImportState::kSkipped;
      older.reason = kSupersededReason;
      Finished(older);
    }
    return Status::OK();
  }

  Status Execute() {
    int workers = options_.workers > 0 ? options_.workers
                                       : static_cast<int>(std::thread::hardware_concurrency());
    workers = std::clamp(workers, 1, std::max<int>(1, static_cast<int>(queue_.size())));
    std::vector<std::thread> threads;
    for (int i = 0; i < workers; ++i) threads.emplace_back([this] { Work(); });
    for (std::thread& thread : threads) thread.join();
    return first_error_;
  }

  void Finished(const ImportRecord& record) {
    std::lock_guard<std::mutex> lock(mutex_);
    report_.imports.push_back(record);
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
      std::lock_guard<std::mutex> lock(mutex_);
      report_.busy_tables.push_back(first.tenant + "/" + first.table + ": " +
                                    lease.status().message());
      return Status::OK();
    }
    RETURN_IF_ERROR(lease.status());
    Status status;
    {
      LeaseKeeper keeper(registry_, *lease, options_.lease_ttl_ms);
      ImportContext context{registry_, sink, &options_, &keeper.lost()};
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

  const EngineOptions& options_;
  Registry* registry_;
  const std::string owner_;
  std::mutex mutex_;
  std::map<TableKey, std::vector<ImportRecord>> queue_;  // guarded by mutex_
  RunReport report_;                                     // guarded by mutex_
  Status first_error_;                                   // guarded by mutex_
};

// Discovery of one home runs in one process at a time (under a lease on no real table), so two
// processes never register the same new file twice. A process that finds discovery busy waits
// for it, then discovers what is left.
Status DiscoverUnderLease(const EngineOptions& options, LandingZone* landing, Registry* registry,
                          std::vector<ImportRecord>* skipped) {
  const std::string owner = MakeOwnerId();
  auto deadline = std::chrono::steady_clock::now() + kDiscoveryWait;
  for (;;) {
    StatusOr<Lease> lease = AcquireOrTakeOver(registry, kDiscoveryLease.first,
                                              kDiscoveryLease.second, owner, options.lease_ttl_ms);
    if (lease.ok()) {
      Status status = DiscoverExports(landing, registry, skipped);
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

}  // namespace

bool RunReport::any_failed() const {
  return std::any_of(imports.begin(), imports.end(), [](const ImportRecord& record) {
    return record.state == ImportState::kFailed || record.state == ImportState::kHeld;
  });
}

StatusOr<RunReport> RunOnce(const EngineOptions& options) {
  RETURN_IF_ERROR(MakeDirs(options.home));
  ASSIGN_OR_RETURN(std::unique_ptr<Registry> registry,
                   OpenSqliteRegistry(RegistryPath(options.home)));
  std::unique_ptr<LandingZone> landing = OpenLocalLanding(options.landing);
  Run run(options, registry.get());
  std::vector<ImportRecord> skipped;
  RETURN_IF_ERROR(DiscoverUnderLease(options, landing.get(), registry.get(), &skipped));
  for (const ImportRecord& record : skipped) run.Finished(record);
  ASSIGN_OR_RETURN(std::vector<ImportRecord> pending, registry->ListPending());
  RETURN_IF_ERROR(run.Plan(pending));
  RETURN_IF_ERROR(run.Execute());
  return run.TakeReport();
}

}  // namespace snapdelta
