// The Kafka test harness itself: the mock cluster comes up, kcat (an independent client)
// produces to it and reads back every message with its key, and injected faults are accepted.
#include "cloud/kafka_mock.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "integration/harness.h"

namespace snapdelta::testing {
namespace {

TEST(KafkaMockHarness, KcatProducesAndConsumesThroughTheMockCluster) {
  std::string error;
  std::unique_ptr<KafkaMock> kafka = KafkaMock::Start(3, {"events:3"}, &error);
  ASSERT_NE(kafka, nullptr) << error;
  EXPECT_NE(kafka->bootstrap().find("127.0.0.1:"), std::string::npos) << kafka->bootstrap();
  std::string input;
  for (int i = 0; i < 100; ++i)
    input += "k" + std::to_string(i % 7) + "\t" + std::to_string(i) + "\n";
  RunOptions options;
  options.stdin_data = input;
  CommandResult produced =
      RunCommand({"kcat", "-P", "-b", kafka->bootstrap(), "-t", "events", "-K", "\t"}, options);
  ASSERT_TRUE(produced.ok()) << produced.Describe();
  std::string consumed = Consume(kafka->bootstrap(), "events", "%k\t%s\n");
  std::vector<std::string> sent, got;
  for (std::string* text : {&input, &consumed}) {
    std::vector<std::string>& lines = text == &input ? sent : got;
    size_t start = 0;
    for (size_t end; (end = text->find('\n', start)) != std::string::npos; start = end + 1) {
      lines.push_back(text->substr(start, end - start));
    }
  }
  std::sort(sent.begin(), sent.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, sent);
  EXPECT_EQ(kafka->Command("down 1"), "ok");
  EXPECT_EQ(kafka->Command("up 1"), "ok");
  EXPECT_EQ(kafka->Command("errors 0 2 6"), "ok");  // Produce: NOT_LEADER_FOR_PARTITION twice
  EXPECT_NE(kafka->Command("bogus").find("error"), std::string::npos);
}

}  // namespace
}  // namespace snapdelta::testing
