#include "diff/export_reader.h"

#include <algorithm>

#include "diff/state_file.h"

namespace snapdelta {

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
  RETURN_IF_ERROR(reader_->Next(has_row));
  if (!*has_row) return Status::OK();
  const std::optional<std::string>& marker = options_.null_marker;
  for (size_t column_idx = 0; column_idx < values_.size(); ++column_idx) {
    std::string_view value = reader_->field(column_idx);
    bool is_null = marker && !reader_->field_quoted(column_idx) && value == *marker;
    values_[column_idx] = FieldValue{value, is_null};
  }
  key_.clear();
  for (size_t part = 0; part < schema_.key_idx.size(); ++part) {
    const FieldValue& value = values_[schema_.key_idx[part]];
    if (value.is_null || value.value.empty()) {
      return RowError(value.is_null ? "null key value" : "empty key value",
                      static_cast<int>(schema_.key_idx[part]));
    }
    key_values_[part] = value;
    AppendKeyPart(&key_, value.value);
  }
  key_digest_ = DigestKey(key_);
  for (size_t i = 0; i < schema_.compared_idx.size(); ++i) {
    const FieldValue& value = values_[schema_.compared_idx[i]];
    value_hashes_[i] = value.is_null || value.value.empty() ? kAbsent : ValueHash(value.value);
  }
  fingerprint_ = CombineFingerprint(schema_.compared_name_hash, value_hashes_);
  return Status::OK();
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
