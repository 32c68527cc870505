#include "diff/differ.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <unordered_map>
#include <utility>

#include "base/fs.h"
#include "base/ordered_work.h"
#include "base/touch.h"
#include "diff/differ_internal.h"
#include "diff/memory_plan.h"
#include "diff/spill.h"
#include "diff/state_file.h"
#include "diff/table_spill.h"

namespace snapdelta {
namespace {

// Progress is reported every this many rows (a power of two): often enough for a terminal,
// rare enough to cost nothing.
constexpr uint64_t kProgressEveryRows = 1 << 16;
// After this many rows of a first export, its row count is extrapolated to size the table.
constexpr uint64_t kSizingSampleRows = 1 << 16;
// A partition that outgrows the table budget is split, down to 2^kMaxPartitionBits partitions
// in all (then the table grows past the budget).
constexpr int kMaxPartitionBits = 24;
// The end of a partition is cut into slices of about this many table slots (about 11,000 keys,
// 270 KB of state records of 24 bytes), sorted and encoded by two threads at once, at most
// kFinishWindow slices ahead of the one written out.
constexpr size_t kFinishSliceSlots = 1 << 14;
constexpr size_t kFinishWindow = 8;
// Room for the varints of a new-side arena record beside its key and row.
constexpr size_t kRecordOverheadBytes = 10;

// Without a memory limit, Reserve may still not take more than this share of the machine's
// memory on an estimate.
uint64_t UnlimitedReserveBytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return uint64_t{1} << 30;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size) / 2;
}

}  // namespace

class Differ::Impl {
 public:
  explicit Impl(DiffRequest request) : request_(std::move(request)) {}

  // Allocation failure anywhere below (a table, an arena, a buffer) becomes a Status here.
  Status Run(Sink* sink) {
    try {
      return RunUnguarded(sink);
    } catch (const std::bad_alloc&) {
      return OutOfMemory();
    }
  }

  Status CommitState() {
    try {
      return state_.Commit();
    } catch (const std::bad_alloc&) {
      return OutOfMemory();
    }
  }

  size_t partitions() const { return partitions_; }

  const DiffStats& stats() const { return stats_; }

 private:
  Status RunUnguarded(Sink* sink) {
    sink_ = sink;
    RETURN_IF_ERROR(reader_.Open(request_.new_export.get(), request_.options));
    reader_.SetPart(request_.part);
    loader_ = std::make_unique<PreviousLoader>(request_, reader_.schema(), reader_.file_size());
    RETURN_IF_ERROR(loader_->Open(&previous_, &stats_.schema_change));
    stats_.note = previous_.note;
    PrepareEventLayout();
    if (request_.build_state) {
      const ExportSchema& schema = reader_.schema();
      RETURN_IF_ERROR(state_.Open(
          request_.state_out, StateMeta{schema.columns, schema.key_names, schema.compared_names,
                                        request_.options.before_images, request_.state_identity}));
    }
    PlanPartitions();
    table_ = NewTable(0);
    Status status = partitions_ == 1 ? RunInMemory() : RunPartitioned();
    stats_.old_rows = previous_.rows;
    return status;
  }

  Status OutOfMemory() const {
    std::string limit =
        request_.memory_limit == 0
            ? std::string("no --memory-limit")
            : "--memory-limit " + std::to_string(request_.memory_limit >> 20) + "MB";
    return ResourceExhaustedError(
        request_.new_export->name() + ": out of memory while diffing (" + limit +
        "): the machine could not provide the memory; set a lower --memory-limit, so that more "
        "is spilled to disk (--spill-dir), or free memory");
  }

  // The first partition count and the table's budget (memory_plan.h), from samples of the
  // inputs: one partition when everything is expected to fit.
  void PlanPartitions() {
    plan_ = PlanMemory(DemandOf(request_, loader_->estimated_rows(), old_hashes_.size(),
                                previous_.has_rows, keep_rows()));
    partitions_ = plan_.partitions;
    spill_dir_.set_write_buffer_bytes(plan_.spill_buffer_bytes);
  }

  // A table for a partition chosen by the top `partition_bits` bits of the digest, which
  // reserves no more than the budget allows.
  KeyTable NewTable(int partition_bits) const {
    KeyTable table(partition_bits);
    table.set_reserve_limit(request_.memory_limit == 0 ? UnlimitedReserveBytes()
                                                       : plan_.table_bytes / 2);
    return table;
  }

