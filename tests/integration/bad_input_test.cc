// Bad exports, end to end through `snapdelta run`: each is delivered after a good first export of
// the same table and must fail its import with an error that locates the problem (file, line,
// column where one applies), publish nothing (no change file, no temp file), leave the table's
// state files and committed state untouched, and not block the next good export, which diffs
// against the last committed state (README.md, "How it works"). Also
// `on_duplicate` = first/last, and `snapdelta diff` on bad files and bad command lines.
//
// The exports are small and hand-made, with plain values (no quotes), so the few-line map diff
// below is an oracle independent of the engine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "change_checks.h"
#include "harness.h"
#include "test_util.h"

namespace snapdelta::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using namespace std::string_literals;

constexpr char kTenant[] = "acme";
constexpr char kTable[] = "people";
constexpr char kConfig[] = "[tables.people]\nkey = [\"id\"]\n";

constexpr char kFirst[] = "id,name,city\n1,Ann,Oslo\n2,Bob,Rome\n3,Cid,Lima\n4,Dee,Kyiv\n";
// Against kFirst: 2 updated, 3 deleted, 5 and 6 inserted.
constexpr char kThird[] =
    "id,name,city\n1,Ann,Oslo\n2,Bob,Paris\n4,Dee,Kyiv\n5,Eve,Baku\n6,Fay,Nice\n";

// Rows "<n>,name<n>,city<n % 7>" for n in 1..rows after the header: 30000 rows make over 1 MiB of
// INSERT events, so the change file's temp file has been written to before a late error.
std::string ManyRows(int rows) {
  std::string csv = "id,name,city\n";
  for (int n = 1; n <= rows; ++n) {
    csv += std::to_string(n) + ",name" + std::to_string(n) + ",city" + std::to_string(n % 7) + "\n";
  }
  return csv;
}

// Key (first field) -> the whole line, for exports without quotes or embedded commas in keys.
std::map<std::string, std::string> PlainRows(std::string_view csv) {
  std::map<std::string, std::string> rows;
  size_t start = csv.find('\n') + 1;  // after the header
  while (start < csv.size()) {
    size_t end = csv.find('\n', start);
    std::string line(csv.substr(start, end - start));
    rows[line.substr(0, line.find(','))] = line;
    start = end + 1;
  }
  return rows;
}

