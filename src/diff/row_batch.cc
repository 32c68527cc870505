#include "diff/row_batch.h"

#include <new>

namespace snapdelta {
namespace {

// Rows per batch: large enough that handing batches between threads costs nothing per row,
// small enough that a batch stays in L2.
constexpr size_t kBatchRows = 256;
// A batch also ends at this many bytes of text or this many fields, so that batches of wide
// rows stay small too (with the fields' offsets, sizes and hashes, about 0.5 MiB at most).
constexpr size_t kBatchTextBytes = 256 << 10;
constexpr size_t kBatchFields = 16 << 10;
// A record at least this large is lent, not copied (see row_batch.h).
constexpr size_t kLendRecordBytes = 256 << 10;
// Batches in flight: the producer runs at most this far ahead.
constexpr size_t kBatchesInFlight = 8;

std::vector<std::unique_ptr<RowBatch>> MakeBatches() {
  std::vector<std::unique_ptr<RowBatch>> batches;
  for (size_t i = 0; i < kBatchesInFlight; ++i) batches.push_back(std::make_unique<RowBatch>());
  return batches;
}

// Gives a buffer's memory back when it grew past `keep` elements (a batch of long rows).
template <typename Buffer>
void ClearAndTrim(Buffer* buffer, size_t keep) {
  if (buffer->capacity() > keep) {
    Buffer().swap(*buffer);
  } else {
    buffer->clear();
  }
}

}  // namespace

void BatchText::Clear(size_t keep_bytes) {
  ClearAndTrim(&own_, keep_bytes);
  lent_ = nullptr;
}

void RowBatch::Clear() {
  text.Clear(2 * kBatchTextBytes);
  field_begin.clear();
  field_size.clear();
  field_null.clear();
  ClearAndTrim(&keys, 2 * kBatchTextBytes);
  key_begin.assign(1, 0);
  hashes.clear();
  digests.clear();
  fingerprints.clear();
  lines.clear();
  row_numbers.clear();
  rows = 0;
  end = false;
  error = Status::OK();
}

BatchProducer::BatchProducer(CsvReader* reader, const ExportSchema* schema,
                             const TableOptions* options, KeyPart part)
    : reader_(reader),
      schema_(schema),
      options_(options),
      part_(part),
      producer_(MakeBatches(), [this](RowBatch* batch) { return Fill(batch); }) {}

BatchProducer::~BatchProducer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  returned_.notify_all();
}

const RowBatch* BatchProducer::Next() {
  if (consumer_has_lent_) {  // the consumer is done with the lent record
    {
      std::lock_guard<std::mutex> lock(mutex_);
      lent_out_ = false;
    }
    returned_.notify_all();
  }
  const RowBatch* batch = producer_.Next();
  consumer_has_lent_ = batch->text.lent();
  return batch;
}

bool BatchProducer::WaitForLentBatch() {
  std::unique_lock<std::mutex> lock(mutex_);
  returned_.wait(lock, [this] { return !lent_out_ || stopping_; });
  return !stopping_;
}

bool BatchProducer::Fill(RowBatch* batch) {
  try {
    return FillRows(batch);
  } catch (const std::bad_alloc&) {
    batch->error = ResourceExhaustedError(
        reader_->file_name() + ":" + std::to_string(reader_->record_line()) +
        ": out of memory while reading rows; free memory, or lower --memory-limit so that more "
        "is spilled to disk");
    return true;
  }
}

bool BatchProducer::FillRows(RowBatch* batch) {
  batch->Clear();
  if (!WaitForLentBatch()) {
    batch->end = true;
    return true;
  }
  while (!pending_large_ && batch->rows < kBatchRows && batch->text.size() < kBatchTextBytes &&
         batch->field_begin.size() < kBatchFields) {
    bool has_record = false;
    Status status = reader_->Next(&has_record);
    if (status.ok() && !has_record) {
      batch->end = true;
      break;
    }
    if (status.ok() && reader_->record_bytes() >= kLendRecordBytes) {
      pending_large_ = true;  // lent in a batch of its own: this one if empty, else the next
      break;
    }
    bool added = false;
    if (status.ok()) status = AddRow(batch, false, &added);
    if (!status.ok()) {
      batch->error = status;
      break;
    }
  }
  if (pending_large_ && batch->rows == 0) {
    pending_large_ = false;
    bool added = false;
    Status status = AddRow(batch, true, &added);
    if (status.ok() && added) {
      std::lock_guard<std::mutex> lock(mutex_);
      lent_out_ = true;
    } else {
      batch->error = status;
    }
  }
  batch->raw_bytes = reader_->raw_bytes_consumed();
  return batch->end || !batch->error.ok();
}

Status BatchProducer::AddRow(RowBatch* batch, bool lend, bool* added) {
  const std::optional<std::string>& marker = options_->null_marker;
  auto is_null = [&](size_t column_idx, std::string_view value) {
    return marker && !reader_->field_quoted(column_idx) && value == *marker;
  };
  // The key first: a row outside the part is dropped before anything else is copied.
  const size_t key_start = batch->keys.size();
  for (size_t column_idx : schema_->key_idx) {
    std::string_view value = reader_->field(column_idx);
    bool null = is_null(column_idx, value);
    if (null || value.empty()) {
      batch->keys.resize(key_start);
      return reader_->RecordError(null ? "null key value" : "empty key value",
                                  static_cast<int>(column_idx));
    }
    AppendKeyPart(&batch->keys, value);
  }
  std::string_view key(batch->keys.data() + key_start, batch->keys.size() - key_start);
  const KeyDigest digest = DigestKey(key);
  *added = part_.Contains(digest);
  if (!*added) {
    batch->keys.resize(key_start);
    return Status::OK();
  }
  batch->key_begin.push_back(static_cast<uint32_t>(batch->keys.size()));
  batch->digests.push_back(part_.Local(digest));
  size_t columns = schema_->columns.size();
  size_t first_field = batch->field_begin.size();
  // A lent record's fields lie in order in the reader's buffer, from the first field on.
  const char* lent_base = lend ? reader_->field(0).data() : nullptr;
  if (lend) batch->text.Lend(lent_base);
  for (size_t column_idx = 0; column_idx < columns; ++column_idx) {
    std::string_view value = reader_->field(column_idx);
    size_t begin = lend ? static_cast<size_t>(value.data() - lent_base) : batch->text.size();
    batch->field_begin.push_back(static_cast<uint32_t>(begin));
    batch->field_size.push_back(static_cast<uint32_t>(value.size()));
    batch->field_null.push_back(is_null(column_idx, value));
    if (!lend) batch->text.append(value);
  }
  size_t hash_begin = batch->hashes.size();
  for (size_t column_idx : schema_->compared_idx) {
    std::string_view value = reader_->field(column_idx);
    bool absent = batch->field_null[first_field + column_idx] || value.empty();
    batch->hashes.push_back(absent ? kAbsent : ValueHash(value));
  }
  batch->fingerprints.push_back(CombineFingerprint(
      schema_->compared_name_hash,
      std::span<const uint64_t>(batch->hashes.data() + hash_begin, schema_->compared_idx.size())));
  batch->lines.push_back(reader_->record_line());
  batch->row_numbers.push_back(reader_->record_number());
  ++batch->rows;
  return Status::OK();
}

}  // namespace snapdelta
