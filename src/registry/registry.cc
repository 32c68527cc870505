// Parts of registry.h shared by every Registry implementation: the system clock and the text
// names under which import states are persisted.
#include "snapdelta/registry.h"

#include "base/env.h"

namespace snapdelta {

int64_t SystemClockMs() { return Env::Default()->NowMs(); }

std::string PublishLeaseTable(const std::string& table) { return table + "/publish"; }

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
    case ImportState::kWaiting:
      return "waiting";
    case ImportState::kRewound:
      return "rewound";
  }
  return "unknown";
}

std::optional<ImportState> ParseImportState(std::string_view name) {
  for (ImportState state : {ImportState::kDiscovered, ImportState::kRunning,
                            ImportState::kCommitted, ImportState::kFailed, ImportState::kSkipped,
                            ImportState::kHeld, ImportState::kRewound, ImportState::kWaiting}) {
    if (ImportStateName(state) == name) return state;
  }
  return std::nullopt;
}

std::string_view FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kNone:
      return "";
    case FailureKind::kEnvironment:
      return "environment";
    case FailureKind::kContent:
      return "content";
    case FailureKind::kCrash:
      return "crash";
  }
  return "content";
}

std::optional<FailureKind> ParseFailureKind(std::string_view name) {
  for (FailureKind kind : {FailureKind::kNone, FailureKind::kEnvironment, FailureKind::kContent,
                           FailureKind::kCrash}) {
    if (FailureKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

FailureKind ClassifyFailure(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return FailureKind::kNone;
    case StatusCode::kIOError:
    case StatusCode::kAborted:
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
      return FailureKind::kEnvironment;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kCorruption:
      return FailureKind::kContent;
  }
  return FailureKind::kContent;
}

}  // namespace snapdelta
