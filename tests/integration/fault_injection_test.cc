// Faults instead of kills: every file operation of an import on the home (and every read of the
// landing zone) is made to fail in turn, with ENOSPC, EROFS, EIO or a short write, through the
// Env seam (tests/fault_env.h). Contract checked, for every failure point:
//  - the run does not abort; an import the fault hit is failed as an environment failure (never
//    as bad content), publishes nothing, and holds its table's later versions back;
//  - once the fault is lifted, later runs retry it (backoff 0 here) and end with change files
//    byte-identical to a clean run's, and the same committed counts.
// The engine runs in this process (RunOnce), so the Env installed here is the one it uses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "fault_env.h"
#include "harness.h"
#include "snapdelta/engine.h"

namespace snapdelta::testing {
namespace {

// Runs after the fault is lifted: the failed import's retry, then what waited behind it.
constexpr int kRecoveryRuns = 3;

struct Outcome {
  std::map<std::string, std::string> changes;  // change files, byte for byte
  std::vector<std::string> imports;            // "version state rows/i/u/d", per import
};

class FaultInjection : public ::testing::Test {
 protected:
  void SetUp() override { CopyTree(ExamplesLanding(), landing_); }

  EngineOptions Options(const fs::path& home) const {
    EngineOptions options;
    options.landing = landing_.string();
    options.home = home.string();
    options.retry_backoff_ms = 0;
    options.settle_ms = 0;  // the exports were copied in just before
    options.workers = 1;
    return options;
  }

  Outcome Read(const fs::path& home) {
    Outcome outcome;
    outcome.changes = SnapshotTree(home / "changes");
    StatusOr<std::unique_ptr<Registry>> registry =
        OpenSqliteRegistry((home / "registry.db").string());
    EXPECT_TRUE(registry.ok()) << registry.status().ToString();
    if (!registry.ok()) return outcome;
    auto imports = (*registry)->ListImports();
    EXPECT_TRUE(imports.ok());
    if (!imports.ok()) return outcome;
    for (const ImportRecord& record : *imports) {
      if (record.state != ImportState::kCommitted) continue;
      outcome.imports.push_back(record.version + " " + std::to_string(record.counts.rows) + "/" +
                                std::to_string(record.counts.inserts) + "/" +
                                std::to_string(record.counts.updates) + "/" +
                                std::to_string(record.counts.deletes));
    }
    // By version: a file that could not be read at discovery is registered again, with a new id.
    std::sort(outcome.imports.begin(), outcome.imports.end());
    return outcome;
  }

  // The outcome of a run without faults, and how many operations of `ops` it makes under `root`.
  Outcome Clean(FaultEnv::Ops ops, const fs::path& root_of, long* counted) {
    const fs::path home = tmp_ / "clean";
    FaultEnv counter(root_of == landing_ ? landing_.string() : home.string(), ops, 0, 0);
    {
      ScopedEnv scoped(&counter);
      StatusOr<RunReport> report = RunOnce(Options(home));
      EXPECT_TRUE(report.ok()) << report.status().ToString();
      EXPECT_FALSE(report.ok() && report->any_failed());
    }
    *counted = counter.counted();
    Outcome outcome = Read(home);
    EXPECT_EQ(outcome.imports.size(), 3u);
    fs::remove_all(home);
    return outcome;
  }

  // Fails the n-th operation (and all later ones) until lifted, then recovers.
  void FailThenRecover(FaultEnv::Ops ops, bool on_landing, long n, int error, FaultEnv::Mode mode,
                       const Outcome& clean) {
    const fs::path home = tmp_ / ("home-" + std::to_string(n));
    FaultEnv faults(on_landing ? landing_.string() : home.string(), ops, n, error, mode);
    int failed = 0;
    {
      ScopedEnv scoped(&faults);
      StatusOr<RunReport> report = RunOnce(Options(home));
      if (report.ok()) {
        for (const ImportRecord& record : report->imports) {
          if (record.state != ImportState::kFailed) continue;
          ++failed;
          EXPECT_EQ(record.failure, FailureKind::kEnvironment) << record.reason;
          EXPECT_FALSE(fs::exists(home / "changes" / record.tenant / record.table /
                                  (record.version + ".jsonl")))
              << "a failed import left events behind";
        }
      }
    }
    // The last reads of a file may or may not happen, by the read-ahead thread's timing: a point
    // past them is a clean run, whose outcome is checked all the same.
    if (faults.fired()) ++points_fired_;
    failures_seen_ += failed;
    faults.Lift();
    for (int run = 0; run < kRecoveryRuns; ++run) {
      StatusOr<RunReport> report = RunOnce(Options(home));
      ASSERT_TRUE(report.ok()) << report.status().ToString();
      if (report->imports.empty() && report->waiting.empty()) break;  // nothing left to retry
    }
    Outcome after = Read(home);
    EXPECT_EQ(after.imports, clean.imports);
    EXPECT_TRUE(after.changes == clean.changes) << "change files differ from a clean run's";
    fs::remove_all(home);
  }

  void EveryPoint(FaultEnv::Ops ops, bool on_landing, int error, FaultEnv::Mode mode) {
    long points = 0;
    const Outcome clean = Clean(ops, on_landing ? landing_ : fs::path(), &points);
    ASSERT_GT(points, 3);
    for (long n = 1; n <= points; ++n) {
      SCOPED_TRACE("failing operation " + std::to_string(n) + " of " + std::to_string(points) +
                   " with " + std::strerror(error));
      FailThenRecover(ops, on_landing, n, error, mode, clean);
      if (HasFailure()) return;
    }
    EXPECT_GE(points_fired_, points - kUnreachedPointsAllowed);
    // Most points fail an import; the others fail the run itself (its home folder).
    EXPECT_GT(failures_seen_, points / 2);
  }

  // Points a faulted run may not reach (see FailThenRecover).
  static constexpr long kUnreachedPointsAllowed = 2;
  int failures_seen_ = 0;  // failed imports over all points
  long points_fired_ = 0;  // points whose fault was injected
  TempDir tmp_{"snapdelta-faults"};
  const fs::path landing_ = tmp_ / "landing";
};

TEST_F(FaultInjection, DiskFullAtEveryWriteOfTheHomeIsRetriedToTheCleanResult) {
  EveryPoint(FaultEnv::Ops::kWrites, false, ENOSPC, FaultEnv::Mode::kError);
}

TEST_F(FaultInjection, ReadOnlyHomeAtEveryWriteIsRetriedToTheCleanResult) {
  EveryPoint(FaultEnv::Ops::kWrites, false, EROFS, FaultEnv::Mode::kError);
}

TEST_F(FaultInjection, IoErrorAtEveryWriteOfTheHomeIsRetriedToTheCleanResult) {
  EveryPoint(FaultEnv::Ops::kWrites, false, EIO, FaultEnv::Mode::kError);
}

TEST_F(FaultInjection, ShortWriteThenDiskFullIsRetriedToTheCleanResult) {
  EveryPoint(FaultEnv::Ops::kWrites, false, ENOSPC, FaultEnv::Mode::kShortWrite);
}

TEST_F(FaultInjection, IoErrorAtEveryReadOfTheHomeIsRetriedToTheCleanResult) {
  EveryPoint(FaultEnv::Ops::kReads, false, EIO, FaultEnv::Mode::kError);
}

TEST_F(FaultInjection, IoErrorAtEveryReadOfTheLandingZoneIsRetriedToTheCleanResult) {
  EveryPoint(FaultEnv::Ops::kReads, true, EIO, FaultEnv::Mode::kError);
}

}  // namespace
}  // namespace snapdelta::testing
