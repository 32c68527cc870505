// OpenSqliteRegistry: opens the file, recognizes it, and creates the schema on first use.
//
// A file is accepted when it is empty (a new registry) or holds our meta table with a known
// schema version. A file that is not SQLite, or a SQLite database with other tables and no meta
// table, is refused with kCorruption before anything is written to it.
#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "base/fs.h"
#include "registry/sqlite_registry.h"

namespace snapdelta {
namespace {

constexpr char kCreateSchema[] = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE imports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  table_name TEXT NOT NULL,
  version TEXT NOT NULL,
  file TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ms INTEGER NOT NULL,
  checksum TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  note TEXT NOT NULL,
  row_count INTEGER NOT NULL,
  inserts INTEGER NOT NULL,
  updates INTEGER NOT NULL,
  deletes INTEGER NOT NULL,
  discovered_at_ms INTEGER NOT NULL,
  started_at_ms INTEGER NOT NULL,
  finished_at_ms INTEGER NOT NULL,
  fencing_token INTEGER NOT NULL,
  failure TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  crashes INTEGER NOT NULL DEFAULT 0,
  retry_at_ms INTEGER NOT NULL DEFAULT 0,
  released INTEGER NOT NULL DEFAULT 0,
  published_seq INTEGER NOT NULL DEFAULT 0,
  published_at_ms INTEGER NOT NULL DEFAULT 0);
CREATE INDEX imports_unpublished ON imports (tenant, table_name, version, id)
  WHERE state = 'committed' AND published_seq < inserts + updates + deletes;
CREATE INDEX imports_by_path ON imports (tenant, table_name, version, file, id);
CREATE INDEX imports_pending ON imports (tenant, table_name, version, id)
  WHERE state IN ('discovered', 'running');
CREATE TABLE tables (
  tenant TEXT NOT NULL,
  table_name TEXT NOT NULL,
  version TEXT NOT NULL,
  import_id INTEGER NOT NULL,
  state_file TEXT NOT NULL,
  PRIMARY KEY (tenant, table_name)) WITHOUT ROWID;
CREATE TABLE leases (
  tenant TEXT NOT NULL,
  table_name TEXT NOT NULL,
  owner TEXT NOT NULL,
  token INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, table_name)) WITHOUT ROWID;
)sql";

// Schema version 1 -> 2: failures are classified and retried (failure kind, attempts, crashes,
// next retry). Failures recorded before are content failures, as they were treated.
constexpr char kMigrateTo2[] = R"sql(
ALTER TABLE imports ADD COLUMN failure TEXT NOT NULL DEFAULT '';
ALTER TABLE imports ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN retry_at_ms INTEGER NOT NULL DEFAULT 0;
UPDATE imports SET failure = 'content' WHERE state = 'failed';
UPDATE meta SET value = '2' WHERE key = 'schema_version';
)sql";

// Schema version 2 -> 3: whether a held import was released by hand is recorded as data (it was
// only said in the note).
constexpr char kMigrateTo3[] = R"sql(
ALTER TABLE imports ADD COLUMN released INTEGER NOT NULL DEFAULT 0;
UPDATE imports SET released = 1 WHERE note LIKE '%released by hand%';
UPDATE meta SET value = '3' WHERE key = 'schema_version';
)sql";

// Schema version 3 -> 4: how far each import is published to a stream. Imports committed before
// were delivered as change files: they count as published.
constexpr char kMigrateTo4[] = R"sql(
ALTER TABLE imports ADD COLUMN published_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN published_at_ms INTEGER NOT NULL DEFAULT 0;
UPDATE imports SET published_seq = inserts + updates + deletes, published_at_ms = finished_at_ms
  WHERE state IN ('committed', 'rewound');
CREATE INDEX imports_unpublished ON imports (tenant, table_name, version, id)
  WHERE state = 'committed' AND published_seq < inserts + updates + deletes;
UPDATE meta SET value = '4' WHERE key = 'schema_version';
)sql";

// Tables every registry of kRegistrySchemaVersion has.
constexpr const char* kRequiredTables[] = {"meta", "imports", "tables", "leases"};

