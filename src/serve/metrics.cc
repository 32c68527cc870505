#include "serve/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <tuple>

namespace snapdelta {
namespace {

// Import durations, in seconds: from a small table's import to a large one's.
constexpr std::array<double, 11> kDurationBuckets = {0.1, 0.25, 0.5, 1,   2.5, 5,
                                                     10,  30,   60,  300, 900};

// A label value with '\', '"' and newlines escaped, as the format wants.
std::string Label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Header(std::string* out, std::string_view name, std::string_view type, std::string_view help) {
  *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// Leases of imports: not those of publishers, tasks of partitioned imports or discovery.
bool IsTableLease(const Lease& lease) {
  return !lease.tenant.starts_with('.') && lease.table.find('/') == std::string::npos;
}

}  // namespace

std::string RenderMetrics(const RegistrySnapshot& snapshot, int64_t now_ms) {
  std::map<std::string, uint64_t> by_state;
  for (ImportState state : {ImportState::kDiscovered, ImportState::kRunning,
                            ImportState::kCommitted, ImportState::kFailed, ImportState::kSkipped,
                            ImportState::kHeld, ImportState::kRewound, ImportState::kWaiting}) {
    by_state[std::string(ImportStateName(state))] = 0;
  }
  uint64_t inserts = 0, updates = 0, deletes = 0, rows = 0, bytes = 0;
  std::array<uint64_t, kDurationBuckets.size()> buckets{};
  uint64_t durations = 0;
  double duration_sum = 0;
  using TableKey = std::pair<std::string, std::string>;
  std::map<TableKey, int64_t> last_success;
  std::map<TableKey, uint64_t> lag;
  for (const ImportRecord& record : snapshot.imports) {
    ++by_state[std::string(ImportStateName(record.state))];
    if (record.state != ImportState::kCommitted && record.state != ImportState::kRewound) continue;
    inserts += record.counts.inserts;
    updates += record.counts.updates;
    deletes += record.counts.deletes;
    rows += record.counts.rows;
    bytes += record.size;
    if (record.started_at_ms > 0 && record.finished_at_ms >= record.started_at_ms) {
      double seconds = static_cast<double>(record.finished_at_ms - record.started_at_ms) / 1000;
      for (size_t i = 0; i < kDurationBuckets.size(); ++i)
        buckets[i] += seconds <= kDurationBuckets[i];
      ++durations;
      duration_sum += seconds;
    }
    TableKey table{record.tenant, record.table};
    if (record.state == ImportState::kCommitted) {
      int64_t& last = last_success[table];
      last = std::max(last, record.finished_at_ms);
      lag[table] += record.counts.events() - std::min(record.published_seq, record.counts.events());
    }
  }

  std::string out;
  Header(&out, "snapdelta_imports_total", "counter", "Imports in the registry, by state.");
  for (const auto& [state, count] : by_state) {
    out += fmt::format("snapdelta_imports_total{{state=\"{}\"}} {}\n", state, count);
  }
  Header(&out, "snapdelta_events_total", "counter",
         "Events of committed imports (rewound ones included), by operation.");
  out += fmt::format("snapdelta_events_total{{op=\"insert\"}} {}\n", inserts);
  out += fmt::format("snapdelta_events_total{{op=\"update\"}} {}\n", updates);
  out += fmt::format("snapdelta_events_total{{op=\"delete\"}} {}\n", deletes);
  Header(&out, "snapdelta_rows_read_total", "counter", "Rows of the exports of committed imports.");
  out += fmt::format("snapdelta_rows_read_total {}\n", rows);
  Header(&out, "snapdelta_bytes_read_total", "counter",
         "Bytes of the export files of committed imports.");
  out += fmt::format("snapdelta_bytes_read_total {}\n", bytes);
  Header(&out, "snapdelta_import_duration_seconds", "histogram",
         "How long committed imports took, from running to committed.");
  for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
    out += fmt::format("snapdelta_import_duration_seconds_bucket{{le=\"{}\"}} {}\n",
                       kDurationBuckets[i], buckets[i]);
  }
  out += fmt::format("snapdelta_import_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", durations);
  out += fmt::format("snapdelta_import_duration_seconds_sum {}\n", duration_sum);
  out += fmt::format("snapdelta_import_duration_seconds_count {}\n", durations);
  Header(&out, "snapdelta_last_success_timestamp_seconds", "gauge",
         "When the table's latest import was committed (Unix time).");
  for (const auto& [table, ms] : last_success) {
    out += fmt::format(
        "snapdelta_last_success_timestamp_seconds{{tenant=\"{}\",table=\"{}\"}} {:.3f}\n",
        Label(table.first), Label(table.second), static_cast<double>(ms) / 1000);
  }
  Header(&out, "snapdelta_publish_lag_events", "gauge",
         "Events of the table's committed imports that the stream has not acknowledged yet.");
  for (const auto& [table, events] : lag) {
    out += fmt::format("snapdelta_publish_lag_events{{tenant=\"{}\",table=\"{}\"}} {}\n",
                       Label(table.first), Label(table.second), events);
  }
  Header(&out, "snapdelta_lease_held", "gauge", "1 while a worker holds the table's lease.");
  for (const Lease& lease : snapshot.leases) {
    if (!IsTableLease(lease)) continue;
    out +=
        fmt::format("snapdelta_lease_held{{tenant=\"{}\",table=\"{}\"}} {}\n", Label(lease.tenant),
                    Label(lease.table), lease.expires_at_ms > now_ms ? 1 : 0);
  }
  return out;
}

}  // namespace snapdelta