  bool keep_rows() const { return request_.build_state && request_.options.before_images; }

  Status RunInMemory() {
    if (request_.options.on_duplicate == DuplicatePolicy::kLast) {
      ExportReader pass;
      RETURN_IF_ERROR(pass.Open(request_.new_export.get(), request_.options));
      pass.SetPart(request_.part);
      ASSIGN_OR_RETURN(uint64_t full_at, FindLastOccurrences(&pass, 0, true));
      if (full_at > 0) {  // the keys outgrew the budget before anything was loaded or emitted
        last_row_of_key_.clear();
        double projected = static_cast<double>(full_at) *
                           static_cast<double>(pass.EstimateTotalRows()) /
                           static_cast<double>(std::max<uint64_t>(1, pass.rows_read()));
        partitions_ = std::clamp<size_t>(
            std::bit_ceil(static_cast<size_t>(2 * projected / plan_.table_bytes)), 2,
            kMaxPartitions);
        return RunPartitioned();
      }
    }
    RETURN_IF_ERROR(loader_->LoadPartition(0, 1, nullptr, &table_));
    reader_.SetPrefetch(&table_);
    return DiffPartition(&reader_, 0, 0);
  }

  // Spills the new export into partitions, then diffs partition by partition.
  Status RunPartitioned() {
    RETURN_IF_ERROR(CreateSpillDir());
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
    const size_t partitions = partitions_;  // splits below count in partitions_
    const int bits = std::countr_zero(partitions);
    for (size_t partition = 0; partition < partitions; ++partition) {
      table_ = NewTable(bits);
      last_row_of_key_.clear();
      if (request_.options.on_duplicate == DuplicatePolicy::kLast) {
        SpillReader pass(spill.PathOf(partition), request_.new_export->name(), &reader_.schema());
        RETURN_IF_ERROR(pass.Open());
        RETURN_IF_ERROR(FindLastOccurrences(&pass, bits, false).status());
      }
      RETURN_IF_ERROR(loader_->LoadPartition(partition, partitions, &spill_dir_, &table_));
      table_.Reserve(table_.size() + spill.rows_written(partition));
      SpillReader rows(spill.PathOf(partition), request_.new_export->name(), &reader_.schema());
      RETURN_IF_ERROR(rows.Open());
      RETURN_IF_ERROR(DiffPartition(&rows, bits, spill.rows_written(partition)));
      std::remove(spill.PathOf(partition).c_str());  // its disk space, early
    }
    return Status::OK();
  }

  Status CreateSpillDir() {
    if (spill_dir_.created()) return Status::OK();
    std::string root = request_.spill_dir;
    if (root.empty()) root = TempRoot();
    return spill_dir_.Create(root);
  }

  // Diffs `rows` (`row_count` rows, 0 when unknown) against table_, which holds the old side of
  // the partition chosen by the top `bits` bits of the digest: INSERT and UPDATE events in row
  // order, then the DELETEs and the partition's state (FinishPartition). When the table is about to
  // outgrow the budget, the rest of the partition is split (SplitPartition).
  Status DiffPartition(RowSource* rows, int bits, uint64_t row_count) {
    ASSIGN_OR_RETURN(bool full, ScanRows(rows, bits < kMaxPartitionBits));
    if (full) return SplitPartition(rows, bits, row_count);
    return FinishPartition();
  }

