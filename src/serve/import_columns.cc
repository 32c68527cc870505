#include "serve/import_columns.h"

#include <fmt/format.h>

#include <array>

#include "publish/publisher.h"

namespace snapdelta {
namespace {

std::string Number(uint64_t value) { return std::to_string(value); }

constexpr std::array kColumns = {
    ImportColumn{"state", false,
                 [](const ImportRecord& r) { return std::string(ImportStateName(r.state)); }},
    ImportColumn{"insert", true, [](const ImportRecord& r) { return Number(r.counts.inserts); }},
    ImportColumn{"update", true, [](const ImportRecord& r) { return Number(r.counts.updates); }},
    ImportColumn{"delete", true, [](const ImportRecord& r) { return Number(r.counts.deletes); }},
    ImportColumn{"rows", true, [](const ImportRecord& r) { return Number(r.counts.rows); }},
    ImportColumn{"bytes", true, [](const ImportRecord& r) { return HumanBytes(r.size); }},
    ImportColumn{"duration", true,
                 [](const ImportRecord& r) {
                   int64_t ms = ImportDurationMs(r);
                   return ms > 0 ? fmt::format("{:.2f} s", static_cast<double>(ms) / 1000.0)
                                 : std::string();
                 }},
    ImportColumn{"rows/s", true,
                 [](const ImportRecord& r) {
                   int64_t ms = ImportDurationMs(r);
                   return ms > 0 ? fmt::format("{:.0f}", static_cast<double>(r.counts.rows) *
                                                             1000.0 / static_cast<double>(ms))
                                 : std::string();
                 }},
    ImportColumn{"delivery", false, [](const ImportRecord& r) { return DescribeDelivery(r); }},
    ImportColumn{"note", false,
                 [](const ImportRecord& r) { return r.reason.empty() ? r.note : r.reason; }},
};

}  // namespace

std::span<const ImportColumn> ImportColumns() { return kColumns; }

std::string HumanBytes(uint64_t bytes) {
  const double value = static_cast<double>(bytes);
  if (bytes < 1000) return fmt::format("{} B", bytes);
  if (value < 1e6) return fmt::format("{:.1f} kB", value / 1e3);
  if (value < 1e9) return fmt::format("{:.1f} MB", value / 1e6);
  return fmt::format("{:.2f} GB", value / 1e9);
}

int64_t ImportDurationMs(const ImportRecord& record) {
  return record.finished_at_ms > 0 && record.started_at_ms > 0
             ? record.finished_at_ms - record.started_at_ms
             : 0;
}

}  // namespace snapdelta
