#include "base/log.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "base/console.h"
#include "base/json_escape.h"

namespace snapdelta {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kWarn};
std::atomic<LogFormat> g_format{LogFormat::kText};

// 2026-12-03T07:05:02.123Z
std::string Timestamp(int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03d}Z", text, static_cast<int>(unix_ms % 1000));
}

// A text value as logfmt writes it: bare when it is one plain word, else in double quotes with
// JSON's escapes.
void AppendTextValue(std::string* out, std::string_view value) {
  bool bare = !value.empty();
  for (char c : value) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) bare = false;
  }
  if (bare) {
    out->append(value);
    return;
  }
  out->push_back('"');
  AppendJsonEscaped(out, value);
  out->push_back('"');
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  if (name == "off") return LogLevel::kOff;
  return std::nullopt;
}

std::optional<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return std::nullopt;
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      break;
  }
  return "off";
}

void ConfigureLog(LogLevel level, LogFormat format) {
  g_level.store(level);
  g_format.store(format);
}

bool LogEnabled(LogLevel level) { return level != LogLevel::kOff && level >= g_level.load(); }

LogFormat CurrentLogFormat() { return g_format.load(); }

Log::Log(LogLevel level, std::string_view step)
    : enabled_(LogEnabled(level)), level_(level), step_(step) {}

Log::Log(LogLevel level, std::string_view step, bool always)
    : enabled_(always || LogEnabled(level)), level_(level), step_(step) {}

Log::~Log() {
  if (!enabled_) return;
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  console::WriteLine(stderr, Format(now_ms));
}

Log& Log::Add(std::string_view key, std::string_view value) {
  if (enabled_) fields_.push_back(Field{std::string(key), std::string(value)});
  return *this;
}

Log& Log::Add(std::string_view key, int64_t value) {
  if (enabled_) fields_.push_back(Field{std::string(key), value});
  return *this;
}

Log& Log::Add(std::string_view key, uint64_t value) {
  if (enabled_) fields_.push_back(Field{std::string(key), value});
  return *this;
}

Log& Log::Add(std::string_view key, double value) {
  if (enabled_) fields_.push_back(Field{std::string(key), value});
  return *this;
}

std::string Log::Format(int64_t unix_ms) const {
  if (g_format.load() == LogFormat::kJson) {
    nlohmann::ordered_json line;
    line["time"] = Timestamp(unix_ms);
    line["level"] = LogLevelName(level_);
    line["step"] = step_;
    for (const Field& field : fields_) {
      std::visit([&](const auto& value) { line[field.key] = value; }, field.value);
    }
    return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
  std::string level(LogLevelName(level_));
  for (char& c : level) c = static_cast<char>(c - 'a' + 'A');
  std::string out = fmt::format("{} {:<5} {}", Timestamp(unix_ms), level, step_);
  for (const Field& field : fields_) {
    out += ' ';
    out += field.key;
    out += '=';
    if (const std::string* text = std::get_if<std::string>(&field.value)) {
      AppendTextValue(&out, *text);
    } else if (const double* number = std::get_if<double>(&field.value)) {
      out += fmt::format("{:.3f}", *number);
    } else {
      std::visit([&](const auto& value) { out += fmt::format("{}", value); }, field.value);
    }
  }
  return out;
}

}  // namespace snapdelta
