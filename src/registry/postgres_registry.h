// PostgresRegistry: the Registry of registry.h kept in a PostgreSQL database, shared by workers
// on many machines.
//
// Schema (PostgreSQL schema version 1, kept in snapdelta_schema.version; its own numbering, not
// the SQLite file's): every name is prefixed, so the registry may share a database with others.
//   snapdelta_schema   version: the one row saying which schema the tables have.
//   snapdelta_imports  id BIGINT GENERATED ALWAYS AS IDENTITY (never reused), and the columns of
//                      the SQLite registry's imports table (sqlite_registry.h).
//   snapdelta_tables   tenant, table_name, version, import_id, state_file; PRIMARY KEY (tenant,
//                      table_name).
//   snapdelta_leases   tenant, table_name, owner, token, expires_at_ms; PRIMARY KEY (tenant,
//                      table_name). A row is never deleted (release only expires it), so the
//                      fencing token of a table keeps growing. A row with token 0 was made
//                      ready for a first grant and is not a lease yet.
// Names, versions and files are COLLATE "C", so ordering is bytewise as in SQLite, whatever the
// database's collation.
//
// Concurrency: every read-check-write runs in one transaction that locks the rows it checks
// (SELECT ... FOR UPDATE; leases before imports, so two transactions never wait on each other
// in a cycle) and reads "now" after the locks are held. A grant locks the lease row with SKIP
// LOCKED: a grant in progress elsewhere makes it kUnavailable at once instead of a wait.
//
// Time: from the Clock given at open; when none, from the database server's clock
// (clock_timestamp()), so workers whose clocks disagree still agree on lease expiry.
//
// Thread safety: one connection (PgSession) serializes the calls; every method may be called from
// any thread.
#ifndef SNAPDELTA_REGISTRY_POSTGRES_REGISTRY_H_
#define SNAPDELTA_REGISTRY_POSTGRES_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/pg_conn.h"
#include "registry/registry_rules.h"
#include "snapdelta/registry.h"

namespace snapdelta {

// The PostgreSQL schema this code reads and writes. Do not renumber; bump and migrate on change.
constexpr int64_t kPostgresSchemaVersion = 1;

// OpenPostgresRegistry with the retry policy for lost connections spelled out (tests shorten
// it).
StatusOr<std::unique_ptr<Registry>> OpenPostgresRegistry(const std::string& url, Clock clock,
                                                         const PgRetryPolicy& policy);

class PostgresRegistry final : public Registry {
 public:
  PostgresRegistry(std::unique_ptr<PgSession> session, Clock clock)
      : session_(std::move(session)), clock_(std::move(clock)) {}

  // Creates the schema or migrates it, under an advisory lock (postgres_schema.cc).
  Status SetUpSchema();

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

 private:
  // The following run inside a PgSession::Transact body, on its connection.

  // "Now": the Clock's, or the server's clock_timestamp() in milliseconds.
  StatusOr<int64_t> Now(PgConn& conn);
  // Locks the import row and returns its head when pending (CheckPendingImport).
  static StatusOr<ImportHead> LoadPendingImport(PgConn& conn, int64_t import_id,
                                                std::string_view action, bool allow_failed = false);
  // Locks the lease row (FOR UPDATE, waiting) and returns it; nullopt when never granted.
  static StatusOr<std::optional<LeaseRow>> LockLease(PgConn& conn, const std::string& tenant,
                                                     const std::string& table);
  // Grants the lease unless an owner other than `owner` and `dead_owner` holds it unexpired.
  StatusOr<Lease> GrantLease(const std::string& tenant, const std::string& table,
                             const std::string& owner, int64_t ttl_ms,
                             const std::string& dead_owner);
  // Moves a pending import to failed or skipped (see SqliteRegistry::FinishWithReason).
  Status FinishWithReason(int64_t import_id, ImportState to, const Failure& failure);
  // Runs a SELECT of whole import rows in its own read.
  StatusOr<std::vector<ImportRecord>> QueryImports(const char* sql,
                                                   std::initializer_list<PgParam> params = {});

  const std::unique_ptr<PgSession> session_;
  const Clock clock_;  // null: the server's clock
};

}  // namespace snapdelta

#endif  // SNAPDELTA_REGISTRY_POSTGRES_REGISTRY_H_
