// SqliteRegistry: leases with fencing tokens, and CommitImport, which is fenced by them.
//
// A (tenant, table) has at most one lease row; its token is incremented on every grant and the
// row is never deleted, so a token identifies one grant forever. A lease is held while the
// row's token equals the holder's and now < expires_at_ms; every check-and-set below runs in a
// BEGIN IMMEDIATE transaction, which makes it atomic across connections and processes.
#include <string>

#include "registry/registry_rules.h"
#include "registry/sqlite_registry.h"

namespace snapdelta {
namespace {

StatusOr<std::optional<LeaseRow>> ReadLeaseRow(sqlite3* db, const std::string& tenant,
                                               const std::string& table) {
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db,
                                      "SELECT owner, token, expires_at_ms FROM leases WHERE "
                                      "tenant = ?1 AND table_name = ?2"));
  stmt.BindText(1, tenant).BindText(2, table);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) return std::optional<LeaseRow>();
  return std::optional<LeaseRow>(
      LeaseRow{stmt.ColumnText(0), stmt.ColumnInt64(1), stmt.ColumnInt64(2)});
}

}  // namespace

Status SqliteRegistry::CheckLeaseHeld(const Lease& lease, int64_t now) {
  ASSIGN_OR_RETURN(std::optional<LeaseRow> row, ReadLeaseRow(db_.get(), lease.tenant, lease.table));
  return ::snapdelta::CheckLeaseHeld(lease, row, now);
}

StatusOr<Lease> SqliteRegistry::AcquireLease(const std::string& tenant, const std::string& table,
                                             const std::string& owner, int64_t ttl_ms) {
  return GrantLease(tenant, table, owner, ttl_ms, "");
}

StatusOr<Lease> SqliteRegistry::TakeOverLease(const std::string& tenant, const std::string& table,
                                              const std::string& owner, int64_t ttl_ms,
                                              const std::string& dead_owner) {
  RETURN_IF_ERROR(CheckDeadOwner(dead_owner));
  return GrantLease(tenant, table, owner, ttl_ms, dead_owner);
}

StatusOr<std::optional<Lease>> SqliteRegistry::GetLease(const std::string& tenant,
                                                        const std::string& table) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<LeaseRow> row, ReadLeaseRow(db_.get(), tenant, table));
  if (!row) return std::optional<Lease>();
  return std::optional<Lease>(Lease{tenant, table, row->owner, row->token, row->expires_at_ms});
}

StatusOr<Lease> SqliteRegistry::GrantLease(const std::string& tenant, const std::string& table,
                                           const std::string& owner, int64_t ttl_ms,
                                           const std::string& dead_owner) {
  RETURN_IF_ERROR(CheckGrantArguments(owner, ttl_ms));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  const int64_t now = clock_();
  ASSIGN_OR_RETURN(std::optional<LeaseRow> row, ReadLeaseRow(db_.get(), tenant, table));
  RETURN_IF_ERROR(CheckLeaseFree(tenant, table, owner, dead_owner, row, now));
  Lease lease{tenant, table, owner, row ? row->token + 1 : 1, now + ttl_ms};
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(),
                                      "INSERT INTO leases (tenant, table_name, owner, token, "
                                      "expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT "
                                      "(tenant, table_name) DO UPDATE SET owner = excluded.owner, "
                                      "token = excluded.token, expires_at_ms = "
                                      "excluded.expires_at_ms"));
  stmt.BindText(1, tenant)
      .BindText(2, table)
      .BindText(3, owner)
      .BindInt64(4, lease.token)
      .BindInt64(5, lease.expires_at_ms);
  RETURN_IF_ERROR(stmt.Run());
  RETURN_IF_ERROR(txn.Commit());
  return lease;
}

Status SqliteRegistry::RenewLease(Lease* lease, int64_t ttl_ms) {
  if (lease == nullptr) return InvalidArgumentError("RenewLease: no lease given");
  RETURN_IF_ERROR(CheckTtl(ttl_ms));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  const int64_t now = clock_();
  RETURN_IF_ERROR(CheckLeaseHeld(*lease, now));
  const int64_t expires_at_ms = now + ttl_ms;
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(),
                                      "UPDATE leases SET expires_at_ms = ?1 WHERE tenant = ?2 AND "
                                      "table_name = ?3 AND token = ?4"));
  stmt.BindInt64(1, expires_at_ms)
      .BindText(2, lease->tenant)
      .BindText(3, lease->table)
      .BindInt64(4, lease->token);
  RETURN_IF_ERROR(stmt.Run());
  RETURN_IF_ERROR(txn.Commit());
  lease->expires_at_ms = expires_at_ms;
  return Status::OK();
}

Status SqliteRegistry::ReleaseLease(const Lease& lease) {
  std::lock_guard<std::mutex> lock(mu_);
  // One statement, so atomic without an explicit transaction; a stale token matches no row.
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(),
                                      "UPDATE leases SET expires_at_ms = MIN(expires_at_ms, ?1) "
                                      "WHERE tenant = ?2 AND table_name = ?3 AND token = ?4"));
  stmt.BindInt64(1, clock_())
      .BindText(2, lease.tenant)
      .BindText(3, lease.table)
      .BindInt64(4, lease.token);
  return stmt.Run();
}

