// What an operator sees: log lines per step (`--log-format text|json`, `--log-level`), the
// progress lines of a run on a terminal (and none when stderr is piped), and `status` as an
// aligned table with the status page's columns.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "harness.h"

namespace snapdelta::testing {
namespace {

// The sample exports, run once; then a version deleting every row, held by the default guard.
class Operate : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(ExamplesLanding(), tmp_ / "landing", fs::copy_options::recursive);
  }

  CommandResult Run(std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", "--landing", (tmp_ / "landing").string(), "--home",
                                     (tmp_ / "home").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunSnapdelta(args);
  }

  // Adds a version after the newest with the header only: every row deleted (held).
  std::string AddEmptyVersion() {
    return "tenant/test_table/" + AddShrunkVersion(tmp_ / "landing" / "tenant" / "test_table", 1);
  }

  nlohmann::json Imports() {
    CommandResult status = RunSnapdelta({"status", "--home", (tmp_ / "home").string(), "--json"});
    EXPECT_EQ(status.exit_code, 0) << status.Describe();
    return ParseJson(status.out, "status --json");
  }

  TempDir tmp_{"snapdelta-operate"};
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

TEST_F(Operate, JsonLogsFollowEveryImportStepByStepWithTheCountsStatusShows) {
  CommandResult run = Run({"--log-format", "json", "--log-level", "info"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  const std::string held = AddEmptyVersion();
  CommandResult again = Run({"--log-level=info", "--log-format=json"});
  ASSERT_EQ(again.exit_code, 1) << again.Describe();

  // step -> version -> line
  std::map<std::string, std::map<std::string, nlohmann::json>> steps;
  for (const std::string& line : Lines(run.err + again.err)) {
    nlohmann::json entry = ParseJson(line, "a log line");
    ASSERT_TRUE(entry.contains("time") && entry.contains("level") && entry.contains("step"))
        << line;
    EXPECT_TRUE(std::regex_match(entry["time"].get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << line;
    const std::string step = entry["step"];
    if (entry.contains("version")) steps[step][entry["version"].get<std::string>()] = entry;
    if (step == "leased") {
      EXPECT_EQ(entry["tenant"], "tenant") << line;
      EXPECT_GT(entry["token"].get<int64_t>(), 0) << line;
    }
  }
  const nlohmann::json imports = Imports();
  ASSERT_EQ(imports.size(), 4u);
  for (const nlohmann::json& import : imports) {
    const std::string version = import["version"];
    ASSERT_TRUE(steps["discovered"].count(version)) << version;
    EXPECT_EQ(steps["discovered"][version]["bytes"], import["size"]);
    ASSERT_TRUE(steps["diffed"].count(version)) << version;
    const nlohmann::json& diffed = steps["diffed"][version];
    for (const char* count : {"rows", "inserts", "updates", "deletes"}) {
      EXPECT_EQ(diffed[count], import[count]) << count << " of " << version;
    }
    EXPECT_TRUE(diffed.contains("ms") && diffed.contains("rows_per_s")) << diffed.dump();
    if (import["state"] == "committed") {
      ASSERT_TRUE(steps["committed"].count(version)) << version;
      EXPECT_EQ(steps["committed"][version]["level"], "info");
      EXPECT_EQ(steps["committed"][version]["inserts"], import["inserts"]);
    } else {
      ASSERT_EQ(import["state"], "held");
      ASSERT_TRUE(steps["held"].count(version)) << version;
      EXPECT_EQ(steps["held"][version]["level"], "warn");
      EXPECT_EQ(steps["held"][version]["release"], "snapdelta release " + held);
      EXPECT_FALSE(steps["committed"].count(version));
    }
  }
  EXPECT_EQ(steps["leased"].size(), 0u) << "leased names the table, not a version";
}

TEST_F(Operate, TextLogsAreOneLinePerStepAndRunLogsOnlyWarningsByDefault) {
  CommandResult run = Run({"--log-level", "debug"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  const std::regex line_format(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) [a-z]+( [a-z_]+=("([^"\\]|\\.)*"|[^ "]+))*)");
  std::multiset<std::string> seen;
  for (const std::string& line : Lines(run.err)) {
    EXPECT_TRUE(std::regex_match(line, line_format)) << line;
    std::smatch step;
    if (std::regex_search(line, step, std::regex("Z [A-Z]+ +([a-z]+)"))) seen.insert(step[1]);
  }
  EXPECT_EQ(seen.count("discovered"), 3u) << run.err;
  EXPECT_EQ(seen.count("diffed"), 3u) << run.err;
  EXPECT_EQ(seen.count("committed"), 3u) << run.err;
  EXPECT_GE(seen.count("leased"), 1u) << run.err;

  AddEmptyVersion();
  CommandResult quiet = Run({});
  ASSERT_EQ(quiet.exit_code, 1) << quiet.Describe();
  std::vector<std::string> lines = Lines(quiet.err);
  ASSERT_EQ(lines.size(), 1u) << quiet.err;  // the held import's warning, nothing at info
  EXPECT_NE(lines[0].find(" WARN  held "), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("release=\"snapdelta release tenant/test_table/"), std::string::npos)
      << lines[0];
  CommandResult off = Run({"--log-level", "off"});
  EXPECT_EQ(off.err, "") << off.Describe();
  CommandResult bad = Run({"--log-format", "xml"});
  EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
}

TEST_F(Operate, UnderJsonLogsACommandsOwnErrorsAreJsonLinesToo) {
  CommandResult run =
      RunSnapdelta({"run", "--landing", (tmp_ / "no-such-landing").string(), "--home",
                    (tmp_ / "home").string(), "--log-format", "json", "--log-level", "off"});
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  std::vector<std::string> lines = Lines(run.err);
  ASSERT_FALSE(lines.empty()) << "an error is written at any --log-level";
  for (const std::string& line : lines) {
    nlohmann::json entry = ParseJson(line, "a log line");
    EXPECT_EQ(entry["level"], "error") << line;
    EXPECT_EQ(entry["step"], "error") << line;
    EXPECT_NE(entry["message"].get<std::string>().find("no-such-landing"), std::string::npos)
        << line;
  }
  CommandResult text = RunSnapdelta({"run", "--landing", (tmp_ / "no-such-landing").string(),
                                     "--home", (tmp_ / "home").string()});
  EXPECT_EQ(text.err.rfind("snapdelta: ", 0), 0u) << text.Describe();
}

TEST_F(Operate, StatusIsATableAlignedByColumnWithThePagesColumns) {
  ASSERT_EQ(Run({}).exit_code, 0);
  AddEmptyVersion();
  ASSERT_EQ(Run({}).exit_code, 1);
  CommandResult status = RunSnapdelta({"status", "--home", (tmp_ / "home").string()});
  ASSERT_EQ(status.exit_code, 0) << status.Describe();
  std::vector<std::string> lines = Lines(status.out);
  ASSERT_EQ(lines.size(), 5u) << status.out;
  const std::string& header = lines[0];
  EXPECT_TRUE(std::regex_match(
      header, std::regex("ID +IMPORT +STATE +INSERT +UPDATE +DELETE +ROWS +BYTES +DURATION +"
                         "ROWS/S +DELIVERY +NOTE")))
      << header;
  const nlohmann::json imports = Imports();
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const nlohmann::json& import = imports[i - 1];
    // Text columns start under their header, numbers end under theirs.
    EXPECT_EQ(line.substr(header.find("STATE"), import["state"].get<std::string>().size()),
              import["state"].get<std::string>())
        << line;
    for (auto [column, key] : {std::pair{"INSERT", "inserts"}, std::pair{"UPDATE", "updates"},
                               std::pair{"DELETE", "deletes"}, std::pair{"ROWS ", "rows"}}) {
      const std::string value = std::to_string(import[key].get<uint64_t>());
      const size_t end = header.find(column) + std::string(column).find_last_not_of(' ') + 1;
      ASSERT_GE(end, value.size());
      EXPECT_EQ(line.substr(end - value.size(), value.size() + 1), value + " ") << column << " in\n"
                                                                                << header << "\n"
                                                                                << line;
    }
  }
  EXPECT_NE(status.out.find("max_delete_ratio"), std::string::npos) << status.out;
}

// A table of `rows` narrow rows, uncompressed: long enough for several progress redraws.
void WriteLargeExport(const fs::path& file, int rows) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file);
  out << "id,name,amount\n";
  for (int i = 0; i < rows; ++i) out << i << ",name-" << i << "," << (i % 977) << "\n";
}

