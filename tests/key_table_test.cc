// KeyTable's digest-ordered walk at the end of a partition: slices cut at empty slots that
// together give every picked key once, in digest order, including the keys whose probe run
// wrapped from the table's end to its start.
#include "diff/key_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace snapdelta
