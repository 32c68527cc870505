// Crash recovery, end to end: `snapdelta run` dies by SIGKILL, either at a named crash point
// (SNAPDELTA_CRASH_AT, see src/base/fs.h) or at a random moment, and is then rerun to completion.
// Contract checked (doc/delivery.md):
//  - at every moment after a crash, a change file or state file under its final name is complete:
//    byte for byte the file an uninterrupted run writes for that version (never a half file);
//  - after the rerun, the change files, the state files and the status (state and counts per
//    import) equal those of an uninterrupted run, and no temp file is left behind.
//
// A worker killed while it holds a table's lease is detected as dead by the rerun (same host,
// its process gone), which takes the lease over at once: reruns here never wait.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "change_checks.h"
#include "harness.h"

namespace snapdelta::testing {
namespace {

constexpr char kTenant[] = "acme";
constexpr char kTable[] = "orders";
constexpr int kKilledExit = 128 + SIGKILL;
const std::vector<std::string> kVersions = {"v0001", "v0002", "v0003"};

// 4000 rows make the first change file about 1.3 MiB, so sink.mid_file is reached once.
constexpr int kSmallChainRows = 4000;
// About 0.5 s per `run` of the whole chain with an idle RelWithDebInfo build, 1 s on a busy one.
constexpr int kLargeChainRows = 100000;
constexpr int kRandomIterations = 10;

// Writes a chain of three gzip exports of acme/orders under `dir` (snapdelta-gen --landing).
void GenerateChain(const fs::path& dir, int rows, int seed) {
  const CommandResult gen = RunCommand(
      {GenBin().string(), dir.string(), "--rows", std::to_string(rows), "--exports", "3", "--gzip",
       "--seed", std::to_string(seed), "--landing", std::string(kTenant) + "/" + kTable});
  ASSERT_EQ(gen.exit_code, 0) << gen.Describe();
}

void Deliver(const fs::path& chain, const fs::path& landing, const std::string& version) {
  CopyTree(chain / kTenant / kTable / version, landing / kTenant / kTable / version);
}

CommandResult RunEngine(const fs::path& landing, const fs::path& home,
                        const std::string& crash_at = "") {
  RunOptions options;
  if (!crash_at.empty()) options.env.push_back("SNAPDELTA_CRASH_AT=" + crash_at);
  return RunSnapdelta({"run", "--landing", landing.string(), "--home", home.string()}, options);
}

std::vector<std::string> TempFiles(const fs::path& home) {
  std::vector<std::string> temps;
  for (const auto& [path, content] : SnapshotTree(home)) {
    if (path.ends_with(".tmp")) temps.push_back(path);
  }
  return temps;
}

// Every change or state file under its final name is complete: the clean run's file of that name.
void ExpectNoHalfFiles(const fs::path& home, const Outcome& clean) {
  for (const auto& [dir, expected] :
       {std::pair{"changes", &clean.changes}, std::pair{"state", &clean.states}}) {
    for (const auto& [path, content] : SnapshotTree(home / dir)) {
      if (path.ends_with(".tmp")) continue;
      auto it = expected->find(path);
      if (it == expected->end()) {
        ADD_FAILURE() << dir << "/" << path << " is not a file the clean run writes";
      } else if (it->second != content) {
        ADD_FAILURE() << dir << "/" << path << " is visible with " << content.size()
                      << " bytes that differ from the clean run's " << it->second.size();
      }
    }
  }
}

void ExpectSameOutcome(const fs::path& home, const Outcome& clean) {
  ExpectSameOutcome(ReadOutcome(home), clean);
  EXPECT_EQ(TempFiles(home), std::vector<std::string>{});
}

// Runs again right away; the run must take the dead worker's lease over and finish everything.
// An import killed twice is failed as a crash that holds its table back (it might be the export
// that kills the worker); as an operator would, the test then retries it by hand and reruns.
void RerunToCompletion(const fs::path& landing, const fs::path& home) {
  CommandResult rerun = RunEngine(landing, home);
  const std::string crashed = "crashed the worker twice";
  if (rerun.exit_code == 1 && rerun.out.find(crashed) != std::string::npos) {
    const size_t start = rerun.out.find("snapdelta retry ");
    ASSERT_NE(start, std::string::npos) << rerun.Describe();
    const size_t end = rerun.out.find('`', start);
    const std::string path = rerun.out.substr(start + 16, end - start - 16);
    const CommandResult retry =
        RunSnapdelta({"retry", path, "--landing", landing.string(), "--home", home.string()});
    ASSERT_EQ(retry.exit_code, 0) << retry.Describe();
    rerun = RunEngine(landing, home);
  }
  ASSERT_EQ(rerun.exit_code, 0) << rerun.Describe();
  EXPECT_EQ(rerun.err.find("busy"), std::string::npos) << rerun.Describe();
}

enum class Delivery { kAllAtOnce, kOneAtATime };

struct CrashCase {
  std::string point;
  int hit;
  Delivery delivery;
};

std::string CaseName(const ::testing::TestParamInfo<CrashCase>& info) {
  std::string name = info.param.point + "_" + std::to_string(info.param.hit) +
                     (info.param.delivery == Delivery::kAllAtOnce ? "_AllAtOnce" : "_OneAtATime");
  for (char& c : name) {
    if (c == '.') c = '_';
  }
  return name;
}

// The crash at `point`:`hit` happens in every run of a step, except sink.mid_file, which only
// the first export's change file (the only one past 1 MiB) reaches.
bool StepCrashes(const CrashCase& c, const std::string& version) {
  return c.point != "sink.mid_file" || version == kVersions.front();
}

std::vector<CrashCase> AllCrashCases() {
  std::vector<CrashCase> cases;
  // Two atomic files per import (.state, change file): hits 1..6 cover every file of every
  // import of a whole-chain run, 1..2 every file of a one-version run.
  for (const char* point : {"file.before_rename", "file.after_rename"}) {
    for (int hit = 1; hit <= 6; ++hit) cases.push_back({point, hit, Delivery::kAllAtOnce});
    for (int hit = 1; hit <= 2; ++hit) cases.push_back({point, hit, Delivery::kOneAtATime});
  }
  cases.push_back({"sink.mid_file", 1, Delivery::kAllAtOnce});
  cases.push_back({"sink.mid_file", 1, Delivery::kOneAtATime});
  for (const char* point : {"sink.before_commit", "import.after_running", "import.after_state",
                            "import.before_commit", "import.after_commit"}) {
    for (int hit = 1; hit <= 3; ++hit) cases.push_back({point, hit, Delivery::kAllAtOnce});
    cases.push_back({point, 1, Delivery::kOneAtATime});
  }
  return cases;
}

// A generated chain and the outcome of running it without a crash, shared by a suite's tests.
struct CleanChain {
  std::unique_ptr<TempDir> dir;
  fs::path chain;
  Outcome clean;
  std::chrono::milliseconds run_time{0};
};

// REQUIRES: called from SetUpTestSuite; failures there abort every test of the suite.
void PrepareCleanChain(CleanChain* out, int rows, int seed) {
  out->dir = std::make_unique<TempDir>("snapdelta-crash-clean");
  out->chain = out->dir->path() / "chain";
  GenerateChain(out->chain, rows, seed);
  const fs::path landing = out->dir->path() / "landing", home = out->dir->path() / "home";
  for (const std::string& version : kVersions) Deliver(out->chain, landing, version);
  const auto start = std::chrono::steady_clock::now();
  const CommandResult run = RunEngine(landing, home);
  out->run_time = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  out->clean = ReadOutcome(home);
  ASSERT_EQ(out->clean.changes.size(), kVersions.size());
  ASSERT_EQ(out->clean.status.size(), kVersions.size());
}

class CrashAtPoint : public ::testing::TestWithParam<CrashCase> {
 protected:
  static void SetUpTestSuite() {
    chain_ = new CleanChain;
    PrepareCleanChain(chain_, kSmallChainRows, 11);
  }
  static void TearDownTestSuite() {
    delete chain_;
    chain_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(chain_->clean.changes.empty()) << "the clean run failed; see the first test";
  }

