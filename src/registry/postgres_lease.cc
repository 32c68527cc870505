// PostgresRegistry: leases with fencing tokens, and the calls fenced by them (CommitImport,
// RewindTable, MarkPublished; MarkRunning is in postgres_registry.cc).
//
// A (tenant, table) has at most one lease row; its token is incremented on every grant and the
// row is never deleted, so a token identifies one grant forever. A grant first makes sure the row
// exists (token 0: never granted), in a statement of its own, so that the grant itself only ever
// locks an existing row: with SKIP LOCKED, a grant running elsewhere makes it kUnavailable at
// once rather than a wait. Renewals, releases and the fenced calls lock the row FOR UPDATE and
// check token and expiry in the transaction of their write.
#include <string>

#include "registry/postgres_registry.h"

namespace snapdelta {
namespace {

// The lease of the first row of `rows` (owner, token, expires_at_ms); nullopt when there is none
// or it was never granted (token 0).
std::optional<LeaseRow> LeaseRowOf(const PgResult& rows) {
  if (rows.rows() == 0 || rows.Int64(0, 1) == 0) return std::nullopt;
  return LeaseRow{rows.Text(0, 0), rows.Int64(0, 1), rows.Int64(0, 2)};
}

int64_t Stored(uint64_t value) { return static_cast<int64_t>(value); }

}  // namespace

StatusOr<std::optional<LeaseRow>> PostgresRegistry::LockLease(PgConn& conn,
                                                              const std::string& tenant,
                                                              const std::string& table) {
  ASSIGN_OR_RETURN(PgResult rows,
                   conn.Exec("SELECT owner, token, expires_at_ms FROM snapdelta_leases WHERE "
                             "tenant = $1 AND table_name = $2 FOR UPDATE",
                             {tenant, table}));
  return LeaseRowOf(rows);
}

StatusOr<Lease> PostgresRegistry::AcquireLease(const std::string& tenant, const std::string& table,
                                               const std::string& owner, int64_t ttl_ms) {
  return GrantLease(tenant, table, owner, ttl_ms, "");
}

StatusOr<Lease> PostgresRegistry::TakeOverLease(const std::string& tenant, const std::string& table,
                                                const std::string& owner, int64_t ttl_ms,
                                                const std::string& dead_owner) {
  RETURN_IF_ERROR(CheckDeadOwner(dead_owner));
  return GrantLease(tenant, table, owner, ttl_ms, dead_owner);
}

StatusOr<std::optional<Lease>> PostgresRegistry::GetLease(const std::string& tenant,
                                                          const std::string& table) {
  std::optional<Lease> lease;
  RETURN_IF_ERROR(session_->Transact(PgTxn::kAutocommit, [&](PgConn& conn) -> Status {
    ASSIGN_OR_RETURN(PgResult rows,
                     conn.Exec("SELECT owner, token, expires_at_ms FROM snapdelta_leases WHERE "
                               "tenant = $1 AND table_name = $2",
                               {tenant, table}));
    lease.reset();
    if (std::optional<LeaseRow> row = LeaseRowOf(rows)) {
      lease = Lease{tenant, table, row->owner, row->token, row->expires_at_ms};
    }
    return Status::OK();
  }));
  return lease;
}

StatusOr<Lease> PostgresRegistry::GrantLease(const std::string& tenant, const std::string& table,
                                             const std::string& owner, int64_t ttl_ms,
                                             const std::string& dead_owner) {
  RETURN_IF_ERROR(CheckGrantArguments(owner, ttl_ms));
  // Idempotent and committed at once: workers granting a table's first lease together wait on
  // each other only for this insert, never for another's whole grant.
  RETURN_IF_ERROR(session_->Transact(PgTxn::kAutocommit, [&](PgConn& conn) {
    return conn.Run(
        "INSERT INTO snapdelta_leases (tenant, table_name, owner, token, expires_at_ms) VALUES "
        "($1, $2, '', 0, 0) ON CONFLICT (tenant, table_name) DO NOTHING",
        {tenant, table});
  }));
  Lease lease;
  RETURN_IF_ERROR(session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    ASSIGN_OR_RETURN(PgResult locked,
                     conn.Exec("SELECT owner, token, expires_at_ms FROM snapdelta_leases WHERE "
                               "tenant = $1 AND table_name = $2 FOR UPDATE SKIP LOCKED",
                               {tenant, table}));
    if (locked.rows() == 0) {
      // The row exists, so another transaction holds its lock: a grant, renewal or fenced write
      // in progress. Name the holder when the last committed grant is still unexpired.
      ASSIGN_OR_RETURN(PgResult committed,
                       conn.Exec("SELECT owner, token, expires_at_ms FROM snapdelta_leases "
                                 "WHERE tenant = $1 AND table_name = $2",
                                 {tenant, table}));
      ASSIGN_OR_RETURN(const int64_t now, Now(conn));
      RETURN_IF_ERROR(CheckLeaseFree(tenant, table, owner, dead_owner, LeaseRowOf(committed), now));
      return UnavailableError("lease for " + TableName(tenant, table) +
                              " is being claimed by another worker right now (its grant is in "
                              "progress); retry shortly");
    }
    ASSIGN_OR_RETURN(const int64_t now, Now(conn));
    RETURN_IF_ERROR(CheckLeaseFree(tenant, table, owner, dead_owner, LeaseRowOf(locked), now));
    ASSIGN_OR_RETURN(PgResult granted,
                     conn.Exec("UPDATE snapdelta_leases SET owner = $3, token = token + 1, "
                               "expires_at_ms = $4 WHERE tenant = $1 AND table_name = $2 "
                               "RETURNING token",
                               {tenant, table, owner, now + ttl_ms}));
    lease = Lease{tenant, table, owner, granted.Int64(0, 0), now + ttl_ms};
    return Status::OK();
  }));
  return lease;
}

