// The Kinesis Stream (publish/kinesis_stream.h) against moto_server 5.2, read back with the AWS
// CLI (an independent client): every event exactly once, partition key = row key, per-key order
// across imports, several tables to one stream and to a per-table template; through the fault
// proxy, per-entry failures (entries really not stored) and whole requests throttled are resent
// until everything arrived once and in order; a missing stream and endless throttling fail
// naming the stream, with Acked() staying put; and the requests and bytes per event of 100k
// small events, printed for the benchmark.
#include "publish/kinesis_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "cloud/fault_proxy.h"
#include "cloud/kinesis_cli.h"
#include "publish/stream_events.h"

namespace snapdelta {
namespace {

using testing::FaultProxy;
using ::testing::HasSubstr;

// Every test talks to moto through a FaultProxy that forwards one request at a time: moto 5.2's
// Shard.put_record "is not safe for concurrency" (a record's sequence number is the shard's last
// one + 1, taken without a lock), so concurrent PutRecords lose records there. The writer still
// has several requests in flight at once (to the proxy).
class KinesisStreamTest : public testing::KinesisMotoTest {
 protected:
  void SetUp() override {
    KinesisMotoTest::SetUp();
    if (IsSkipped()) return;
    proxy_ = std::make_unique<FaultProxy>(server()->port());
    proxy_->SetSerialized(true);
  }

  // Fast backoff for tests, the endpoint of proxy_.
  KinesisStreamOptions Options() const {
    KinesisStreamOptions options;
    options.base_backoff = std::chrono::milliseconds(20);
    options.max_backoff = std::chrono::milliseconds(500);
    options.http.base_delay = std::chrono::milliseconds(10);
    options.http.max_delay = std::chrono::milliseconds(100);
    options.config = Config("kinesis");
    options.config->endpoint = proxy_->endpoint();
    return options;
  }

  std::unique_ptr<Stream> Open(const std::string& destination) {
    return Open(destination, Options());
  }
  static std::unique_ptr<Stream> Open(const std::string& destination,
                                      KinesisStreamOptions options) {
    SinkSettings settings;
    settings.kind = SinkKind::kKinesis;
    settings.url = "kinesis://" + destination;
    settings.destination = destination;
    StatusOr<std::unique_ptr<Stream>> stream = NewKinesisStream(settings, std::move(options));
    EXPECT_TRUE(stream.ok()) << stream.status().ToString();
    return stream.ok() ? std::move(stream).value() : nullptr;
  }

