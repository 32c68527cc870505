#include "serve/status_page.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <vector>

#include "base/markup.h"
#include "pipeline/importer.h"
#include "serve/import_columns.h"

namespace snapdelta {
namespace {

constexpr std::string_view kStyle =
    "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".committed{color:#176d2c}.failed{color:#b3261e}.held{color:#9a5b00}"
    ".running{color:#1a5fb4}code{background:#f3f3f3;padding:.1em .3em}";

// A path segment, percent-encoded but for unreserved characters.
std::string UrlSegment(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string Page(std::string_view title, std::string_view body, bool refresh) {
  return fmt::format(
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">{}<title>{}</title>"
      "<style>{}</style></head><body>{}</body></html>\n",
      refresh ? "<meta http-equiv=\"refresh\" content=\"5\">" : "", EscapeMarkup(title), kStyle,
      body);
}

// The version and ImportColumns(), shared by the overview and a table's history.
std::string ImportCells(const ImportRecord& record) {
  std::string cells = "<td>" + EscapeMarkup(record.version) + "</td>";
  const std::string state(ImportStateName(record.state));
  for (const ImportColumn& column : ImportColumns()) {
    const std::string css = column.numeric ? "n" : column.header == "state" ? state : "";
    cells += css.empty() ? "<td>" : fmt::format("<td class=\"{}\">", css);
    cells += EscapeMarkup(column.cell(record)) + "</td>";
  }
  return cells;
}

std::string ImportHeader() {
  std::string header = "<th>version</th>";
  for (const ImportColumn& column : ImportColumns()) {
    header += "<th>" + std::string(column.header) + "</th>";
  }
  return header;
}

// Leases of import tables held at `now_ms`, by (tenant, table).
std::map<std::pair<std::string, std::string>, const Lease*> HeldLeases(
    const RegistrySnapshot& snapshot, int64_t now_ms) {
  std::map<std::pair<std::string, std::string>, const Lease*> held;
  for (const Lease& lease : snapshot.leases) {
    if (lease.expires_at_ms > now_ms) held[{lease.tenant, lease.table}] = &lease;
  }
  return held;
}

}  // namespace

std::string RenderStatusPage(const RegistrySnapshot& snapshot, int64_t now_ms) {
  std::map<std::pair<std::string, std::string>, const ImportRecord*> newest;
  std::vector<const ImportRecord*> held, failed;
  for (const ImportRecord& record : snapshot.imports) {
    const ImportRecord*& last = newest[{record.tenant, record.table}];
    if (last == nullptr || record.version >= last->version) last = &record;
    if (record.state == ImportState::kHeld) held.push_back(&record);
    if (record.state == ImportState::kFailed) failed.push_back(&record);
  }
  auto leases = HeldLeases(snapshot, now_ms);
  std::string body = fmt::format("<h1>snapdelta</h1><p>{} imports of {} tables</p>",
                                 snapshot.imports.size(), newest.size());
  body += "<h2>Tables</h2><table><tr><th>tenant</th><th>table</th>" + ImportHeader() +
          "<th>lease</th></tr>";
  for (const auto& [key, record] : newest) {
    auto lease = leases.find(key);
    body +=
        fmt::format("<tr><td>{}</td><td><a href=\"/tables/{}/{}\">{}</a></td>{}<td>{}</td></tr>",
                    EscapeMarkup(key.first), UrlSegment(key.first), UrlSegment(key.second),
                    EscapeMarkup(key.second), ImportCells(*record),
                    lease == leases.end() ? "" : EscapeMarkup(lease->second->owner));
  }
  body += "</table>";
  if (!held.empty()) {
    body +=
        "<h2>Held by a change guard</h2><table><tr><th>import</th><th>guard</th>"
        "<th>insert</th><th>update</th><th>delete</th><th>to go on</th></tr>";
    for (const ImportRecord* record : held) {
      body += fmt::format(
          "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
          "<td class=\"n\">{}</td><td><code>snapdelta release {}</code> or "
          "<code>snapdelta skip {}</code></td></tr>",
          EscapeMarkup(ImportPath(*record)), EscapeMarkup(record->reason), record->counts.inserts,
          record->counts.updates, record->counts.deletes, EscapeMarkup(ImportPath(*record)),
          EscapeMarkup(ImportPath(*record)));
    }
    body += "</table>";
  }
  if (!failed.empty()) {
    body +=
        "<h2>Failed</h2><table><tr><th>import</th><th>failure</th><th>message</th>"
        "<th>next</th></tr>";
    for (const ImportRecord* record : failed) {
      body += fmt::format("<tr><td>{}</td><td class=\"failed\">{}</td><td>{}</td><td>{}</td></tr>",
                          EscapeMarkup(ImportPath(*record)), FailureKindName(record->failure),
                          EscapeMarkup(record->reason), EscapeMarkup(FailureNextStep(*record)));
    }
    body += "</table>";
  }
  return Page("snapdelta status", body, true);
}

std::string RenderTablePage(const RegistrySnapshot& snapshot, const std::string& tenant,
                            const std::string& table, int64_t now_ms) {
  std::vector<const ImportRecord*> imports;
  for (const ImportRecord& record : snapshot.imports) {
    if (record.tenant == tenant && record.table == table) imports.push_back(&record);
  }
  if (imports.empty()) return "";
  std::sort(imports.begin(), imports.end(), [](const ImportRecord* a, const ImportRecord* b) {
    return std::tie(a->version, a->id) < std::tie(b->version, b->id);
  });
  // The chart: one stacked bar per import (inserts, updates, deletes), oldest on the left.
  constexpr int kWidth = 720, kHeight = 160, kMaxBars = 60;
  const size_t first = imports.size() > kMaxBars ? imports.size() - kMaxBars : 0;
  uint64_t most = 1;
  for (size_t i = first; i < imports.size(); ++i)
    most = std::max(most, imports[i]->counts.events());
  const double bar = static_cast<double>(kWidth) / static_cast<double>(imports.size() - first);
  std::string svg =
      fmt::format("<svg width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"events per import\">",
                  kWidth, kHeight + 20);
  for (size_t i = first; i < imports.size(); ++i) {
    const ImportRecord& record = *imports[i];
    double y = kHeight;
    const double x = bar * static_cast<double>(i - first);
    for (auto [count, color] :
         {std::pair{record.counts.inserts, "#2e7d32"}, std::pair{record.counts.updates, "#1565c0"},
          std::pair{record.counts.deletes, "#c62828"}}) {
      double h = static_cast<double>(count) * kHeight / static_cast<double>(most);
      y -= h;
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
          "<title>{}: {}</title></rect>",
          x + 1, y, std::max(1.0, bar - 2), h, color, EscapeMarkup(record.version), count);
    }
  }
  svg += fmt::format(
      "<text x=\"0\" y=\"{}\" font-size=\"12\">insert (green), update (blue), delete (red); "
      "highest bar {} events</text></svg>",
      kHeight + 16, most);
  std::string body = fmt::format("<p><a href=\"/\">all tables</a></p><h1>{}/{}</h1>{}",
                                 EscapeMarkup(tenant), EscapeMarkup(table), svg);
  auto leases = HeldLeases(snapshot, now_ms);
  if (auto lease = leases.find({tenant, table}); lease != leases.end()) {
    body += fmt::format("<p>Lease held by {}</p>", EscapeMarkup(lease->second->owner));
  }
  body += "<table><tr>" + ImportHeader() + "</tr>";
  for (auto it = imports.rbegin(); it != imports.rend(); ++it) {
    body += "<tr>" + ImportCells(**it) + "</tr>";
  }
  body += "</table>";
  return Page(tenant + "/" + table, body, true);
}

}  // namespace snapdelta