Status SqliteRegistry::CommitImport(const Lease& lease, int64_t import_id,
                                    const ImportCounts& counts, const std::string& note,
                                    const TableState& state) {
  const std::string what = "commit import " + std::to_string(import_id);
  RETURN_IF_ERROR(CheckCommitState(import_id, lease, state));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  const int64_t now = clock_();
  RETURN_IF_ERROR(CheckLeaseHeld(lease, now).WithContext(what));
  ASSIGN_OR_RETURN(ImportHead head, LoadPendingImport(import_id, "committed"));
  RETURN_IF_ERROR(CheckCommitImport(import_id, head, lease));
  ASSIGN_OR_RETURN(
      Statement update,
      Statement::Prepare(db_.get(),
                         "UPDATE imports SET state = 'committed', reason = '', row_count = ?1, "
                         "inserts = ?2, updates = ?3, deletes = ?4, note = ?5, "
                         "finished_at_ms = ?6, fencing_token = ?7 WHERE id = ?8"));
  update.BindInt64(1, static_cast<int64_t>(counts.rows))
      .BindInt64(2, static_cast<int64_t>(counts.inserts))
      .BindInt64(3, static_cast<int64_t>(counts.updates))
      .BindInt64(4, static_cast<int64_t>(counts.deletes))
      .BindText(5, note)
      .BindInt64(6, now)
      .BindInt64(7, lease.token)
      .BindInt64(8, import_id);
  RETURN_IF_ERROR(update.Run());
  ASSIGN_OR_RETURN(Statement upsert,
                   Statement::Prepare(db_.get(),
                                      "INSERT INTO tables (tenant, table_name, version, import_id, "
                                      "state_file) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT "
                                      "(tenant, table_name) DO UPDATE SET version = "
                                      "excluded.version, import_id = excluded.import_id, "
                                      "state_file = excluded.state_file"));
  upsert.BindText(1, lease.tenant)
      .BindText(2, lease.table)
      .BindText(3, state.version)
      .BindInt64(4, import_id)
      .BindText(5, state.state_file);
  RETURN_IF_ERROR(upsert.Run());
  return txn.Commit();
}

Status SqliteRegistry::RewindTable(const Lease& lease, const TableState& target,
                                   const std::vector<int64_t>& undone) {
  const std::string what = RewindContext(target);
  RETURN_IF_ERROR(CheckRewindTarget(lease, target));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  RETURN_IF_ERROR(CheckLeaseHeld(lease, clock_()).WithContext(what));
  ASSIGN_OR_RETURN(Statement update,
                   Statement::Prepare(db_.get(),
                                      "UPDATE tables SET version = ?1, import_id = ?2, "
                                      "state_file = ?3 WHERE tenant = ?4 AND table_name = ?5"));
  update.BindText(1, target.version)
      .BindInt64(2, target.import_id)
      .BindText(3, target.state_file)
      .BindText(4, target.tenant)
      .BindText(5, target.table);
  RETURN_IF_ERROR(update.Run());
  for (int64_t import_id : undone) {
    ASSIGN_OR_RETURN(Statement mark,
                     Statement::Prepare(db_.get(),
                                        "UPDATE imports SET state = 'rewound', reason = ?1 "
                                        "WHERE id = ?2 AND state = 'committed'"));
    mark.BindText(1, RewoundReason(target)).BindInt64(2, import_id);
    RETURN_IF_ERROR(mark.Run());
  }
  return txn.Commit();
}

Status SqliteRegistry::MarkPublished(const Lease& lease, int64_t import_id, uint64_t seq) {
  const std::string what = PublishContext(import_id, seq);
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  const int64_t now = clock_();
  RETURN_IF_ERROR(CheckLeaseHeld(lease, now).WithContext(what));
  ASSIGN_OR_RETURN(Statement load,
                   Statement::Prepare(db_.get(),
                                      "SELECT tenant, table_name, state, inserts + updates + "
                                      "deletes, published_seq FROM imports WHERE id = ?1"));
  load.BindInt64(1, import_id);
  ASSIGN_OR_RETURN(bool found, load.Step());
  std::optional<ImportHead> head;
  if (found) head = ImportHead{load.ColumnText(0), load.ColumnText(1), "", "", load.ColumnText(2)};
  const uint64_t events = found ? static_cast<uint64_t>(load.ColumnInt64(3)) : 0;
  const uint64_t published = found ? static_cast<uint64_t>(load.ColumnInt64(4)) : 0;
  RETURN_IF_ERROR(CheckPublishable(import_id, seq, lease, head, events));
  if (seq <= published) return Status::OK();
  ASSIGN_OR_RETURN(Statement update,
                   Statement::Prepare(db_.get(),
                                      "UPDATE imports SET published_seq = ?1, published_at_ms = "
                                      "?2 WHERE id = ?3"));
  update.BindInt64(1, static_cast<int64_t>(seq))
      .BindInt64(2, seq == events ? now : 0)
      .BindInt64(3, import_id);
  RETURN_IF_ERROR(update.Run());
  return txn.Commit();
}

}  // namespace snapdelta