// Key -> op, the changes that turn `before` into `after` (same header).
std::map<std::string, std::string> PlainDiff(std::string_view before, std::string_view after) {
  std::map<std::string, std::string> old_rows = PlainRows(before), ops;
  for (const auto& [key, line] : PlainRows(after)) {
    auto it = old_rows.find(key);
    if (it == old_rows.end()) {
      ops[key] = "INSERT";
    } else {
      if (it->second != line) ops[key] = "UPDATE";
      old_rows.erase(it);
    }
  }
  for (const auto& [key, line] : old_rows) ops[key] = "DELETE";
  return ops;
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(config_, kConfig);
    Deliver("v1", "people.csv", kFirst);
    const CommandResult run = RunEngine();
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
  }

  void Deliver(const std::string& version, const std::string& file, std::string_view content) {
    WriteFile(landing_ / kTenant / kTable / version / file, content);
  }

  CommandResult RunEngine() {
    return RunSnapdelta({"run", "--landing", landing_.string(), "--home", home_.string(),
                         "--config", config_.string()});
  }

  fs::path ChangeFile(const std::string& version) const {
    return home_ / "changes" / kTenant / kTable / (version + ".jsonl");
  }

  // The registry's committed version of the table, as one line of text.
  std::string CommittedTableState() const {
    const CommandResult query =
        RunSqlite(home_ / "registry.db", "SELECT version, import_id, state_file FROM tables;\n");
    EXPECT_EQ(query.exit_code, 0) << query.Describe();
    return query.out;
  }

  nlohmann::json StatusOf(const std::string& version) const {
    std::vector<nlohmann::json> entries =
        StatusEntries(ReadStatus(home_), kTenant, kTable, version);
    EXPECT_EQ(entries.size(), 1u) << version;
    return entries.empty() ? nlohmann::json::object() : entries.front();
  }

  // Delivers `content` as version v2 and runs: the import must fail naming every fragment (in
  // the status reason and in the run's output) and leave no trace. Returns the reason.
  std::string ExpectRejected(const std::string& file, std::string_view content,
                             const std::vector<std::string>& fragments) {
    const std::map<std::string, std::string> states_before = SnapshotTree(home_ / "state");
    const std::string committed_before = CommittedTableState();
    EXPECT_THAT(committed_before, HasSubstr("v1|"));
    Deliver("v2", file, content);
    const CommandResult run = RunEngine();
    EXPECT_EQ(run.exit_code, 1) << run.Describe();
    const nlohmann::json status = StatusOf("v2");
    EXPECT_EQ(status.value("state", ""), "failed") << status.dump(1);
    const std::string reason = status.value("reason", "");
    for (const std::string& fragment : fragments) {
      EXPECT_THAT(reason, HasSubstr(fragment));
      EXPECT_THAT(run.out + run.err, HasSubstr(fragment));
    }
    EXPECT_FALSE(fs::exists(ChangeFile("v2")));
    for (const auto& [path, bytes] : SnapshotTree(home_)) {
      EXPECT_FALSE(path.ends_with(".tmp")) << path << " left behind";
    }
    EXPECT_TRUE(SnapshotTree(home_ / "state") == states_before) << "the state folder changed";
    EXPECT_EQ(CommittedTableState(), committed_before);
    return reason;
  }

  // Delivers `next` as version v3: it must commit the changes from `base` (the export of the last
  // committed state) to `next`, counts and the op of every key.
  void ExpectNextExportDiffsAgainst(std::string_view base, std::string_view next = kThird) {
    Deliver("v3", "people.csv", next);
    const CommandResult run = RunEngine();
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
    const std::map<std::string, std::string> expected = PlainDiff(base, next);
    std::map<std::string, uint64_t> count;
    for (const auto& [key, op] : expected) ++count[op];
    const nlohmann::json status = StatusOf("v3");
    EXPECT_EQ(status.value("state", ""), "committed") << status.dump(1);
    EXPECT_EQ(status.value("inserts", uint64_t{0}), count["INSERT"]);
    EXPECT_EQ(status.value("updates", uint64_t{0}), count["UPDATE"]);
    EXPECT_EQ(status.value("deletes", uint64_t{0}), count["DELETE"]);
    std::map<std::string, std::string> got;
    for (const nlohmann::json& event : ReadJsonLines(ChangeFile("v3"))) {
      got[event["key"].value("id", "")] = event.value("op", "");
    }
    EXPECT_EQ(got, expected);
  }

  TempDir tmp_{"snapdelta-bad-input"};
  const fs::path landing_ = tmp_ / "landing";
  const fs::path home_ = tmp_ / "home";
  const fs::path config_ = tmp_ / "snapdelta.toml";
};

