#include "diff/memory_plan.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <future>
#include <memory>
#include <unordered_set>

#include "csv/csv_reader.h"
#include "diff/coding.h"
#include "diff/fingerprint.h"
#include "diff/schema.h"
#include "snapdelta/source.h"

namespace snapdelta {
namespace {

// Decompressed bytes sampled: enough for a stable average (about 20,000 rows of 100 bytes),
// bounded for exports that compress 1000:1. The sample is read before anything else, on the
// differ's thread: 8 MiB took a 1M-row run 50 ms, 2 MiB takes 10 to 20. The estimate only
// chooses the first partition count (a partition that outgrows its budget is split).
constexpr uint64_t kSampleBytes = 2 << 20;
// Distinct keys are counted among this many first rows.
constexpr uint64_t kDistinctSampleRows = 1 << 16;
// The sampling CSV reader reads this far ahead of the rows it parsed: small, so the share of
// the file the parsed rows took is measured closely.
constexpr size_t kSampleBufferBytes = 64 << 10;
// Without a sample, rows are guessed at this many bytes each: about the smallest a compressed
// export gets, so the guess errs towards more rows.
constexpr uint64_t kMinBytesPerRow = 16;
// Fixed memory (see memory_plan.h): per export read, the read-ahead (4 MiB), the decompressor's
// input and state, the CSV buffer (1 MiB) and up to 32 row batches (2.5 MiB of rows of 100
// bytes; a batch ends at 64 KiB of text); and the event sink's and state file's buffers and a
// spill reader's.
constexpr uint64_t kReaderBytes = 10 << 20;
constexpr uint64_t kIoBytes = 4 << 20;
// The table is never split below this much: two arena chunks (key_table.h) and the first
// entries. A smaller limit still spreads the rows over the most partitions, but is exceeded.
constexpr uint64_t kMinTableBytes = 16 << 20;
constexpr size_t kMaxSpillBufferBytes = 256 << 10;
// Slots per table at least (key_table.cc), and the largest load.
constexpr uint64_t kMinSlots = 1 << 12;

// Counts the decompressed bytes handed to the CSV reader.
class CountingSource final : public ByteSource {
 public:
  explicit CountingSource(std::unique_ptr<ByteSource> inner) : inner_(std::move(inner)) {}
  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    ASSIGN_OR_RETURN(size_t n, inner_->Read(buf, capacity));
    bytes_ += n;
    return n;
  }
  const std::string& name() const override { return inner_->name(); }
  uint64_t raw_bytes_consumed() const override { return inner_->raw_bytes_consumed(); }
  uint64_t bytes() const { return bytes_; }

 private:
  std::unique_ptr<ByteSource> inner_;
  uint64_t bytes_ = 0;
};

}  // namespace

ExportSample SampleExport(StoredFile* file, const TableOptions& options) {
  StatusOr<uint64_t> size = file->Size();
  const uint64_t file_size = size.ok() ? *size : 0;
  ExportSample sample;
  sample.rows = file_size / kMinBytesPerRow;
  StatusOr<std::unique_ptr<ByteSource>> raw = file->Open();
  if (!raw.ok()) return sample;
  StatusOr<std::unique_ptr<ByteSource>> text = OpenDecompressed(std::move(raw).value(), nullptr);
  if (!text.ok()) return sample;
  auto counting = std::make_unique<CountingSource>(std::move(text).value());
  const CountingSource* counted = counting.get();
  CsvOptions csv_options;
  csv_options.delimiter = options.delimiter;
  csv_options.buffer_size = kSampleBufferBytes;
  csv_options.max_record_size = kSampleBytes;  // a larger record ends the sample, not the diff
  CsvReader reader(std::move(counting), csv_options);
  if (!reader.ReadHeader().ok()) return sample;
  StatusOr<ExportSchema> schema = ResolveSchema(reader.header(), options, file->name());
  if (!schema.ok()) return sample;
  uint64_t rows = 0, key_bytes = 0, row_bytes = 0;
  std::unordered_set<uint64_t> keys;
  bool has_record = true;
  std::string key;
  while (counted->bytes() < kSampleBytes) {
    if (!reader.Next(&has_record).ok()) {
      has_record = true;  // not all read: extrapolate from the rows before the error
      break;
    }
    if (!has_record) break;
    ++rows;
    key.clear();
    for (size_t column_idx : schema->key_idx) AppendKeyPart(&key, reader.field(column_idx));
    key_bytes += VarintLength(key.size()) + key.size();
    for (size_t column_idx = 0; column_idx < reader.field_count(); ++column_idx) {
      size_t size = reader.field(column_idx).size();
      row_bytes += VarintLength(size + 1) + size;
    }
    if (rows <= kDistinctSampleRows) keys.insert(DigestKey(key).low);
  }
  if (rows == 0) {
    sample.rows = 0;
    return sample;
  }
  sample.rows = rows;
  if (has_record && reader.raw_bytes_consumed() > 0) {  // not all read: extrapolate
    sample.rows = static_cast<uint64_t>(static_cast<double>(rows) * static_cast<double>(file_size) /
                                        static_cast<double>(reader.raw_bytes_consumed()));
  }
  sample.distinct =
      static_cast<double>(keys.size()) / static_cast<double>(std::min(rows, kDistinctSampleRows));
  sample.key_bytes = static_cast<double>(key_bytes) / static_cast<double>(rows);
  sample.row_bytes = static_cast<double>(row_bytes) / static_cast<double>(rows);
  return sample;
}

