// Log lines about one import (base/log.h), with its tenant, table and version first, so every
// step of an import (discovered, leased, diffed, held, committed, failed, published) can be
// followed by those fields in text or JSON logs.
#ifndef SNAPDELTA_PIPELINE_IMPORT_LOG_H_
#define SNAPDELTA_PIPELINE_IMPORT_LOG_H_

#include <string_view>

#include "base/log.h"
#include "snapdelta/registry.h"

namespace snapdelta {

class ImportLog : public Log {
 public:
  ImportLog(LogLevel level, std::string_view step, const ImportRecord& record);
};

// The line for an import that ended, by its state: committed (info, with counts and duration),
// held (warn, with the commands to release or skip it), failed (error, with what happens next),
// skipped (info), or unfinished (warn: it stopped or lost its lease; it is resumed).
void LogImportEnd(const ImportRecord& record);

}  // namespace snapdelta

#endif  // SNAPDELTA_PIPELINE_IMPORT_LOG_H_
