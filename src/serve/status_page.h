// The HTML of the status server's pages (status_server.h), from registry rows.
#ifndef SNAPDELTA_SERVE_STATUS_PAGE_H_
#define SNAPDELTA_SERVE_STATUS_PAGE_H_

#include <cstdint>
#include <string>

#include "snapdelta/registry.h"

namespace snapdelta {

// The overview: one row per table (its newest import), then held and failed imports.
std::string RenderStatusPage(const RegistrySnapshot& snapshot, int64_t now_ms);

// One table's imports, newest first, under a chart of their events per import. An empty string
// when the registry has no import of the table.
std::string RenderTablePage(const RegistrySnapshot& snapshot, const std::string& tenant,
                            const std::string& table, int64_t now_ms);

}  // namespace snapdelta

#endif  // SNAPDELTA_SERVE_STATUS_PAGE_H_