  // The table is full at the current row of `rows`, not yet diffed: writes the table's entries
  // and the rest of `rows` into 2^split sub-partitions (table_spill.h, spill.h), then diffs
  // them one after the other, in digest order.
  Status SplitPartition(RowSource* rows, int bits, uint64_t row_count) {
    const int split = SplitBitsFor(*rows, bits, row_count);
    const size_t parts = size_t{1} << split;
    const std::string prefix = "split-" + std::to_string(splits_++) + "-";
    RETURN_IF_ERROR(CreateSpillDir());
    spill_dir_.set_write_buffer_bytes(
        std::min<uint64_t>(plan_.spill_buffer_bytes, plan_.table_bytes / 8 / parts));
    SpillWriter carried, rest;
    RETURN_IF_ERROR(carried.Open(spill_dir_, prefix + "table-", parts, bits));
    ArenaLayout layout{old_hashes_.size(), previous_.has_rows, keep_rows()};
    RETURN_IF_ERROR(SpillTable(table_, layout, &carried));
    RETURN_IF_ERROR(carried.Close());
    table_ = NewTable(0);
    RETURN_IF_ERROR(rest.Open(spill_dir_, prefix + "rows-", parts, bits));
    for (bool has_row = true; has_row;) {  // the current row first
      if (rows == &reader_) ReportProgress(reader_);
      RETURN_IF_ERROR(rest.Add(*rows));
      RETURN_IF_ERROR(rows->Next(&has_row));
    }
    RETURN_IF_ERROR(rest.Close());
    for (size_t part = 0; part < parts; ++part) {
      table_ = NewTable(bits + split);
      table_.Reserve(carried.rows_written(part) + rest.rows_written(part));
      RETURN_IF_ERROR(LoadTableSpill(carried.PathOf(part), &table_));
      std::remove(carried.PathOf(part).c_str());
      SpillReader part_rows(rest.PathOf(part), request_.new_export->name(), &reader_.schema());
      RETURN_IF_ERROR(part_rows.Open());
      RETURN_IF_ERROR(DiffPartition(&part_rows, bits + split, rest.rows_written(part)));
      std::remove(rest.PathOf(part).c_str());
    }
    partitions_ = std::max(partitions_, size_t{1} << (bits + split));
    return Status::OK();
  }

  // SplitBits (memory_plan.h) for a partition full at the current row of `rows`.
  int SplitBitsFor(const RowSource& rows, int bits, uint64_t row_count) const {
    double remaining = 2;  // the share of the partition still to come, unknown: as much again
    if (&rows == &reader_ && reader_.raw_bytes_consumed() > 0) {
      remaining = static_cast<double>(reader_.EstimateTotalRows()) /
                  static_cast<double>(std::max<uint64_t>(1, reader_.rows_read()));
    } else if (row_count > 0) {
      remaining = static_cast<double>(row_count) /
                  static_cast<double>(std::max<uint64_t>(1, rows.rows_read()));
    }
    int split = SplitBits(remaining, table_.memory_bytes(), plan_.table_bytes);
    return std::min(split, kMaxPartitionBits - bits);
  }

  void ReportProgress(const ExportReader& reader) const {
    if (request_.progress && (reader.rows_read() & (kProgressEveryRows - 1)) == 0) {
      request_.progress(reader.raw_bytes_consumed(), reader.rows_read());
    }
  }

  // The end of a partition, in one pass over the table in digest order: a DELETE for each key
  // of the old side that the new side lacks, and, when a state is built, a state record for
  // each key of the new side. A state record's key is read from the old arena when the old side
  // has it too and no row is written: a state's records were loaded in digest order, so those
  // reads walk forward, where reads of the new arena (in row order) jump at random.
  //
  // The table is cut into slices (KeyTable::SliceBounds) that this thread and a helper sort and
  // encode at once (base/ordered_work.h); this thread emits each slice's DELETEs and writes its
  // records in digest order. At 1M keys the pass took 140 ms of one core while the other idled.
  Status FinishPartition() {
    const bool build_state = request_.build_state;
    auto pick = [build_state](const KeyEntry& entry) {
      return entry.has_new() ? build_state : entry.has_old();
    };
    const bool with_rows = request_.options.before_images;
    auto record_of = [&](const KeyEntry& entry) {  // the arena record that has what is needed
      if (!entry.has_new() || entry.new_shares_old() || (!with_rows && entry.has_old())) {
        return std::pair{&table_.old_arena(), table_.OldRef(entry)};
      }
      return std::pair{&table_.new_arena(), table_.NewRef(entry)};
    };
    struct Slice {
      std::vector<size_t> order;    // the picked entries, in digest order
      std::vector<size_t> deletes;  // those the new side lacks
      std::string records;          // the state records of the others, encoded
      uint64_t record_count = 0;
    };
    const std::vector<size_t> bounds =
        table_.SliceBounds(table_.capacity() / kFinishSliceSlots + 1);
    std::vector<Slice> slices(kFinishWindow);  // slice i is in slices[i % kFinishWindow]
    auto work = [&](size_t i) {
      Slice& slice = slices[i % kFinishWindow];
      table_.SortedEntries(bounds[i], bounds[i + 1], pick, &slice.order);
      slice.deletes.clear();
      slice.records.clear();
      slice.record_count = 0;
      const std::vector<size_t>& order = slice.order;
      for (size_t k = 0; k < order.size(); ++k) {
        TouchAhead(k, order.size(), [&](size_t j) {
          auto [arena, ref] = record_of(table_.entry(order[j]));
          return arena->At(ref);
        });
        const KeyEntry& entry = table_.entry(order[k]);
        if (!entry.has_new()) {
          slice.deletes.push_back(order[k]);
          continue;
        }
        auto [arena, ref] = record_of(entry);
        std::string_view row;
        if (with_rows) row = arena->Row(ref, 0);
        state_.Encode(&slice.records, arena->Key(ref), entry.fp, row);
        ++slice.record_count;
      }
    };
    Status status;
    auto use = [&](size_t i) {
      Slice& slice = slices[i % kFinishWindow];
      stats_.deletes += slice.deletes.size();
      if (request_.ops.del) {
        for (size_t entry_idx : slice.deletes) {
          status = EmitDelete(table_.entry(entry_idx));
          if (!status.ok()) return false;
        }
      }
      if (slice.record_count > 0) status = state_.AddEncoded(slice.records, slice.record_count);
      return status.ok();
    };
    RunInOrder(bounds.size() - 1, kFinishWindow, work, use);
    return status;
  }

