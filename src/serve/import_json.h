// One import as JSON: the objects of `status --json` and of the status server's /api/imports.
#ifndef SNAPDELTA_SERVE_IMPORT_JSON_H_
#define SNAPDELTA_SERVE_IMPORT_JSON_H_

#include <nlohmann/json.hpp>

#include "snapdelta/registry.h"

namespace snapdelta {

// {"id", "tenant", "table", "version", "file", "size", "checksum", "state", "reason", "note",
//  "rows", "inserts", "updates", "deletes", "discovered_at_ms", "started_at_ms",
//  "finished_at_ms", "duration_ms", "fencing_token", "failure", "retry_at_ms", "attempts",
//  "released", "events", "published_seq", "published_at_ms", "delivery", "next"}
nlohmann::json ImportJson(const ImportRecord& record);

}  // namespace snapdelta

#endif  // SNAPDELTA_SERVE_IMPORT_JSON_H_
