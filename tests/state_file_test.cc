#include "diff/state_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "test_util.h"

namespace snapdelta {
namespace {

struct Record {
  std::string key;
  Fingerprint fp;
  std::string row;
};

std::vector<Record> MakeRecords(size_t count, bool with_rows) {
  std::vector<Record> records;
  for (size_t i = 0; i < count; ++i) {
    Record record;
    AppendKeyPart(&record.key, "key" + std::to_string(i));
    record.fp = Fingerprint{i * 7 + 1, i * 13 + 2};
    if (with_rows) {
      AppendRowValue(&record.row, "key" + std::to_string(i), false);
      AppendRowValue(&record.row, std::string(i % 50, 'x'), false);
      AppendRowValue(&record.row, "", true);
    }
    records.push_back(record);
  }
  std::sort(records.begin(), records.end(),
            [](const Record& a, const Record& b) { return DigestKey(a.key) < DigestKey(b.key); });
  return records;
}

StateMeta Meta(bool with_rows) {
  return StateMeta{{"id", "name", "note"}, {"id"}, {"name", "note"}, with_rows};
}

void WriteState(const std::string& path, const std::vector<Record>& records, bool with_rows) {
  StateWriter writer;
  ASSERT_TRUE(writer.Open(path, Meta(with_rows)).ok());
  for (const Record& record : records) {
    ASSERT_TRUE(writer.Add(record.key, record.fp, record.row).ok());
  }
  ASSERT_TRUE(writer.Commit().ok());
}

Status ReadAll(const std::string& path, std::vector<Record>* out) {
  StateReader reader;
  RETURN_IF_ERROR(reader.Open(path));
  for (;;) {
    bool has_record = false;
    std::string_view key, row;
    Fingerprint fp;
    RETURN_IF_ERROR(reader.Next(&has_record, &key, &fp, &row));
    if (!has_record) return Status::OK();
    out->push_back(Record{std::string(key), fp, std::string(row)});
  }
}

TEST(StateFile, RoundTripsRecordsWithAndWithoutRows) {
  testing::ScratchDir dir;
  for (bool with_rows : {false, true}) {
    std::vector<Record> records = MakeRecords(20000, with_rows);
    std::string path = dir.File(with_rows ? "rows.state" : "plain.state");
    WriteState(path, records, with_rows);
    std::vector<Record> read;
    ASSERT_TRUE(ReadAll(path, &read).ok());
    ASSERT_EQ(read.size(), records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ(read[i].key, records[i].key);
      EXPECT_EQ(read[i].fp, records[i].fp);
      EXPECT_EQ(read[i].row, records[i].row);
    }
    StateReader reader;
    ASSERT_TRUE(reader.Open(path).ok());
    EXPECT_EQ(reader.meta().columns, Meta(with_rows).columns);
    EXPECT_EQ(reader.meta().before_images, with_rows);
  }
}

TEST(StateFile, RoundTripsAnEmptyState) {
  testing::ScratchDir dir;
  WriteState(dir.File("empty.state"), {}, false);
  std::vector<Record> read;
  Status status = ReadAll(dir.File("empty.state"), &read);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_TRUE(read.empty());
}

TEST(StateFile, LeavesNoFileWhenNotCommitted) {
  testing::ScratchDir dir;
  {
    StateWriter writer;
    ASSERT_TRUE(writer.Open(dir.File("x.state"), Meta(false)).ok());
    ASSERT_TRUE(writer.Add("k", Fingerprint{1, 2}, "").ok());
  }
  EXPECT_FALSE(std::ifstream(dir.File("x.state")).good());
  EXPECT_FALSE(std::ifstream(dir.File("x.state.tmp")).good());
}

TEST(StateFile, DetectsCorruptionAndTruncation) {
  testing::ScratchDir dir;
  std::string path = dir.File("c.state");
  WriteState(path, MakeRecords(5000, false), false);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x5a;
  dir.Write("flipped.state", flipped);
  std::vector<Record> read;
  Status status = ReadAll(dir.File("flipped.state"), &read);
  EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find("flipped.state"), std::string::npos);

  dir.Write("short.state", bytes.substr(0, bytes.size() - 30));
  read.clear();
  status = ReadAll(dir.File("short.state"), &read);
  EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.ToString();

  dir.Write("garbage.state", "not a state file at all");
  StateReader reader;
  status = reader.Open(dir.File("garbage.state"));
  EXPECT_EQ(status.code(), StatusCode::kCorruption);
  EXPECT_NE(status.message().find("not a state file"), std::string::npos);
}

TEST(StateFile, ReportsAMissingFileAsNotFound) {
  testing::ScratchDir dir;
  StateReader reader;
  EXPECT_EQ(reader.Open(dir.File("none.state")).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace snapdelta
