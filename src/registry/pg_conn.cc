// PgConn, PgResult, PgTarget and PgSession: see pg_conn.h.
#include "registry/pg_conn.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <utility>

namespace snapdelta {
namespace {

// Longest SQL prefix quoted in an error message.
constexpr size_t kMaxQuotedSql = 60;

// `text` on one line: runs of whitespace (libpq's messages end in newlines and indent their
// hints) become one space.
std::string OneLine(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// `sql` shortened for an error message.
std::string QuoteSql(std::string_view sql) {
  const std::string line = OneLine(sql);
  std::string out = "'" + line.substr(0, kMaxQuotedSql);
  if (line.size() > kMaxQuotedSql) out += "...";
  return out + "'";
}

// The password of a URL as written in it (percent-encoded or not): from the user info
// ("user:password@") and from "password=" query parameters. Found by hand, because a URL libpq
// cannot parse may still be quoted in its error message.
std::vector<std::string> RawPasswords(const std::string& url) {
  std::vector<std::string> found;
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return found;
  const size_t authority = scheme + 3;
  const size_t authority_end = std::min(url.find_first_of("/?#", authority), url.size());
  const size_t at = url.rfind('@', authority_end - 1);
  if (at != std::string::npos && at >= authority) {
    const size_t colon = url.find(':', authority);
    if (colon < at) found.push_back(url.substr(colon + 1, at - colon - 1));
  }
  size_t pos = url.find('?');
  while (pos != std::string::npos) {
    ++pos;
    const size_t end = std::min(url.find('&', pos), url.size());
    constexpr std::string_view kKey = "password=";
    if (url.compare(pos, kKey.size(), kKey) == 0) {
      found.push_back(url.substr(pos + kKey.size(), end - pos - kKey.size()));
    }
    pos = end < url.size() ? end : std::string::npos;
  }
  return found;
}

std::string EnvOr(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

bool IsConflict(const std::string& sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01";  // serialization failure, deadlock
}

}  // namespace

std::string PgResult::Text(int row, int col) const {
  return std::string(PQgetvalue(result_.get(), row, col),
                     static_cast<size_t>(PQgetlength(result_.get(), row, col)));
}

int64_t PgResult::Int64(int row, int col) const {
  const char* text = PQgetvalue(result_.get(), row, col);
  const char* end = text + PQgetlength(result_.get(), row, col);
  int64_t value = 0;
  std::from_chars(text, end, value);
  return value;
}

bool PgResult::Bool(int row, int col) const {
  const char* text = PQgetvalue(result_.get(), row, col);
  return text[0] == 't';
}

StatusOr<PgTarget> PgTarget::Parse(const std::string& url) {
  PgTarget target;
  target.url_ = url;
  target.secrets_ = RawPasswords(url);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? OneLine(error) : "out of memory";
    PQfreemem(error);
    return InvalidArgumentError("invalid PostgreSQL URL: " + target.Scrub(message));
  }
  std::string host, hostaddr, port, dbname, user;
  for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr || *option->val == '\0') continue;
    const std::string_view keyword = option->keyword;
    if (keyword == "password") target.secrets_.push_back(option->val);
    if (keyword == "host") host = option->val;
    if (keyword == "hostaddr") hostaddr = option->val;
    if (keyword == "port") port = option->val;
    if (keyword == "dbname") dbname = option->val;
    if (keyword == "user") user = option->val;
  }
  PQconninfoFree(options);
  if (host.empty()) host = !hostaddr.empty() ? hostaddr : EnvOr("PGHOST", "localhost");
  if (port.empty()) port = EnvOr("PGPORT", "5432");
  if (dbname.empty()) dbname = EnvOr("PGDATABASE", user);
  target.where_ = host + ":" + port + (dbname.empty() ? "" : "/" + dbname);
  // Longest first, so a password containing another form of itself is replaced whole.
  std::sort(target.secrets_.begin(), target.secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return target;
}

std::string PgTarget::Scrub(std::string message) const {
  for (const std::string& secret : secrets_) {
    if (secret.empty()) continue;
    for (size_t pos = message.find(secret); pos != std::string::npos;
         pos = message.find(secret, pos + 3)) {
      message.replace(pos, secret.size(), "***");
    }
  }
  return message;
}

StatusOr<std::unique_ptr<PgConn>> PgConn::Connect(const PgTarget& target) {
  // Defaults, listed before the URL (the expanded "dbname") so that settings in the URL win:
  // give up on an unreachable host after 10 s rather than the OS's minutes, and notice a server
  // that vanished mid-statement through TCP keepalives.
  const char* const keywords[] = {
      "connect_timeout",  "keepalives",       "keepalives_idle", "keepalives_interval",
      "keepalives_count", "application_name", "dbname",          nullptr};
  const char* const values[] = {"10",   "1", "30", "10", "3", "snapdelta", target.url().c_str(),
                                nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return UnavailableError("cannot connect to the PostgreSQL registry at " + target.where() +
                            ": out of memory");
  }
  // What libpq actually tried (a URL without host or port means a default).
  std::string where = target.where();
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  const char* db = PQdb(conn);
  if (host != nullptr && *host != '\0' && port != nullptr && *port != '\0') {
    where = std::string(host) + ":" + port + (db != nullptr && *db ? "/" + std::string(db) : "");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string message = target.Scrub(OneLine(PQerrorMessage(conn)));
    PQfinish(conn);
    return UnavailableError("cannot connect to the PostgreSQL registry at " + where + ": " +
                            message);
  }
  std::unique_ptr<PgConn> pg(new PgConn(conn, target, std::move(where)));
  // A row lock held by a stalled worker makes others wait this long, then kUnavailable (as the
  // SQLite registry's busy timeout does).
  RETURN_IF_ERROR(pg->Run("SET lock_timeout = '10s'"));
  // A worker stopped inside a transaction (SIGSTOP, a frozen VM: even its lease keeper, in the
  // middle of a renewal) would hold its row locks, the table's lease row among them, for as
  // long as it stays stopped. The server ends such a session after 5 s, freeing the locks; our
  // transactions last milliseconds, and a worker that wakes reconnects.
  RETURN_IF_ERROR(pg->Run("SET idle_in_transaction_session_timeout = '5s'"));
  return pg;
}

PgConn::~PgConn() { PQfinish(conn_); }

bool PgConn::broken() const { return lost_ || PQstatus(conn_) != CONNECTION_OK; }

StatusOr<PgResult> PgConn::Exec(const char* sql, std::initializer_list<PgParam> params) {
  sqlstate_.clear();
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const PgParam& param : params) values.push_back(param.data());
  PGresult* raw = PQexecParams(conn_, sql, static_cast<int>(values.size()), /*paramTypes=*/nullptr,
                               values.empty() ? nullptr : values.data(), /*paramLengths=*/nullptr,
                               /*paramFormats=*/nullptr, /*resultFormat=*/0);
  const ExecStatusType status = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return PgResult(raw);
  Status error = ErrorFor(raw, sql);
  PQclear(raw);
  return error;
}

