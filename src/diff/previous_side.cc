#include <algorithm>
#include <cmath>
#include <new>
#include <string_view>

#include "base/fs.h"
#include "diff/differ_internal.h"
#include "diff/spill.h"
#include "diff/state_file.h"

namespace snapdelta {
namespace {

// Rows are estimated from a file's size as if each took this many bytes: about the smallest a
// compressed export gets, so estimates err towards more rows (more partitions, never too few).
constexpr uint64_t kMinBytesPerRow = 16;
// After this many rows of an export, its row count is extrapolated to size the table.
constexpr uint64_t kSizingSampleRows = 1 << 16;
// A state's table keeps room for this share more keys than the state has when the new export's
// growth is unknown; with it known, for the growth and kReplacedShare more (the keys one export
// deletes and the next inserts: the table holds both). The table doubles only past 85% full,
// so either way about 6% more keys still fit without doubling.
constexpr double kUnknownGrowthShare = 1.0 / 8;
constexpr double kReplacedShare = 1.0 / 32;
// A growth estimated past this factor is taken as this factor (the table doubles if need be): a
// file half as large again is likelier an export compressed otherwise than a grown table.
constexpr double kMaxGrowth = 1.5;
// A state is read ahead in batches of at most this many records or bytes (a batch holds one
// record at least), a few batches ahead.
constexpr size_t kStateBatchRecords = 4096;
constexpr size_t kStateBatchBytes = 1 << 20;
constexpr size_t kStateBatchesInFlight = 4;

// The note of an import whose previous export could not be read again.
constexpr char kComparedIncludingRemoved[] =
    ", so rows were compared including the removed columns";

// The previous compared columns that the new export still compares, in the previous order.
// Linear in the number of columns (tables may have a million).
std::vector<std::string> StillCompared(const std::vector<std::string>& old_compared,
                                       const std::vector<std::string>& new_compared) {
  std::vector<size_t> positions = PositionsIn(old_compared, new_compared);
  std::vector<std::string> kept;
  for (size_t i = 0; i < old_compared.size(); ++i) {
    if (positions[i] != kNoPosition) kept.push_back(old_compared[i]);
  }
  return kept;
}

Status CheckDrift(const DiffRequest& request, const std::string& previous_name,
                  const std::vector<std::string>& old_key,
                  const std::vector<std::string>& old_columns, const ExportSchema& new_schema,
                  SchemaChange* change) {
  if (old_key != new_schema.key_names) {
    return InvalidArgumentError(request.new_export->name() + ": key columns [" +
                                JoinNames(new_schema.key_names) + "] differ from [" +
                                JoinNames(old_key) + "] used by " + previous_name +
                                "; keys cannot change between exports of a table");
  }
  *change = CompareColumns(old_columns, new_schema.columns);
  if (!change->empty() && request.options.schema_change == SchemaChangePolicy::kFail) {
    return InvalidArgumentError(request.new_export->name() + ": columns changed since " +
                                previous_name + ": " + change->ToString() +
                                "; schema_change = \"fail\" refuses this (set it to \"allow\")");
  }
  return Status::OK();
}

Status AddOldRow(const DiffRequest& request, StoredFile* source, std::string_view key,
                 const KeyDigest& digest, const Fingerprint& fp, std::span<const uint64_t> hashes,
                 bool with_row, std::string_view row, KeyTable* table, PreviousSide* previous,
                 const RowSource* reader) {
  bool inserted = false;
  size_t entry_idx = table->FindOrInsert(digest, &inserted);
  if (!inserted) {
    if (reader == nullptr) return CorruptionError(source->name() + ": duplicate key in state file");
    DuplicatePolicy policy = request.options.on_duplicate;
    if (policy == DuplicatePolicy::kFirst) return Status::OK();
    if (policy == DuplicatePolicy::kFail) {
      uint64_t first = FindFirstLineOfKey(source, request.options, key);
      return reader->RowError("duplicate key " + DescribeKey(previous->key, key) +
                              ", first on line " + std::to_string(first) +
                              "; set on_duplicate = \"first\" or \"last\" to accept it");
    }
  } else {
    ++previous->rows;
  }
  KeyEntry& entry = table->entry(entry_idx);
  table->SetOld(&entry, key, hashes, with_row, row);
  entry.fp = fp;
  return Status::OK();
}

}  // namespace

std::string DescribeKey(const std::vector<std::string>& names, std::string_view encoded_key) {
  std::vector<std::string_view> parts;
  DecodeKey(encoded_key, &parts);
  std::string out = "(";
  for (size_t i = 0; i < parts.size() && i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i] + "=" + std::string(parts[i]);
  }
  return out + ")";
}

