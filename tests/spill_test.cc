#include "diff/spill.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "diff/export_reader.h"
#include "test_util.h"

namespace snapdelta {
namespace {

TEST(Spill, WritesRowsToTheirPartitionAndReadsThemBackInOrder) {
  testing::ScratchDir dir;
  std::string csv = "id,name\n";
  for (int i = 1; i <= 1000; ++i) csv += std::to_string(i) + ",\"n," + std::to_string(i) + "\"\n";
  std::string path = dir.Write("export.csv", csv);
  ExportReader reader;
  std::shared_ptr<StoredFile> file = testing::LocalFile(path);
  ASSERT_TRUE(reader.Open(file.get(), {}).ok());
  SpillDir spill;
  ASSERT_TRUE(spill.Create(dir.path()).ok());
  SpillWriter writer;
  constexpr size_t kPartitions = 8;
  ASSERT_TRUE(writer.Open(spill, "new-", kPartitions).ok());
  bool has_row = false;
  while (reader.Next(&has_row).ok() && has_row) ASSERT_TRUE(writer.Add(reader).ok());
  ASSERT_TRUE(writer.Close().ok());
  size_t total = 0;
  for (size_t partition = 0; partition < kPartitions; ++partition) {
    SpillReader rows(writer.PathOf(partition), path, &reader.schema());
    ASSERT_TRUE(rows.Open().ok());
    uint64_t last_row = 0;
    while (rows.Next(&has_row).ok() && has_row) {
      EXPECT_EQ(PartitionOf(rows.key_digest(), kPartitions), partition);
      EXPECT_GT(rows.rows_read(), last_row);  // export order within a partition
      last_row = rows.rows_read();
      EXPECT_EQ(rows.line(), rows.rows_read() + 1);
      EXPECT_EQ(rows.values()[1].value, "n," + std::string(rows.values()[0].value));
      EXPECT_EQ(rows.key_digest(), DigestKey(rows.key()));
      ++total;
    }
    EXPECT_GT(writer.rows_written(partition), 0u);
  }
  EXPECT_EQ(total, 1000u);
}

TEST(Spill, RemovesTheFoldersOfDeadProcessesButNotOfLiveOnes) {
  testing::ScratchDir dir;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  std::string dead = dir.File("snapdelta-spill-" + std::to_string(child) + "-abc");
  std::string alive = dir.File("snapdelta-spill-1-abc");
  std::filesystem::create_directories(dead + "/data");
  std::filesystem::create_directories(alive);
  {
    SpillDir spill;
    ASSERT_TRUE(spill.Create(dir.path()).ok());
    EXPECT_FALSE(std::filesystem::exists(dead));
    EXPECT_TRUE(std::filesystem::exists(alive));
  }
  size_t left = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().string(), alive);
    ++left;
  }
  EXPECT_EQ(left, 1u);  // our own folder went with the SpillDir
}

}  // namespace
}  // namespace snapdelta
