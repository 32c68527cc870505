// PostgresRegistry: import records, their state transitions, the committed table states and the
// snapshot. Leases and the calls fenced by them live in postgres_lease.cc, opening and the schema
// in postgres_schema.cc. Every check and message is SqliteRegistry's (registry_rules.h).
#include "registry/postgres_registry.h"

#include <string>
#include <utility>

namespace snapdelta {
namespace {

// Column order shared by every SELECT of a whole import row and by ReadImport.
#define SNAPDELTA_PG_IMPORT_COLUMNS                                                         \
  "id, tenant, table_name, version, file, size, mtime_ms, checksum, state, reason, note, "  \
  "row_count, inserts, updates, deletes, discovered_at_ms, started_at_ms, finished_at_ms, " \
  "fencing_token, failure, retry_at_ms, attempts, crashes, released, published_seq, "       \
  "published_at_ms"

StatusOr<ImportRecord> ReadImport(const PgResult& rows, int row) {
  ImportRecord record;
  record.id = rows.Int64(row, 0);
  record.tenant = rows.Text(row, 1);
  record.table = rows.Text(row, 2);
  record.version = rows.Text(row, 3);
  record.file = rows.Text(row, 4);
  record.size = static_cast<uint64_t>(rows.Int64(row, 5));
  record.mtime_ms = rows.Int64(row, 6);
  record.checksum = rows.Text(row, 7);
  ASSIGN_OR_RETURN(record.state, ParseStoredState(record.id, rows.Text(row, 8)));
  record.reason = rows.Text(row, 9);
  record.note = rows.Text(row, 10);
  record.counts.rows = static_cast<uint64_t>(rows.Int64(row, 11));
  record.counts.inserts = static_cast<uint64_t>(rows.Int64(row, 12));
  record.counts.updates = static_cast<uint64_t>(rows.Int64(row, 13));
  record.counts.deletes = static_cast<uint64_t>(rows.Int64(row, 14));
  record.discovered_at_ms = rows.Int64(row, 15);
  record.started_at_ms = rows.Int64(row, 16);
  record.finished_at_ms = rows.Int64(row, 17);
  record.fencing_token = rows.Int64(row, 18);
  ASSIGN_OR_RETURN(record.failure, ParseStoredFailure(record.id, rows.Text(row, 19)));
  record.retry_at_ms = rows.Int64(row, 20);
  record.attempts = static_cast<int>(rows.Int64(row, 21));
  record.crashes = static_cast<int>(rows.Int64(row, 22));
  record.released = rows.Bool(row, 23);
  record.published_seq = static_cast<uint64_t>(rows.Int64(row, 24));
  record.published_at_ms = rows.Int64(row, 25);
  return record;
}

StatusOr<std::vector<ImportRecord>> ReadImports(const PgResult& rows) {
  std::vector<ImportRecord> records;
  records.reserve(static_cast<size_t>(rows.rows()));
  for (int row = 0; row < rows.rows(); ++row) {
    ASSIGN_OR_RETURN(ImportRecord record, ReadImport(rows, row));
    records.push_back(std::move(record));
  }
  return records;
}

// A count or size as stored: BIGINT holds the bits of a uint64, as SQLite's INTEGER does.
int64_t Stored(uint64_t value) { return static_cast<int64_t>(value); }

}  // namespace

StatusOr<int64_t> PostgresRegistry::Now(PgConn& conn) {
  if (clock_) return clock_();
  ASSIGN_OR_RETURN(PgResult now,
                   conn.Exec("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"));
  return now.Int64(0, 0);
}

StatusOr<std::vector<ImportRecord>> PostgresRegistry::QueryImports(
    const char* sql, std::initializer_list<PgParam> params) {
  std::vector<ImportRecord> records;
  RETURN_IF_ERROR(session_->Transact(PgTxn::kAutocommit, [&](PgConn& conn) -> Status {
    ASSIGN_OR_RETURN(PgResult rows, conn.Exec(sql, params));
    ASSIGN_OR_RETURN(records, ReadImports(rows));
    return Status::OK();
  }));
  return records;
}

StatusOr<int64_t> PostgresRegistry::RegisterImport(const ImportRecord& record) {
  RETURN_IF_ERROR(CheckRegistrable(record));
  const bool failed = record.state == ImportState::kFailed;  // e.g. refused at discovery
  int64_t id = 0;
  RETURN_IF_ERROR(session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    int64_t discovered_at = record.discovered_at_ms;
    if (discovered_at == 0) {
      ASSIGN_OR_RETURN(discovered_at, Now(conn));
    }
    ASSIGN_OR_RETURN(
        PgResult inserted,
        conn.Exec("INSERT INTO snapdelta_imports (tenant, table_name, version, file, size, "
                  "mtime_ms, checksum, state, reason, note, row_count, inserts, updates, deletes, "
                  "discovered_at_ms, started_at_ms, finished_at_ms, fencing_token, failure, "
                  "retry_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                  "$14, $15, $16, $17, $18, $19, $20) RETURNING id",
                  {record.tenant,
                   record.table,
                   record.version,
                   record.file,
                   Stored(record.size),
                   record.mtime_ms,
                   record.checksum,
                   ImportStateName(record.state),
                   record.reason,
                   record.note,
                   Stored(record.counts.rows),
                   Stored(record.counts.inserts),
                   Stored(record.counts.updates),
                   Stored(record.counts.deletes),
                   discovered_at,
                   record.started_at_ms,
                   record.finished_at_ms,
                   record.fencing_token,
                   FailureKindName(failed ? record.failure : FailureKind::kNone),
                   failed ? record.retry_at_ms : int64_t{0}}));
    id = inserted.Int64(0, 0);
    return Status::OK();
  }));
  return id;
}

