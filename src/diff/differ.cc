#include "diff/differ.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <memory>
#include <unordered_map>

#include "base/fs.h"
#include "diff/differ_internal.h"
#include "diff/spill.h"
#include "diff/state_file.h"

namespace snapdelta {
namespace {

// Progress is reported every this many rows (a power of two): often enough for a terminal,
// rare enough to cost nothing.
constexpr uint64_t kProgressEveryRows = 1 << 16;
// After this many rows of a first export, its row count is extrapolated to size the table.
constexpr uint64_t kSizingSampleRows = 1 << 16;
// Records written in digest order are fetched from the arena this many records ahead.
constexpr size_t kPrefetchAhead = 16;
// Memory model for choosing partitions: a key costs a table slot at load <= 1/2 (2 x 64 bytes)
// plus its arena records; a before-image row about this much more; the table may take this
// share of the memory limit (the rest: buffers, batches, spill writers).
constexpr uint64_t kTableBytesPerKey = 128;
constexpr uint64_t kArenaBytesPerKey = 48;
constexpr uint64_t kRowBytesEstimate = 128;
constexpr uint64_t kTableSharePercent = 60;
// Each partition holds an open spill file per side (old and new): 256 stays well inside the
// usual limit of 1024 open files.
constexpr size_t kMaxPartitions = 256;

}  // namespace

class Differ::Impl {
 public:
  explicit Impl(DiffRequest request) : request_(std::move(request)) {}

  Status Run(Sink* sink) {
    sink_ = sink;
    RETURN_IF_ERROR(reader_.Open(request_.new_path, request_.options));
    loader_ = std::make_unique<PreviousLoader>(request_, reader_.schema());
    RETURN_IF_ERROR(loader_->Open(&previous_, &stats_.schema_change));
    stats_.note = previous_.note;
    PrepareEventLayout();
    if (request_.build_state) {
      const ExportSchema& schema = reader_.schema();
      RETURN_IF_ERROR(state_.Open(request_.state_path,
                                  StateMeta{schema.columns, schema.key_names, schema.compared_names,
                                            request_.options.before_images}));
    }
    partitions_ = ChoosePartitions();
    Status status = partitions_ == 1 ? RunInMemory() : RunPartitioned();
    stats_.old_rows = previous_.rows;
    return status;
  }

  Status CommitState() { return state_.Commit(); }

  size_t partitions() const { return partitions_; }

  const DiffStats& stats() const { return stats_; }

 private:
  // One partition when everything fits the memory limit, else enough that one partition's
  // table does (a power of two).
  size_t ChoosePartitions() const {
    if (request_.memory_limit == 0) return 1;
    uint64_t rows = std::max(loader_->estimated_rows(), EstimateRows(request_.new_path));
    uint64_t per_row = kTableBytesPerKey + kArenaBytesPerKey +
                       (request_.options.before_images ? kRowBytesEstimate : 0);
    uint64_t budget = request_.memory_limit / 100 * kTableSharePercent;
    size_t partitions = 1;
    while (partitions < kMaxPartitions && partitions * budget < rows * per_row) partitions *= 2;
    return partitions;
  }

  Status RunInMemory() {
    RETURN_IF_ERROR(loader_->LoadPartition(0, 1, nullptr, &table_));
    reader_.SetPrefetch(&table_);
    if (request_.options.on_duplicate == DuplicatePolicy::kLast) {
      ExportReader pass;
      RETURN_IF_ERROR(pass.Open(request_.new_path, request_.options));
      RETURN_IF_ERROR(FindLastOccurrences(&pass));
    }
    RETURN_IF_ERROR(ScanRows(&reader_));
    RETURN_IF_ERROR(EmitDeletes());
    return AppendState();
  }

  // Spills the new export into partitions, then diffs partition by partition.
  Status RunPartitioned() {
    std::string root = request_.spill_dir;
    if (root.empty()) root = TempRoot();
    RETURN_IF_ERROR(spill_dir_.Create(root));
    SpillWriter spill;
    RETURN_IF_ERROR(spill.Open(spill_dir_, "new-", partitions_));
    for (;;) {
      bool has_row = false;
      RETURN_IF_ERROR(reader_.Next(&has_row));
      if (!has_row) break;
      ReportProgress(reader_);
      RETURN_IF_ERROR(spill.Add(reader_));
    }
    RETURN_IF_ERROR(spill.Close());
    for (size_t partition = 0; partition < partitions_; ++partition) {
      table_ = KeyTable(std::countr_zero(partitions_));
      last_row_of_key_.clear();
      RETURN_IF_ERROR(loader_->LoadPartition(partition, partitions_, &spill_dir_, &table_));
      table_.Reserve(table_.size() + spill.rows_written(partition));
      if (request_.options.on_duplicate == DuplicatePolicy::kLast) {
        SpillReader pass(spill.PathOf(partition), request_.new_path, &reader_.schema());
        RETURN_IF_ERROR(pass.Open());
        RETURN_IF_ERROR(FindLastOccurrences(&pass));
      }
      SpillReader rows(spill.PathOf(partition), request_.new_path, &reader_.schema());
      RETURN_IF_ERROR(rows.Open());
      RETURN_IF_ERROR(ScanRows(&rows));
      RETURN_IF_ERROR(EmitDeletes());
      RETURN_IF_ERROR(AppendState());
    }
    return Status::OK();
  }

