// SqliteRegistry: import records, their state transitions and the committed table states.
// Leases and CommitImport live in sqlite_lease.cc, opening and the schema in sqlite_schema.cc.
#include "registry/sqlite_registry.h"

#include <string>
#include <utility>

namespace snapdelta {
namespace {

// Column order shared by every SELECT of a whole import row and by ReadImport.
#define SNAPDELTA_IMPORT_COLUMNS                                                            \
  "id, tenant, table_name, version, file, size, mtime_ms, checksum, state, reason, note, "  \
  "row_count, inserts, updates, deletes, discovered_at_ms, started_at_ms, finished_at_ms, " \
  "fencing_token, failure, retry_at_ms, attempts, crashes, released, published_seq, "       \
  "published_at_ms"

StatusOr<ImportRecord> ReadImport(const Statement& stmt) {
  ImportRecord record;
  record.id = stmt.ColumnInt64(0);
  record.tenant = stmt.ColumnText(1);
  record.table = stmt.ColumnText(2);
  record.version = stmt.ColumnText(3);
  record.file = stmt.ColumnText(4);
  record.size = static_cast<uint64_t>(stmt.ColumnInt64(5));
  record.mtime_ms = stmt.ColumnInt64(6);
  record.checksum = stmt.ColumnText(7);
  ASSIGN_OR_RETURN(record.state, ParseStoredState(record.id, stmt.ColumnText(8)));
  record.reason = stmt.ColumnText(9);
  record.note = stmt.ColumnText(10);
  record.counts.rows = static_cast<uint64_t>(stmt.ColumnInt64(11));
  record.counts.inserts = static_cast<uint64_t>(stmt.ColumnInt64(12));
  record.counts.updates = static_cast<uint64_t>(stmt.ColumnInt64(13));
  record.counts.deletes = static_cast<uint64_t>(stmt.ColumnInt64(14));
  record.discovered_at_ms = stmt.ColumnInt64(15);
  record.started_at_ms = stmt.ColumnInt64(16);
  record.finished_at_ms = stmt.ColumnInt64(17);
  record.fencing_token = stmt.ColumnInt64(18);
  ASSIGN_OR_RETURN(record.failure, ParseStoredFailure(record.id, stmt.ColumnText(19)));
  record.retry_at_ms = stmt.ColumnInt64(20);
  record.attempts = static_cast<int>(stmt.ColumnInt64(21));
  record.crashes = static_cast<int>(stmt.ColumnInt64(22));
  record.released = stmt.ColumnInt64(23) != 0;
  record.published_seq = static_cast<uint64_t>(stmt.ColumnInt64(24));
  record.published_at_ms = stmt.ColumnInt64(25);
  return record;
}

}  // namespace

StatusOr<std::vector<ImportRecord>> SqliteRegistry::QueryImports(Statement& stmt) {
  std::vector<ImportRecord> records;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return records;
    ASSIGN_OR_RETURN(ImportRecord record, ReadImport(stmt));
    records.push_back(std::move(record));
  }
}

StatusOr<int64_t> SqliteRegistry::RegisterImport(const ImportRecord& record) {
  RETURN_IF_ERROR(CheckRegistrable(record));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_.get(),
                         "INSERT INTO imports (tenant, table_name, version, file, size, mtime_ms, "
                         "checksum, state, reason, note, row_count, inserts, updates, deletes, "
                         "discovered_at_ms, started_at_ms, finished_at_ms, fencing_token, failure, "
                         "retry_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                         "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"));
  const int64_t discovered_at = record.discovered_at_ms != 0 ? record.discovered_at_ms : clock_();
  const bool failed = record.state == ImportState::kFailed;  // e.g. refused at discovery
  stmt.BindText(1, record.tenant)
      .BindText(2, record.table)
      .BindText(3, record.version)
      .BindText(4, record.file)
      .BindInt64(5, static_cast<int64_t>(record.size))
      .BindInt64(6, record.mtime_ms)
      .BindText(7, record.checksum)
      .BindText(8, ImportStateName(record.state))
      .BindText(9, record.reason)
      .BindText(10, record.note)
      .BindInt64(11, static_cast<int64_t>(record.counts.rows))
      .BindInt64(12, static_cast<int64_t>(record.counts.inserts))
      .BindInt64(13, static_cast<int64_t>(record.counts.updates))
      .BindInt64(14, static_cast<int64_t>(record.counts.deletes))
      .BindInt64(15, discovered_at)
      .BindInt64(16, record.started_at_ms)
      .BindInt64(17, record.finished_at_ms)
      .BindInt64(18, record.fencing_token)
      .BindText(19, FailureKindName(failed ? record.failure : FailureKind::kNone))
      .BindInt64(20, failed ? record.retry_at_ms : 0);
  RETURN_IF_ERROR(stmt.Run());
  return sqlite3_last_insert_rowid(db_.get());
}