StatusOr<std::set<std::string>> ListTables(sqlite3* db) {
  ASSIGN_OR_RETURN(Statement stmt,
                   Statement::Prepare(db, "SELECT name FROM sqlite_master WHERE type = 'table'"));
  std::set<std::string> names;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return names;
    names.insert(stmt.ColumnText(0));
  }
}

std::string JoinNames(const std::set<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

StatusOr<std::string> ReadSchemaVersion(sqlite3* db) {
  StatusOr<Statement> stmt =
      Statement::Prepare(db, "SELECT value FROM meta WHERE key = 'schema_version'");
  StatusOr<bool> has_row = stmt.ok() ? stmt->Step() : StatusOr<bool>(stmt.status());
  if (!has_row.ok() || !*has_row) {
    return CorruptionError(
        "the file has a meta table without a schema_version; it is not a snapdelta registry");
  }
  return stmt->ColumnText(0);
}

// Checks the schema version; with `migrate` (inside a write transaction), brings an older known
// one up to kRegistrySchemaVersion.
Status CheckSchemaVersion(sqlite3* db, bool migrate) {
  ASSIGN_OR_RETURN(const std::string version, ReadSchemaVersion(db));
  // Older versions, each migrated to the next in turn.
  const std::string_view known[] = {"1", "2", "3"};
  const char* const migrations[] = {kMigrateTo2, kMigrateTo3, kMigrateTo4};
  const auto older = std::find(std::begin(known), std::end(known), version);
  if (older != std::end(known)) {
    if (!migrate) return Status::OK();
    for (size_t i = older - std::begin(known); i < std::size(migrations); ++i) {
      RETURN_IF_ERROR(SqliteExec(db, migrations[i]));
    }
    return Status::OK();
  }
  if (version != std::to_string(kRegistrySchemaVersion)) {
    return CorruptionError("the file has registry schema version " + version +
                           ", this snapdelta reads " + std::to_string(kRegistrySchemaVersion) +
                           "; use the snapdelta release that wrote it");
  }
  return Status::OK();
}

Status CreateSchema(sqlite3* db) {
  RETURN_IF_ERROR(SqliteExec(db, kCreateSchema));
  ASSIGN_OR_RETURN(Statement stmt, Statement::Prepare(db,
                                                      "INSERT INTO meta (key, value) VALUES "
                                                      "('application', 'snapdelta registry'), "
                                                      "('schema_version', ?1)"));
  stmt.BindText(1, std::to_string(kRegistrySchemaVersion));
  return stmt.Run();
}

// Recognizes the file; `create` makes the schema in an empty one and migrates an older one.
// REQUIRES: when `create`, an open write transaction, so two openers cannot both create.
Status RecognizeRegistry(sqlite3* db, bool create) {
  StatusOr<std::set<std::string>> listed = ListTables(db);
  if (listed.status().code() == StatusCode::kCorruption) {
    return CorruptionError("the file is not a readable SQLite database (" +
                           listed.status().message() + "); choose another registry path");
  }
  if (!listed.ok()) return listed.status();
  const std::set<std::string>& tables = *listed;
  if (tables.empty()) return create ? CreateSchema(db) : Status::OK();
  if (!tables.contains("meta")) {
    return CorruptionError(
        "the file is a SQLite database but not a snapdelta registry (it has tables " +
        JoinNames(tables) + " and no meta table); choose another registry path");
  }
  RETURN_IF_ERROR(CheckSchemaVersion(db, create));
  for (const char* required : kRequiredTables) {
    if (!tables.contains(required)) {
      return CorruptionError(std::string("the registry has no ") + required +
                             " table; restore the file from a backup");
    }
  }
  return Status::OK();
}

Status ExpectPragma(sqlite3* db, const char* sql, std::string_view expected) {
  ASSIGN_OR_RETURN(Statement stmt, Statement::Prepare(db, sql));
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  std::string value = has_row ? stmt.ColumnText(0) : "";
  if (value != expected) {
    return IOError(std::string(sql) + " returned '" + value + "', expected '" +
                   std::string(expected) + "'; is the file on a network filesystem?");
  }
  return stmt.Run();
}

// Switching a new file to WAL takes an exclusive lock without calling the busy handler when
// other connections are opening it at the same moment, so the switch retries by itself.
Status EnableWal(sqlite3* db) {
  constexpr int kRetrySleepMs = 5;  // short: contention lasts as long as another open
  Status status;
  for (int waited_ms = 0; waited_ms < kBusyTimeoutMs; waited_ms += kRetrySleepMs) {
    status = ExpectPragma(db, "PRAGMA journal_mode = WAL", "wal");
    if (status.code() != StatusCode::kUnavailable) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(kRetrySleepMs));
  }
  return status;
}