Status PgConn::Run(const char* sql, std::initializer_list<PgParam> params) {
  return Exec(sql, params).status();
}

Status PgConn::ErrorFor(const PGresult* result, const char* sql) {
  const char* sqlstate = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  sqlstate_ = sqlstate != nullptr ? sqlstate : "";
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = OneLine(primary != nullptr ? primary : PQerrorMessage(conn_));
  if (message.empty()) message = "no error message";
  if (!sqlstate_.empty()) message += " (SQLSTATE " + sqlstate_ + ")";
  message = target_.Scrub(std::move(message));
  // Class 08 (connection exception) and the server shutting the session down: the connection
  // is gone even if libpq has not noticed yet.
  if (sqlstate_.starts_with("08") || sqlstate_ == "57P01" || sqlstate_ == "57P02" ||
      sqlstate_ == "57P03") {
    lost_ = true;
  }
  StatusCode code = StatusCode::kIOError;
  if (broken()) {
    code = StatusCode::kUnavailable;
    message = "connection to the PostgreSQL registry at " + where_ + " lost: " + message;
  } else if (IsConflict(sqlstate_) || sqlstate_ == "55P03" || sqlstate_ == "57014") {
    code = StatusCode::kUnavailable;  // deadlock, serialization, lock or statement timeout
  } else if (sqlstate_.starts_with("53")) {
    code = StatusCode::kResourceExhausted;  // disk full, out of memory, too many connections
  } else if (sqlstate_.starts_with("22")) {
    code = StatusCode::kInvalidArgument;  // a value the column cannot hold
  }
  return Status(code, "postgres " + QuoteSql(sql) + ": " + message);
}

