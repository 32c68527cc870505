#include "diff/export_reader.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <string_view>

#include "diff/state_file.h"
#include "io/read_ahead.h"

namespace snapdelta {
namespace {

// A row's hash-table slot is prefetched this many rows before the row is returned: enough for
// the cache line to arrive, few enough not to evict it again.
constexpr size_t kPrefetchAhead = 16;
// Bytes read per call by FileChecksum and while draining a hashed file.
constexpr size_t kChecksumChunk = 1 << 20;
// A hashed export is decompressed ahead of the parser as OpenExport does (io/decompress.cc):
// 4 chunks of 1 MiB keep both cores busy while bounding the memory spent on it.
constexpr size_t kReadAheadChunkBytes = 1 << 20;
constexpr size_t kReadAheadChunks = 4;

std::string HexChecksum(const XXH128_hash_t& hash) {
  return fmt::format("{:016x}{:016x}", hash.high64, hash.low64);
}

}  // namespace

// The file's bytes passed through unchanged and hashed (XXH3-128) on the way. It is read by the
// thread that runs the decompressor; Finish() is called once that has seen the end of the
// stream (the hand-over of the last batch orders it after every Read).
class HashingSource final : public ByteSource {
 public:
  explicit HashingSource(std::unique_ptr<ByteSource> raw)
      : raw_(std::move(raw)), state_(XXH3_createState()) {
    XXH3_128bits_reset(state_);
  }
  ~HashingSource() override { XXH3_freeState(state_); }

  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    ASSIGN_OR_RETURN(size_t n, raw_->Read(buf, capacity));
    XXH3_128bits_update(state_, buf, n);
    return n;
  }
  const std::string& name() const override { return raw_->name(); }
  uint64_t raw_bytes_consumed() const override { return raw_->raw_bytes_consumed(); }

  // Hashes whatever the decompressor left unread (nothing, normally), then returns the hex
  // checksum of all the file's bytes.
  StatusOr<std::string> Finish() {
    std::string buf(kChecksumChunk, '\0');
    for (;;) {
      ASSIGN_OR_RETURN(size_t n, Read(buf.data(), buf.size()));
      if (n == 0) break;
    }
    return HexChecksum(XXH3_128bits_digest(state_));
  }

 private:
  std::unique_ptr<ByteSource> raw_;
  XXH3_state_t* state_;
};

namespace {

// OpenExport with a HashingSource between the file and the decompressor.
StatusOr<std::unique_ptr<ByteSource>> OpenHashedExport(const std::string& path,
                                                       HashingSource** hashing) {
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> raw, OpenFileSource(path));
  auto hashed = std::make_unique<HashingSource>(std::move(raw));
  *hashing = hashed.get();
  Compression compression = Compression::kNone;
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> source,
                   OpenDecompressed(std::move(hashed), &compression));
  if (compression == Compression::kNone) return source;
  return NewReadAheadSource(std::move(source), kReadAheadChunkBytes, kReadAheadChunks);
}

}  // namespace

Status ExportReader::Open(const std::string& path, const TableOptions& options,
                          const std::string& expected_checksum) {
  path_ = path;
  options_ = options;
  expected_checksum_ = expected_checksum;
  std::unique_ptr<ByteSource> source;
  if (expected_checksum.empty()) {
    ASSIGN_OR_RETURN(source, OpenExport(path));
  } else {
    ASSIGN_OR_RETURN(source, OpenHashedExport(path, &hashing_));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) file_size_ = static_cast<uint64_t>(st.st_size);
  CsvOptions csv_options;
  csv_options.delimiter = options.delimiter;
  reader_ = std::make_unique<CsvReader>(std::move(source), csv_options);
  RETURN_IF_ERROR(reader_->ReadHeader());
  ASSIGN_OR_RETURN(schema_, ResolveSchema(reader_->header(), options, path));
  value_hashes_.resize(schema_.compared_idx.size());
  values_.resize(schema_.columns.size());
  key_values_.resize(schema_.key_idx.size());
  return Status::OK();
}

void ExportReader::RestrictComparison(const std::vector<std::string>& allowed) {
  std::vector<size_t> allowed_positions = PositionsIn(schema_.compared_names, allowed);
  size_t kept = 0;  // compacts the compared columns in place, keeping their order
  for (size_t i = 0; i < schema_.compared_names.size(); ++i) {
    if (allowed_positions[i] == kNoPosition) continue;
    if (kept != i) {
      schema_.compared_names[kept] = std::move(schema_.compared_names[i]);
      schema_.compared_idx[kept] = schema_.compared_idx[i];
      schema_.compared_name_hash[kept] = schema_.compared_name_hash[i];
    }
    ++kept;
  }
  schema_.compared_names.resize(kept);
  schema_.compared_idx.resize(kept);
  schema_.compared_name_hash.resize(kept);
  value_hashes_.resize(kept);
}

