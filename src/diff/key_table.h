// KeyTable: the differ's in-memory index of the previous and the new export, keyed by the
// 128-bit key digest. Each distinct key has one entry; each side that has the key has a record
// in that side's arena (the new side may instead share the old side's record).
//
//   entries_: open addressing on the entries themselves, linear probing, load factor <= 85%
//   (Reserve sizes it for 80%), any slot count (whole huge pages, not a power of two); a key's home
//   slot is digest.low scaled to the slot count, so slot order is digest order and inserting keys
//   in digest order (a state file's order) walks memory forward
//   +-----------------------------------------------------------------------+
//   | digest 128 (high == 0: empty) | fp 128 | sides 3 bits | ref 61 bits |    40 bytes
//   +-----------------------------------------------------------------------+
//   fp is the old side's fingerprint until the new side's row is diffed against it, then the
//   new side's (what the state records): one fingerprint, not two, took a million keys' table
//   from 92 MB to 69 MB, and the kernel's zeroing of fresh pages is slow on the VMs measured.
//   One ref, not one per side, took it to 57 MB: `sides` says whose record it is
//     kOldOnly  the old side's (a key the new side has not reached, or lacks)
//     kShared   both sides have the key; the old side's record, which the new side shares (it
//               keeps no row, and its record would only repeat the key)
//     kNewOnly  the new side's (a key the old side lacks)
//     kBoth     both sides, each with a record: the new side's, whose 8 bytes before it hold
//               the ref of the old side's (only when the new side keeps its rows)
//
//   arena record := varint(key length) key  value-hash[n] (n fixed per arena)  [varint(len) row]
//
// A lookup touches one entry (one or two cache lines) and never the key bytes. Arenas are chunked
// so records never move: refs stay valid while the table lives. Entry indices are valid until the
// next FindOrInsert (which may grow the table).
//
// Memory: entries plus arena chunks (memory_bytes()). Reserve, which sizes the table from an
// estimate, never goes past the reserve limit: an estimate can be wildly high (a compressible
// export of one repeated key), while growth by FindOrInsert follows the keys really inserted.
// Allocation failure throws std::bad_alloc (the differ turns it into a Status).
// Thread safety: none; one differ thread owns a table.
#ifndef SNAPDELTA_DIFF_KEY_TABLE_H_
#define SNAPDELTA_DIFF_KEY_TABLE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "base/huge_array.h"
#include "diff/fingerprint.h"

namespace snapdelta {

// Append-only storage of records in fixed chunks; a ref is (chunk << 32) | offset.
class Arena {
 public:
  // Chunks of 4 MiB keep the waste of the last chunk small and allocation rare. Each is a
  // HugeArray: two huge pages, so the kernel faults a chunk in with two faults, not 1,024 (the
  // old side's arena of a 1M-row diff, 72 MB, cost its thread 54 ms of page faults), and the
  // random reads of records miss the TLB less.
  static constexpr size_t kChunkBytes = 4 << 20;

  // Refs are below this (KeyEntry keeps one in 61 bits).
  static constexpr uint64_t kRefLimit = uint64_t{1} << 61;

  // Returns the ref of a new record: key, the value hashes, and the row (when with_row).
  uint64_t Add(std::string_view key, std::span<const uint64_t> value_hashes, bool with_row,
               std::string_view row);
  // The same, the record preceded by `link` (8 bytes, read back with Link).
  uint64_t AddLinked(uint64_t link, std::string_view key, bool with_row, std::string_view row);
  uint64_t AddRecordLinked(uint64_t link, std::string_view record);
  // The link of a record added by AddLinked or AddRecordLinked.
  uint64_t Link(uint64_t ref) const;
  std::string_view Key(uint64_t ref) const;
  // The record's first byte (to load it into the cache ahead: base/touch.h).
  const char* At(uint64_t ref) const;
  // Copies the record's value hashes to `out` (records are unaligned).
  // REQUIRES: `count` equals the hash count the record was added with.
  void Hashes(uint64_t ref, size_t count, uint64_t* out) const;
  std::string_view Row(uint64_t ref, size_t hash_count) const;
  // The whole record, to be copied into another arena with AddRecord.
  std::string_view Record(uint64_t ref, size_t hash_count, bool with_row) const;
  uint64_t AddRecord(std::string_view record);
  // Bytes of the chunks allocated.
  size_t bytes() const { return bytes_; }
  // Bytes a record of `size` would add to bytes(): 0, or a new chunk.
  size_t BytesToAdd(size_t size) const {
    if (!chunks_.empty() && used_ + size <= chunks_.back().size()) return 0;
    return ChunkBytesFor(size);
  }

