// Operations on one table or import by hand: release a held import, skip one, rewind a table's
// state to an earlier committed version. Each takes the table's lease like an import does.
#ifndef SNAPDELTA_PIPELINE_ADMIN_H_
#define SNAPDELTA_PIPELINE_ADMIN_H_

#include <string>

#include "snapdelta/engine.h"
#include "snapdelta/registry.h"

namespace snapdelta {

// Publishes the held import of tenant/table/version with its guard lifted. Refused (kAborted)
// when a newer export of the table has been committed since; kNotFound when nothing is held.
StatusOr<ImportRecord> ReleaseHeld(const EngineOptions& options, const std::string& tenant,
                                   const std::string& table, const std::string& version);

// Runs the failed import of tenant/table/version again now, whatever its failure kind and
// backoff (a stale one is recorded skipped, as in a run). Later versions of its table are left
// to the next run.
StatusOr<ImportRecord> RetryFailed(const EngineOptions& options, const std::string& tenant,
                                   const std::string& table, const std::string& version);

// Records the held, pending or failed import of tenant/table/version as skipped by hand; a
// skipped environment failure no longer holds its table's later versions back.
StatusOr<ImportRecord> SkipByHand(const EngineOptions& options, const std::string& tenant,
                                  const std::string& table, const std::string& version);

// Makes the committed state of `version` the table's state again, marking the imports it undoes
// rewound; the next import diffs against it. Refused when that state is no longer kept
// (keep_states) or while an import of the table holds its lease.
Status RewindTable(const EngineOptions& options, const std::string& tenant,
                   const std::string& table, const std::string& version);

// Splits "tenant/table/version" (parts = 3) or "tenant/table" (parts = 2).
StatusOr<std::vector<std::string>> SplitPath(const std::string& text, size_t parts);

}  // namespace snapdelta

#endif  // SNAPDELTA_PIPELINE_ADMIN_H_
