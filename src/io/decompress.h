// Internal decompressors behind OpenDecompressed (see snapdelta/source.h). They are declared here
// so tests can drive each gzip decoder directly and check that ISA-L and zlib agree.
//
// Each factory takes ownership of `raw`. `prefix` holds bytes already read from `raw` (while
// sniffing the format); they are decoded before the rest of `raw`. Errors surface from Read():
// kCorruption for truncated or corrupt data (message starts with raw->name()), or raw's own error.
//
// Gzip: any number of concatenated members is one stream. After the last member, trailing zero
// bytes (tape or block padding, as gzip(1) accepts) are skipped; any other trailing byte that does
// not start a new member is kCorruption. An empty stream (no member at all) is kCorruption.
// Zstd: any number of concatenated frames, including skippable frames.
#ifndef SNAPDELTA_IO_DECOMPRESS_H_
#define SNAPDELTA_IO_DECOMPRESS_H_

#include <memory>
#include <string>

#include "snapdelta/source.h"

namespace snapdelta {

// Gzip through zlib's inflate. Always compiled; the fallback when ISA-L is not available.
std::unique_ptr<ByteSource> OpenGzipZlib(std::unique_ptr<ByteSource> raw, std::string prefix = {});

#ifdef SNAPDELTA_HAVE_ISAL
// Gzip through ISA-L igzip, about 2-3x faster than zlib.
std::unique_ptr<ByteSource> OpenGzipIsal(std::unique_ptr<ByteSource> raw, std::string prefix = {});
#endif

// The preferred gzip decoder of this build: ISA-L when available, otherwise zlib.
std::unique_ptr<ByteSource> OpenGzip(std::unique_ptr<ByteSource> raw, std::string prefix = {});

// Zstandard through ZSTD_decompressStream.
std::unique_ptr<ByteSource> OpenZstd(std::unique_ptr<ByteSource> raw, std::string prefix = {});

}  // namespace snapdelta

#endif  // SNAPDELTA_IO_DECOMPRESS_H_
