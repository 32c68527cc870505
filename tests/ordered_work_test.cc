// RunInOrder (base/ordered_work.h): every item worked on once by two threads, used in order on
// the caller's thread within the window, and a stop or a failure ending the run cleanly.
#include "base/ordered_work.h"

#include <gtest/gtest.h>

#include <atomic>
#include <new>
#include <set>
#include <thread>
#include <vector>

namespace snapdelta {
namespace {

TEST(RunInOrder, WorksOnEveryItemOnceAndUsesThemInOrderFromTheirSlots) {
  constexpr size_t kCount = 2000, kWindow = 3;
  std::vector<size_t> slots(kWindow);
  std::vector<std::atomic<int>> worked(kCount);
  std::atomic<size_t> used_so_far{0};
  std::mutex threads_mutex;
  std::set<std::thread::id> threads;
  std::vector<size_t> used;
  const std::thread::id caller = std::this_thread::get_id();
  RunInOrder(
      kCount, kWindow,
      [&](size_t i) {
        EXPECT_LT(i, used_so_far.load() + kWindow);  // never past the window
        ++worked[i];
        slots[i % kWindow] = i * 7;
        std::lock_guard<std::mutex> lock(threads_mutex);
        threads.insert(std::this_thread::get_id());
      },
      [&](size_t i) {
        EXPECT_EQ(std::this_thread::get_id(), caller);
        EXPECT_EQ(slots[i % kWindow], i * 7);  // its own result, not a later item's
        used.push_back(i);
        used_so_far = i + 1;
        return true;
      });
  ASSERT_EQ(used.size(), kCount);
  for (size_t i = 0; i < kCount; ++i) {
    EXPECT_EQ(used[i], i);
    EXPECT_EQ(worked[i].load(), 1) << i;
  }
  EXPECT_GE(threads.size(), 1u);
  EXPECT_LE(threads.size(), 2u);
}

TEST(RunInOrder, StopsWhenAUseSaysSo) {
  std::atomic<size_t> highest_worked{0};
  std::vector<size_t> used;
  RunInOrder(
      1000, 4,
      [&](size_t i) {
        size_t seen = highest_worked.load();
        while (i > seen && !highest_worked.compare_exchange_weak(seen, i)) {
        }
      },
      [&](size_t i) {
        used.push_back(i);
        return i < 10;
      });
  EXPECT_EQ(used.size(), 11u);  // 0..10: the use of 10 said stop
  EXPECT_LT(highest_worked.load(), 11u + 4u);
}

TEST(RunInOrder, RethrowsAWorkFailureAfterStopping) {
  std::vector<size_t> used;
  EXPECT_THROW(RunInOrder(
                   1000, 4,
                   [&](size_t i) {
                     if (i == 50) throw std::bad_alloc();
                   },
                   [&](size_t i) {
                     used.push_back(i);
                     return true;
                   }),
               std::bad_alloc);
  EXPECT_LE(used.size(), 50u);  // nothing at or past the failed item was used
}

TEST(RunInOrder, RunsOneItemAndNoneOnTheCallersThread) {
  int uses = 0;
  RunInOrder(
      0, 2, [](size_t) { FAIL(); }, [&](size_t) { return ++uses > 0; });
  EXPECT_EQ(uses, 0);
  RunInOrder(
      1, 2, [](size_t) {}, [&](size_t) { return ++uses > 0; });
  EXPECT_EQ(uses, 1);
}

}  // namespace
}  // namespace snapdelta
