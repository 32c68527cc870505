// SqliteRegistry: the Registry of registry.h kept in one SQLite file.
//
// Schema (version 4, kept in meta.schema_version; versions 1 to 3 are migrated on open):
//   meta     key TEXT PRIMARY KEY, value: schema_version and application.
//   imports  id INTEGER PRIMARY KEY AUTOINCREMENT (never reused), tenant, table_name, version,
//            file, size, mtime_ms, checksum, state (ImportStateName text), reason, note,
//            row_count, inserts, updates, deletes, discovered_at_ms, started_at_ms,
//            finished_at_ms, fencing_token, failure (FailureKindName text), attempts, crashes,
//            retry_at_ms, released, published_seq, published_at_ms.
//   tables   tenant, table_name, version, import_id, state_file; PRIMARY KEY (tenant, table_name).
//   leases   tenant, table_name, owner, token, expires_at_ms; PRIMARY KEY (tenant, table_name).
//            A lease row is never deleted (release only expires it), so the fencing token of a
//            table keeps growing across owners and restarts.
//
// Sharing: the file is in WAL journal mode, so readers do not block the writer. Several
// processes (or several SqliteRegistry objects in one process) may open the same file; every
// read-check-write sequence (lease acquire/renew, state transitions, commit) runs in a
// BEGIN IMMEDIATE transaction, which SQLite serializes across connections. A connection waits
// up to kBusyTimeoutMs for the lock, then the call fails with kUnavailable.
//
// Thread safety: one connection guarded by mu_; every method may be called from any thread.
// Time: every "now" comes from the Clock given at open, read after the write lock is held.
#ifndef SNAPDELTA_REGISTRY_SQLITE_REGISTRY_H_
#define SNAPDELTA_REGISTRY_SQLITE_REGISTRY_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/registry_rules.h"
#include "registry/sqlite_util.h"
#include "snapdelta/registry.h"

namespace snapdelta {

// How long a connection waits for another one's write lock before kUnavailable. Registry
// transactions last milliseconds; 10 s covers a burst of contending workers and a checkpoint.
constexpr int kBusyTimeoutMs = 10'000;

// The schema this code reads and writes. Do not renumber; bump and migrate on change.
constexpr int64_t kRegistrySchemaVersion = 4;

class SqliteRegistry final : public Registry {
 public:
  SqliteRegistry(SqliteDb db, Clock clock) : db_(std::move(db)), clock_(std::move(clock)) {}

  StatusOr<int64_t> RegisterImport(const ImportRecord& record) override;
  StatusOr<std::optional<ImportRecord>> FindImport(const std::string& tenant,
                                                   const std::string& table,
                                                   const std::string& version,
                                                   const std::string& file) override;
  StatusOr<std::vector<ImportRecord>> ListImports(const std::string& tenant,
                                                  const std::string& table) override;
  StatusOr<std::vector<ImportRecord>> ListPending() override;

  Status MarkRunning(int64_t import_id, const Lease& lease) override;
  using Registry::MarkFailed;
  Status MarkFailed(int64_t import_id, const Failure& failure) override;
  Status RetryImport(int64_t import_id) override;
  Status MarkReleased(int64_t import_id) override;
  StatusOr<std::vector<ImportRecord>> ListBlocking() override;
  Status MarkSkipped(int64_t import_id, const std::string& reason) override;
  Status MarkHeld(int64_t import_id, const std::string& reason,
                  const ImportCounts& counts) override;
  Status RewindTable(const Lease& lease, const TableState& target,
                     const std::vector<int64_t>& undone) override;
  Status CommitImport(const Lease& lease, int64_t import_id, const ImportCounts& counts,
                      const std::string& note, const TableState& state) override;
  StatusOr<std::optional<TableState>> GetTableState(const std::string& tenant,
                                                    const std::string& table) override;

  StatusOr<Lease> AcquireLease(const std::string& tenant, const std::string& table,
                               const std::string& owner, int64_t ttl_ms) override;
  StatusOr<Lease> TakeOverLease(const std::string& tenant, const std::string& table,
                                const std::string& owner, int64_t ttl_ms,
                                const std::string& dead_owner) override;
  StatusOr<std::optional<Lease>> GetLease(const std::string& tenant,
                                          const std::string& table) override;
  Status RenewLease(Lease* lease, int64_t ttl_ms) override;
  Status ReleaseLease(const Lease& lease) override;

  StatusOr<std::vector<ImportRecord>> ListUnpublished() override;
  Status MarkPublished(const Lease& lease, int64_t import_id, uint64_t seq) override;

  StatusOr<RegistrySnapshot> Snapshot() override;
  // Inserts `snapshot`'s rows as they are (ids included), in one transaction.
  Status Load(const RegistrySnapshot& snapshot);

 private:
  // The following REQUIRE mu_ held and, where they check before writing, an open transaction.

  // The import's head when it is pending (discovered, running or held; or failed, with
  // `allow_failed`): kNotFound for an unknown id, kAborted when it already finished, naming
  // `action` ("marked failed", "committed").
  StatusOr<ImportHead> LoadPendingImport(int64_t import_id, std::string_view action,
                                         bool allow_failed = false);
  // Grants the lease unless an owner other than `owner` and `dead_owner` holds it unexpired.
  StatusOr<Lease> GrantLease(const std::string& tenant, const std::string& table,
                             const std::string& owner, int64_t ttl_ms,
                             const std::string& dead_owner);
  // OK when `lease` is the table's current lease and unexpired at `now`; kAborted otherwise.
  Status CheckLeaseHeld(const Lease& lease, int64_t now);
  // Moves a pending import to failed or skipped with the failure's reason (and, when failed,
  // its kind and retry time), in its own transaction.
  Status FinishWithReason(int64_t import_id, ImportState to, const Failure& failure);
  StatusOr<std::vector<ImportRecord>> QueryImports(Statement& stmt);

  std::mutex mu_;
  SqliteDb db_;  // guarded by mu_
  const Clock clock_;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_REGISTRY_SQLITE_REGISTRY_H_
