// ProducerThread<T>: a background thread that fills items ahead of one consumer, recycling a
// fixed pool of them, so it runs at most `pool.size()` items ahead and memory stays bounded.
// Used to decompress (io/read_ahead.cc) and to parse (diff/row_batch.cc) beside the differ.
//
// Thread safety: Next is called from one consumer thread. `fill` runs on the background
// thread only, one item at a time, in order.
#ifndef SNAPDELTA_BASE_PRODUCER_THREAD_H_
#define SNAPDELTA_BASE_PRODUCER_THREAD_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace snapdelta {

template <typename T>
class ProducerThread {
 public:
  // `fill` fills a free item and returns true when it is the last one (the input ended or
  // failed); the thread then stops. The thread starts here.
  ProducerThread(std::vector<std::unique_ptr<T>> pool, std::function<bool(T*)> fill)
      : fill_(std::move(fill)) {
    for (auto& item : pool) free_.push_back(std::move(item));
    thread_ = std::thread([this] { Produce(); });
  }

  // Stops the thread (after the item it is filling) and joins it.
  ~ProducerThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  ProducerThread(const ProducerThread&) = delete;
  ProducerThread& operator=(const ProducerThread&) = delete;

  // The next filled item, blocking until it is ready; the item returned by the previous call
  // goes back to the pool. REQUIRES: not called after the last item was returned.
  T* Next() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (current_ != nullptr) {
      free_.push_back(std::move(current_));
      changed_.notify_all();
    }
    changed_.wait(lock, [this] { return !ready_.empty(); });
    current_ = std::move(ready_.front());
    ready_.pop_front();
    return current_.get();
  }

 private:
  void Produce() {
    for (;;) {
      std::unique_ptr<T> item;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return stop_ || !free_.empty(); });
        if (stop_) return;
        item = std::move(free_.front());
        free_.pop_front();
      }
      bool last = fill_(item.get());
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ready_.push_back(std::move(item));
      }
      changed_.notify_all();
      if (last) return;
    }
  }

  std::function<bool(T*)> fill_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<T>> free_;   // guarded by mutex_
  std::deque<std::unique_ptr<T>> ready_;  // guarded by mutex_
  bool stop_ = false;                     // guarded by mutex_
  std::unique_ptr<T> current_;            // consumer side
  std::thread thread_;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_BASE_PRODUCER_THREAD_H_
