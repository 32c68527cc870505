// End-to-end: the bundled sample exports (examples/landing/tenant/test_table), delivered one
// version at a time as the reference pipeline's README uploads them, through `snapdelta run`.
// The expected counts are those the reference pipeline documents for these files.
#include <gtest/gtest.h>

#include <array>

#include "change_checks.h"
#include "harness.h"

namespace snapdelta::testing {
namespace {

struct SeedImport {
  const char* version;
  const char* file;
  uint64_t rows;
  ChangeCounts counts;
};

constexpr std::array<SeedImport, 3> kSeedImports = {{
    {"20201230_V0001", "export1.csv.gz", 1000, {1000, 0, 0}},
    {"20201230_V0002", "export2.csv.gz", 1010, {30, 50, 20}},
    {"20201231_V0001", "export3.csv.gz", 1005, {5, 100, 10}},
}};

fs::path SeedTable() { return ExamplesLanding() / "tenant" / "test_table"; }

ChangeFileSpec SpecFor(const SeedImport& import) {
  return {"tenant", "test_table", import.version, {"PK"}};
}

class SeedExports : public ::testing::Test {
 protected:
  // Copies one version folder of the sample into the landing zone.
  void Deliver(const SeedImport& import) {
    CopyTree(SeedTable() / import.version, landing_ / "tenant" / "test_table" / import.version);
  }

  CommandResult Run() {
    return RunSnapdelta({"run", "--landing", landing_.string(), "--home", home_.string()});
  }

  // Delivers `import` and runs; false (after a failure) unless `run` exits 0.
  bool DeliverAndRun(const SeedImport& import) {
    Deliver(import);
    const CommandResult run = Run();
    EXPECT_EQ(run.exit_code, 0) << run.Describe();
    return run.ok();
  }

  TempDir tmp_{"snapdelta-seed"};
  const fs::path landing_ = tmp_ / "landing";
  const fs::path home_ = tmp_ / "home";
};

TEST_F(SeedExports, OneVersionAtATimeYieldsTheDocumentedCountsInChangeFilesAndStatus) {
  for (const SeedImport& import : kSeedImports) {
    SCOPED_TRACE(import.version);
    ASSERT_TRUE(DeliverAndRun(import));
    const ChangeFileSpec spec = SpecFor(import);
    const std::vector<nlohmann::json> events = ReadJsonLines(ChangeFilePath(home_, spec));
    EXPECT_EQ(CheckEnvelopes(events, spec), import.counts);

    const std::vector<nlohmann::json> entries =
        StatusEntries(ReadStatus(home_), "tenant", "test_table", import.version);
    ASSERT_EQ(entries.size(), 1u) << nlohmann::json(entries);
    const nlohmann::json& entry = entries[0];
    EXPECT_EQ(entry.value("state", ""), "committed") << entry;
    EXPECT_EQ(entry.value("file", ""), import.file) << entry;
    EXPECT_EQ(entry.value("rows", nlohmann::json()), import.rows) << entry;
    const ChangeCounts reported{entry.value("inserts", uint64_t{0}),
                                entry.value("updates", uint64_t{0}),
                                entry.value("deletes", uint64_t{0})};
    EXPECT_EQ(reported, import.counts) << entry;
  }
}

TEST_F(SeedExports, EventsMatchASqlFullOuterJoinOfConsecutiveExports) {
  fs::path previous;
  for (const SeedImport& import : kSeedImports) {
    SCOPED_TRACE(import.version);
    ASSERT_TRUE(DeliverAndRun(import));
    const fs::path export_file = SeedTable() / import.version / import.file;
    const ExpectedChanges oracle = SqlOracleDiff(previous, export_file, {"PK"}, tmp_.path());
    ASSERT_EQ(CountOf(oracle), import.counts) << "the oracle disagrees with EXPECTED.md";
    ExpectEventsMatch(ReadJsonLines(ChangeFilePath(home_, SpecFor(import))), oracle);
    previous = export_file;
  }
}

TEST_F(SeedExports, EachRunLeavesEarlierChangeFilesAloneAndARerunChangesNothing) {
  const fs::path changes = home_ / "changes";
  for (const SeedImport& import : kSeedImports) {
    SCOPED_TRACE(import.version);
    const auto before = SnapshotTree(changes);
    ASSERT_TRUE(DeliverAndRun(import));
    auto after = SnapshotTree(changes);
    const std::string new_file =
        fs::relative(ChangeFilePath(home_, SpecFor(import)), changes).string();
    EXPECT_EQ(after.erase(new_file), 1u) << "no change file " << new_file;
    EXPECT_TRUE(after == before) << "a run rewrote or added other change files";
  }

  const auto changes_before = SnapshotTree(changes);
  const nlohmann::json status_before = StableStatus(ReadStatus(home_));
  const CommandResult rerun = Run();
  EXPECT_EQ(rerun.exit_code, 0) << rerun.Describe();
  EXPECT_TRUE(SnapshotTree(changes) == changes_before) << "a rerun rewrote change files";
  EXPECT_EQ(StableStatus(ReadStatus(home_)), status_before);
}

}  // namespace
}  // namespace snapdelta::testing
