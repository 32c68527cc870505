// Thin RAII wrappers over the sqlite3 C API, turning result codes into Status.
//
// SqliteDb owns a connection, Statement a prepared statement, Transaction an open transaction
// (rolled back on destruction unless committed). Error codes map to Status codes as follows:
//   SQLITE_BUSY, SQLITE_LOCKED        kUnavailable (another connection holds the lock; retry)
//   SQLITE_NOTADB, SQLITE_CORRUPT     kCorruption
//   SQLITE_FULL                       kResourceExhausted
//   anything else                     kIOError
// and every message carries sqlite3_errmsg().
//
// Thread safety: none. A connection and its statements are used by one thread at a time; the
// caller serializes access (SqliteRegistry holds a mutex around every use).
#ifndef SNAPDELTA_REGISTRY_SQLITE_UTIL_H_
#define SNAPDELTA_REGISTRY_SQLITE_UTIL_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "snapdelta/status.h"

namespace snapdelta {

struct SqliteDbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteDbCloser>;

// Status for result code `rc` of an operation on `db`: "<what>: <sqlite3_errmsg(db)>".
Status SqliteError(sqlite3* db, int rc, std::string_view what);

// Runs `sql` (one or more statements, no results wanted).
Status SqliteExec(sqlite3* db, const char* sql);

// A prepared statement. Bind* record the first binding error, which Step() then returns, so a
// call site binds all parameters and checks once. Parameter indexes are 1-based, column indexes
// 0-based, as in sqlite3.
class Statement {
 public:
  // REQUIRES: `db` outlives the statement.
  static StatusOr<Statement> Prepare(sqlite3* db, std::string_view sql);

  Statement(Statement&&) = default;
  Statement& operator=(Statement&&) = default;

  Statement& BindInt64(int param_idx, int64_t value);
  Statement& BindText(int param_idx, std::string_view value);

  // Advances: true when a row is available, false when the statement is done.
  StatusOr<bool> Step();
  // Steps to completion, for statements that return no rows.
  Status Run();

  int64_t ColumnInt64(int column_idx) const;
  std::string ColumnText(int column_idx) const;

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
  };

  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void RecordBindError(int rc);
  std::string Describe() const;  // the SQL text, shortened, for error messages

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  Status bind_status_;
};

// An explicit transaction. BEGIN IMMEDIATE takes SQLite's write lock up front, waiting up to the
// connection's busy timeout, so a read-check-write sequence inside it is atomic across
// connections and processes.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Rolls back when begun and not committed.
  ~Transaction();

  Status BeginImmediate();
  Status Commit();

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_REGISTRY_SQLITE_UTIL_H_