  // Delivers `versions`, runs with the crash armed, checks what the crash left, then recovers.
  void CrashAndRecover(const std::vector<std::string>& versions, bool expect_crash) {
    const CrashCase& c = GetParam();
    for (const std::string& version : versions) Deliver(chain_->chain, landing_, version);
    const CommandResult crashed = RunEngine(landing_, home_, c.point + ":" + std::to_string(c.hit));
    ASSERT_EQ(crashed.exit_code, expect_crash ? kKilledExit : 0) << crashed.Describe();
    ExpectNoHalfFiles(home_, chain_->clean);
    RerunToCompletion(landing_, home_);
  }

  static CleanChain* chain_;
  TempDir tmp_{"snapdelta-crash"};
  const fs::path landing_ = tmp_ / "landing";
  const fs::path home_ = tmp_ / "home";
};

CleanChain* CrashAtPoint::chain_ = nullptr;

TEST_P(CrashAtPoint, LeavesOnlyCompleteFilesAndTheRerunMatchesACleanRun) {
  const CrashCase& c = GetParam();
  if (c.delivery == Delivery::kAllAtOnce) {
    CrashAndRecover(kVersions, true);
  } else {
    for (const std::string& version : kVersions) {
      SCOPED_TRACE("delivered " + version);
      CrashAndRecover({version}, StepCrashes(c, version));
      if (HasFatalFailure()) return;
    }
  }
  ExpectSameOutcome(home_, chain_->clean);
}

INSTANTIATE_TEST_SUITE_P(CrashPoints, CrashAtPoint, ::testing::ValuesIn(AllCrashCases()), CaseName);

// Right after a crash, a rerun takes the dead worker's lease over (same host, its process gone)
// and finishes every pending import: it exits 0 only when all are committed, and it must.
TEST(CrashRecovery, RerunRightAfterACrashFinishesThePendingImports) {
  TempDir tmp("snapdelta-crash-lease");
  GenerateChain(tmp / "chain", 1000, 5);
  for (const std::string& version : kVersions) Deliver(tmp / "chain", tmp / "landing", version);
  const CommandResult crashed = RunEngine(tmp / "landing", tmp / "home", "import.after_state");
  ASSERT_EQ(crashed.exit_code, kKilledExit) << crashed.Describe();

  const CommandResult rerun = RunEngine(tmp / "landing", tmp / "home");
  const nlohmann::json status = ReadStatus(tmp / "home");
  int committed = 0;
  for (const nlohmann::json& entry : status) committed += entry.value("state", "") == "committed";
  EXPECT_EQ(rerun.exit_code, 0) << rerun.Describe();
  EXPECT_EQ(committed, 3) << rerun.Describe() << "\nstatus: " << status.dump(1);
}

// `snapdelta run` in the background, with stdout and stderr to `log`, for a test that kills it.
pid_t SpawnRun(const fs::path& landing, const fs::path& home, const fs::path& log) {
  return SpawnSnapdelta({"run", "--landing", landing.string(), "--home", home.string()}, log);
}

// Kills the child after `delay` and reaps it. Returns its exit status, 128 + signal when killed.
int KillAfter(pid_t pid, std::chrono::microseconds delay) {
  std::this_thread::sleep_for(delay);
  return StopProcess(pid, SIGKILL);
}

class CrashAtRandomTimes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    chain_ = new CleanChain;
    PrepareCleanChain(chain_, kLargeChainRows, 23);
  }
  static void TearDownTestSuite() {
    delete chain_;
    chain_ = nullptr;
  }
  static CleanChain* chain_;
};

