#include "diff/key_table.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <string>

#include "diff/coding.h"

namespace snapdelta {
namespace {

// Initial slot count. Reserve sizes a table to be at most kReserveLoadPercent full with the keys
// expected; it doubles past kMaxLoadPercent (linear probing stays short below that with a
// well-mixed hash), which only more keys than expected reach. A million keys and the 1/8 more
// a run reserves for inserts: 57 MB of 40-byte entries at 80% (77 MB of 48-byte ones at 70%).
constexpr size_t kInitialSlots = 1 << 12;
constexpr size_t kReserveLoadPercent = 80;
constexpr size_t kMaxLoadPercent = 85;

// Whether a table of `slots` holding `keys` keys must double before it takes one more.
bool FullFor(size_t keys, size_t slots) { return (keys + 1) * 100 > slots * kMaxLoadPercent; }

}  // namespace

uint64_t Arena::Add(std::string_view key, std::span<const uint64_t> value_hashes, bool with_row,
                    std::string_view row) {
  return Write(nullptr, key, value_hashes, with_row, row);
}

uint64_t Arena::AddLinked(uint64_t link, std::string_view key, bool with_row,
                          std::string_view row) {
  return Write(&link, key, {}, with_row, row);
}

uint64_t Arena::AddRecord(std::string_view record) { return Copy(nullptr, record); }

uint64_t Arena::AddRecordLinked(uint64_t link, std::string_view record) {
  return Copy(&link, record);
}

uint64_t Arena::Link(uint64_t ref) const {
  uint64_t link = 0;
  std::memcpy(&link, At(ref) - sizeof(link), sizeof(link));
  return link;
}

uint64_t Arena::Write(const uint64_t* link, std::string_view key,
                      std::span<const uint64_t> value_hashes, bool with_row, std::string_view row) {
  const size_t size = VarintLength(key.size()) + key.size() + value_hashes.size_bytes() +
                      (with_row ? VarintLength(row.size()) + row.size() : 0);
  const uint64_t ref = Place(link, size);
  char* out = EncodeVarint64(Data(ref), key.size());
  std::memcpy(out, key.data(), key.size());
  out += key.size();
  if (!value_hashes.empty()) std::memcpy(out, value_hashes.data(), value_hashes.size_bytes());
  out += value_hashes.size_bytes();
  if (with_row) {
    out = EncodeVarint64(out, row.size());
    if (!row.empty()) std::memcpy(out, row.data(), row.size());
  }
  return ref;
}

uint64_t Arena::Copy(const uint64_t* link, std::string_view record) {
  const uint64_t ref = Place(link, record.size());
  if (!record.empty()) std::memcpy(Data(ref), record.data(), record.size());
  return ref;
}

uint64_t Arena::Place(const uint64_t* link, size_t size) {
  const size_t link_bytes = link != nullptr ? sizeof(*link) : 0;
  const uint64_t ref = Allocate(link_bytes + size) + link_bytes;
  if (link != nullptr) std::memcpy(Data(ref) - link_bytes, link, link_bytes);
  return ref;
}

char* Arena::Data(uint64_t ref) { return chunks_[ref >> 32].data() + (ref & 0xffffffffu); }

uint64_t Arena::Allocate(size_t size) {
  if (chunks_.empty() || used_ + size > chunks_.back().size()) {
    // A ref's chunk index must leave its top 3 bits free (kRefLimit): 2^29 chunks of 4 MiB.
    if (chunks_.size() + 1 >= (kRefLimit >> 32)) throw std::bad_alloc();
    chunks_.emplace_back(std::max(kChunkBytes, size));
    bytes_ += ChunkBytesFor(size);
    used_ = 0;
  }
  uint64_t ref = (static_cast<uint64_t>(chunks_.size() - 1) << 32) | used_;
  used_ += size;
  return ref;
}

const char* Arena::At(uint64_t ref) const {
  return chunks_[ref >> 32].data() + (ref & 0xffffffffu);
}

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

std::string_view Arena::Record(uint64_t ref, size_t hash_count, bool with_row) const {
  const char* begin = At(ref);
  const char* end = with_row ? Row(ref, hash_count).end() : Key(ref).end() + hash_count * 8;
  return std::string_view(begin, static_cast<size_t>(end - begin));
}

KeyTable::KeyTable(int partition_bits) : partition_bits_(partition_bits) { Resize(kInitialSlots); }

void KeyTable::Reserve(size_t keys) {
  size_t capacity = keys * 100 / kReserveLoadPercent + 1;
  // Whole huge pages: HugeArray maps them whole anyway.
  constexpr size_t kSlotsPerPage = HugeArray<KeyEntry>::kPageBytes / sizeof(KeyEntry);
  capacity = (capacity + kSlotsPerPage - 1) / kSlotsPerPage * kSlotsPerPage;
  capacity = std::min(capacity, reserve_limit_ / sizeof(KeyEntry));
  if (capacity > entries_.size()) Resize(capacity);
}

size_t KeyTable::PeakBytesOfNextInsert(size_t record_bytes) const {
  size_t bytes = memory_bytes() + new_arena_.BytesToAdd(record_bytes);
  if (FullFor(size_, entries_.size())) {
    bytes += 2 * entries_.size() * sizeof(KeyEntry);  // the doubled entries, beside the old ones
  }
  return bytes;
}

std::string_view KeyTable::Key(const KeyEntry& entry) const {
  if (entry.has_old()) return old_arena_.Key(OldRef(entry));
  return new_arena_.Key(entry.ref());
}

void KeyTable::SetOld(KeyEntry* entry, std::string_view key, std::span<const uint64_t> value_hashes,
                      bool with_row, std::string_view row) {
  entry->Set(KeyEntry::kOldOnly, old_arena_.Add(key, value_hashes, with_row, row));
}

void KeyTable::SetNew(KeyEntry* entry, std::string_view key, bool with_row, std::string_view row) {
  if (!entry->has_old()) {
    entry->Set(KeyEntry::kNewOnly, new_arena_.Add(key, {}, with_row, row));
  } else if (!with_row) {
    entry->Set(KeyEntry::kShared, entry->ref());
  } else {
    entry->Set(KeyEntry::kBoth, new_arena_.AddLinked(entry->ref(), key, with_row, row));
  }
}

size_t KeyTable::FindOrInsert(const KeyDigest& digest, bool* inserted) {
  if (FullFor(size_, entries_.size())) Resize(entries_.size() * 2);
  for (size_t slot = HomeSlot(digest);; slot = NextSlot(slot)) {
    KeyEntry& entry = entries_[slot];
    if (entry.empty()) {
      entry.digest = digest;  // the array starts as zero bytes: no side
      ++size_;
      *inserted = true;
      return slot;
    }
    if (entry.digest == digest) {
      *inserted = false;
      return slot;
    }
  }
}

bool KeyTable::Contains(const KeyDigest& digest) const {
  for (size_t slot = HomeSlot(digest);; slot = NextSlot(slot)) {
    const KeyEntry& entry = entries_[slot];
    if (entry.empty()) return false;
    if (entry.digest == digest) return true;
  }
}

std::vector<size_t> KeyTable::SliceBounds(size_t slices) const {
  const size_t capacity = entries_.size();
  std::vector<size_t> bounds{0};
  for (size_t i = 1; i < slices; ++i) {
    size_t bound = std::max(bounds.back() + 1, capacity / slices * i);
    while (bound < capacity && !entries_[bound].empty()) ++bound;
    if (bound >= capacity) break;
    bounds.push_back(bound);
  }
  bounds.push_back(capacity);
  return bounds;
}

void KeyTable::Resize(size_t capacity) {
  HugeArray<KeyEntry> old = std::move(entries_);
  entries_ = HugeArray<KeyEntry>(capacity);
  for (size_t old_idx = 0; old_idx < old.size(); ++old_idx) {
    const KeyEntry& entry = old[old_idx];
    if (entry.empty()) continue;
    size_t slot = HomeSlot(entry.digest);
    while (!entries_[slot].empty()) slot = NextSlot(slot);
    entries_[slot] = entry;
  }
}

}  // namespace snapdelta
