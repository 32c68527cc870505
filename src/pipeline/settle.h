// Settling: telling a finished upload from one still being written to its final name, for
// landing zones that are plain folders (a writer may append to the final name for minutes).
#ifndef SNAPDELTA_PIPELINE_SETTLE_H_
#define SNAPDELTA_PIPELINE_SETTLE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "snapdelta/landing.h"
#include "snapdelta/registry.h"

namespace snapdelta {

// Tells a finished upload from one still being written to its final name. A file is settled
// once its size and mtime stayed the same across two looks at least `settle_ms` apart, or at
// the first look when its mtime is at least `settle_ms` in the past. First looks are kept from
// one discovery pass to the next. Not thread-safe.
class SettleTracker {
 public:
  // settle_ms <= 0: every file is settled at the first look.
  explicit SettleTracker(int64_t settle_ms, Clock clock = SystemClockMs);

  // Whether `file` is settled now; when not, remembers this look (or keeps an earlier look
  // that saw the same size and mtime).
  bool Settled(const LandingFile& file);
  // Milliseconds until a file that was not settled at its last look is due for the next one
  // (0 when due now); nullopt when every file looked at was settled.
  std::optional<int64_t> NextLookInMs() const;
  int64_t settle_ms() const { return settle_ms_; }

 private:
  struct Look {
    uint64_t size = 0;
    int64_t mtime_ms = 0;
    int64_t at_ms = 0;  // when this size and mtime were first seen
  };
  int64_t settle_ms_;
  Clock clock_;
  std::map<std::string, Look> unsettled_;  // by path
};

// Sleeps until `settle` is due for its next look, waking early when `stop` (may be null) is
// set. Returns true when a next look is due; false, without sleeping, when none is pending or
// a stop was requested.
bool WaitForNextLook(const SettleTracker& settle, const std::atomic<bool>* stop);

// "<tenant>/<table>/<version>/<file>: still being written (...); left for a later run".
std::string UnsettledNote(const LandingFile& file, int64_t settle_ms);

}  // namespace snapdelta

#endif  // SNAPDELTA_PIPELINE_SETTLE_H_
