#include "pipeline/guards.h"

#include <fmt/format.h>

namespace snapdelta {

double DeleteRatio(const ImportCounts& counts, uint64_t previous_rows) {
  if (previous_rows == 0) return 0;
  return static_cast<double>(counts.deletes) / static_cast<double>(previous_rows);
}

double ChangeRatio(const ImportCounts& counts, uint64_t previous_rows) {
  if (previous_rows == 0) return 0;
  return static_cast<double>(counts.inserts + counts.updates + counts.deletes) /
         static_cast<double>(previous_rows);
}

std::optional<std::string> TrippedGuard(const TableOptions& options, const ImportCounts& counts,
                                        uint64_t previous_rows, bool first_import) {
  if (options.min_rows && counts.rows < *options.min_rows) {
    return fmt::format("min_rows: the export has {} rows, fewer than {}", counts.rows,
                       *options.min_rows);
  }
  if (first_import) return std::nullopt;
  double deleted = DeleteRatio(counts, previous_rows);
  if (options.max_delete_ratio && deleted > *options.max_delete_ratio) {
    return fmt::format("max_delete_ratio: {} of {} previous rows deleted ({:.3f} > {:.3f})",
                       counts.deletes, previous_rows, deleted, *options.max_delete_ratio);
  }
  double changed = ChangeRatio(counts, previous_rows);
  if (options.max_change_ratio && changed > *options.max_change_ratio) {
    return fmt::format(
        "max_change_ratio: {} inserted, {} updated and {} deleted of {} previous rows "
        "({:.3f} > {:.3f})",
        counts.inserts, counts.updates, counts.deletes, previous_rows, changed,
        *options.max_change_ratio);
  }
  return std::nullopt;
}

}  // namespace snapdelta