Status PostgresRegistry::RenewLease(Lease* lease, int64_t ttl_ms) {
  if (lease == nullptr) return InvalidArgumentError("RenewLease: no lease given");
  RETURN_IF_ERROR(CheckTtl(ttl_ms));
  int64_t expires_at_ms = 0;
  RETURN_IF_ERROR(session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    ASSIGN_OR_RETURN(std::optional<LeaseRow> row, LockLease(conn, lease->tenant, lease->table));
    ASSIGN_OR_RETURN(const int64_t now, Now(conn));
    RETURN_IF_ERROR(CheckLeaseHeld(*lease, row, now));
    expires_at_ms = now + ttl_ms;
    return conn.Run(
        "UPDATE snapdelta_leases SET expires_at_ms = $1 WHERE tenant = $2 AND table_name = $3 "
        "AND token = $4",
        {expires_at_ms, lease->tenant, lease->table, lease->token});
  }));
  lease->expires_at_ms = expires_at_ms;
  return Status::OK();
}

Status PostgresRegistry::ReleaseLease(const Lease& lease) {
  return session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    RETURN_IF_ERROR(LockLease(conn, lease.tenant, lease.table).status());
    ASSIGN_OR_RETURN(const int64_t now, Now(conn));
    // A stale token matches no row: the current holder is left alone.
    return conn.Run(
        "UPDATE snapdelta_leases SET expires_at_ms = LEAST(expires_at_ms, $1) WHERE tenant = $2 "
        "AND table_name = $3 AND token = $4",
        {now, lease.tenant, lease.table, lease.token});
  });
}

