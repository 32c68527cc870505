// Content sniffing (OpenDecompressed) and OpenExport. The decoders are in gzip_source.cc and
// zstd_source.cc; the contracts in snapdelta/source.h and io/decompress.h.
#include "io/decompress.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "io/read_ahead.h"
#include "snapdelta/source.h"
#include "snapdelta/status.h"

namespace snapdelta {
namespace {

// OpenExport decompresses on a second thread this far ahead of the parser: 4 chunks of 1 MiB
// keep both cores busy while bounding the memory spent on it.
constexpr size_t kReadAheadChunkBytes = 1 << 20;
constexpr size_t kReadAheadChunks = 4;

// Uncompressed input: replays the sniffed prefix, then reads straight from the wrapped source.
class PlainSource final : public ByteSource {
 public:
  PlainSource(std::unique_ptr<ByteSource> raw, std::string prefix)
      : raw_(std::move(raw)), prefix_(std::move(prefix)) {}

  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    if (prefix_pos_ < prefix_.size()) {
      const size_t n = std::min(capacity, prefix_.size() - prefix_pos_);
      std::memcpy(buf, prefix_.data() + prefix_pos_, n);
      prefix_pos_ += n;
      return n;
    }
    return raw_->Read(buf, capacity);
  }

  const std::string& name() const override { return raw_->name(); }
  uint64_t raw_bytes_consumed() const override {
    return raw_->raw_bytes_consumed() - (prefix_.size() - prefix_pos_);
  }

 private:
  std::unique_ptr<ByteSource> raw_;
  std::string prefix_;
  size_t prefix_pos_ = 0;
};

constexpr unsigned char kGzipMagic[] = {0x1f, 0x8b};
constexpr unsigned char kZstdMagic[] = {0x28, 0xb5, 0x2f, 0xfd};

bool StartsWith(const std::string& data, const unsigned char* magic, size_t magic_size) {
  return data.size() >= magic_size && std::memcmp(data.data(), magic, magic_size) == 0;
}

}  // namespace

StatusOr<std::unique_ptr<ByteSource>> OpenDecompressed(std::unique_ptr<ByteSource> raw,
                                                       Compression* detected) {
  // Read the longest magic number; the source may return it in pieces, or the file may be shorter.
  std::string prefix(sizeof(kZstdMagic), '\0');
  size_t have = 0;
  while (have < prefix.size()) {
    ASSIGN_OR_RETURN(size_t n, raw->Read(prefix.data() + have, prefix.size() - have));
    if (n == 0) break;
    have += n;
  }
  prefix.resize(have);

  Compression compression = Compression::kNone;
  if (StartsWith(prefix, kGzipMagic, sizeof(kGzipMagic))) {
    compression = Compression::kGzip;
  } else if (StartsWith(prefix, kZstdMagic, sizeof(kZstdMagic))) {
    compression = Compression::kZstd;
  }
  if (detected != nullptr) *detected = compression;
  switch (compression) {
    case Compression::kGzip:
      return OpenGzip(std::move(raw), std::move(prefix));
    case Compression::kZstd:
      return OpenZstd(std::move(raw), std::move(prefix));
    case Compression::kNone:
      break;
  }
  return std::unique_ptr<ByteSource>(std::make_unique<PlainSource>(std::move(raw), prefix));
}

StatusOr<std::unique_ptr<ByteSource>> OpenExport(const std::string& path, Compression* detected) {
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> raw, OpenFileSource(path));
  return OpenExport(std::move(raw), detected);
}

StatusOr<std::unique_ptr<ByteSource>> OpenExport(std::unique_ptr<ByteSource> raw,
                                                 Compression* detected) {
  Compression compression = Compression::kNone;
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> source,
                   OpenDecompressed(std::move(raw), &compression));
  if (detected != nullptr) *detected = compression;
  if (compression == Compression::kNone) return source;
  return NewReadAheadSource(std::move(source), kReadAheadChunkBytes, kReadAheadChunks);
}

}  // namespace snapdelta