StatusOr<std::optional<ImportRecord>> PostgresRegistry::FindImport(const std::string& tenant,
                                                                   const std::string& table,
                                                                   const std::string& version,
                                                                   const std::string& file) {
  ASSIGN_OR_RETURN(std::vector<ImportRecord> records,
                   QueryImports("SELECT " SNAPDELTA_PG_IMPORT_COLUMNS
                                " FROM snapdelta_imports WHERE tenant = $1 AND table_name = $2 "
                                "AND version = $3 AND file = $4 ORDER BY id DESC LIMIT 1",
                                {tenant, table, version, file}));
  if (records.empty()) return std::optional<ImportRecord>();
  return std::optional<ImportRecord>(std::move(records.front()));
}

StatusOr<std::vector<ImportRecord>> PostgresRegistry::ListImports(const std::string& tenant,
                                                                  const std::string& table) {
  return QueryImports("SELECT " SNAPDELTA_PG_IMPORT_COLUMNS
                      " FROM snapdelta_imports WHERE ($1::text = '' OR tenant = $1::text) AND "
                      "($2::text = '' OR table_name = $2::text) ORDER BY id",
                      {tenant, table});
}

StatusOr<std::vector<ImportRecord>> PostgresRegistry::ListPending() {
  return QueryImports("SELECT " SNAPDELTA_PG_IMPORT_COLUMNS
                      " FROM snapdelta_imports WHERE state IN ('discovered', 'running') "
                      "ORDER BY tenant, table_name, version, id");
}

StatusOr<std::vector<ImportRecord>> PostgresRegistry::ListBlocking() {
  return QueryImports("SELECT " SNAPDELTA_PG_IMPORT_COLUMNS
                      " FROM snapdelta_imports WHERE state = 'failed' AND failure IN "
                      "('environment', 'crash') ORDER BY tenant, table_name, version, id");
}