TEST_F(BadInput, RejectsAnUnterminatedQuoteWithLineAndColumn) {
  ExpectRejected("people.csv", "id,name,city\n1,Ann,Oslo\n2,\"Bob,Rome\n3,Cid,Lima\n",
                 {"v2/people.csv:3:2 (name)", "unterminated quoted field"});
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsARowWithTooFewFieldsFarIntoALargeFile) {
  ExpectRejected("people.csv", ManyRows(30000) + "30001,name30001\n",
                 {"v2/people.csv:30002:", "2 fields, expected 3"});
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsARowWithTooManyFields) {
  ExpectRejected("people.csv", "id,name,city\n1,Ann,Oslo\n2,Bob,Rome,Italy\n",
                 {"v2/people.csv:3:", "4 fields, expected 3"});
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsAHeaderWithoutTheConfiguredKeyColumn) {
  ExpectRejected("people.csv", "ident,name,city\n1,Ann,Oslo\n",
                 {"v2/people.csv:1:", "key column 'id' is not in the header"});
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsAnEmptyKeyValueWithLineAndColumn) {
  ExpectRejected("people.csv", "id,name,city\n1,Ann,Oslo\n,Bob,Rome\n",
                 {"v2/people.csv:3:1 (id)", "empty key value"});
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsADuplicateKeyNamingBothLines) {
  ExpectRejected("people.csv", "id,name,city\n1,Ann,Oslo\n2,Bob,Rome\n3,Cid,Lima\n1,Ann,Bergen\n",
                 {"v2/people.csv:5:", "duplicate key (id=1)", "line 2"});
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsADuplicateKeyFarApartInALargeFile) {
  ExpectRejected("people.csv", ManyRows(30000) + "7,again,city\n",
                 {"v2/people.csv:30002:", "duplicate key (id=7)", "line 8"});
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsATruncatedGzipFile) {
  const std::string gzip = GzipCompress(ManyRows(30000));
  ExpectRejected("people.csv.gz", gzip.substr(0, gzip.size() / 2),
                 {"v2/people.csv.gz", "truncated gzip"});
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsAGzipFileWithFlippedBytesInTheMiddle) {
  std::string gzip = GzipCompress(ManyRows(30000));
  for (size_t offset = gzip.size() / 2; offset < gzip.size() / 2 + 64; ++offset)
    gzip[offset] ^= 0x5A;
  const std::string reason =
      ExpectRejected("people.csv.gz", gzip, {"v2/people.csv.gz", "gzip", "corrupt"});
  EXPECT_THAT(reason, ContainsRegex("compressed byte [0-9]+"));
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsATruncatedZstdFile) {
  const std::string zstd = ZstdCompress(ManyRows(30000));
  ExpectRejected("people.csv.zst", zstd.substr(0, zstd.size() / 2),
                 {"v2/people.csv.zst", "truncated zstd"});
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsRandomBinaryBytesWithALineNumber) {
  std::mt19937 random(42);
  std::string garbage(8192, '\0');
  for (char& byte : garbage) byte = static_cast<char>(random());
  const std::string reason = ExpectRejected("people.csv", garbage, {"v2/people.csv:"});
  EXPECT_THAT(reason, ContainsRegex("people\\.csv:[0-9]+"));
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsANulByteInARowWithLineAndColumn) {
  ExpectRejected("people.csv", "id,name,city\n1,Ann,Oslo\n2,B\0b,Rome\n"s,
                 {"v2/people.csv:3:2 (name)", "NUL byte"});
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsAFileOfNulBytes) {
  ExpectRejected("people.csv", std::string(4096, '\0'), {"v2/people.csv:1:"});
  ExpectNextExportDiffsAgainst(kFirst);
}

TEST_F(BadInput, RejectsAHeaderWithDuplicateColumnNames) {
  ExpectRejected("people.csv", "id,name,name\n1,Ann,Oslo\n",
                 {"v2/people.csv:1:3", "duplicate column name 'name' (columns 2 and 3)"});
  ExpectNextExportDiffsAgainst(kFirst);
}

// A duplicate of key 1 (Bergen on line 2, Tromso on line 6); everything else as kFirst.
constexpr char kDuplicated[] =
    "id,name,city\n1,Ann,Bergen\n2,Bob,Rome\n3,Cid,Lima\n4,Dee,Kyiv\n1,Ann,Tromso\n";

// Checks v2's single event: an UPDATE of key 1 to `city`.
void ExpectSingleUpdateOfKeyOne(const fs::path& change_file, const std::string& city) {
  const std::vector<nlohmann::json> events = ReadJsonLines(change_file);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].value("op", ""), "UPDATE");
  EXPECT_EQ(events[0]["key"], (nlohmann::json{{"id", "1"}}));
  EXPECT_EQ(events[0]["row"], (nlohmann::json{{"id", "1"}, {"name", "Ann"}, {"city", city}}));
}

TEST_F(BadInput, OnDuplicateLastKeepsTheLastRowOfADuplicatedKey) {
  WriteFile(config_, std::string(kConfig) + "on_duplicate = \"last\"\n");
  Deliver("v2", "people.csv", kDuplicated);
  const CommandResult run = RunEngine();
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  ExpectSingleUpdateOfKeyOne(ChangeFile("v2"), "Tromso");
  ExpectNextExportDiffsAgainst("id,name,city\n1,Ann,Tromso\n2,Bob,Rome\n3,Cid,Lima\n4,Dee,Kyiv\n");
}

TEST_F(BadInput, OnDuplicateFirstKeepsTheFirstRowOfADuplicatedKey) {
  WriteFile(config_, std::string(kConfig) + "on_duplicate = \"first\"\n");
  Deliver("v2", "people.csv", kDuplicated);
  const CommandResult run = RunEngine();
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  ExpectSingleUpdateOfKeyOne(ChangeFile("v2"), "Bergen");
  ExpectNextExportDiffsAgainst("id,name,city\n1,Ann,Bergen\n2,Bob,Rome\n3,Cid,Lima\n4,Dee,Kyiv\n");
}

