// OpenPostgresRegistry: connects, recognizes the database, and creates or migrates the schema.
//
// The check and the creation (or migration) run in one transaction under a transaction-level
// advisory lock, so workers opening a fresh database together create the schema once: the
// others wait for the lock, then find it. A database holding a newer schema version than this
// code knows, or snapdelta_ tables without a schema version, is refused with kCorruption before
// anything is written to it.
#include <algorithm>
#include <string>
#include <vector>

#include "registry/postgres_registry.h"

namespace snapdelta {
namespace {

// The key of pg_advisory_xact_lock taken while the schema is checked or changed: "snapdelt" in
// ASCII. Fixed forever, so every snapdelta release serializes with every other.
constexpr int64_t kSchemaLockKey = 0x736e617064656c74;

// Version 1, in statements (PQexecParams runs one at a time).
const char* const kCreateVersion1[] = {
    R"sql(CREATE TABLE snapdelta_schema (
  version BIGINT NOT NULL,
  application TEXT NOT NULL))sql",
    R"sql(CREATE TABLE snapdelta_imports (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant TEXT COLLATE "C" NOT NULL,
  table_name TEXT COLLATE "C" NOT NULL,
  version TEXT COLLATE "C" NOT NULL,
  file TEXT COLLATE "C" NOT NULL,
  size BIGINT NOT NULL,
  mtime_ms BIGINT NOT NULL,
  checksum TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  note TEXT NOT NULL,
  row_count BIGINT NOT NULL,
  inserts BIGINT NOT NULL,
  updates BIGINT NOT NULL,
  deletes BIGINT NOT NULL,
  discovered_at_ms BIGINT NOT NULL,
  started_at_ms BIGINT NOT NULL,
  finished_at_ms BIGINT NOT NULL,
  fencing_token BIGINT NOT NULL,
  failure TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  crashes INTEGER NOT NULL DEFAULT 0,
  retry_at_ms BIGINT NOT NULL DEFAULT 0,
  released BOOLEAN NOT NULL DEFAULT false,
  published_seq BIGINT NOT NULL DEFAULT 0,
  published_at_ms BIGINT NOT NULL DEFAULT 0))sql",
    R"sql(CREATE INDEX snapdelta_imports_unpublished
  ON snapdelta_imports (tenant, table_name, version, id)
  WHERE state = 'committed' AND published_seq < inserts + updates + deletes)sql",
    R"sql(CREATE INDEX snapdelta_imports_by_path
  ON snapdelta_imports (tenant, table_name, version, file, id))sql",
    R"sql(CREATE INDEX snapdelta_imports_pending
  ON snapdelta_imports (tenant, table_name, version, id)
  WHERE state IN ('discovered', 'running'))sql",
    R"sql(CREATE INDEX snapdelta_imports_blocking
  ON snapdelta_imports (tenant, table_name, version, id)
  WHERE state = 'failed' AND failure IN ('environment', 'crash'))sql",
    R"sql(CREATE TABLE snapdelta_tables (
  tenant TEXT COLLATE "C" NOT NULL,
  table_name TEXT COLLATE "C" NOT NULL,
  version TEXT COLLATE "C" NOT NULL,
  import_id BIGINT NOT NULL,
  state_file TEXT NOT NULL,
  PRIMARY KEY (tenant, table_name)))sql",
    R"sql(CREATE TABLE snapdelta_leases (
  tenant TEXT COLLATE "C" NOT NULL,
  table_name TEXT COLLATE "C" NOT NULL,
  owner TEXT NOT NULL,
  token BIGINT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, table_name)))sql",
    "INSERT INTO snapdelta_schema (version, application) VALUES (1, 'snapdelta registry')",
};

// Tables every registry of kPostgresSchemaVersion has; the first holds the version.
constexpr const char* kRequiredTables[] = {"snapdelta_schema", "snapdelta_imports",
                                           "snapdelta_tables", "snapdelta_leases"};

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// Which of kRequiredTables the search path shows.
StatusOr<std::vector<std::string>> ExistingTables(PgConn& conn) {
  std::vector<std::string> existing;
  for (const char* table : kRequiredTables) {
    ASSIGN_OR_RETURN(PgResult found, conn.Exec("SELECT to_regclass($1) IS NOT NULL", {table}));
    if (found.Bool(0, 0)) existing.push_back(table);
  }
  return existing;
}

