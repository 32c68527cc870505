// JSON on stdout (`status --json`, `run --dry-run --json`, `diff --stats-only --json`): always
// valid JSON, even for strings that are not valid UTF-8 (names recorded by an older snapdelta,
// before discovery refused them): such bytes come out as U+FFFD instead of aborting the output.
#ifndef SNAPDELTA_CLI_JSON_OUTPUT_H_
#define SNAPDELTA_CLI_JSON_OUTPUT_H_

#include <nlohmann/json.hpp>
#include <string>

namespace snapdelta::cli {

// `value` serialized with one space of indent per level (`indent`; -1: on one line).
inline std::string DumpJson(const nlohmann::json& value, int indent = 1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace snapdelta::cli

#endif  // SNAPDELTA_CLI_JSON_OUTPUT_H_
