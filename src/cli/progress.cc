#include "cli/progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#include "base/console.h"
#include "pipeline/importer.h"

namespace snapdelta::cli {
namespace {

// Redraws are at least this far apart (a new or ended import redraws at once).
constexpr auto kRedrawInterval = std::chrono::milliseconds(200);

struct Running {
  ImportRecord record;
  ImportProgress progress;
  std::chrono::steady_clock::time_point started;
};

std::mutex g_mutex;
std::map<std::string, Running> g_running;  // guarded by g_mutex, by tenant/table/version
std::chrono::steady_clock::time_point g_last_redraw;

// "412", "41.2k", "4.12M".
std::string Count(double value) {
  if (value >= 1e9) return fmt::format("{:.2f}G", value / 1e9);
  if (value >= 1e6) return fmt::format("{:.2f}M", value / 1e6);
  if (value >= 1e4) return fmt::format("{:.0f}k", value / 1e3);
  return fmt::format("{:.0f}", value);
}

// "0:07", "1:02:03".
std::string Clock(double seconds) {
  auto total = static_cast<int64_t>(seconds + 0.5);
  if (total >= 3600) {
    return fmt::format("{}:{:02d}:{:02d}", total / 3600, static_cast<int>(total / 60 % 60),
                       static_cast<int>(total % 60));
  }
  return fmt::format("{}:{:02d}", total / 60, static_cast<int>(total % 60));
}

// REQUIRES: g_mutex held.
void RedrawLocked(std::chrono::steady_clock::time_point now) {
  g_last_redraw = now;
  size_t name_width = 0;
  for (const auto& [key, running] : g_running) name_width = std::max(name_width, key.size());
  std::vector<std::string> lines;
  for (const auto& [key, running] : g_running) {
    lines.push_back(
        ProgressLine(running.record, running.progress, now - running.started, name_width));
  }
  console::SetProgress(lines);
}

}  // namespace

std::string ProgressLine(const ImportRecord& record, const ImportProgress& progress,
                         std::chrono::steady_clock::duration elapsed, size_t name_width) {
  double seconds = std::chrono::duration<double>(elapsed).count();
  double bytes = static_cast<double>(progress.bytes_read);
  double size = static_cast<double>(record.size);
  std::string line = ImportPath(record);
  if (line.size() < name_width) line.append(name_width - line.size(), ' ');
  if (size > 0) {
    line += fmt::format("  {:3.0f}%  {:.1f} of {:.1f} MB", std::min(100.0, 100.0 * bytes / size),
                        bytes / 1e6, size / 1e6);
  } else {
    line += fmt::format("  {:.1f} MB", bytes / 1e6);
  }
  line += fmt::format("  {} rows", Count(static_cast<double>(progress.rows_read)));
  if (seconds >= 0.05 && progress.rows_read > 0) {
    line += fmt::format("  {} rows/s", Count(static_cast<double>(progress.rows_read) / seconds));
  }
  if (bytes > 0 && size > bytes && seconds >= 0.05) {
    line += "  ETA " + Clock(seconds * (size - bytes) / bytes);
  } else if (bytes >= size && size > 0) {
    line += "  finishing";
  }
  return line;
}

void ShowProgress(const ImportRecord& record, const ImportProgress& progress) {
  if (!console::StderrIsTerminal()) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  auto now = std::chrono::steady_clock::now();
  auto [it, added] = g_running.try_emplace(ImportPath(record), Running{record, progress, now});
  it->second.progress = progress;
  if (added || now - g_last_redraw >= kRedrawInterval) RedrawLocked(now);
}

void EndProgress(const ImportRecord& record) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_running.erase(ImportPath(record)) > 0) RedrawLocked(std::chrono::steady_clock::now());
}

void ClearProgress() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_running.empty()) return;
  g_running.clear();
  RedrawLocked(std::chrono::steady_clock::now());
}

}  // namespace snapdelta::cli
