#include "diff/schema.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "diff/fingerprint.h"

namespace snapdelta {
namespace {

// Messages list at most this many characters of column names.
constexpr size_t kMaxNamesInMessage = 300;

}  // namespace

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    if (out.size() > kMaxNamesInMessage) return out + "...";
    out += name;
  }
  return out;
}

StatusOr<ExportSchema> ResolveSchema(const std::vector<std::string>& header,
                                     const TableOptions& options, const std::string& file_name) {
  ExportSchema schema;
  schema.columns = header;
  schema.key_names = options.key.empty() ? std::vector<std::string>{header.at(0)} : options.key;
  for (const std::string& key_name : schema.key_names) {
    auto it = std::find(header.begin(), header.end(), key_name);
    if (it == header.end()) {
      return CorruptionError(file_name + ":1: key column '" + key_name +
                             "' is not in the header (columns: " + JoinNames(header) +
                             "); check key in [tables.<table>] or --key");
    }
    schema.key_idx.push_back(static_cast<size_t>(it - header.begin()));
  }
  std::vector<size_t> order(header.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return header[a] < header[b]; });
  for (size_t column_idx : order) {
    const std::string& name = header[column_idx];
    bool is_key =
        std::find(schema.key_idx.begin(), schema.key_idx.end(), column_idx) != schema.key_idx.end();
    bool ignored =
        std::find(options.ignore.begin(), options.ignore.end(), name) != options.ignore.end();
    if (is_key || ignored) continue;
    schema.compared_names.push_back(name);
    schema.compared_idx.push_back(column_idx);
    schema.compared_name_hash.push_back(NameHash(name));
  }
  return schema;
}

SchemaChange CompareColumns(const std::vector<std::string>& old_columns,
                            const std::vector<std::string>& new_columns) {
  std::set<std::string> old_set(old_columns.begin(), old_columns.end());
  std::set<std::string> new_set(new_columns.begin(), new_columns.end());
  SchemaChange change;
  for (const std::string& name : new_columns) {
    if (!old_set.count(name)) change.added.push_back(name);
  }
  for (const std::string& name : old_columns) {
    if (!new_set.count(name)) change.removed.push_back(name);
  }
  return change;
}

std::string SchemaChange::ToString() const {
  std::string out;
  if (!added.empty()) out += "added columns [" + JoinNames(added) + "]";
  if (!removed.empty()) {
    if (!out.empty()) out += "; ";
    out += "removed columns [" + JoinNames(removed) + "]";
  }
  return out;
}

}  // namespace snapdelta
