// Spilling: an export's rows, reduced and partitioned by key digest, written to temporary files
// so that a table larger than the memory budget is diffed one partition at a time.
//
// Partition of a key: (digest.low * partitions) >> 64, so partitions are contiguous ranges of
// digest order (a state file's order). A partition is split further the same way on the bits
// that follow (skip_bits: the bits that already chose the partition). One file per partition,
// rows in export order:
//   spill file := (varint(record length) record)*
//   record     := varint(row number) varint(line) fixed64(digest.low) fixed64(digest.high)
//                 fixed64(fp.low) fixed64(fp.high) varint(len) key varint(len) row
//   row        := as in a state file (state_file.h)
// Files are private to one import, live in a fresh folder under the spill root, and are removed
// when the writer and readers are gone (SpillDir). Folders left by a process that was killed
// are removed by the next SpillDir::Create under the same root.
//
// Memory: a writer holds one buffer per partition file (buffer_bytes each, chosen by the caller
// to fit its budget); a large row is written straight from its values, never copied whole. A
// reader holds its buffer and the current record (a large record's memory is given back once
// the reader moves past it).
#ifndef SNAPDELTA_DIFF_SPILL_H_
#define SNAPDELTA_DIFF_SPILL_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "diff/row_source.h"
#include "diff/schema.h"
#include "snapdelta/options.h"

namespace snapdelta {

// REQUIRES: skip_bits < 64.
inline size_t PartitionOf(const KeyDigest& digest, size_t partitions, int skip_bits = 0) {
  return static_cast<size_t>(
      (static_cast<unsigned __int128>(digest.low << skip_bits) * partitions) >> 64);
}

// Removes this process's spill folders under `root` (TempRoot() when empty), for a process
// stopped by a signal: its destructors will not run.
void RemoveOwnSpillDirs(const std::string& root);

// A fresh temporary folder, removed with its files by the destructor.
class SpillDir {
 public:
  SpillDir() = default;
  ~SpillDir();
  SpillDir(const SpillDir&) = delete;
  SpillDir& operator=(const SpillDir&) = delete;

  // Creates <root>/snapdelta-spill-<pid>-XXXXXX, first removing the folders of processes that
  // no longer exist.
  Status Create(const std::string& root);
  bool created() const { return !path_.empty(); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

  // The write buffer of each file a SpillWriter opens here: the caller's memory budget divided
  // among its files. Default: SpillWriter::kDefaultBufferBytes.
  void set_write_buffer_bytes(size_t bytes) { write_buffer_bytes_ = bytes; }
  size_t write_buffer_bytes() const { return write_buffer_bytes_; }

 private:
  std::string path_;
  size_t write_buffer_bytes_ = 256 << 10;
};

// Writes records into one file per partition.
class SpillWriter {
 public:
  SpillWriter() = default;
  ~SpillWriter();
  SpillWriter(const SpillWriter&) = delete;
  SpillWriter& operator=(const SpillWriter&) = delete;

  // Below this, writes get slow (one write(2) per few rows).
  static constexpr size_t kMinBufferBytes = 16 << 10;

  // Opens `partitions` files named <prefix><partition> in `dir`, each with a write buffer of
  // dir.write_buffer_bytes() (at least kMinBufferBytes). Keys go to PartitionOf(digest,
  // partitions, skip_bits).
  Status Open(const SpillDir& dir, const std::string& prefix, size_t partitions, int skip_bits = 0);
  // Appends the current row of `rows` to its partition's file.
  Status Add(const RowSource& rows);
  // Appends a record of another format (table_spill.h) to the partition of `digest`.
  Status AddRecord(const KeyDigest& digest, std::string_view record);
  // Flushes and closes every file.
  Status Close();

  std::string PathOf(size_t partition) const { return paths_[partition]; }
  uint64_t rows_written(size_t partition) const { return counts_[partition]; }
  // The bytes of the keys of those rows (what a KeyTable's arena takes for them).
  uint64_t key_bytes_written(size_t partition) const { return key_bytes_[partition]; }

 private:
  Status Write(size_t partition, std::string_view bytes);

  std::vector<std::FILE*> files_;
  std::vector<std::string> paths_;
  std::vector<uint64_t> counts_;
  std::vector<uint64_t> key_bytes_;
  int skip_bits_ = 0;
  std::string record_;
  std::string row_;
};

// Reads the records of one spill file, in order.
class SpillRecordReader {
 public:
  explicit SpillRecordReader(std::string path) : path_(std::move(path)) {}
  ~SpillRecordReader();
  SpillRecordReader(const SpillRecordReader&) = delete;
  SpillRecordReader& operator=(const SpillRecordReader&) = delete;

  Status Open();
  // The next record; *has_record is false at the end. The view stays valid until the next call.
  Status Next(bool* has_record, std::string_view* record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::string record_;
};

// Reads one partition's file back as a RowSource. Value hashes are recomputed from the values
// for the compared columns of `schema`; messages name the original export (`export_path`).
class SpillReader : public RowSource {
 public:
  SpillReader(std::string path, std::string export_path, const ExportSchema* schema);

  Status Open();
  Status Next(bool* has_row) override;

  Status RowError(std::string_view what, int column_idx = -1) const override;

 private:
  SpillRecordReader file_;
  std::string export_path_;
  const ExportSchema* schema_;
  std::vector<std::string_view> texts_;
  std::vector<bool> nulls_;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_SPILL_H_
