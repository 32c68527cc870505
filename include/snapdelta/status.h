// Status and StatusOr<T>: how every snapdelta operation reports success or failure.
//
// A Status is either OK or carries a code and a human-readable message. Messages about bad input
// name the file, the 1-based line (and column where it applies), what was wrong and how to fix
// it, e.g. "orders.csv.gz:1042: 7 fields, expected 9 (...)". No exception crosses snapdelta's own
// code: exceptions thrown by libraries are caught at their boundary and turned into a Status.
//
// Which code to pick:
//   kInvalidArgument    the caller asked for something impossible: bad flag, bad config value.
//   kNotFound           a named thing (file, table, import) does not exist.
//   kCorruption         an input or a stored file is malformed: bad CSV, bad compression, a
//                       state file whose checksum does not match. Not retryable.
//   kIOError            the operating system refused a read or write. Maybe retryable.
//   kAborted            the work lost its right to continue: lease lost, fencing token stale.
//                       Do not retry the same step; start over from the registry.
//   kUnavailable        a resource is busy right now (lease held by another worker, database
//                       locked). Retry later.
//   kResourceExhausted  a limit was hit (memory budget, disk full).
//
// Thread safety: Status and StatusOr are values; distinct objects may be used from distinct
// threads without synchronization.
#ifndef SNAPDELTA_STATUS_H_
#define SNAPDELTA_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace snapdelta {

// Persisted nowhere, but printed in logs: keep names stable.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument = 1,
  kNotFound = 2,
  kCorruption = 3,
  kIOError = 4,
  kAborted = 5,
  kUnavailable = 6,
  kResourceExhausted = 7,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "Corruption: <message>" or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>"; OK stays OK.
  Status WithContext(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string msg) {
  return Status(StatusCode::kInvalidArgument, std::move(msg));
}
inline Status NotFoundError(std::string msg) {
  return Status(StatusCode::kNotFound, std::move(msg));
}
inline Status CorruptionError(std::string msg) {
  return Status(StatusCode::kCorruption, std::move(msg));
}
inline Status IOError(std::string msg) { return Status(StatusCode::kIOError, std::move(msg)); }
inline Status AbortedError(std::string msg) { return Status(StatusCode::kAborted, std::move(msg)); }
inline Status UnavailableError(std::string msg) {
  return Status(StatusCode::kUnavailable, std::move(msg));
}
inline Status ResourceExhaustedError(std::string msg) {
  return Status(StatusCode::kResourceExhausted, std::move(msg));
}

// Builds an IOError from errno: "<what>: <strerror(errno)>".
Status ErrnoError(std::string_view what, int errnum);

// Holds either a T or a non-OK Status.
// REQUIRES: value() is called only when ok().
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok());
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace snapdelta

#define SNAPDELTA_CONCAT_INNER(a, b) a##b
#define SNAPDELTA_CONCAT(a, b) SNAPDELTA_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` yields a non-OK Status.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::snapdelta::Status status_macro_ = (expr);    \
    if (!status_macro_.ok()) return status_macro_; \
  } while (0)

// ASSIGN_OR_RETURN(auto x, Foo()); assigns the value of a StatusOr or returns its Status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(SNAPDELTA_CONCAT(statusor_macro_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#endif  // SNAPDELTA_STATUS_H_
