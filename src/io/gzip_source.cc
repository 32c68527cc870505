// Gzip ByteSources: one or more members, decoded by ISA-L igzip or by zlib (the fallback). The
// contracts are in snapdelta/source.h and io/decompress.h.
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "fmt/format.h"
#include "io/compressed_input.h"
#include "io/decompress.h"

#ifdef SNAPDELTA_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

namespace snapdelta {
namespace {

// The outcome of one inflate call on a gzip member.
struct InflateResult {
  enum Kind { kOk, kMemberEnd, kCorrupt, kChecksum };
  Kind kind = kOk;
  size_t consumed = 0;
  size_t produced = 0;
  std::string error;  // for kCorrupt
};

#ifdef SNAPDELTA_HAVE_ISAL
class IsalInflater {
 public:
  IsalInflater() : state_(std::make_unique<inflate_state>()) { Reset(); }
  Status init_status() const { return Status::OK(); }

  void Reset() {
    isal_inflate_init(state_.get());
    state_->crc_flag = ISAL_GZIP;
  }

  InflateResult Inflate(const uint8_t* in, size_t in_len, char* out, size_t out_len) {
    const uint32_t avail_in = static_cast<uint32_t>(std::min(in_len, kMaxChunk));
    const uint32_t avail_out = static_cast<uint32_t>(std::min(out_len, kMaxChunk));
    state_->next_in = const_cast<uint8_t*>(in);
    state_->avail_in = avail_in;
    state_->next_out = reinterpret_cast<uint8_t*>(out);
    state_->avail_out = avail_out;
    const int ret = isal_inflate(state_.get());
    InflateResult result;
    result.consumed = avail_in - state_->avail_in;
    result.produced = avail_out - state_->avail_out;
    if (ret == ISAL_INCORRECT_CHECKSUM) {
      result.kind = InflateResult::kChecksum;
    } else if (ret < 0 || ret == ISAL_NEED_DICT) {
      result.kind = InflateResult::kCorrupt;
      result.error = ErrorName(ret);
    } else if (state_->block_state == ISAL_BLOCK_FINISH) {
      result.kind = InflateResult::kMemberEnd;
    }
    return result;
  }

 private:
  static std::string ErrorName(int ret) {
    switch (ret) {
      case ISAL_INVALID_BLOCK:
        return "invalid deflate block";
      case ISAL_INVALID_SYMBOL:
        return "invalid deflate symbol";
      case ISAL_INVALID_LOOKBACK:
        return "invalid back-reference distance";
      case ISAL_INVALID_WRAPPER:
        return "invalid gzip header";
      case ISAL_UNSUPPORTED_METHOD:
        return "unsupported compression method";
      case ISAL_NEED_DICT:
        return "stream needs a preset dictionary";
    }
    return fmt::format("ISA-L error {}", ret);
  }

  std::unique_ptr<inflate_state> state_;  // about 40 KiB: on the heap
};
#endif  // SNAPDELTA_HAVE_ISAL

class ZlibInflater {
 public:
  ZlibInflater() {
    // 16 + MAX_WBITS: expect a gzip header and check the CRC-32 and length trailer.
    if (inflateInit2(&stream_, 16 + MAX_WBITS) == Z_OK) {
      initialized_ = true;
    }
  }
  ~ZlibInflater() {
    if (initialized_) inflateEnd(&stream_);
  }
  Status init_status() const {
    return initialized_ ? Status::OK() : ResourceExhaustedError("zlib: inflateInit2 failed");
  }

  void Reset() { inflateReset(&stream_); }

  InflateResult Inflate(const uint8_t* in, size_t in_len, char* out, size_t out_len) {
    const uInt avail_in = static_cast<uInt>(std::min(in_len, kMaxChunk));
    const uInt avail_out = static_cast<uInt>(std::min(out_len, kMaxChunk));
    stream_.next_in = const_cast<Bytef*>(in);
    stream_.avail_in = avail_in;
    stream_.next_out = reinterpret_cast<Bytef*>(out);
    stream_.avail_out = avail_out;
    const int ret = inflate(&stream_, Z_NO_FLUSH);
    InflateResult result;
    result.consumed = avail_in - stream_.avail_in;
    result.produced = avail_out - stream_.avail_out;
    if (ret == Z_STREAM_END) {
      result.kind = InflateResult::kMemberEnd;
    } else if (ret != Z_OK && ret != Z_BUF_ERROR) {  // Z_BUF_ERROR: no progress, not an error
      const char* msg = stream_.msg != nullptr ? stream_.msg : zError(ret);
      const bool checksum = std::strcmp(msg, "incorrect data check") == 0 ||
                            std::strcmp(msg, "incorrect length check") == 0;
      result.kind = checksum ? InflateResult::kChecksum : InflateResult::kCorrupt;
      result.error = ret == Z_NEED_DICT ? "stream needs a preset dictionary" : msg;
    }
    return result;
  }

