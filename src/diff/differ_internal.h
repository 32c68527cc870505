// Shared between differ.cc and previous_side.cc: the differ's working state. Not a public API.
#ifndef SNAPDELTA_DIFF_DIFFER_INTERNAL_H_
#define SNAPDELTA_DIFF_DIFFER_INTERNAL_H_

#include <memory>
#include <string>
#include <vector>

#include "diff/differ.h"
#include "diff/export_reader.h"
#include "diff/key_table.h"
#include "diff/spill.h"
#include "diff/state_file.h"

namespace snapdelta {

// What is known about the previous export once it is loaded into the table.
struct PreviousSide {
  std::vector<std::string> columns;   // its header (empty for a first import)
  std::vector<std::string> key;       // its key columns
  std::vector<std::string> compared;  // columns whose value hashes its arena records hold
  bool has_hashes = false;            // arena records hold value hashes (for `changed`)
  bool has_rows = false;              // arena records hold rows (for `before`)
  std::string note;                   // how the comparison fell short, for the import's note
  uint64_t rows = 0;
};

// Loads the previous side (a state file or an export) into a KeyTable's old side, all at once
// or one partition at a time (spill.h). An export loaded in partitions is first spilled.
class PreviousLoader {
 public:
  PreviousLoader(const DiffRequest& request, const ExportSchema& new_schema);
  ~PreviousLoader();

  // Reads the header (state meta or export header), checks it against the new export's schema
  // (key columns, drift policy) and fills `previous` (but for its row count) and `change`.
  Status Open(PreviousSide* previous, SchemaChange* change);
  // Rows of the previous side: exact for a state, estimated from the size for an export.
  uint64_t estimated_rows() const { return estimated_rows_; }
  // Loads the rows of `partition` (of `partitions`) into `table`. REQUIRES: partitions loaded
  // in increasing order, each once; `spill` set when partitions > 1.
  Status LoadPartition(size_t partition, size_t partitions, const SpillDir* spill, KeyTable* table);

 private:
  Status OpenState(SchemaChange* change);
  // Whether request_.previous_export is still the export the state was built from: present
  // and, when `checksum` is not empty, holding exactly those bytes. When not, sets
  // previous_->note to say why the removed columns stay compared.
  StatusOr<bool> PreviousExportUnchanged(const std::string& checksum);
  // Opens an export as the previous side; with `expected_checksum`, its bytes are checked as
  // they are read (ExportReader::Open).
  Status OpenExport(StoredFile* file, const std::string& expected_checksum, SchemaChange* change);
  Status LoadRows(RowSource* rows, size_t partitions, KeyTable* table);
  Status LoadStatePartition(size_t partition, size_t partitions, KeyTable* table);
  // Fills row_hashes_ with the value hashes of the compared columns of an encoded state row
  // (for `changed` lists).
  void HashesFromRow(std::string_view row, size_t column_count);

  const DiffRequest& request_;
  const ExportSchema& new_schema_;
  PreviousSide* previous_ = nullptr;
  uint64_t estimated_rows_ = 0;
  std::unique_ptr<StateReader> state_;
  std::unique_ptr<ExportReader> export_;
  StoredFile* export_file_ = nullptr;  // the old export, when read
  std::unique_ptr<SpillWriter> spilled_;
  // The state record read ahead that belongs to a later partition.
  bool has_pending_ = false;
  std::string pending_key_;
  std::string pending_row_;
  KeyDigest pending_digest_;
  Fingerprint pending_fp_;
  // Where the state's compared columns sit in its rows (kNoPosition: absent), and buffers for
  // HashesFromRow.
  std::vector<size_t> compared_pos_;
  std::vector<std::string_view> row_values_;
  std::vector<bool> row_nulls_;
  std::vector<uint64_t> row_hashes_;
};

// Rows of an export estimated from its file size (an overestimate for typical files).
uint64_t EstimateRows(StoredFile* file);

// "(id=5, region=eu)" for messages.
std::string DescribeKey(const std::vector<std::string>& names, std::string_view encoded_key);

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_DIFFER_INTERNAL_H_
