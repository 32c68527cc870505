// A `diff` stopped by SIGTERM or SIGINT while it spills leaves nothing behind: its spill folder
// (which can be many GB) and the temp file of -o are removed on the way out, and it exits
// 128 + the signal.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "harness.h"

namespace snapdelta::testing {
namespace {

// Files under `dir`, recursively (folders not counted).
int CountEntries(const fs::path& dir) {
  int count = 0;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(dir, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    ++count;
  }
  return count;
}

class StopCleanup : public ::testing::TestWithParam<int> {};

TEST_P(StopCleanup, AStoppedDiffRemovesItsSpillFolderAndTempOutput) {
  const int sig = GetParam();
  TempDir tmp("snapdelta-stop");
  const CommandResult gen =
      RunCommand({GenBin().string(), (tmp / "gen").string(), "--rows", "600000", "--exports", "2"});
  ASSERT_EQ(gen.exit_code, 0) << gen.Describe();
  fs::path old_file, new_file;
  for (const auto& entry : fs::directory_iterator(tmp / "gen")) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("export1")) old_file = entry.path();
    if (name.starts_with("export2")) new_file = entry.path();
  }
  ASSERT_FALSE(old_file.empty() || new_file.empty());
  const fs::path spill = tmp / "spill";
  fs::create_directories(spill);
  const fs::path out = tmp / "events.jsonl";
  // The temp file of another diff writing the same output (the next run, started while this one
  // was still stopping): never this one's to remove.
  const fs::path foreign = tmp / "events.jsonl.ffffffff-1.tmp";
  WriteFile(foreign, "another diff's events");
  // This diff's own temp output: "events.jsonl.<pid>-<n>.tmp".
  auto own_temp_exists = [&](pid_t pid) {
    const std::string prefix =
        "events.jsonl." + fmt::format("{:x}", static_cast<uint32_t>(pid)) + "-";
    for (const auto& entry : fs::directory_iterator(tmp.path())) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with(prefix) && name.ends_with(".tmp")) return true;
    }
    return false;
  };

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(SnapdeltaBin().c_str(), "snapdelta", "diff", old_file.c_str(), new_file.c_str(),
          "--memory-limit", "16MB", "--spill-dir", spill.c_str(), "-o", out.c_str(), nullptr);
    _exit(127);
  }
  // Wait until it spills, then stop it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool spilling = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (CountEntries(spill) >= 2 && own_temp_exists(pid)) {
      spilling = true;
      break;
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) break;  // finished before it could be stopped
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(spilling) << "the diff never spilled with its output open";
  ASSERT_EQ(kill(pid, sig), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 128 + sig);
  EXPECT_EQ(CountEntries(spill), 0) << "the spill folder was left behind";
  EXPECT_FALSE(own_temp_exists(pid));
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(fs::exists(foreign)) << "another diff's temp output was removed";
}

INSTANTIATE_TEST_SUITE_P(Signals, StopCleanup, ::testing::Values(SIGTERM, SIGINT),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == SIGTERM ? std::string("SIGTERM")
                                                        : std::string("SIGINT");
                         });

}  // namespace
}  // namespace snapdelta::testing