 private:
  // The memory a chunk for a record of `size` takes: whole huge pages.
  static size_t ChunkBytesFor(size_t size) {
    constexpr size_t kPage = HugeArray<char>::kPageBytes;
    return (std::max(kChunkBytes, size) + kPage - 1) / kPage * kPage;
  }
  // Room for `size` more bytes in the last chunk; returns the ref of where they go.
  uint64_t Allocate(size_t size);
  // Room for a record of `size` bytes, preceded by *link when there is one (written here);
  // returns the record's ref.
  uint64_t Place(const uint64_t* link, size_t size);
  // A record encoded from its parts (Add), or copied whole (AddRecord), after *link if any.
  uint64_t Write(const uint64_t* link, std::string_view key, std::span<const uint64_t> value_hashes,
                 bool with_row, std::string_view row);
  uint64_t Copy(const uint64_t* link, std::string_view record);
  char* Data(uint64_t ref);

  std::vector<HugeArray<char>> chunks_;
  size_t used_ = 0;  // bytes used in the last chunk
  size_t bytes_ = 0;
};

struct KeyEntry {
  // Which sides have the key, and whose record `ref` is (the table's comment).
  enum Sides : uint64_t { kNoSide = 0, kOldOnly = 1, kShared = 2, kNewOnly = 3, kBoth = 4 };

  KeyDigest digest;  // high == 0: an empty slot
  Fingerprint fp;    // the old side's until the new side's row is diffed, then the new side's
  uint64_t sides_and_ref = 0;  // sides << 61 | ref

  bool empty() const { return digest.high == 0; }
  Sides sides() const { return static_cast<Sides>(sides_and_ref >> 61); }
  uint64_t ref() const { return sides_and_ref & (Arena::kRefLimit - 1); }
  bool has_old() const { return sides() == kOldOnly || sides() == kShared || sides() == kBoth; }
  bool has_new() const { return sides() >= kShared; }
  // Whether the new side has the key but no record of its own.
  bool new_shares_old() const { return sides() == kShared; }
  void Set(Sides sides, uint64_t ref) { sides_and_ref = static_cast<uint64_t>(sides) << 61 | ref; }
};
static_assert(sizeof(KeyEntry) == 40);

class KeyTable {
 public:
  // `partition_bits`: the top bits of digest.low shared by every key of this table (a spill
  // partition's); they are skipped when choosing home slots, or all keys would crowd into one
  // corner of the table.
  explicit KeyTable(int partition_bits = 0);

  // Sizes the table for `keys` distinct keys without growing, as far as the reserve limit
  // allows.
  void Reserve(size_t keys);
  // The most bytes of entries Reserve may allocate (it never shrinks the table). Default: no
  // limit.
  void set_reserve_limit(size_t bytes) { reserve_limit_ = bytes; }

  // Bytes held: entries and both arenas.
  size_t memory_bytes() const {
    return entries_.size() * sizeof(KeyEntry) + old_arena_.bytes() + new_arena_.bytes();
  }
  // The most memory_bytes() (with the old entries still held while they move) the next insert
  // of a new key, with a new-side record of `record_bytes`, may take.
  size_t PeakBytesOfNextInsert(size_t record_bytes) const;

  // Finds the entry for `digest`, or adds one of no side (*inserted tells which). Returns its
  // index. REQUIRES: after an insert, the caller gives it a side (SetOld, SetNew).
  size_t FindOrInsert(const KeyDigest& digest, bool* inserted);

  // The old side's record of the entry's key: the key, `value_hashes`, and the row (when
  // with_row). Replaces an old record the entry had.
  // REQUIRES: the new side does not have the key yet.
  void SetOld(KeyEntry* entry, std::string_view key, std::span<const uint64_t> value_hashes,
              bool with_row, std::string_view row);
  // The new side has the key: a record of it and the row (with_row), or, without a row, the
  // old side's record when there is one. REQUIRES: the new side does not have the key yet.
  void SetNew(KeyEntry* entry, std::string_view key, bool with_row, std::string_view row);
  // The refs of the entry's records in old_arena() and new_arena().
  // REQUIRES: has_old(); has_new() and not new_shares_old().
  uint64_t OldRef(const KeyEntry& entry) const {
    return entry.sides() == KeyEntry::kBoth ? new_arena_.Link(entry.ref()) : entry.ref();
  }
  uint64_t NewRef(const KeyEntry& entry) const { return entry.ref(); }

