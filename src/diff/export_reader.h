// ExportReader: one export file read as rows reduced for the differ: the encoded key and its
// hash, the value hashes of the compared columns, the fingerprint, and the row's values.
//
// Opens plain, gzip or zstd files (detected from content), reads the header, resolves it
// against the table options (ExportSchema) and checks every key value (an empty or null key
// is a located error). Views returned stay valid until the next call to Next().
//
// Rows are read, copied and hashed in batches on a background thread (row_batch.h), ahead of
// the caller; the prefetch hook sees each row's key digest some rows before Next() returns it,
// so the caller's hash-table slot can be on its way to the cache by then.
// Thread safety: one thread.
#ifndef SNAPDELTA_DIFF_EXPORT_READER_H_
#define SNAPDELTA_DIFF_EXPORT_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "csv/csv_reader.h"
#include "diff/fingerprint.h"
#include "diff/key_table.h"
#include "diff/row_batch.h"
#include "diff/row_source.h"
#include "diff/schema.h"
#include "snapdelta/change.h"
#include "snapdelta/options.h"
#include "snapdelta/status.h"
#include "snapdelta/storage.h"

namespace snapdelta {

class ExportReader : public RowSource {
 public:
  // Reads `file`, which must outlive the reader. When `expected_checksum` (the file's content
  // id, as the registry records it) is not empty, content that is no longer that one is
  // kUnavailable by the end of the rows at the latest (StoredFile::Open): the file changed
  // while it was read (a later run sees the change before reading).
  Status Open(StoredFile* file, const TableOptions& options,
              const std::string& expected_checksum = {});

  // Limits the comparison to the compared columns also named in `allowed` (used on the old
  // side of a two-file diff when the new export lost columns). Call before the first Next().
  // Linear in the number of columns.
  void RestrictComparison(const std::vector<std::string>& allowed);

  const ExportSchema& schema() const { return schema_; }

  // Returns only the rows whose key is in `part` (every row's key is still checked). Call
  // before the first Next().
  void SetPart(KeyPart part) { part_ = part; }

  // Each row's slot in `table` is loaded into the cache a few rows before Next() returns the
  // row (base/touch.h: a group of rows at a time). `table` must outlive the reader's use.
  void SetPrefetch(const KeyTable* table) { prefetch_ = table; }
  const std::string& path() const { return path_; }
  // The export file's size in bytes, read once by Open (0 when it could not be read).
  uint64_t file_size() const { return file_size_; }

  // Reads the next row; *has_row is false at the end.
  Status Next(bool* has_row) override;

  uint64_t raw_bytes_consumed() const { return raw_bytes_; }
  // The export's row count extrapolated from the rows read so far and the share of the file
  // they took (0 before any row). Good to a few percent once some 10^4 rows are read.
  uint64_t EstimateTotalRows() const;
  // A located error for the current row ("<file>:<line>[:<column> (<name>)]: <what>").
  Status RowError(std::string_view what, int column_idx = -1) const override;

 private:
  // Makes row `row_idx` of the current batch the current row.
  void SelectRow(size_t row_idx);
  void FillValues() const override;

  std::string path_;
  TableOptions options_;
  KeyPart part_;
  const KeyTable* prefetch_ = nullptr;
  std::unique_ptr<CsvReader> reader_;
  ExportSchema schema_;
  std::unique_ptr<BatchProducer> producer_;  // started by the first Next()
  const RowBatch* batch_ = nullptr;
  size_t batch_pos_ = 0;
  size_t row_idx_ = 0;  // the current row's in batch_
  uint64_t raw_bytes_ = 0;
  uint64_t file_size_ = 0;
};

// Finds the 1-based line of the first row of `file` whose encoded key is `key`, for duplicate
// key messages. Returns 0 when not found or unreadable.
uint64_t FindFirstLineOfKey(StoredFile* file, const TableOptions& options, std::string_view key);

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_EXPORT_READER_H_
