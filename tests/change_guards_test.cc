#include <gtest/gtest.h>

#include "pipeline/guards.h"

namespace snapdelta {
namespace {

TEST(ChangeGuards, HoldAnImportDeletingMoreThanHalfByDefault) {
  TableOptions options;
  ImportCounts truncated{1000, 0, 0, 9000};
  std::optional<std::string> held = TrippedGuard(options, truncated, 10000, false);
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(*held, "max_delete_ratio: 9000 of 10000 previous rows deleted (0.900 > 0.500)");
  EXPECT_FALSE(TrippedGuard(options, ImportCounts{10000, 10, 10, 5000}, 10000, false));
}

TEST(ChangeGuards, ExemptTheFirstImportFromRatiosButNotFromMinRows) {
  TableOptions options;
  options.max_change_ratio = 0.1;
  options.min_rows = 1;
  EXPECT_FALSE(TrippedGuard(options, ImportCounts{500, 500, 0, 0}, 0, true));
  std::optional<std::string> empty = TrippedGuard(options, ImportCounts{0, 0, 0, 0}, 0, true);
  ASSERT_TRUE(empty.has_value());
  EXPECT_NE(empty->find("min_rows: the export has 0 rows"), std::string::npos);
}

TEST(ChangeGuards, HoldAnImportChangingTooMuchWhenConfigured) {
  TableOptions options;
  options.max_change_ratio = 0.2;
  std::optional<std::string> held = TrippedGuard(options, ImportCounts{100, 10, 20, 0}, 100, false);
  ASSERT_TRUE(held.has_value());
  EXPECT_NE(held->find("max_change_ratio: 10 inserted, 20 updated and 0 deleted of 100"),
            std::string::npos);
  options.max_delete_ratio.reset();
  options.max_change_ratio.reset();
  EXPECT_FALSE(TrippedGuard(options, ImportCounts{0, 0, 0, 100}, 100, false));
}

}  // namespace
}  // namespace snapdelta
