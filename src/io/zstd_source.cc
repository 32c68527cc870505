// Zstandard ByteSource: one or more frames. The contracts are in snapdelta/source.h and
// io/decompress.h.
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "fmt/format.h"
#include "io/compressed_input.h"
#include "io/decompress.h"

namespace snapdelta {
namespace {

// A zstd stream of one or more frames.
class ZstdSource final : public ByteSource {
 public:
  ZstdSource(std::unique_ptr<ByteSource> raw, std::string prefix)
      : input_(std::move(raw), std::move(prefix)), dctx_(ZSTD_createDCtx()) {}

  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    if (dctx_ == nullptr) return ResourceExhaustedError("zstd: ZSTD_createDCtx failed");
    while (capacity > 0) {
      if (input_.avail() == 0 && !input_.eof()) {
        RETURN_IF_ERROR(input_.Fill());
        continue;
      }
      if (input_.avail() == 0 && !in_frame_) return 0;
      ZSTD_inBuffer in{input_.data(), input_.avail(), 0};
      ZSTD_outBuffer out{buf, capacity, 0};
      const size_t ret = ZSTD_decompressStream(dctx_.get(), &out, &in);
      input_.Consume(in.pos);
      if (ZSTD_isError(ret)) {
        return CorruptionError(fmt::format("{}: corrupt zstd data at compressed byte {}: {}",
                                           name(), input_.consumed(), ZSTD_getErrorName(ret)));
      }
      if (ret == 0) {
        in_frame_ = false;
        ++frames_done_;
      } else if (in.pos > 0) {
        in_frame_ = true;
      }
      if (out.pos > 0) return out.pos;
      if (in.pos == 0 && input_.avail() == 0 && input_.eof()) {
        return CorruptionError(fmt::format(
            "{}: truncated zstd stream (ended inside frame {} after {} compressed bytes); the "
            "file is incomplete, upload it again",
            name(), frames_done_ + 1, input_.consumed()));
      }
    }
    return 0;
  }

  const std::string& name() const override { return input_.name(); }
  uint64_t raw_bytes_consumed() const override { return input_.consumed(); }

 private:
  struct DCtxDeleter {
    void operator()(ZSTD_DCtx* dctx) const { ZSTD_freeDCtx(dctx); }
  };

  CompressedInput input_;
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx_;
  bool in_frame_ = false;  // input was consumed since the last completed frame
  uint64_t frames_done_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> OpenZstd(std::unique_ptr<ByteSource> raw, std::string prefix) {
  return std::make_unique<ZstdSource>(std::move(raw), std::move(prefix));
}

}  // namespace snapdelta
