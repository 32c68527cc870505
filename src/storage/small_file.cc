#include "storage/small_file.h"

#include <fmt/format.h>

#include <memory>

namespace snapdelta {

StatusOr<std::string> ReadSmallFile(StoredFile* file, size_t limit, std::string_view what) {
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> source, file->Open());
  std::string text;
  char buf[64 << 10];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, source->Read(buf, sizeof(buf)));
    if (n == 0) return text;
    text.append(buf, n);
    if (text.size() > limit) {
      return InvalidArgumentError(
          fmt::format("{}: larger than {} can be ({} MiB)", file->name(), what, limit >> 20));
    }
  }
}

}  // namespace snapdelta
