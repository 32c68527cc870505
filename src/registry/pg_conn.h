// A small libpq wrapper for the PostgreSQL registry.
//
// PgConn is one connection: parameterised statements (PQexecParams, every value a parameter sent
// as text, never spliced into SQL) whose rows come back as text (PgResult). PgSession owns the
// connection of one registry and runs transactions on it (Transact): it re-establishes a lost
// connection with backoff and re-runs a transaction that cannot have taken effect, i.e. lost
// before its COMMIT was sent, or refused by a deadlock or serialization failure. A connection
// lost while COMMIT is in flight leaves the outcome unknown: kUnavailable says so.
//
// Error codes: a lost or unreachable server, a lock timeout, a deadlock or serialization failure
// kUnavailable; class 53 (disk full, out of memory) kResourceExhausted; class 22 (a value the
// column cannot hold, e.g. text that is not UTF-8) kInvalidArgument; anything else kIOError.
// Messages name the server as host:port and never contain the password of the URL.
//
// Thread safety: PgConn none (one thread at a time). PgSession: Transact may be called from any
// thread; calls are serialized on the one connection.
#ifndef SNAPDELTA_REGISTRY_PG_CONN_H_
#define SNAPDELTA_REGISTRY_PG_CONN_H_

#include <libpq-fe.h>

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "snapdelta/status.h"

namespace snapdelta {

// One statement parameter, sent as text; Null() is SQL NULL. Unsigned numbers are not accepted:
// callers decide how a uint64 maps onto BIGINT (the registry stores its bits, as SQLite does).
class PgParam {
 public:
  PgParam(std::string_view text) : value_(std::string(text)) {}  // NOLINT: implicit by design
  PgParam(const std::string& text) : value_(text) {}             // NOLINT
  PgParam(const char* text) : value_(std::string(text)) {}       // NOLINT
  template <std::signed_integral T>
  PgParam(T number) : value_(std::to_string(number)) {}    // NOLINT
  PgParam(bool flag) : value_(flag ? "true" : "false") {}  // NOLINT
  static PgParam Null() { return PgParam(); }

  // The text for PQexecParams; null for NULL.
  const char* data() const { return value_ ? value_->c_str() : nullptr; }

 private:
  PgParam() = default;
  std::optional<std::string> value_;
};

// The rows of a statement, every value as text. Row and column indexes are 0-based.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}

  int rows() const { return PQntuples(result_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  std::string Text(int row, int col) const;
  // 0 for NULL. REQUIRES: the column is an integer.
  int64_t Int64(int row, int col) const;
  // REQUIRES: the column is a boolean.
  bool Bool(int row, int col) const;

 private:
  struct Clear {
    void operator()(PGresult* result) const { PQclear(result); }
  };
  std::unique_ptr<PGresult, Clear> result_;
};

// Where a registry's database is, for messages and reconnecting.
class PgTarget {
 public:
  // kInvalidArgument when libpq cannot parse `url` (the message without the password).
  static StatusOr<PgTarget> Parse(const std::string& url);

  const std::string& url() const { return url_; }  // holds the password: never in a message
  // "host:port/dbname" as the URL (and PG* variables) name them.
  const std::string& where() const { return where_; }
  // `message` with every form of the URL's password replaced by "***".
  std::string Scrub(std::string message) const;

 private:
  std::string url_;
  std::string where_;
  std::vector<std::string> secrets_;  // the password as written in the URL and decoded
};

class PgConn {
 public:
  // Connects and prepares the session (lock_timeout). kUnavailable naming host and port when
  // the server cannot be reached or refuses the connection.
  static StatusOr<std::unique_ptr<PgConn>> Connect(const PgTarget& target);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs one statement; `sql` refers to parameters as $1, $2, ...
  StatusOr<PgResult> Exec(const char* sql, std::initializer_list<PgParam> params = {});
  // Runs one statement whose rows (if any) are not wanted.
  Status Run(const char* sql, std::initializer_list<PgParam> params = {});

  // "host:port/dbname" of the server connected to.
  const std::string& where() const { return where_; }
  // True once the connection is gone (the server closed it, or said it is closing it).
  bool broken() const;
  // True when no transaction is open.
  bool idle() const { return PQtransactionStatus(conn_) == PQTRANS_IDLE; }
  // SQLSTATE of the last statement when it failed; empty after a success.
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  PgConn(PGconn* conn, PgTarget target, std::string where)
      : conn_(conn), target_(std::move(target)), where_(std::move(where)) {}
  Status ErrorFor(const PGresult* result, const char* sql);

  PGconn* conn_;
  const PgTarget target_;  // to scrub the password from server messages
  const std::string where_;
  std::string sqlstate_;
  bool lost_ = false;  // the server said the session is closing (class 08, 57P01..57P03)
};

// How long a call keeps trying to reach a server that is gone: sleeps of `first_backoff_ms`,
// doubling up to `max_backoff_ms`, until `budget_ms` have passed since its first failure.
struct PgRetryPolicy {
  int64_t first_backoff_ms = 50;
  int64_t max_backoff_ms = 2'000;
  int64_t budget_ms = 30'000;
};

enum class PgTxn {
  kAutocommit,  // no explicit transaction: reads, and single idempotent statements
  kWrite,       // BEGIN (read committed); the body locks what it checks (FOR UPDATE)
  kSnapshot,    // BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY: several reads, one state
};

class PgSession {
 public:
  // Connects to `url` once: kUnavailable (host and port named) when the server is unreachable.
  static StatusOr<std::unique_ptr<PgSession>> Open(const std::string& url, PgRetryPolicy policy);

  // Runs `body` in a transaction of `kind` and commits it. `body` may run more than once (after
  // a lost connection, a deadlock or a serialization failure), so it must set its results
  // afresh each time. A body's own error rolls back and is returned as it is.
  Status Transact(PgTxn kind, const std::function<Status(PgConn&)>& body);

  // "host:port/dbname", for messages.
  std::string where();

 private:
  enum class Outcome { kDone, kRetry };

  PgSession(PgTarget target, PgRetryPolicy policy, std::unique_ptr<PgConn> conn)
      : target_(std::move(target)), policy_(policy), conn_(std::move(conn)) {}
  // One attempt on conn_; kRetry when it cannot have taken effect and may be run again.
  Outcome Attempt(PgTxn kind, const std::function<Status(PgConn&)>& body, Status* status);

  std::mutex mu_;
  const PgTarget target_;
  const PgRetryPolicy policy_;
  std::unique_ptr<PgConn> conn_;  // guarded by mu_; null or broken: reconnected by Transact
};

}  // namespace snapdelta

#endif  // SNAPDELTA_REGISTRY_PG_CONN_H_
