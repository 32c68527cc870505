// ExportSchema: one export's header resolved against its table's options: where the key columns
// are, which columns are compared and in which canonical order.
//
// Columns are matched by name, so the canonical order of compared columns is their names sorted
// bytewise: an export with reordered columns yields the same fingerprints.
#ifndef SNAPDELTA_DIFF_SCHEMA_H_
#define SNAPDELTA_DIFF_SCHEMA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "snapdelta/options.h"
#include "snapdelta/status.h"

namespace snapdelta {

struct ExportSchema {
  std::vector<std::string> columns;         // header order
  std::vector<std::string> key_names;       // key order (as configured)
  std::vector<size_t> key_idx;              // header position of each key column
  std::vector<std::string> compared_names;  // canonical order: sorted by name
  std::vector<size_t> compared_idx;         // header position of each compared column
  std::vector<uint64_t> compared_name_hash;
};

// Resolves `header` against `options`. Compared columns are all columns but the key columns and
// the ignored ones. Errors (kCorruption, naming `file_name`): a configured key column missing.
StatusOr<ExportSchema> ResolveSchema(const std::vector<std::string>& header,
                                     const TableOptions& options, const std::string& file_name);

// How the columns of two exports of one table differ, by name. Reordering is not a change.
// Linear in the number of columns.
struct SchemaChange {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  bool empty() const { return added.empty() && removed.empty(); }
  // "added columns [a, b]; removed columns [c]"
  std::string ToString() const;
};
SchemaChange CompareColumns(const std::vector<std::string>& old_columns,
                            const std::vector<std::string>& new_columns);

// PositionsIn's "not there".
inline constexpr size_t kNoPosition = static_cast<size_t>(-1);

// For each of `names`, the position of its first occurrence in `in` (kNoPosition when absent).
// Linear in the sizes: a merge when both lists are sorted (as compared_names are), a hash table
// otherwise. Tables may have a million columns, so name lookups never scan a list per name.
std::vector<size_t> PositionsIn(const std::vector<std::string>& names,
                                const std::vector<std::string>& in);

// "a, b, c" (truncated with "..." past a few hundred characters), for messages.
std::string JoinNames(const std::vector<std::string>& names);

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_SCHEMA_H_