StatusOr<std::optional<ImportRecord>> SqliteRegistry::FindImport(const std::string& tenant,
                                                                 const std::string& table,
                                                                 const std::string& version,
                                                                 const std::string& file) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(), "SELECT " SNAPDELTA_IMPORT_COLUMNS
                                                 " FROM imports WHERE tenant = ?1 AND "
                                                 "table_name = ?2 AND version = ?3 AND file = ?4 "
                                                 "ORDER BY id DESC LIMIT 1"));
  stmt.BindText(1, tenant).BindText(2, table).BindText(3, version).BindText(4, file);
  ASSIGN_OR_RETURN(std::vector<ImportRecord> records, QueryImports(stmt));
  if (records.empty()) return std::optional<ImportRecord>();
  return std::optional<ImportRecord>(std::move(records.front()));
}

StatusOr<std::vector<ImportRecord>> SqliteRegistry::ListImports(const std::string& tenant,
                                                                const std::string& table) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(), "SELECT " SNAPDELTA_IMPORT_COLUMNS
                                                 " FROM imports WHERE (?1 = '' OR tenant = ?1) "
                                                 "AND (?2 = '' OR table_name = ?2) ORDER BY id"));
  stmt.BindText(1, tenant).BindText(2, table);
  return QueryImports(stmt);
}

StatusOr<std::vector<ImportRecord>> SqliteRegistry::ListPending() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(), "SELECT " SNAPDELTA_IMPORT_COLUMNS
                                                 " FROM imports WHERE state IN ('discovered', "
                                                 "'running') ORDER BY tenant, table_name, "
                                                 "version, id"));
  return QueryImports(stmt);
}

StatusOr<ImportHead> SqliteRegistry::LoadPendingImport(int64_t import_id, std::string_view action,
                                                       bool allow_failed) {
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(),
                                      "SELECT tenant, table_name, version, file, state FROM "
                                      "imports WHERE id = ?1"));
  stmt.BindInt64(1, import_id);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  std::optional<ImportHead> head;
  if (has_row) {
    head = ImportHead{stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnText(2),
                      stmt.ColumnText(3), stmt.ColumnText(4)};
  }
  RETURN_IF_ERROR(CheckPendingImport(import_id, head, action, allow_failed).status());
  return *std::move(head);
}

Status SqliteRegistry::MarkRunning(int64_t import_id, const Lease& lease) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  const int64_t now = clock_();
  ASSIGN_OR_RETURN(ImportHead head, LoadPendingImport(import_id, "marked running"));
  RETURN_IF_ERROR(CheckRunningTable(import_id, head, lease));
  RETURN_IF_ERROR(CheckLeaseHeld(lease, now)
                      .WithContext("mark import " + std::to_string(import_id) + " running"));
  ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_.get(),
                         "UPDATE imports SET state = 'running', started_at_ms = ?1, "
                         "fencing_token = ?2, attempts = attempts + 1, crashes = crashes + "
                         "(state = 'running') WHERE id = ?3"));
  stmt.BindInt64(1, now).BindInt64(2, lease.token).BindInt64(3, import_id);
  RETURN_IF_ERROR(stmt.Run());
  return txn.Commit();
}

Status SqliteRegistry::FinishWithReason(int64_t import_id, ImportState to, const Failure& failure) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  const int64_t now = clock_();
  const std::string action = "marked " + std::string(ImportStateName(to));
  // A failed import may still be skipped by hand (it no longer holds back the table).
  RETURN_IF_ERROR(LoadPendingImport(import_id, action, to == ImportState::kSkipped).status());
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(),
                                      "UPDATE imports SET state = ?1, reason = ?2, "
                                      "finished_at_ms = ?3, failure = ?4, retry_at_ms = ?5 "
                                      "WHERE id = ?6"));
  const bool failed = to == ImportState::kFailed;
  stmt.BindText(1, ImportStateName(to))
      .BindText(2, failure.reason)
      .BindInt64(3, now)
      .BindText(4, FailureKindName(failed ? failure.kind : FailureKind::kNone))
      .BindInt64(5, failed && failure.kind == FailureKind::kEnvironment ? failure.retry_at_ms : 0)
      .BindInt64(6, import_id);
  RETURN_IF_ERROR(stmt.Run());
  return txn.Commit();
}

