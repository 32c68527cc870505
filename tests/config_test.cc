#include "config/config.h"

#include <gtest/gtest.h>

namespace snapdelta {
namespace {

TEST(Config, ReadsTableSectionsOverTopLevelDefaults) {
  StatusOr<Config> config = ParseConfig(R"(
null_marker = "NULL"
before_images = true

[tables.orders]
key = ["region", "id"]
ignore = ["exported_at"]
delimiter = ";"
on_duplicate = "last"
schema_change = "fail"
partitions = 4

[tables.users]
key = "user_id"
before_images = false
)",
                                        "snapdelta.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const TableOptions& orders = config->ForTable("orders");
  EXPECT_EQ(orders.key, (std::vector<std::string>{"region", "id"}));
  EXPECT_EQ(orders.ignore, (std::vector<std::string>{"exported_at"}));
  EXPECT_EQ(orders.delimiter, ';');
  EXPECT_EQ(orders.on_duplicate, DuplicatePolicy::kLast);
  EXPECT_EQ(orders.schema_change, SchemaChangePolicy::kFail);
  EXPECT_EQ(orders.null_marker, "NULL");
  EXPECT_TRUE(orders.before_images);
  EXPECT_EQ(orders.partitions, 4u);
  const TableOptions& users = config->ForTable("users");
  EXPECT_EQ(users.key, (std::vector<std::string>{"user_id"}));
  EXPECT_FALSE(users.before_images);
  EXPECT_EQ(users.partitions, 1u);
  const TableOptions& other = config->ForTable("other");
  EXPECT_TRUE(other.key.empty());
  EXPECT_TRUE(other.before_images);
}

TEST(Config, ReadsChangeGuardsAndKeepStates) {
  StatusOr<Config> config = ParseConfig(R"(
keep_states = 5
max_change_ratio = 0.25

[tables.orders]
max_delete_ratio = false
min_rows = 100

[tables.users]
max_delete_ratio = 0.1
)",
                                        "snapdelta.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->keep_states, 5);
  const TableOptions& orders = config->ForTable("orders");
  EXPECT_FALSE(orders.max_delete_ratio.has_value());
  EXPECT_EQ(orders.max_change_ratio, 0.25);
  EXPECT_EQ(orders.min_rows, 100u);
  EXPECT_EQ(config->ForTable("users").max_delete_ratio, 0.1);
  EXPECT_EQ(config->ForTable("other").max_delete_ratio, 0.5);  // the built-in default
  for (const char* text :
       {"max_delete_ratio = \"half\"\n", "min_rows = -1\n", "keep_states = 0\n"}) {
    EXPECT_EQ(ParseConfig(text, "c.toml").status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(Config, ReadsSettleSecondsAtTheTopLevelOnly) {
  EXPECT_EQ(ParseConfig("", "c.toml")->settle_seconds, 2.0);  // the built-in default
  EXPECT_EQ(ParseConfig("settle_seconds = 0\n", "c.toml")->settle_seconds, 0.0);
  EXPECT_EQ(ParseConfig("settle_seconds = 0.25\n", "c.toml")->settle_seconds, 0.25);
  for (const char* text : {"settle_seconds = -1\n", "settle_seconds = \"2s\"\n",
                           "[tables.orders]\nsettle_seconds = 1\n"}) {
    EXPECT_EQ(ParseConfig(text, "c.toml").status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(Config, ReadsTheLandingZoneAndStateStoreAtTheTopLevelAndMarkersPerTable) {
  StatusOr<Config> config = ParseConfig(
      "landing = \"s3://exports/landing\"\nstate = \"/var/lib/snapdelta/state\"\n"
      "registry = \"postgresql://snapdelta@db:5432/snapdelta\"\n"
      "[tables.orders]\nmarker = \"_SUCCESS\"\n[tables.users]\nmarker = \"manifest.json\"\n",
      "c.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->landing, "s3://exports/landing");
  EXPECT_EQ(config->state, "/var/lib/snapdelta/state");
  EXPECT_EQ(config->registry, "postgresql://snapdelta@db:5432/snapdelta");
  EXPECT_EQ(config->ForTable("orders").marker, "_SUCCESS");
  EXPECT_EQ(config->ForTable("users").marker, "manifest.json");
  EXPECT_EQ(config->ForTable("other").marker, "");
  for (const char* text :
       {"landing = 3\n", "state = \"\"\n", "[tables.t]\nmarker = \"DONE\"\n",
        "[tables.t]\nlanding = \"x\"\n", "registry = 5\n", "[tables.t]\nregistry = \"x\"\n"}) {
    StatusOr<Config> bad = ParseConfig(text, "c.toml");
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(bad.status().message().find("c.toml:"), std::string::npos) << bad.status().message();
  }
}

TEST(Config, RejectsUnknownKeysWithTheirLocation) {
  StatusOr<Config> config = ParseConfig("[tables.orders]\nkeys = [\"id\"]\n", "c.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("c.toml:2:"), std::string::npos)
      << config.status().message();
  EXPECT_NE(config.status().message().find("unknown key 'keys'"), std::string::npos);
}

TEST(Config, RejectsWrongTypesAndValues) {
  for (const char* text :
       {"[tables.t]\nbefore_images = \"yes\"\n", "[tables.t]\ndelimiter = \";;\"\n",
        "[tables.t]\non_duplicate = \"newest\"\n", "[tables.t]\nkey = [1, 2]\n",
        "schema_change = \"sometimes\"\n", "[tables.t]\npartitions = 0\n",
        "[tables.t]\npartitions = 1000\n", "[tables.t]\npartitions = \"4\"\n"}) {
    StatusOr<Config> config = ParseConfig(text, "c.toml");
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find("c.toml:"), std::string::npos);
  }
}

TEST(Config, ReportsTomlSyntaxErrorsWithLineAndColumn) {
  StatusOr<Config> config = ParseConfig("[tables.t]\nkey = [\"id\"\n", "bad.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("bad.toml:"), std::string::npos)
      << config.status().message();
}

TEST(Config, ReportsAMissingFile) {
  StatusOr<Config> config = LoadConfig("/nonexistent/snapdelta.toml");
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace snapdelta
