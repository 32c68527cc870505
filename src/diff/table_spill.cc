#include "diff/table_spill.h"

#include "diff/coding.h"

namespace snapdelta {
namespace {

constexpr uint8_t kOldSide = 1;
constexpr uint8_t kNewSide = 2;

}  // namespace

Status SpillTable(const KeyTable& table, const ArenaLayout& layout, SpillWriter* writer) {
  std::string entry_bytes;
  for (size_t entry_idx = 0; entry_idx < table.capacity(); ++entry_idx) {
    const KeyEntry& entry = table.entry(entry_idx);
    if (entry.empty()) continue;
    const bool has_old = entry.has_old();
    const bool has_new = entry.has_new();
    entry_bytes.clear();
    PutFixed64(&entry_bytes, entry.digest.low);
    PutFixed64(&entry_bytes, entry.digest.high);
    entry_bytes.push_back(static_cast<char>((has_old ? kOldSide : 0) | (has_new ? kNewSide : 0)));
    PutFixed64(&entry_bytes, entry.fp.low);
    PutFixed64(&entry_bytes, entry.fp.high);
    if (has_old) {
      PutLengthPrefixed(&entry_bytes, table.old_arena().Record(table.OldRef(entry),
                                                               layout.old_hashes, layout.old_rows));
    }
    if (entry.new_shares_old()) {
      // The record it would have had (no row: the new side keeps none) is the old record's key.
      PutLengthPrefixed(&entry_bytes, table.old_arena().Record(table.OldRef(entry), 0, false));
    } else if (has_new) {
      PutLengthPrefixed(&entry_bytes,
                        table.new_arena().Record(table.NewRef(entry), 0, layout.new_rows));
    }
    RETURN_IF_ERROR(writer->AddRecord(entry.digest, entry_bytes));
  }
  return Status::OK();
}

Status LoadTableSpill(const std::string& path, KeyTable* table) {
  SpillRecordReader file(path);
  RETURN_IF_ERROR(file.Open());
  for (;;) {
    bool has_record = false;
    std::string_view in;
    RETURN_IF_ERROR(file.Next(&has_record, &in));
    if (!has_record) return Status::OK();
    KeyDigest digest;
    if (!GetFixed64(&in, &digest.low) || !GetFixed64(&in, &digest.high) || in.empty()) {
      return CorruptionError(path + ": bad table spill entry");
    }
    const uint8_t sides = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    Fingerprint fp;
    std::string_view old_record, new_record;
    if (!GetFixed64(&in, &fp.low) || !GetFixed64(&in, &fp.high) ||
        ((sides & kOldSide) != 0 && !GetLengthPrefixed(&in, &old_record)) ||
        ((sides & kNewSide) != 0 && !GetLengthPrefixed(&in, &new_record))) {
      return CorruptionError(path + ": bad table spill entry");
    }
    bool inserted = false;
    size_t entry_idx = table->FindOrInsert(digest, &inserted);
    if (!inserted) return CorruptionError(path + ": key twice in a table spill");
    KeyEntry& entry = table->entry(entry_idx);
    entry.fp = fp;
    const bool has_old = (sides & kOldSide) != 0;
    const bool has_new = (sides & kNewSide) != 0;
    if (has_old && has_new) {
      const uint64_t old_ref = table->old_arena().AddRecord(old_record);
      entry.Set(KeyEntry::kBoth, table->new_arena().AddRecordLinked(old_ref, new_record));
    } else if (has_old) {
      entry.Set(KeyEntry::kOldOnly, table->old_arena().AddRecord(old_record));
    } else if (has_new) {
      entry.Set(KeyEntry::kNewOnly, table->new_arena().AddRecord(new_record));
    } else {
      return CorruptionError(path + ": table spill entry of neither side");
    }
  }
}

}  // namespace snapdelta
