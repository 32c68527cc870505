// AckWindow: the position under out-of-order acknowledgements, failures, and the outcomes that
// must not corrupt the in-flight count.
#include "publish/ack_window.h"

#include <gtest/gtest.h>

namespace snapdelta {
namespace {

TEST(AckWindowTest, PositionFollowsOutOfOrderAcks) {
  AckWindow window;
  window.Reset(10);
  for (uint64_t seq = 11; seq <= 14; ++seq) window.Sent(seq);
  window.Sent(14);  // two messages of one seq
  EXPECT_EQ(window.in_flight(), 5u);
  window.Acked(13);
  window.Acked(11);
  EXPECT_EQ(window.position(), 11u);
  window.Acked(14);
  window.Acked(12);
  EXPECT_EQ(window.position(), 13u);  // 14 has a message in flight
  window.Acked(14);
  EXPECT_EQ(window.position(), 14u);
  EXPECT_EQ(window.in_flight(), 0u);
}

TEST(AckWindowTest, AFailedMessageStopsThePositionForGood) {
  AckWindow window;
  window.Reset(0);
  for (uint64_t seq = 1; seq <= 3; ++seq) window.Sent(seq);
  window.Failed(2);
  window.Failed(2);  // a second outcome of a one-message seq is ignored
  window.Acked(2);   // and so is an acknowledgement after its failure
  window.Acked(1);
  window.Acked(3);
  EXPECT_EQ(window.position(), 1u);
  EXPECT_EQ(window.in_flight(), 0u);
  EXPECT_TRUE(window.failed());
  window.WaitInFlightAtMost(0);  // returns: nothing in flight
  window.Reset(5);
  EXPECT_FALSE(window.failed());
  EXPECT_EQ(window.position(), 5u);
}

TEST(AckWindowTest, ASeqAtOrBelowTheResetPositionDoesNotMoveItBack) {
  AckWindow window;
  window.Reset(10);
  window.Sent(7);
  window.Acked(7);
  EXPECT_EQ(window.position(), 10u);
  window.Acked(99);  // never sent: ignored
  EXPECT_EQ(window.in_flight(), 0u);
}

}  // namespace
}  // namespace snapdelta
