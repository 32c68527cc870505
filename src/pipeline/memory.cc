// DefaultMemoryLimit and ParseByteSize (engine.h).
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

#include "snapdelta/engine.h"

namespace snapdelta {

uint64_t DefaultMemoryLimit() {
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return uint64_t{2} << 30;  // unknown: assume a small laptop
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size) / 4;
}

StatusOr<uint64_t> ParseByteSize(std::string_view text) {
  std::string input(text);
  char* end = nullptr;
  double number = std::strtod(input.c_str(), &end);
  std::string unit(end);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "K" || unit == "KB" || unit == "KIB")
    scale = 1024.0;
  else if (unit == "M" || unit == "MB" || unit == "MIB")
    scale = 1024.0 * 1024;
  else if (unit == "G" || unit == "GB" || unit == "GIB")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TB" || unit == "TIB")
    scale = 1024.0 * 1024 * 1024 * 1024;
  if (end == input.c_str() || scale == 0 || !(number > 0) || !std::isfinite(number)) {
    return InvalidArgumentError("'" + input + "' is not a size; write e.g. 512MB or 2GB");
  }
  return static_cast<uint64_t>(number * scale);
}

}  // namespace snapdelta
