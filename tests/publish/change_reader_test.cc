// ChangeReader: the events of a change file across the batches its background thread reads
// ahead, with escaped ids, a damaged line after good ones, a file cut short and a reader dropped
// half way.
#include "publish/change_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace snapdelta {
namespace {

using testing::ScratchDir;

std::string Event(uint64_t seq, const std::string& op = "INSERT") {
  const std::string n = std::to_string(seq);
  return "{\"id\":\"acme/orders/v1/" + n + "\",\"op\":\"" + op + "\",\"seq\":" + n +
         ",\"key\":{\"id\":\"" + n + "\"},\"row\":{\"id\":\"" + n + "\",\"note\":\"" +
         std::string(seq % 300, 'x') + "\"}}\n";
}

std::string Events(uint64_t count) {
  std::string out;
  for (uint64_t seq = 1; seq <= count; ++seq) out += Event(seq, seq % 3 ? "INSERT" : "UPDATE");
  return out;
}

// Reads batches until `count` events were returned (or the reader stops); the lines' views are
// checked by `check` while their batch is current.
template <typename Check>
void ReadEvents(ChangeReader& reader, uint64_t count, Check check) {
  std::vector<ChangeLine> lines;
  uint64_t read = 0;
  while (read < count) {
    auto got = reader.NextBatch(&lines);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_TRUE(*got) << "ended after " << read << " events";
    ASSERT_FALSE(lines.empty());
    for (const ChangeLine& line : lines) check(line);
    read += lines.size();
  }
  ASSERT_EQ(read, count);
}

TEST(ChangeReader, EveryEventInOrderAcrossManyBatches) {
  ScratchDir dir;
  const uint64_t count = 30'000;  // several batches of lines and of bytes
  const std::string path = dir.Write("v1.jsonl", Events(count));
  auto reader = ChangeReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  uint64_t seq = 0;
  ReadEvents(**reader, count, [&](const ChangeLine& line) {
    ++seq;
    ASSERT_EQ(line.seq, seq);
    const std::string n = std::to_string(seq);
    ASSERT_EQ(line.id, "acme/orders/v1/" + n);
    ASSERT_EQ(line.op, seq % 3 ? "INSERT" : "UPDATE");
    ASSERT_EQ(line.key, "{\"id\":\"" + n + "\"}");
    ASSERT_EQ(std::string(line.text) + "\n", Event(seq, std::string(line.op)));
  });
  std::vector<ChangeLine> lines;
  auto end = (*reader)->NextBatch(&lines);
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_FALSE(*end);
  EXPECT_TRUE(lines.empty());
  EXPECT_FALSE(*(*reader)->NextBatch(&lines));  // and stays at the end
  EXPECT_EQ((*reader)->events(), count);
}

TEST(ChangeReader, AnEscapedIdIsUnescaped) {
  ScratchDir dir;
  const std::string path = dir.Write(
      "v1.jsonl",
      "{\"id\":\"a\\\"b/t\\\\x/v1/1\",\"op\":\"DELETE\",\"seq\":1,\"key\":{\"k\":\"\\u00e9\"}}\n");
  auto reader = ChangeReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::vector<ChangeLine> lines;
  ASSERT_TRUE(*(*reader)->NextBatch(&lines));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].id, "a\"b/t\\x/v1/1");
  EXPECT_EQ(lines[0].op, "DELETE");
  EXPECT_EQ(lines[0].key, "{\"k\":\"\\u00e9\"}");
}

TEST(ChangeReader, TheEventsBeforeADamagedLineComeFirstThenItsLine) {
  ScratchDir dir;
  std::string text = Events(10'000);
  text += "{\"id\":\"acme/orders/v1/10001\",\"seq\":10002,\"key\":{}}\n" + Event(10'002);
  const std::string path = dir.Write("v1.jsonl", text);
  auto reader = ChangeReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  uint64_t seq = 0;
  ReadEvents(**reader, 10'000, [&](const ChangeLine& line) { ASSERT_EQ(line.seq, ++seq); });
  std::vector<ChangeLine> lines;
  auto bad = (*reader)->NextBatch(&lines);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_NE(bad.status().message().find(path + " line 10001: seq 10002, expected 10001"),
            std::string::npos)
      << bad.status().ToString();
  EXPECT_EQ((*reader)->events(), 10'000u);
}

TEST(ChangeReader, AFileCutShortIsCorruptionNamingItsLastLine) {
  ScratchDir dir;
  std::string text = Events(3);
  text += Event(4).substr(0, 40);
  const std::string path = dir.Write("v1.jsonl", text);
  auto reader = ChangeReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ReadEvents(**reader, 3, [](const ChangeLine&) {});
  std::vector<ChangeLine> lines;
  auto cut = (*reader)->NextBatch(&lines);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("line 4: the last line has no newline"), std::string::npos)
      << cut.status().ToString();
}

TEST(ChangeReader, AMissingFileIsNotFoundAndADroppedReaderStopsItsThread) {
  ScratchDir dir;
  auto missing = ChangeReader::Open(dir.File("nope.jsonl"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  const std::string path = dir.Write("v1.jsonl", Events(50'000));
  auto reader = ChangeReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::vector<ChangeLine> lines;
  ASSERT_TRUE(*(*reader)->NextBatch(&lines));
  EXPECT_LT(lines.size(), 50'000u);  // a batch, not the file
  reader->reset();  // half read: the thread reading ahead stops and the file is closed
}

}  // namespace
}  // namespace snapdelta