Status SetUpConnection(sqlite3* db) {
  sqlite3_extended_result_codes(db, 1);
  int rc = sqlite3_busy_timeout(db, kBusyTimeoutMs);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "sqlite busy_timeout");
  // Refuse foreign files before the journal-mode switch writes to them.
  RETURN_IF_ERROR(RecognizeRegistry(db, /*create=*/false));
  RETURN_IF_ERROR(EnableWal(db));
  // FULL: a commit survives a power loss, which the lease and state bookkeeping rely on.
  RETURN_IF_ERROR(SqliteExec(db, "PRAGMA synchronous = FULL"));
  Transaction txn(db);
  RETURN_IF_ERROR(txn.BeginImmediate());
  RETURN_IF_ERROR(RecognizeRegistry(db, /*create=*/true));
  return txn.Commit();
}

}  // namespace

StatusOr<std::unique_ptr<Registry>> OpenSqliteRegistry(const std::string& path, Clock clock) {
  if (!clock) return InvalidArgumentError("registry " + path + ": no clock given");
  sqlite3* raw_db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw_db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDb db(raw_db);  // sqlite3_open_v2 returns a handle to close even when it fails
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, "cannot open registry " + path);
  RETURN_IF_ERROR(SetUpConnection(db.get()).WithContext("registry " + path));
  return std::unique_ptr<Registry>(
      std::make_unique<SqliteRegistry>(std::move(db), std::move(clock)));
}

StatusOr<std::unique_ptr<Registry>> OpenSqliteRegistryCopy(const std::string& path,
                                                           const RegistrySnapshot& snapshot,
                                                           Clock clock) {
  if (PathExists(path)) return InvalidArgumentError("registry copy " + path + " exists already");
  ASSIGN_OR_RETURN(std::unique_ptr<Registry> registry, OpenSqliteRegistry(path, std::move(clock)));
  RETURN_IF_ERROR(static_cast<SqliteRegistry*>(registry.get())->Load(snapshot));
  return registry;
}

namespace {

// "file:" URI of `path` with `query`, percent-encoding what a URI path cannot hold.
std::string FileUri(const std::string& path, const char* query) {
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    } else {
      uri += static_cast<char>(c);
    }
  }
  return uri + "?" + query;
}

StatusOr<SqliteDb> OpenReadOnly(const std::string& path, const char* query) {
  sqlite3* raw_db = nullptr;
  int rc = sqlite3_open_v2(FileUri(path, query).c_str(), &raw_db,
                           SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDb db(raw_db);
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, "cannot open registry " + path);
  sqlite3_extended_result_codes(db.get(), 1);
  rc = sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, "sqlite busy_timeout");
  RETURN_IF_ERROR(RecognizeRegistry(db.get(), /*create=*/false));
  ASSIGN_OR_RETURN(const std::string version, ReadSchemaVersion(db.get()));
  if (version != std::to_string(kRegistrySchemaVersion)) {
    return CorruptionError("registry schema version " + version + " is older than this " +
                           "snapdelta's; a `snapdelta run` on a writable home migrates it");
  }
  return db;
}

}  // namespace

StatusOr<std::unique_ptr<Registry>> OpenSqliteRegistryReadOnly(const std::string& path,
                                                               Clock clock) {
  if (!clock) return InvalidArgumentError("registry " + path + ": no clock given");
  // A WAL database needs its shared-memory file; on a read-only file system that cannot be
  // created, the file is read as immutable (no other writer can change it there anyway).
  StatusOr<SqliteDb> db = OpenReadOnly(path, "mode=ro");
  if (!db.ok()) db = OpenReadOnly(path, "immutable=1");
  if (!db.ok()) return db.status().WithContext("registry " + path);
  return std::unique_ptr<Registry>(
      std::make_unique<SqliteRegistry>(std::move(db).value(), std::move(clock)));
}

}  // namespace snapdelta
