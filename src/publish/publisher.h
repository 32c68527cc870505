// Publisher: sends committed change files to a stream, in version order per table (tables in
// parallel), and records in the registry how far each import is published (doc/delivery.md).
//
// For each table with committed, not wholly published imports (Registry::ListUnpublished), a
// thread takes the table's publish lease (Registry, PublishLeaseTable), then, import by import
// in version order: reads the change file from the recorded position on, sends each event
// (`format`: the line as it is, or Debezium's envelope and its tombstone) through the table's
// StreamWriter, records the acknowledged position every `position_interval_ms` and at the end
// (MarkPublished, fenced by the lease). The first import that fails stops its table (later
// versions must not overtake it); the others go on. A crash resumes from the recorded position:
// only events sent after it (the last unacknowledged batch) are sent again, with the same ids.
//
// Without a stream (the change file sink), the change file is the delivery: committed imports
// are recorded published as they are.
//
// Retention: with keep_changes_ms >= 0, the change files of published imports published longer
// ago than that are deleted (those of imports not yet published never are).
//
// Thread safety: Publish may run in several processes at once; the publish leases keep one
// publisher per table.
#ifndef SNAPDELTA_PUBLISH_PUBLISHER_H_
#define SNAPDELTA_PUBLISH_PUBLISHER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "publish/sink_url.h"
#include "publish/stream.h"
#include "snapdelta/registry.h"
#include "snapdelta/status.h"

namespace snapdelta {

struct PublishOptions {
  // Where the change files are: <changes_dir>/<tenant>/<table>/<version>.jsonl. Required.
  std::string changes_dir;
  EventFormat format = EventFormat::kJson;
  bool tombstones = false;  // Debezium: a tombstone after each DELETE
  // Tables published at once. Default: 0, one per core.
  int threads = 0;
  int64_t lease_ttl_ms = 30000;
  // How often a long publish records its acknowledged position. Default: 1 s.
  int64_t position_interval_ms = 1000;
  // Change files of published imports are deleted this long after publishing. Default: keep.
  int64_t keep_changes_ms = -1;
  // When set and true, tables stop between imports (and an import between events); what is
  // left is not reported unpublished: the next call publishes it from the recorded position.
  const std::atomic<bool>* stop = nullptr;
  // Called once per import wholly published by this call (serialized).
  std::function<void(const ImportRecord&)> on_published;
  Clock clock = SystemClockMs;
};

struct PublishReport {
  std::vector<ImportRecord> published;   // wholly published by this call
  std::vector<std::string> unpublished;  // "t/t/v: 300 of 1000 events published: <why>"
  std::vector<std::string> busy;         // tables another publisher holds
  std::vector<std::string> removed;      // change files deleted by retention
};

// Publishes what is committed and not yet published. `stream` null: the change file sink.
// Errors are about the registry; a stream's failure is an unpublished entry in the report.
StatusOr<PublishReport> Publish(Registry* registry, Stream* stream, const PublishOptions& options);

// How far a committed import is delivered: "published", "publishing 300 of 1000", "committed"
// (nothing acknowledged yet); "" for an import that is not committed.
std::string DescribeDelivery(const ImportRecord& record);

}  // namespace snapdelta

#endif  // SNAPDELTA_PUBLISH_PUBLISHER_H_
