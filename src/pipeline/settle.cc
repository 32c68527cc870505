#include "pipeline/settle.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace snapdelta {
namespace {

// Waits are cut into slices this long so a stop request is seen quickly.
constexpr int64_t kStopCheckSliceMs = 100;

}  // namespace

SettleTracker::SettleTracker(int64_t settle_ms, Clock clock)
    : settle_ms_(settle_ms), clock_(std::move(clock)) {}

bool SettleTracker::Settled(const LandingFile& file) {
  if (settle_ms_ <= 0) return true;
  const int64_t now = clock_();
  if (now - file.mtime_ms >= settle_ms_) {
    unsettled_.erase(file.path);
    return true;
  }
  auto [it, inserted] = unsettled_.try_emplace(file.path, Look{file.size, file.mtime_ms, now});
  Look& look = it->second;
  if (!inserted && look.size == file.size && look.mtime_ms == file.mtime_ms) {
    if (now - look.at_ms >= settle_ms_) {
      unsettled_.erase(it);
      return true;
    }
    return false;
  }
  look = Look{file.size, file.mtime_ms, now};
  return false;
}

std::optional<int64_t> SettleTracker::NextLookInMs() const {
  if (unsettled_.empty()) return std::nullopt;
  const int64_t now = clock_();
  int64_t next = settle_ms_;
  for (const auto& [path, look] : unsettled_) {
    next = std::min(next, look.at_ms + settle_ms_ - now);
  }
  return std::max<int64_t>(next, 0);
}

bool WaitForNextLook(const SettleTracker& settle, const std::atomic<bool>* stop) {
  std::optional<int64_t> wait_ms = settle.NextLookInMs();
  if (!wait_ms) return false;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(*wait_ms);
  for (;;) {
    if (stop != nullptr && stop->load()) return false;
    auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        left, std::chrono::milliseconds(kStopCheckSliceMs)));
  }
}

std::string UnsettledNote(const LandingFile& file, int64_t settle_ms) {
  return fmt::format(
      "{}: still being written (modified within the last {:.1f} s, see settle_seconds); left for "
      "a later run, with the later versions of its table",
      file.Name(), static_cast<double>(settle_ms) / 1000.0);
}

}  // namespace snapdelta
