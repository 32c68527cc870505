#include "diff/spill.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/fs.h"
#include "diff/coding.h"
#include "diff/state_file.h"

namespace snapdelta {
namespace {

// Read buffer of a partition file.
constexpr size_t kSpillBufferBytes = 256 << 10;
// A row whose encoding is at least this long is written value by value rather than encoded
// into one buffer first; a record buffer that grew past it is given back after use.
constexpr size_t kLargeRowBytes = 256 << 10;
// Spill folders are named <prefix><pid>-<random>, so abandoned ones can be told by their pid.
constexpr char kSpillPrefix[] = "snapdelta-spill-";

// The length of `value` in an encoded row (state_file.h).
size_t EncodedValueSize(const FieldValue& value) {
  if (value.is_null) return 1;
  size_t size = value.value.size() + 1;
  size_t varint = 1;
  for (uint64_t rest = size; rest >= 0x80; rest >>= 7) ++varint;
  return varint + value.value.size();
}

}  // namespace

SpillDir::~SpillDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

// Removes <root>/snapdelta-spill-<pid>-* folders whose process is gone (killed mid-import).
void RemoveAbandonedSpillDirs(const std::string& root) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(root, error)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(kSpillPrefix, 0) != 0) continue;
    long pid = std::strtol(name.c_str() + std::strlen(kSpillPrefix), nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code ignored;
    std::filesystem::remove_all(entry.path(), ignored);
  }
}

void RemoveOwnSpillDirs(const std::string& root) {
  const std::string own = kSpillPrefix + std::to_string(::getpid()) + "-";
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator(root.empty() ? TempRoot() : root, error)) {
    if (entry.path().filename().string().rfind(own, 0) != 0) continue;
    // The process's other threads may still be creating partition files in it. Renamed first,
    // the folder takes no new file under its old path (those threads fail instead), so removing
    // it converges even while a spill of many GB is being written; an earlier attempt that kept
    // removing in place could give up and leave it all behind.
    std::filesystem::path doomed = entry.path();
    std::error_code renamed;
    std::filesystem::rename(entry.path(), entry.path().string() + ".removing", renamed);
    if (!renamed) doomed = entry.path().string() + ".removing";
    constexpr int kAttempts = 20;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      std::error_code ignored;
      std::filesystem::remove_all(doomed, ignored);
      if (!std::filesystem::exists(doomed, ignored)) break;
    }
  }
}

Status SpillDir::Create(const std::string& root) {
  RemoveAbandonedSpillDirs(root);
  std::string pattern = root + "/" + kSpillPrefix + std::to_string(::getpid()) + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return ErrnoError("create a spill folder in " + root + " (set --spill-dir)", errno);
  }
  path_ = pattern;
  return Status::OK();
}

SpillWriter::~SpillWriter() {
  for (std::FILE* file : files_) {
    if (file != nullptr) std::fclose(file);
  }
}

Status SpillWriter::Open(const SpillDir& dir, const std::string& prefix, size_t partitions,
                         int skip_bits) {
  skip_bits_ = skip_bits;
  const size_t buffer_bytes = std::max(dir.write_buffer_bytes(), kMinBufferBytes);
  for (size_t partition = 0; partition < partitions; ++partition) {
    paths_.push_back(dir.File(prefix + std::to_string(partition)));
    std::FILE* file = std::fopen(paths_.back().c_str(), "wb");
    if (file == nullptr) return ErrnoError("create spill file " + paths_.back(), errno);
    std::setvbuf(file, nullptr, _IOFBF, buffer_bytes);
    files_.push_back(file);
    counts_.push_back(0);
    key_bytes_.push_back(0);
  }
  return Status::OK();
}

Status SpillWriter::Add(const RowSource& rows) {
  size_t row_size = 0;
  for (const FieldValue& value : rows.values()) row_size += EncodedValueSize(value);
  const bool large = row_size >= kLargeRowBytes;
  record_.clear();
  PutVarint64(&record_, rows.rows_read());
  PutVarint64(&record_, rows.line());
  PutFixed64(&record_, rows.key_digest().low);
  PutFixed64(&record_, rows.key_digest().high);
  PutFixed64(&record_, rows.fingerprint().low);
  PutFixed64(&record_, rows.fingerprint().high);
  PutLengthPrefixed(&record_, rows.key());
  PutVarint64(&record_, row_size);
  if (!large) {
    rows.EncodeRow(&row_);
    record_.append(row_);
  }
  std::string length;
  PutVarint64(&length, record_.size() + (large ? row_size : 0));
  size_t partition = PartitionOf(rows.key_digest(), files_.size(), skip_bits_);
  RETURN_IF_ERROR(Write(partition, length));
  RETURN_IF_ERROR(Write(partition, record_));
  for (const FieldValue& value : large ? rows.values() : std::span<const FieldValue>()) {
    std::string prefix;
    PutVarint64(&prefix, value.is_null ? 0 : value.value.size() + 1);
    RETURN_IF_ERROR(Write(partition, prefix));
    if (!value.is_null) RETURN_IF_ERROR(Write(partition, value.value));
  }
  ++counts_[partition];
  key_bytes_[partition] += rows.key().size();
  return Status::OK();
}

