// Change guards and by-hand operations, end to end. An import whose delta looks like a broken
// export is held: nothing published, the table's state untouched, the next export diffs against
// the last committed state. `release` publishes a held import (refused as stale once a newer
// export is committed), `skip` drops it, `rewind` puts a table's state back to a kept committed
// version. Event content is checked against the sqlite3 oracle of change_checks.h; the crash
// cases kill `release` and `rewind` at named points (doc/crash-points.md) and check that running
// the same command again ends where an uninterrupted run ends.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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

// An export "id,name,amount" of the ids 1..last, less the multiples of drop_every; the multiples
// of update_every carry a different amount than the base table.
struct ExportShape {
  int last = 0;
  int update_every = 0;
  int drop_every = 0;
};

std::string MakeCsv(const ExportShape& shape) {
  std::string csv = "id,name,amount\n";
  for (int id = 1; id <= shape.last; ++id) {
    if (shape.drop_every > 0 && id % shape.drop_every == 0) continue;
    const bool updated = shape.update_every > 0 && id % shape.update_every == 0;
    csv += std::to_string(id) + ",name " + std::to_string(id) + "," + (updated ? "u" : "") +
           std::to_string(id * 3) + "\n";
  }
  return csv;
}

ChangeFileSpec SpecOf(const std::string& version) {
  return {kTenant, kTable, version, {"id"}, false};
}

// One landing zone and one snapdelta home, and the commands a user runs against them. The
// config file is passed to every command that takes one once SetConfig wrote it.
class Site {
 public:
  explicit Site(const fs::path& root)
      : landing_(root / "landing"), home_(root / "home"), config_(root / "snapdelta.toml") {}

  const fs::path& landing() const { return landing_; }
  const fs::path& home() const { return home_; }

  fs::path Deliver(const std::string& version, const std::string& csv,
                   const std::string& table = kTable) const {
    const fs::path file = landing_ / kTenant / table / version / "export.csv";
    WriteFile(file, csv);
    return file;
  }
  fs::path Deliver(const std::string& version, const ExportShape& shape) const {
    return Deliver(version, MakeCsv(shape));
  }
  void SetConfig(const std::string& toml) {
    WriteFile(config_, toml);
    with_config_ = true;
  }

  CommandResult Run(const std::string& crash_at = "") const {
    return Snapdelta({"run", "--landing", landing_.string()}, true, crash_at);
  }
  CommandResult Release(const std::string& version, const std::string& crash_at = "") const {
    return Snapdelta({"release", Path(version), "--landing", landing_.string()}, true, crash_at);
  }
  CommandResult Skip(const std::string& version) const {
    return Snapdelta({"skip", Path(version)}, false, "");
  }
  CommandResult Rewind(const std::string& version, const std::string& crash_at = "") const {
    return Snapdelta({"rewind", std::string(kTenant) + "/" + kTable, "--to", version}, true,
                     crash_at);
  }

  fs::path ChangeFile(const std::string& version) const {
    return ChangeFilePath(home_, SpecOf(version));
  }
  // The status entry of acme/orders/VERSION (null, and a failure, unless there is exactly one).
  nlohmann::json StatusOf(const std::string& version) const {
    const std::vector<nlohmann::json> entries =
        StatusEntries(ReadStatus(home_), kTenant, kTable, version);
    if (entries.size() != 1) {
      ADD_FAILURE() << entries.size() << " status entries for " << Path(version);
      return nullptr;
    }
    return entries.front();
  }
  Outcome ReadOutcome() const { return testing::ReadOutcome(home_); }

 private:
  static std::string Path(const std::string& version) {
    return std::string(kTenant) + "/" + kTable + "/" + version;
  }
  CommandResult Snapdelta(std::vector<std::string> args, bool takes_config,
                          const std::string& crash_at) const {
    args.insert(args.end(), {"--home", home_.string()});
    if (takes_config && with_config_) args.insert(args.end(), {"--config", config_.string()});
    RunOptions options;
    if (!crash_at.empty()) options.env.push_back("SNAPDELTA_CRASH_AT=" + crash_at);
    return RunSnapdelta(args, options);
  }

  fs::path landing_, home_, config_;
  bool with_config_ = false;
};

