// End-to-end: multi-part exports in a landing folder. A version of several files waits for its
// marker (shown as waiting, exit 0, later versions held back), then imports as one export whose
// events equal those of the same rows delivered as one file; a manifest lists the parts; a
// part with another header or a manifest that disagrees with the folder fails the import; a
// table configured with a marker never takes a first part alone for the export.
#include <gtest/gtest.h>

#include "harness.h"

namespace snapdelta::testing {
namespace {

constexpr char kHeader[] = "id,name,amount\n";

// Rows first..last of "id,name,amount", each amount `amount`.
std::string Rows(int first, int last, int amount = 1) {
  std::string rows;
  for (int id = first; id <= last; ++id) {
    rows +=
        std::to_string(id) + ",name " + std::to_string(id) + "," + std::to_string(amount) + "\n";
  }
  return rows;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class MultiPart : public ::testing::Test {
 protected:
  void Deliver(const fs::path& landing, const std::string& version, const std::string& file,
               const std::string& content) {
    WriteFile(landing / "acme" / "orders" / version / file, content);
  }
  CommandResult Run(const fs::path& landing, const fs::path& home,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run", "--landing", landing.string(), "--home", home.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunSnapdelta(args);
  }
  // The newest record of orders/`version` in `status --json`.
  nlohmann::json Import(const fs::path& home, const std::string& version) {
    CommandResult status = RunSnapdelta({"status", "--home", home.string(), "--json"});
    EXPECT_EQ(status.exit_code, 0) << status.Describe();
    nlohmann::json found = nlohmann::json::object();
    for (const nlohmann::json& import : ParseJson(status.out, "status --json")) {
      if (import["version"] == version) found = import;
    }
    return found;
  }
  std::string Changes(const fs::path& home, const std::string& version) {
    return ReadFile(home / "changes" / "acme" / "orders" / (version + ".jsonl"));
  }

  TempDir tmp_{"snapdelta-multipart"};
  const fs::path landing_ = tmp_ / "landing";
  const fs::path home_ = tmp_ / "home";
};

TEST_F(MultiPart, WaitsForItsMarkerThenImportsThePartsAsOneExport) {
  Deliver(landing_, "v1", "part-0000.csv", std::string(kHeader) + Rows(1, 100));
  Deliver(landing_, "v1", "part-0001.csv", std::string(kHeader) + Rows(101, 200));
  Deliver(landing_, "v2", "export.csv", std::string(kHeader) + Rows(1, 200, 2));

  CommandResult waiting = Run(landing_, home_);
  EXPECT_EQ(waiting.exit_code, 0) << waiting.Describe();
  EXPECT_TRUE(Contains(waiting.out, "add an empty _SUCCESS")) << waiting.Describe();
  nlohmann::json v1 = Import(home_, "v1");
  EXPECT_EQ(v1["state"], "waiting") << v1.dump();
  EXPECT_TRUE(Contains(v1["reason"], "_SUCCESS")) << v1.dump();
  EXPECT_TRUE(Import(home_, "v2").empty() || Import(home_, "v2")["state"] == "discovered")
      << "a later version waits behind an incomplete one";
  EXPECT_FALSE(fs::exists(home_ / "changes" / "acme" / "orders"));

  Deliver(landing_, "v1", "_SUCCESS", "");
  CommandResult complete = Run(landing_, home_);
  ASSERT_EQ(complete.exit_code, 0) << complete.Describe();
  EXPECT_EQ(Import(home_, "v1")["state"], "committed");
  EXPECT_EQ(Import(home_, "v1")["inserts"], 200) << Import(home_, "v1").dump();
  EXPECT_EQ(Import(home_, "v2")["state"], "committed");
  EXPECT_EQ(Import(home_, "v2")["updates"], 200) << Import(home_, "v2").dump();

  // The same rows delivered as one file give the same events, byte for byte.
  const fs::path single = tmp_ / "single";
  Deliver(single, "v1", "export.csv", std::string(kHeader) + Rows(1, 200));
  Deliver(single, "v2", "export.csv", std::string(kHeader) + Rows(1, 200, 2));
  CommandResult reference = Run(single, tmp_ / "single-home");
  ASSERT_EQ(reference.exit_code, 0) << reference.Describe();
  EXPECT_EQ(Changes(home_, "v1"), Changes(tmp_ / "single-home", "v1"));
  EXPECT_EQ(Changes(home_, "v2"), Changes(tmp_ / "single-home", "v2"));
}

// S3 keeps modification times to the second: an empty marker uploaded in the same second as
// the last part changes neither the parts' summed size nor their newest time.
TEST_F(MultiPart, AMarkerWithTheSameTimeAsThePartsStillCompletesTheExport) {
  Deliver(landing_, "v1", "part-0000.csv", std::string(kHeader) + Rows(1, 2));
  Deliver(landing_, "v1", "part-0001.csv", std::string(kHeader) + Rows(3, 3));
  const fs::path part = landing_ / "acme" / "orders" / "v1" / "part-0001.csv";
  fs::last_write_time(landing_ / "acme" / "orders" / "v1" / "part-0000.csv",
                      fs::last_write_time(part));
  CommandResult waiting = Run(landing_, home_);
  EXPECT_EQ(waiting.exit_code, 0) << waiting.Describe();
  EXPECT_EQ(Import(home_, "v1")["state"], "waiting");

  Deliver(landing_, "v1", "_SUCCESS", "");
  fs::last_write_time(landing_ / "acme" / "orders" / "v1" / "_SUCCESS", fs::last_write_time(part));
  CommandResult complete = Run(landing_, home_);
  ASSERT_EQ(complete.exit_code, 0) << complete.Describe();
  EXPECT_EQ(Import(home_, "v1")["state"], "committed") << complete.Describe();
  EXPECT_EQ(Import(home_, "v1")["inserts"], 3) << Import(home_, "v1").dump();
}

TEST_F(MultiPart, GzipAndPlainPartsWithoutFinalNewlinesJoinCleanly) {
  Deliver(landing_, "v1", "a.csv", std::string(kHeader) + "1,x,1\n2,y,1");  // no final newline
  CommandResult gzip = RunShell("printf 'id,name,amount\\r\\n3,z,1\\r\\n' | gzip -c > " +
                                (landing_ / "acme" / "orders" / "v1" / "b.csv.gz").string());
  ASSERT_EQ(gzip.exit_code, 0) << gzip.Describe();
  Deliver(landing_, "v1", "_SUCCESS", "");
  CommandResult run = Run(landing_, home_);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(Import(home_, "v1")["inserts"], 3) << Import(home_, "v1").dump();
}

TEST_F(MultiPart, APartWithAnotherHeaderFailsTheImportNamingIt) {
  Deliver(landing_, "v1", "part-0000.csv", std::string(kHeader) + Rows(1, 10));
  Deliver(landing_, "v1", "part-0001.csv", "id,name,total\n" + Rows(11, 20));
  Deliver(landing_, "v1", "_SUCCESS", "");
  CommandResult run = Run(landing_, home_);
  EXPECT_EQ(run.exit_code, 1) << run.Describe();
  nlohmann::json v1 = Import(home_, "v1");
  EXPECT_EQ(v1["state"], "failed") << v1.dump();
  EXPECT_TRUE(Contains(v1["reason"], "part-0001.csv: its header differs")) << v1.dump();
  EXPECT_FALSE(fs::exists(home_ / "changes" / "acme" / "orders" / "v1.jsonl"));
}

TEST_F(MultiPart, AManifestListsThePartsInItsOrderAndMustAgreeWithTheFolder) {
  Deliver(landing_, "v1", "b.csv", std::string(kHeader) + Rows(1, 5));
  Deliver(landing_, "v1", "a.csv", std::string(kHeader) + Rows(6, 9));
  Deliver(landing_, "v1", "manifest.json", R"({"files": ["b.csv", "a.csv"]})");
  CommandResult run = Run(landing_, home_);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(Import(home_, "v1")["inserts"], 9);
  std::vector<nlohmann::json> events =
      ReadJsonLines(home_ / "changes" / "acme" / "orders" / "v1.jsonl");
  ASSERT_EQ(events.size(), 9u);
  EXPECT_EQ(events.front()["key"]["id"], "1") << events.front().dump();  // b.csv came first

  Deliver(landing_, "v2", "a.csv", std::string(kHeader) + Rows(1, 9));
  Deliver(landing_, "v2", "manifest.json", R"(["a.csv", "c.csv"])");
  CommandResult missing = Run(landing_, home_);
  EXPECT_EQ(missing.exit_code, 1) << missing.Describe();
  nlohmann::json v2 = Import(home_, "v2");
  EXPECT_EQ(v2["state"], "failed") << v2.dump();
  EXPECT_TRUE(Contains(v2["reason"], "lists c.csv, which is not in the folder")) << v2.dump();
}

TEST_F(MultiPart, ATableWithAMarkerNeverTakesAFirstPartAloneForTheExport) {
  WriteFile(tmp_ / "snapdelta.toml", "[tables.orders]\nmarker = \"_SUCCESS\"\n");
  const std::vector<std::string> config = {"--config", (tmp_ / "snapdelta.toml").string()};
  Deliver(landing_, "v1", "part-0000.csv", std::string(kHeader) + Rows(1, 10));
  CommandResult first = Run(landing_, home_, config);
  EXPECT_EQ(first.exit_code, 0) << first.Describe();
  EXPECT_EQ(Import(home_, "v1")["state"], "waiting") << Import(home_, "v1").dump();
  Deliver(landing_, "v1", "part-0001.csv", std::string(kHeader) + Rows(11, 20));
  Deliver(landing_, "v1", "_SUCCESS", "");
  CommandResult second = Run(landing_, home_, config);
  ASSERT_EQ(second.exit_code, 0) << second.Describe();
  EXPECT_EQ(Import(home_, "v1")["state"], "committed");
  EXPECT_EQ(Import(home_, "v1")["inserts"], 20);
}

}  // namespace
}  // namespace snapdelta::testing
