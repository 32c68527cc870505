// Failures that used to be final, end to end through the real binary: each environment failure
// (a full or read-only home on a real tmpfs mount, a missing state file) is retried once its
// cause is gone and ends with the counts a clean run has; later versions wait behind it, in
// order; a lost registry is refused instead of re-baselining; an export that kills the worker
// twice is failed (a crash) while the other table commits.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "harness.h"

namespace snapdelta::testing {
namespace {

struct SeedVersion {
  const char* version;
  const char* counts;  // "rows/inserts/updates/deletes" of a clean run
};

constexpr std::array<SeedVersion, 3> kSeed = {{
    {"20201230_V0001", "1000/1000/0/0"},
    {"20201230_V0002", "1010/30/50/20"},
    {"20201231_V0001", "1005/5/100/10"},
}};

class FailureRecovery : public ::testing::Test {
 protected:
  void Deliver(const std::string& version, const std::string& table = "test_table") {
    CopyTree(ExamplesLanding() / "tenant" / "test_table" / version,
             landing_ / "tenant" / table / version);
  }

  CommandResult Run(const fs::path& home, const std::vector<std::string>& extra = {}) {
    // Exports are copied in just before a run: they count as settled at once.
    std::vector<std::string> args = {"run",    "--landing",        landing_.string(),
                                     "--home", home.string(),      "--retry-backoff",
                                     "0",      "--settle-seconds", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunSnapdelta(args);
  }

  // version -> "state rows/inserts/updates/deletes failure", the newest record per version.
  std::map<std::string, std::string> Status(const fs::path& home, const std::string& table) {
    std::map<std::string, std::string> out;
    const CommandResult status = RunSnapdelta({"status", "--json", "--home", home.string()});
    EXPECT_EQ(status.exit_code, 0) << status.Describe();
    for (const auto& import : ParseJson(status.out, "status --json")) {
      if (import["table"] != table) continue;
      out[import["version"]] = import["state"].get<std::string>() + " " +
                               std::to_string(import["rows"].get<uint64_t>()) + "/" +
                               std::to_string(import["inserts"].get<uint64_t>()) + "/" +
                               std::to_string(import["updates"].get<uint64_t>()) + "/" +
                               std::to_string(import["deletes"].get<uint64_t>()) + " " +
                               import["failure"].get<std::string>();
    }
    return out;
  }

  std::string Committed(const SeedVersion& seed) {
    return std::string("committed ") + seed.counts + " ";
  }

  TempDir tmp_{"snapdelta-recovery"};
  const fs::path landing_ = tmp_ / "landing";
  const fs::path home_ = tmp_ / "home";
};

TEST_F(FailureRecovery, AMissingStateIsRetriedOnceRestoredAndHoldsLaterVersionsBack) {
  Deliver(kSeed[0].version);
  ASSERT_EQ(Run(home_).exit_code, 0);
  const fs::path state = home_ / "state" / "tenant" / "test_table" / "20201230_V0001.state";
  ASSERT_TRUE(fs::exists(state));
  fs::rename(state, tmp_ / "saved.state");
  Deliver(kSeed[1].version);
  Deliver(kSeed[2].version);

  CommandResult failed = RunSnapdelta(
      {"run", "--landing", landing_.string(), "--home", home_.string(), "--retry-backoff", "600"});
  EXPECT_EQ(failed.exit_code, 1) << failed.Describe();
  EXPECT_NE(failed.out.find("the table's committed state cannot be read"), std::string::npos)
      << failed.Describe();
  EXPECT_NE(failed.out.find("environment failure: retried automatically in"), std::string::npos)
      << failed.Describe();
  EXPECT_NE(failed.out.find("waiting    tenant/test_table/20201231_V0001: waits behind "
                            "tenant/test_table/20201230_V0002"),
            std::string::npos)
      << failed.Describe();
  auto status = Status(home_, "test_table");
  EXPECT_EQ(status["20201230_V0002"], "failed 0/0/0/0 environment");
  EXPECT_EQ(status["20201231_V0001"], "discovered 0/0/0/0 ");
  EXPECT_FALSE(fs::exists(home_ / "changes" / "tenant" / "test_table" / "20201230_V0002.jsonl"));

  // The dry run sees the same: the failure not yet due, the later version waiting behind it.
  const CommandResult dry =
      RunSnapdelta({"run", "--landing", landing_.string(), "--home", home_.string(),
                    "--retry-backoff", "600", "--settle-seconds", "0", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 1) << dry.Describe();
  EXPECT_NE(dry.out.find("failed (environment), retried automatically in"), std::string::npos)
      << dry.Describe();
  EXPECT_NE(dry.out.find("20201231_V0001/export3.csv.gz: waits behind "
                         "tenant/test_table/20201230_V0002"),
            std::string::npos)
      << dry.Describe();

  // Touching the export does not turn the failure into a "re-upload of identical content".
  fs::last_write_time(landing_ / "tenant" / "test_table" / kSeed[1].version / "export2.csv.gz",
                      fs::file_time_type::clock::now());
  CommandResult waiting = RunSnapdelta(
      {"run", "--landing", landing_.string(), "--home", home_.string(), "--retry-backoff", "600"});
  EXPECT_EQ(waiting.exit_code, 1) << waiting.Describe();
  EXPECT_EQ(waiting.out.find("re-upload"), std::string::npos) << waiting.Describe();
  EXPECT_NE(waiting.out.find("waiting    tenant/test_table/20201230_V0002 (import #2): failed "
                             "(environment)"),
            std::string::npos)
      << waiting.Describe();

  fs::rename(tmp_ / "saved.state", state);
  CommandResult retried = Run(home_);
  ASSERT_EQ(retried.exit_code, 0) << retried.Describe();
  status = Status(home_, "test_table");
  for (const SeedVersion& seed : kSeed) EXPECT_EQ(status[seed.version], Committed(seed));
  EXPECT_LT(retried.out.find("20201230_V0002"), retried.out.find("20201231_V0001"));
}

TEST_F(FailureRecovery, RetryByHandRunsAFailedImportAtOnce) {
  Deliver(kSeed[0].version);
  ASSERT_EQ(Run(home_).exit_code, 0);
  const fs::path state = home_ / "state" / "tenant" / "test_table" / "20201230_V0001.state";
  fs::rename(state, tmp_ / "saved.state");
  Deliver(kSeed[1].version);
  ASSERT_EQ(RunSnapdelta({"run", "--landing", landing_.string(), "--home", home_.string(),
                          "--retry-backoff", "3600", "--settle-seconds", "0"})
                .exit_code,
            1);
  fs::rename(tmp_ / "saved.state", state);
  const CommandResult retry =
      RunSnapdelta({"retry", "tenant/test_table/20201230_V0002", "--landing", landing_.string(),
                    "--home", home_.string()});
  ASSERT_EQ(retry.exit_code, 0) << retry.Describe();
  EXPECT_EQ(Status(home_, "test_table")["20201230_V0002"], Committed(kSeed[1]));
  const CommandResult again =
      RunSnapdelta({"retry", "tenant/test_table/20201230_V0002", "--landing", landing_.string(),
                    "--home", home_.string()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("has no failed import"), std::string::npos) << again.Describe();
}

TEST_F(FailureRecovery, AContentFailureStaysFailedAndTheNextExportDiffsAgainstTheLastCommit) {
  Deliver(kSeed[0].version);
  ASSERT_EQ(Run(home_).exit_code, 0);
  WriteFile(landing_ / "tenant" / "test_table" / "20201230_V0002" / "bad.csv", "PK,NAME\n1,a\n2\n");
  Deliver(kSeed[2].version);
  const CommandResult run = Run(home_);
  EXPECT_EQ(run.exit_code, 1) << run.Describe();
  EXPECT_NE(run.out.find("content failure: stays failed until its file changes"), std::string::npos)
      << run.Describe();
  auto status = Status(home_, "test_table");
  EXPECT_EQ(status["20201230_V0002"], "failed 0/0/0/0 content");
  EXPECT_EQ(status["20201231_V0001"].substr(0, 10), "committed ");
  const CommandResult rerun = Run(home_);
  EXPECT_EQ(rerun.exit_code, 0) << rerun.Describe();
  EXPECT_EQ(rerun.out, "") << "a content failure is not retried by itself";
}

TEST_F(FailureRecovery, AnEmptiedOrDeletedRegistryIsRefusedAndNoStateIsTouched) {
  Deliver(kSeed[0].version);
  Deliver(kSeed[1].version);
  ASSERT_EQ(Run(home_).exit_code, 0);
  Deliver(kSeed[2].version);
  const auto states = SnapshotTree(home_ / "state");
  for (bool emptied : {true, false}) {
    SCOPED_TRACE(emptied ? "emptied" : "deleted");
    fs::path registry = home_ / "registry.db";
    if (emptied) {
      fs::copy_file(registry, tmp_ / "registry.backup", fs::copy_options::overwrite_existing);
      for (const char* suffix : {"-wal", "-shm"})
        fs::remove(home_ / (std::string("registry.db") + suffix));
      WriteFile(registry, "");
    } else {
      fs::remove(registry);
    }
    const CommandResult run = Run(home_);
    EXPECT_EQ(run.exit_code, 1) << run.Describe();
    EXPECT_NE(run.err.find("registry.db is missing or empty, but"), std::string::npos)
        << run.Describe();
    EXPECT_NE(run.err.find("Restore registry.db from a backup"), std::string::npos);
    EXPECT_EQ(run.out, "");
    EXPECT_TRUE(SnapshotTree(home_ / "state") == states) << "states changed";
    EXPECT_FALSE(fs::exists(home_ / "changes" / "tenant" / "test_table" / "20201231_V0001.jsonl"));
  }
  fs::copy_file(tmp_ / "registry.backup", home_ / "registry.db");
  const CommandResult restored = Run(home_);
  ASSERT_EQ(restored.exit_code, 0) << restored.Describe();
  EXPECT_EQ(Status(home_, "test_table")["20201231_V0001"], Committed(kSeed[2]));
}

TEST_F(FailureRecovery, AnExportThatKillsTheWorkerTwiceFailsAndTheOtherTableCommits) {
  Deliver(kSeed[0].version, "bad");
  Deliver(kSeed[0].version, "good");
  RunOptions crashing;
  crashing.env = {"SNAPDELTA_CRASH_AT=import.running/tenant/bad/20201230_V0001"};
  const std::vector<std::string> args = {
      "run", "--landing", landing_.string(), "--home", home_.string(), "--settle-seconds", "0"};
  for (int kill = 0; kill < 2; ++kill) {
    const CommandResult killed = RunSnapdelta(args, crashing);
    EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.Describe();
  }
  const CommandResult third = RunSnapdelta(args, crashing);
  EXPECT_EQ(third.exit_code, 1) << third.Describe();
  EXPECT_NE(third.out.find("crashed the worker twice"), std::string::npos) << third.Describe();
  EXPECT_EQ(Status(home_, "bad")["20201230_V0001"], "failed 0/0/0/0 crash");
  EXPECT_EQ(Status(home_, "good")["20201230_V0001"], Committed(kSeed[0]));

  const CommandResult fourth = RunSnapdelta(args, crashing);
  EXPECT_EQ(fourth.exit_code, 1) << "a crash waits for a retry by hand: " << fourth.Describe();
  const CommandResult retry = RunSnapdelta({"retry", "tenant/bad/20201230_V0001", "--landing",
                                            landing_.string(), "--home", home_.string()});
  ASSERT_EQ(retry.exit_code, 0) << retry.Describe();
  EXPECT_EQ(Status(home_, "bad")["20201230_V0001"], Committed(kSeed[0]));
}

// A real tmpfs as the home: filled up, then emptied; remounted read-only, then writable.
class TmpfsHome : public FailureRecovery {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
    fs::create_directories(mount_);
    if (::mount("tmpfs", mount_.c_str(), "tmpfs", 0, "size=64m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(mount_.c_str(), MNT_DETACH);
  }
  bool Remount(const std::string& options) {
    return ::mount("tmpfs", mount_.c_str(), "tmpfs", MS_REMOUNT | (options == "ro" ? MS_RDONLY : 0),
                   options == "ro" ? "" : options.c_str()) == 0;
  }

  // Free bytes left on the filled tmpfs: room for the registry's writes, not for a state of
  // 50,000 rows.
  static constexpr uint64_t kRoomLeft = 512 * 1024;
  const fs::path mount_ = tmp_ / "mnt";
  const fs::path home_on_mount_ = mount_ / "home";
  bool mounted_ = false;
};

TEST_F(TmpfsHome, AFullDiskFailsWithItsRootCauseAndTheImportIsRetriedOnceThereIsRoom) {
  // A generated chain whose states and change files are megabytes, so the import's own writes
  // (not the registry's small ones) are what hits the full disk.
  const fs::path chain = tmp_ / "chain";
  const CommandResult gen = RunCommand({GenBin().string(), chain.string(), "--rows", "50000",
                                        "--exports", "3", "--gzip", "--landing", "acme/orders"});
  ASSERT_EQ(gen.exit_code, 0) << gen.Describe();
  const fs::path landing = tmp_ / "chain-landing";
  auto deliver = [&](const std::string& version) {
    CopyTree(chain / "acme" / "orders" / version, landing / "acme" / "orders" / version);
  };
  auto run = [&](const fs::path& home) {
    return RunSnapdelta({"run", "--landing", landing.string(), "--home", home.string(),
                         "--retry-backoff", "0", "--settle-seconds", "0"});
  };
  const fs::path clean = tmp_ / "clean";
  for (const char* version : {"v0001", "v0002", "v0003"}) {
    deliver(version);
    ASSERT_EQ(run(clean).exit_code, 0);
  }
  fs::remove_all(landing);

  deliver("v0001");
  ASSERT_EQ(run(home_on_mount_).exit_code, 0);
  deliver("v0002");
  deliver("v0003");
  struct statvfs fs_stats;
  ASSERT_EQ(::statvfs(mount_.c_str(), &fs_stats), 0);
  const uint64_t free_bytes = uint64_t{fs_stats.f_bavail} * fs_stats.f_frsize;
  ASSERT_GT(free_bytes, kRoomLeft);
  WriteFile(mount_ / "filler", std::string(free_bytes - kRoomLeft, 'x'));
  const CommandResult full = run(home_on_mount_);
  EXPECT_EQ(full.exit_code, 1) << full.Describe();
  EXPECT_NE(full.out.find("failed     acme/orders/v0002/export2.csv.gz: "), std::string::npos)
      << full.Describe();
  EXPECT_NE(full.out.find("No space left on device"), std::string::npos) << full.Describe();
  EXPECT_NE(full.out.find("waiting    acme/orders/v0003: waits behind acme/orders/v0002"),
            std::string::npos)
      << full.Describe();
  EXPECT_FALSE(fs::exists(home_on_mount_ / "changes" / "acme" / "orders" / "v0002.jsonl"));
  EXPECT_FALSE(fs::exists(home_on_mount_ / "state" / "acme" / "orders" / "v0002.state"));

  fs::remove(mount_ / "filler");
  const CommandResult retried = run(home_on_mount_);
  ASSERT_EQ(retried.exit_code, 0) << retried.Describe();
  EXPECT_TRUE(SnapshotTree(home_on_mount_ / "changes") == SnapshotTree(clean / "changes"))
      << "change files differ from a clean run's";
}

TEST_F(TmpfsHome, AReadOnlyHomeSaysSoStatusStillReadsItAndTheRunSucceedsOnceWritable) {
  Deliver(kSeed[0].version);
  ASSERT_EQ(Run(home_on_mount_).exit_code, 0);
  Deliver(kSeed[1].version);
  ASSERT_TRUE(Remount("ro"));
  const CommandResult refused = Run(home_on_mount_);
  EXPECT_EQ(refused.exit_code, 1) << refused.Describe();
  EXPECT_NE((refused.out + refused.err).find("ead-only file system"), std::string::npos)
      << refused.Describe();
  EXPECT_EQ(Status(home_on_mount_, "test_table")["20201230_V0001"], Committed(kSeed[0]));
  ASSERT_TRUE(Remount("size=64m"));
  const CommandResult run = Run(home_on_mount_);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(Status(home_on_mount_, "test_table")["20201230_V0002"], Committed(kSeed[1]));
}

}  // namespace
}  // namespace snapdelta::testing
