// Shared between differ.cc and previous_side.cc: the differ's working state. Not a public API.
#ifndef SNAPDELTA_DIFF_DIFFER_INTERNAL_H_
#define SNAPDELTA_DIFF_DIFFER_INTERNAL_H_

#include <string>
#include <vector>

#include "diff/differ.h"
#include "diff/export_reader.h"
#include "diff/key_table.h"

namespace snapdelta {

// What is known about the previous export once it is loaded into the table.
struct PreviousSide {
  std::vector<std::string> columns;   // its header (empty for a first import)
  std::vector<std::string> key;       // its key columns
  std::vector<std::string> compared;  // columns whose value hashes its arena records hold
  bool has_hashes = false;            // arena records hold value hashes (for `changed`)
  bool has_rows = false;              // arena records hold rows (for `before`)
  std::string note;                   // how the comparison fell short, for the import's note
  uint64_t rows = 0;
};

// Reads the previous side's header (state meta or export header) and checks it against the new
// export's schema (key columns, drift policy), then loads every row into `table`'s old side.
Status LoadPrevious(const DiffRequest& request, const ExportSchema& new_schema, KeyTable* table,
                    PreviousSide* previous, SchemaChange* change);

// "(id=5, region=eu)" for messages.
std::string DescribeKey(const std::vector<std::string>& names, std::string_view encoded_key);

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_DIFFER_INTERNAL_H_
