// End-to-end behaviour of the command line: watch and its clean stop, exit statuses, closed
// pipes, stale and re-uploaded exports, parallel tables, and two processes sharing one home.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <set>
#include <thread>

#include "harness.h"

namespace snapdelta::testing {
namespace {

using namespace std::chrono_literals;

// The n-row export "id,name,amount" with the given amount for every row.
std::string MakeCsv(int rows, const std::string& amount) {
  std::string csv = "id,name,amount\n";
  for (int i = 1; i <= rows; ++i) {
    csv += std::to_string(i) + ",name " + std::to_string(i) + "," + amount + "\n";
  }
  return csv;
}

std::vector<nlohmann::json> Status(const fs::path& home) {
  CommandResult status = RunSnapdelta({"status", "--home", home.string(), "--json"});
  EXPECT_EQ(status.exit_code, 0) << status.Describe();
  nlohmann::json array = ParseJson(status.out, "status --json");
  return std::vector<nlohmann::json>(array.begin(), array.end());
}

class Cli : public ::testing::Test {
 protected:
  fs::path Deliver(const std::string& table, const std::string& version, const std::string& csv) {
    fs::path file = landing_ / "acme" / table / version / "export.csv";
    WriteFile(file, csv);
    return file;
  }
  CommandResult Run() {
    return RunSnapdelta({"run", "--landing", landing_.string(), "--home", home_.string()});
  }
  fs::path ChangeFile(const std::string& table, const std::string& version) const {
    return home_ / "changes" / "acme" / table / (version + ".jsonl");
  }