Status PostgresRegistry::CommitImport(const Lease& lease, int64_t import_id,
                                      const ImportCounts& counts, const std::string& note,
                                      const TableState& state) {
  const std::string what = "commit import " + std::to_string(import_id);
  RETURN_IF_ERROR(CheckCommitState(import_id, lease, state));
  return session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    ASSIGN_OR_RETURN(std::optional<LeaseRow> row, LockLease(conn, lease.tenant, lease.table));
    ASSIGN_OR_RETURN(const int64_t now, Now(conn));
    RETURN_IF_ERROR(CheckLeaseHeld(lease, row, now).WithContext(what));
    ASSIGN_OR_RETURN(ImportHead head, LoadPendingImport(conn, import_id, "committed"));
    RETURN_IF_ERROR(CheckCommitImport(import_id, head, lease));
    RETURN_IF_ERROR(
        conn.Run("UPDATE snapdelta_imports SET state = 'committed', reason = '', row_count = $1, "
                 "inserts = $2, updates = $3, deletes = $4, note = $5, finished_at_ms = $6, "
                 "fencing_token = $7 WHERE id = $8",
                 {Stored(counts.rows), Stored(counts.inserts), Stored(counts.updates),
                  Stored(counts.deletes), note, now, lease.token, import_id}));
    return conn.Run(
        "INSERT INTO snapdelta_tables (tenant, table_name, version, import_id, state_file) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, table_name) DO UPDATE SET version = "
        "excluded.version, import_id = excluded.import_id, state_file = excluded.state_file",
        {lease.tenant, lease.table, state.version, import_id, state.state_file});
  });
}

Status PostgresRegistry::RewindTable(const Lease& lease, const TableState& target,
                                     const std::vector<int64_t>& undone) {
  const std::string what = RewindContext(target);
  RETURN_IF_ERROR(CheckRewindTarget(lease, target));
  return session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    ASSIGN_OR_RETURN(std::optional<LeaseRow> row, LockLease(conn, lease.tenant, lease.table));
    ASSIGN_OR_RETURN(const int64_t now, Now(conn));
    RETURN_IF_ERROR(CheckLeaseHeld(lease, row, now).WithContext(what));
    RETURN_IF_ERROR(conn.Run(
        "UPDATE snapdelta_tables SET version = $1, import_id = $2, state_file = $3 WHERE "
        "tenant = $4 AND table_name = $5",
        {target.version, target.import_id, target.state_file, target.tenant, target.table}));
    for (int64_t import_id : undone) {
      RETURN_IF_ERROR(
          conn.Run("UPDATE snapdelta_imports SET state = 'rewound', reason = $1 WHERE id = $2 AND "
                   "state = 'committed'",
                   {RewoundReason(target), import_id}));
    }
    return Status::OK();
  });
}

Status PostgresRegistry::MarkPublished(const Lease& lease, int64_t import_id, uint64_t seq) {
  const std::string what = PublishContext(import_id, seq);
  return session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    ASSIGN_OR_RETURN(std::optional<LeaseRow> row, LockLease(conn, lease.tenant, lease.table));
    ASSIGN_OR_RETURN(const int64_t now, Now(conn));
    RETURN_IF_ERROR(CheckLeaseHeld(lease, row, now).WithContext(what));
    ASSIGN_OR_RETURN(PgResult load,
                     conn.Exec("SELECT tenant, table_name, state, inserts + updates + deletes, "
                               "published_seq FROM snapdelta_imports WHERE id = $1 FOR UPDATE",
                               {import_id}));
    std::optional<ImportHead> head;
    uint64_t events = 0;
    uint64_t published = 0;
    if (load.rows() > 0) {
      head = ImportHead{load.Text(0, 0), load.Text(0, 1), "", "", load.Text(0, 2)};
      events = static_cast<uint64_t>(load.Int64(0, 3));
      published = static_cast<uint64_t>(load.Int64(0, 4));
    }
    RETURN_IF_ERROR(CheckPublishable(import_id, seq, lease, head, events));
    if (seq <= published) return Status::OK();
    return conn.Run(
        "UPDATE snapdelta_imports SET published_seq = $1, published_at_ms = $2 WHERE id = $3",
        {Stored(seq), seq == events ? now : int64_t{0}, import_id});
  });
}

}  // namespace snapdelta
