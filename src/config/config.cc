#include "config/config.h"

#include <toml++/toml.h>

#include <algorithm>

#include "base/fs.h"

namespace snapdelta {
namespace {

std::string Where(const std::string& name, const toml::node& node) {
  const toml::source_region& src = node.source();
  return name + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column);
}

Status TypeError(const std::string& name, const toml::node& node, std::string_view key,
                 std::string_view expected) {
  return InvalidArgumentError(Where(name, node) + ": '" + std::string(key) + "' must be " +
                              std::string(expected));
}

StatusOr<std::vector<std::string>> StringList(const std::string& name, const toml::node& node,
                                              std::string_view key) {
  if (const auto* single = node.as_string()) return std::vector<std::string>{single->get()};
  const toml::array* array = node.as_array();
  if (array == nullptr) return TypeError(name, node, key, "a string or an array of strings");
  std::vector<std::string> out;
  for (const toml::node& item : *array) {
    const auto* text = item.as_string();
    if (text == nullptr) return TypeError(name, item, key, "an array of strings");
    out.push_back(text->get());
  }
  return out;
}

constexpr std::string_view kKnownKeys[] = {"key",           "ignore",           "null_marker",
                                           "delimiter",     "before_images",    "on_duplicate",
                                           "schema_change", "max_delete_ratio", "max_change_ratio",
                                           "min_rows",      "marker",           "partitions"};
// More tasks than this would each read the whole export for a sliver of its keys.
constexpr int64_t kMaxTablePartitions = 256;

// A guard: a number, or false to turn it off.
Status ApplyGuard(const std::string& name, std::string_view key, const toml::node& node,
                  TableOptions* options) {
  if (const auto* flag = node.as_boolean(); flag != nullptr && !flag->get()) {
    if (key == "max_delete_ratio") options->max_delete_ratio.reset();
    if (key == "max_change_ratio") options->max_change_ratio.reset();
    if (key == "min_rows") options->min_rows.reset();
    return Status::OK();
  }
  if (key == "min_rows") {
    const auto* number = node.as_integer();
    if (number == nullptr || number->get() < 0) {
      return TypeError(name, node, key, "a row count or false");
    }
    options->min_rows = static_cast<uint64_t>(number->get());
    return Status::OK();
  }
  std::optional<double> ratio = node.value<double>();
  if (!ratio || *ratio < 0) return TypeError(name, node, key, "a ratio like 0.5, or false");
  (key == "max_delete_ratio" ? options->max_delete_ratio : options->max_change_ratio) = *ratio;
  return Status::OK();
}

Status ApplyKey(const std::string& name, std::string_view key, const toml::node& node,
                TableOptions* options) {
  if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) == std::end(kKnownKeys)) {
    return InvalidArgumentError(Where(name, node) + ": unknown key '" + std::string(key) +
                                "' (known: key, ignore, null_marker, delimiter, before_images, "
                                "on_duplicate, schema_change, max_delete_ratio, max_change_ratio, "
                                "min_rows, marker, partitions)");
  }
  if (key == "max_delete_ratio" || key == "max_change_ratio" || key == "min_rows") {
    return ApplyGuard(name, key, node, options);
  }
  if (key == "key" || key == "ignore") {
    ASSIGN_OR_RETURN(std::vector<std::string> list, StringList(name, node, key));
    (key == "key" ? options->key : options->ignore) = std::move(list);
    return Status::OK();
  }
  if (key == "partitions") {
    const auto* number = node.as_integer();
    if (number == nullptr || number->get() < 1 || number->get() > kMaxTablePartitions) {
      return TypeError(name, node, key,
                       "a task count from 1 to " + std::to_string(kMaxTablePartitions));
    }
    options->partitions = static_cast<uint32_t>(number->get());
    return Status::OK();
  }
  if (key == "before_images") {
    const auto* flag = node.as_boolean();
    if (flag == nullptr) return TypeError(name, node, key, "true or false");
    options->before_images = flag->get();
    return Status::OK();
  }
  const auto* text = node.as_string();
  if (text == nullptr) return TypeError(name, node, key, "a string");
  const std::string& value = text->get();
  if (key == "null_marker") {
    options->null_marker = value;
  } else if (key == "delimiter") {
    if (value.size() != 1) return TypeError(name, node, key, "a single character");
    options->delimiter = value[0];
  } else if (key == "marker") {
    if (value != kSuccessMarker && value != kManifestMarker) {
      return TypeError(name, node, key, "\"_SUCCESS\" or \"manifest.json\"");
    }
    options->marker = value;
  } else if (key == "on_duplicate") {
    auto policy = ParseDuplicatePolicy(value);
    if (!policy.ok()) return TypeError(name, node, key, "\"fail\", \"first\" or \"last\"");
    options->on_duplicate = *policy;
  } else {  // schema_change
    if (value != "allow" && value != "fail") {
      return TypeError(name, node, key, "\"allow\" or \"fail\"");
    }
    options->schema_change =
        value == "fail" ? SchemaChangePolicy::kFail : SchemaChangePolicy::kAllow;
  }
  return Status::OK();
}

Status ApplyTable(const std::string& name, const toml::table& table, TableOptions* options) {
  for (const auto& [key, node] : table) {
    RETURN_IF_ERROR(ApplyKey(name, key.str(), node, options));
  }
  return Status::OK();
}

