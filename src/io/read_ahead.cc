#include "io/read_ahead.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace snapdelta {
namespace {

struct Chunk {
  std::vector<char> data;
  size_t size = 0;
  uint64_t raw_bytes = 0;  // inner->raw_bytes_consumed() after filling
  Status status;           // the inner source's error after `size` bytes, if any
  bool end = false;        // the inner source ended after `size` bytes
};

class ReadAheadSource : public ByteSource {
 public:
  ReadAheadSource(std::unique_ptr<ByteSource> inner, size_t chunk_bytes, size_t chunk_count)
      : inner_(std::move(inner)), name_(inner_->name()) {
    for (size_t i = 0; i < chunk_count; ++i) {
      free_.push_back(std::make_unique<Chunk>());
      free_.back()->data.resize(chunk_bytes);
    }
    thread_ = std::thread([this] { Produce(); });
  }

  ~ReadAheadSource() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    while (current_ == nullptr || offset_ == current_->size) {
      if (current_ != nullptr) {
        if (!current_->status.ok()) return current_->status;
        if (current_->end) return size_t{0};
        Recycle();
      }
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return !ready_.empty(); });
      current_ = std::move(ready_.front());
      ready_.pop_front();
      offset_ = 0;
      raw_bytes_ = current_->raw_bytes;
    }
    size_t n = std::min(capacity, current_->size - offset_);
    std::memcpy(buf, current_->data.data() + offset_, n);
    offset_ += n;
    return n;
  }

  const std::string& name() const override { return name_; }
  uint64_t raw_bytes_consumed() const override { return raw_bytes_; }

 private:
  void Recycle() {
    current_->size = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      free_.push_back(std::move(current_));
    }
    changed_.notify_all();
  }

  // Fills free chunks until the inner source ends or fails, or the reader goes away.
  void Produce() {
    for (;;) {
      std::unique_ptr<Chunk> chunk;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return stop_ || !free_.empty(); });
        if (stop_) return;
        chunk = std::move(free_.front());
        free_.pop_front();
      }
      bool last = Fill(chunk.get());
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ready_.push_back(std::move(chunk));
      }
      changed_.notify_all();
      if (last) return;
    }
  }

  // Returns true when the inner source is done (ended or failed).
  bool Fill(Chunk* chunk) {
    while (chunk->size < chunk->data.size()) {
      StatusOr<size_t> n =
          inner_->Read(chunk->data.data() + chunk->size, chunk->data.size() - chunk->size);
      if (!n.ok()) {
        chunk->status = n.status();
        break;
      }
      if (*n == 0) {
        chunk->end = true;
        break;
      }
      chunk->size += *n;
    }
    chunk->raw_bytes = inner_->raw_bytes_consumed();
    return chunk->end || !chunk->status.ok();
  }

  std::unique_ptr<ByteSource> inner_;  // used by the background thread only
  const std::string name_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<Chunk>> free_;   // guarded by mutex_
  std::deque<std::unique_ptr<Chunk>> ready_;  // guarded by mutex_
  bool stop_ = false;                         // guarded by mutex_
  std::unique_ptr<Chunk> current_;            // reader side
  size_t offset_ = 0;                         // reader side
  uint64_t raw_bytes_ = 0;                    // reader side
};

}  // namespace

std::unique_ptr<ByteSource> NewReadAheadSource(std::unique_ptr<ByteSource> inner,
                                               size_t chunk_bytes, size_t chunk_count) {
  return std::make_unique<ReadAheadSource>(std::move(inner), chunk_bytes, chunk_count);
}

}  // namespace snapdelta
