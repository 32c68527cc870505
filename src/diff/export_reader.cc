#include "diff/export_reader.h"

#include <algorithm>

#include "diff/state_file.h"

namespace snapdelta {
namespace {

// Rows read, copied and hashed ahead of the caller: enough for prefetched hash-table slots to
// arrive before they are needed, few enough to stay in L1/L2.
constexpr size_t kBatchRows = 64;

}  // namespace

Status ExportReader::Open(const std::string& path, const TableOptions& options) {
  path_ = path;
  options_ = options;
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> source, OpenExport(path));
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
  ExportSchema restricted = schema_;
  restricted.compared_names.clear();
  restricted.compared_idx.clear();
  restricted.compared_name_hash.clear();
  for (size_t i = 0; i < schema_.compared_names.size(); ++i) {
    if (std::find(allowed.begin(), allowed.end(), schema_.compared_names[i]) == allowed.end()) {
      continue;
    }
    restricted.compared_names.push_back(schema_.compared_names[i]);
    restricted.compared_idx.push_back(schema_.compared_idx[i]);
    restricted.compared_name_hash.push_back(schema_.compared_name_hash[i]);
  }
  schema_ = std::move(restricted);
  value_hashes_.resize(schema_.compared_idx.size());
}

Status ExportReader::Next(bool* has_row) {
  if (batch_pos_ == batch_rows_) {
    RETURN_IF_ERROR(pending_error_);
    RETURN_IF_ERROR(FillBatch());
    if (batch_rows_ == 0) {
      RETURN_IF_ERROR(pending_error_);
      *has_row = false;
      return Status::OK();
    }
  }
  SelectRow(batch_pos_++);
  *has_row = true;
  return Status::OK();
}

Status ExportReader::FillBatch() {
  batch_rows_ = batch_pos_ = 0;
  batch_text_.clear();
  field_begin_.clear();
  field_size_.clear();
  field_null_.clear();
  batch_keys_.clear();
  key_begin_.assign(1, 0);
  batch_hashes_.clear();
  batch_digests_.clear();
  batch_fingerprints_.clear();
  batch_lines_.clear();
  batch_row_numbers_.clear();
  while (batch_rows_ < kBatchRows && !input_done_) {
    bool has_record = false;
    Status status = reader_->Next(&has_record);
    if (status.ok() && !has_record) input_done_ = true;
    if (status.ok() && has_record) status = AddToBatch();
    if (!status.ok()) {
      pending_error_ = status;
      input_done_ = true;
    }
  }
  if (prefetch_) {
    for (const KeyDigest& digest : batch_digests_) prefetch_(digest);
  }
  return Status::OK();
}

Status ExportReader::AddToBatch() {
  const std::optional<std::string>& marker = options_.null_marker;
  size_t columns = schema_.columns.size();
  size_t first_field = field_begin_.size();
  for (size_t column_idx = 0; column_idx < columns; ++column_idx) {
    std::string_view value = reader_->field(column_idx);
    field_begin_.push_back(static_cast<uint32_t>(batch_text_.size()));
    field_size_.push_back(static_cast<uint32_t>(value.size()));
    field_null_.push_back(marker && !reader_->field_quoted(column_idx) && value == *marker);
    batch_text_.append(value);
  }
  for (size_t column_idx : schema_.key_idx) {
    std::string_view value = reader_->field(column_idx);
    if (field_null_[first_field + column_idx] || value.empty()) {
      return reader_->RecordError(
          field_null_[first_field + column_idx] ? "null key value" : "empty key value",
          static_cast<int>(column_idx));
    }
    AppendKeyPart(&batch_keys_, value);
  }
  std::string_view key(batch_keys_.data() + key_begin_.back(),
                       batch_keys_.size() - key_begin_.back());
  key_begin_.push_back(static_cast<uint32_t>(batch_keys_.size()));
  batch_digests_.push_back(DigestKey(key));
  size_t hash_begin = batch_hashes_.size();
  for (size_t column_idx : schema_.compared_idx) {
    std::string_view value = reader_->field(column_idx);
    bool absent = field_null_[first_field + column_idx] || value.empty();
    batch_hashes_.push_back(absent ? kAbsent : ValueHash(value));
  }
  batch_fingerprints_.push_back(CombineFingerprint(
      schema_.compared_name_hash,
      std::span<const uint64_t>(batch_hashes_.data() + hash_begin, schema_.compared_idx.size())));
  batch_lines_.push_back(reader_->record_line());
  batch_row_numbers_.push_back(reader_->record_number());
  ++batch_rows_;
  return Status::OK();
}

void ExportReader::SelectRow(size_t row_idx) {
  size_t columns = schema_.columns.size();
  for (size_t column_idx = 0; column_idx < columns; ++column_idx) {
    size_t field = row_idx * columns + column_idx;
    values_[column_idx] =
        FieldValue{std::string_view(batch_text_.data() + field_begin_[field], field_size_[field]),
                   static_cast<bool>(field_null_[field])};
  }
  for (size_t part = 0; part < schema_.key_idx.size(); ++part) {
    key_values_[part] = values_[schema_.key_idx[part]];
  }
  key_ = std::string_view(batch_keys_.data() + key_begin_[row_idx],
                          key_begin_[row_idx + 1] - key_begin_[row_idx]);
  key_digest_ = batch_digests_[row_idx];
  size_t compared = schema_.compared_idx.size();
  std::copy_n(batch_hashes_.begin() + static_cast<ptrdiff_t>(row_idx * compared), compared,
              value_hashes_.begin());
  fingerprint_ = batch_fingerprints_[row_idx];
  line_ = batch_lines_[row_idx];
  row_number_ = batch_row_numbers_[row_idx];
}

Status ExportReader::RowError(std::string_view what, int column_idx) const {
  std::string message = path_ + ":" + std::to_string(line_);
  if (column_idx >= 0) {
    message += ":" + std::to_string(column_idx + 1) + " (" +
               schema_.columns[static_cast<size_t>(column_idx)] + ")";
  }
  return CorruptionError(message + ": " + std::string(what));
}

void ExportReader::EncodeRow(std::string* out) const {
  out->clear();
  for (const FieldValue& value : values_) AppendRowValue(out, value.value, value.is_null);
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