class GuardTest : public ::testing::Test {
 protected:
  // The oracle's changes from export `previous` (empty: none) to export `next`.
  ExpectedChanges Oracle(const fs::path& previous, const fs::path& next) {
    const fs::path work = tmp_ / ("oracle-" + std::to_string(++oracle_runs_));
    fs::create_directories(work);
    return SqlOracleDiff(previous, next, {"id"}, work);
  }
  // The change file of `version` holds exactly `expected`, in well-formed events.
  void ExpectPublished(const std::string& version, const ExpectedChanges& expected) {
    const std::vector<nlohmann::json> events = ReadJsonLines(site_.ChangeFile(version));
    EXPECT_EQ(CheckEnvelopes(events, SpecOf(version)), CountOf(expected));
    ExpectEventsMatch(events, expected);
  }

  TempDir tmp_{"snapdelta-guards"};
  Site site_{tmp_.path()};
  int oracle_runs_ = 0;
};

using GuardedImport = GuardTest;
using Release = GuardTest;
using Rewind = GuardTest;
using Skip = GuardTest;

TEST_F(GuardedImport, HoldsATruncatedExportAndTheNextExportDiffsAgainstTheLastCommittedOne) {
  const fs::path v1 = site_.Deliver("v1", ExportShape{10000});
  ASSERT_EQ(site_.Run().exit_code, 0);
  const Outcome before = site_.ReadOutcome();

  site_.Deliver("v2", ExportShape{1000});
  const CommandResult held = site_.Run();
  EXPECT_EQ(held.exit_code, 1) << held.Describe();
  EXPECT_NE(held.out.find("held       acme/orders/v2/export.csv: max_delete_ratio"),
            std::string::npos)
      << held.Describe();
  EXPECT_NE(held.out.find("`snapdelta release acme/orders/v2`"), std::string::npos);
  EXPECT_NE(held.out.find("`snapdelta skip acme/orders/v2`"), std::string::npos);
  EXPECT_FALSE(fs::exists(site_.ChangeFile("v2")));
  ExpectSameFiles(SnapshotTree(site_.home() / "state"), before.states, "state");
  const nlohmann::json status = site_.StatusOf("v2");
  ASSERT_FALSE(status.is_null());
  EXPECT_EQ(status["state"], "held");
  const std::string reason = status.value("reason", "");
  EXPECT_NE(reason.find("max_delete_ratio"), std::string::npos) << reason;
  EXPECT_NE(reason.find("9000 of 10000"), std::string::npos) << reason;
  EXPECT_NE(reason.find("0.900 > 0.500"), std::string::npos) << reason;

  const fs::path v3 = site_.Deliver("v3", ExportShape{10300, 7, 10});
  const CommandResult good = site_.Run();
  ASSERT_EQ(good.exit_code, 0) << good.Describe();
  ExpectPublished("v3", Oracle(v1, v3));
  EXPECT_EQ(site_.StatusOf("v3")["state"], "committed");

  const Outcome after_v3 = site_.ReadOutcome();
  const CommandResult stale = site_.Release("v2");
  EXPECT_EQ(stale.exit_code, 1) << stale.Describe();
  EXPECT_NE(stale.err.find("stale"), std::string::npos) << stale.Describe();
  ExpectSameOutcome(site_.ReadOutcome(), after_v3);
}

TEST_F(GuardedImport, HoldsAHeaderOnlyExportUnderMinRowsOnlyInItsTable) {
  site_.SetConfig("max_delete_ratio = false\n[tables.orders]\nmin_rows = 1\n");
  site_.Deliver("v1", ExportShape{100});
  site_.Deliver("v1", "id,name\n", "customers");  // no min_rows for customers
  ASSERT_EQ(site_.Run().exit_code, 0);
  const Outcome before = site_.ReadOutcome();

  site_.Deliver("v2", "id,name,amount\n");
  const CommandResult held = site_.Run();
  EXPECT_EQ(held.exit_code, 1) << held.Describe();
  EXPECT_FALSE(fs::exists(site_.ChangeFile("v2")));
  ExpectSameFiles(SnapshotTree(site_.home() / "state"), before.states, "state");
  const nlohmann::json status = site_.StatusOf("v2");
  ASSERT_FALSE(status.is_null());
  EXPECT_EQ(status["state"], "held");
  EXPECT_NE(status.value("reason", "").find("min_rows: the export has 0 rows, fewer than 1"),
            std::string::npos)
      << status.dump();
  const std::vector<nlohmann::json> customers =
      StatusEntries(ReadStatus(site_.home()), kTenant, "customers", "v1");
  ASSERT_EQ(customers.size(), 1u);
  EXPECT_EQ(customers[0]["state"], "committed");
}