  void ReportProgress(const ExportReader& reader) const {
    if (request_.progress && (reader.rows_read() & (kProgressEveryRows - 1)) == 0) {
      request_.progress(reader.raw_bytes_consumed());
    }
  }

  // Appends the table's new rows to the state, in digest order.
  Status AppendState() {
    if (!request_.build_state) return Status::OK();
    std::vector<size_t> order = table_.SortedEntries(
        [](const KeyEntry& entry) { return entry.new_ref != KeyEntry::kNone; });
    const Arena& arena = table_.new_arena();
    for (size_t i = 0; i < order.size(); ++i) {
      if (i + kPrefetchAhead < order.size()) {
        arena.Prefetch(table_.entry(order[i + kPrefetchAhead]).new_ref);
      }
      const KeyEntry& entry = table_.entry(order[i]);
      std::string_view row;
      if (request_.options.before_images) row = arena.Row(entry.new_ref, 0);
      RETURN_IF_ERROR(state_.Add(arena.Key(entry.new_ref), entry.new_fp, row));
    }
    return Status::OK();
  }

  // Precomputes how an UPDATE's `changed` list maps new compared columns to the old ones.
  void PrepareEventLayout() {
    const ExportSchema& schema = reader_.schema();
    compared_pos_by_column_.assign(schema.columns.size(), -1);
    old_pos_by_compared_.assign(schema.compared_names.size(), -1);
    for (size_t i = 0; i < schema.compared_idx.size(); ++i) {
      compared_pos_by_column_[schema.compared_idx[i]] = static_cast<int>(i);
      auto it =
          std::find(previous_.compared.begin(), previous_.compared.end(), schema.compared_names[i]);
      if (it != previous_.compared.end()) {
        old_pos_by_compared_[i] = static_cast<int>(it - previous_.compared.begin());
      }
    }
    old_hashes_.resize(previous_.has_hashes ? previous_.compared.size() : 0);
  }

  // on_duplicate = last: a first pass notes, for every key seen twice, its last row number.
  Status FindLastOccurrences(RowSource* pass) {
    KeyTable seen(partitions_ > 1 ? std::countr_zero(partitions_) : 0);
    for (;;) {
      bool has_row = false;
      RETURN_IF_ERROR(pass->Next(&has_row));
      if (!has_row) break;
      bool inserted = false;
      size_t entry_idx = seen.FindOrInsert(pass->key_digest(), &inserted);
      if (inserted) {
        seen.entry(entry_idx).new_ref = seen.new_arena().Add(pass->key(), {}, false, {});
      } else {
        last_row_of_key_[std::string(pass->key())] = pass->rows_read();
      }
    }
    return Status::OK();
  }

  // on_duplicate = last: true for every row of a repeated key but its last.
  bool IsEarlierOccurrence(const RowSource& rows) const {
    if (last_row_of_key_.empty()) return false;
    auto it = last_row_of_key_.find(std::string(rows.key()));
    return it != last_row_of_key_.end() && it->second != rows.rows_read();
  }

  // True when this row repeats a key already taken and must be skipped (policy first); an
  // error under policy fail.
  StatusOr<bool> IsDuplicateToSkip(const RowSource& rows, const KeyEntry& entry) {
    if (entry.new_ref == KeyEntry::kNone) return false;
    if (request_.options.on_duplicate == DuplicatePolicy::kFail) {
      uint64_t first = FindFirstLineOfKey(request_.new_path, request_.options, rows.key());
      return rows.RowError("duplicate key " + DescribeKey(previous_.key, rows.key()) +
                           ", first on line " + std::to_string(first) +
                           "; set on_duplicate = \"first\" or \"last\" in [tables.<table>] "
                           "or pass --on-duplicate to accept it");
    }
    return true;
  }

  // Diffs every row of `rows` against the table: INSERT and UPDATE events in row order.
  Status ScanRows(RowSource* rows) {
    rows_ = rows;
    std::string row;
    bool keep_rows = request_.build_state && request_.options.before_images;
    for (;;) {
      bool has_row = false;
      RETURN_IF_ERROR(rows->Next(&has_row));
      if (!has_row) break;
      if (rows == &reader_) {
        ReportProgress(reader_);
        // Without a previous side every row is a new key: size the table once, early.
        if (request_.previous.kind == PreviousExport::Kind::kNone &&
            reader_.rows_read() == kSizingSampleRows) {
          table_.Reserve(reader_.EstimateTotalRows() * 105 / 100);
        }
      }
      if (IsEarlierOccurrence(*rows)) {
        ++stats_.duplicates_skipped;
        continue;
      }
      bool inserted = false;
      size_t entry_idx = table_.FindOrInsert(rows->key_digest(), &inserted);
      ASSIGN_OR_RETURN(bool skip, IsDuplicateToSkip(*rows, table_.entry(entry_idx)));
      if (skip) {
        ++stats_.duplicates_skipped;
        continue;
      }
      if (keep_rows) rows->EncodeRow(&row);
      uint64_t ref = table_.new_arena().Add(rows->key(), {}, keep_rows, row);
      KeyEntry& entry = table_.entry(entry_idx);  // re-fetched: FindOrInsert may grow entries
      entry.new_ref = ref;
      entry.new_fp = rows->fingerprint();
      ++stats_.new_rows;
      if (entry.old_ref == KeyEntry::kNone) {
        ++stats_.inserts;
        if (request_.ops.insert) RETURN_IF_ERROR(EmitUpsert(ChangeOp::kInsert, entry));
      } else if (entry.old_fp != entry.new_fp) {
        ++stats_.updates;
        if (request_.ops.update) RETURN_IF_ERROR(EmitUpsert(ChangeOp::kUpdate, entry));
      }
    }
    return Status::OK();
  }