Status SpillWriter::AddRecord(const KeyDigest& digest, std::string_view record) {
  std::string length;
  PutVarint64(&length, record.size());
  size_t partition = PartitionOf(digest, files_.size(), skip_bits_);
  RETURN_IF_ERROR(Write(partition, length));
  RETURN_IF_ERROR(Write(partition, record));
  ++counts_[partition];
  return Status::OK();
}

Status SpillWriter::Write(size_t partition, std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), files_[partition]) != bytes.size()) {
    return ErrnoError("write spill file " + paths_[partition], errno);
  }
  return Status::OK();
}

Status SpillWriter::Close() {
  Status status;
  for (size_t partition = 0; partition < files_.size(); ++partition) {
    if (std::fclose(files_[partition]) != 0 && status.ok()) {
      status = ErrnoError("write spill file " + paths_[partition], errno);
    }
    files_[partition] = nullptr;
  }
  return status;
}

SpillRecordReader::~SpillRecordReader() {
  if (file_ != nullptr) std::fclose(file_);
}

Status SpillRecordReader::Open() {
  file_ = std::fopen(path_.c_str(), "rb");
  if (file_ == nullptr) return ErrnoError("open spill file " + path_, errno);
  std::setvbuf(file_, nullptr, _IOFBF, kSpillBufferBytes);
  return Status::OK();
}

Status SpillRecordReader::Next(bool* has_record, std::string_view* record) {
  uint64_t length = 0;
  for (int shift = 0;; shift += 7) {
    int byte = std::fgetc(file_);
    if (byte == EOF) {
      if (shift == 0 && std::feof(file_)) {
        *has_record = false;
        return Status::OK();
      }
      return CorruptionError(path_ + ": truncated spill file");
    }
    length |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
    if (shift > 56) return CorruptionError(path_ + ": bad spill record");
  }
  if (length < kLargeRowBytes && record_.capacity() > kLargeRowBytes) std::string().swap(record_);
  record_.resize(length);
  if (std::fread(record_.data(), 1, length, file_) != length) {
    return CorruptionError(path_ + ": truncated spill file");
  }
  *record = record_;
  *has_record = true;
  return Status::OK();
}

SpillReader::SpillReader(std::string path, std::string export_path, const ExportSchema* schema)
    : file_(std::move(path)), export_path_(std::move(export_path)), schema_(schema) {}

Status SpillReader::Open() {
  RETURN_IF_ERROR(file_.Open());
  values_.resize(schema_->columns.size());
  key_values_.resize(schema_->key_idx.size());
  value_hashes_.resize(schema_->compared_idx.size());
  return Status::OK();
}

Status SpillReader::Next(bool* has_row) {
  std::string_view in;
  RETURN_IF_ERROR(file_.Next(has_row, &in));
  if (!*has_row) return Status::OK();
  std::string_view row;
  if (!GetVarint64(&in, &row_number_) || !GetVarint64(&in, &line_) ||
      !GetFixed64(&in, &key_digest_.low) || !GetFixed64(&in, &key_digest_.high) ||
      !GetFixed64(&in, &fingerprint_.low) || !GetFixed64(&in, &fingerprint_.high) ||
      !GetLengthPrefixed(&in, &key_) || !GetLengthPrefixed(&in, &row) ||
      !DecodeRow(row, values_.size(), &texts_, &nulls_)) {
    return CorruptionError(file_.path() + ": bad spill record");
  }
  for (size_t column_idx = 0; column_idx < values_.size(); ++column_idx) {
    values_[column_idx] = FieldValue{texts_[column_idx], static_cast<bool>(nulls_[column_idx])};
  }
  for (size_t part = 0; part < key_values_.size(); ++part) {
    key_values_[part] = values_[schema_->key_idx[part]];
  }
  for (size_t i = 0; i < value_hashes_.size(); ++i) {
    const FieldValue& value = values_[schema_->compared_idx[i]];
    value_hashes_[i] = value.is_null || value.value.empty() ? kAbsent : ValueHash(value.value);
  }
  return Status::OK();
}

Status SpillReader::RowError(std::string_view what, int column_idx) const {
  return LocatedRowError(export_path_, line_, schema_->columns, column_idx, what);
}

}  // namespace snapdelta