StatusOr<int64_t> ReadSchemaVersion(PgConn& conn) {
  StatusOr<PgResult> rows = conn.Exec("SELECT version FROM snapdelta_schema");
  if (!rows.ok()) {
    return CorruptionError(
        "the database has a snapdelta_schema table that snapdelta cannot read (" +
        rows.status().message() + "); it is not a snapdelta registry's");
  }
  if (rows->rows() != 1) {
    return CorruptionError("the database's snapdelta_schema table has " +
                           std::to_string(rows->rows()) +
                           " rows instead of one schema version; it is not a snapdelta "
                           "registry's, or it was damaged");
  }
  return rows->Int64(0, 0);
}

// Brings the schema from `version` up to kPostgresSchemaVersion. Version 1 is the first, so no
// migration exists yet: a later version adds its statements here, ending with
// "UPDATE snapdelta_schema SET version = <n>".
Status Migrate([[maybe_unused]] PgConn& conn, int64_t version) {
  if (version == kPostgresSchemaVersion) return Status::OK();
  return CorruptionError("the database has registry schema version " + std::to_string(version) +
                         ", which no snapdelta release wrote");
}

}  // namespace

Status PostgresRegistry::SetUpSchema() {
  return session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    RETURN_IF_ERROR(conn.Run("SELECT pg_advisory_xact_lock($1)", {kSchemaLockKey}));
    ASSIGN_OR_RETURN(std::vector<std::string> existing, ExistingTables(conn));
    int64_t version = 1;
    if (existing.empty()) {
      // A new registry: version 1, then the migrations after it, as an old registry gets them.
      for (const char* statement : kCreateVersion1) RETURN_IF_ERROR(conn.Run(statement));
    } else {
      if (existing.front() != kRequiredTables[0]) {
        return CorruptionError("the database has tables " + JoinNames(existing) +
                               " but no snapdelta_schema table; they are not a snapdelta "
                               "registry's (or it was damaged): choose another database or "
                               "schema");
      }
      ASSIGN_OR_RETURN(version, ReadSchemaVersion(conn));
      if (version > kPostgresSchemaVersion) {
        return CorruptionError("the database has registry schema version " +
                               std::to_string(version) + ", this snapdelta reads " +
                               std::to_string(kPostgresSchemaVersion) +
                               "; use the snapdelta release that wrote it");
      }
    }
    RETURN_IF_ERROR(Migrate(conn, version));
    ASSIGN_OR_RETURN(existing, ExistingTables(conn));
    for (const char* required : kRequiredTables) {
      if (std::find(existing.begin(), existing.end(), required) == existing.end()) {
        return CorruptionError(std::string("the registry has no ") + required +
                               " table; restore the database from a backup");
      }
    }
    return Status::OK();
  });
}

StatusOr<std::unique_ptr<Registry>> OpenPostgresRegistry(const std::string& url, Clock clock,
                                                         const PgRetryPolicy& policy) {
  ASSIGN_OR_RETURN(std::unique_ptr<PgSession> session, PgSession::Open(url, policy));
  const std::string where = session->where();
  auto registry = std::make_unique<PostgresRegistry>(std::move(session), std::move(clock));
  Status schema = registry->SetUpSchema();
  if (schema.message().find(where) == std::string::npos) {  // a lost connection names it already
    schema = schema.WithContext("PostgreSQL registry at " + where);
  }
  RETURN_IF_ERROR(schema);
  return std::unique_ptr<Registry>(std::move(registry));
}

StatusOr<std::unique_ptr<Registry>> OpenPostgresRegistry(const std::string& url, Clock clock) {
  return OpenPostgresRegistry(url, std::move(clock), PgRetryPolicy());
}

}  // namespace snapdelta
