// The columns of one import as `snapdelta status` and the status page show them, so the
// terminal and the browser read alike: state, insert, update, delete, rows, bytes, duration,
// rows/s, delivery, note.
#ifndef SNAPDELTA_SERVE_IMPORT_COLUMNS_H_
#define SNAPDELTA_SERVE_IMPORT_COLUMNS_H_

#include <span>
#include <string>
#include <string_view>

#include "snapdelta/registry.h"

namespace snapdelta {

struct ImportColumn {
  std::string_view header;
  bool numeric;  // right-aligned
  std::string (*cell)(const ImportRecord& record);
};

std::span<const ImportColumn> ImportColumns();

// "812 B", "26.1 MB", "2.70 GB".
std::string HumanBytes(uint64_t bytes);

// The import's wall time from running to finished; 0 while unfinished.
int64_t ImportDurationMs(const ImportRecord& record);

}  // namespace snapdelta

#endif  // SNAPDELTA_SERVE_IMPORT_COLUMNS_H_
