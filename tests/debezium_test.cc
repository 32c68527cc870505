// The Debezium envelope of snapdelta's events (sink/debezium.h), field by field, as Kafka
// Connect's Debezium consumers read it.
#include "sink/debezium.h"

#include <gtest/gtest.h>

namespace snapdelta {
namespace {

using nlohmann::json;

const json kUpdate = json::parse(
    R"({"id":"acme/orders/v2/7","op":"UPDATE","tenant":"acme","table":"orders","version":"v2",)"
    R"("seq":7,"key":{"id":"5"},"row":{"id":"5","name":"x","note":null},)"
    R"("changed":["name"],"before":{"id":"5","name":"y","note":null}})");

std::vector<KafkaMessage> Convert(const json& event, DebeziumContext context = {},
                                  bool tombstones = false) {
  std::vector<KafkaMessage> out;
  Status status = ToDebezium(event, context, tombstones, &out);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

TEST(Debezium, AnUpdateCarriesBeforeAfterSourceAndTimes) {
  std::vector<KafkaMessage> out = Convert(kUpdate, {false, 1600000000000, 1700000000000});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(json::parse(out[0].key), json({{"id", "5"}}));
  ASSERT_TRUE(out[0].value.has_value());
  const json value = json::parse(*out[0].value);
  EXPECT_EQ(value["op"], "u");
  EXPECT_EQ(value["before"], kUpdate["before"]);
  EXPECT_EQ(value["after"], kUpdate["row"]);
  EXPECT_TRUE(value["after"]["note"].is_null()) << "a null-marker value stays null";
  EXPECT_EQ(value["source"]["connector"], "snapdelta");
  EXPECT_EQ(value["source"]["db"], "acme");
  EXPECT_EQ(value["source"]["table"], "orders");
  EXPECT_EQ(value["source"]["version"], "v2");
  EXPECT_EQ(value["source"]["seq"], 7);
  EXPECT_EQ(value["source"]["snapshot"], "false");
  EXPECT_EQ(value["source"]["ts_ms"], 1600000000000);
  EXPECT_EQ(value["ts_ms"], 1700000000000);
}

TEST(Debezium, InsertsAreCreatesOrSnapshotReadsInAFirstImport) {
  json insert = kUpdate;
  insert["op"] = "INSERT";
  insert.erase("before");
  insert.erase("changed");
  EXPECT_EQ(json::parse(*Convert(insert)[0].value)["op"], "c");
  const json read = json::parse(*Convert(insert, {true, 0, 0})[0].value);
  EXPECT_EQ(read["op"], "r");
  EXPECT_EQ(read["source"]["snapshot"], "true");
  EXPECT_TRUE(read["before"].is_null());
  EXPECT_EQ(read["after"], insert["row"]);
}

TEST(Debezium, ADeleteWithoutBeforeImagesNamesItsKeyAndIsFollowedByATombstone) {
  const json del =
      json::parse(R"({"id":"acme/orders/v2/9","op":"DELETE","tenant":"acme","table":"orders",)"
                  R"("version":"v2","seq":9,"key":{"region":"eu","id":"7"}})");
  std::vector<KafkaMessage> out = Convert(del, {}, /*tombstones=*/true);
  ASSERT_EQ(out.size(), 2u);
  const json value = json::parse(*out[0].value);
  EXPECT_EQ(value["op"], "d");
  EXPECT_EQ(value["before"], del["key"]);
  EXPECT_TRUE(value["after"].is_null());
  EXPECT_EQ(out[1].key, out[0].key);
  EXPECT_FALSE(out[1].value.has_value()) << "a tombstone has a null value";
  EXPECT_EQ(Convert(del).size(), 1u) << "no tombstone unless asked for";
}

TEST(Debezium, RefusesWhatIsNotASnapdeltaEvent) {
  std::vector<KafkaMessage> out;
  for (const char* text :
       {R"([1])", R"({"op":"UPDATE","seq":1})", R"({"op":"MERGE","seq":1,"key":{}})",
        R"({"op":"INSERT","seq":1,"key":{"id":"1"}})"}) {
    Status status = ToDebezium(json::parse(text), {}, false, &out);
    EXPECT_EQ(status.code(), StatusCode::kCorruption) << text;
  }
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace snapdelta