// The [sink] table: `url`, and every other key as a sink URL parameter (a quoted key with dots,
// such as "compression.type", is a librdkafka property).
Status ApplySink(const std::string& name, const toml::table& sink, Config* config) {
  for (const auto& [key, node] : sink) {
    std::string value;
    if (const auto* text = node.as_string()) {
      value = text->get();
    } else if (const auto* flag = node.as_boolean()) {
      value = flag->get() ? "true" : "false";
    } else if (const auto* number = node.as_integer()) {
      value = std::to_string(number->get());
    } else {
      return TypeError(name, node, "sink." + std::string(key.str()),
                       "a string, a number or true/false (quote a key with dots: "
                       "\"compression.type\" = \"zstd\")");
    }
    if (key.str() == "url") {
      config->sink_url = value;
    } else {
      config->sink_parameters[std::string(key.str())] = value;
    }
  }
  return Status::OK();
}

}  // namespace

StatusOr<int64_t> ParseDuration(std::string_view text) {
  std::string_view digits = text;
  int64_t unit_ms = 1000;  // a bare number is seconds
  if (!text.empty()) {
    constexpr std::pair<char, int64_t> kUnits[] = {
        {'d', 86'400'000}, {'h', 3'600'000}, {'m', 60'000}, {'s', 1000}};
    for (const auto& [suffix, ms] : kUnits) {
      if (text.back() != suffix) continue;
      unit_ms = ms;
      digits.remove_suffix(1);
    }
  }
  if (digits.empty() || digits.size() > 12 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgumentError("duration '" + std::string(text) +
                                "': use a whole number with d, h, m or s (\"7d\")");
  }
  return std::stoll(std::string(digits)) * unit_ms;
}

StatusOr<DuplicatePolicy> ParseDuplicatePolicy(std::string_view text) {
  if (text == "fail") return DuplicatePolicy::kFail;
  if (text == "first") return DuplicatePolicy::kFirst;
  if (text == "last") return DuplicatePolicy::kLast;
  return InvalidArgumentError("on-duplicate must be fail, first or last, not '" +
                              std::string(text) + "'");
}

StatusOr<Config> ParseConfig(std::string_view text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return InvalidArgumentError(name + ":" + std::to_string(e.source().begin.line) + ":" +
                                std::to_string(e.source().begin.column) + ": " +
                                std::string(e.description()));
  }
  Config config;
  const toml::table* tables = nullptr;
  for (const auto& [key, node] : root) {
    if (key.str() == "keep_states") {
      const auto* number = node.as_integer();
      if (number == nullptr || number->get() < 1) {
        return TypeError(name, node, "keep_states", "a count of at least 1");
      }
      config.keep_states = static_cast<int>(number->get());
      continue;
    }
    if (key.str() == "settle_seconds") {
      std::optional<double> seconds = node.value<double>();
      if (!seconds || *seconds < 0) {
        return TypeError(name, node, "settle_seconds", "a number of seconds, 0 or more");
      }
      config.settle_seconds = *seconds;
      continue;
    }
    if (key.str() == "landing" || key.str() == "state") {
      const auto* text = node.as_string();
      if (text == nullptr || text->get().empty()) {
        return TypeError(name, node, key.str(), "a folder or s3://BUCKET[/PREFIX]");
      }
      (key.str() == "landing" ? config.landing : config.state) = text->get();
      continue;
    }
    if (key.str() == "registry") {
      const auto* text = node.as_string();
      if (text == nullptr || text->get().empty()) {
        return TypeError(name, node, key.str(), "postgresql://USER@HOST:PORT/DB or a file path");
      }
      config.registry = text->get();
      continue;
    }
    if (key.str() == "keep_changes") {
      StatusOr<int64_t> ms =
          ParseDuration(node.is_string()    ? node.as_string()->get()
                        : node.is_integer() ? std::to_string(node.as_integer()->get())
                                            : std::string("?"));
      if (!ms.ok()) {
        return TypeError(name, node, "keep_changes", "a duration such as \"7d\", \"12h\" or 3600");
      }
      config.keep_changes_ms = *ms;
      continue;
    }
    if (key.str() == "sink") {
      const toml::table* sink = node.as_table();
      if (sink == nullptr) return TypeError(name, node, "sink", "a table ([sink])");
      RETURN_IF_ERROR(ApplySink(name, *sink, &config));
      continue;
    }
    if (key.str() == "tables") {
      tables = node.as_table();
      if (tables == nullptr) return TypeError(name, node, "tables", "a table of tables");
      continue;
    }
    RETURN_IF_ERROR(ApplyKey(name, key.str(), node, &config.defaults));
  }
  if (tables == nullptr) return config;
  for (const auto& [table_name, node] : *tables) {
    const toml::table* section = node.as_table();
    if (section == nullptr) {
      return TypeError(name, node, table_name.str(),
                       "a table ([tables." + std::string(table_name.str()) + "])");
    }
    TableOptions options = config.defaults;
    RETURN_IF_ERROR(ApplyTable(name, *section, &options));
    config.tables.emplace(std::string(table_name.str()), std::move(options));
  }
  return config;
}

StatusOr<Config> LoadConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  return ParseConfig(text, path);
}

}  // namespace snapdelta
