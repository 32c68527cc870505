// Spilling: an export's rows, reduced and partitioned by key digest, written to temporary files
// so that a table larger than the memory budget is diffed one partition at a time.
//
// Partition of a key: (digest.low * partitions) >> 64, so partitions are contiguous ranges of
// digest order (a state file's order). One file per partition, rows in export order:
//   spill file := record*
//   record     := varint(row number) varint(line) fixed64(digest.low) fixed64(digest.high)
//                 fixed64(fp.low) fixed64(fp.high) varint(len) key varint(len) row
//   row        := as in a state file (state_file.h)
// Files are private to one import, live in a fresh folder under the spill root, and are removed
// when the writer and readers are gone (SpillDir). Folders left by a process that was killed
// are removed by the next SpillDir::Create under the same root.
#ifndef SNAPDELTA_DIFF_SPILL_H_
#define SNAPDELTA_DIFF_SPILL_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "diff/row_source.h"
#include "diff/schema.h"
#include "snapdelta/options.h"

namespace snapdelta {

inline size_t PartitionOf(const KeyDigest& digest, size_t partitions) {
  return static_cast<size_t>((static_cast<unsigned __int128>(digest.low) * partitions) >> 64);
}

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
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes rows into one file per partition.
class SpillWriter {
 public:
  SpillWriter() = default;
  ~SpillWriter();
  SpillWriter(const SpillWriter&) = delete;
  SpillWriter& operator=(const SpillWriter&) = delete;

  // Opens `partitions` files named <prefix><partition> in `dir`.
  Status Open(const SpillDir& dir, const std::string& prefix, size_t partitions);
  // Appends the current row of `rows` to its partition's file.
  Status Add(const RowSource& rows);
  // Flushes and closes every file.
  Status Close();

  std::string PathOf(size_t partition) const { return paths_[partition]; }
  uint64_t rows_written(size_t partition) const { return counts_[partition]; }

 private:
  std::vector<std::FILE*> files_;
  std::vector<std::string> paths_;
  std::vector<uint64_t> counts_;
  std::string record_;
  std::string row_;
};

// Reads one partition's file back as a RowSource. Value hashes are recomputed from the values
// for the compared columns of `schema`; messages name the original export (`export_path`).
class SpillReader : public RowSource {
 public:
  SpillReader(std::string path, std::string export_path, const ExportSchema* schema);
  ~SpillReader() override;

  Status Open();
  Status Next(bool* has_row) override;

  Status RowError(std::string_view what, int column_idx = -1) const override;

 private:
  Status ReadRecord(bool* has_row);

  std::string path_;
  std::string export_path_;
  const ExportSchema* schema_;
  std::FILE* file_ = nullptr;
  std::string record_;
  std::vector<std::string_view> texts_;
  std::vector<bool> nulls_;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_SPILL_H_