PreviousLoader::PreviousLoader(const DiffRequest& request, const ExportSchema& new_schema,
                               uint64_t new_export_bytes)
    : request_(request), new_schema_(new_schema), new_export_bytes_(new_export_bytes) {}

PreviousLoader::~PreviousLoader() = default;

Status PreviousLoader::Open(PreviousSide* previous, SchemaChange* change) {
  previous_ = previous;
  switch (request_.previous.kind) {
    case PreviousExport::Kind::kNone:
      previous->key = new_schema_.key_names;
      return Status::OK();
    case PreviousExport::Kind::kState:
      return OpenState(change);
    case PreviousExport::Kind::kExport:
      return OpenExport(request_.previous.file.get(), /*expected_checksum=*/"", change);
  }
  return Status::OK();
}

Status PreviousLoader::OpenState(SchemaChange* change) {
  state_ = std::make_unique<StateReader>();
  RETURN_IF_ERROR(state_->Open(request_.previous.file, request_.previous_identity));
  const StateMeta& meta = state_->meta();
  RETURN_IF_ERROR(
      CheckDrift(request_, "the previous export", meta.key, meta.columns, new_schema_, change));
  std::vector<std::string> kept = StillCompared(meta.compared, new_schema_.compared_names);
  if (kept.size() != meta.compared.size()) {
    // The state's fingerprints cover columns no longer compared: compare against the export the
    // state was built from, on the columns still compared, if it is still that file.
    std::string checksum = request_.previous_identity.export_checksum;
    if (checksum.empty()) checksum = meta.identity.export_checksum;
    ASSIGN_OR_RETURN(bool usable, PreviousExportUnchanged(checksum));
    if (usable) {
      state_.reset();
      return OpenExport(request_.previous_export.get(), checksum, change);
    }
  }
  previous_->columns = meta.columns;
  previous_->key = meta.key;
  previous_->compared = meta.compared;
  previous_->has_rows = meta.before_images;
  previous_->has_hashes = meta.before_images;  // `changed` is given where the old row is at hand
  compared_pos_ = PositionsIn(meta.compared, meta.columns);
  estimated_rows_ = state_->record_count() / std::max<uint32_t>(request_.part.count, 1);
  reserved_keys_ =
      KeysToReserve(estimated_rows_, request_.previous_export_bytes, new_export_bytes_);
  return Status::OK();
}

StatusOr<bool> PreviousLoader::PreviousExportUnchanged(const std::string& checksum) {
  StoredFile* file = request_.previous_export.get();
  const std::string gone = std::string("the previous export is no longer in the landing zone") +
                           kComparedIncludingRemoved;
  if (file == nullptr) {
    previous_->note = gone;
    return false;
  }
  StatusOr<std::string> actual = file->ContentId();
  if (actual.status().code() == StatusCode::kNotFound) {
    previous_->note = gone;
    return false;
  }
  if (checksum.empty()) return true;  // nothing recorded to check it against
  RETURN_IF_ERROR(actual.status());
  if (*actual == checksum) return true;
  previous_->note = "the previous export " + file->name() +
                    " was replaced since it was imported (its " + "checksum is " + *actual +
                    ", the imported file's " + checksum + ")" + kComparedIncludingRemoved;
  return false;
}

