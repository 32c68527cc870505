// Sink URLs and the config's [sink] table and keep_changes.
#include "publish/sink_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"

namespace snapdelta {
namespace {

using ::testing::HasSubstr;

TEST(SinkUrl, KafkaWithBrokersTopicTemplateAndParameters) {
  StatusOr<SinkSettings> settings = ParseSinkUrl(
      "kafka://a:9092,b:9093/cdc.{tenant}?format=debezium&tombstones=true&compression.type=zstd");
  ASSERT_TRUE(settings.ok()) << settings.status().ToString();
  EXPECT_EQ(settings->kind, SinkKind::kKafka);
  EXPECT_EQ(settings->brokers, (std::vector<std::string>{"a:9092", "b:9093"}));
  EXPECT_EQ(settings->destination, "cdc.{tenant}");
  EXPECT_EQ(settings->format, EventFormat::kDebezium);
  EXPECT_TRUE(settings->tombstones);
  EXPECT_EQ(settings->kafka_properties.at("compression.type"), "zstd");
  EXPECT_TRUE(CheckSinkSettings(*settings).ok());
  EXPECT_EQ(DestinationFor(settings->destination, "acme", "orders"), "cdc.acme");
  EXPECT_EQ(ParseSinkUrl("kafka://a:9092")->destination, "snapdelta.{tenant}.{table}");
}

TEST(SinkUrl, TheUrlsParametersWinOverTheConfigs) {
  StatusOr<SinkSettings> settings =
      ParseSinkUrl("kinesis://events?format=json", {{"format", "debezium"}, {"region", "r1"}});
  ASSERT_TRUE(settings.ok()) << settings.status().ToString();
  EXPECT_EQ(settings->kind, SinkKind::kKinesis);
  EXPECT_EQ(settings->destination, "events");
  EXPECT_EQ(settings->format, EventFormat::kJson);
  EXPECT_EQ(settings->region, "r1");
  EXPECT_EQ(ParseSinkUrl("")->kind, SinkKind::kFile);
}

TEST(SinkUrl, MistakesAreNamed) {
  EXPECT_THAT(ParseSinkUrl("nats://x").status().message(), HasSubstr("unknown kind"));
  EXPECT_THAT(ParseSinkUrl("kafka:///t").status().message(), HasSubstr("no broker"));
  EXPECT_THAT(ParseSinkUrl("kafka://host/t").status().message(), HasSubstr("has no port"));
  EXPECT_THAT(ParseSinkUrl("kafka://h:1/t?tombstones=maybe").status().message(),
              HasSubstr("not true or false"));
  EXPECT_THAT(ParseSinkUrl("kinesis://s?compression.type=lz4").status().message(),
              HasSubstr("unknown parameter compression.type"));
  EXPECT_THAT(CheckSinkSettings(*ParseSinkUrl("kinesis://s?tombstones=true")).message(),
              HasSubstr("tombstones need a kafka:// sink"));
  EXPECT_THAT(CheckSinkSettings(*ParseSinkUrl("kinesis://s?transactional=true")).message(),
              HasSubstr("transactional needs"));
}

TEST(SinkConfig, SinkTableAndKeepChanges) {
  StatusOr<Config> config = ParseConfig(
      "keep_changes = \"7d\"\n[sink]\nurl = \"kafka://h:1/t\"\ntombstones = true\n"
      "\"linger.ms\" = 20\n",
      "snapdelta.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->keep_changes_ms, 7 * 86'400'000LL);
  EXPECT_EQ(config->sink_url, "kafka://h:1/t");
  EXPECT_EQ(config->sink_parameters.at("tombstones"), "true");
  EXPECT_EQ(config->sink_parameters.at("linger.ms"), "20");
  EXPECT_EQ(*ParseDuration("90"), 90'000);
  EXPECT_EQ(*ParseDuration("30m"), 1'800'000);
  StatusOr<Config> bad = ParseConfig("keep_changes = \"soon\"\n", "snapdelta.toml");
  EXPECT_THAT(bad.status().message(), HasSubstr("snapdelta.toml:1"));
}

}  // namespace
}  // namespace snapdelta
