#include "diff/fingerprint.h"

#define XXH_INLINE_ALL  // inlined: the hashes run on every value of every row
#include <xxhash.h>

#include "diff/coding.h"

namespace snapdelta {
namespace {

// Seeds keep the three hash families apart, so a key can never collide with a value by design.
constexpr uint64_t kNameSeed = 0x6e616d65;   // "name"
constexpr uint64_t kValueSeed = 0x76616c75;  // "valu"
constexpr uint64_t kKeySeed = 0x6b657973;    // "keys"

// Largest compared-column count fingerprinted from a stack buffer; wider rows use the heap.
constexpr size_t kStackColumns = 64;

}  // namespace

uint64_t NameHash(std::string_view column_name) {
  return XXH3_64bits_withSeed(column_name.data(), column_name.size(), kNameSeed);
}

uint64_t ValueHash(std::string_view value) {
  uint64_t hash = XXH3_64bits_withSeed(value.data(), value.size(), kValueSeed);
  return hash == kAbsent ? 1 : hash;
}

KeyDigest DigestKey(std::string_view encoded_key) {
  XXH128_hash_t hash = XXH3_128bits_withSeed(encoded_key.data(), encoded_key.size(), kKeySeed);
  return KeyDigest{hash.low64, hash.high64 | 1};
}

Fingerprint CombineFingerprint(std::span<const uint64_t> name_hashes,
                               std::span<const uint64_t> value_hashes) {
  uint64_t stack[2 * kStackColumns];
  std::vector<uint64_t> heap;
  uint64_t* pairs = stack;
  if (name_hashes.size() > kStackColumns) {
    heap.resize(2 * name_hashes.size());
    pairs = heap.data();
  }
  size_t used = 0;
  for (size_t column_idx = 0; column_idx < name_hashes.size(); ++column_idx) {
    if (value_hashes[column_idx] == kAbsent) continue;
    pairs[used++] = name_hashes[column_idx];
    pairs[used++] = value_hashes[column_idx];
  }
  XXH128_hash_t hash = XXH3_128bits(pairs, used * sizeof(uint64_t));
  return Fingerprint{hash.low64, hash.high64};
}

void AppendKeyPart(std::string* encoded_key, std::string_view value) {
  PutLengthPrefixed(encoded_key, value);
}

bool DecodeKey(std::string_view encoded_key, std::vector<std::string_view>* parts) {
  parts->clear();
  while (!encoded_key.empty()) {
    std::string_view part;
    if (!GetLengthPrefixed(&encoded_key, &part)) return false;
    parts->push_back(part);
  }
  return true;
}

}  // namespace snapdelta