StatusOr<std::unique_ptr<PgSession>> PgSession::Open(const std::string& url, PgRetryPolicy policy) {
  ASSIGN_OR_RETURN(PgTarget target, PgTarget::Parse(url));
  ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(target));
  return std::unique_ptr<PgSession>(new PgSession(std::move(target), policy, std::move(conn)));
}

std::string PgSession::where() {
  std::lock_guard<std::mutex> lock(mu_);
  return conn_ != nullptr ? conn_->where() : target_.where();
}

Status PgSession::Transact(PgTxn kind, const std::function<Status(PgConn&)>& body) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto start = std::chrono::steady_clock::now();
  int64_t backoff_ms = policy_.first_backoff_ms;
  Status last;
  for (int attempts = 1;; ++attempts) {
    // A connection left inside a transaction (a failed ROLLBACK) is not reused either.
    if (conn_ != nullptr && (conn_->broken() || !conn_->idle())) conn_.reset();
    if (conn_ == nullptr) {
      StatusOr<std::unique_ptr<PgConn>> conn = PgConn::Connect(target_);
      if (conn.ok()) {
        conn_ = std::move(conn).value();
      } else {
        last = conn.status();
      }
    }
    if (conn_ != nullptr) {
      Status status;
      if (Attempt(kind, body, &status) == Outcome::kDone) return status;
      last = status;
    }
    const int64_t elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count();
    if (elapsed_ms >= policy_.budget_ms) {
      return UnavailableError("the PostgreSQL registry at " + target_.where() +
                              " is unavailable: gave up after " + std::to_string(elapsed_ms) +
                              " ms and " + std::to_string(attempts) +
                              " attempts; last error: " + last.message());
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min(backoff_ms, policy_.budget_ms - elapsed_ms)));
    backoff_ms = std::min(backoff_ms * 2, policy_.max_backoff_ms);
  }
}

PgSession::Outcome PgSession::Attempt(PgTxn kind, const std::function<Status(PgConn&)>& body,
                                      Status* status) {
  PgConn& conn = *conn_;
  const char* begin = kind == PgTxn::kWrite      ? "BEGIN"
                      : kind == PgTxn::kSnapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                                 : nullptr;
  Status result = begin != nullptr ? conn.Run(begin) : Status::OK();
  if (result.ok()) result = body(conn);
  if (result.ok() && begin != nullptr) {
    result = conn.Run("COMMIT");
    if (!result.ok() && conn.broken() && kind == PgTxn::kWrite) {
      // The server may have committed before the connection went: running it again could do
      // it twice, and reporting a failure could hide that it happened.
      *status = UnavailableError("the connection to the PostgreSQL registry at " + conn.where() +
                                 " was lost while committing; the outcome is unknown (the "
                                 "change may or may not have been made): " +
                                 result.message());
      return Outcome::kDone;
    }
  }
  *status = result;
  if (result.ok()) return Outcome::kDone;
  // Lost before COMMIT was sent (or a read-only transaction): nothing took effect.
  if (conn.broken()) return Outcome::kRetry;
  const bool conflict = IsConflict(conn.sqlstate());
  if (!conn.idle() && (!conn.Run("ROLLBACK").ok() || !conn.idle())) {
    conn_.reset();  // `conn` is gone from here on
  }
  return conflict ? Outcome::kRetry : Outcome::kDone;
}

}  // namespace snapdelta
