// End-to-end behaviour of `snapdelta run --dry-run` and `snapdelta diff --stats-only`: counts
// equal to the real import's, chains of pending exports, guards, and a home folder left
// byte-for-byte as it was.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <xxhash.h>

#include "harness.h"

namespace snapdelta::testing {
namespace {

// Rows first..last of the export "id,name,amount", every amount equal to `amount`.
std::string Rows(int first, int last, const std::string& amount) {
  std::string rows;
  for (int id = first; id <= last; ++id) {
    rows += std::to_string(id) + ",name " + std::to_string(id) + "," + amount + "\n";
  }
  return rows;
}

std::string MakeCsv(int first, int last, const std::string& amount) {
  return "id,name,amount\n" + Rows(first, last, amount);
}

// Relative path -> hex XXH3-128 of every file under `root`: also catches files added or removed.
std::map<std::string, std::string> Checksums(const fs::path& root) {
  std::map<std::string, std::string> sums;
  for (const auto& [path, content] : SnapshotTree(root)) {
    XXH128_hash_t hash = XXH3_128bits(content.data(), content.size());
    sums[path] = fmt::format("{:016x}{:016x}", hash.high64, hash.low64);
  }
  return sums;
}

class DryRun : public ::testing::Test {
 protected:
  void Deliver(const std::string& version, const std::string& csv) {
    WriteFile(landing_ / "acme" / "orders" / version / "export.csv", csv);
  }
  CommandResult Run(const RunOptions& options = {}) {
    return RunSnapdelta({"run", "--landing", landing_.string(), "--home", home_.string()}, options);
  }
  CommandResult DryRunText() {
    return RunSnapdelta(
        {"run", "--landing", landing_.string(), "--home", home_.string(), "--dry-run"}, Env());
  }
  // The dry run's JSON array; `exit_code` receives its exit status.
  nlohmann::json DryRunJson(int* exit_code = nullptr) {
    CommandResult result = RunSnapdelta(
        {"run", "--landing", landing_.string(), "--home", home_.string(), "--dry-run", "--json"},
        Env());
    if (exit_code != nullptr) *exit_code = result.exit_code;
    EXPECT_LE(result.exit_code, 1) << result.Describe();
    return ParseJson(result.out, "run --dry-run --json");
  }
  // Temporary states go under tmp_/scratch, so a test can check they were removed.
  RunOptions Env() const {
    RunOptions options;
    options.env = {"TMPDIR=" + scratch_.string()};
    return options;
  }
  // The committed import of `version`, from `status --json`.
  nlohmann::json Committed(const std::string& version) {
    CommandResult status = RunSnapdelta({"status", "--home", home_.string(), "--json"});
    EXPECT_EQ(status.exit_code, 0) << status.Describe();
    for (const nlohmann::json& import : ParseJson(status.out, "status --json")) {
      if (import["version"] == version && import["state"] == "committed") return import;
    }
    ADD_FAILURE() << "no committed import of " << version << ":\n" << status.out;
    return nlohmann::json::object();
  }

  void SetUp() override { fs::create_directories(scratch_); }