StatusOr<std::vector<ImportRecord>> PostgresRegistry::ListUnpublished() {
  return QueryImports("SELECT " SNAPDELTA_PG_IMPORT_COLUMNS
                      " FROM snapdelta_imports WHERE state = 'committed' AND published_seq < "
                      "inserts + updates + deletes ORDER BY tenant, table_name, version, id");
}

StatusOr<ImportHead> PostgresRegistry::LoadPendingImport(PgConn& conn, int64_t import_id,
                                                         std::string_view action,
                                                         bool allow_failed) {
  ASSIGN_OR_RETURN(PgResult rows, conn.Exec("SELECT tenant, table_name, version, file, state FROM "
                                            "snapdelta_imports WHERE id = $1 FOR UPDATE",
                                            {import_id}));
  std::optional<ImportHead> head;
  if (rows.rows() > 0) {
    head = ImportHead{rows.Text(0, 0), rows.Text(0, 1), rows.Text(0, 2), rows.Text(0, 3),
                      rows.Text(0, 4)};
  }
  RETURN_IF_ERROR(CheckPendingImport(import_id, head, action, allow_failed).status());
  return *std::move(head);
}

Status PostgresRegistry::MarkRunning(int64_t import_id, const Lease& lease) {
  return session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    // The lease row first, as every fenced call locks it (one lock order, no deadlock).
    ASSIGN_OR_RETURN(std::optional<LeaseRow> row, LockLease(conn, lease.tenant, lease.table));
    ASSIGN_OR_RETURN(ImportHead head, LoadPendingImport(conn, import_id, "marked running"));
    ASSIGN_OR_RETURN(const int64_t now, Now(conn));
    RETURN_IF_ERROR(CheckRunningTable(import_id, head, lease));
    RETURN_IF_ERROR(CheckLeaseHeld(lease, row, now)
                        .WithContext("mark import " + std::to_string(import_id) + " running"));
    return conn.Run(
        "UPDATE snapdelta_imports SET state = 'running', started_at_ms = $1, fencing_token = $2, "
        "attempts = attempts + 1, crashes = crashes + CASE WHEN state = 'running' THEN 1 ELSE 0 "
        "END WHERE id = $3",
        {now, lease.token, import_id});
  });
}

Status PostgresRegistry::FinishWithReason(int64_t import_id, ImportState to,
                                          const Failure& failure) {
  const std::string action = "marked " + std::string(ImportStateName(to));
  const bool failed = to == ImportState::kFailed;
  return session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    // A failed import may still be skipped by hand (it no longer holds back the table).
    RETURN_IF_ERROR(
        LoadPendingImport(conn, import_id, action, to == ImportState::kSkipped).status());
    ASSIGN_OR_RETURN(const int64_t now, Now(conn));
    return conn.Run(
        "UPDATE snapdelta_imports SET state = $1, reason = $2, finished_at_ms = $3, failure = $4, "
        "retry_at_ms = $5 WHERE id = $6",
        {ImportStateName(to), failure.reason, now,
         FailureKindName(failed ? failure.kind : FailureKind::kNone),
         failed && failure.kind == FailureKind::kEnvironment ? failure.retry_at_ms : int64_t{0},
         import_id});
  });
}

Status PostgresRegistry::MarkFailed(int64_t import_id, const Failure& failure) {
  return FinishWithReason(import_id, ImportState::kFailed, failure);
}

Status PostgresRegistry::MarkSkipped(int64_t import_id, const std::string& reason) {
  return FinishWithReason(import_id, ImportState::kSkipped, Failure{reason, FailureKind::kNone, 0});
}

Status PostgresRegistry::RetryImport(int64_t import_id) {
  return session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    ASSIGN_OR_RETURN(
        PgResult rows,
        conn.Exec("SELECT state FROM snapdelta_imports WHERE id = $1 FOR UPDATE", {import_id}));
    RETURN_IF_ERROR(CheckRetryable(import_id, rows.rows() > 0
                                                  ? std::optional<std::string>(rows.Text(0, 0))
                                                  : std::optional<std::string>()));
    return conn.Run(
        "UPDATE snapdelta_imports SET state = 'discovered', reason = '', failure = '', "
        "retry_at_ms = 0, crashes = 0, finished_at_ms = 0 WHERE id = $1",
        {import_id});
  });
}