  // Precomputes how an UPDATE's `changed` list maps new compared columns to the old ones.
  void PrepareEventLayout() {
    const ExportSchema& schema = reader_.schema();
    compared_pos_by_column_.assign(schema.columns.size(), -1);
    old_pos_by_compared_.assign(schema.compared_names.size(), -1);
    std::vector<size_t> old_positions = PositionsIn(schema.compared_names, previous_.compared);
    for (size_t i = 0; i < schema.compared_idx.size(); ++i) {
      compared_pos_by_column_[schema.compared_idx[i]] = static_cast<int>(i);
      if (old_positions[i] != kNoPosition) {
        old_pos_by_compared_[i] = static_cast<int>(old_positions[i]);
      }
    }
    old_hashes_.resize(previous_.has_hashes ? previous_.compared.size() : 0);
  }

  // on_duplicate = last: a first pass notes, for every key seen twice, its last row number.
  // Returns 0, or, with `stop_when_full`, the bytes its table of keys had taken when it outgrew
  // the budget (the pass then stopped).
  StatusOr<uint64_t> FindLastOccurrences(RowSource* pass, int bits, bool stop_when_full) {
    KeyTable seen = NewTable(bits);
    for (;;) {
      bool has_row = false;
      RETURN_IF_ERROR(pass->Next(&has_row));
      if (!has_row) break;
      if (stop_when_full && IsFull(seen, *pass, pass->key().size())) return seen.memory_bytes();
      bool inserted = false;
      size_t entry_idx = seen.FindOrInsert(pass->key_digest(), &inserted);
      if (inserted) {
        seen.SetNew(&seen.entry(entry_idx), pass->key(), false, {});
      } else {
        last_row_of_key_[std::string(pass->key())] = pass->rows_read();
      }
    }
    return 0;
  }

  // True when adding the current row's key (a record of `record_bytes`) to `table` may take it
  // past the budget.
  bool IsFull(const KeyTable& table, const RowSource& rows, size_t record_bytes) const {
    return table.PeakBytesOfNextInsert(record_bytes + kRecordOverheadBytes) > plan_.table_bytes &&
           !table.Contains(rows.key_digest());
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
    if (!entry.has_new()) return false;
    if (request_.options.on_duplicate == DuplicatePolicy::kFail) {
      uint64_t first = FindFirstLineOfKey(request_.new_export.get(), request_.options, rows.key());
      return rows.RowError("duplicate key " + DescribeKey(previous_.key, rows.key()) +
                           ", first on line " + std::to_string(first) +
                           "; set on_duplicate = \"first\" or \"last\" in [tables.<table>] "
                           "or pass --on-duplicate to accept it");
    }
    return true;
  }