  TempDir tmp_{"snapdelta-dry-run"};
  const fs::path landing_ = tmp_ / "landing";
  const fs::path home_ = tmp_ / "home";
  const fs::path scratch_ = tmp_ / "scratch";
};

TEST_F(DryRun, ReportsAFirstExportAsAllInsertsWithoutCreatingTheHome) {
  Deliver("v1", MakeCsv(1, 100, "1"));
  int exit_code = -1;
  nlohmann::json imports = DryRunJson(&exit_code);
  EXPECT_EQ(exit_code, 0);
  ASSERT_EQ(imports.size(), 1u) << imports.dump(1);
  EXPECT_EQ(imports[0]["action"], "commit");
  EXPECT_EQ(imports[0]["version"], "v1");
  EXPECT_EQ(imports[0]["rows"], 100);
  EXPECT_EQ(imports[0]["inserts"], 100);
  EXPECT_EQ(imports[0]["updates"], 0);
  EXPECT_EQ(imports[0]["deletes"], 0);
  EXPECT_EQ(imports[0]["previous_rows"], 0);
  EXPECT_FALSE(fs::exists(home_));
  EXPECT_TRUE(fs::is_empty(scratch_));
}

TEST_F(DryRun, PrintsAJsonArrayWhoseObjectsHaveEveryKey) {
  Deliver("v1", MakeCsv(1, 10, "1"));
  for (const nlohmann::json& import : DryRunJson()) {
    for (const char* key :
         {"tenant", "table", "version", "file", "action", "reason", "rows", "inserts", "updates",
          "deletes", "previous_rows", "delete_ratio", "change_ratio"}) {
      EXPECT_TRUE(import.contains(key)) << key << " missing in " << import.dump();
    }
  }
  CommandResult json_alone =
      RunSnapdelta({"run", "--landing", landing_.string(), "--home", home_.string(), "--json"});
  EXPECT_EQ(json_alone.exit_code, 2) << json_alone.Describe();
}

TEST_F(DryRun, CountsOfAPendingExportEqualThoseOfTheRealImport) {
  Deliver("v1", MakeCsv(1, 100, "1"));
  ASSERT_EQ(Run().exit_code, 0);
  Deliver("v2", MakeCsv(21, 100, "1") + Rows(101, 130, "1"));  // -20, +30
  std::string v2 = ReadFile(landing_ / "acme/orders/v2/export.csv");
  v2.replace(v2.find("50,name 50,1"), 12, "50,name 50,9");  // one update
  WriteFile(landing_ / "acme/orders/v2/export.csv", v2);

  nlohmann::json imports = DryRunJson();
  ASSERT_EQ(imports.size(), 1u) << imports.dump(1);
  EXPECT_EQ(imports[0]["action"], "commit");
  EXPECT_EQ(imports[0]["inserts"], 30);
  EXPECT_EQ(imports[0]["updates"], 1);
  EXPECT_EQ(imports[0]["deletes"], 20);
  EXPECT_EQ(imports[0]["previous_rows"], 100);
  EXPECT_DOUBLE_EQ(imports[0]["delete_ratio"].get<double>(), 0.20);
  EXPECT_DOUBLE_EQ(imports[0]["change_ratio"].get<double>(), 0.51);

  ASSERT_EQ(Run().exit_code, 0);
  nlohmann::json real = Committed("v2");
  for (const char* key : {"rows", "inserts", "updates", "deletes"}) {
    EXPECT_EQ(imports[0][key], real[key]) << key;
  }
}

TEST_F(DryRun, DiffsTheSecondPendingExportOfAChainAgainstTheFirst) {
  Deliver("v1", MakeCsv(1, 10, "1"));
  Deliver("v2", MakeCsv(1, 10, "2"));                      // v1 -> v2: 10 updates
  Deliver("v3", MakeCsv(1, 10, "2") + Rows(11, 11, "2"));  // v2 -> v3: 1 insert
  nlohmann::json imports = DryRunJson();
  ASSERT_EQ(imports.size(), 3u) << imports.dump(1);
  EXPECT_EQ(imports[0]["inserts"], 10);
  EXPECT_EQ(imports[1]["updates"], 10);
  EXPECT_EQ(imports[1]["previous_rows"], 10);
  EXPECT_EQ(imports[2]["version"], "v3");
  EXPECT_EQ(imports[2]["inserts"], 1);
  EXPECT_EQ(imports[2]["updates"], 0);
  EXPECT_EQ(imports[2]["previous_rows"], 10);
  EXPECT_TRUE(fs::is_empty(scratch_)) << "temporary states were left behind";
}

TEST_F(DryRun, ShowsThatATruncatedExportWouldBeHeldAndTheNextDiffedAgainstTheLastCommit) {
  Deliver("v1", MakeCsv(1, 10, "1"));
  ASSERT_EQ(Run().exit_code, 0);
  Deliver("v2", MakeCsv(1, 3, "1"));   // deletes 7 of 10 rows: above max_delete_ratio 0.5
  Deliver("v3", MakeCsv(1, 10, "1"));  // the held v2 leaves v1 committed: no changes
  int exit_code = -1;
  nlohmann::json imports = DryRunJson(&exit_code);
  EXPECT_EQ(exit_code, 1);
  ASSERT_EQ(imports.size(), 2u) << imports.dump(1);
  EXPECT_EQ(imports[0]["action"], "hold");
  EXPECT_EQ(imports[0]["deletes"], 7);
  EXPECT_NE(imports[0]["reason"].get<std::string>().find("max_delete_ratio"), std::string::npos);
  EXPECT_EQ(imports[1]["action"], "commit");
  EXPECT_EQ(imports[1]["inserts"], 0);
  EXPECT_EQ(imports[1]["updates"], 0);

  CommandResult text = DryRunText();
  EXPECT_EQ(text.exit_code, 1) << text.Describe();
  EXPECT_NE(text.out.find("hold   acme/orders/v2/export.csv"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("deletes 70.0% of 10 previous rows"), std::string::npos) << text.out;
}

TEST_F(DryRun, ReportsAMalformedExportAsAFailure) {
  Deliver("v1", "id,name,amount\n1,\"unterminated,1\n");
  int exit_code = -1;
  nlohmann::json imports = DryRunJson(&exit_code);
  EXPECT_EQ(exit_code, 1);
  ASSERT_EQ(imports.size(), 1u) << imports.dump(1);
  EXPECT_EQ(imports[0]["action"], "fail");
  EXPECT_NE(imports[0]["reason"].get<std::string>().find("export.csv:2"), std::string::npos)
      << imports[0].dump();
}

TEST_F(DryRun, LeavesTheRegistryStatesAndChangeFilesByteForByteUnchanged) {
  Deliver("v2", MakeCsv(1, 50, "1"));
  ASSERT_EQ(Run().exit_code, 0);
  Deliver("v3", MakeCsv(1, 50, "3"));
  // A run killed after marking v3 running leaves it pending in the registry.
  RunOptions crash;
  crash.env = {"SNAPDELTA_CRASH_AT=import.after_running"};
  CommandResult crashed = Run(crash);
  ASSERT_NE(crashed.exit_code, 0) << crashed.Describe();
  Deliver("v4", MakeCsv(1, 20, "4"));  // would be held
  Deliver("v5", MakeCsv(1, 50, "5"));
  Deliver("v1", MakeCsv(1, 50, "0"));  // stale
  fs::path v2 = landing_ / "acme/orders/v2/export.csv";
  fs::last_write_time(v2, fs::last_write_time(v2) + std::chrono::seconds(5));  // same bytes

  const auto before = Checksums(home_);
  ASSERT_TRUE(before.contains("registry.db"));
  ASSERT_TRUE(before.contains("state/acme/orders/v2.state"));
  ASSERT_TRUE(before.contains("changes/acme/orders/v2.jsonl"));
  nlohmann::json imports = DryRunJson();
  CommandResult text = DryRunText();
  EXPECT_EQ(Checksums(home_), before);
  EXPECT_TRUE(fs::is_empty(scratch_));

  ASSERT_EQ(imports.size(), 5u) << imports.dump(1);
  std::map<std::string, std::string> actions;
  for (const nlohmann::json& import : imports) actions[import["version"]] = import["action"];
  EXPECT_EQ(
      actions,
      (std::map<std::string, std::string>{
          {"v1", "skip"}, {"v2", "skip"}, {"v3", "commit"}, {"v4", "hold"}, {"v5", "commit"}}));
  EXPECT_EQ(imports[2]["updates"], 50);  // v3 against the committed v2
  EXPECT_EQ(imports[4]["updates"], 50);  // v5 against v3, v4 being held
  EXPECT_EQ(imports[4]["deletes"], 0);
  EXPECT_NE(text.out.find("re-upload of identical content"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("stale"), std::string::npos) << text.out;
}

TEST_F(DryRun, DiffStatsOnlyPrintsCountsAndRatiosAndWritesNoEvents) {
  WriteFile(tmp_ / "old.csv", "id,a\n1,x\n2,x\n3,x\n4,x\n");
  WriteFile(tmp_ / "new.csv", "id,a\n1,X\n3,x\n5,x\n");
  std::string old_csv = (tmp_ / "old.csv").string(), new_csv = (tmp_ / "new.csv").string();
  CommandResult line = RunSnapdelta({"diff", old_csv, new_csv, "--stats-only"});
  ASSERT_EQ(line.exit_code, 0) << line.Describe();
  EXPECT_NE(line.out.find("1 INSERT, 1 UPDATE, 2 DELETE"), std::string::npos) << line.out;
  EXPECT_NE(line.out.find("deletes 50.0% and changes 100.0% of OLD's 4 rows"), std::string::npos)
      << line.out;
  EXPECT_EQ(line.out.find("\"op\""), std::string::npos) << "events on stdout: " << line.out;

  CommandResult json = RunSnapdelta({"diff", old_csv, new_csv, "--stats-only", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.Describe();
  nlohmann::json stats = ParseJson(json.out, "diff --stats-only --json");
  EXPECT_EQ(stats["old_rows"], 4);
  EXPECT_EQ(stats["inserts"], 1);
  EXPECT_EQ(stats["updates"], 1);
  EXPECT_EQ(stats["deletes"], 2);
  EXPECT_DOUBLE_EQ(stats["delete_ratio"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(stats["change_ratio"].get<double>(), 1.0);

  fs::path out = tmp_ / "events.jsonl";
  CommandResult with_output =
      RunSnapdelta({"diff", old_csv, new_csv, "--stats-only", "-o", out.string()});
  EXPECT_EQ(with_output.exit_code, 2) << with_output.Describe();
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace snapdelta::testing
