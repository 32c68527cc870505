// KeyTable: the differ's in-memory index of the previous and the new export, keyed by the
// encoded key. Each distinct key has one entry; each side that has the key points at a record
// in that side's arena.
//
//   slots_: open addressing, linear probing,       entries_: dense, in insertion order
//   power-of-two size, load factor <= 1/2
//   +------------------------+                      +-------------------------------------------+
//   | u32: entry index + 1   | -------------------> | key_hash u64 | old_ref u64 | new_ref u64    |
//   |      (0 = empty slot)  |                      | old_fp 128   | new_fp 128                 |
//   +------------------------+                      +-------------------------------------------+
//
//   arena record := varint(key length) key  value-hash[n] (n fixed per arena)  [varint(len) row]
//
// Arenas are chunked so records never move: refs stay valid while the table lives.
// Thread safety: none; one differ thread owns a table.
#ifndef SNAPDELTA_DIFF_KEY_TABLE_H_
#define SNAPDELTA_DIFF_KEY_TABLE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "diff/fingerprint.h"

namespace snapdelta {

// Append-only storage of records in fixed chunks; a ref is (chunk << 32) | offset.
class Arena {
 public:
  // Returns the ref of a new record: key, the value hashes, and the row (when not empty).
  uint64_t Add(std::string_view key, std::span<const uint64_t> value_hashes, bool with_row,
               std::string_view row);
  std::string_view Key(uint64_t ref) const;
  // Copies the record's value hashes to `out` (records are unaligned).
  // REQUIRES: `count` equals the hash count the record was added with.
  void Hashes(uint64_t ref, size_t count, uint64_t* out) const;
  std::string_view Row(uint64_t ref, size_t hash_count) const;
  size_t memory_bytes() const { return chunks_.size() * kChunkBytes; }

 private:
  // Chunks of 4 MiB keep the waste of the last chunk small and allocation rare.
  static constexpr size_t kChunkBytes = 4 << 20;
  const char* At(uint64_t ref) const;

  std::vector<std::unique_ptr<char[]>> chunks_;
  std::vector<size_t> chunk_sizes_;
  size_t used_ = 0;  // bytes used in the last chunk
};

struct KeyEntry {
  static constexpr uint64_t kNone = ~uint64_t{0};
  uint64_t key_hash = 0;
  uint64_t old_ref = kNone;
  uint64_t new_ref = kNone;
  Fingerprint old_fp;
  Fingerprint new_fp;
};

class KeyTable {
 public:
  KeyTable();

  // Finds the entry for `key` (whose hash is `key_hash`), or adds an empty one whose key is
  // read from `arena` at `ref` once the caller sets it; *inserted tells which. Returns the entry
  // index. REQUIRES: after an insert, the caller sets old_ref or new_ref before the next call.
  size_t FindOrInsert(uint64_t key_hash, std::string_view key, bool* inserted);

  KeyEntry& entry(size_t entry_idx) { return entries_[entry_idx]; }
  const KeyEntry& entry(size_t entry_idx) const { return entries_[entry_idx]; }
  size_t size() const { return entries_.size(); }
  std::string_view Key(const KeyEntry& entry) const;

  Arena& old_arena() { return old_arena_; }
  Arena& new_arena() { return new_arena_; }
  const Arena& old_arena() const { return old_arena_; }
  const Arena& new_arena() const { return new_arena_; }

  // Entry indices selected by `pick`, sorted by (key hash, key): the state file's order.
  template <typename Pick>
  std::vector<size_t> SortedEntries(Pick pick) const;

  size_t memory_bytes() const;

 private:
  void Grow();
  void SortByKey(std::vector<size_t>* entry_indices) const;

  std::vector<uint32_t> slots_;
  std::vector<KeyEntry> entries_;
  Arena old_arena_;
  Arena new_arena_;
};

template <typename Pick>
std::vector<size_t> KeyTable::SortedEntries(Pick pick) const {
  std::vector<size_t> picked;
  for (size_t entry_idx = 0; entry_idx < entries_.size(); ++entry_idx) {
    if (pick(entries_[entry_idx])) picked.push_back(entry_idx);
  }
  SortByKey(&picked);
  return picked;
}

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_KEY_TABLE_H_
