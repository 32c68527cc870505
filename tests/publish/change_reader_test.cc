// ChangeReader: the events of a change file across the batches its background thread reads
// ahead, with escaped ids, a damaged line after good ones, a file cut short and a reader dropped
// half way.
#include "publish/change_reader.h"

#include <gtest/gtest.h>

#include <string>

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

TEST(ChangeReader, EveryEventInOrderAcrossManyBatches) {
  ScratchDir dir;
  const uint64_t count = 30'000;  // several batches of lines and of bytes
  const std::string path = dir.Write("v1.jsonl", Events(count));
  auto reader = ChangeReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ChangeLine line;
  for (uint64_t seq = 1; seq <= count; ++seq) {
    auto got = (*reader)->Next(&line);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_TRUE(*got) << "ended before seq " << seq;
    ASSERT_EQ(line.seq, seq);
    const std::string n = std::to_string(seq);
    ASSERT_EQ(line.id, "acme/orders/v1/" + n);
    ASSERT_EQ(line.op, seq % 3 ? "INSERT" : "UPDATE");
    ASSERT_EQ(line.key, "{\"id\":\"" + n + "\"}");
    ASSERT_EQ(std::string(line.text) + "\n", Event(seq, std::string(line.op)));
  }
  auto end = (*reader)->Next(&line);
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_FALSE(*end);
  EXPECT_FALSE(*(*reader)->Next(&line));  // and stays at the end
  EXPECT_EQ((*reader)->events(), count);
}

TEST(ChangeReader, AnEscapedIdIsUnescaped) {
  ScratchDir dir;
  const std::string path = dir.Write(
      "v1.jsonl",
      "{\"id\":\"a\\\"b/t\\\\x/v1/1\",\"op\":\"DELETE\",\"seq\":1,\"key\":{\"k\":\"\\u00e9\"}}\n");
  auto reader = ChangeReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ChangeLine line;
  ASSERT_TRUE(*(*reader)->Next(&line));
  EXPECT_EQ(line.id, "a\"b/t\\x/v1/1");
  EXPECT_EQ(line.op, "DELETE");
  EXPECT_EQ(line.key, "{\"k\":\"\\u00e9\"}");
}

TEST(ChangeReader, TheEventsBeforeADamagedLineComeFirstThenItsLine) {
  ScratchDir dir;
  std::string text = Events(10'000);
  text += "{\"id\":\"acme/orders/v1/10001\",\"seq\":10002,\"key\":{}}\n" + Event(10'002);
  const std::string path = dir.Write("v1.jsonl", text);
  auto reader = ChangeReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ChangeLine line;
  for (uint64_t seq = 1; seq <= 10'000; ++seq) {
    auto got = (*reader)->Next(&line);
    ASSERT_TRUE(got.ok() && *got) << "seq " << seq;
  }
  auto bad = (*reader)->Next(&line);
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
  ChangeLine line;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(*(*reader)->Next(&line));
  auto cut = (*reader)->Next(&line);
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
  ChangeLine line;
  ASSERT_TRUE(*(*reader)->Next(&line));
  reader->reset();  // half read: the thread reading ahead stops and the file is closed
}

}  // namespace
}  // namespace snapdelta