Status PostgresRegistry::MarkReleased(int64_t import_id) {
  return session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    RETURN_IF_ERROR(LoadPendingImport(conn, import_id, "released").status());
    return conn.Run("UPDATE snapdelta_imports SET released = true WHERE id = $1", {import_id});
  });
}

Status PostgresRegistry::MarkHeld(int64_t import_id, const std::string& reason,
                                  const ImportCounts& counts) {
  return session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    RETURN_IF_ERROR(LoadPendingImport(conn, import_id, "marked held").status());
    ASSIGN_OR_RETURN(const int64_t now, Now(conn));
    return conn.Run(
        "UPDATE snapdelta_imports SET state = 'held', reason = $1, row_count = $2, inserts = $3, "
        "updates = $4, deletes = $5, finished_at_ms = $6 WHERE id = $7",
        {reason, Stored(counts.rows), Stored(counts.inserts), Stored(counts.updates),
         Stored(counts.deletes), now, import_id});
  });
}

StatusOr<std::optional<TableState>> PostgresRegistry::GetTableState(const std::string& tenant,
                                                                    const std::string& table) {
  std::optional<TableState> state;
  RETURN_IF_ERROR(session_->Transact(PgTxn::kAutocommit, [&](PgConn& conn) -> Status {
    ASSIGN_OR_RETURN(PgResult rows,
                     conn.Exec("SELECT version, import_id, state_file FROM snapdelta_tables "
                               "WHERE tenant = $1 AND table_name = $2",
                               {tenant, table}));
    state.reset();
    if (rows.rows() > 0) {
      state = TableState{tenant, table, rows.Text(0, 0), rows.Int64(0, 1), rows.Text(0, 2)};
    }
    return Status::OK();
  }));
  return state;
}

StatusOr<RegistrySnapshot> PostgresRegistry::Snapshot() {
  RegistrySnapshot snapshot;
  RETURN_IF_ERROR(session_->Transact(PgTxn::kSnapshot, [&](PgConn& conn) -> Status {
    snapshot = RegistrySnapshot();
    ASSIGN_OR_RETURN(PgResult imports, conn.Exec("SELECT " SNAPDELTA_PG_IMPORT_COLUMNS
                                                 " FROM snapdelta_imports ORDER BY id"));
    ASSIGN_OR_RETURN(snapshot.imports, ReadImports(imports));
    ASSIGN_OR_RETURN(PgResult tables,
                     conn.Exec("SELECT tenant, table_name, version, import_id, state_file FROM "
                               "snapdelta_tables ORDER BY tenant, table_name"));
    for (int row = 0; row < tables.rows(); ++row) {
      snapshot.tables.push_back(TableState{tables.Text(row, 0), tables.Text(row, 1),
                                           tables.Text(row, 2), tables.Int64(row, 3),
                                           tables.Text(row, 4)});
    }
    // Rows with token 0 were only made ready for a first grant: not leases (GetLease agrees).
    ASSIGN_OR_RETURN(PgResult leases,
                     conn.Exec("SELECT tenant, table_name, owner, token, expires_at_ms FROM "
                               "snapdelta_leases WHERE token > 0 ORDER BY tenant, table_name"));
    for (int row = 0; row < leases.rows(); ++row) {
      snapshot.leases.push_back(Lease{leases.Text(row, 0), leases.Text(row, 1), leases.Text(row, 2),
                                      leases.Int64(row, 3), leases.Int64(row, 4)});
    }
    return Status::OK();
  }));
  return snapshot;
}

}  // namespace snapdelta

#undef SNAPDELTA_PG_IMPORT_COLUMNS
