#include "diff/key_table.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "diff/coding.h"

namespace snapdelta {
namespace {

// Initial slot count; the table doubles when half full.
constexpr size_t kInitialSlots = 1 << 12;

}  // namespace

uint64_t Arena::Add(std::string_view key, std::span<const uint64_t> value_hashes, bool with_row,
                    std::string_view row) {
  std::string header;
  PutVarint64(&header, key.size());
  std::string row_len;
  if (with_row) PutVarint64(&row_len, row.size());
  size_t size = header.size() + key.size() + value_hashes.size_bytes() + row_len.size() +
                (with_row ? row.size() : 0);
  if (chunks_.empty() || used_ + size > chunk_sizes_.back()) {
    size_t chunk_size = std::max(kChunkBytes, size);
    chunks_.push_back(std::make_unique<char[]>(chunk_size));
    chunk_sizes_.push_back(chunk_size);
    used_ = 0;
  }
  char* out = chunks_.back().get() + used_;
  uint64_t ref = (static_cast<uint64_t>(chunks_.size() - 1) << 32) | used_;
  std::memcpy(out, header.data(), header.size());
  out += header.size();
  std::memcpy(out, key.data(), key.size());
  out += key.size();
  if (!value_hashes.empty()) std::memcpy(out, value_hashes.data(), value_hashes.size_bytes());
  out += value_hashes.size_bytes();
  if (with_row) {
    std::memcpy(out, row_len.data(), row_len.size());
    out += row_len.size();
    if (!row.empty()) std::memcpy(out, row.data(), row.size());
  }
  used_ += size;
  return ref;
}

const char* Arena::At(uint64_t ref) const { return chunks_[ref >> 32].get() + (ref & 0xffffffffu); }

std::string_view Arena::Key(uint64_t ref) const {
  std::string_view in(At(ref), 20);
  uint64_t len = 0;
  GetVarint64(&in, &len);
  return std::string_view(in.data(), len);
}

void Arena::Hashes(uint64_t ref, size_t count, uint64_t* out) const {
  std::string_view key = Key(ref);
  if (count > 0) std::memcpy(out, key.data() + key.size(), count * sizeof(uint64_t));
}

std::string_view Arena::Row(uint64_t ref, size_t hash_count) const {
  std::string_view key = Key(ref);
  std::string_view in(key.data() + key.size() + hash_count * sizeof(uint64_t), 20);
  uint64_t len = 0;
  GetVarint64(&in, &len);
  return std::string_view(in.data(), len);
}

KeyTable::KeyTable() : slots_(kInitialSlots, 0) {}

std::string_view KeyTable::Key(const KeyEntry& entry) const {
  if (entry.old_ref != KeyEntry::kNone) return old_arena_.Key(entry.old_ref);
  return new_arena_.Key(entry.new_ref);
}

size_t KeyTable::FindOrInsert(uint64_t key_hash, std::string_view key, bool* inserted) {
  if ((entries_.size() + 1) * 2 > slots_.size()) Grow();
  size_t mask = slots_.size() - 1;
  for (size_t slot = key_hash & mask;; slot = (slot + 1) & mask) {
    uint32_t ref = slots_[slot];
    if (ref == 0) {
      entries_.push_back(KeyEntry{});
      entries_.back().key_hash = key_hash;
      slots_[slot] = static_cast<uint32_t>(entries_.size());
      *inserted = true;
      return entries_.size() - 1;
    }
    const KeyEntry& candidate = entries_[ref - 1];
    if (candidate.key_hash == key_hash && Key(candidate) == key) {
      *inserted = false;
      return ref - 1;
    }
  }
}

void KeyTable::Grow() {
  std::vector<uint32_t> bigger(slots_.size() * 2, 0);
  size_t mask = bigger.size() - 1;
  for (size_t entry_idx = 0; entry_idx < entries_.size(); ++entry_idx) {
    size_t slot = entries_[entry_idx].key_hash & mask;
    while (bigger[slot] != 0) slot = (slot + 1) & mask;
    bigger[slot] = static_cast<uint32_t>(entry_idx + 1);
  }
  slots_.swap(bigger);
}

void KeyTable::SortByKey(std::vector<size_t>* entry_indices) const {
  std::sort(entry_indices->begin(), entry_indices->end(), [this](size_t a, size_t b) {
    const KeyEntry& left = entries_[a];
    const KeyEntry& right = entries_[b];
    if (left.key_hash != right.key_hash) return left.key_hash < right.key_hash;
    return Key(left) < Key(right);
  });
}

size_t KeyTable::memory_bytes() const {
  return slots_.capacity() * sizeof(uint32_t) + entries_.capacity() * sizeof(KeyEntry) +
         old_arena_.memory_bytes() + new_arena_.memory_bytes();
}

}  // namespace snapdelta
