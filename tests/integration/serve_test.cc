// End to end: `snapdelta serve` after a run of the bundled sample exports and a held import,
// read with independent clients: curl for HTTP, the Prometheus project's own Python parser
// (Debian's python3-prometheus-client) for /metrics. /api/imports equals `status --json`, the
// page names every import with its counts and the held one's release command, and a non-loopback
// address is refused without --allow-remote.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <regex>
#include <thread>

#include "harness.h"

namespace snapdelta::testing {
namespace {

using namespace std::chrono_literals;

class Serve : public ::testing::Test {
 protected:
  void SetUp() override {
    // The three sample exports, then a fourth version that deletes most rows: held by the
    // default max_delete_ratio guard.
    fs::copy(ExamplesLanding(), tmp_ / "landing", fs::copy_options::recursive);
    CommandResult run = RunSnapdelta(
        {"run", "--landing", (tmp_ / "landing").string(), "--home", (tmp_ / "home").string()});
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
    const std::string held_version =
        AddShrunkVersion(tmp_ / "landing" / "tenant" / "test_table", 2);
    CommandResult held = RunSnapdelta(
        {"run", "--landing", (tmp_ / "landing").string(), "--home", (tmp_ / "home").string()});
    ASSERT_EQ(held.exit_code, 1) << held.Describe();
    held_path_ = "tenant/test_table/" + held_version;

    server_ = std::make_unique<Background>(
        std::vector<std::string>{"serve", "--home", (tmp_ / "home").string(), "--listen",
                                 "127.0.0.1:0"},
        tmp_ / "serve.log");
    // The match is taken inside the lambda: it points into the log text read there.
    ASSERT_TRUE(WaitFor(
        [&] {
          std::string log = server_->log();
          std::smatch match;
          if (!std::regex_search(log, match,
                                 std::regex("serving (http://127\\.0\\.0\\.1:[0-9]+)/"))) {
            return false;
          }
          base_ = match[1];
          return true;
        },
        20s))
        << server_->log();
  }

  // GET with curl; the body, and the status code after it on the last line.
  std::pair<std::string, int> Get(const std::string& path) {
    CommandResult got =
        RunCommand({"curl", "-sS", "-w", "\n%{http_code}", "--max-time", "10", base_ + path});
    EXPECT_TRUE(got.ok()) << got.Describe();
    size_t last = got.out.rfind('\n');
    if (last == std::string::npos) return {got.out, 0};
    return {got.out.substr(0, last), std::atoi(got.out.c_str() + last + 1)};
  }

  nlohmann::json Imports() {
    CommandResult status = RunSnapdelta({"status", "--home", (tmp_ / "home").string(), "--json"});
    EXPECT_EQ(status.exit_code, 0) << status.Describe();
    return ParseJson(status.out, "status --json");
  }

