// KeyTable's digest-ordered walk at the end of a partition: slices cut at empty slots that
// together give every picked key once, in digest order, including the keys whose probe run
// wrapped from the table's end to its start. The sides of an entry and the records its one ref
// leads to. And the arena's records, in chunks of huge pages.
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
    table.entry(entry_idx).Set(KeyEntry::kNewOnly, digest.high & 1);  // picks: odd high halves
  }
  return table;
}

TEST(KeyTable, SlicesGiveEveryPickedKeyOnceInDigestOrderWrappedKeysLast) {
  std::vector<KeyDigest> digests;
  KeyTable table = CrowdedTable(&digests);
  ASSERT_EQ(table.capacity(), 4096u);  // not grown: the wrapped run stays where it is
  ASSERT_FALSE(table.entry(0).empty());
  ASSERT_GT(table.entry(0).digest.low, ~uint64_t{0} - 20);  // a wrapped key in slot 0
  auto pick = [](const KeyEntry& entry) { return entry.ref() == 1; };
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

// Each side's record of a key, through the entry's one ref: the old side's alone, shared by a
// new side that keeps no row, the new side's alone, and both (the new record linked to the old).
TEST(KeyTable, EntriesLeadToTheRecordsOfTheirSides) {
  KeyTable table;
  const std::vector<uint64_t> hashes = {11, 22, 33};
  auto add = [&](const std::string& key) -> KeyEntry& {
    bool inserted = false;
    KeyEntry& entry = table.entry(table.FindOrInsert(DigestKey(key), &inserted));
    EXPECT_TRUE(inserted);
    EXPECT_EQ(entry.sides(), KeyEntry::kNoSide);
    EXPECT_FALSE(entry.has_old() || entry.has_new());
    return entry;
  };
  uint64_t read_hashes[3] = {};

  KeyEntry& old_only = add("old only");
  table.SetOld(&old_only, "old only", hashes, true, "old row 1");
  EXPECT_TRUE(old_only.has_old() && !old_only.has_new());
  EXPECT_EQ(table.Key(old_only), "old only");

  KeyEntry& shared = add("shared");
  table.SetOld(&shared, "shared", hashes, true, "old row 2");
  table.SetNew(&shared, "shared", false, {});
  EXPECT_TRUE(shared.has_old() && shared.has_new() && shared.new_shares_old());
  EXPECT_EQ(table.old_arena().Row(table.OldRef(shared), 3), "old row 2");
  EXPECT_EQ(table.Key(shared), "shared");

  KeyEntry& new_only = add("new only");
  table.SetNew(&new_only, "new only", true, "new row 3");
  EXPECT_TRUE(!new_only.has_old() && new_only.has_new() && !new_only.new_shares_old());
  EXPECT_EQ(table.new_arena().Row(table.NewRef(new_only), 0), "new row 3");
  EXPECT_EQ(table.Key(new_only), "new only");

  KeyEntry& both = add("both");
  table.SetOld(&both, "both", hashes, true, "old row 4");
  table.SetNew(&both, "both", true, "new row 4");
  EXPECT_EQ(both.sides(), KeyEntry::kBoth);
  EXPECT_TRUE(both.has_old() && both.has_new() && !both.new_shares_old());
  EXPECT_EQ(table.old_arena().Row(table.OldRef(both), 3), "old row 4");
  table.old_arena().Hashes(table.OldRef(both), 3, read_hashes);
  EXPECT_EQ(std::vector<uint64_t>(read_hashes, read_hashes + 3), hashes);
  EXPECT_EQ(table.new_arena().Key(table.NewRef(both)), "both");
  EXPECT_EQ(table.new_arena().Row(table.NewRef(both), 0), "new row 4");
  EXPECT_EQ(table.Key(both), "both");

  // A record copied with its link (a table spill read back) links as the original did.
  const uint64_t old_ref = table.old_arena().AddRecord("x");
  const uint64_t linked = table.new_arena().AddRecordLinked(old_ref, "record");
  EXPECT_EQ(table.new_arena().Link(linked), old_ref);
  EXPECT_EQ(std::string_view(table.new_arena().At(linked), 6), "record");
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
