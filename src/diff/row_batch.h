// RowBatch and BatchProducer: an export's rows read, copied and hashed in batches on a
// background thread, ahead of the differ, so parsing and diffing use two cores. (Hashing the
// values on the differ's thread instead, which idles half of a 1M-row run's scan, made that
// thread the slower one: it read the values from the producer's core.)
//
// A batch owns copies of its rows' bytes (views into it stay valid until the batch is handed
// back), but for a large record (kLendRecordBytes or more): it comes alone in a batch that lends
// the CsvReader's buffer instead of copying it, and the producer reads no further until that
// batch is handed back, so a large field is held once, not twice. Row i's fields are
// field_*[i * columns ..] (at text.data() + field_begin), its value hashes
// hashes[i * compared ..], its encoded key keys[key_begin[i] .. key_begin[i + 1]].
//
// Memory: at most kBatchesInFlight batches of about kBatchTextBytes of text each (a batch ends
// at kBatchRows rows or that many bytes), plus one lent record. Allocation failure while reading
// becomes the batch's error (kResourceExhausted), never an exception on the producer thread.
//
// Thread safety: BatchProducer::Next is called by one consumer thread; the producer thread is
// internal. The CsvReader, schema and options passed in must outlive the producer, and nobody
// else may use the CsvReader meanwhile.
#ifndef SNAPDELTA_DIFF_ROW_BATCH_H_
#define SNAPDELTA_DIFF_ROW_BATCH_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/producer_thread.h"
#include "csv/csv_reader.h"
#include "diff/fingerprint.h"
#include "diff/schema.h"
#include "snapdelta/options.h"

namespace snapdelta {

// The bytes of a batch's fields: its own copy, or a record lent by the CsvReader.
class BatchText {
 public:
  const char* data() const { return lent_ != nullptr ? lent_ : own_.data(); }
  size_t size() const { return own_.size(); }
  void append(std::string_view bytes) { own_.append(bytes); }
  // Field offsets count from `base` (in the reader's buffer) until Clear.
  void Lend(const char* base) { lent_ = base; }
  bool lent() const { return lent_ != nullptr; }
  // Empties the text; a copy grown past `keep_bytes` gives its memory back.
  void Clear(size_t keep_bytes);

 private:
  std::string own_;
  const char* lent_ = nullptr;
};

struct RowBatch {
  BatchText text;
  // The rows' fields (`fields` of them) and value hashes (rows * compared) are in arrays that
  // only grow, written in place: growing them by a few elements per row cost the producer a
  // tenth of its time.
  size_t fields = 0;
  std::vector<uint32_t> field_begin;
  std::vector<uint32_t> field_size;
  std::vector<uint8_t> field_null;  // 1: the value is the null marker
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
  // Only rows whose key is in `part` are kept (the others are read, their keys checked, and
  // dropped).
  BatchProducer(CsvReader* reader, const ExportSchema* schema, const TableOptions* options,
                KeyPart part = {});
  ~BatchProducer();

  // The next batch, in order; blocks until it is read. The batch returned by the previous call
  // is recycled. After a batch with `end` or a non-OK `error`, there are no more.
  const RowBatch* Next();

 private:
  // Fills `batch`; true when it is the last (the input ended or failed).
  bool Fill(RowBatch* batch);
  bool FillRows(RowBatch* batch);
  // Adds the reader's current record unless its key is outside part_ (*added false).
  Status AddRow(RowBatch* batch, bool lend, bool* added);
  // Blocks the producer while a batch lending the reader's record is out; false when stopping.
  bool WaitForLentBatch();

  CsvReader* reader_;
  const ExportSchema* schema_;
  const TableOptions* options_;
  const KeyPart part_;
  bool pending_large_ = false;      // producer side: the reader's current record is still to lend
  bool consumer_has_lent_ = false;  // consumer side: the last batch returned lends a record
  std::mutex mutex_;
  std::condition_variable returned_;
  bool lent_out_ = false;              // guarded by mutex_
  bool stopping_ = false;              // guarded by mutex_
  ProducerThread<RowBatch> producer_;  // last: its thread stops before the rest goes
};

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_ROW_BATCH_H_