TEST_F(GuardedImport, HoldsAnImportThatChangesMoreThanMaxChangeRatio) {
  site_.SetConfig("max_change_ratio = 0.2\n");
  const fs::path v1 = site_.Deliver("v1", ExportShape{1000});
  ASSERT_EQ(site_.Run().exit_code, 0);

  site_.Deliver("v2", ExportShape{1000, 3});  // 333 updates, no deletes
  const CommandResult held = site_.Run();
  EXPECT_EQ(held.exit_code, 1) << held.Describe();
  EXPECT_FALSE(fs::exists(site_.ChangeFile("v2")));
  const nlohmann::json status = site_.StatusOf("v2");
  ASSERT_FALSE(status.is_null());
  EXPECT_EQ(status["state"], "held");
  EXPECT_NE(status.value("reason", "").find("max_change_ratio"), std::string::npos);
  EXPECT_NE(status.value("reason", "").find("(0.333 > 0.200)"), std::string::npos) << status.dump();

  const fs::path v3 = site_.Deliver("v3", ExportShape{1050, 10});  // 100 updates, 50 inserts
  ASSERT_EQ(site_.Run().exit_code, 0);
  ExpectPublished("v3", Oracle(v1, v3));
}

TEST_F(GuardedImport, ExemptsTheFirstImportFromTheRatioGuards) {
  site_.SetConfig("max_delete_ratio = 0\nmax_change_ratio = 0\n");
  const fs::path v1 = site_.Deliver("v1", ExportShape{500});
  const CommandResult first = site_.Run();
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  ExpectPublished("v1", Oracle({}, v1));
  EXPECT_EQ(site_.StatusOf("v1")["state"], "committed");

  site_.Deliver("v2", ExportShape{500, 500});  // a single update trips the zero ratio
  EXPECT_EQ(site_.Run().exit_code, 1);
  EXPECT_EQ(site_.StatusOf("v2")["state"], "held");
}

TEST_F(Release, PublishesTheHeldImportAndTheNextExportDiffsAgainstIt) {
  const fs::path v1 = site_.Deliver("v1", ExportShape{10000});
  ASSERT_EQ(site_.Run().exit_code, 0);
  const fs::path v2 = site_.Deliver("v2", ExportShape{1000, 4});
  ASSERT_EQ(site_.Run().exit_code, 1);

  const CommandResult released = site_.Release("v2");
  ASSERT_EQ(released.exit_code, 0) << released.Describe();
  EXPECT_NE(released.out.find("committed  acme/orders/v2/export.csv"), std::string::npos)
      << released.Describe();
  ExpectPublished("v2", Oracle(v1, v2));
  const nlohmann::json status = site_.StatusOf("v2");
  ASSERT_FALSE(status.is_null());
  EXPECT_EQ(status["state"], "committed");
  EXPECT_EQ(status["deletes"], 9000);
  EXPECT_NE(status.value("note", "").find("released by hand past max_delete_ratio"),
            std::string::npos)
      << status.dump();

  // Releasing again (as after a release killed past its commit) reports it done, changes nothing.
  const std::map<std::string, std::string> changes = SnapshotTree(site_.home() / "changes");
  const std::map<std::string, std::string> states = SnapshotTree(site_.home() / "state");
  const CommandResult again = site_.Release("v2");
  EXPECT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_NE(again.out.find("committed  acme/orders/v2"), std::string::npos) << again.Describe();
  EXPECT_EQ(SnapshotTree(site_.home() / "changes"), changes);
  EXPECT_EQ(SnapshotTree(site_.home() / "state"), states);

  const fs::path v3 = site_.Deliver("v3", ExportShape{1200, 5, 9});
  ASSERT_EQ(site_.Run().exit_code, 0);
  ExpectPublished("v3", Oracle(v2, v3));
}

TEST_F(Skip, DropsAHeldImportAndLaterExportsDiffAgainstTheLastCommittedOne) {
  const fs::path v1 = site_.Deliver("v1", ExportShape{1000});
  ASSERT_EQ(site_.Run().exit_code, 0);
  site_.Deliver("v2", ExportShape{100});
  ASSERT_EQ(site_.Run().exit_code, 1);

  const CommandResult skipped = site_.Skip("v2");
  ASSERT_EQ(skipped.exit_code, 0) << skipped.Describe();
  const nlohmann::json status = site_.StatusOf("v2");
  ASSERT_FALSE(status.is_null());
  EXPECT_EQ(status["state"], "skipped");
  EXPECT_EQ(status["reason"], "skipped by hand");
  EXPECT_FALSE(fs::exists(site_.ChangeFile("v2")));
  const CommandResult release = site_.Release("v2");
  EXPECT_EQ(release.exit_code, 1) << release.Describe();
  EXPECT_NE(release.err.find("has no held import"), std::string::npos) << release.Describe();

  const fs::path v3 = site_.Deliver("v3", ExportShape{1100, 6, 11});
  ASSERT_EQ(site_.Run().exit_code, 0);
  ExpectPublished("v3", Oracle(v1, v3));
  const fs::path v4 = site_.Deliver("v4", ExportShape{1150, 4});
  ASSERT_EQ(site_.Run().exit_code, 0);
  ExpectPublished("v4", Oracle(v3, v4));
  EXPECT_EQ(site_.StatusOf("v2")["state"], "skipped");
}

