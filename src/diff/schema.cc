#include "diff/schema.h"

#include <algorithm>
#include <numeric>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "diff/fingerprint.h"

namespace snapdelta {
namespace {

// Messages list at most this many characters of column names.
constexpr size_t kMaxNamesInMessage = 300;
// Up to this many key columns are each found by a scan of the header (no allocation, and keys
// are few); more are found through PositionsIn, linear in the columns.
constexpr size_t kMaxScannedKeys = 8;

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

std::vector<size_t> PositionsIn(const std::vector<std::string>& names,
                                const std::vector<std::string>& in) {
  std::vector<size_t> positions(names.size(), kNoPosition);
  if (std::is_sorted(names.begin(), names.end()) && std::is_sorted(in.begin(), in.end())) {
    size_t in_idx = 0;
    for (size_t name_idx = 0; name_idx < names.size(); ++name_idx) {
      while (in_idx < in.size() && in[in_idx] < names[name_idx]) ++in_idx;
      if (in_idx < in.size() && in[in_idx] == names[name_idx]) positions[name_idx] = in_idx;
    }
    return positions;
  }
  std::unordered_map<std::string_view, size_t> position_by_name;
  position_by_name.reserve(in.size());
  for (size_t in_idx = 0; in_idx < in.size(); ++in_idx)
    position_by_name.emplace(in[in_idx], in_idx);
  for (size_t name_idx = 0; name_idx < names.size(); ++name_idx) {
    auto it = position_by_name.find(names[name_idx]);
    if (it != position_by_name.end()) positions[name_idx] = it->second;
  }
  return positions;
}

StatusOr<ExportSchema> ResolveSchema(const std::vector<std::string>& header,
                                     const TableOptions& options, const std::string& file_name) {
  ExportSchema schema;
  schema.columns = header;
  schema.key_names = options.key.empty() ? std::vector<std::string>{header.at(0)} : options.key;
  std::vector<size_t> key_positions;
  if (schema.key_names.size() <= kMaxScannedKeys) {
    for (const std::string& key_name : schema.key_names) {
      key_positions.push_back(
          static_cast<size_t>(std::find(header.begin(), header.end(), key_name) - header.begin()));
    }
  } else {
    key_positions = PositionsIn(schema.key_names, header);
  }
  std::vector<bool> is_key(header.size(), false);
  for (size_t part = 0; part < schema.key_names.size(); ++part) {
    if (key_positions[part] >= header.size()) {
      return CorruptionError(file_name + ":1: key column '" + schema.key_names[part] +
                             "' is not in the header (columns: " + JoinNames(header) +
                             "); check key in [tables.<table>] or --key");
    }
    schema.key_idx.push_back(key_positions[part]);
    is_key[key_positions[part]] = true;
  }
  std::unordered_set<std::string_view> ignored(options.ignore.begin(), options.ignore.end());
  std::vector<size_t> order(header.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return header[a] < header[b]; });
  for (size_t column_idx : order) {
    const std::string& name = header[column_idx];
    if (is_key[column_idx] || ignored.contains(name)) continue;
    schema.compared_names.push_back(name);
    schema.compared_idx.push_back(column_idx);
    schema.compared_name_hash.push_back(NameHash(name));
  }
  return schema;
}

SchemaChange CompareColumns(const std::vector<std::string>& old_columns,
                            const std::vector<std::string>& new_columns) {
  SchemaChange change;
  if (old_columns == new_columns) return change;  // the usual case, without hashing
  std::vector<size_t> new_in_old = PositionsIn(new_columns, old_columns);
  std::vector<bool> old_kept(old_columns.size(), false);
  for (size_t new_idx = 0; new_idx < new_columns.size(); ++new_idx) {
    if (new_in_old[new_idx] == kNoPosition) {
      change.added.push_back(new_columns[new_idx]);
    } else {
      old_kept[new_in_old[new_idx]] = true;
    }
  }
  for (size_t old_idx = 0; old_idx < old_columns.size(); ++old_idx) {
    if (!old_kept[old_idx]) change.removed.push_back(old_columns[old_idx]);
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
