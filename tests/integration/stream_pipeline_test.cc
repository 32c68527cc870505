// The reference sample exports end to end: `snapdelta run --sink kafka://...` against librdkafka's
// mock cluster and `--sink kinesis://...` against moto_server, read back with independent clients
// (kcat, the AWS CLI) and compared with the change files the same runs wrote (the outbox): every
// event once, with its key, id and per-key order; the Debezium format with tombstones; a stream
// that refuses makes run exit 1 naming what is unpublished, and the next run publishes it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <sstream>
#include <thread>

#include "cloud/fault_proxy.h"
#include "cloud/kafka_mock.h"
#include "cloud/kinesis_cli.h"
#include "integration/harness.h"

namespace snapdelta::testing {
namespace {

using ::testing::HasSubstr;

// One event as a stream carries it: its key (a JSON object), id and value.
struct Carried {
  nlohmann::json key;
  std::string id;
  std::string value;
  bool operator<(const Carried& other) const { return id < other.id; }
};

// Delivers the sample exports one version at a time, running snapdelta after each.
void DeliverSamples(const fs::path& landing, const fs::path& home,
                    const std::vector<std::string>& extra, const RunOptions& options = {}) {
  std::vector<fs::path> versions;
  for (const auto& entry : fs::directory_iterator(ExamplesLanding() / "tenant" / "test_table")) {
    versions.push_back(entry.path());
  }
  std::sort(versions.begin(), versions.end());
  for (const fs::path& version : versions) {
    CopyTree(version, landing / "tenant" / "test_table" / version.filename());
    std::vector<std::string> args = {"run", "--landing", landing.string(), "--home", home.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult run = RunSnapdelta(args, options);
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
  }
}

// The events of the change files under `home`, in version and seq order: what a stream must carry.
std::vector<Carried> ChangeFileEvents(const fs::path& home) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(home / "changes" / "tenant" / "test_table")) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Carried> events;
  for (const fs::path& file : files) {
    std::string text = ReadFile(file);
    size_t start = 0;
    for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
      std::string line = text.substr(start, end - start);
      nlohmann::json event = ParseJson(line, file.string());
      events.push_back(Carried{event["key"], event["id"].get<std::string>(), line});
    }
  }
  return events;
}

// Per key, the ids in the order given.
std::map<std::string, std::vector<std::string>> IdsByKey(const std::vector<Carried>& events) {
  std::map<std::string, std::vector<std::string>> by_key;
  for (const Carried& event : events) by_key[event.key.dump()].push_back(event.id);
  return by_key;
}

class KafkaPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    kafka_ = KafkaMock::Start(
        3, {"snapdelta.tenant.test_table:4", "dbz.tenant.test_table:4", "orders:4"}, &error);
    ASSERT_NE(kafka_, nullptr) << error;
  }

  // The messages of `topic` as kcat reads them (partition after partition, each in order).
  std::vector<Carried> Read(const std::string& topic) {
    std::string out = Consume(kafka_->bootstrap(), topic, "%k\t%h\t%s\n", {"-Z"});
    std::vector<Carried> messages;
    size_t start = 0;
    for (size_t end; (end = out.find('\n', start)) != std::string::npos; start = end + 1) {
      std::string line = out.substr(start, end - start);
      size_t tab1 = line.find('\t');
      size_t tab2 = line.find('\t', tab1 + 1);
      EXPECT_NE(tab2, std::string::npos) << line;
      if (tab2 == std::string::npos) continue;
      std::string header = line.substr(tab1 + 1, tab2 - tab1 - 1);
      EXPECT_TRUE(header.starts_with("snapdelta-id=")) << header;
      messages.push_back(Carried{ParseJson(line.substr(0, tab1), "key"), header.substr(13),
                                 line.substr(tab2 + 1)});
    }
    return messages;
  }

  std::string Sink(const std::string& topic, const std::string& query = "") {
    return "kafka://" + kafka_->bootstrap() + "/" + topic + query;
  }

  std::unique_ptr<KafkaMock> kafka_;
  TempDir tmp_{"snapdelta-kafka-pipeline"};
};

