#include "io/read_ahead.h"

#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "base/producer_thread.h"

namespace snapdelta {
namespace {

struct Chunk {
  std::vector<char> data;
  size_t size = 0;
  uint64_t raw_bytes = 0;  // inner->raw_bytes_consumed() after filling
  Status status;           // the inner source's error after `size` bytes, if any
  bool end = false;        // the inner source ended after `size` bytes
};

std::vector<std::unique_ptr<Chunk>> MakeChunks(size_t chunk_bytes, size_t chunk_count) {
  std::vector<std::unique_ptr<Chunk>> chunks;
  for (size_t i = 0; i < chunk_count; ++i) {
    chunks.push_back(std::make_unique<Chunk>());
    chunks.back()->data.resize(chunk_bytes);
  }
  return chunks;
}

class ReadAheadSource : public ByteSource {
 public:
  ReadAheadSource(std::unique_ptr<ByteSource> inner, size_t chunk_bytes, size_t chunk_count)
      : inner_(std::move(inner)),
        name_(inner_->name()),
        producer_(MakeChunks(chunk_bytes, chunk_count),
                  [this](Chunk* chunk) { return Fill(chunk); }) {}

  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    while (current_ == nullptr || offset_ == current_->size) {
      if (current_ != nullptr) {
        if (!current_->status.ok()) return current_->status;
        if (current_->end) return size_t{0};
      }
      current_ = producer_.Next();
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
  // Fills a chunk from the inner source (on the producer thread); true when the inner source is
  // done (ended or failed). Allocation failure in the inner source becomes its error: an
  // exception must not end the producer thread.
  bool Fill(Chunk* chunk) {
    try {
      return FillFromInner(chunk);
    } catch (const std::bad_alloc&) {
      chunk->status = ResourceExhaustedError(name_ + ": out of memory while decompressing");
      return true;
    }
  }

  bool FillFromInner(Chunk* chunk) {
    chunk->size = 0;
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

  std::unique_ptr<ByteSource> inner_;  // used by the producer thread only
  const std::string name_;
  Chunk* current_ = nullptr;        // reader side
  size_t offset_ = 0;               // reader side
  uint64_t raw_bytes_ = 0;          // reader side
  ProducerThread<Chunk> producer_;  // last: its thread stops before the rest goes
};

}  // namespace

std::unique_ptr<ByteSource> NewReadAheadSource(std::unique_ptr<ByteSource> inner,
                                               size_t chunk_bytes, size_t chunk_count) {
  return std::make_unique<ReadAheadSource>(std::move(inner), chunk_bytes, chunk_count);
}

}  // namespace snapdelta
