// AckWindow: the acknowledged position under out-of-order outcomes, shared seqs, failures and
// duplicate outcomes, and the in-flight wait across threads.
#include "publish/ack_window.h"

#include <gtest/gtest.h>

#include <thread>

namespace snapdelta {
namespace {

TEST(AckWindow, PositionFollowsTheLowestUnacknowledgedSeq) {
  AckWindow window;
  window.Reset(10);
  for (uint64_t seq = 11; seq <= 15; ++seq) window.Sent(seq);
  EXPECT_EQ(window.in_flight(), 5u);
  window.Acked(13);
  window.Acked(12);
  EXPECT_EQ(window.position(), 10u);  // 11 still in flight
  window.Acked(11);
  EXPECT_EQ(window.position(), 13u);
  window.Acked(15);
  EXPECT_EQ(window.position(), 13u);
  window.Acked(14);
  EXPECT_EQ(window.position(), 15u);
  EXPECT_EQ(window.in_flight(), 0u);
  EXPECT_FALSE(window.failed());
}

TEST(AckWindow, SeqsWithGapsAndSharedSeqsAreFoundWhereverTheyStand) {
  // Find guesses a seq's slot by its distance from the first; gaps and shared seqs defeat the
  // guess, and the search must still find the right slot.
  AckWindow window;
  window.Reset(0);
  const uint64_t seqs[] = {1, 2, 2, 5, 6, 9, 10, 10, 11};
  for (uint64_t seq : seqs) window.Sent(seq);
  const uint64_t outcomes[] = {10, 6, 2, 11, 9, 5, 10, 2};
  for (uint64_t seq : outcomes) window.Acked(seq);
  EXPECT_EQ(window.position(), 0u);  // 1 still in flight
  EXPECT_EQ(window.in_flight(), 1u);
  window.Acked(3);  // never sent: ignored
  EXPECT_EQ(window.in_flight(), 1u);
  window.Acked(1);
  EXPECT_EQ(window.position(), 11u);
  EXPECT_EQ(window.in_flight(), 0u);
}

TEST(AckWindow, ASeqOfTwoMessagesNeedsBoth) {
  AckWindow window;
  window.Reset(0);
  window.Sent(1);
  window.Sent(1);  // a DELETE and its tombstone
  window.Sent(2);
  window.Acked(1);
  window.Acked(2);
  EXPECT_EQ(window.position(), 0u);
  window.Acked(1);
  EXPECT_EQ(window.position(), 2u);
}

TEST(AckWindow, AFailureStopsThePositionForGood) {
  AckWindow window;
  window.Reset(0);
  for (uint64_t seq = 1; seq <= 4; ++seq) window.Sent(seq);
  window.Acked(1);
  window.Failed(2);
  window.Acked(3);
  window.Acked(4);
  EXPECT_EQ(window.position(), 1u);
  EXPECT_TRUE(window.failed());
  EXPECT_EQ(window.in_flight(), 0u);
  // A duplicate outcome of the failed message neither passes it nor counts it out again.
  window.Acked(2);
  window.Failed(2);
  EXPECT_EQ(window.position(), 1u);
  EXPECT_EQ(window.in_flight(), 0u);
  window.Reset(7);
  EXPECT_EQ(window.position(), 7u);
  EXPECT_FALSE(window.failed());
}

TEST(AckWindow, OneFailedMessageOfASharedSeqStopsIt) {
  AckWindow window;
  window.Reset(0);
  window.Sent(1);
  window.Sent(1);
  window.Failed(1);
  window.Acked(1);
  EXPECT_EQ(window.position(), 0u);
  EXPECT_EQ(window.in_flight(), 0u);
}

TEST(AckWindow, OutcomesOfUnknownSeqsAreIgnored) {
  AckWindow window;
  window.Reset(5);
  window.Sent(6);
  window.Acked(3);  // below the position: not in flight
  window.Acked(9);  // never sent
  EXPECT_EQ(window.in_flight(), 1u);
  window.Acked(6);
  window.Acked(6);
  EXPECT_EQ(window.position(), 6u);
  EXPECT_EQ(window.in_flight(), 0u);
}

TEST(AckWindow, WaitInFlightAtMostReturnsWhenOutcomesArrive) {
  AckWindow window;
  window.Reset(0);
  for (uint64_t seq = 1; seq <= 1000; ++seq) window.Sent(seq);
  std::thread acker([&] {
    for (uint64_t seq = 1000; seq >= 1; --seq) {  // the worst order for the position
      if (seq == 500) {
        window.Failed(seq);
      } else {
        window.Acked(seq);
      }
    }
  });
  window.WaitInFlightAtMost(0);
  acker.join();
  EXPECT_EQ(window.in_flight(), 0u);
  EXPECT_EQ(window.position(), 499u);
}

TEST(AckWindow, ASeqAtOrBelowTheResetPositionDoesNotMoveItBack) {
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
