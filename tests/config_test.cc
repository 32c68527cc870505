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
  const TableOptions& users = config->ForTable("users");
  EXPECT_EQ(users.key, (std::vector<std::string>{"user_id"}));
  EXPECT_FALSE(users.before_images);
  const TableOptions& other = config->ForTable("other");
  EXPECT_TRUE(other.key.empty());
  EXPECT_TRUE(other.before_images);
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
        "schema_change = \"sometimes\"\n"}) {
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
