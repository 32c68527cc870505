// Parts of registry.h shared by every Registry implementation: the system clock and the text
// names under which import states are persisted.
#include "snapdelta/registry.h"

#include <chrono>

namespace snapdelta {

int64_t SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view ImportStateName(ImportState state) {
  switch (state) {
    case ImportState::kDiscovered:
      return "discovered";
    case ImportState::kRunning:
      return "running";
    case ImportState::kCommitted:
      return "committed";
    case ImportState::kFailed:
      return "failed";
    case ImportState::kSkipped:
      return "skipped";
    case ImportState::kHeld:
      return "held";
    case ImportState::kRewound:
      return "rewound";
  }
  return "unknown";
}

std::optional<ImportState> ParseImportState(std::string_view name) {
  for (ImportState state :
       {ImportState::kDiscovered, ImportState::kRunning, ImportState::kCommitted,
        ImportState::kFailed, ImportState::kSkipped, ImportState::kHeld, ImportState::kRewound}) {
    if (ImportStateName(state) == name) return state;
  }
  return std::nullopt;
}

}  // namespace snapdelta
