// AtomicFile: a file appears under its final name complete or not at all; with private temp
// files, two writers of one final path (a worker paused past its lease and the one that took
// its import over) never share an inode, and the second to finish fails instead of mixing.
#include <gtest/gtest.h>

#include <filesystem>

#include "base/fs.h"
#include "integration/harness.h"

namespace snapdelta {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFile, TheSharedTempNameIsTheFinalNamePlusTmp) {
  testing::TempDir dir("snapdelta-atomic");
  const std::string path = (dir / "out.jsonl").string();
  AtomicFile file;
  ASSERT_TRUE(file.Open(path).ok());
  ASSERT_TRUE(file.Append("a\n").ok());
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"out.jsonl.tmp"});
  ASSERT_TRUE(file.Commit().ok());
  EXPECT_EQ(testing::ReadFile(path), "a\n");
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"out.jsonl"});
}

TEST(AtomicFile, TwoPrivateWritersOfOnePathNeverMixAndTheLaterOneFails) {
  testing::TempDir dir("snapdelta-atomic");
  const std::string path = (dir / "v1.jsonl").string();
  AtomicFile paused, owner;
  ASSERT_TRUE(paused.Open(path, AtomicFile::Temp::kFencing).ok());
  ASSERT_TRUE(paused.Append("from the paused writer, half").ok());
  ASSERT_TRUE(owner.Open(path, AtomicFile::Temp::kFencing).ok());
  EXPECT_EQ(Names(dir.path()).size(), 2u) << "each writer has its own temp file";
  ASSERT_TRUE(owner.Append("from the new owner\n").ok());
  ASSERT_TRUE(owner.Commit().ok());
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"v1.jsonl"})
      << "the commit removed the other writer's temp file";

  ASSERT_TRUE(paused.Append(", and the rest\n").ok());  // buffered; the rename fails
  Status late = paused.Commit();
  EXPECT_FALSE(late.ok());
  EXPECT_EQ(testing::ReadFile(path), "from the new owner\n") << "never mixed with the other";
}

TEST(AtomicFile, ACommitRemovesTempFilesADeadWriterLeft) {
  testing::TempDir dir("snapdelta-atomic");
  const std::string path = (dir / "v1.state").string();
  testing::WriteFile(dir / "v1.state.1f2e-1.tmp", "left by a killed worker");
  testing::WriteFile(dir / "v10.state.1f2e-1.tmp", "another file's temp");
  AtomicFile file;
  ASSERT_TRUE(file.Open(path, AtomicFile::Temp::kFencing).ok());
  ASSERT_TRUE(file.Append("state").ok());
  ASSERT_TRUE(file.Commit().ok());
  EXPECT_EQ(Names(dir.path()), (std::vector<std::string>{"v1.state", "v10.state.1f2e-1.tmp"}));
}

}  // namespace
}  // namespace snapdelta