  TempDir tmp_{"snapdelta-serve"};
  std::unique_ptr<Background> server_;
  std::string base_;
  std::string held_path_;
};

TEST_F(Serve, HealthAndReadiness) {
  EXPECT_EQ(Get("/healthz"), std::make_pair(std::string("ok\n"), 200));
  EXPECT_EQ(Get("/readyz"), std::make_pair(std::string("ready\n"), 200));
  EXPECT_EQ(Get("/nothing-here").second, 404);
}

TEST_F(Serve, ApiImportsEqualsStatusJson) {
  auto [body, code] = Get("/api/imports");
  ASSERT_EQ(code, 200);
  EXPECT_EQ(ParseJson(body, "/api/imports"), Imports());
}

TEST_F(Serve, MetricsParseAsPrometheusTextAndCountTheImports) {
  auto [body, code] = Get("/metrics");
  ASSERT_EQ(code, 200);
  WriteFile(tmp_ / "metrics.txt", body);
  // The Prometheus client's parser: every sample as {"name{label=value,...}": value}.
  CommandResult parsed =
      RunCommand({"/usr/bin/python3", "-c",
                  "import json, sys\n"
                  "from prometheus_client.parser import text_string_to_metric_families\n"
                  "out = {}\n"
                  "for family in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
                  "    for s in family.samples:\n"
                  "        labels = ','.join(f'{k}={v}' for k, v in sorted(s.labels.items()))\n"
                  "        out[f'{s.name}{{{labels}}}'] = s.value\n"
                  "print(json.dumps(out))\n",
                  (tmp_ / "metrics.txt").string()});
  ASSERT_TRUE(parsed.ok()) << parsed.Describe() << body;
  nlohmann::json samples = ParseJson(parsed.out, "parsed metrics");

  uint64_t committed = 0, held = 0, inserts = 0, updates = 0, deletes = 0, rows = 0;
  for (const nlohmann::json& import : Imports()) {
    if (import["state"] == "held") ++held;
    if (import["state"] != "committed") continue;
    ++committed;
    inserts += import["inserts"].get<uint64_t>();
    updates += import["updates"].get<uint64_t>();
    deletes += import["deletes"].get<uint64_t>();
    rows += import["rows"].get<uint64_t>();
  }
  ASSERT_EQ(committed, 3u);
  EXPECT_EQ(samples["snapdelta_imports_total{state=committed}"], committed) << body;
  EXPECT_EQ(samples["snapdelta_imports_total{state=held}"], held) << body;
  EXPECT_EQ(samples["snapdelta_events_total{op=insert}"], inserts) << body;
  EXPECT_EQ(samples["snapdelta_events_total{op=update}"], updates) << body;
  EXPECT_EQ(samples["snapdelta_events_total{op=delete}"], deletes) << body;
  EXPECT_EQ(samples["snapdelta_rows_read_total{}"], rows) << body;
  EXPECT_EQ(samples["snapdelta_import_duration_seconds_count{}"], committed) << body;
  EXPECT_EQ(samples["snapdelta_import_duration_seconds_bucket{le=+Inf}"], committed) << body;
  EXPECT_GT(samples["snapdelta_last_success_timestamp_seconds{table=test_table,tenant=tenant}"],
            1.7e9)
      << body;
  // The change file sink publishes a committed import whole.
  EXPECT_EQ(samples["snapdelta_publish_lag_events{table=test_table,tenant=tenant}"], 0) << body;
}

TEST_F(Serve, ThePageNamesEachImportAndTheHeldOnesReleaseCommand) {
  auto [page, code] = Get("/");
  ASSERT_EQ(code, 200);
  EXPECT_NE(page.find("snapdelta release " + held_path_), std::string::npos) << page;
  EXPECT_NE(page.find("snapdelta skip " + held_path_), std::string::npos) << page;
  auto [history, history_code] = Get("/tables/tenant/test_table");
  ASSERT_EQ(history_code, 200) << history;
  EXPECT_NE(history.find("<svg"), std::string::npos);
  for (const nlohmann::json& import : Imports()) {
    const std::string cells = "<td>" + import["version"].get<std::string>() + "</td><td class=\"" +
                              import["state"].get<std::string>() + "\">";
    EXPECT_NE(history.find(cells), std::string::npos) << cells << "\n" << history;
    EXPECT_NE(history.find("<td class=\"n\">" + std::to_string(import["inserts"].get<uint64_t>()) +
                           "</td>"),
              std::string::npos);
  }
  EXPECT_EQ(Get("/tables/tenant/no_such_table").second, 404);
}

// The page in a real browser: headless Chromium (Debian's) driven by playwright-core finds each
// import with its counts on the table's history page, reached by clicking the table's link, the
// held import's release command on the overview, and a drawn chart; it saves a screenshot of each
// page (into $SNAPDELTA_SCREENSHOT_DIR when set: the README's pictures).
TEST_F(Serve, AHeadlessBrowserShowsEveryImportWithItsCountsAndTheReleaseCommand) {
  const fs::path script_dir = SourceDir() / "tests" / "browser";
  ASSERT_TRUE(fs::exists(script_dir / "node_modules" / "playwright-core"))
      << "run scripts/install-deps.sh (it installs playwright-core with npm)";
  ASSERT_TRUE(fs::exists("/usr/bin/chromium")) << "run scripts/install-deps.sh (Debian's chromium)";
  const char* keep = std::getenv("SNAPDELTA_SCREENSHOT_DIR");
  const fs::path shots = keep != nullptr ? fs::path(keep) : tmp_.path();
  RunOptions options;
  options.timeout = std::chrono::seconds(120);
  CommandResult browser = RunCommand(
      {"node", (script_dir / "status_page.mjs").string(), base_ + "/", shots.string()}, options);
  ASSERT_EQ(browser.exit_code, 0) << browser.Describe();
  const nlohmann::json seen = ParseJson(browser.out, "the browser's report");
  EXPECT_EQ(seen["overview"]["status"], 200);
  EXPECT_EQ(seen["overview"]["title"], "snapdelta status");
  const nlohmann::json codes = seen["overview"]["codes"];
  EXPECT_NE(std::find(codes.begin(), codes.end(), "snapdelta release " + held_path_), codes.end())
      << codes.dump();
  EXPECT_NE(std::find(codes.begin(), codes.end(), "snapdelta skip " + held_path_), codes.end());

  const nlohmann::json& history = seen["history"];
  EXPECT_EQ(history["url"], base_ + "/tables/tenant/test_table");
  const nlohmann::json imports = Imports();
  EXPECT_EQ(history["bars"].get<size_t>(), 3 * imports.size());
  EXPECT_GE(history["barsDrawn"].get<size_t>(), imports.size()) << "bars with a visible size";
  ASSERT_EQ(history["tables"].size(), 1u) << history.dump();
  const nlohmann::json& rows = history["tables"][0];
  const nlohmann::json& header = rows[0];
  auto column = [&](const std::string& name) {
    auto at = std::find(header.begin(), header.end(), name);
    EXPECT_NE(at, header.end()) << name << " in " << header.dump();
    return static_cast<size_t>(at - header.begin());
  };
  ASSERT_EQ(rows.size(), imports.size() + 1) << rows.dump();
  for (const nlohmann::json& import : imports) {
    bool found = false;
    for (size_t r = 1; r < rows.size(); ++r) {
      const nlohmann::json& row = rows[r];
      if (row[column("version")] != import["version"]) continue;
      found = true;
      EXPECT_EQ(row[column("state")], import["state"]);
      for (auto [name, key] : {std::pair{"insert", "inserts"}, std::pair{"update", "updates"},
                               std::pair{"delete", "deletes"}, std::pair{"rows", "rows"}}) {
        EXPECT_EQ(row[column(name)], std::to_string(import[key].get<uint64_t>()))
            << name << " of " << import["version"];
      }
    }
    EXPECT_TRUE(found) << import["version"] << " not on the page";
  }
  for (const char* picture : {"status-page.png", "table-page.png"}) {
    const std::string png = ReadFile(shots / picture);
    ASSERT_GT(png.size(), 1000u) << picture;
    EXPECT_EQ(png.substr(1, 3), "PNG") << picture;
  }
}

TEST_F(Serve, StopsCleanlyOnSigterm) { EXPECT_EQ(server_->Stop(SIGTERM), 0) << server_->log(); }

TEST(ServeAddress, ARemoteAddressNeedsAllowRemote) {
  TempDir tmp{"snapdelta-serve"};
  CommandResult refused =
      RunSnapdelta({"serve", "--home", tmp.path().string(), "--listen", "0.0.0.0:0"});
  EXPECT_EQ(refused.exit_code, 2) << refused.Describe();
  EXPECT_NE(refused.err.find("--allow-remote"), std::string::npos) << refused.Describe();
  CommandResult bad = RunSnapdelta({"serve", "--home", tmp.path().string(), "--listen", "8700"});
  EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
  EXPECT_NE(bad.err.find("HOST:PORT"), std::string::npos) << bad.Describe();
}

}  // namespace
}  // namespace snapdelta::testing
