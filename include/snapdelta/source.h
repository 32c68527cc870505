// ByteSource: a forward-only stream of bytes, the bottom layer every export is read through.
//
// Implementations: a local file (OpenFileSource) and a decompressing wrapper that sniffs the
// content (OpenDecompressed): gzip (ISA-L igzip, multi-member), zstd (multi-frame), or plain.
// The compression is detected from the first bytes, never from the file name.
//
// Ownership: a wrapper owns the source it wraps. Thread safety: a ByteSource is used by one
// thread at a time.
#ifndef SNAPDELTA_SOURCE_H_
#define SNAPDELTA_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "snapdelta/status.h"

namespace snapdelta {

// Persisted nowhere; printed in messages.
enum class Compression { kNone, kGzip, kZstd };

class ByteSource {
 public:
  ByteSource() = default;
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  virtual ~ByteSource() = default;

  // Reads up to `capacity` bytes into `buf`. Returns the number read; 0 means end of stream.
  // A short read does not mean end of stream. Errors: kIOError (read failed), kCorruption
  // (truncated or corrupt compressed data; the message names the file and what is wrong).
  virtual StatusOr<size_t> Read(char* buf, size_t capacity) = 0;

  // The name used in messages (the file path as the user gave it).
  virtual const std::string& name() const = 0;

  // Bytes consumed from the underlying file so far (compressed bytes for a decompressor);
  // used for progress reports.
  virtual uint64_t raw_bytes_consumed() const = 0;
};

// Opens a local file for sequential reading from byte `offset` on; name() is `path` as given.
// Errors: kNotFound (no such file), kIOError (any other failure, including `path` being a
// directory).
StatusOr<std::unique_ptr<ByteSource>> OpenFileSource(const std::string& path, uint64_t offset = 0);

// Wraps `raw` in a decompressor chosen from its first bytes: gzip (1f 8b), zstd (28 b5 2f fd),
// otherwise the bytes pass through unchanged (also when the input is shorter than a magic
// number). `detected`, when non-null, receives the choice. Concatenated gzip members and zstd
// frames decode as one stream; zero bytes after the last gzip member are skipped as padding,
// any other trailing bytes are kCorruption. Errors: those of raw->Read() while sniffing.
StatusOr<std::unique_ptr<ByteSource>> OpenDecompressed(std::unique_ptr<ByteSource> raw,
                                                       Compression* detected = nullptr);

// OpenFileSource + OpenDecompressed.
StatusOr<std::unique_ptr<ByteSource>> OpenExport(const std::string& path,
                                                 Compression* detected = nullptr);

// OpenDecompressed of `raw`, decompressed ahead of the parser on a second thread when it is
// compressed: what every export is read through.
StatusOr<std::unique_ptr<ByteSource>> OpenExport(std::unique_ptr<ByteSource> raw,
                                                 Compression* detected = nullptr);

}  // namespace snapdelta

#endif  // SNAPDELTA_SOURCE_H_
