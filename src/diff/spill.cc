#include "diff/spill.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "diff/coding.h"
#include "diff/state_file.h"

namespace snapdelta {
namespace {

// Buffer per partition file: partitions are written in interleaved order, so each needs its
// own; 256 KiB keeps the writes large without much memory for a few hundred partitions.
constexpr size_t kSpillBufferBytes = 256 << 10;
// Spill folders are named <prefix><pid>-<random>, so abandoned ones can be told by their pid.
constexpr char kSpillPrefix[] = "snapdelta-spill-";

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

Status SpillWriter::Open(const SpillDir& dir, const std::string& prefix, size_t partitions) {
  for (size_t partition = 0; partition < partitions; ++partition) {
    paths_.push_back(dir.File(prefix + std::to_string(partition)));
    std::FILE* file = std::fopen(paths_.back().c_str(), "wb");
    if (file == nullptr) return ErrnoError("create spill file " + paths_.back(), errno);
    std::setvbuf(file, nullptr, _IOFBF, kSpillBufferBytes);
    files_.push_back(file);
    counts_.push_back(0);
  }
  return Status::OK();
}

Status SpillWriter::Add(const RowSource& rows) {
  record_.clear();
  PutVarint64(&record_, rows.rows_read());
  PutVarint64(&record_, rows.line());
  PutFixed64(&record_, rows.key_digest().low);
  PutFixed64(&record_, rows.key_digest().high);
  PutFixed64(&record_, rows.fingerprint().low);
  PutFixed64(&record_, rows.fingerprint().high);
  PutLengthPrefixed(&record_, rows.key());
  rows.EncodeRow(&row_);
  PutLengthPrefixed(&record_, row_);
  std::string length;
  PutVarint64(&length, record_.size());
  size_t partition = PartitionOf(rows.key_digest(), files_.size());
  std::FILE* file = files_[partition];
  if (std::fwrite(length.data(), 1, length.size(), file) != length.size() ||
      std::fwrite(record_.data(), 1, record_.size(), file) != record_.size()) {
    return ErrnoError("write spill file " + paths_[partition], errno);
  }
  ++counts_[partition];
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

SpillReader::SpillReader(std::string path, std::string export_path, const ExportSchema* schema)
    : path_(std::move(path)), export_path_(std::move(export_path)), schema_(schema) {}

SpillReader::~SpillReader() {
  if (file_ != nullptr) std::fclose(file_);
}

Status SpillReader::Open() {
  file_ = std::fopen(path_.c_str(), "rb");
  if (file_ == nullptr) return ErrnoError("open spill file " + path_, errno);
  std::setvbuf(file_, nullptr, _IOFBF, kSpillBufferBytes);
  values_.resize(schema_->columns.size());
  key_values_.resize(schema_->key_idx.size());
  value_hashes_.resize(schema_->compared_idx.size());
  return Status::OK();
}

Status SpillReader::ReadRecord(bool* has_row) {
  uint64_t length = 0;
  for (int shift = 0;; shift += 7) {
    int byte = std::fgetc(file_);
    if (byte == EOF) {
      if (shift == 0 && std::feof(file_)) {
        *has_row = false;
        return Status::OK();
      }
      return CorruptionError(path_ + ": truncated spill file");
    }
    length |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
    if (shift > 56) return CorruptionError(path_ + ": bad spill record");
  }
  record_.resize(length);
  if (std::fread(record_.data(), 1, length, file_) != length) {
    return CorruptionError(path_ + ": truncated spill file");
  }
  *has_row = true;
  return Status::OK();
}

Status SpillReader::Next(bool* has_row) {
  RETURN_IF_ERROR(ReadRecord(has_row));
  if (!*has_row) return Status::OK();
  std::string_view in(record_);
  std::string_view row;
  if (!GetVarint64(&in, &row_number_) || !GetVarint64(&in, &line_) ||
      !GetFixed64(&in, &key_digest_.low) || !GetFixed64(&in, &key_digest_.high) ||
      !GetFixed64(&in, &fingerprint_.low) || !GetFixed64(&in, &fingerprint_.high) ||
      !GetLengthPrefixed(&in, &key_) || !GetLengthPrefixed(&in, &row) ||
      !DecodeRow(row, values_.size(), &texts_, &nulls_)) {
    return CorruptionError(path_ + ": bad spill record");
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