  // Whether an entry for `digest` exists.
  bool Contains(const KeyDigest& digest) const;

  // The home slot of `digest`, to load into the cache ahead of a FindOrInsert (base/touch.h).
  const KeyEntry* HomeOf(const KeyDigest& digest) const { return &entries_[HomeSlot(digest)]; }

  KeyEntry& entry(size_t entry_idx) { return entries_[entry_idx]; }
  const KeyEntry& entry(size_t entry_idx) const { return entries_[entry_idx]; }
  size_t size() const { return size_; }
  // Slots, empty or not (entry indices run below it).
  size_t capacity() const { return entries_.size(); }
  std::string_view Key(const KeyEntry& entry) const;

  Arena& old_arena() { return old_arena_; }
  Arena& new_arena() { return new_arena_; }
  const Arena& old_arena() const { return old_arena_; }
  const Arena& new_arena() const { return new_arena_; }

  // Slot bounds that cut the table into about `slices` slices (fewer when it is small): 0 =
  // bounds[0] < bounds[1] < ... < bounds.back() = capacity(). Each inner bound is an empty slot,
  // so no run of linear probing crosses it and every key of a slice comes before every key of
  // the next in digest order (SortedEntries puts the keys that wrapped from the table's end to
  // its start in the last slice).
  std::vector<size_t> SliceBounds(size_t slices) const;

  // Indices of the entries of the slice [begin, end) (bounds from SliceBounds) selected by
  // `pick`, in digest order: the state file's order. Read-only: slices may be sorted on
  // several threads at once.
  template <typename Pick>
  void SortedEntries(size_t begin, size_t end, Pick pick, std::vector<size_t>* order) const;

 private:
  // digest.low past the partition's bits, as a fraction of 2^64, times the slot count.
  size_t HomeSlot(const KeyDigest& digest) const {
    const unsigned __int128 scaled =
        static_cast<unsigned __int128>(digest.low << partition_bits_) * entries_.size();
    return static_cast<size_t>(scaled >> 64);
  }
  size_t NextSlot(size_t slot) const { return slot + 1 == entries_.size() ? 0 : slot + 1; }
  void Resize(size_t capacity);

  HugeArray<KeyEntry> entries_;
  size_t size_ = 0;
  int partition_bits_ = 0;
  size_t reserve_limit_ = SIZE_MAX;
  Arena old_arena_;
  Arena new_arena_;
};

template <typename Pick>
void KeyTable::SortedEntries(size_t begin, size_t end, Pick pick,
                             std::vector<size_t>* order) const {
  // Slot order is digest order but for linear probing's local displacement and the run that
  // wraps from the table's end to its start: gather in slot order, the wrapped entries (in the
  // run at slot 0, homed in the last slice) moved to the end of the last slice, then an
  // insertion sort fixes the small local disorder.
  order->clear();
  for (size_t entry_idx = begin; entry_idx < end; ++entry_idx) {
    const KeyEntry& entry = entries_[entry_idx];
    if (entry.empty() || !pick(entry) || HomeSlot(entry.digest) > entry_idx) continue;
    order->push_back(entry_idx);
  }
  if (end == entries_.size()) {
    for (size_t entry_idx = 0; entry_idx < end && !entries_[entry_idx].empty(); ++entry_idx) {
      const KeyEntry& entry = entries_[entry_idx];
      if (pick(entry) && HomeSlot(entry.digest) > entry_idx) order->push_back(entry_idx);
    }
  }
  std::vector<size_t>& sorted = *order;
  for (size_t i = 1; i < sorted.size(); ++i) {
    size_t moving = sorted[i];
    const KeyDigest& digest = entries_[moving].digest;
    size_t j = i;
    for (; j > 0 && digest < entries_[sorted[j - 1]].digest; --j) sorted[j] = sorted[j - 1];
    sorted[j] = moving;
  }
}

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_KEY_TABLE_H_
