// libFuzzer target: arbitrary bytes through content sniffing, decompression (gzip, zstd) and
// the CSV reader. Every input must end in a row stream or a Status, never a crash, a hang or a
// sanitizer report. Run with `make fuzz` (clang, ASan + UBSan).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "csv/csv_reader.h"
#include "snapdelta/source.h"

namespace snapdelta {
namespace {

// The fuzzer's input as a ByteSource, handed out in small, varying reads so record and
// decompression boundaries fall everywhere.
class MemorySource : public ByteSource {
 public:
  MemorySource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    size_t n = std::min(std::min(capacity, size_ - offset_), size_t{1} + offset_ % 61);
    std::memcpy(buf, data_ + offset_, n);
    offset_ += n;
    return n;
  }
  const std::string& name() const override { return name_; }
  uint64_t raw_bytes_consumed() const override { return offset_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
  std::string name_ = "fuzz.csv";
};

}  // namespace
}  // namespace snapdelta

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapdelta;
  auto source = OpenDecompressed(std::make_unique<MemorySource>(data, size));
  if (!source.ok()) return 0;
  CsvOptions options;
  options.buffer_size = 64;  // tiny: records straddle refills and force buffer growth
  CsvReader reader(std::move(*source), options);
  if (!reader.ReadHeader().ok()) return 0;
  size_t columns = reader.header().size();
  for (int rows = 0; rows < 100000; ++rows) {
    bool has_record = false;
    if (!reader.Next(&has_record).ok() || !has_record) break;
    for (size_t column_idx = 0; column_idx < columns; ++column_idx) {
      volatile size_t length = reader.field(column_idx).size();
      (void)length;
    }
  }
  return 0;
}