  static std::unique_ptr<StreamWriter> Writer(Stream& stream, const std::string& table) {
    StatusOr<std::unique_ptr<StreamWriter>> writer = stream.NewWriter("acme", table);
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    return writer.ok() ? std::move(writer).value() : nullptr;
  }

  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(KinesisStreamTest, EveryEventOnceInKeyOrderAcrossImports) {
  NewStream("orders", 4);
  std::unique_ptr<Stream> stream = Open("orders");
  ASSERT_NE(stream, nullptr);
  std::unique_ptr<StreamWriter> writer = Writer(*stream, "orders");
  ASSERT_NE(writer, nullptr);
  // Import 2 updates the same rows again (and some new ones), in another order.
  std::vector<int> again = Range(0, 1500);
  std::reverse(again.begin(), again.end());
  const std::vector<std::vector<Event>> imports = {Import("orders", 1, Range(0, 1500)),
                                                   Import("orders", 2, again),
                                                   Import("orders", 3, Range(1000, 1600))};
  for (const auto& events : imports) {
    Status published = Publish(*writer, "orders", events);
    ASSERT_TRUE(published.ok()) << published.ToString();
  }
  const std::vector<ReadRecord> read = ReadStream("orders");
  std::set<std::string> shards;
  for (const ReadRecord& record : read) shards.insert(record.shard_id);
  EXPECT_EQ(shards.size(), 4u) << "1600 keys should spread over all 4 shards";
  ExpectExactlyOnceInOrder(read, imports);
}

TEST_F(KinesisStreamTest, TablesToOneStreamAndToATemplate) {
  NewStream("all-events", 2);
  NewStream("snap-acme-items", 2);
  NewStream("snap-acme-users", 1);
  const std::vector<Event> items = Import("items", 1, Range(0, 800));
  const std::vector<Event> users = Import("users", 1, Range(0, 500));
  for (const std::string destination : {"all-events", "snap-{tenant}-{table}"}) {
    std::unique_ptr<Stream> stream = Open(destination);
    ASSERT_NE(stream, nullptr);
    EXPECT_EQ(stream->Describe(), "kinesis://" + destination);
    std::unique_ptr<StreamWriter> item_writer = Writer(*stream, "items");
    std::unique_ptr<StreamWriter> user_writer = Writer(*stream, "users");
    ASSERT_NE(item_writer, nullptr);
    ASSERT_NE(user_writer, nullptr);
    Status user_status;
    std::thread other([&] { user_status = Publish(*user_writer, "users", users); });
    Status item_status = Publish(*item_writer, "items", items);
    other.join();
    EXPECT_TRUE(item_status.ok()) << item_status.ToString();
    EXPECT_TRUE(user_status.ok()) << user_status.ToString();
  }
  // Both tables' keys are {"id": 0..}: one stream holds both tables' events of a key, on one
  // shard; the tables were published at once, so only each table's own order is defined.
  ExpectExactlyOnceInOrder(ReadStream("all-events"), {items, users}, /*across=*/false);
  ExpectExactlyOnceInOrder(ReadStream("snap-acme-items"), {items});
  ExpectExactlyOnceInOrder(ReadStream("snap-acme-users"), {users});
}

TEST_F(KinesisStreamTest, LongKeysTombstonesAndHugeRecords) {
  NewStream("long-keys", 2);
  std::unique_ptr<Stream> stream = Open("long-keys");
  ASSERT_NE(stream, nullptr);
  std::unique_ptr<StreamWriter> writer = Writer(*stream, "docs");
  ASSERT_NE(writer, nullptr);
  // A key of 300 characters is sent as its digest, the same in both imports.
  std::vector<std::vector<Event>> imports = {Import("docs", 1, {1, 2}), Import("docs", 2, {1, 2})};
  const std::string long_key = "{\"id\":\"" + std::string(290, 'k') + "\"}";
  for (auto& events : imports) events[1].key = long_key;
  EXPECT_EQ(KinesisPartitionKey(long_key).size(), 32u);
  EXPECT_EQ(KinesisPartitionKey(long_key), KinesisPartitionKey(long_key));
  EXPECT_EQ(KinesisPartitionKey("{\"id\":1}"), "{\"id\":1}");
  for (const auto& events : imports) {
    Status published = Publish(*writer, "docs", events);
    ASSERT_TRUE(published.ok()) << published.ToString();
  }
  ExpectExactlyOnceInOrder(ReadStream("long-keys"), imports);

  ASSERT_TRUE(writer->Begin(ImportIdentity{"acme", "docs", "v3"}, 0).ok());
  Status tombstone = writer->Send(StreamMessage{1, "docs-3-1", "{\"id\":1}", std::nullopt});
  EXPECT_EQ(tombstone.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(tombstone.message(), HasSubstr("docs-3-1"));
  const std::string huge(KinesisClient::kMaxRecordBytes, 'x');
  Status too_big = writer->Send(StreamMessage{2, "docs-3-2", "{\"id\":2}", huge});
  EXPECT_EQ(too_big.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(too_big.message(), HasSubstr("event docs-3-2"));
  EXPECT_THAT(too_big.message(), HasSubstr("kinesis stream long-keys"));
  writer->Abort();
  EXPECT_EQ(writer->Acked(), 0u);
}

TEST_F(KinesisStreamTest, FailedEntriesAreResentInKeyOrder) {
  NewStream("partial", 4);
  FaultProxy& proxy = *proxy_;
  // Every 5th entry fails (throttled or an internal failure, alternately), and the first two
  // attempts of the events of keys divisible by 7 (in import 3 only of their first event);
  // failed entries are not stored upstream.
  std::mutex mutex;
  std::map<std::string, int> attempts;  // by event id
  proxy.SetKinesisEntryFaults(
      [&](const std::string& key, const std::string& data, uint64_t n) -> std::string {
        if (n % 5 == 4) {
          return n % 10 == 4 ? "ProvisionedThroughputExceededException" : "InternalFailure";
        }
        // data: {"id":"orders-I-S",...}; key: {"id":K}
        const size_t from = data.find("orders-");
        const std::string id = data.substr(from, data.find('"', from) - from);
        int import = 0;
        int seq = 0;
        std::sscanf(id.c_str(), "orders-%d-%d", &import, &seq);
        const int row = std::atoi(key.c_str() + key.find(':') + 1);
        std::lock_guard<std::mutex> lock(mutex);
        if (row % 7 == 0 && (import != 3 || seq <= 500) && attempts[id]++ < 2) {
          return "ProvisionedThroughputExceededException";
        }
        return "";
      });
  std::unique_ptr<Stream> stream = Open("partial");
  ASSERT_NE(stream, nullptr);
  std::unique_ptr<StreamWriter> writer = Writer(*stream, "orders");
  ASSERT_NE(writer, nullptr);
  // Import 3 has every key twice (against the publisher's rule): the writer must hold the second
  // event of a key until the first, failed and resent, is acknowledged.
  std::vector<int> twice = Range(0, 500);
  for (int k = 0; k < 500; ++k) twice.push_back(k);
  const std::vector<std::vector<Event>> imports = {Import("orders", 1, Range(0, 1000)),
                                                   Import("orders", 2, Range(0, 1000)),
                                                   Import("orders", 3, twice)};
  for (const auto& events : imports) {
    Status published = Publish(*writer, "orders", events);
    ASSERT_TRUE(published.ok()) << published.ToString();
  }
  std::printf("[ partial  ] %llu of %llu PutRecords entries failed by the proxy\n",
              static_cast<unsigned long long>(proxy.kinesis_entries_failed()),
              static_cast<unsigned long long>(proxy.kinesis_entries_seen()));
  EXPECT_GT(proxy.kinesis_entries_failed(), 500u);
  EXPECT_EQ(proxy.kinesis_entries_seen() - proxy.kinesis_entries_failed(), 3000u);
  ExpectExactlyOnceInOrder(ReadStream("partial"), imports);
}

TEST_F(KinesisStreamTest, ThrottledRequestsAreResent) {
  NewStream("throttled", 2);
  FaultProxy& proxy = *proxy_;
  std::unique_ptr<Stream> stream = Open("throttled");
  ASSERT_NE(stream, nullptr);
  std::unique_ptr<StreamWriter> writer = Writer(*stream, "orders");
  ASSERT_NE(writer, nullptr);
  // More than AwsHttp's 3 attempts of a request: the writer itself must back off and resend.
  proxy.FailNextRequestsJson(10, 400, "ProvisionedThroughputExceededException", "Rate exceeded");
  const std::vector<std::vector<Event>> imports = {Import("orders", 1, Range(0, 2000))};
  Status published = Publish(*writer, "orders", imports[0]);
  ASSERT_TRUE(published.ok()) << published.ToString();
  EXPECT_EQ(proxy.failures_left(), 0);
  proxy.FailNextRequestsJson(5, 400, "LimitExceededException", "Rate exceeded");
  const std::vector<Event> second = Import("orders", 2, Range(0, 300));
  published = Publish(*writer, "orders", second);
  ASSERT_TRUE(published.ok()) << published.ToString();
  EXPECT_EQ(proxy.failures_left(), 0);
  ExpectExactlyOnceInOrder(ReadStream("throttled"), {imports[0], second});
}

TEST_F(KinesisStreamTest, EndlessThrottlingFailsAfterTheBound) {
  NewStream("never-enough", 1);
  FaultProxy& proxy = *proxy_;
  KinesisStreamOptions options = Options();
  options.give_up_after = std::chrono::seconds(2);
  std::unique_ptr<Stream> stream = Open("never-enough", options);
  ASSERT_NE(stream, nullptr);
  std::unique_ptr<StreamWriter> writer = Writer(*stream, "orders");
  ASSERT_NE(writer, nullptr);
  proxy.FailNextRequestsJson(1000000, 400, "ProvisionedThroughputExceededException",
                             "Rate exceeded");
  ASSERT_TRUE(writer->Begin(ImportIdentity{"acme", "orders", "v"}, 3).ok());
  for (const Event& event : Import("orders", 1, Range(0, 50))) {
    Status sent = writer->Send(StreamMessage{event.seq, event.id, event.key, event.value});
    if (!sent.ok()) break;  // the failure may already be known
  }
  const Status finished = writer->Finish();
  EXPECT_EQ(finished.code(), StatusCode::kResourceExhausted) << finished.ToString();
  EXPECT_THAT(finished.message(), HasSubstr("kinesis stream never-enough"));
  EXPECT_THAT(finished.message(), HasSubstr("ProvisionedThroughputExceededException"));
  EXPECT_THAT(finished.message(), HasSubstr("event orders-1-"));
  EXPECT_EQ(writer->Acked(), 3u);
  EXPECT_TRUE(ReadStream("never-enough").empty());
}

TEST_F(KinesisStreamTest, MissingStreamFailsNamingIt) {
  std::unique_ptr<Stream> stream = Open("no-such-stream");
  ASSERT_NE(stream, nullptr);
  std::unique_ptr<StreamWriter> writer = Writer(*stream, "orders");
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->Begin(ImportIdentity{"acme", "orders", "v"}, 7).ok());
  Status sent;
  for (const Event& event : Import("orders", 1, Range(0, 20))) {
    sent = writer->Send(StreamMessage{event.seq, event.id, event.key, event.value});
    if (!sent.ok()) break;
  }
  const Status finished = writer->Finish();
  EXPECT_EQ(finished.code(), StatusCode::kNotFound) << finished.ToString();
  EXPECT_THAT(finished.message(), HasSubstr("kinesis stream no-such-stream"));
  EXPECT_THAT(finished.message(), HasSubstr("ResourceNotFoundException"));
  EXPECT_THAT(finished.message(), HasSubstr("event orders-1-"));
  if (!sent.ok()) {
    EXPECT_EQ(sent.code(), StatusCode::kNotFound);
  }
  EXPECT_EQ(writer->Acked(), 7u);
}

TEST_F(KinesisStreamTest, RequestsAndBytesPerEvent) {
  // moto appends a record in time linear in its shard's records (Shard.put_record lists the
  // keys): many shards keep 100k records fast there.
  NewStream("bench", 64);
  // The proxy passes every entry on, counting requests, bytes and entries.
  FaultProxy& proxy = *proxy_;
  proxy.SetKinesisEntryFaults(
      [](const std::string&, const std::string&, uint64_t) { return std::string(); });
  std::unique_ptr<Stream> stream = Open("bench");
  ASSERT_NE(stream, nullptr);
  std::unique_ptr<StreamWriter> writer = Writer(*stream, "orders");
  ASSERT_NE(writer, nullptr);
  constexpr int kEvents = 100000;
  const std::vector<Event> events = Import("orders", 1, Range(0, kEvents), 20);
  size_t record_bytes = 0;
  for (const Event& event : events) record_bytes += event.key.size() + event.value.size();
  const auto start = std::chrono::steady_clock::now();
  Status published = Publish(*writer, "orders", events);
  ASSERT_TRUE(published.ok()) << published.ToString();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(proxy.kinesis_entries_seen(), static_cast<uint64_t>(kEvents));
  EXPECT_EQ(proxy.kinesis_entries_failed(), 0u);
  size_t requests = 0;
  size_t body_bytes = 0;
  for (const auto& request : proxy.Requests()) {
    if (request.head.find("Kinesis_20131202.PutRecords") == std::string::npos) continue;
    ++requests;
    const size_t at = request.head.find("Content-Length: ");
    ASSERT_NE(at, std::string::npos);
    body_bytes += std::stoull(request.head.substr(at + 16));
  }
  std::printf(
      "[ bench    ] %d events of %.1f bytes (key + value): %zu PutRecords requests "
      "(%.1f events per request), %.1f request body bytes per event; %.1f s against moto "
      "(not a measure of AWS)\n",
      kEvents, static_cast<double>(record_bytes) / kEvents, requests,
      static_cast<double>(kEvents) / static_cast<double>(requests),
      static_cast<double>(body_bytes) / kEvents, seconds);
  EXPECT_GE(requests, static_cast<size_t>(kEvents / 500));
  // Base64 makes the data 4/3 larger; JSON adds the field names.
  EXPECT_GT(body_bytes, record_bytes);
  // The proxy counted every entry once (above); the CLI reads two of the 64 shards back (all 64
  // would take a minute): each record there was sent, once, under its row key.
  std::map<std::string, const Event*> by_value;
  for (const Event& event : events) by_value[event.value] = &event;
  const std::vector<ReadRecord> read = ReadStream("bench", 2);
  EXPECT_GT(read.size(), static_cast<size_t>(kEvents / 64));
  std::set<std::string> seen;
  for (const ReadRecord& record : read) {
    auto found = by_value.find(record.data);
    ASSERT_NE(found, by_value.end()) << record.data.substr(0, 200);
    EXPECT_EQ(record.partition_key, found->second->key);
    EXPECT_TRUE(seen.insert(record.data).second) << "twice: " << found->second->id;
  }
}

}  // namespace
}  // namespace snapdelta
