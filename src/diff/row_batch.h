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

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
  ~BatchProducer();
  BatchProducer(const BatchProducer&) = delete;
  BatchProducer& operator=(const BatchProducer&) = delete;

  // The next batch, in order; blocks until it is read. The batch returned by the previous call
  // is recycled. After a batch with `end` or a non-OK `error`, there are no more.
  const RowBatch* Next();

 private:
  void Produce();
  void Fill(RowBatch* batch);
  Status AddRow(RowBatch* batch);

  CsvReader* reader_;
  const ExportSchema* schema_;
  const TableOptions* options_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<RowBatch>> free_;   // guarded by mutex_
  std::deque<std::unique_ptr<RowBatch>> ready_;  // guarded by mutex_
  bool stop_ = false;                            // guarded by mutex_
  std::unique_ptr<RowBatch> current_;            // consumer side
  std::thread thread_;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_ROW_BATCH_H_