Status ExportReader::Next(bool* has_row) {
  if (producer_ == nullptr)
    producer_ = std::make_unique<BatchProducer>(reader_.get(), &schema_, &options_);
  while (batch_ == nullptr || batch_pos_ == batch_->rows) {
    if (batch_ != nullptr) {
      RETURN_IF_ERROR(batch_->error);
      if (batch_->end) {
        RETURN_IF_ERROR(CheckChecksum());
        *has_row = false;
        return Status::OK();
      }
    }
    batch_ = producer_->Next();
    batch_pos_ = 0;
    raw_bytes_ = batch_->raw_bytes;
    for (size_t row_idx = 0; row_idx < kPrefetchAhead && row_idx < batch_->rows; ++row_idx) {
      PrefetchRow(row_idx);
    }
  }
  PrefetchRow(batch_pos_ + kPrefetchAhead);
  SelectRow(batch_pos_++);
  *has_row = true;
  return Status::OK();
}

void ExportReader::PrefetchRow(size_t row_idx) const {
  if (prefetch_ != nullptr && row_idx < batch_->rows) prefetch_->Prefetch(batch_->digests[row_idx]);
}

void ExportReader::SelectRow(size_t row_idx) {
  const RowBatch& batch = *batch_;
  size_t columns = schema_.columns.size();
  for (size_t column_idx = 0; column_idx < columns; ++column_idx) {
    size_t field = row_idx * columns + column_idx;
    values_[column_idx] = FieldValue{
        std::string_view(batch.text.data() + batch.field_begin[field], batch.field_size[field]),
        static_cast<bool>(batch.field_null[field])};
  }
  for (size_t part = 0; part < schema_.key_idx.size(); ++part) {
    key_values_[part] = values_[schema_.key_idx[part]];
  }
  key_ = std::string_view(batch.keys.data() + batch.key_begin[row_idx],
                          batch.key_begin[row_idx + 1] - batch.key_begin[row_idx]);
  key_digest_ = batch.digests[row_idx];
  size_t compared = schema_.compared_idx.size();
  std::copy_n(batch.hashes.begin() + static_cast<ptrdiff_t>(row_idx * compared), compared,
              value_hashes_.begin());
  fingerprint_ = batch.fingerprints[row_idx];
  line_ = batch.lines[row_idx];
  row_number_ = batch.row_numbers[row_idx];
}

Status ExportReader::CheckChecksum() {
  if (hashing_ == nullptr || checksum_checked_) return Status::OK();
  ASSIGN_OR_RETURN(std::string actual, hashing_->Finish());
  if (actual != expected_checksum_) {
    return UnavailableError(path_ + ": changed while it was read (checksum " + actual +
                            ", expected " + expected_checksum_ +
                            "); nothing was published, run again");
  }
  checksum_checked_ = true;
  return Status::OK();
}

uint64_t ExportReader::EstimateTotalRows() const {
  if (raw_bytes_ == 0 || row_number_ == 0) return 0;
  return static_cast<uint64_t>(static_cast<double>(row_number_) * static_cast<double>(file_size_) /
                               static_cast<double>(raw_bytes_));
}

Status ExportReader::RowError(std::string_view what, int column_idx) const {
  return LocatedRowError(path_, line_, schema_.columns, column_idx, what);
}

StatusOr<std::string> FileChecksum(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> file, OpenFileSource(path));
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  std::string buf(kChecksumChunk, '\0');
  Status status;
  for (;;) {
    StatusOr<size_t> n = file->Read(buf.data(), buf.size());
    if (!n.ok()) status = n.status();
    if (!n.ok() || *n == 0) break;
    XXH3_128bits_update(state, buf.data(), *n);
  }
  XXH128_hash_t hash = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  RETURN_IF_ERROR(status);
  return HexChecksum(hash);
}

uint64_t FindFirstLineOfKey(const std::string& path, const TableOptions& options,
                            std::string_view key) {
  ExportReader reader;
  if (!reader.Open(path, options).ok()) return 0;
  bool has_row = true;
  while (reader.Next(&has_row).ok() && has_row) {
    if (reader.key() == key) return reader.line();
  }
  return 0;
}

}  // namespace snapdelta
