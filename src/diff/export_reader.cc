#include "diff/export_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "base/touch.h"
#include "diff/state_file.h"

namespace snapdelta {

Status ExportReader::Open(StoredFile* file, const TableOptions& options,
                          const std::string& expected_checksum) {
  path_ = file->name();
  options_ = options;
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> raw, file->Open(0, expected_checksum));
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> source, OpenExport(std::move(raw)));
  StatusOr<uint64_t> size = file->Size();
  if (size.ok()) file_size_ = *size;
  CsvOptions csv_options;
  csv_options.delimiter = options.delimiter;
  reader_ = std::make_unique<CsvReader>(std::move(source), csv_options);
  RETURN_IF_ERROR(reader_->ReadHeader());
  ASSIGN_OR_RETURN(schema_, ResolveSchema(reader_->header(), options, path_));
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
    producer_ = std::make_unique<BatchProducer>(reader_.get(), &schema_, &options_, part_);
  while (batch_ == nullptr || batch_pos_ == batch_->rows) {
    if (batch_ != nullptr) {
      RETURN_IF_ERROR(batch_->error);
      if (batch_->end) {
        *has_row = false;
        return Status::OK();
      }
    }
    batch_ = producer_->Next();
    batch_pos_ = 0;
    raw_bytes_ = batch_->raw_bytes;
  }
  if (prefetch_ != nullptr) {
    // Both ends of each entry: one of 40 bytes may straddle two cache lines.
    TouchAhead(batch_pos_, batch_->rows,
               [&](size_t row_idx) { return prefetch_->HomeOf(batch_->digests[row_idx]); });
    TouchAhead(batch_pos_, batch_->rows, [&](size_t row_idx) {
      return &prefetch_->HomeOf(batch_->digests[row_idx])->sides_and_ref;
    });
  }
  SelectRow(batch_pos_++);
  *has_row = true;
  return Status::OK();
}

void ExportReader::SelectRow(size_t row_idx) {
  const RowBatch& batch = *batch_;
  row_idx_ = row_idx;
  values_pending_ = true;
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

void ExportReader::FillValues() const {
  const RowBatch& batch = *batch_;
  const size_t columns = schema_.columns.size();
  auto value = [&](size_t column_idx) {
    const size_t field = row_idx_ * columns + column_idx;
    return FieldValue{
        std::string_view(batch.text.data() + batch.field_begin[field], batch.field_size[field]),
        static_cast<bool>(batch.field_null[field])};
  };
  for (size_t column_idx = 0; column_idx < columns; ++column_idx) {
    values_[column_idx] = value(column_idx);
  }
  for (size_t part = 0; part < schema_.key_idx.size(); ++part) {
    key_values_[part] = value(schema_.key_idx[part]);
  }
  values_pending_ = false;
}

uint64_t ExportReader::EstimateTotalRows() const {
  if (raw_bytes_ == 0 || row_number_ == 0) return 0;
  return static_cast<uint64_t>(static_cast<double>(row_number_) * static_cast<double>(file_size_) /
                               static_cast<double>(raw_bytes_));
}

Status ExportReader::RowError(std::string_view what, int column_idx) const {
  return LocatedRowError(path_, line_, schema_.columns, column_idx, what);
}

uint64_t FindFirstLineOfKey(StoredFile* file, const TableOptions& options, std::string_view key) {
  ExportReader reader;
  if (!reader.Open(file, options).ok()) return 0;
  bool has_row = true;
  while (reader.Next(&has_row).ok() && has_row) {
    if (reader.key() == key) return reader.line();
  }
  return 0;
}

}  // namespace snapdelta
