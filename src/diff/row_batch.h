// RowBatch and BatchProducer: an export's rows read, copied and hashed in batches on a
// background thread, ahead of the differ, so parsing and diffing use two cores.
//
// A batch owns copies of its rows' bytes: views into it stay valid until the batch is handed
// back. Row i's fields are field_*[i * columns ..], its value hashes hashes[i * compared ..],
// its encoded key keys[key_begin[i] .. key_begin[i + 1]].
//
// Thread safety: BatchProducer::Next is called by one consumer thread; the producer thread is
// internal. The CsvReader, schema and options passed in must outlive the producer, and nobody
// else may use the CsvReader meanwhile.
#ifndef SNAPDELTA_DIFF_ROW_BATCH_H_
#define SNAPDELTA_DIFF_ROW_BATCH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/producer_thread.h"
#include "csv/csv_reader.h"
#include "diff/fingerprint.h"
#include "diff/schema.h"
#include "snapdelta/options.h"

namespace snapdelta {

struct RowBatch {
  std::string text;
  std::vector<uint32_t> field_begin;
  std::vector<uint32_t> field_size;
  std::vector<bool> field_null;
  std::string keys;
  std::vector<uint32_t> key_begin;  // rows + 1 entries
  std::vector<uint64_t> hashes;
  std::vector<KeyDigest> digests;
  std::vector<Fingerprint> fingerprints;
  std::vector<uint64_t> lines;
  std::vector<uint64_t> row_numbers;
  size_t rows = 0;
  // After the rows: the input ended (end) or failed (error, located).
  bool end = false;
  Status error;
  uint64_t raw_bytes = 0;  // the reader's compressed bytes consumed when the batch was full

  void Clear();
};

class BatchProducer {
 public:
  BatchProducer(CsvReader* reader, const ExportSchema* schema, const TableOptions* options);

  // The next batch, in order; blocks until it is read. The batch returned by the previous call
  // is recycled. After a batch with `end` or a non-OK `error`, there are no more.
  const RowBatch* Next() { return producer_.Next(); }

 private:
  // Fills `batch`; true when it is the last (the input ended or failed).
  bool Fill(RowBatch* batch);
  Status AddRow(RowBatch* batch);

  CsvReader* reader_;
  const ExportSchema* schema_;
  const TableOptions* options_;
  ProducerThread<RowBatch> producer_;  // last: its thread stops before the rest goes
};

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_ROW_BATCH_H_
