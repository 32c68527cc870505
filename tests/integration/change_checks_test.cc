// The end-to-end checkers themselves: a checker that cannot fail proves nothing, so each kind of
// wrong change file must be reported. Uses the generator and sqlite3, not snapdelta.
#include "change_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "harness.h"

namespace snapdelta::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// The messages of the failures `check` records, intercepted so they do not fail this test.
std::vector<std::string> FailuresOf(const std::function<void()>& check) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    check();
  }
  std::vector<std::string> messages;
  for (int i = 0; i < results.size(); ++i) {
    messages.push_back(results.GetTestPartResult(i).message());
  }
  return messages;
}

const ChangeFileSpec kSpec{"acme", "orders", "v0002", {"region", "id"}};

// The events a correct engine would write for `changes` (in key order).
std::vector<nlohmann::json> EventsFor(const ExpectedChanges& changes) {
  std::vector<nlohmann::json> events;
  for (const auto& [key, change] : changes) {
    const uint64_t seq = events.size() + 1;
    nlohmann::json event = {{"id", "acme/orders/v0002/" + std::to_string(seq)},
                            {"op", change.op},
                            {"tenant", "acme"},
                            {"table", "orders"},
                            {"version", "v0002"},
                            {"seq", seq},
                            {"key", change.key}};
    if (change.op != "DELETE") event["row"] = change.row;
    if (change.op == "UPDATE") event["changed"] = change.changed;
    events.push_back(std::move(event));
  }
  return events;
}

class ChangeChecks : public ::testing::Test {
 protected:
  void SetUp() override {
    const CommandResult gen =
        RunCommand({GenBin().string(), tmp_.path().string(), "--rows", "300", "--nasty",
                    "--composite-key", "--update-pct", "10", "--delete-pct", "5"});
    ASSERT_EQ(gen.exit_code, 0) << gen.Describe();
    oracle_ = SqlOracleDiff(tmp_ / "export1.csv", tmp_ / "export2.csv", kSpec.key, tmp_.path());
    ASSERT_EQ(CountOf(oracle_), (ChangeCounts{9, 30, 15}));
    events_ = EventsFor(oracle_);
  }

  // The index of the first event with `op`.
  size_t First(const std::string& op) const {
    for (size_t i = 0; i < events_.size(); ++i) {
      if (events_[i]["op"] == op) return i;
    }
    return 0;
  }

  TempDir tmp_{"snapdelta-checks"};
  ExpectedChanges oracle_;
  std::vector<nlohmann::json> events_;
};

TEST_F(ChangeChecks, AcceptCorrectEvents) {
  EXPECT_EQ(CheckEnvelopes(events_, kSpec), (ChangeCounts{9, 30, 15}));
  ExpectEventsMatch(events_, oracle_);
}

TEST_F(ChangeChecks, ReportAWrongRowValue) {
  events_[First("UPDATE")]["row"]["notes"] = "something else";
  EXPECT_THAT(FailuresOf([&] { ExpectEventsMatch(events_, oracle_); }),
              ElementsAre(HasSubstr("row should be")));
}

TEST_F(ChangeChecks, ReportAWrongOp) {
  events_[First("DELETE")]["op"] = "UPDATE";
  EXPECT_THAT(FailuresOf([&] { ExpectEventsMatch(events_, oracle_); }),
              ElementsAre(HasSubstr("op should be DELETE")));
}

TEST_F(ChangeChecks, ReportAMissingAndAnExtraEvent) {
  nlohmann::json& insert = events_[First("INSERT")];
  insert["key"]["id"] = insert["row"]["id"] = "999999";
  EXPECT_THAT(FailuresOf([&] { ExpectEventsMatch(events_, oracle_); }),
              UnorderedElementsAre(HasSubstr("no event for the oracle's INSERT"),
                                   HasSubstr("has no change for this key")));
}

TEST_F(ChangeChecks, ReportWrongChangedColumns) {
  events_[First("UPDATE")]["changed"] = {"first_name"};
  EXPECT_THAT(FailuresOf([&] { ExpectEventsMatch(events_, oracle_); }),
              ElementsAre(HasSubstr("changed should be")));
}

TEST_F(ChangeChecks, ReportABadIdARepeatedSeqAndSeqsNotFromOne) {
  events_[0]["id"] = "acme/orders/v0002/0";
  EXPECT_THAT(FailuresOf([&] { CheckEnvelopes(events_, kSpec); }),
              ElementsAre(HasSubstr("id is not acme/orders/v0002/1")));
  events_[0]["id"] = "acme/orders/v0002/1";
  events_[1]["id"] = "acme/orders/v0002/1";
  events_[1]["seq"] = 1;
  EXPECT_THAT(FailuresOf([&] { CheckEnvelopes(events_, kSpec); }),
              ElementsAre(HasSubstr("seq missing or repeated")));
  events_.erase(events_.begin());
  EXPECT_THAT(FailuresOf([&] { CheckEnvelopes(events_, kSpec); }),
              ElementsAre(HasSubstr("seqs are not 1..")));
}

TEST_F(ChangeChecks, ReportARowOnADeleteAKeyTwiceAndAnUnaskedBefore) {
  events_[First("DELETE")]["row"] = events_[First("DELETE")]["key"];
  EXPECT_THAT(FailuresOf([&] { CheckEnvelopes(events_, kSpec); }),
              ElementsAre(HasSubstr("\"row\" must be on INSERT and UPDATE")));
  events_[First("DELETE")].erase("row");
  events_[First("UPDATE")]["before"] = nlohmann::json::object();
  EXPECT_THAT(FailuresOf([&] { CheckEnvelopes(events_, kSpec); }),
              ElementsAre(HasSubstr("unexpected \"before\"")));
  events_[First("UPDATE")].erase("before");
  events_[1]["key"] = events_[0]["key"];
  events_[1]["row"] = events_[0]["row"];
  EXPECT_THAT(FailuresOf([&] { CheckEnvelopes(events_, kSpec); }),
              ElementsAre(HasSubstr("key appears twice")));
}

}  // namespace
}  // namespace snapdelta::testing
