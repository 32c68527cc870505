#include "base/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace snapdelta {
namespace {

// 2026-12-03T07:05:02.123Z
constexpr int64_t kSomeMs = 1796281502123;

class LogFormatTest : public ::testing::Test {
 protected:
  void TearDown() override { ConfigureLog(LogLevel::kWarn, LogFormat::kText); }
};

TEST_F(LogFormatTest, TextIsTimeLevelStepAndLogfmtFields) {
  ConfigureLog(LogLevel::kDebug, LogFormat::kText);
  Log line(LogLevel::kInfo, "committed");
  line.Add("tenant", "acme")
      .Add("reason", "two words")
      .Add("quote", "say \"hi\"\\now\n")
      .Add("empty", "")
      .Add("rows", uint64_t{42})
      .Add("delta", int64_t{-3})
      .Add("ratio", 0.25);
  EXPECT_EQ(line.Format(kSomeMs),
            "2026-12-03T07:05:02.123Z INFO  committed tenant=acme reason=\"two words\" "
            "quote=\"say \\\"hi\\\"\\\\now\\n\" empty=\"\" rows=42 delta=-3 ratio=0.250");
}

TEST_F(LogFormatTest, JsonIsOneObjectWithNumbersAsNumbersAndBadUtf8Replaced) {
  ConfigureLog(LogLevel::kInfo, LogFormat::kJson);
  Log line(LogLevel::kError, "failed");
  line.Add("file", std::string("a\xff.csv")).Add("rows", uint64_t{7}).Add("ms", int64_t{12});
  nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(line.Format(kSomeMs));
  EXPECT_EQ(parsed["time"], "2026-12-03T07:05:02.123Z");
  EXPECT_EQ(parsed["level"], "error");
  EXPECT_EQ(parsed["step"], "failed");
  EXPECT_EQ(parsed["file"], "a\xef\xbf\xbd.csv");
  EXPECT_EQ(parsed["rows"], 7);
  EXPECT_EQ(parsed["ms"], 12);
  EXPECT_EQ(parsed.begin().key(), "time");  // fields keep their order
}

TEST_F(LogFormatTest, LevelsBelowTheConfiguredOneAreDropped) {
  ConfigureLog(LogLevel::kWarn, LogFormat::kText);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarn));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  ConfigureLog(LogLevel::kOff, LogFormat::kText);
  EXPECT_FALSE(LogEnabled(LogLevel::kError));
  EXPECT_EQ(ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("INFO"), std::nullopt);
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("xml"), std::nullopt);
}

}  // namespace
}  // namespace snapdelta
