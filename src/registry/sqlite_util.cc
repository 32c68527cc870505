#include "registry/sqlite_util.h"

#include <cstring>
#include <utility>

namespace snapdelta {
namespace {

// Longest SQL prefix quoted in an error message.
constexpr size_t kMaxQuotedSql = 60;

StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {  // the primary code of an extended result code
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StatusCode::kUnavailable;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return StatusCode::kCorruption;
    case SQLITE_FULL:
      return StatusCode::kResourceExhausted;
    default:
      return StatusCode::kIOError;
  }
}

// `sql` shortened for an error message.
std::string QuoteSql(std::string_view sql) {
  std::string out = "'";
  out += sql.substr(0, kMaxQuotedSql);
  if (sql.size() > kMaxQuotedSql) out += "...";
  out += "'";
  return out;
}

}  // namespace

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  // The operating system's reason names the root cause ("disk I/O error" alone does not).
  const int system_errno = db != nullptr ? sqlite3_system_errno(db) : 0;
  if (system_errno != 0 && (rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
    msg += " (";
    msg += std::strerror(system_errno);
    msg += ")";
  }
  return Status(CodeFor(rc), std::move(msg));
}

Status SqliteExec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  sqlite3_free(error);  // sqlite3_errmsg() still holds the same text
  if (rc != SQLITE_OK) return SqliteError(db, rc, "sqlite exec " + QuoteSql(sql));
  return Status::OK();
}

StatusOr<Statement> Statement::Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db, rc, "sqlite prepare " + QuoteSql(sql));
  }
  return Statement(db, stmt);
}

void Statement::RecordBindError(int rc) {
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = SqliteError(db_, rc, "sqlite bind in " + Describe());
  }
}

Statement& Statement::BindInt64(int param_idx, int64_t value) {
  RecordBindError(sqlite3_bind_int64(stmt_.get(), param_idx, value));
  return *this;
}

Statement& Statement::BindText(int param_idx, std::string_view value) {
  RecordBindError(sqlite3_bind_text64(stmt_.get(), param_idx, value.data(), value.size(),
                                      SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

StatusOr<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "sqlite step " + Describe());
}

Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, Step());
    if (!has_row) return Status::OK();
  }
}

int64_t Statement::ColumnInt64(int column_idx) const {
  return sqlite3_column_int64(stmt_.get(), column_idx);
}

std::string Statement::ColumnText(int column_idx) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column_idx);
  if (text == nullptr) return std::string();
  int size = sqlite3_column_bytes(stmt_.get(), column_idx);
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

std::string Statement::Describe() const { return QuoteSql(sqlite3_sql(stmt_.get())); }

Transaction::~Transaction() {
  // A failed COMMIT may leave the transaction open; a failed statement may already have rolled
  // it back, which get_autocommit reports.
  if (open_ && sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Status Transaction::BeginImmediate() {
  RETURN_IF_ERROR(SqliteExec(db_, "BEGIN IMMEDIATE"));
  open_ = true;
  return Status::OK();
}

Status Transaction::Commit() {
  RETURN_IF_ERROR(SqliteExec(db_, "COMMIT"));
  open_ = false;
  return Status::OK();
}

}  // namespace snapdelta
