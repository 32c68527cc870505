// The registry as Prometheus metrics (text exposition format 0.0.4), for the status server's
// /metrics. Every value is computed from the registry's rows, so any number of servers (and
// restarts) agree and nothing is lost when a worker dies:
//   snapdelta_imports_total{state}                      imports by state
//   snapdelta_events_total{op}                          events of committed (and rewound) imports
//   snapdelta_rows_read_total, snapdelta_bytes_read_total   rows and bytes of those exports
//   snapdelta_import_duration_seconds                   histogram of their durations
//   snapdelta_last_success_timestamp_seconds{tenant,table}  the table's latest commit
//   snapdelta_publish_lag_events{tenant,table}          committed events not yet published
//   snapdelta_lease_held{tenant,table}                  1 while an import of the table runs
#ifndef SNAPDELTA_SERVE_METRICS_H_
#define SNAPDELTA_SERVE_METRICS_H_

#include <cstdint>
#include <string>

#include "snapdelta/registry.h"

namespace snapdelta {

// The metrics of `snapshot`, with leases judged held at `now_ms`.
std::string RenderMetrics(const RegistrySnapshot& snapshot, int64_t now_ms);

}  // namespace snapdelta

#endif  // SNAPDELTA_SERVE_METRICS_H_
