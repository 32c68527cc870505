// KinesisClient against moto_server 5.2: streams made and read back with the AWS CLI (an
// independent client), the request limits checked before sending, and Base64Encode on the
// RFC 4648 test vectors.
//
// moto 5.2's PutRecords (moto/kinesis/models.py) itself rejects more than 500 records, more than
// 5 MiB in all and a record over 1 MiB, and never fails single entries: FailedRecordCount is
// always 0, so per-entry failures cannot be produced here.
#include "cloud/kinesis_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "cloud/kinesis_cli.h"

namespace snapdelta {
namespace {

using testing::Base64Decode;
using ::testing::HasSubstr;
using testing::ReadRecord;

class KinesisClientTest : public testing::KinesisMotoTest {
 protected:
  void SetUp() override {
    KinesisMotoTest::SetUp();
    if (IsSkipped()) return;
    client_ = std::move(KinesisClient::Create(Config("kinesis"))).value();
  }

  std::unique_ptr<KinesisClient> client_;
};

TEST_F(KinesisClientTest, RecordsArriveWithTheirKeysInOrderPerKey) {
  NewStream("orders", 3);
  std::vector<KinesisRecord> sent;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "customer-" + std::to_string(i * 7 % 50);
    sent.push_back({key, key + "#" + std::to_string(i) + "|" +
                             testing::RandomBytes(static_cast<size_t>(i % 300), i)});
  }
  std::vector<std::string> shard_of(sent.size());
  std::vector<std::string> sequence_of(sent.size());
  for (size_t at = 0; at < sent.size(); at += KinesisClient::kMaxPutRecords) {
    const std::vector<KinesisRecord> batch(
        sent.begin() + at,
        sent.begin() + std::min(sent.size(), at + KinesisClient::kMaxPutRecords));
    StatusOr<PutRecordsResult> result = client_->PutRecords("orders", batch);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->failed, 0u);
    ASSERT_EQ(result->error_codes.size(), batch.size());
    ASSERT_EQ(result->sequence_numbers.size(), batch.size());
    ASSERT_EQ(result->shard_ids.size(), batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      EXPECT_TRUE(result->ok(i)) << result->error_codes[i];
      EXPECT_FALSE(result->sequence_numbers[i].empty());
      EXPECT_THAT(result->shard_ids[i], HasSubstr("shardId-"));
      shard_of[at + i] = result->shard_ids[i];
      sequence_of[at + i] = result->sequence_numbers[i];
    }
  }

  const std::vector<ReadRecord> read = ReadStream("orders");
  ASSERT_EQ(read.size(), sent.size());
  // Per key: the data in the order sent, each on the shard and with the sequence number
  // PutRecords reported.
  std::map<std::string, std::vector<size_t>> sent_by_key;
  for (size_t i = 0; i < sent.size(); ++i) sent_by_key[sent[i].partition_key].push_back(i);
  std::map<std::string, std::vector<const ReadRecord*>> read_by_key;
  std::set<std::string> shards_used;
  for (const ReadRecord& record : read) {
    read_by_key[record.partition_key].push_back(&record);
    shards_used.insert(record.shard_id);
  }
  ASSERT_EQ(sent_by_key.size(), 50u);
  ASSERT_EQ(read_by_key.size(), 50u);
  EXPECT_EQ(shards_used.size(), 3u) << "50 keys should spread over all 3 shards";
  for (const auto& [key, indexes] : sent_by_key) {
    const std::vector<const ReadRecord*>& got = read_by_key[key];
    ASSERT_EQ(got.size(), indexes.size()) << key;
    for (size_t n = 0; n < indexes.size(); ++n) {
      const size_t i = indexes[n];
      ASSERT_EQ(got[n]->data, sent[i].data) << key << " record " << n << " (sent as #" << i << ")";
      EXPECT_EQ(got[n]->shard_id, shard_of[i]) << key;
      EXPECT_EQ(got[n]->sequence_number, sequence_of[i]) << key;
    }
  }
}

TEST_F(KinesisClientTest, BinaryDataRoundTrips) {
  NewStream("binary", 1);
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  // Lengths 0, 1, 2, 3 cover every base64 padding; then all byte values, then a large record.
  const std::vector<KinesisRecord> sent = {
      {"k", ""},         {"k", std::string(1, '\0')},
      {"k", "\xff\xfe"}, {"k", std::string("\x00\x80\xff", 3)},
      {"k", all_bytes},  {"ключ", testing::RandomBytes(1000000, 7)}};
  StatusOr<PutRecordsResult> result = client_->PutRecords("binary", sent);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->failed, 0u);
  const std::vector<ReadRecord> read = ReadStream("binary");
  ASSERT_EQ(read.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(read[i].partition_key, sent[i].partition_key) << i;
    EXPECT_EQ(read[i].data.size(), sent[i].data.size()) << i;
    EXPECT_TRUE(read[i].data == sent[i].data) << i;
  }
}

TEST_F(KinesisClientTest, MissingStreamIsNotFound) {
  StatusOr<PutRecordsResult> result = client_->PutRecords("no-such-stream", {{"k", "v"}});
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound) << result.status().ToString();
  EXPECT_THAT(result.status().message(), HasSubstr("no-such-stream"));
  EXPECT_THAT(result.status().message(), HasSubstr("ResourceNotFoundException"));
}

TEST_F(KinesisClientTest, LimitsAreCheckedBeforeSending) {
  // No such stream: a request that went out would be kNotFound.
  const std::string stream = "never-created";
  StatusOr<PutRecordsResult> result =
      client_->PutRecords(stream, std::vector<KinesisRecord>(501, {"k", "v"}));
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("501 records; at most 500"));

  result = client_->PutRecords(stream, {{"k", "v"}, {"", "v"}});
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("record 1 has a partition key of 0"));
  result = client_->PutRecords(stream, {{std::string(257, 'k'), "v"}});
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  // 256 characters of two bytes each are fine.
  std::string long_key;
  for (int i = 0; i < 256; ++i) long_key += "é";
  result = client_->PutRecords(stream, {{long_key, "v"}});
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound) << result.status().ToString();

  // 1 MiB per record, the partition key included.
  const size_t record_max = KinesisClient::kMaxRecordBytes;
  result = client_->PutRecords(stream, {{"kk", std::string(record_max - 1, 'x')}});
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("record 0 has 1048577 bytes"));
  result = client_->PutRecords(stream, {{"kk", std::string(record_max - 2, 'x')}});
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound) << result.status().ToString();

  // 5 MiB per request.
  std::vector<KinesisRecord> big(6, {"k", std::string(record_max - 1, 'x')});
  result = client_->PutRecords(stream, big);
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("6291456 bytes"));

  result = client_->PutRecords(stream, {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->failed, 0u);
  EXPECT_TRUE(result->error_codes.empty());
}

TEST(KinesisBase64Test, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\0\xff", 2)), "AP8=");
  // Longer than one EVP_EncodeBlock piece (3 MiB): no line breaks, decodes back.
  const std::string large = testing::RandomBytes((size_t{3} << 20) + 5, 3);
  const std::string encoded = Base64Encode(large);
  EXPECT_EQ(encoded.size(), 4 * ((large.size() + 2) / 3));
  EXPECT_EQ(encoded.find('\n'), std::string::npos);
  EXPECT_TRUE(Base64Decode(encoded) == large);
  EXPECT_TRUE(Base64Decode("AP8=") == std::string("\0\xff", 2));
  EXPECT_TRUE(Base64Decode("Zg==") == "f");
  EXPECT_TRUE(Base64Decode("") == "");
}

}  // namespace
}  // namespace snapdelta