TEST_F(Rewind, MakesTheNextImportDiffAgainstTheVersionRewoundTo) {
  site_.SetConfig("max_delete_ratio = false\n");
  const fs::path v1 = site_.Deliver("v1", ExportShape{2000});
  ASSERT_EQ(site_.Run().exit_code, 0);
  site_.Deliver("v2", ExportShape{300, 2});  // deletes 85% of v1
  ASSERT_EQ(site_.Run().exit_code, 0);
  const std::string v2_events = ReadFile(site_.ChangeFile("v2"));

  const CommandResult rewound = site_.Rewind("v1");
  ASSERT_EQ(rewound.exit_code, 0) << rewound.Describe();
  EXPECT_EQ(site_.StatusOf("v2")["state"], "rewound");
  EXPECT_EQ(ReadFile(site_.ChangeFile("v2")), v2_events);  // published events stay published

  const fs::path v3 = site_.Deliver("v3", ExportShape{2100, 5, 9});
  ASSERT_EQ(site_.Run().exit_code, 0);
  ExpectPublished("v3", Oracle(v1, v3));
  EXPECT_EQ(site_.StatusOf("v2")["state"], "rewound");
  EXPECT_EQ(site_.StatusOf("v3")["state"], "committed");
}

TEST_F(Rewind, RefusesAVersionWhoseStateIsNoLongerKept) {
  site_.SetConfig("keep_states = 2\nmax_delete_ratio = false\n");
  site_.Deliver("v1", ExportShape{200});
  site_.Deliver("v2", ExportShape{200, 3});
  site_.Deliver("v3", ExportShape{150, 4});
  ASSERT_EQ(site_.Run().exit_code, 0);
  const Outcome before = site_.ReadOutcome();
  std::vector<std::string> kept;
  for (const auto& [path, content] : before.states) kept.push_back(path);
  EXPECT_EQ(kept, (std::vector<std::string>{"acme/orders/v2.state", "acme/orders/v3.state"}));

  const CommandResult refused = site_.Rewind("v1");
  EXPECT_EQ(refused.exit_code, 1) << refused.Describe();
  EXPECT_NE(refused.err.find("no longer kept"), std::string::npos) << refused.Describe();
  EXPECT_NE(refused.err.find("keep_states = 2"), std::string::npos) << refused.Describe();
  ExpectSameOutcome(site_.ReadOutcome(), before);

  const CommandResult kept_one = site_.Rewind("v2");
  EXPECT_EQ(kept_one.exit_code, 0) << kept_one.Describe();
  EXPECT_EQ(site_.StatusOf("v3")["state"], "rewound");
}

// A rewind killed just before its registry commit, then run again, ends where a clean rewind
// ends, and the next import diffs against the version rewound to in both.
TEST(RewindCrash, RerunAfterAKillBeforeCommitMatchesACleanRewind) {
  TempDir tmp("snapdelta-rewind-crash");
  Site clean(tmp / "clean"), crashed(tmp / "crashed");
  for (Site* site : {&clean, &crashed}) {
    site->SetConfig("max_delete_ratio = false\n");
    site->Deliver("v1", ExportShape{2000});
    site->Deliver("v2", ExportShape{500, 3});
    ASSERT_EQ(site->Run().exit_code, 0);
  }
  ASSERT_EQ(clean.Rewind("v1").exit_code, 0);

  const Outcome before = crashed.ReadOutcome();
  const CommandResult killed = crashed.Rewind("v1", "rewind.before_commit");
  ASSERT_EQ(killed.exit_code, kKilledExit) << killed.Describe();
  ExpectSameOutcome(crashed.ReadOutcome(), before);  // nothing moved yet
  const CommandResult rerun = crashed.Rewind("v1");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.Describe();
  ExpectSameOutcome(crashed.ReadOutcome(), clean.ReadOutcome());

  for (Site* site : {&clean, &crashed}) {
    site->Deliver("v3", ExportShape{2100, 5, 9});
    ASSERT_EQ(site->Run().exit_code, 0);
  }
  ExpectSameOutcome(crashed.ReadOutcome(), clean.ReadOutcome());
}