Status SqliteRegistry::MarkFailed(int64_t import_id, const Failure& failure) {
  return FinishWithReason(import_id, ImportState::kFailed, failure);
}

Status SqliteRegistry::RetryImport(int64_t import_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  ASSIGN_OR_RETURN(Statement read,
                   Statement::Prepare(db_.get(), "SELECT state FROM imports WHERE id = ?1"));
  read.BindInt64(1, import_id);
  ASSIGN_OR_RETURN(bool has_row, read.Step());
  RETURN_IF_ERROR(CheckRetryable(import_id, has_row ? std::optional<std::string>(read.ColumnText(0))
                                                    : std::optional<std::string>()));
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(),
                                      "UPDATE imports SET state = 'discovered', reason = '', "
                                      "failure = '', retry_at_ms = 0, crashes = 0, "
                                      "finished_at_ms = 0 WHERE id = ?1"));
  stmt.BindInt64(1, import_id);
  RETURN_IF_ERROR(stmt.Run());
  return txn.Commit();
}

StatusOr<std::vector<ImportRecord>> SqliteRegistry::ListBlocking() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_.get(), "SELECT " SNAPDELTA_IMPORT_COLUMNS
                                    " FROM imports WHERE state = 'failed' AND "
                                    "failure IN ('environment', 'crash') ORDER BY tenant, "
                                    "table_name, version, id"));
  return QueryImports(stmt);
}

Status SqliteRegistry::MarkReleased(int64_t import_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  RETURN_IF_ERROR(LoadPendingImport(import_id, "released").status());
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(), "UPDATE imports SET released = 1 WHERE id = ?1"));
  stmt.BindInt64(1, import_id);
  RETURN_IF_ERROR(stmt.Run());
  return txn.Commit();
}

Status SqliteRegistry::MarkSkipped(int64_t import_id, const std::string& reason) {
  return FinishWithReason(import_id, ImportState::kSkipped, Failure{reason, FailureKind::kNone, 0});
}

Status SqliteRegistry::MarkHeld(int64_t import_id, const std::string& reason,
                                const ImportCounts& counts) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  RETURN_IF_ERROR(LoadPendingImport(import_id, "marked held").status());
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(),
                                      "UPDATE imports SET state = 'held', reason = ?1, "
                                      "row_count = ?2, inserts = ?3, updates = ?4, deletes = ?5, "
                                      "finished_at_ms = ?6 WHERE id = ?7"));
  stmt.BindText(1, reason)
      .BindInt64(2, static_cast<int64_t>(counts.rows))
      .BindInt64(3, static_cast<int64_t>(counts.inserts))
      .BindInt64(4, static_cast<int64_t>(counts.updates))
      .BindInt64(5, static_cast<int64_t>(counts.deletes))
      .BindInt64(6, clock_())
      .BindInt64(7, import_id);
  RETURN_IF_ERROR(stmt.Run());
  return txn.Commit();
}

StatusOr<std::vector<ImportRecord>> SqliteRegistry::ListUnpublished() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(), "SELECT " SNAPDELTA_IMPORT_COLUMNS
                                                 " FROM imports WHERE state = 'committed' AND "
                                                 "published_seq < inserts + updates + deletes "
                                                 "ORDER BY tenant, table_name, version, id"));
  return QueryImports(stmt);
}