Status PreviousLoader::OpenExport(StoredFile* file, const std::string& expected_checksum,
                                  SchemaChange* change) {
  export_file_ = file;
  export_ = std::make_unique<ExportReader>();
  RETURN_IF_ERROR(export_->Open(file, request_.options, expected_checksum));
  export_->SetPart(request_.part);
  RETURN_IF_ERROR(CheckDrift(request_, file->name(), export_->schema().key_names,
                             export_->schema().columns, new_schema_, change));
  export_->RestrictComparison(new_schema_.compared_names);
  previous_->columns = export_->schema().columns;
  previous_->key = export_->schema().key_names;
  previous_->compared = export_->schema().compared_names;
  previous_->has_hashes = true;
  previous_->has_rows = request_.options.before_images;
  estimated_rows_ = EstimateRows(file) / std::max<uint32_t>(request_.part.count, 1);
  return Status::OK();
}

Status PreviousLoader::LoadPartition(size_t partition, size_t partitions, const SpillDir* spill,
                                     KeyTable* table) {
  if (state_ != nullptr) return LoadStatePartition(partition, partitions, table);
  if (export_ == nullptr) return Status::OK();
  if (partitions == 1) return LoadRows(export_.get(), partitions, table);
  if (spilled_ == nullptr) {
    spilled_ = std::make_unique<SpillWriter>();
    RETURN_IF_ERROR(spilled_->Open(*spill, "old-", partitions));
    for (;;) {
      bool has_row = false;
      RETURN_IF_ERROR(export_->Next(&has_row));
      if (!has_row) break;
      RETURN_IF_ERROR(spilled_->Add(*export_));
    }
    RETURN_IF_ERROR(spilled_->Close());
  }
  SpillReader rows(spilled_->PathOf(partition), export_file_->name(), &export_->schema());
  RETURN_IF_ERROR(rows.Open());
  table->Reserve(spilled_->rows_written(partition));
  return LoadRows(&rows, partitions, table);
}

Status PreviousLoader::LoadRows(RowSource* rows, size_t partitions, KeyTable* table) {
  if (partitions == 1) {
    export_->SetPrefetch(table);
  }
  std::string row;
  for (;;) {
    bool has_row = false;
    RETURN_IF_ERROR(rows->Next(&has_row));
    if (!has_row) break;
    if (partitions == 1 && rows->rows_read() == kSizingSampleRows) {
      table->Reserve(export_->EstimateTotalRows() * 105 / 100);  // one early resize, not many
    }
    if (previous_->has_rows) rows->EncodeRow(&row);
    RETURN_IF_ERROR(AddOldRow(request_, export_file_, rows->key(), rows->key_digest(),
                              rows->fingerprint(), rows->value_hashes(), previous_->has_rows, row,
                              table, previous_, rows));
  }
  return Status::OK();
}

Status PreviousLoader::LoadStatePartition(size_t partition, size_t partitions, KeyTable* table) {
  table->Reserve(reserved_keys_ / partitions);
  if (state_reader_ == nullptr) {
    std::vector<std::unique_ptr<StateBatch>> pool;
    for (size_t i = 0; i < kStateBatchesInFlight; ++i) {
      pool.push_back(std::make_unique<StateBatch>());
    }
    state_reader_ = std::make_unique<ProducerThread<StateBatch>>(
        std::move(pool), [this](StateBatch* batch) { return FillStateBatch(batch); });
  }
  const size_t hash_count = previous_->has_hashes ? compared_pos_.size() : 0;
  for (;;) {
    if (state_batch_ == nullptr || state_batch_pos_ == state_batch_->records.size()) {
      if (state_batch_ != nullptr && state_batch_->end) return state_batch_->error;
      state_batch_ = state_reader_->Next();
      state_batch_pos_ = 0;
      continue;
    }
    const StateBatch& batch = *state_batch_;
    const StateBatch::Record& record = batch.records[state_batch_pos_];
    // The first record of a later partition stays for that partition's load.
    if (PartitionOf(record.digest, partitions) != partition) return Status::OK();
    std::string_view key(batch.bytes.data() + record.key_begin, record.key_size);
    std::string_view row(batch.bytes.data() + record.row_begin, record.row_size);
    std::span<const uint64_t> hashes;
    if (hash_count > 0) hashes = {batch.hashes.data() + state_batch_pos_ * hash_count, hash_count};
    ++state_batch_pos_;
    RETURN_IF_ERROR(AddOldRow(request_, request_.previous.file.get(), key, record.digest, record.fp,
                              hashes, previous_->has_rows, row, table, previous_, nullptr));
  }
}

