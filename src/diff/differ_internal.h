// Shared between differ.cc and previous_side.cc: the differ's working state. Not a public API.
#ifndef SNAPDELTA_DIFF_DIFFER_INTERNAL_H_
#define SNAPDELTA_DIFF_DIFFER_INTERNAL_H_

#include <memory>
#include <string>
#include <vector>

#include "base/producer_thread.h"
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

// A batch of a state's records, read ahead of the loader (PreviousLoader).
struct StateBatch {
  struct Record {
    size_t key_begin = 0;  // in bytes
    size_t key_size = 0;
    size_t row_begin = 0;  // in bytes
    size_t row_size = 0;
    KeyDigest digest;  // KeyPart::Local'd
    Fingerprint fp;
  };
  std::string bytes;             // the records' keys and rows
  std::vector<Record> records;   // of the request's part only
  std::vector<uint64_t> hashes;  // records.size() * compared, when the old side has hashes
  bool end = false;              // after the records: the state ended (or failed: error)
  Status error;
};

// Loads the previous side (a state file or an export) into a KeyTable's old side, all at once
// or one partition at a time (spill.h). An export loaded in partitions is first spilled. A
// state's records are read, checked, digested (and hashed, with before-images) in batches on a
// thread of their own, ahead of the inserts into the table: at 10M rows the load took 0.8 to
// 1.2 s of the main thread alone.
class PreviousLoader {
 public:
  // `new_export_bytes`: the size of the new export (0: unknown), to size a state's table by.
  PreviousLoader(const DiffRequest& request, const ExportSchema& new_schema,
                 uint64_t new_export_bytes);
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
  // Fills `batch` with the next records of the state (on the reading thread); true when the
  // state ended or failed.
  bool FillStateBatch(StateBatch* batch);
  // Fills row_hashes_ with the value hashes of the compared columns of an encoded state row
  // (for `changed` lists).
  void HashesFromRow(std::string_view row, size_t column_count);

  const DiffRequest& request_;
  const ExportSchema& new_schema_;
  const uint64_t new_export_bytes_;
  PreviousSide* previous_ = nullptr;
  uint64_t estimated_rows_ = 0;
  uint64_t reserved_keys_ = 0;  // a state's: keys its table is reserved for (KeysToReserve)
  std::unique_ptr<StateReader> state_;
  std::unique_ptr<ExportReader> export_;
  StoredFile* export_file_ = nullptr;  // the old export, when read
  std::unique_ptr<SpillWriter> spilled_;
  // The state's batch being loaded and the next record in it: a record of a later partition
  // stays there for that partition's load.
  const StateBatch* state_batch_ = nullptr;
  size_t state_batch_pos_ = 0;
  // Where the state's compared columns sit in its rows (kNoPosition: absent), and buffers for
  // HashesFromRow (used by the reading thread only).
  std::vector<size_t> compared_pos_;
  std::vector<std::string_view> row_values_;
  std::vector<bool> row_nulls_;
  std::vector<uint64_t> row_hashes_;
  // Last: its thread, which reads state_, stops before the members it uses go.
  std::unique_ptr<ProducerThread<StateBatch>> state_reader_;
};

// Rows of an export estimated from its file size (an overestimate for typical files).
uint64_t EstimateRows(StoredFile* file);
// Keys a table diffing a new export of `new_bytes` against a state of `state_rows` keys is
// reserved for: the state's and the new export's inserts, estimated by the growth of the
// export's size over `previous_bytes` (the size of the export the state was built from). A size
// of 0 is unknown.
uint64_t KeysToReserve(uint64_t state_rows, uint64_t previous_bytes, uint64_t new_bytes);

// "(id=5, region=eu)" for messages.
std::string DescribeKey(const std::vector<std::string>& names, std::string_view encoded_key);

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_DIFFER_INTERNAL_H_
