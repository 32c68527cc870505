// RunInOrder: items worked on by two threads at once, their results used one by one in order.
//
// work(i) runs for every i in [0, count), each once, on the caller's thread or on one helper,
// never more than `window` items past the next one to be used; use(i) runs on the caller's
// thread for i = 0, 1, ... as soon as work(i) is done. So `window` slots of results, indexed
// by i % window, are enough: slot i % window is free again once use(i) has returned. The caller
// works too whenever the next item is not ready, so the work is shared by both cores and the
// results are written out in order as they come (the end of a diff: a state's records encoded
// slice by slice on two threads, written in digest order on the caller's).
//
// use(i) returns false to stop: no further item is worked on or used. An exception from work
// (std::bad_alloc) stops the rest too and is rethrown to the caller once the helper is joined;
// so is one from use.
// Without a helper thread (none could be started), the caller does all the work.
#ifndef SNAPDELTA_BASE_ORDERED_WORK_H_
#define SNAPDELTA_BASE_ORDERED_WORK_H_

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace snapdelta {

// REQUIRES: window >= 1. work must be safe to run on two threads at once (for different i).
template <typename Work, typename Use>
void RunInOrder(size_t count, size_t window, Work work, Use use) {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<bool> done(count);  // guarded by mutex, as the counters below
  size_t next_work = 0;
  size_t next_use = 0;
  bool stop = false;
  std::exception_ptr failure;

  auto can_claim = [&] { return !stop && next_work < count && next_work < next_use + window; };
  // Runs work(i) unlocked, then marks it done (or stops everything on an exception).
  auto run = [&](std::unique_lock<std::mutex>& lock, size_t i) {
    lock.unlock();
    std::exception_ptr thrown;
    try {
      work(i);
    } catch (...) {
      thrown = std::current_exception();
    }
    lock.lock();
    done[i] = true;
    if (thrown != nullptr) {
      stop = true;
      if (failure == nullptr) failure = thrown;
    }
    changed.notify_all();
  };

  std::thread helper;
  if (count > 1) {
    try {
      helper = std::thread([&] {
        std::unique_lock<std::mutex> lock(mutex);
        for (;;) {
          changed.wait(lock, [&] { return stop || next_work >= count || can_claim(); });
          if (!can_claim()) return;
          run(lock, next_work++);
        }
      });
    } catch (const std::system_error&) {
      // No helper: the loop below does all the work.
    }
  }
  auto stop_helper = [&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    changed.notify_all();
    if (helper.joinable()) helper.join();
  };
  try {
    std::unique_lock<std::mutex> lock(mutex);
    while (!stop && next_use < count) {
      if (done[next_use]) {
        const size_t i = next_use;
        lock.unlock();
        const bool go_on = use(i);
        lock.lock();
        ++next_use;
        if (!go_on) stop = true;
        changed.notify_all();
      } else if (can_claim()) {
        run(lock, next_work++);
      } else {
        changed.wait(lock, [&] { return stop || done[next_use] || can_claim(); });
      }
    }
  } catch (...) {  // from use(i): the helper is joined before it goes on
    stop_helper();
    throw;
  }
  stop_helper();
  if (failure != nullptr) std::rethrow_exception(failure);
}

}  // namespace snapdelta

#endif  // SNAPDELTA_BASE_ORDERED_WORK_H_
