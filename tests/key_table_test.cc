// KeyTable's digest-ordered walk at the end of a partition: slices cut at empty slots that
// together give every picked key once, in digest order, including the keys whose probe run
// wrapped from the table's end to its start. And the arena's records, in chunks of huge pages.
#include "diff/key_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "diff/coding.h"

namespace snapdelta {
namespace {

// A table of 2,800 keys in 4,096 slots (its initial size, 68% full), with a run of keys homed
// in the last slots that wraps to the start.
KeyTable CrowdedTable(std::vector<KeyDigest>* digests) {
  KeyTable table;
  // First, so that they take the last slot and the first ones.
  for (uint64_t n = 0; n < 20; ++n) digests->push_back(KeyDigest{~uint64_t{0} - n, n + 1});
  for (uint64_t n = 0; n < 2'780; ++n) digests->push_back(DigestKey(std::to_string(n)));
  for (const KeyDigest& digest : *digests) {
    bool inserted = false;
    size_t entry_idx = table.FindOrInsert(digest, &inserted);
    EXPECT_TRUE(inserted);
    table.entry(entry_idx).new_ref = digest.high & 1;  // picks: the keys with an odd high half
  }
  return table;
}

TEST(KeyTable, SlicesGiveEveryPickedKeyOnceInDigestOrderWrappedKeysLast) {
  std::vector<KeyDigest> digests;
  KeyTable table = CrowdedTable(&digests);
  ASSERT_EQ(table.capacity(), 4096u);  // not grown: the wrapped run stays where it is
  ASSERT_FALSE(table.entry(0).empty());
  ASSERT_GT(table.entry(0).digest.low, ~uint64_t{0} - 20);  // a wrapped key in slot 0
  auto pick = [](const KeyEntry& entry) { return entry.new_ref == 1; };
  std::vector<KeyDigest> expected;
  for (const KeyDigest& digest : digests) {
    if (digest.high & 1) expected.push_back(digest);
  }
  std::sort(expected.begin(), expected.end());
  for (size_t slices : {1, 2, 7, 64, 5000}) {
    SCOPED_TRACE("slices " + std::to_string(slices));
    std::vector<size_t> bounds = table.SliceBounds(slices);
    ASSERT_GE(bounds.size(), 2u);
    EXPECT_EQ(bounds.front(), 0u);
    EXPECT_EQ(bounds.back(), table.capacity());
    EXPECT_LE(bounds.size() - 1, slices);
    if (slices > 1) {
      EXPECT_GT(bounds.size(), 2u);
    }
    std::vector<KeyDigest> walked;
    std::vector<size_t> order;
    for (size_t i = 0; i + 1 < bounds.size(); ++i) {
      ASSERT_LT(bounds[i], bounds[i + 1]);
      if (i > 0) {
        EXPECT_TRUE(table.entry(bounds[i]).empty()) << "bound " << bounds[i];
      }
      table.SortedEntries(bounds[i], bounds[i + 1], pick, &order);
      for (size_t entry_idx : order) walked.push_back(table.entry(entry_idx).digest);
    }
    EXPECT_EQ(walked, expected);
  }
}

// Records of every shape read back as written: keys and rows whose lengths take one, two and
// three varint bytes, with and without value hashes, records that fill chunks to their last
// byte, and a row larger than a chunk (a chunk of its own, in whole huge pages).
TEST(Arena, RecordsReadBackAcrossChunksOfHugePages) {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 16'383ull, 16'384ull, 1ull << 40, ~0ull}) {
    std::string put;
    PutVarint64(&put, v);
    char buf[10];
    EXPECT_EQ(std::string(buf, EncodeVarint64(buf, v)), put) << v;
    EXPECT_EQ(VarintLength(v), put.size()) << v;
  }
  struct Written {
    uint64_t ref;
    std::string key, row;
    std::vector<uint64_t> hashes;
  };
  Arena arena;
  std::vector<Written> written;
  for (size_t n = 0; n < 40'000; ++n) {
    Written record;
    record.key = std::string(n % 300, static_cast<char>('a' + n % 26));
    record.row = std::string(n % 7 == 0 ? 20'000 + n : n % 200, static_cast<char>('A' + n % 26));
    if (n == 12'345) record.row.assign(Arena::kChunkBytes + 3'000'000, 'z');
    record.hashes.assign(n % 3 == 0 ? 0 : 4, n * 31);
    record.ref = arena.Add(record.key, record.hashes, true, record.row);
    written.push_back(std::move(record));
  }
  EXPECT_GT(arena.bytes(), Arena::kChunkBytes * 30);
  EXPECT_EQ(arena.bytes() % HugeArray<char>::kPageBytes, 0u);
  for (const Written& record : written) {
    ASSERT_EQ(arena.Key(record.ref), record.key);
    if (!record.hashes.empty()) {
      std::vector<uint64_t> hashes(record.hashes.size());
      arena.Hashes(record.ref, hashes.size(), hashes.data());
      ASSERT_EQ(hashes, record.hashes);
    }
    ASSERT_EQ(arena.Row(record.ref, record.hashes.size()), record.row);
  }
}

}  // namespace
}  // namespace snapdelta