CleanChain* CrashAtRandomTimes::chain_ = nullptr;

// SNAPDELTA_CRASH_SEED=<n> repeats a seed's schedule (timings still vary from run to run).
uint64_t CrashSeed() {
  const char* text = std::getenv("SNAPDELTA_CRASH_SEED");
  if (text != nullptr && *text != '\0') return std::strtoull(text, nullptr, 10);
  return std::random_device()();
}

TEST_F(CrashAtRandomTimes, EveryKillLeavesOnlyCompleteFilesAndTheRerunMatchesACleanRun) {
  ASSERT_FALSE(chain_->clean.changes.empty()) << "the clean run failed";
  const uint64_t seed = CrashSeed();
  std::cout << "[ seed     ] SNAPDELTA_CRASH_SEED=" << seed << "; a clean run took "
            << chain_->run_time.count() << " ms\n";
  std::mt19937_64 random(seed);
  // Kill times spread over a whole run, a little past its end to also kill between steps.
  const int64_t span_us = std::max<int64_t>(50'000, chain_->run_time.count() * 1100);
  std::uniform_int_distribution<int64_t> delay_us(0, span_us);
  std::uniform_int_distribution<int> kills_per_iteration(1, 3);
  for (int iteration = 0; iteration < kRandomIterations; ++iteration) {
    TempDir tmp("snapdelta-crash-random");
    const fs::path landing = tmp / "landing", home = tmp / "home";
    for (const std::string& version : kVersions) Deliver(chain_->chain, landing, version);
    const int kills = kills_per_iteration(random);
    for (int kill = 0; kill < kills; ++kill) {
      // A rerun only has the rest to do: later kills come sooner so most still interrupt it.
      const std::chrono::microseconds delay(delay_us(random) / (kill + 1));
      const std::string what = "seed " + std::to_string(seed) + ", iteration " +
                               std::to_string(iteration) + ", kill " + std::to_string(kill) +
                               " after " + std::to_string(delay.count() / 1000) + " ms";
      SCOPED_TRACE(what);
      const pid_t pid = SpawnRun(landing, home, tmp / "run.log");
      ASSERT_GT(pid, 0);
      const int exit_code = KillAfter(pid, delay);
      std::cout << "[ kill     ] " << what << ": exit " << exit_code << "\n";
      // Exit 1 only when an import killed twice was failed as a crash (RerunToCompletion retries
      // it by hand).
      const std::string log = ReadFile(tmp / "run.log");
      const bool crash_failed =
          exit_code == 1 && log.find("crashed the worker twice") != std::string::npos;
      ASSERT_TRUE(exit_code == kKilledExit || exit_code == 0 || crash_failed)
          << "exit " << exit_code << "\n"
          << log;
      ExpectNoHalfFiles(home, chain_->clean);
      if (exit_code != kKilledExit) break;  // the run ended before the kill
    }
    SCOPED_TRACE("seed " + std::to_string(seed) + ", iteration " + std::to_string(iteration));
    RerunToCompletion(landing, home);
    ExpectSameOutcome(home, chain_->clean);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace snapdelta::testing
