#include "cloud/kinesis_cli.h"

#include <openssl/evp.h>

#include <chrono>
#include <thread>

namespace snapdelta::testing {

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  // EVP_DecodeBlock writes 3 bytes per 4 characters, the padding included, so the '=' at the end
  // are taken off again.
  std::string out(text.size() / 4 * 3, '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (written < 0) return std::nullopt;
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  out.resize(static_cast<size_t>(written) - padding);
  return out;
}

void KinesisMotoTest::NewStream(const std::string& name, int shards) {
  const CommandResult made = Aws(
      {"kinesis", "create-stream", "--stream-name", name, "--shard-count", std::to_string(shards)});
  ASSERT_TRUE(made.ok()) << made.Describe();
  for (int round = 0; round < 60; ++round) {
    const CommandResult status =
        Aws({"kinesis", "describe-stream-summary", "--stream-name", name, "--query",
             "StreamDescriptionSummary.StreamStatus", "--output", "text"});
    ASSERT_TRUE(status.ok()) << status.Describe();
    if (status.out.rfind("ACTIVE", 0) == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  FAIL() << "stream " << name << " did not become ACTIVE";
}

std::vector<ReadRecord> KinesisMotoTest::ReadStream(const std::string& name, size_t max_shards) {
  std::vector<ReadRecord> records;
  const CommandResult shards = Aws({"kinesis", "list-shards", "--stream-name", name, "--query",
                                    "Shards[].ShardId", "--output", "json"});
  EXPECT_TRUE(shards.ok()) << shards.Describe();
  if (!shards.ok()) return records;
  for (const auto& shard : ParseJson(shards.out, "list-shards")) {
    if (max_shards-- == 0) break;
    const std::string shard_id = shard.get<std::string>();
    const CommandResult start = Aws(
        {"kinesis", "get-shard-iterator", "--stream-name", name, "--shard-id", shard_id,
         "--shard-iterator-type", "TRIM_HORIZON", "--query", "ShardIterator", "--output", "text"});
    EXPECT_TRUE(start.ok()) << start.Describe();
    std::string iterator = start.out.substr(0, start.out.find('\n'));
    int empty_pages = 0;
    for (int page = 0; page < 1000 && !iterator.empty() && iterator != "None"; ++page) {
      const CommandResult got = Aws({"kinesis", "get-records", "--shard-iterator", iterator,
                                     "--limit", "10000", "--output", "json"});
      EXPECT_TRUE(got.ok()) << got.Describe();
      if (!got.ok()) break;
      const nlohmann::json answer = ParseJson(got.out, "get-records");
      for (const auto& item : answer.at("Records")) {
        std::optional<std::string> data = Base64Decode(item.at("Data").get<std::string>());
        EXPECT_TRUE(data.has_value()) << item.dump();
        records.push_back({shard_id, item.at("PartitionKey").get<std::string>(), data.value_or(""),
                           item.at("SequenceNumber").get<std::string>()});
      }
      if (answer.at("Records").empty()) {
        const auto behind = answer.find("MillisBehindLatest");
        if ((behind != answer.end() && behind->is_number() && behind->get<int64_t>() == 0) ||
            ++empty_pages >= 3) {
          break;
        }
      }
      const auto next = answer.find("NextShardIterator");
      iterator = next != answer.end() && next->is_string() ? next->get<std::string>() : "";
    }
  }
  return records;
}

}  // namespace snapdelta::testing