TEST_F(KafkaPipelineTest, TheSampleExportsArriveAsTheChangeFilesSayInKeyOrder) {
  DeliverSamples(tmp_ / "landing", tmp_ / "home", {"--sink", Sink("snapdelta.{tenant}.{table}")});
  std::vector<Carried> expected = ChangeFileEvents(tmp_ / "home");
  ASSERT_GT(expected.size(), 0u);
  std::vector<Carried> got = Read("snapdelta.tenant.test_table");
  EXPECT_EQ(IdsByKey(got), IdsByKey(expected));  // each key's events, once, in order
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, expected[i].id);
    EXPECT_EQ(got[i].key, expected[i].key) << got[i].id;
    EXPECT_EQ(got[i].value, expected[i].value) << got[i].id;
  }
  CommandResult status = RunSnapdelta({"status", "--home", (tmp_ / "home").string(), "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.Describe();
  for (const nlohmann::json& import : ParseJson(status.out)) {
    if (import["state"] == "committed") {
      EXPECT_EQ(import["delivery"], "published") << import;
    }
  }
}

TEST_F(KafkaPipelineTest, EachPublishedImportIsLoggedWithItsEventCount) {
  fs::copy(ExamplesLanding(), tmp_ / "landing", fs::copy_options::recursive);
  CommandResult run = RunSnapdelta({"run", "--landing", (tmp_ / "landing").string(), "--home",
                                    (tmp_ / "home").string(), "--sink", Sink("logged"),
                                    "--log-format", "json", "--log-level", "info"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  std::map<std::string, nlohmann::json> published;  // by version
  std::istringstream lines(run.err);
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json entry = ParseJson(line, "a log line");
    if (entry["step"] == "published") published[entry["version"]] = entry;
  }
  CommandResult status = RunSnapdelta({"status", "--home", (tmp_ / "home").string(), "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.Describe();
  const nlohmann::json imports = ParseJson(status.out);
  ASSERT_EQ(imports.size(), 3u);
  ASSERT_EQ(published.size(), 3u) << run.err;
  for (const nlohmann::json& import : imports) {
    const nlohmann::json& line = published[import["version"]];
    EXPECT_EQ(line["events"], import["events"]) << line;
    EXPECT_EQ(line["from_seq"], 0) << line;
    EXPECT_EQ(line["import"], import["id"]) << line;
  }
  EXPECT_EQ(Read("logged").size(), imports[0]["events"].get<size_t>() +
                                       imports[1]["events"].get<size_t>() +
                                       imports[2]["events"].get<size_t>());
}

TEST_F(KafkaPipelineTest, DebeziumEnvelopesWithTombstonesForKafkaConnect) {
  DeliverSamples(
      tmp_ / "landing", tmp_ / "home",
      {"--sink", Sink("dbz.{tenant}.{table}", "?tombstones=true"), "--format", "debezium"});
  std::vector<Carried> expected = ChangeFileEvents(tmp_ / "home");
  std::map<std::string, const Carried*> by_id;
  for (const Carried& event : expected) by_id[event.id] = &event;
  std::map<std::string, int> ops;
  size_t tombstones = 0;
  std::vector<Carried> got = Read("dbz.tenant.test_table");
  for (const Carried& message : got) {
    ASSERT_TRUE(by_id.count(message.id)) << message.id;
    const nlohmann::json event = ParseJson(by_id[message.id]->value);
    EXPECT_EQ(message.key, event["key"]) << message.id;
    if (message.value == "NULL") {
      EXPECT_EQ(event["op"], "DELETE") << message.id;
      ++tombstones;
      continue;
    }
    const nlohmann::json value = ParseJson(message.value, message.id);
    ops[value["op"].get<std::string>()]++;
    EXPECT_EQ(value["source"]["table"], "test_table");
    EXPECT_EQ(value["source"]["version"], event["version"]);
    EXPECT_EQ(value["source"]["seq"], event["seq"]);
    if (event["op"] != "DELETE") {
      EXPECT_EQ(value["after"], event["row"]) << message.id;
    }
  }
  std::map<std::string, int> expected_ops;
  const std::string first_version = ParseJson(expected.front().value)["version"];
  for (const Carried& event : expected) {
    nlohmann::json parsed = ParseJson(event.value);
    std::string op = parsed["op"];
    expected_ops[op == "INSERT"   ? (parsed["version"] == first_version ? "r" : "c")
                 : op == "UPDATE" ? "u"
                                  : "d"]++;
  }
  EXPECT_EQ(ops, expected_ops);
  EXPECT_EQ(tombstones, static_cast<size_t>(expected_ops["d"]));
}

TEST_F(KafkaPipelineTest, AClusterThatIsDownLeavesImportsUnpublishedUntilTheNextRun) {
  for (int broker = 1; broker <= 3; ++broker) {
    ASSERT_EQ(kafka_->Command("down " + std::to_string(broker)), "ok");
  }
  CopyTree(ExamplesLanding(), tmp_ / "landing");
  const std::string sink = Sink("snapdelta.{tenant}.{table}", "?message.timeout.ms=1500");
  CommandResult run = RunSnapdelta({"run", "--landing", (tmp_ / "landing").string(), "--home",
                                    (tmp_ / "home").string(), "--sink", sink});
  EXPECT_EQ(run.exit_code, 1) << run.Describe();
  EXPECT_THAT(run.out, HasSubstr("unpublished tenant/test_table/20201230_V0001: 0 of "));
  EXPECT_THAT(run.out, HasSubstr("waits behind tenant/test_table/20201230_V0001"));
  CommandResult status = RunSnapdelta({"status", "--home", (tmp_ / "home").string(), "--json"});
  for (const nlohmann::json& import : ParseJson(status.out)) {
    if (import["state"] == "committed" && import["events"] > 0) {
      EXPECT_NE(import["delivery"], "published") << import;
    }
  }
  for (int broker = 1; broker <= 3; ++broker) {
    ASSERT_EQ(kafka_->Command("up " + std::to_string(broker)), "ok");
  }
  run = RunSnapdelta({"run", "--landing", (tmp_ / "landing").string(), "--home",
                      (tmp_ / "home").string(), "--sink", sink});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_THAT(run.out, HasSubstr("published  tenant/test_table/20201231_V0001"));
  std::vector<Carried> expected = ChangeFileEvents(tmp_ / "home");
  std::vector<Carried> got = Read("snapdelta.tenant.test_table");
  EXPECT_EQ(IdsByKey(got), IdsByKey(expected));
}

// kill -9 of a publisher mid-import, then a rerun: every event is in the topic; the only
// duplicates are events after the position the registry recorded, with equal content.
TEST_F(KafkaPipelineTest, APublisherKilledMidImportResumesFromItsRecordedPosition) {
  const CommandResult gen =
      RunCommand({GenBin().string(), (tmp_ / "chain").string(), "--rows", "6000", "--exports", "1",
                  "--gzip", "--landing", "acme/orders"});
  ASSERT_EQ(gen.exit_code, 0) << gen.Describe();
  const std::string home = (tmp_ / "home").string();
  const std::vector<std::string> run = {"run", "--landing", (tmp_ / "chain").string(), "--home",
                                        home};
  CommandResult imported = RunSnapdelta(run);  // the file sink: committed, nothing sent
  ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
  // Small batches, long linger: about a thousand events a second, so the kill lands mid-import.
  std::vector<std::string> slow = run;
  slow.insert(slow.end(), {"--sink", Sink("orders",
                                          "?queue.buffering.max.messages=100&"
                                          "linger.ms=100")});
  ASSERT_EQ(RunSqlite(tmp_ / "home" / "registry.db",
                      "UPDATE imports SET published_seq = 0, published_at_ms = 0;")
                .exit_code,
            0);
  pid_t pid = SpawnSnapdelta(slow, tmp_ / "publish.log");
  ASSERT_GT(pid, 0);
  uint64_t recorded = 0;
  for (int i = 0; i < 300 && recorded == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CommandResult status = RunSnapdelta({"status", "--home", home, "--json"});
    if (status.exit_code != 0) continue;
    recorded = ParseJson(status.out)[0]["published_seq"].get<uint64_t>();
  }
  ASSERT_GT(recorded, 0u) << ReadFile(tmp_ / "publish.log");
  ASSERT_EQ(StopProcess(pid, SIGKILL), 128 + SIGKILL);
  CommandResult status = RunSnapdelta({"status", "--home", home, "--json"});
  const nlohmann::json import = ParseJson(status.out)[0];
  recorded = import["published_seq"].get<uint64_t>();
  ASSERT_LT(recorded, import["events"].get<uint64_t>()) << "the kill came too late";
  std::vector<std::string> rerun = run;
  rerun.insert(rerun.end(), {"--sink", Sink("orders")});
  CommandResult resumed = RunSnapdelta(rerun);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.Describe();
  std::map<std::string, Carried> expected;
  for (const auto& entry : fs::directory_iterator(tmp_ / "home" / "changes" / "acme" / "orders")) {
    const fs::path file = entry.path();
    std::string text = ReadFile(file);
    size_t start = 0;
    for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
      std::string line = text.substr(start, end - start);
      nlohmann::json event = ParseJson(line);
      expected[event["id"]] = Carried{event["key"], event["id"], line};
    }
  }
  std::map<std::string, int> seen;
  for (const Carried& message : Read("orders")) {
    ASSERT_TRUE(expected.count(message.id)) << message.id;
    EXPECT_EQ(message.value, expected[message.id].value);
    if (++seen[message.id] > 1) {
      uint64_t seq = ParseJson(message.value)["seq"].get<uint64_t>();
      EXPECT_GT(seq, recorded) << message.id << " sent again though recorded as published";
    }
  }
  EXPECT_EQ(seen.size(), expected.size());  // nothing lost
}

TEST_F(KafkaPipelineTest, ABadSinkIsAUsageError) {
  CommandResult run = RunSnapdelta({"run", "--landing", ExamplesLanding().string(), "--home",
                                    (tmp_ / "home").string(), "--sink", "nats://x/y"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_THAT(run.err, HasSubstr("unknown kind"));
  run = RunSnapdelta({"run", "--landing", ExamplesLanding().string(), "--home",
                      (tmp_ / "home").string(), "--sink", Sink("t", "?tombstones=true")});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_THAT(run.err, HasSubstr("tombstones need"));
}

// Through a proxy that forwards one request at a time: moto 5.2's Kinesis loses records under
// concurrent PutRecords (see tests/publish/kinesis_stream_test.cc).
class KinesisPipelineTest : public KinesisMotoTest {};

TEST_F(KinesisPipelineTest, TheSampleExportsArriveAsTheChangeFilesSayInKeyOrder) {
  NewStream("snapdelta-events", 4);
  FaultProxy proxy(server()->port());
  proxy.SetSerialized(true);
  TempDir tmp("snapdelta-kinesis-pipeline");
  RunOptions options;
  options.env.push_back("AWS_ENDPOINT_URL=" + proxy.endpoint());
  DeliverSamples(tmp / "landing", tmp / "home", {"--sink", "kinesis://snapdelta-events"}, options);
  std::vector<Carried> expected = ChangeFileEvents(tmp / "home");
  std::vector<Carried> got;
  for (const ReadRecord& record : ReadStream("snapdelta-events")) {
    nlohmann::json event = ParseJson(record.data, "record");
    EXPECT_EQ(record.partition_key, event["key"].dump()) << record.data;
    got.push_back(Carried{event["key"], event["id"].get<std::string>(), record.data});
  }
  EXPECT_EQ(IdsByKey(got), IdsByKey(expected));
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].value, expected[i].value);
}

}  // namespace
}  // namespace snapdelta::testing