// A `snapdelta run` started in the background, stopped with SIGSTOP on request; killed and reaped
// when the test ends early.
class BackgroundRun {
 public:
  explicit BackgroundRun(const Site& site) {
    const std::string bin = SnapdeltaBin().string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl(bin.c_str(), bin.c_str(), "run", "--landing", site.landing().c_str(), "--home",
              site.home().c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~BackgroundRun() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);
    (void)Wait();
  }
  BackgroundRun(const BackgroundRun&) = delete;
  BackgroundRun& operator=(const BackgroundRun&) = delete;

  bool started() const { return pid_ > 0; }
  void Signal(int signal) const { ::kill(pid_, signal); }
  // The exit status, or -1 when it did not exit normally.
  int Wait() {
    int wait_status = 0;
    const pid_t reaped = ::waitpid(pid_, &wait_status, 0);
    pid_ = -1;
    return reaped > 0 && WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
  }

 private:
  pid_t pid_ = -1;
};

// The import of v2 is stopped (SIGSTOP) while it holds the table's lease: its process is alive,
// so rewind must not take the lease over.
TEST(RewindDuringAnImport, IsRefusedWhileALiveProcessHoldsTheTablesLease) {
  using namespace std::chrono_literals;
  TempDir tmp("snapdelta-rewind-lease");
  Site site(tmp.path());
  site.Deliver("v1", ExportShape{100});
  ASSERT_EQ(site.Run().exit_code, 0);
  site.Deliver("v2", ExportShape{800000});  // about a second to import

  BackgroundRun run(site);
  ASSERT_TRUE(run.started());
  bool running = false;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       !running && std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(5ms)) {
    const auto entries = StatusEntries(ReadStatus(site.home()), kTenant, kTable, "v2");
    running = entries.size() == 1 && entries[0]["state"] == "running";
  }
  ASSERT_TRUE(running) << "the import of v2 was never seen running";
  run.Signal(SIGSTOP);
  const CommandResult refused = site.Rewind("v1");
  run.Signal(SIGCONT);
  EXPECT_EQ(refused.exit_code, 1) << refused.Describe();
  EXPECT_NE(refused.err.find("rewind refused: an import of acme/orders is running"),
            std::string::npos)
      << refused.Describe();
  ASSERT_EQ(run.Wait(), 0);
  EXPECT_EQ(site.StatusOf("v2")["state"], "committed");

  const CommandResult rewound = site.Rewind("v1");
  EXPECT_EQ(rewound.exit_code, 0) << rewound.Describe();
  EXPECT_EQ(site.StatusOf("v2")["state"], "rewound");
}

// A release killed at `point` (doc/crash-points.md) and run again ends where a clean release
// ends: the same change and state files, byte for byte, and the same status.
class ReleaseCrash : public ::testing::TestWithParam<std::string> {};

TEST_P(ReleaseCrash, RerunMatchesACleanRelease) {
  TempDir tmp("snapdelta-release-crash");
  Site clean(tmp / "clean"), crashed(tmp / "crashed");
  for (Site* site : {&clean, &crashed}) {
    site->Deliver("v1", ExportShape{3000});
    site->Deliver("v2", ExportShape{600, 4});
    ASSERT_EQ(site->Run().exit_code, 1);
    ASSERT_EQ(site->StatusOf("v2")["state"], "held");
  }
  ASSERT_EQ(clean.Release("v2").exit_code, 0);

  const CommandResult killed = crashed.Release("v2", GetParam());
  ASSERT_EQ(killed.exit_code, kKilledExit) << killed.Describe();
  const CommandResult rerun = crashed.Release("v2");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.Describe();
  ExpectSameOutcome(crashed.ReadOutcome(), clean.ReadOutcome());

  for (Site* site : {&clean, &crashed}) {
    site->Deliver("v3", ExportShape{700, 5});
    ASSERT_EQ(site->Run().exit_code, 0);
  }
  ExpectSameOutcome(crashed.ReadOutcome(), clean.ReadOutcome());
}

std::string PointName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (c == '.' || c == ':') c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(ReleaseKilledAt, ReleaseCrash,
                         ::testing::Values("import.after_running", "file.before_rename:1",
                                           "file.after_rename:1", "import.after_state",
                                           "file.before_rename:2", "file.after_rename:2",
                                           "sink.before_commit", "import.before_commit",
                                           "import.after_commit"),
                         PointName);

}  // namespace
}  // namespace snapdelta::testing