bool PreviousLoader::FillStateBatch(StateBatch* batch) {
  batch->end = false;
  batch->records.clear();
  batch->hashes.clear();
  if (batch->bytes.capacity() > 2 * kStateBatchBytes) std::string().swap(batch->bytes);
  batch->bytes.clear();
  const size_t column_count = state_->meta().columns.size();
  try {
    while (batch->records.size() < kStateBatchRecords && batch->bytes.size() < kStateBatchBytes) {
      bool has_record = false;
      std::string_view key, row;
      Fingerprint fp;
      batch->error = state_->Next(&has_record, &key, &fp, &row);
      if (!batch->error.ok() || !has_record) {
        batch->end = true;
        return true;
      }
      KeyDigest digest = DigestKey(key);
      if (!request_.part.Contains(digest)) continue;  // another part's key
      StateBatch::Record record;
      record.digest = request_.part.Local(digest);
      record.fp = fp;
      record.key_begin = batch->bytes.size();
      record.key_size = key.size();
      batch->bytes.append(key);
      record.row_begin = batch->bytes.size();
      record.row_size = row.size();
      batch->bytes.append(row);
      batch->records.push_back(record);
      if (previous_->has_hashes) {  // set by Open, before this thread started
        HashesFromRow(row, column_count);
        batch->hashes.insert(batch->hashes.end(), row_hashes_.begin(), row_hashes_.end());
      }
    }
  } catch (const std::bad_alloc&) {  // never an exception on the reading thread
    batch->error = ResourceExhaustedError(request_.previous.file->name() +
                                          ": out of memory while reading the state");
    batch->end = true;
    return true;
  }
  return false;
}

void PreviousLoader::HashesFromRow(std::string_view row, size_t column_count) {
  row_hashes_.assign(compared_pos_.size(), kAbsent);
  if (!DecodeRow(row, column_count, &row_values_, &row_nulls_)) return;
  for (size_t i = 0; i < compared_pos_.size(); ++i) {
    size_t column_idx = compared_pos_[i];
    if (column_idx < column_count && !row_nulls_[column_idx] && !row_values_[column_idx].empty()) {
      row_hashes_[i] = ValueHash(row_values_[column_idx]);
    }
  }
}

uint64_t KeysToReserve(uint64_t state_rows, uint64_t previous_bytes, uint64_t new_bytes) {
  const double rows = static_cast<double>(state_rows);
  if (previous_bytes == 0 || new_bytes == 0) {
    return static_cast<uint64_t>(std::llround(rows * (1 + kUnknownGrowthShare)));
  }
  // Rows scale with the compressed size of exports of one table.
  const double growth = std::clamp(
      static_cast<double>(new_bytes) / static_cast<double>(previous_bytes), 1.0, kMaxGrowth);
  return static_cast<uint64_t>(std::llround(rows * (growth + kReplacedShare)));
}

uint64_t EstimateRows(StoredFile* file) {
  StatusOr<uint64_t> size = file->Size();
  return size.ok() ? *size / kMinBytesPerRow : 0;
}

}  // namespace snapdelta
