// Change guards: the check that holds an import whose delta looks like a broken export (a
// truncated or half-empty dump that would delete most of the table downstream).
#ifndef SNAPDELTA_PIPELINE_GUARDS_H_
#define SNAPDELTA_PIPELINE_GUARDS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "snapdelta/options.h"
#include "snapdelta/registry.h"

namespace snapdelta {

// Why `counts` trips a guard of `options`, or nullopt. `previous_rows` is the row count of the
// previous export; `first_import` exempts the ratio guards. E.g. "max_delete_ratio: 9000 of
// 10000 previous rows deleted (0.900 > 0.500)".
std::optional<std::string> TrippedGuard(const TableOptions& options, const ImportCounts& counts,
                                        uint64_t previous_rows, bool first_import);

// The share of the previous rows the delta deletes and changes (0 when there were none).
double DeleteRatio(const ImportCounts& counts, uint64_t previous_rows);
double ChangeRatio(const ImportCounts& counts, uint64_t previous_rows);

}  // namespace snapdelta

#endif  // SNAPDELTA_PIPELINE_GUARDS_H_
