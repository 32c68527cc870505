// Reading a small stored file whole (a manifest, a task record): bounded, so a file that is not
// what it should be (an export uploaded under a manifest's name) cannot take the memory.
#ifndef SNAPDELTA_STORAGE_SMALL_FILE_H_
#define SNAPDELTA_STORAGE_SMALL_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "snapdelta/status.h"
#include "snapdelta/storage.h"

namespace snapdelta {

// The whole content of `file`; kInvalidArgument "<name>: larger than <what> can be (N MiB)"
// once it passes `limit` bytes.
StatusOr<std::string> ReadSmallFile(StoredFile* file, size_t limit, std::string_view what);

}  // namespace snapdelta

#endif  // SNAPDELTA_STORAGE_SMALL_FILE_H_
