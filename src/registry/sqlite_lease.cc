// SqliteRegistry: leases with fencing tokens, and CommitImport, which is fenced by them.
//
// A (tenant, table) has at most one lease row; its token is incremented on every grant and the
// row is never deleted, so a token identifies one grant forever. A lease is held while the
// row's token equals the holder's and now < expires_at_ms; every check-and-set below runs in a
// BEGIN IMMEDIATE transaction, which makes it atomic across connections and processes.
#include <cstdio>
#include <ctime>
#include <string>

#include "registry/sqlite_registry.h"

namespace snapdelta {
namespace {

struct LeaseRow {
  std::string owner;
  int64_t token = 0;
  int64_t expires_at_ms = 0;
};

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

// "2024-05-01T12:00:00.250Z".
std::string FormatTimeMs(int64_t ms) {
  int64_t seconds = ms / 1000;
  int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::time_t time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[48];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  char out[64];
  std::snprintf(out, sizeof(out), "%s.%03dZ", text, static_cast<int>(millis));
  return out;
}

std::string TableName(const std::string& tenant, const std::string& table) {
  return tenant + "/" + table;
}

Status CheckTtl(int64_t ttl_ms) {
  if (ttl_ms <= 0) {
    return InvalidArgumentError("lease ttl must be positive, got " + std::to_string(ttl_ms) +
                                " ms");
  }
  return Status::OK();
}

}  // namespace

Status SqliteRegistry::CheckLeaseHeld(const Lease& lease, int64_t now) {
  ASSIGN_OR_RETURN(std::optional<LeaseRow> row, ReadLeaseRow(db_.get(), lease.tenant, lease.table));
  const std::string lost = "lease for " + TableName(lease.tenant, lease.table) + " lost: token " +
                           std::to_string(lease.token);
  if (!row) return AbortedError(lost + " was never granted (no lease exists for this table)");
  if (row->token != lease.token) {
    return AbortedError(lost + " is stale (current " + std::to_string(row->token) +
                        "), now held by " + row->owner);
  }
  if (now >= row->expires_at_ms) {
    return AbortedError(lost + " expired at " + FormatTimeMs(row->expires_at_ms) + " (" +
                        std::to_string(now - row->expires_at_ms) +
                        " ms ago); renew it more often or raise the lease ttl");
  }
  return Status::OK();
}

StatusOr<Lease> SqliteRegistry::AcquireLease(const std::string& tenant, const std::string& table,
                                             const std::string& owner, int64_t ttl_ms) {
  return GrantLease(tenant, table, owner, ttl_ms, "");
}

StatusOr<Lease> SqliteRegistry::TakeOverLease(const std::string& tenant, const std::string& table,
                                              const std::string& owner, int64_t ttl_ms,
                                              const std::string& dead_owner) {
  if (dead_owner.empty()) return InvalidArgumentError("TakeOverLease: no dead owner named");
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
  RETURN_IF_ERROR(CheckTtl(ttl_ms));
  if (owner.empty()) return InvalidArgumentError("AcquireLease: the owner must not be empty");
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  const int64_t now = clock_();
  ASSIGN_OR_RETURN(std::optional<LeaseRow> row, ReadLeaseRow(db_.get(), tenant, table));
  if (row && now < row->expires_at_ms && row->owner != owner &&
      (dead_owner.empty() || row->owner != dead_owner)) {
    return UnavailableError("lease for " + TableName(tenant, table) + " is held by " + row->owner +
                            " until " + FormatTimeMs(row->expires_at_ms) + " (" +
                            std::to_string(row->expires_at_ms - now) + " ms from now, token " +
                            std::to_string(row->token) + "); retry after it expires");
  }
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
  if (state.tenant != lease.tenant || state.table != lease.table) {
    return InvalidArgumentError(what + ": the state is for " +
                                TableName(state.tenant, state.table) + ", the lease for " +
                                TableName(lease.tenant, lease.table));
  }
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  const int64_t now = clock_();
  RETURN_IF_ERROR(CheckLeaseHeld(lease, now).WithContext(what));
  ASSIGN_OR_RETURN(ImportHead head, LoadPendingImport(import_id, "committed"));
  if (head.tenant != lease.tenant || head.table != lease.table) {
    return InvalidArgumentError(what + ": the import belongs to " +
                                TableName(head.tenant, head.table) + ", the lease to " +
                                TableName(lease.tenant, lease.table));
  }
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
  const std::string what = "rewind " + TableName(target.tenant, target.table);
  if (target.tenant != lease.tenant || target.table != lease.table) {
    return InvalidArgumentError(what + ": the lease is for " +
                                TableName(lease.tenant, lease.table));
  }
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
    mark.BindText(1, "undone by rewind to version " + target.version).BindInt64(2, import_id);
    RETURN_IF_ERROR(mark.Run());
  }
  return txn.Commit();
}

Status SqliteRegistry::MarkPublished(const Lease& lease, int64_t import_id, uint64_t seq) {
  const std::string what =
      "record import " + std::to_string(import_id) + " published to seq " + std::to_string(seq);
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
  if (!found) return NotFoundError(what + ": no such import");
  const std::string tenant = load.ColumnText(0);
  const std::string table = load.ColumnText(1);
  const std::string state = load.ColumnText(2);
  const uint64_t events = static_cast<uint64_t>(load.ColumnInt64(3));
  const uint64_t published = static_cast<uint64_t>(load.ColumnInt64(4));
  if (tenant != lease.tenant || PublishLeaseTable(table) != lease.table) {
    return InvalidArgumentError(what + ": the import belongs to " + TableName(tenant, table) +
                                ", the lease is " + TableName(lease.tenant, lease.table));
  }
  if (state != "committed") return AbortedError(what + ": the import is " + state);
  if (seq > events) {
    return InvalidArgumentError(what + ": the import has only " + std::to_string(events) +
                                " events");
  }
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