uint64_t TableEntryBytes(uint64_t keys) {
  // An overestimate, kept so that memory-bounded runs partition as they did: entries are 40
  // bytes and tables are sized in huge pages, not to a power of two, now.
  uint64_t slots = std::bit_ceil(std::max(kMinSlots, keys * 10 / 7 + 1));
  return slots * 64;
}

MemoryDemand DemandOf(const DiffRequest& request, uint64_t state_rows, size_t old_hashes,
                      bool old_rows, bool new_rows) {
  MemoryDemand demand;
  demand.limit = request.memory_limit;
  if (demand.limit == 0) return demand;
  auto keys_of = [](const ExportSample& sample) {
    return static_cast<uint64_t>(static_cast<double>(sample.rows) * sample.distinct);
  };
  // Two exports are sampled at once, the previous one on a thread of its own: the other core
  // has nothing to do yet.
  std::future<ExportSample> old_sample;
  if (request.previous.kind == PreviousExport::Kind::kExport) {
    old_sample = std::async(std::launch::async, [&request] {
      return SampleExport(request.previous.file.get(), request.options);
    });
  }
  ExportSample sample = SampleExport(request.new_export.get(), request.options);
  uint64_t old_keys = 0;
  if (request.previous.kind == PreviousExport::Kind::kState) {
    old_keys = state_rows;
  } else if (request.previous.kind == PreviousExport::Kind::kExport) {
    old_keys = keys_of(old_sample.get());
    demand.open_exports = 2;
  }
  demand.keys = std::max(old_keys, keys_of(sample)) / 10 * 11;  // and some inserts
  demand.keys /= std::max<uint32_t>(request.part.count, 1);     // a part holds its share
  demand.bytes_per_key = sample.key_bytes + (old_keys > 0 ? sample.key_bytes : 0) +
                         8.0 * static_cast<double>(old_hashes) + (old_rows ? sample.row_bytes : 0) +
                         (new_rows ? sample.row_bytes : 0);
  return demand;
}

MemoryPlan PlanMemory(const MemoryDemand& demand) {
  MemoryPlan plan;
  if (demand.limit == 0) {
    plan.table_bytes = UINT64_MAX;
    plan.spill_buffer_bytes = kMaxSpillBufferBytes;
    return plan;
  }
  const uint64_t fixed = kReaderBytes * demand.open_exports + kIoBytes;
  const uint64_t budget = demand.limit > fixed ? demand.limit - fixed : 0;
  plan.table_bytes = std::max(kMinTableBytes, budget);
  auto bytes_of = [&](uint64_t keys) {  // the entries' last doubling held both arrays
    return TableEntryBytes(keys) / 2 * 3 +
           static_cast<uint64_t>(static_cast<double>(keys) * demand.bytes_per_key);
  };
  while (plan.partitions < kMaxPartitions && bytes_of(demand.keys / plan.partitions) > budget) {
    plan.partitions *= 2;
  }
  // One writer per side is open at a time, with a file per partition.
  plan.spill_buffer_bytes = static_cast<size_t>(
      std::min<uint64_t>(kMaxSpillBufferBytes, plan.table_bytes / plan.partitions));
  return plan;
}

int SplitBits(double remaining, uint64_t table_bytes, uint64_t budget) {
  double parts = 2 * std::max(1.0, remaining) * static_cast<double>(table_bytes) /
                 static_cast<double>(std::max<uint64_t>(1, budget));
  return std::clamp(static_cast<int>(std::ceil(std::log2(parts))), 1, 8);
}

}  // namespace snapdelta
