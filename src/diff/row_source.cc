#include "diff/row_source.h"

#include "diff/state_file.h"

namespace snapdelta {

void RowSource::EncodeRow(std::string* out) const {
  out->clear();
  for (const FieldValue& value : values()) AppendRowValue(out, value.value, value.is_null);
}

Status LocatedRowError(const std::string& file, uint64_t line,
                       const std::vector<std::string>& columns, int column_idx,
                       std::string_view what) {
  std::string message = file + ":" + std::to_string(line);
  if (column_idx >= 0) {
    message += ":" + std::to_string(column_idx + 1) + " (" +
               columns[static_cast<size_t>(column_idx)] + ")";
  }
  return CorruptionError(message + ": " + std::string(what));
}

}  // namespace snapdelta
