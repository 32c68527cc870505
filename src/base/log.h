// Log: one line per step of the work on stderr, as text (`time LEVEL step key=value ...`) or as
// one JSON object per line (`--log-format json`), from `--log-level` up. A line is built and
// written whole when its Log object goes out of scope:
//
//   Log(LogLevel::kInfo, "committed").Add("tenant", tenant).Add("rows", rows);
//
// Lines go through the console (console.h), so they never tear a terminal's progress block.
//
// Thread safety: Log objects are used by one thread each; ConfigureLog is not synchronised
// with lines being written (call it at start-up).
#ifndef SNAPDELTA_BASE_LOG_H_
#define SNAPDELTA_BASE_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace snapdelta {

enum class LogLevel { kDebug, kInfo, kWarn, kError, kOff };
enum class LogFormat { kText, kJson };

// "debug", "info", "warn", "error", "off"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view name);
// "text", "json".
std::optional<LogFormat> ParseLogFormat(std::string_view name);
std::string_view LogLevelName(LogLevel level);

// Lines below `level` are dropped. Default: kWarn, text.
void ConfigureLog(LogLevel level, LogFormat format);
bool LogEnabled(LogLevel level);
LogFormat CurrentLogFormat();

// The line as it would be written (no newline); for tests of the format.
class Log {
 public:
  Log(LogLevel level, std::string_view step);
  // `always`: written whatever the configured level (a command's own error or notice, which
  // takes the log's format so that a log shipper can read every line).
  Log(LogLevel level, std::string_view step, bool always);
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;
  ~Log();

  Log& Add(std::string_view key, std::string_view value);
  Log& Add(std::string_view key, const char* value) { return Add(key, std::string_view(value)); }
  Log& Add(std::string_view key, const std::string& value) {
    return Add(key, std::string_view(value));
  }
  Log& Add(std::string_view key, int64_t value);
  Log& Add(std::string_view key, uint64_t value);
  Log& Add(std::string_view key, int value) { return Add(key, static_cast<int64_t>(value)); }
  Log& Add(std::string_view key, double value);

  // The line in the configured format, as the destructor writes it (without the newline).
  std::string Format(int64_t unix_ms) const;

 private:
  struct Field {
    std::string key;
    std::variant<std::string, int64_t, uint64_t, double> value;
  };

  bool enabled_;
  LogLevel level_;
  std::string step_;
  std::vector<Field> fields_;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_BASE_LOG_H_
