// End-to-end: chains of generated exports (snapdelta-gen) delivered one version at a time through
// `snapdelta run`. Every change file is checked against two oracles that share no code with the
// engine: the generator's truth.json counts, and a SQL FULL OUTER JOIN of the previous and the
// new export computed by the sqlite3 shell (the op of every key, and the full new row).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "change_checks.h"
#include "harness.h"

namespace snapdelta::testing {
namespace {

constexpr char kTenant[] = "acme";
constexpr char kTable[] = "orders";

struct ChainCase {
  const char* name;
  bool nasty;
  bool composite_key;
  bool gzip;
  uint64_t seed;
  int rows;
};

std::ostream& operator<<(std::ostream& os, const ChainCase& c) { return os << c.name; }

class GeneratedChain : public ::testing::TestWithParam<ChainCase> {
 protected:
  void SetUp() override {
    const ChainCase& c = GetParam();
    std::vector<std::string> gen = {GenBin().string(), gen_dir_.string(),
                                    "--rows",          std::to_string(c.rows),
                                    "--exports",       "3",
                                    "--seed",          std::to_string(c.seed),
                                    "--landing",       std::string(kTenant) + "/" + kTable};
    if (c.nasty) gen.push_back("--nasty");
    if (c.composite_key) gen.push_back("--composite-key");
    if (c.gzip) gen.push_back("--gzip");
    const CommandResult result = RunCommand(gen);
    ASSERT_EQ(result.exit_code, 0) << result.Describe();
    truth_ = ParseJson(ReadFile(gen_dir_ / "truth.json"), "truth.json");
    ASSERT_TRUE(truth_.contains("exports") && truth_["exports"].size() == 3) << truth_;
    key_ = truth_["key"].get<std::vector<std::string>>();

    std::string key_list;
    for (const std::string& column : key_)
      key_list += (key_list.empty() ? "\"" : ", \"") + column + "\"";
    WriteFile(config_, std::string("[tables.") + kTable + "]\nkey = [" + key_list + "]\n");
  }

  CommandResult Run() {
    return RunSnapdelta({"run", "--landing", landing_.string(), "--home", home_.string(),
                         "--config", config_.string()});
  }

  fs::path GeneratedVersion(const std::string& version) const {
    return gen_dir_ / kTenant / kTable / version;
  }

  // Checks the status entry of `version` against the truth of that export.
  void ExpectCommittedInStatus(const nlohmann::json& truth_export) {
    const std::vector<nlohmann::json> entries = StatusEntries(
        ReadStatus(home_), kTenant, kTable, truth_export["version"].get<std::string>());
    ASSERT_EQ(entries.size(), 1u) << nlohmann::json(entries);
    const nlohmann::json& entry = entries[0];
    EXPECT_EQ(entry.value("state", ""), "committed") << entry;
    EXPECT_EQ(entry.value("file", nlohmann::json()), truth_export["export"]) << entry;
    EXPECT_EQ(entry.value("rows", nlohmann::json()), truth_export["rows"]) << entry;
    EXPECT_EQ(entry.value("inserts", nlohmann::json()), truth_export["insert"]) << entry;
    EXPECT_EQ(entry.value("updates", nlohmann::json()), truth_export["update"]) << entry;
    EXPECT_EQ(entry.value("deletes", nlohmann::json()), truth_export["delete"]) << entry;
  }

  TempDir tmp_{"snapdelta-oracle"};
  const fs::path gen_dir_ = tmp_ / "generated";
  const fs::path landing_ = tmp_ / "landing";
  const fs::path home_ = tmp_ / "home";
  const fs::path config_ = tmp_ / "snapdelta.toml";
  const fs::path work_dir_ = tmp_.path();
  nlohmann::json truth_;
  std::vector<std::string> key_;
};

ChangeCounts TruthCounts(const nlohmann::json& truth_export) {
  return {truth_export["insert"].get<uint64_t>(), truth_export["update"].get<uint64_t>(),
          truth_export["delete"].get<uint64_t>()};
}

TEST_P(GeneratedChain, EveryChangeFileMatchesTruthAndASqlFullOuterJoin) {
  fs::path previous;
  for (const nlohmann::json& truth_export : truth_["exports"]) {
    const std::string version = truth_export["version"].get<std::string>();
    SCOPED_TRACE(version);
    CopyTree(GeneratedVersion(version), landing_ / kTenant / kTable / version);
    const CommandResult run = Run();
    ASSERT_EQ(run.exit_code, 0) << run.Describe();

    const ChangeFileSpec spec{kTenant, kTable, version, key_};
    const std::vector<nlohmann::json> events = ReadJsonLines(ChangeFilePath(home_, spec));
    EXPECT_EQ(CheckEnvelopes(events, spec), TruthCounts(truth_export));

    const fs::path export_file =
        GeneratedVersion(version) / truth_export["export"].get<std::string>();
    const ExpectedChanges oracle = SqlOracleDiff(previous, export_file, key_, work_dir_);
    ASSERT_EQ(CountOf(oracle), TruthCounts(truth_export)) << "SQL oracle vs truth.json";
    ExpectEventsMatch(events, oracle);
    ExpectCommittedInStatus(truth_export);
    previous = export_file;
  }

  const auto changes_before = SnapshotTree(home_ / "changes");
  const nlohmann::json status_before = StableStatus(ReadStatus(home_));
  const CommandResult rerun = Run();
  EXPECT_EQ(rerun.exit_code, 0) << rerun.Describe();
  EXPECT_TRUE(SnapshotTree(home_ / "changes") == changes_before) << "a rerun rewrote change files";
  EXPECT_EQ(StableStatus(ReadStatus(home_)), status_before);
}

INSTANTIATE_TEST_SUITE_P(
    Chains, GeneratedChain,
    ::testing::Values(ChainCase{"NastyCompositeKeyGzip", true, true, true, 11, 3000},
                      ChainCase{"PlainSingleKey", false, false, false, 12, 3000}),
    [](const ::testing::TestParamInfo<ChainCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace snapdelta::testing