 private:
  z_stream stream_{};
  bool initialized_ = false;
};

// A gzip stream of one or more members, decoded by `Inflater` (IsalInflater or ZlibInflater).
template <typename Inflater>
class GzipSource final : public ByteSource {
 public:
  GzipSource(std::unique_ptr<ByteSource> raw, std::string prefix)
      : input_(std::move(raw), std::move(prefix)) {}

  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    RETURN_IF_ERROR(inflater_.init_status());
    while (capacity > 0) {
      if (state_ == kDone) return 0;
      if (state_ == kBetweenMembers) {
        RETURN_IF_ERROR(StartNextMember());
        continue;
      }
      if (input_.avail() == 0 && !input_.eof()) {
        RETURN_IF_ERROR(input_.Fill());
        continue;
      }
      InflateResult r = inflater_.Inflate(input_.data(), input_.avail(), buf, capacity);
      input_.Consume(r.consumed);
      if (r.kind == InflateResult::kCorrupt) {
        return CorruptionError(fmt::format("{}: corrupt gzip data at compressed byte {}: {}",
                                           name(), input_.consumed(), r.error));
      }
      if (r.kind == InflateResult::kChecksum) {
        return CorruptionError(
            fmt::format("{}: gzip CRC-32 or length mismatch in member {} (ending at compressed "
                        "byte {}); the file is corrupt, export it again",
                        name(), member_, input_.consumed()));
      }
      if (r.kind == InflateResult::kMemberEnd) state_ = kBetweenMembers;
      if (r.produced > 0) return r.produced;
      if (state_ == kInMember && r.consumed == 0 && input_.avail() > 0) {
        return CorruptionError(fmt::format("{}: gzip decoder stalled at compressed byte {}", name(),
                                           input_.consumed()));
      }
      if (state_ == kInMember && r.consumed == 0 && input_.eof()) {
        return CorruptionError(fmt::format(
            "{}: truncated gzip stream (ended inside member {} after {} compressed bytes); the "
            "file is incomplete, upload it again",
            name(), member_, input_.consumed()));
      }
    }
    return 0;
  }

  const std::string& name() const override { return input_.name(); }
  uint64_t raw_bytes_consumed() const override { return input_.consumed(); }

 private:
  enum State { kInMember, kBetweenMembers, kDone };

  // After a member: ends the stream, skips zero padding, or starts the next member.
  Status StartNextMember() {
    while (input_.avail() == 0) {
      if (input_.eof()) {
        state_ = kDone;
        return Status::OK();
      }
      RETURN_IF_ERROR(input_.Fill());
    }
    const uint8_t next = input_.data()[0];
    if (next == 0) return SkipZeroPadding();
    if (next != 0x1f) return TrailingGarbage(next);
    inflater_.Reset();
    ++member_;
    state_ = kInMember;
    return Status::OK();
  }

  Status SkipZeroPadding() {
    while (true) {
      const uint8_t* data = input_.data();
      const size_t n = input_.avail();
      const uint8_t* nonzero = std::find_if(data, data + n, [](uint8_t b) { return b != 0; });
      input_.Consume(static_cast<size_t>(nonzero - data));
      if (nonzero != data + n) return TrailingGarbage(*nonzero);
      if (input_.eof()) break;
      RETURN_IF_ERROR(input_.Fill());
    }
    state_ = kDone;
    return Status::OK();
  }

  Status TrailingGarbage(uint8_t byte) const {
    return CorruptionError(
        fmt::format("{}: unexpected byte 0x{:02x} after gzip member {} at compressed byte {}; "
                    "only another gzip member or zero padding may follow",
                    name(), byte, member_, input_.consumed()));
  }

  CompressedInput input_;
  Inflater inflater_;
  State state_ = kInMember;
  uint64_t member_ = 1;  // 1-based index of the current member
};

}  // namespace

std::unique_ptr<ByteSource> OpenGzipZlib(std::unique_ptr<ByteSource> raw, std::string prefix) {
  return std::make_unique<GzipSource<ZlibInflater>>(std::move(raw), std::move(prefix));
}

#ifdef SNAPDELTA_HAVE_ISAL
std::unique_ptr<ByteSource> OpenGzipIsal(std::unique_ptr<ByteSource> raw, std::string prefix) {
  return std::make_unique<GzipSource<IsalInflater>>(std::move(raw), std::move(prefix));
}
#endif

std::unique_ptr<ByteSource> OpenGzip(std::unique_ptr<ByteSource> raw, std::string prefix) {
#ifdef SNAPDELTA_HAVE_ISAL
  return OpenGzipIsal(std::move(raw), std::move(prefix));
#else
  return OpenGzipZlib(std::move(raw), std::move(prefix));
#endif
}

}  // namespace snapdelta
