// The generator (snapdelta-gen) on its own: its chains must hold exactly the deltas its
// truth.json claims (checked by the sqlite3 FULL OUTER JOIN oracle), its data must be of the kind
// gen_exports.py makes, and it must be deterministic per seed. These tests do not need snapdelta.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "change_checks.h"
#include "harness.h"

namespace snapdelta::testing {
namespace {

CommandResult Gen(const fs::path& out_dir, std::vector<std::string> args) {
  args.insert(args.begin(), {GenBin().string(), out_dir.string()});
  return RunCommand(args);
}

TEST(Generator, RejectsBadArgumentsWithExitStatus2) {
  TempDir tmp("snapdelta-gen");
  const std::vector<std::vector<std::string>> bad = {
      {GenBin().string()},
      {GenBin().string(), tmp.path().string(), "--rows", "many"},
      {GenBin().string(), tmp.path().string(), "--no-such-flag"},
      {GenBin().string(), tmp.path().string(), "--exports", "0"},
      {GenBin().string(), tmp.path().string(), "--update-pct", "80", "--delete-pct", "30"},
      {GenBin().string(), tmp.path().string(), "--landing", "tenant-only"},
      {GenBin().string(), tmp.path().string(), "--landing", "a/b/c"},
  };
  for (const auto& argv : bad) {
    const CommandResult result = RunCommand(argv);
    EXPECT_EQ(result.exit_code, 2) << result.Describe();
    EXPECT_FALSE(result.err.empty()) << result.Describe();
  }
}

TEST(Generator, NastyCompositeChainHoldsExactlyTheDeltasOfItsTruth) {
  TempDir tmp("snapdelta-gen");
  const fs::path out = tmp / "out";
  const CommandResult result = Gen(out, {"--rows", "2000", "--exports", "3", "--nasty",
                                         "--composite-key", "--gzip", "--update-pct", "10"});
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  const nlohmann::json truth = ParseJson(ReadFile(out / "truth.json"), "truth.json");
  ASSERT_EQ(truth["key"], nlohmann::json({"region", "id"}));
  ASSERT_EQ(truth["exports"].size(), 3u) << truth;

  fs::path previous;
  std::set<std::string> changed_columns;
  for (const nlohmann::json& e : truth["exports"]) {
    const fs::path file = out / e["export"].get<std::string>();
    const ExpectedChanges oracle = SqlOracleDiff(previous, file, {"region", "id"}, tmp.path());
    const ChangeCounts truth_counts{e["insert"].get<uint64_t>(), e["update"].get<uint64_t>(),
                                    e["delete"].get<uint64_t>()};
    EXPECT_EQ(CountOf(oracle), truth_counts) << file;
    for (const auto& [key, change] : oracle) {
      changed_columns.insert(change.changed.begin(), change.changed.end());
    }
    previous = file;
  }
  EXPECT_EQ(truth["exports"][1]["update"], 200);
  EXPECT_EQ(truth["exports"][1]["rows"], 2000 - 40 + 60);
  EXPECT_EQ(changed_columns,
            (std::set<std::string>{"email", "city", "balance", "created_at", "status", "notes"}));

  const std::string text = ReadDecompressed(out / "export3.csv.gz");
  for (const char* fragment :
       {"\"say \"\"hi\"\"\"", "\"a,b,c\"", "\"line1\nline2\"", "\"crlf\r\nend\"", "\"  padded  \"",
        "naïve café ☕", "tab\tsep", ",\"\"\"\"\"\"", ",NULL", "(edit "}) {
    EXPECT_NE(text.find(fragment), std::string::npos) << "no " << fragment;
  }
}

TEST(Generator, SameSeedGivesTheSameBytesAndAnotherSeedDoesNot) {
  TempDir tmp("snapdelta-gen");
  for (const char* name : {"a", "b"}) {
    ASSERT_EQ(Gen(tmp / name, {"--rows", "500", "--exports", "2", "--seed", "7"}).exit_code, 0);
  }
  ASSERT_EQ(Gen(tmp / "c", {"--rows", "500", "--exports", "2", "--seed", "8"}).exit_code, 0);
  EXPECT_TRUE(SnapshotTree(tmp / "a") == SnapshotTree(tmp / "b"));
  EXPECT_NE(ReadFile(tmp / "a" / "export2.csv"), ReadFile(tmp / "c" / "export2.csv"));
}

TEST(Generator, LandingLayoutHasSortableVersionFoldersAndNoLeftovers) {
  TempDir tmp("snapdelta-gen");
  const CommandResult result =
      Gen(tmp.path(), {"--rows", "100", "--exports", "3", "--gzip", "--landing", "t1/items"});
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  std::set<std::string> files;
  for (const auto& [path, content] : SnapshotTree(tmp.path())) files.insert(path);
  EXPECT_EQ(files,
            (std::set<std::string>{"t1/items/v0001/export1.csv.gz", "t1/items/v0002/export2.csv.gz",
                                   "t1/items/v0003/export3.csv.gz", "truth.json"}));
  const nlohmann::json truth = ParseJson(ReadFile(tmp / "truth.json"), "truth.json");
  EXPECT_EQ(truth["exports"][2]["version"], "v0003") << truth;
  EXPECT_EQ(truth["exports"][0]["insert"], 100) << truth;
  const std::string first = ReadDecompressed(tmp / "t1/items/v0001/export1.csv.gz");
  EXPECT_EQ(first.substr(0, first.find('\n')),
            "id,first_name,last_name,email,city,balance,created_at,status,notes");
}

}  // namespace
}  // namespace snapdelta::testing
