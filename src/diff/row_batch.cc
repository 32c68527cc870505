#include "diff/row_batch.h"

#include <algorithm>
#include <new>

namespace snapdelta {
namespace {

// Rows per batch: large enough that handing batches between threads costs nothing per row,
// small enough that a batch stays in L2.
constexpr size_t kBatchRows = 256;
// A batch also ends at this many bytes of text or this many fields, so that batches of wide
// rows stay small too (with the fields' offsets, sizes and hashes, about 0.3 MiB at most); a
// batch's field and hash arrays are sized for its rows, not for kBatchFields.
constexpr size_t kBatchTextBytes = 64 << 10;
constexpr size_t kBatchFields = 4 << 10;
// A record at least this large is lent, not copied (see row_batch.h).
constexpr size_t kLendRecordBytes = 256 << 10;
// Batches in flight: the producer runs at most this far ahead. 32 (8,192 rows, a few ms of the
// differ's work) ride out the scheduler's delays when three threads share two cores: with 8, a
// 1M-row run's differ thread waited for rows and both cores were 72% busy.
constexpr size_t kBatchesInFlight = 32;

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
  fields = 0;
  ClearAndTrim(&keys, 2 * kBatchTextBytes);
  key_begin.assign(1, 0);
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
         batch->fields < kBatchFields) {
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
  // The record's fields at once: their values lie in the record's bytes (csv_reader.h).
  const char* record = reader_->record_data();
  const CsvReader::Field* fields = reader_->fields();
  auto value_of = [&](size_t column_idx) {
    return std::string_view(record + fields[column_idx].begin, fields[column_idx].size);
  };
  const std::optional<std::string>& marker = options_->null_marker;
  auto is_null = [&](size_t column_idx) {
    return marker && !fields[column_idx].quoted && value_of(column_idx) == *marker;
  };
  // The key first: a row outside the part is dropped before anything else is copied.
  const size_t key_start = batch->keys.size();
  for (size_t column_idx : schema_->key_idx) {
    std::string_view value = value_of(column_idx);
    bool null = is_null(column_idx);
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
  // The record's bytes, copied at once (a lent record's stay in the reader's buffer): each
  // field's value is at its offset from the record's start.
  size_t base = 0;
  if (lend) {
    batch->text.Lend(record);
  } else {
    base = batch->text.size();
    batch->text.append(std::string_view(record, reader_->record_bytes()));
  }
  const size_t columns = schema_->columns.size();
  const size_t first_field = batch->fields;
  batch->fields += columns;
  if (batch->fields > batch->field_begin.size()) {
    const size_t size =
        std::max(batch->fields, std::min(kBatchFields, kBatchRows * columns) + columns);
    batch->field_begin.resize(size);
    batch->field_size.resize(size);
    batch->field_null.resize(size);
  }
  uint32_t* field_begin = batch->field_begin.data() + first_field;
  uint32_t* field_size = batch->field_size.data() + first_field;
  uint8_t* field_null = batch->field_null.data() + first_field;
  for (size_t column_idx = 0; column_idx < columns; ++column_idx) {
    field_begin[column_idx] = static_cast<uint32_t>(base + fields[column_idx].begin);
    field_size[column_idx] = static_cast<uint32_t>(fields[column_idx].size);
    field_null[column_idx] = is_null(column_idx);
  }
  const size_t compared = schema_->compared_idx.size();
  const size_t hash_begin = batch->rows * compared;
  if (hash_begin + compared > batch->hashes.size()) {
    batch->hashes.resize(
        std::max(hash_begin + compared, std::min(kBatchFields, kBatchRows * compared) + compared));
  }
  uint64_t* hashes = batch->hashes.data() + hash_begin;
  for (size_t i = 0; i < compared; ++i) {
    const size_t column_idx = schema_->compared_idx[i];
    std::string_view value = value_of(column_idx);
    hashes[i] = field_null[column_idx] || value.empty() ? kAbsent : ValueHash(value);
  }
  batch->fingerprints.push_back(
      CombineFingerprint(schema_->compared_name_hash, std::span<const uint64_t>(hashes, compared)));
  batch->lines.push_back(reader_->record_line());
  batch->row_numbers.push_back(reader_->record_number());
  ++batch->rows;
  return Status::OK();
}

}  // namespace snapdelta
