// ReadAheadSource: runs another ByteSource (a decompressor) on a background thread, a few
// chunks ahead of the reader, so decompression and parsing use two cores.
//
// Memory: at most `chunk_count` chunks of `chunk_bytes` each. An error of the inner source
// (kResourceExhausted when it runs out of memory) is returned by Read after every byte read
// before it. raw_bytes_consumed() is the inner source's
// count as of the chunk being read. Thread safety: Read from one thread; the background thread
// is internal and joined by the destructor.
#ifndef SNAPDELTA_IO_READ_AHEAD_H_
#define SNAPDELTA_IO_READ_AHEAD_H_

#include <memory>

#include "snapdelta/source.h"

namespace snapdelta {

std::unique_ptr<ByteSource> NewReadAheadSource(std::unique_ptr<ByteSource> inner,
                                               size_t chunk_bytes, size_t chunk_count);

}  // namespace snapdelta

#endif  // SNAPDELTA_IO_READ_AHEAD_H_
