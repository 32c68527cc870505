#include "diff/fingerprint.h"

#include <gtest/gtest.h>

#include <vector>

namespace snapdelta {
namespace {

Fingerprint Of(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  std::vector<uint64_t> name_hashes, value_hashes;
  for (size_t i = 0; i < names.size(); ++i) {
    name_hashes.push_back(NameHash(names[i]));
    value_hashes.push_back(values[i].empty() ? kAbsent : ValueHash(values[i]));
  }
  return CombineFingerprint(name_hashes, value_hashes);
}

TEST(Fingerprint, DiffersWhenAnyValueDiffers) {
  EXPECT_EQ(Of({"a", "b"}, {"1", "2"}), Of({"a", "b"}, {"1", "2"}));
  EXPECT_NE(Of({"a", "b"}, {"1", "2"}), Of({"a", "b"}, {"1", "3"}));
  EXPECT_NE(Of({"a", "b"}, {"1", "2"}), Of({"a", "b"}, {"2", "1"}));
}

TEST(Fingerprint, DistinguishesValuesMovedBetweenColumns) {
  EXPECT_NE(Of({"a", "b"}, {"x", ""}), Of({"a", "b"}, {"", "x"}));
  EXPECT_NE(Of({"a", "b"}, {"ab", "c"}), Of({"a", "b"}, {"a", "bc"}));
}

TEST(Fingerprint, IgnoresAColumnAddedWithEmptyValues) {
  EXPECT_EQ(Of({"a", "b"}, {"1", "2"}), Of({"a", "b", "c"}, {"1", "2", ""}));
  EXPECT_NE(Of({"a", "b"}, {"1", "2"}), Of({"a", "b", "c"}, {"1", "2", "x"}));
}

TEST(Fingerprint, ValueHashIsNeverTheAbsentMarker) {
  EXPECT_NE(ValueHash(""), kAbsent);
  EXPECT_NE(ValueHash("x"), kAbsent);
}

TEST(KeyEncoding, RoundTripsCompositeKeysWithoutAmbiguity) {
  std::string ab_c, a_bc;
  AppendKeyPart(&ab_c, "ab");
  AppendKeyPart(&ab_c, "c");
  AppendKeyPart(&a_bc, "a");
  AppendKeyPart(&a_bc, "bc");
  EXPECT_NE(ab_c, a_bc);
  EXPECT_NE(DigestKey(ab_c), DigestKey(a_bc));
  EXPECT_NE(DigestKey(ab_c).high, 0u);
  std::vector<std::string_view> parts;
  ASSERT_TRUE(DecodeKey(ab_c, &parts));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], "ab");
  EXPECT_EQ(parts[1], "c");
}

TEST(KeyEncoding, RejectsTruncatedKeys) {
  std::string key;
  AppendKeyPart(&key, "hello");
  key.pop_back();
  std::vector<std::string_view> parts;
  EXPECT_FALSE(DecodeKey(key, &parts));
}

}  // namespace
}  // namespace snapdelta