  Status EmitUpsert(ChangeOp op, const KeyEntry& entry) {
    const ExportSchema& schema = reader_.schema();
    ChangeEvent event;
    event.op = op;
    event.seq = ++seq_;
    event.key = Columns{schema.key_names, rows_->key_values()};
    event.row = Columns{schema.columns, rows_->values()};
    if (op == ChangeOp::kUpdate) {
      if (previous_.has_hashes) {
        FillChanged(entry);
        event.changed = changed_;
        event.has_changed = true;
      }
      if (previous_.has_rows) FillBefore(entry, &event);
    }
    return sink_->Put(event);
  }

  // Columns whose value differs, in the new header's order.
  void FillChanged(const KeyEntry& entry) {
    const ExportSchema& schema = reader_.schema();
    table_.old_arena().Hashes(entry.old_ref, old_hashes_.size(), old_hashes_.data());
    changed_.clear();
    std::span<const uint64_t> new_hashes = rows_->value_hashes();
    for (size_t column_idx = 0; column_idx < schema.columns.size(); ++column_idx) {
      int pos = compared_pos_by_column_[column_idx];
      if (pos < 0) continue;
      int old_pos = old_pos_by_compared_[pos];
      uint64_t old_hash = old_pos < 0 ? kAbsent : old_hashes_[old_pos];
      if (old_hash != new_hashes[pos]) changed_.push_back(schema.columns[column_idx]);
    }
  }

  void FillBefore(const KeyEntry& entry, ChangeEvent* event) {
    std::string_view row = table_.old_arena().Row(entry.old_ref, old_hashes_.size());
    DecodeRow(row, previous_.columns.size(), &before_text_, &before_nulls_);
    before_values_.resize(before_text_.size());
    for (size_t i = 0; i < before_text_.size(); ++i) {
      before_values_[i] = FieldValue{before_text_[i], before_nulls_[i]};
    }
    event->before = Columns{previous_.columns, before_values_};
    event->has_before = true;
  }

  Status EmitDeletes() {
    std::vector<size_t> order = table_.SortedEntries([](const KeyEntry& entry) {
      return entry.old_ref != KeyEntry::kNone && entry.new_ref == KeyEntry::kNone;
    });
    stats_.deletes += order.size();
    if (!request_.ops.del) return Status::OK();
    std::vector<std::string_view> parts;
    std::vector<FieldValue> key_values;
    for (size_t entry_idx : order) {
      const KeyEntry& entry = table_.entry(entry_idx);
      DecodeKey(table_.Key(entry), &parts);
      key_values.assign(parts.size(), FieldValue{});
      for (size_t i = 0; i < parts.size(); ++i) key_values[i].value = parts[i];
      ChangeEvent event;
      event.op = ChangeOp::kDelete;
      event.seq = ++seq_;
      event.key = Columns{previous_.key, key_values};
      if (previous_.has_rows) FillBefore(entry, &event);
      RETURN_IF_ERROR(sink_->Put(event));
    }
    return Status::OK();
  }

  DiffRequest request_;
  Sink* sink_ = nullptr;
  ExportReader reader_;
  std::unique_ptr<PreviousLoader> loader_;
  size_t partitions_ = 1;
  SpillDir spill_dir_;
  StateWriter state_;
  RowSource* rows_ = nullptr;  // the rows being scanned
  KeyTable table_;
  PreviousSide previous_;
  DiffStats stats_;
  uint64_t seq_ = 0;
  std::unordered_map<std::string, uint64_t> last_row_of_key_;
  std::vector<int> compared_pos_by_column_;
  std::vector<int> old_pos_by_compared_;
  std::vector<uint64_t> old_hashes_;
  std::vector<std::string_view> changed_;
  std::vector<std::string_view> before_text_;
  std::vector<bool> before_nulls_;
  std::vector<FieldValue> before_values_;
};

Differ::Differ(DiffRequest request) : impl_(std::make_unique<Impl>(std::move(request))) {}
Differ::~Differ() = default;
Status Differ::Run(Sink* sink) { return impl_->Run(sink); }
Status Differ::CommitState() { return impl_->CommitState(); }
size_t Differ::partitions() const { return impl_->partitions(); }
const DiffStats& Differ::stats() const { return impl_->stats(); }

}  // namespace snapdelta
