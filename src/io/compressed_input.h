// CompressedInput: the compressed bytes a decoder reads: the prefix sniffed by
// OpenDecompressed first, then the wrapped source, through one buffer. Private to src/io.
#ifndef SNAPDELTA_IO_COMPRESSED_INPUT_H_
#define SNAPDELTA_IO_COMPRESSED_INPUT_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "snapdelta/source.h"
#include "snapdelta/status.h"

namespace snapdelta {

// Compressed bytes read from the wrapped source per refill: large enough that the per-call cost
// of the decoders is negligible, small enough to stay in L2.
constexpr size_t kInputBufferSize = 256 << 10;
// Both inflaters count in 32-bit lengths.
constexpr size_t kMaxChunk = size_t{1} << 30;

// Compressed input: the sniffed prefix first, then the wrapped source, through one buffer.
class CompressedInput {
 public:
  CompressedInput(std::unique_ptr<ByteSource> raw, std::string prefix)
      : raw_(std::move(raw)),
        capacity_(std::max(kInputBufferSize, prefix.size())),
        buf_(std::make_unique_for_overwrite<uint8_t[]>(capacity_)) {
    std::memcpy(buf_.get(), prefix.data(), prefix.size());
    end_ = total_read_ = prefix.size();
  }

  // Reads more bytes when the buffer is empty. REQUIRES: avail() == 0.
  Status Fill() {
    pos_ = end_ = 0;
    ASSIGN_OR_RETURN(size_t n, raw_->Read(reinterpret_cast<char*>(buf_.get()), capacity_));
    if (n == 0) eof_ = true;
    end_ = n;
    total_read_ += n;
    return Status::OK();
  }

  const uint8_t* data() const { return buf_.get() + pos_; }
  size_t avail() const { return end_ - pos_; }
  void Consume(size_t n) { pos_ += n; }
  // True once the wrapped source reported end of stream; bytes may still be buffered.
  bool eof() const { return eof_; }
  // Compressed bytes handed to the decoder so far.
  uint64_t consumed() const { return total_read_ - avail(); }
  const std::string& name() const { return raw_->name(); }

 private:
  std::unique_ptr<ByteSource> raw_;
  const size_t capacity_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  uint64_t total_read_ = 0;
  bool eof_ = false;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_IO_COMPRESSED_INPUT_H_