TEST(Progress, ARunOnATerminalShowsProgressLinesAndAPipedRunShowsNone) {
  TempDir tmp{"snapdelta-progress"};
  WriteLargeExport(tmp / "landing" / "acme" / "orders" / "v1" / "export.csv", 2'000'000);
  const std::string args =
      " run --landing " + (tmp / "landing").string() + " --settle-seconds 0 --home ";
  // script(1) runs the command on a pseudo-terminal and copies what it wrote to stdout.
  CommandResult terminal = RunCommand(
      {"script", "-qec", SnapdeltaBin().string() + args + (tmp / "home1").string(), "/dev/null"});
  ASSERT_EQ(terminal.exit_code, 0) << terminal.Describe();
  const std::regex progress(
      R"(acme/orders/v1 +[0-9]+%  [0-9.]+ of [0-9.]+ MB  [0-9.]+[kM]? rows  [0-9.]+[kM]? rows/s  ETA [0-9]+:[0-9]{2})");
  EXPECT_TRUE(std::regex_search(terminal.out, progress)) << terminal.out;
  EXPECT_NE(terminal.out.find("\r\033[K"), std::string::npos) << "the line is redrawn in place";
  EXPECT_NE(terminal.out.find("committed  acme/orders/v1/export.csv"), std::string::npos)
      << terminal.out;

  CommandResult piped =
      RunCommand({"/bin/sh", "-c", SnapdeltaBin().string() + args + (tmp / "home2").string()});
  ASSERT_EQ(piped.exit_code, 0) << piped.Describe();
  EXPECT_EQ(piped.err, "") << piped.Describe();
  EXPECT_EQ(piped.out.find("rows/s"), std::string::npos) << piped.out;
  EXPECT_EQ(piped.out.find('\033'), std::string::npos) << piped.out;
  EXPECT_NE(piped.out.find("committed  acme/orders/v1/export.csv"), std::string::npos) << piped.out;
}

}  // namespace
}  // namespace snapdelta::testing
