#include "serve/import_json.h"

#include "pipeline/importer.h"
#include "publish/publisher.h"

namespace snapdelta {

nlohmann::json ImportJson(const ImportRecord& record) {
  int64_t duration = record.finished_at_ms > 0 && record.started_at_ms > 0
                         ? record.finished_at_ms - record.started_at_ms
                         : 0;
  return nlohmann::json{
      {"id", record.id},
      {"tenant", record.tenant},
      {"table", record.table},
      {"version", record.version},
      {"file", record.file},
      {"size", record.size},
      {"checksum", record.checksum},
      {"state", ImportStateName(record.state)},
      {"reason", record.reason},
      {"note", record.note},
      {"rows", record.counts.rows},
      {"inserts", record.counts.inserts},
      {"updates", record.counts.updates},
      {"deletes", record.counts.deletes},
      {"discovered_at_ms", record.discovered_at_ms},
      {"started_at_ms", record.started_at_ms},
      {"finished_at_ms", record.finished_at_ms},
      {"duration_ms", duration},
      {"fencing_token", record.fencing_token},
      {"failure", FailureKindName(record.failure)},
      {"retry_at_ms", record.retry_at_ms},
      {"attempts", record.attempts},
      {"released", record.released},
      {"events", record.counts.events()},
      {"published_seq", record.published_seq},
      {"published_at_ms", record.published_at_ms},
      {"delivery", DescribeDelivery(record)},
      {"next", record.state == ImportState::kFailed ? FailureNextStep(record) : std::string()}};
}

}  // namespace snapdelta
