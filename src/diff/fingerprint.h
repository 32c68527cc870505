// Row fingerprints and key encoding.
//
// A row is reduced to (encoded key, 128-bit fingerprint of its compared columns):
//   value hash   := XXH3-64(value), or kAbsent for an empty or null value
//   fingerprint  := XXH3-128 over the pairs (NameHash(column), value hash) of the compared
//                   columns whose value is not absent, in canonical (name-sorted) order
// so that (a) reordered columns give the same fingerprint, (b) a column added with empty values
// leaves fingerprints unchanged, and (c) the fingerprint over any subset of columns can be
// recomputed from the stored value hashes (used when a column is removed). An empty value and
// a null are therefore not distinguished by the comparison.
//
// Encoded key := for each key column, varint(length) value. Key digest := XXH3-128(encoded key):
// keys are told apart by their digest, as rows are by their fingerprint (two distinct keys
// collide with probability about n^2 / 2^128 over n keys).
#ifndef SNAPDELTA_DIFF_FINGERPRINT_H_
#define SNAPDELTA_DIFF_FINGERPRINT_H_

#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace snapdelta {

struct Fingerprint {
  uint64_t low = 0;
  uint64_t high = 0;
  bool operator==(const Fingerprint&) const = default;
};

// Marks an empty or null value in the value-hash arrays; a real hash that happens to equal it
// is remapped, so kAbsent never stands for a non-empty value.
constexpr uint64_t kAbsent = 0;

uint64_t NameHash(std::string_view column_name);
uint64_t ValueHash(std::string_view value);  // never kAbsent
// The key's identity in tables and the state file's sort order. `high` is never 0 (its low bit
// is set), so 0 can mark an empty table slot.
struct KeyDigest {
  uint64_t low = 0;
  uint64_t high = 0;
  bool operator==(const KeyDigest&) const = default;
  auto operator<=>(const KeyDigest&) const = default;
};
KeyDigest DigestKey(std::string_view encoded_key);

// One of `count` contiguous ranges of key-digest order, cut by the top bits of digest.low as
// spill partitions are (spill.h): the keys one task of a partitioned table owns. A state file
// (sorted by digest) holds each part's records together, parts in increasing order.
struct KeyPart {
  uint32_t index = 0;
  uint32_t count = 1;
  bool whole() const { return count <= 1; }
  bool Contains(const KeyDigest& digest) const {
    return whole() || static_cast<uint32_t>((static_cast<unsigned __int128>(digest.low) * count) >>
                                            64) == index;
  }
  // The digest a part is diffed by: its range of digest.low stretched over all of it (the order
  // of its keys kept), so that hash-table slots and spill partitions, chosen by the top bits of
  // digest.low, spread a part's keys as they spread a whole table's.
  // REQUIRES: Contains(digest).
  KeyDigest Local(const KeyDigest& digest) const {
    return whole() ? digest : KeyDigest{digest.low * count, digest.high};
  }
};

// Fingerprint over the given (name hash, value hash) pairs, skipping absent values.
// REQUIRES: name_hashes.size() == value_hashes.size(), both in canonical order.
Fingerprint CombineFingerprint(std::span<const uint64_t> name_hashes,
                               std::span<const uint64_t> value_hashes);

// Appends one key column's value to an encoded key.
void AppendKeyPart(std::string* encoded_key, std::string_view value);
// Splits an encoded key into its column values. Returns false when malformed.
bool DecodeKey(std::string_view encoded_key, std::vector<std::string_view>* parts);

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_FINGERPRINT_H_
