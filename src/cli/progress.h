// Progress of the running imports on a terminal: one line per running table under the log and
// result lines (stderr, through the console), with the share of the export read, bytes, rows/s
// and the time left. Nothing is drawn when stderr is not a terminal.
#ifndef SNAPDELTA_CLI_PROGRESS_H_
#define SNAPDELTA_CLI_PROGRESS_H_

#include <chrono>
#include <string>

#include "snapdelta/engine.h"

namespace snapdelta::cli {

// EngineOptions::on_progress: records where `record`'s import is and redraws the lines at most
// five times a second. Thread-safe.
void ShowProgress(const ImportRecord& record, const ImportProgress& progress);

// Drops `record`'s line (its import ended). Thread-safe.
void EndProgress(const ImportRecord& record);

// Drops every line (a pass ended).
void ClearProgress();

// One table's line: "acme/orders/v2  41%  52.3 of 128.0 MB  412k rows  1.21M rows/s  ETA 0:07".
// `elapsed` is the time since the import's first report; the name is padded to `name_width`
// so the lines of several imports align.
std::string ProgressLine(const ImportRecord& record, const ImportProgress& progress,
                         std::chrono::steady_clock::duration elapsed, size_t name_width = 0);

}  // namespace snapdelta::cli

#endif  // SNAPDELTA_CLI_PROGRESS_H_