StatusOr<RegistrySnapshot> SqliteRegistry::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());  // the three reads see one state
  RegistrySnapshot snapshot;
  ASSIGN_OR_RETURN(Statement imports,
                   Statement::Prepare(
                       db_.get(), "SELECT " SNAPDELTA_IMPORT_COLUMNS " FROM imports ORDER BY id"));
  ASSIGN_OR_RETURN(snapshot.imports, QueryImports(imports));
  ASSIGN_OR_RETURN(Statement tables,
                   Statement::Prepare(db_.get(),
                                      "SELECT tenant, table_name, version, import_id, state_file "
                                      "FROM tables ORDER BY tenant, table_name"));
  for (;;) {
    ASSIGN_OR_RETURN(bool has_row, tables.Step());
    if (!has_row) break;
    snapshot.tables.push_back(TableState{tables.ColumnText(0), tables.ColumnText(1),
                                         tables.ColumnText(2), tables.ColumnInt64(3),
                                         tables.ColumnText(4)});
  }
  ASSIGN_OR_RETURN(Statement leases,
                   Statement::Prepare(db_.get(),
                                      "SELECT tenant, table_name, owner, token, expires_at_ms "
                                      "FROM leases ORDER BY tenant, table_name"));
  for (;;) {
    ASSIGN_OR_RETURN(bool has_row, leases.Step());
    if (!has_row) break;
    snapshot.leases.push_back(Lease{leases.ColumnText(0), leases.ColumnText(1),
                                    leases.ColumnText(2), leases.ColumnInt64(3),
                                    leases.ColumnInt64(4)});
  }
  return snapshot;
}

Status SqliteRegistry::Load(const RegistrySnapshot& snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.BeginImmediate());
  for (const ImportRecord& r : snapshot.imports) {
    ASSIGN_OR_RETURN(Statement stmt,
                     Statement::Prepare(db_.get(), "INSERT INTO imports (" SNAPDELTA_IMPORT_COLUMNS
                                                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                                                   "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                                                   "?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)"));
    stmt.BindInt64(1, r.id)
        .BindText(2, r.tenant)
        .BindText(3, r.table)
        .BindText(4, r.version)
        .BindText(5, r.file)
        .BindInt64(6, static_cast<int64_t>(r.size))
        .BindInt64(7, r.mtime_ms)
        .BindText(8, r.checksum)
        .BindText(9, ImportStateName(r.state))
        .BindText(10, r.reason)
        .BindText(11, r.note)
        .BindInt64(12, static_cast<int64_t>(r.counts.rows))
        .BindInt64(13, static_cast<int64_t>(r.counts.inserts))
        .BindInt64(14, static_cast<int64_t>(r.counts.updates))
        .BindInt64(15, static_cast<int64_t>(r.counts.deletes))
        .BindInt64(16, r.discovered_at_ms)
        .BindInt64(17, r.started_at_ms)
        .BindInt64(18, r.finished_at_ms)
        .BindInt64(19, r.fencing_token)
        .BindText(20, FailureKindName(r.failure))
        .BindInt64(21, r.retry_at_ms)
        .BindInt64(22, r.attempts)
        .BindInt64(23, r.crashes)
        .BindInt64(24, r.released ? 1 : 0)
        .BindInt64(25, static_cast<int64_t>(r.published_seq))
        .BindInt64(26, r.published_at_ms);
    RETURN_IF_ERROR(stmt.Run());
  }
  for (const TableState& t : snapshot.tables) {
    ASSIGN_OR_RETURN(Statement stmt,
                     Statement::Prepare(db_.get(),
                                        "INSERT INTO tables (tenant, table_name, version, "
                                        "import_id, state_file) VALUES (?1, ?2, ?3, ?4, ?5)"));
    stmt.BindText(1, t.tenant)
        .BindText(2, t.table)
        .BindText(3, t.version)
        .BindInt64(4, t.import_id)
        .BindText(5, t.state_file);
    RETURN_IF_ERROR(stmt.Run());
  }
  for (const Lease& l : snapshot.leases) {
    ASSIGN_OR_RETURN(Statement stmt,
                     Statement::Prepare(db_.get(),
                                        "INSERT INTO leases (tenant, table_name, owner, token, "
                                        "expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)"));
    stmt.BindText(1, l.tenant)
        .BindText(2, l.table)
        .BindText(3, l.owner)
        .BindInt64(4, l.token)
        .BindInt64(5, l.expires_at_ms);
    RETURN_IF_ERROR(stmt.Run());
  }
  return txn.Commit();
}

StatusOr<std::optional<TableState>> SqliteRegistry::GetTableState(const std::string& tenant,
                                                                  const std::string& table) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db_.get(),
                                      "SELECT version, import_id, state_file FROM tables WHERE "
                                      "tenant = ?1 AND table_name = ?2"));
  stmt.BindText(1, tenant).BindText(2, table);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) return std::optional<TableState>();
  return std::optional<TableState>(
      TableState{tenant, table, stmt.ColumnText(0), stmt.ColumnInt64(1), stmt.ColumnText(2)});
}

}  // namespace snapdelta

#undef SNAPDELTA_IMPORT_COLUMNS
