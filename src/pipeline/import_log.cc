#include "pipeline/import_log.h"

#include <string>

#include "pipeline/importer.h"

namespace snapdelta {

ImportLog::ImportLog(LogLevel level, std::string_view step, const ImportRecord& record)
    : Log(level, step) {
  Add("tenant", record.tenant).Add("table", record.table).Add("version", record.version);
}

void LogImportEnd(const ImportRecord& record) {
  const std::string path = ImportPath(record);
  switch (record.state) {
    case ImportState::kCommitted: {
      ImportLog line(LogLevel::kInfo, "committed", record);
      line.Add("import", record.id)
          .Add("rows", record.counts.rows)
          .Add("inserts", record.counts.inserts)
          .Add("updates", record.counts.updates)
          .Add("deletes", record.counts.deletes)
          .Add("ms", record.finished_at_ms - record.started_at_ms);
      if (!record.note.empty()) line.Add("note", record.note);
      break;
    }
    case ImportState::kHeld:
      ImportLog(LogLevel::kWarn, "held", record)
          .Add("import", record.id)
          .Add("guard", record.reason)
          .Add("inserts", record.counts.inserts)
          .Add("updates", record.counts.updates)
          .Add("deletes", record.counts.deletes)
          .Add("release", "snapdelta release " + path)
          .Add("skip", "snapdelta skip " + path);
      break;
    case ImportState::kFailed:
      ImportLog(LogLevel::kError, "failed", record)
          .Add("import", record.id)
          .Add("file", record.file)
          .Add("reason", record.reason)
          .Add("next", FailureNextStep(record));
      break;
    case ImportState::kSkipped:
      ImportLog(LogLevel::kInfo, "skipped", record)
          .Add("import", record.id)
          .Add("file", record.file)
          .Add("reason", record.reason);
      break;
    default:
      ImportLog(LogLevel::kWarn, "unfinished", record)
          .Add("import", record.id)
          .Add("reason", record.reason);
  }
}

}  // namespace snapdelta