  TempDir tmp_{"snapdelta-cli"};
  const fs::path landing_ = tmp_ / "landing";
  const fs::path home_ = tmp_ / "home";
};

TEST_F(Cli, WatchImportsNewExportsAndStopsCleanlyOnSigterm) {
  std::string bin = SnapdeltaBin().string();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::execl(bin.c_str(), bin.c_str(), "watch", "--landing", landing_.c_str(), "--home",
            home_.c_str(), "--interval", "0.2", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  fs::create_directories(landing_);
  Deliver("orders", "v1", MakeCsv(100, "1"));
  EXPECT_TRUE(WaitFor([&] { return fs::exists(ChangeFile("orders", "v1")); }));
  Deliver("orders", "v2", MakeCsv(100, "2"));
  EXPECT_TRUE(WaitFor([&] { return fs::exists(ChangeFile("orders", "v2")); }));
  ::kill(child, SIGTERM);
  int wait_status = 0;
  bool exited = WaitFor([&] { return ::waitpid(child, &wait_status, WNOHANG) == child; });
  if (!exited) ::kill(child, SIGKILL);
  ASSERT_TRUE(exited) << "watch did not stop on SIGTERM";
  ASSERT_TRUE(WIFEXITED(wait_status));
  EXPECT_EQ(WEXITSTATUS(wait_status), 0);
  EXPECT_EQ(ReadJsonLines(ChangeFile("orders", "v2")).size(), 100u);  // every amount changed
  std::vector<nlohmann::json> imports = Status(home_);
  ASSERT_EQ(imports.size(), 2u);
  for (const nlohmann::json& import : imports) EXPECT_EQ(import["state"], "committed");
}

TEST_F(Cli, UsageErrorsExitWithStatusTwo) {
  EXPECT_EQ(RunSnapdelta({}).exit_code, 2);
  EXPECT_EQ(RunSnapdelta({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(RunSnapdelta({"run"}).exit_code, 2);  // --landing is required
  EXPECT_EQ(RunSnapdelta({"diff", "only-one.csv"}).exit_code, 2);
  EXPECT_EQ(RunSnapdelta({"diff", "a.csv", "b.csv", "--ops", "upsert"}).exit_code, 2);
  WriteFile(tmp_ / "bad.toml", "[tables.orders]\nkey = 5\n");
  CommandResult bad_config =
      RunSnapdelta({"run", "--landing", landing_.string(), "--home", home_.string(), "--config",
                    (tmp_ / "bad.toml").string()});
  EXPECT_EQ(bad_config.exit_code, 2) << bad_config.Describe();
  EXPECT_NE(bad_config.err.find("bad.toml:2:"), std::string::npos) << bad_config.Describe();
  CommandResult help = RunSnapdelta({"diff", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Examples:"), std::string::npos);
}

TEST_F(Cli, VersionNamesTheReleaseAndTheCommitItWasBuiltFrom) {
  CommandResult version = RunSnapdelta({"--version"});
  EXPECT_EQ(version.exit_code, 0) << version.Describe();
  // "snapdelta 0.1.0 (commit 0123456789ab)"; "unknown" when built outside a git checkout.
  EXPECT_TRUE(
      std::regex_match(version.out, std::regex("snapdelta [0-9]+\\.[0-9]+\\.[0-9]+ \\(commit "
                                               "([0-9a-f]{12}|unknown)\\)\n")))
      << version.Describe();
}

TEST_F(Cli, DiffIntoAClosedPipeExitsQuietly) {
  WriteFile(tmp_ / "big.csv", MakeCsv(200000, "7"));
  CommandResult result =
      RunCommand({"bash", "-c",
                  "'" + SnapdeltaBin().string() + "' diff --first '" + (tmp_ / "big.csv").string() +
                      "' | head -1 > /dev/null; echo \"${PIPESTATUS[0]}\""});
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_EQ(result.out, "0\n") << result.Describe();
  EXPECT_EQ(result.err, "") << result.Describe();
}

TEST_F(Cli, DiffWritesItsOutputFileAtomicallyAndSummarizesOnStderr) {
  WriteFile(tmp_ / "old.csv", "id,a,b\n1,x,y\n2,x,y\n");
  WriteFile(tmp_ / "new.csv", "id,a,b\n1,x,Y\n3,x,y\n");
  fs::path out = tmp_ / "events.jsonl";
  CommandResult result =
      RunSnapdelta({"diff", (tmp_ / "old.csv").string(), (tmp_ / "new.csv").string(), "-k", "id",
                    "--before-images", "-o", out.string()});
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_NE(result.err.find("1 INSERT, 1 UPDATE, 1 DELETE"), std::string::npos) << result.err;
  std::vector<nlohmann::json> events = ReadJsonLines(out);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["op"], "UPDATE");
  EXPECT_EQ(events[0]["changed"], nlohmann::json::array({"b"}));
  EXPECT_EQ(events[0]["before"]["b"], "y");
  EXPECT_EQ(events[2]["op"], "DELETE");
  EXPECT_EQ(events[2]["before"]["a"], "x");

  WriteFile(tmp_ / "broken.csv", "id,a,b\n1,\"x,y\n");
  fs::path failed_out = tmp_ / "failed.jsonl";
  CommandResult failed =
      RunSnapdelta({"diff", "--first", (tmp_ / "broken.csv").string(), "-o", failed_out.string()});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("broken.csv:2"), std::string::npos) << failed.Describe();
  EXPECT_FALSE(fs::exists(failed_out));
}

TEST_F(Cli, SkipsStaleVersionsAndIdenticalReuploads) {
  Deliver("orders", "v2", MakeCsv(10, "1"));
  ASSERT_EQ(Run().exit_code, 0);
  Deliver("orders", "v1", MakeCsv(10, "9"));  // older than the committed v2
  fs::path v2 = landing_ / "acme" / "orders" / "v2" / "export.csv";
  fs::last_write_time(v2, fs::last_write_time(v2) + 5s);  // a re-upload of the same bytes
  CommandResult second = Run();
  ASSERT_EQ(second.exit_code, 0) << second.Describe();
  EXPECT_FALSE(fs::exists(ChangeFile("orders", "v1")));
  std::vector<nlohmann::json> imports = Status(home_);
  ASSERT_EQ(imports.size(), 3u);
  int stale = 0, reupload = 0;
  for (const nlohmann::json& import : imports) {
    if (import["state"] != "skipped") continue;
    std::string reason = import["reason"];
    if (reason.find("stale") != std::string::npos) ++stale;
    if (reason.find("identical content") != std::string::npos) ++reupload;
  }
  EXPECT_EQ(stale, 1);
  EXPECT_EQ(reupload, 1);
  ASSERT_EQ(Run().exit_code, 0);
  EXPECT_EQ(Status(home_).size(), 3u);  // nothing new the third time
}

TEST_F(Cli, ReportsSchemaChangesOnceInOutputAndRegistry) {
  Deliver("orders", "v1", "id,a\n1,x\n2,x\n");
  ASSERT_EQ(Run().exit_code, 0);
  Deliver("orders", "v2", "id,a,extra\n1,x,\n2,x,new\n");
  CommandResult run = Run();
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_NE(run.out.find("added columns [extra]"), std::string::npos) << run.Describe();
  std::vector<nlohmann::json> events = ReadJsonLines(ChangeFile("orders", "v2"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["key"]["id"], "2");
  std::vector<nlohmann::json> imports = Status(home_);
  EXPECT_EQ(imports.back()["note"], "schema change: added columns [extra]");
}

TEST_F(Cli, StopsComparingARemovedColumnByReadingThePreviousExportAgain) {
  Deliver("orders", "v1", "id,a,gone\n1,x,p\n2,x,q\n3,x,\n");
  ASSERT_EQ(Run().exit_code, 0);
  Deliver("orders", "v2", "id,a\n1,x\n2,CHANGED\n3,x\n");
  CommandResult run = Run();
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  std::vector<nlohmann::json> events = ReadJsonLines(ChangeFile("orders", "v2"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["op"], "UPDATE");
  EXPECT_EQ(events[0]["key"]["id"], "2");
  EXPECT_EQ(Status(home_).back()["note"], "schema change: removed columns [gone]");
}

TEST_F(Cli, SpillsUnderAMemoryLimitWithTheSameEventsAndStateAsInMemory) {
  TempDir chain("snapdelta-cli-chain");
  CommandResult gen =
      RunCommand({GenBin().string(), chain.path().string(), "--rows", "20000", "--exports", "3",
                  "--gzip", "--nasty", "--composite-key", "--landing", "acme/orders"});
  ASSERT_EQ(gen.exit_code, 0) << gen.Describe();
  WriteFile(tmp_ / "config.toml", "[tables.orders]\nkey = [\"region\", \"id\"]\n");
  auto import_all = [&](const fs::path& home, const std::vector<std::string>& extra) {
    for (const char* version : {"v0001", "v0002", "v0003"}) {
      CopyTree(chain / "acme" / "orders" / version,
               tmp_ / home.filename() / "landing" / "acme" / "orders" / version);
      std::vector<std::string> args = {"run",
                                       "--landing",
                                       (tmp_ / home.filename() / "landing").string(),
                                       "--home",
                                       home.string(),
                                       "--config",
                                       (tmp_ / "config.toml").string()};
      args.insert(args.end(), extra.begin(), extra.end());
      CommandResult run = RunSnapdelta(args);
      ASSERT_EQ(run.exit_code, 0) << run.Describe();
    }
  };
  fs::path memory_home = tmp_ / "memory", spill_home = tmp_ / "spill";
  import_all(memory_home, {});
  import_all(spill_home, {"--memory-limit", "1MB", "--spill-dir", tmp_.path().string()});
  for (const char* version : {"v0001", "v0002", "v0003"}) {
    SCOPED_TRACE(version);
    std::string name = std::string(version) + ".jsonl";
    auto without_ids = [](const fs::path& file) {
      std::multiset<std::string> events;
      for (nlohmann::json event : ReadJsonLines(file)) {
        event.erase("id");
        event.erase("seq");
        events.insert(event.dump());
      }
      return events;
    };
    std::multiset<std::string> in_memory =
        without_ids(memory_home / "changes" / "acme" / "orders" / name);
    EXPECT_FALSE(in_memory.empty());
    EXPECT_EQ(in_memory, without_ids(spill_home / "changes" / "acme" / "orders" / name));
  }
  EXPECT_EQ(ReadFile(memory_home / "state" / "acme" / "orders" / "v0003.state"),
            ReadFile(spill_home / "state" / "acme" / "orders" / "v0003.state"));
  for (const auto& entry : fs::directory_iterator(tmp_.path())) {
    EXPECT_EQ(entry.path().filename().string().find("snapdelta-spill"), std::string::npos)
        << "spill folder left behind: " << entry.path();
  }
}

TEST_F(Cli, TwoProcessesSharingAHomeImportEachExportExactlyOnce) {
  for (int table = 0; table < 6; ++table) {
    for (int version = 1; version <= 3; ++version) {
      Deliver("t" + std::to_string(table), "v" + std::to_string(version),
              MakeCsv(2000 + 100 * version, std::to_string(version % 2)));
    }
  }
  CommandResult first, second;
  std::thread other([&] { second = Run(); });
  first = Run();
  other.join();
  // A table busy in one process is left for later by the other; a third run finishes it.
  CommandResult third = Run();
  for (const CommandResult* result : {&first, &second, &third}) {
    EXPECT_EQ(result->exit_code, 0) << result->Describe();
  }
  std::vector<nlohmann::json> imports = Status(home_);
  ASSERT_EQ(imports.size(), 18u);
  for (const nlohmann::json& import : imports) {
    EXPECT_EQ(import["state"], "committed") << import.dump();
    if (import["version"] == "v1") {
      EXPECT_EQ(import["inserts"], 2100);
    } else if (import["version"] == "v2") {
      EXPECT_EQ(import["inserts"], 100);
      EXPECT_EQ(import["updates"], 2100);
    }
  }
  EXPECT_EQ(ReadJsonLines(ChangeFile("t3", "v3")).size(), 2300u);
}

}  // namespace
}  // namespace snapdelta::testing