  // Diffs the rows of `rows` against the table: INSERT and UPDATE events in row order. With
  // `may_split`, stops at the first row whose key would take the table past the budget and
  // returns true: that row is the current row of `rows`, not yet diffed.
  StatusOr<bool> ScanRows(RowSource* rows, bool may_split) {
    rows_ = rows;
    std::string row;
    for (;;) {
      bool has_row = false;
      RETURN_IF_ERROR(rows->Next(&has_row));
      if (!has_row) break;
      if (rows == &reader_) {
        ReportProgress(reader_);
        // Without a previous side every row is a new key: size the table once, early (as far
        // as the budget allows).
        if (request_.previous.kind == PreviousExport::Kind::kNone &&
            reader_.rows_read() == kSizingSampleRows) {
          table_.Reserve(reader_.EstimateTotalRows() * 105 / 100);
        }
      }
      if (IsEarlierOccurrence(*rows)) {
        ++stats_.duplicates_skipped;
        continue;
      }
      if (keep_rows()) rows->EncodeRow(&row);
      if (may_split && table_.size() > 1 &&
          IsFull(table_, *rows, rows->key().size() + row.size())) {
        return true;
      }
      bool inserted = false;
      size_t entry_idx = table_.FindOrInsert(rows->key_digest(), &inserted);
      ASSIGN_OR_RETURN(bool skip, IsDuplicateToSkip(*rows, table_.entry(entry_idx)));
      if (skip) {
        ++stats_.duplicates_skipped;
        continue;
      }
      KeyEntry& entry = table_.entry(entry_idx);  // re-fetched: FindOrInsert may grow entries
      const bool changed = entry.fp != rows->fingerprint();
      table_.SetNew(&entry, rows->key(), keep_rows(), row);
      entry.fp = rows->fingerprint();  // the old side's is no longer needed
      ++stats_.new_rows;
      if (!entry.has_old()) {
        ++stats_.inserts;
        if (request_.ops.insert) RETURN_IF_ERROR(EmitUpsert(ChangeOp::kInsert, entry));
      } else if (changed) {
        ++stats_.updates;
        if (request_.ops.update) RETURN_IF_ERROR(EmitUpsert(ChangeOp::kUpdate, entry));
      }
    }
    return false;
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
    table_.old_arena().Hashes(table_.OldRef(entry), old_hashes_.size(), old_hashes_.data());
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
    std::string_view row = table_.old_arena().Row(table_.OldRef(entry), old_hashes_.size());
    DecodeRow(row, previous_.columns.size(), &before_text_, &before_nulls_);
    before_values_.resize(before_text_.size());
    for (size_t i = 0; i < before_text_.size(); ++i) {
      before_values_[i] = FieldValue{before_text_[i], before_nulls_[i]};
    }
    event->before = Columns{previous_.columns, before_values_};
    event->has_before = true;
  }

  Status EmitDelete(const KeyEntry& entry) {
    DecodeKey(table_.Key(entry), &key_parts_);
    delete_key_.assign(key_parts_.size(), FieldValue{});
    for (size_t i = 0; i < key_parts_.size(); ++i) delete_key_[i].value = key_parts_[i];
    ChangeEvent event;
    event.op = ChangeOp::kDelete;
    event.seq = ++seq_;
    event.key = Columns{previous_.key, delete_key_};
    if (previous_.has_rows) FillBefore(entry, &event);
    return sink_->Put(event);
  }

  DiffRequest request_;
  Sink* sink_ = nullptr;
  ExportReader reader_;
  std::unique_ptr<PreviousLoader> loader_;
  size_t partitions_ = 1;
  MemoryPlan plan_;
  uint64_t splits_ = 0;  // partitions split so far (names their spill files)
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
  std::vector<std::string_view> key_parts_;  // a DELETE's key
  std::vector<FieldValue> delete_key_;
};

Differ::Differ(DiffRequest request) : impl_(std::make_unique<Impl>(std::move(request))) {}
Differ::~Differ() = default;
Status Differ::Run(Sink* sink) { return impl_->Run(sink); }
Status Differ::CommitState() { return impl_->CommitState(); }
size_t Differ::partitions() const { return impl_->partitions(); }
const DiffStats& Differ::stats() const { return impl_->stats(); }

}  // namespace snapdelta
