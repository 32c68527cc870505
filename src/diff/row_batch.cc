#include "diff/row_batch.h"

namespace snapdelta {
namespace {

// Rows per batch: large enough that handing batches between threads costs nothing per row,
// small enough that a batch stays in L2.
constexpr size_t kBatchRows = 256;
// Batches in flight: the producer runs at most this far ahead.
constexpr size_t kBatchesInFlight = 8;

}  // namespace

void RowBatch::Clear() {
  text.clear();
  field_begin.clear();
  field_size.clear();
  field_null.clear();
  keys.clear();
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

namespace {

std::vector<std::unique_ptr<RowBatch>> MakeBatches() {
  std::vector<std::unique_ptr<RowBatch>> batches;
  for (size_t i = 0; i < kBatchesInFlight; ++i) batches.push_back(std::make_unique<RowBatch>());
  return batches;
}

}  // namespace

BatchProducer::BatchProducer(CsvReader* reader, const ExportSchema* schema,
                             const TableOptions* options)
    : reader_(reader),
      schema_(schema),
      options_(options),
      producer_(MakeBatches(), [this](RowBatch* batch) { return Fill(batch); }) {}

bool BatchProducer::Fill(RowBatch* batch) {
  batch->Clear();
  while (batch->rows < kBatchRows) {
    bool has_record = false;
    Status status = reader_->Next(&has_record);
    if (status.ok() && !has_record) {
      batch->end = true;
      break;
    }
    if (status.ok()) status = AddRow(batch);
    if (!status.ok()) {
      batch->error = status;
      break;
    }
  }
  batch->raw_bytes = reader_->raw_bytes_consumed();
  return batch->end || !batch->error.ok();
}

Status BatchProducer::AddRow(RowBatch* batch) {
  const std::optional<std::string>& marker = options_->null_marker;
  size_t columns = schema_->columns.size();
  size_t first_field = batch->field_begin.size();
  for (size_t column_idx = 0; column_idx < columns; ++column_idx) {
    std::string_view value = reader_->field(column_idx);
    batch->field_begin.push_back(static_cast<uint32_t>(batch->text.size()));
    batch->field_size.push_back(static_cast<uint32_t>(value.size()));
    batch->field_null.push_back(marker && !reader_->field_quoted(column_idx) && value == *marker);
    batch->text.append(value);
  }
  for (size_t column_idx : schema_->key_idx) {
    std::string_view value = reader_->field(column_idx);
    bool is_null = batch->field_null[first_field + column_idx];
    if (is_null || value.empty()) {
      return reader_->RecordError(is_null ? "null key value" : "empty key value",
                                  static_cast<int>(column_idx));
    }
    AppendKeyPart(&batch->keys, value);
  }
  std::string_view key(batch->keys.data() + batch->key_begin.back(),
                       batch->keys.size() - batch->key_begin.back());
  batch->key_begin.push_back(static_cast<uint32_t>(batch->keys.size()));
  batch->digests.push_back(DigestKey(key));
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