class BadInputDiff : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(old_, kFirst);
    WriteFile(bad_, "id,name,city\n1,Ann,Oslo\n2,\"Bob,Rome\n3,Cid,Lima\n");
  }

  TempDir tmp_{"snapdelta-bad-diff"};
  const fs::path old_ = tmp_ / "old.csv";
  const fs::path bad_ = tmp_ / "bad.csv";
};

TEST_F(BadInputDiff, ExitsOneNamingTheLineAndColumnOfAnUnterminatedQuote) {
  const CommandResult diff = RunSnapdelta({"diff", old_.string(), bad_.string(), "--key", "id"});
  EXPECT_EQ(diff.exit_code, 1) << diff.Describe();
  EXPECT_THAT(diff.err, HasSubstr("bad.csv:3:2 (name)"));
  EXPECT_THAT(diff.err, HasSubstr("unterminated quoted field"));
}

TEST_F(BadInputDiff, ExitsOneOnATruncatedGzipFileAsTheFirstExport) {
  const std::string gzip = GzipCompress(ManyRows(30000));
  WriteFile(tmp_ / "cut.csv.gz", gzip.substr(0, gzip.size() / 2));
  const CommandResult diff =
      RunSnapdelta({"diff", "--first", (tmp_ / "cut.csv.gz").string(), "--key", "id"});
  EXPECT_EQ(diff.exit_code, 1) << diff.Describe();
  EXPECT_THAT(diff.err, HasSubstr("cut.csv.gz: truncated gzip"));
}

TEST_F(BadInputDiff, LeavesNoOutputFileWhenTheInputIsBad) {
  const fs::path output = tmp_ / "events.jsonl";
  const CommandResult diff = RunSnapdelta(
      {"diff", old_.string(), bad_.string(), "--key", "id", "--output", output.string()});
  EXPECT_EQ(diff.exit_code, 1) << diff.Describe();
  EXPECT_THAT(diff.err, HasSubstr("bad.csv:3:2"));
  EXPECT_FALSE(fs::exists(output));
  for (const auto& entry : fs::directory_iterator(tmp_.path())) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("events.jsonl."))
        << entry.path() << " left behind";
  }
}

// --output is written atomically: a failed diff leaves the file as it was, not removed.
TEST_F(BadInputDiff, LeavesAnExistingOutputFileUntouchedWhenTheInputIsBad) {
  const fs::path output = tmp_ / "events.jsonl";
  WriteFile(output, "{\"kept\":true}\n");
  const CommandResult diff = RunSnapdelta(
      {"diff", old_.string(), bad_.string(), "--key", "id", "--output", output.string()});
  EXPECT_EQ(diff.exit_code, 1) << diff.Describe();
  ASSERT_TRUE(fs::exists(output)) << "a failed diff removed the existing " << output;
  EXPECT_EQ(ReadFile(output), "{\"kept\":true}\n");
}

TEST_F(BadInputDiff, UsageErrorsExitTwoWithAMessage) {
  const std::string old_file = old_.string(), new_file = bad_.string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"diff"}, "files is required"},
      {{"diff", old_file}, "diff takes two files"},
      {{"diff", old_file, new_file, new_file}, "diff takes two files"},
      {{"diff", "--first", old_file, new_file}, "diff --first takes one file"},
      {{"diff", old_file, new_file, "--no-such-flag"}, "--no-such-flag"},
      {{"diff", old_file, new_file, "--ops", "insert,upsert"}, "unknown kind 'upsert'"},
      {{"diff", old_file, new_file, "--on-duplicate", "sometimes"}, "'sometimes'"},
      {{"diff", old_file, new_file, "--delimiter", ";;"}, "--delimiter must be one character"},
  };
  for (const auto& [args, fragment] : cases) {
    const CommandResult diff = RunSnapdelta(args);
    EXPECT_EQ(diff.exit_code, 2) << diff.Describe();
    EXPECT_THAT(diff.err, HasSubstr(fragment)) << diff.Describe();
  }
}

}  // namespace
}  // namespace snapdelta::testing
