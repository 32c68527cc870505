// The Kafka stream against librdkafka's mock cluster (a separate process speaking the Kafka
// protocol), checked with kcat, an independent client: every message arrives once with its key,
// value and id header, in order per key, in its table's topic; Acked() never passes a message
// that is not in the topic, whether brokers fail for a while or for good.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

#include "integration/harness.h"
#include "publish/kafka_test_util.h"

namespace snapdelta::testing {
namespace {

std::unique_ptr<KafkaMock> StartKafka(const std::vector<std::string>& topics) {
  std::string error;
  std::unique_ptr<KafkaMock> kafka = KafkaMock::Start(3, topics, &error);
  EXPECT_NE(kafka, nullptr) << error;
  return kafka;
}

std::vector<Record> Sorted(std::vector<Record> records) {
  std::sort(records.begin(), records.end());
  return records;
}

TEST(KafkaStream, EveryMessageArrivesOnceInOrderPerKeyInItsTablesTopic) {
  auto kafka = StartKafka({"snapdelta.acme.orders:4", "snapdelta.acme.users:3"});
  ASSERT_NE(kafka, nullptr);
  auto stream = NewKafkaStream(KafkaSettings(kafka->bootstrap()));
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ((*stream)->Describe(), "kafka://" + kafka->bootstrap() + "/snapdelta.{tenant}.{table}");
  auto orders = (*stream)->NewWriter("acme", "orders");
  auto users = (*stream)->NewWriter("acme", "users");
  ASSERT_TRUE(orders.ok() && users.ok());

  // Two imports per table, several events per key in each; the tables publish in parallel
  // through the stream's one producer.
  std::vector<TestEvent> sent_orders, sent_users;
  auto publish = [](StreamWriter* writer, const std::string& table, std::vector<TestEvent>* sent) {
    for (const char* version : {"v1", "v2"}) {
      std::vector<TestEvent> events =
          MakeEvents(table + "-" + version, 1, 2000, 37, /*tombstones=*/true);
      ASSERT_TRUE(writer->Begin({"acme", table, version}, 0).ok());
      Status status = SendAll(writer, events);
      ASSERT_TRUE(status.ok()) << status.ToString();
      status = writer->Finish();
      ASSERT_TRUE(status.ok()) << status.ToString();
      EXPECT_EQ(writer->Acked(), 2000u);
      sent->insert(sent->end(), events.begin(), events.end());
    }
  };
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t start_ms = now_ms();
  std::thread other([&] { publish(users->get(), "users", &sent_users); });
  publish(orders->get(), "orders", &sent_orders);
  other.join();
  const int64_t end_ms = now_ms();

  // Each message's CreateTime (kcat's %T) is the time it was produced (the coarse clock lags by
  // a few milliseconds at most).
  std::istringstream stamps(Consume(kafka->bootstrap(), "snapdelta.acme.orders", "%T\n"));
  size_t stamped = 0;
  for (std::string line; std::getline(stamps, line); ++stamped) {
    const int64_t stamp = std::stoll(line);
    ASSERT_GE(stamp, start_ms - 50) << "message " << stamped;
    ASSERT_LE(stamp, end_ms + 50) << "message " << stamped;
  }
  EXPECT_EQ(stamped, Expected(sent_orders).size());

  for (const auto& [topic, sent] : {std::pair{"snapdelta.acme.orders", &sent_orders},
                                    std::pair{"snapdelta.acme.users", &sent_users}}) {
    std::vector<Record> read = ReadTopic(kafka->bootstrap(), topic);
    EXPECT_EQ(Sorted(read), Sorted(Expected(*sent))) << topic;  // each once, nowhere else
    EXPECT_EQ(PerKey(read), PerKey(Expected(*sent))) << topic;  // a key's order kept
    EXPECT_EQ(std::count_if(read.begin(), read.end(),
                            [](const Record& r) { return r.value == "NULL" && r.size == "-1"; }),
              400)
        << "tombstones arrive as NULL values";
  }
}

// The Java client's partition of `key` among `partitions`: murmur2 of the key's bytes, its sign
// bit cleared (Utils.toPositive), modulo the count. Written here from Kafka's definition, to check
// librdkafka's partitioner and snapdelta's grouping against it.
int32_t JavaPartition(const std::string& key, int32_t partitions) {
  const uint32_t m = 0x5bd1e995;
  const size_t length = key.size();
  uint32_t h = 0x9747b28c ^ static_cast<uint32_t>(length);
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  size_t i = 0;
  for (; i + 4 <= length; i += 4) {
    uint32_t k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | uint32_t{data[i + 3]} << 24;
    k *= m;
    k ^= k >> 24;
    k *= m;
    h = h * m ^ k;
  }
  switch (length - i) {
    case 3:
      h ^= data[i + 2] << 16;
      [[fallthrough]];
    case 2:
      h ^= data[i + 1] << 8;
      [[fallthrough]];
    case 1:
      h ^= data[i];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h & 0x7fffffff) % partitions;
}

// A writer produces each batch grouped by partition: that must change neither which partition a
// key goes to (the Java client's) nor the order within a partition (the order sent, whatever the
// keys), from the first batch (partition count not known yet) to the last.
TEST(KafkaStream, EachPartitionGetsItsMessagesInTheOrderSentAndEachKeyItsJavaPartition) {
  auto kafka = StartKafka({"snapdelta.acme.orders:5"});
  ASSERT_NE(kafka, nullptr);
  auto stream = NewKafkaStream(KafkaSettings(kafka->bootstrap()));
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto writer = (*stream)->NewWriter("acme", "orders");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const std::vector<TestEvent> events = MakeEvents("orders-v1", 1, 6000, 701);
  ASSERT_TRUE((*writer)->Begin({"acme", "orders", "v1"}, 0).ok());
  Status status = SendAll(writer->get(), events, 1000);
  ASSERT_TRUE(status.ok()) << status.ToString();
  status = (*writer)->Finish();
  ASSERT_TRUE(status.ok()) << status.ToString();

  std::istringstream read(Consume(kafka->bootstrap(), "snapdelta.acme.orders", "%p\t%k\t%s\n"));
  std::map<int32_t, uint64_t> last_seq;  // per partition
  size_t count = 0;
  for (std::string line; std::getline(read, line); ++count) {
    const size_t tab = line.find('\t'), tab2 = line.find('\t', tab + 1);
    ASSERT_NE(tab2, std::string::npos) << line;
    const int32_t partition = std::stoi(line.substr(0, tab));
    const std::string key = line.substr(tab + 1, tab2 - tab - 1);
    ASSERT_EQ(partition, JavaPartition(key, 5)) << line;
    // The value is {"op":"u","id":"orders-v1-<seq>"}.
    const size_t dash = line.rfind('-');
    const uint64_t seq = std::stoull(line.substr(dash + 1));
    ASSERT_GT(seq, last_seq[partition]) << "partition " << partition << ": " << line;
    last_seq[partition] = seq;
  }
  EXPECT_EQ(count, events.size());
  EXPECT_EQ(last_seq.size(), 5u);  // every partition got messages
}

TEST(KafkaStream, RetriedProduceErrorsNeitherLoseNorDuplicate) {
  auto kafka = StartKafka({"snapdelta.acme.orders:6"});
  ASSERT_NE(kafka, nullptr);
  auto stream = NewKafkaStream(KafkaSettings(kafka->bootstrap()));
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto writer = (*stream)->NewWriter("acme", "orders");
  ASSERT_TRUE(writer.ok());
  std::vector<TestEvent> events = MakeEvents("v1", 1, 5000, 50);
  // Produce (API 0) fails: NOT_LEADER_FOR_PARTITION, then REQUEST_TIMED_OUT.
  EXPECT_EQ(kafka->Command("errors 0 4 6"), "ok");
  EXPECT_EQ(kafka->Command("errors 0 4 7"), "ok");
  ASSERT_TRUE((*writer)->Begin({"acme", "orders", "v1"}, 0).ok());
  std::vector<TestEvent> first(events.begin(), events.begin() + 2500);
  std::vector<TestEvent> second(events.begin() + 2500, events.end());
  ASSERT_TRUE(SendAll(writer->get(), first).ok());
  EXPECT_EQ(kafka->Command("errors 0 3 6"), "ok");  // more while messages are in flight
  ASSERT_TRUE(SendAll(writer->get(), second).ok());
  Status status = (*writer)->Finish();
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ((*writer)->Acked(), 5000u);
  std::vector<Record> read = ReadTopic(kafka->bootstrap(), "snapdelta.acme.orders");
  EXPECT_EQ(Sorted(read), Sorted(Expected(events)));
  EXPECT_EQ(PerKey(read), PerKey(Expected(events)));
}

// The leader of `topic`'s partition 0, as kcat sees the metadata (the mock picks leaders at
// random).
int LeaderOfPartition0(const std::string& bootstrap, const std::string& topic) {
  CommandResult result = RunCommand({"kcat", "-L", "-b", bootstrap, "-t", topic});
  EXPECT_TRUE(result.ok()) << result.Describe();
  const std::string marker = "partition 0, leader ";
  size_t at = result.out.find(marker);
  return at == std::string::npos ? 1 : std::atoi(result.out.c_str() + at + marker.size());
}

// Sends a first part of an import and waits until it is acknowledged, takes brokers down (all,
// or the leader of partition 0), sends the rest: Finish fails naming the topic, and every seq up
// to Acked() is in the topic once the brokers are back.
void CheckBrokersDown(bool all) {
  auto kafka = StartKafka({"snapdelta.acme.orders:6"});
  ASSERT_NE(kafka, nullptr);
  auto stream =
      NewKafkaStream(KafkaSettings(kafka->bootstrap(), false, {{"message.timeout.ms", "2000"}}));
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto writer = (*stream)->NewWriter("acme", "orders");
  ASSERT_TRUE(writer.ok());
  std::vector<TestEvent> events = MakeEvents("v1", 1, 3000, 300);
  ASSERT_TRUE((*writer)->Begin({"acme", "orders", "v1"}, 0).ok());
  ASSERT_TRUE(SendAll(writer->get(), {events.begin(), events.begin() + 1000}).ok());
  for (int i = 0; i < 500 && (*writer)->Acked() < 1000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ((*writer)->Acked(), 1000u);
  std::vector<int> down = {1, 2, 3};
  if (!all) down = {LeaderOfPartition0(kafka->bootstrap(), "snapdelta.acme.orders")};
  for (int broker : down) EXPECT_EQ(kafka->Command("down " + std::to_string(broker)), "ok");
  Status status = SendAll(writer->get(), {events.begin() + 1000, events.end()});
  if (status.ok()) status = (*writer)->Finish();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("kafka topic snapdelta.acme.orders"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("seq "), std::string::npos) << status.ToString();
  const uint64_t acked = (*writer)->Acked();
  EXPECT_GE(acked, 1000u);
  EXPECT_LT(acked, 3000u);
  for (int broker : down) EXPECT_EQ(kafka->Command("up " + std::to_string(broker)), "ok");
  std::vector<Record> read = ReadTopic(kafka->bootstrap(), "snapdelta.acme.orders");
  std::vector<Record> acked_records =
      Expected({events.begin(), events.begin() + static_cast<long>(acked)});
  std::vector<Record> sorted_read = Sorted(read);
  for (const Record& record : acked_records) {
    EXPECT_EQ(std::count(sorted_read.begin(), sorted_read.end(), record), 1) << record;
  }
  if (!all) {
    EXPECT_GT(read.size(), 1000u) << "the brokers still up took messages";
  }
}

TEST(KafkaStream, OneBrokerDownFailsFinishAndAckedStaysBelowWhatIsMissing) {
  CheckBrokersDown(/*all=*/false);
}

TEST(KafkaStream, AllBrokersDownFailsFinishAndAckedStaysBelowWhatIsMissing) {
  CheckBrokersDown(/*all=*/true);
}

TEST(KafkaStream, BadPropertiesAreInvalidArguments) {
  auto stream = NewKafkaStream(KafkaSettings("127.0.0.1:1", false, {{"no.such.property", "1"}}));
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stream.status().message().find("no.such.property"), std::string::npos);
  stream = NewKafkaStream(KafkaSettings("127.0.0.1:1", true, {{"compression.type", "bogus"}}));
  ASSERT_FALSE(stream.ok());
  EXPECT_NE(stream.status().message().find("compression.type"), std::string::npos);
  stream = NewKafkaStream(KafkaSettings("127.0.0.1:1", false, {{"transactional.id", "x"}}));
  EXPECT_EQ(stream.status().code(), StatusCode::kInvalidArgument);
}

// A probe, not a timed assertion: prints how fast one writer publishes 1M ~200-byte messages.
TEST(KafkaStreamThroughput, OneMillionMessagesThroughOneWriter) {
  auto kafka = StartKafka({"snapdelta.acme.big:6"});
  ASSERT_NE(kafka, nullptr);
  auto stream = NewKafkaStream(KafkaSettings(kafka->bootstrap()));
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto writer = (*stream)->NewWriter("acme", "big");
  ASSERT_TRUE(writer.ok());
#ifdef __SANITIZE_ADDRESS__
  constexpr uint64_t kCount = 200'000;  // ASan is ~5 times slower: keep the CI's budget
#else
  constexpr uint64_t kCount = 1'000'000;
#endif
  std::string value(200, 'x');
  std::string id, key;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE((*writer)->Begin({"acme", "big", "v1"}, 0).ok());
  for (uint64_t seq = 1; seq <= kCount; ++seq) {
    id = "big-v1-" + std::to_string(seq);
    key = "{\"id\":" + std::to_string(seq % 100'003) + "}";
    char head[64];
    const int length = std::snprintf(head, sizeof(head), "{\"op\":\"c\",\"id\":%llu,\"n\":\"",
                                     static_cast<unsigned long long>(seq));
    value.replace(0, length, head, length);
    value.replace(value.size() - 2, 2, "\"}");
    Status status = (*writer)->Send({seq, id, key, value});
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  Status status = (*writer)->Finish();
  ASSERT_TRUE(status.ok()) << status.ToString();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ((*writer)->Acked(), kCount);
  std::printf("kafka stream: %llu messages in %.2f s: %.0f events/s\n",
              static_cast<unsigned long long>(kCount), seconds, kCount / seconds);
  // kcat reads the last message of each partition: the offsets add up to the count.
  std::string last = Consume(kafka->bootstrap(), "snapdelta.acme.big", "%o\n", {"-o", "-1"});
  uint64_t total = 0;
  for (size_t start = 0, end; (end = last.find('\n', start)) != std::string::npos;
       start = end + 1) {
    total += std::stoull(last.substr(start, end - start)) + 1;
  }
  EXPECT_EQ(total, kCount);
}

}  // namespace
}  // namespace snapdelta::testing
