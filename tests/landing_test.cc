// The local landing zone's walk (symlinks, FIFOs, unreadable folders), settling, the names
// discovery refuses, and discovery going on past one bad file.
#include "snapdelta/landing.h"

#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "pipeline/discovery.h"
#include "pipeline/settle.h"
#include "test_util.h"

namespace snapdelta {
namespace {

using ::snapdelta::testing::ScratchDir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

const LandingFile* FindFile(const LandingListing& listing, const std::string& file) {
  for (const LandingFile& entry : listing.files) {
    if (entry.file == file) return &entry;
  }
  return nullptr;
}

class LocalLandingTest : public ::testing::Test {
 protected:
  std::string Landing() const { return scratch_.File("landing"); }
  std::string Write(const std::string& relative, const std::string& content = "id\n1\n") {
    return scratch_.Write("landing/" + relative, content);
  }
  LandingListing List() {
    StatusOr<LandingListing> listing = OpenLandingZone(Landing()).value()->List();
    EXPECT_TRUE(listing.ok()) << listing.status().ToString();
    return listing.ok() ? *std::move(listing) : LandingListing();
  }

  ScratchDir scratch_;
};

TEST_F(LocalLandingTest, ListsExportFilesSortedWithSizeAndPath) {
  Write("acme/orders/v2/b.csv", "id\n1\n2\n");
  Write("acme/orders/v1/a.csv");
  Write("acme/orders/v1/.hidden.csv");
  Write("acme/orders/v1/upload.part");
  Write("acme/stray.csv");  // a file above the version level is not an export
  LandingListing listing = List();
  ASSERT_EQ(listing.files.size(), 2u);
  EXPECT_EQ(listing.files[0].Name(), "acme/orders/v1/a.csv");
  EXPECT_EQ(listing.files[1].Name(), "acme/orders/v2/b.csv");
  EXPECT_EQ(listing.files[1].size, 7u);
  EXPECT_EQ(listing.files[1].path, Landing() + "/acme/orders/v2/b.csv");
  EXPECT_TRUE(listing.files[0].unusable.empty());
  EXPECT_TRUE(listing.notes.empty());
}

TEST_F(LocalLandingTest, FollowsSymlinksInsideTheLandingZoneOnly) {
  Write("acme/orders/v1/real.csv", "id\n1\n");
  std::string outside = scratch_.Write("elsewhere/secret.csv", "id\n42\n");
  fs::create_directories(Landing() + "/acme/orders/v2");
  fs::create_symlink("../v1/real.csv", Landing() + "/acme/orders/v2/inside.csv");
  fs::create_symlink(outside, Landing() + "/acme/orders/v2/outside.csv");
  fs::create_symlink(scratch_.File("elsewhere"), Landing() + "/acme/leaves");  // a table folder
  LandingListing listing = List();

  const LandingFile* inside = FindFile(listing, "inside.csv");
  ASSERT_NE(inside, nullptr);
  EXPECT_TRUE(inside->unusable.empty()) << inside->unusable;
  EXPECT_EQ(inside->size, 5u);  // the target's size

  const LandingFile* leaving = FindFile(listing, "outside.csv");
  ASSERT_NE(leaving, nullptr);
  EXPECT_THAT(leaving->unusable, HasSubstr("outside the landing zone"));
  EXPECT_THAT(leaving->unusable, HasSubstr("not followed"));

  ASSERT_EQ(listing.notes.size(), 1u);
  EXPECT_THAT(listing.notes[0], HasSubstr("acme/leaves: a symlink to"));
  EXPECT_THAT(listing.notes[0], HasSubstr("not followed"));
  for (const LandingFile& file : listing.files) EXPECT_NE(file.table, "leaves");
}

TEST_F(LocalLandingTest, ListsADanglingSymlinkAsUnusableWithNoSizeOrTime) {
  fs::create_directories(Landing() + "/acme/orders/v1");
  fs::create_symlink("missing.csv", Landing() + "/acme/orders/v1/e.csv");
  LandingListing listing = List();
  ASSERT_EQ(listing.files.size(), 1u);
  EXPECT_THAT(listing.files[0].unusable, HasSubstr("leads nowhere"));
  EXPECT_EQ(listing.files[0].size, 0u);
  EXPECT_EQ(listing.files[0].mtime_ms, 0);
}

TEST_F(LocalLandingTest, NeverOpensAFifoWhereverItIs) {
  fs::create_directories(Landing() + "/acme/orders/v1");
  ASSERT_EQ(::mkfifo((Landing() + "/acme/orders/v1/pipe.csv").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((Landing() + "/acme/pipe").c_str(), 0600), 0);
  LandingListing listing = List();
  ASSERT_EQ(listing.files.size(), 1u);
  EXPECT_THAT(listing.files[0].unusable, HasSubstr("a FIFO, not a regular file"));
  ASSERT_EQ(listing.notes.size(), 1u);
  EXPECT_THAT(listing.notes[0], HasSubstr("acme/pipe: a FIFO"));

  // Even when asked to, the checksum does not wait for a writer.
  StatusOr<std::string> checksum = OpenLandingZone(Landing()).value()->Checksum(listing.files[0]);
  EXPECT_EQ(checksum.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(checksum.status().message(), HasSubstr("not a regular file"));
}

TEST_F(LocalLandingTest, AFolderThatCannotBeListedIsANoteNotAnError) {
  Write("acme/orders/v1/a.csv");
  Write("other/orders/v1/a.csv");
  ASSERT_EQ(::chmod((Landing() + "/other").c_str(), 0), 0);
  DIR* probe = ::opendir((Landing() + "/other").c_str());
  const bool denied = probe == nullptr;
  if (probe != nullptr) ::closedir(probe);
  LandingListing listing = List();
  ::chmod((Landing() + "/other").c_str(), 0755);
  if (!denied) GTEST_SKIP() << "running with CAP_DAC_OVERRIDE (root): a mode-0 folder is readable";
  ASSERT_EQ(listing.files.size(), 1u);
  EXPECT_EQ(listing.files[0].tenant, "acme");
  ASSERT_EQ(listing.notes.size(), 1u);
  EXPECT_THAT(listing.notes[0], HasSubstr("other: cannot be listed (Permission denied)"));
}

TEST_F(LocalLandingTest, AMissingLandingFolderIsNotFound) {
  StatusOr<LandingListing> listing = OpenLandingZone(scratch_.File("nope")).value()->List();
  EXPECT_EQ(listing.status().code(), StatusCode::kNotFound);
}

LandingFile FileAt(int64_t mtime_ms, uint64_t size = 10) {
  LandingFile file{"acme", "orders", "v1", "a.csv", size, mtime_ms, "/l/acme/orders/v1/a.csv", ""};
  return file;
}

TEST(SettleTracker, AFileModifiedLongAgoIsSettledAtTheFirstLook) {
  int64_t now = 100'000;
  SettleTracker settle(2000, [&] { return now; });
  EXPECT_TRUE(settle.Settled(FileAt(now - 2000)));
  EXPECT_FALSE(settle.NextLookInMs().has_value());
}

TEST(SettleTracker, AYoungFileSettlesOnceUnchangedForTheSettleTime) {
  int64_t now = 100'000;
  SettleTracker settle(2000, [&] { return now; });
  EXPECT_FALSE(settle.Settled(FileAt(now - 500)));
  EXPECT_EQ(settle.NextLookInMs(), 2000);
  now += 1500;
  EXPECT_EQ(settle.NextLookInMs(), 500);
  EXPECT_FALSE(settle.Settled(FileAt(101'500, 20)));  // it grew: a new first look
  EXPECT_EQ(settle.NextLookInMs(), 2000);
  now += 1999;
  EXPECT_FALSE(settle.Settled(FileAt(101'500, 20)));
  now += 1;
  EXPECT_TRUE(settle.Settled(FileAt(101'500, 20)));
  EXPECT_FALSE(settle.NextLookInMs().has_value());
}

TEST(SettleTracker, AnMtimeInTheFutureNeedsTwoLooks) {
  int64_t now = 100'000;
  SettleTracker settle(2000, [&] { return now; });
  EXPECT_FALSE(settle.Settled(FileAt(now + 60'000)));  // a writer with a clock ahead
  now += 2000;
  EXPECT_TRUE(settle.Settled(FileAt(100'000 + 60'000)));
}

TEST(SettleTracker, ZeroSettlesEveryFileAtOnce) {
  SettleTracker settle(0, [] { return int64_t{5}; });
  EXPECT_TRUE(settle.Settled(FileAt(5)));
  EXPECT_FALSE(WaitForNextLook(settle, nullptr));
}

TEST(ExportNameProblem, RefusesNamesThatAreNotUtf8) {
  EXPECT_EQ(ExportNameProblem("acme", "orders", "v1", "a.csv"), "");
  EXPECT_EQ(ExportNameProblem("acme", "orders", "v\xc3\xa9", "\xe2\x82\xac.csv"), "");
  std::string problem = ExportNameProblem("acme", "orders",
                                          "v\xff"
                                          "1",
                                          "a.csv");
  EXPECT_THAT(problem, HasSubstr("version folder name \"v\\xff1\" is not valid UTF-8"));
  EXPECT_THAT(problem, HasSubstr("byte 0xff at offset 1"));
  EXPECT_THAT(ExportNameProblem("ac\xc3", "orders", "v1", "a.csv"), HasSubstr("tenant folder"));
  EXPECT_THAT(ExportNameProblem("acme", "orders", "v1", "\xed\xa0\x80.csv"), HasSubstr("file"));
}

TEST(ExportNameProblem, RefusesVersionsWhoseChangeFileNameWouldBeTooLong) {
  // ".jsonl" and the longest private temp suffix, ".ffffffff-ffffffff.tmp", take 28 bytes.
  EXPECT_EQ(ExportNameProblem("acme", "orders", std::string(227, 'v'), "a.csv"), "");
  std::string problem = ExportNameProblem("acme", "orders", std::string(228, 'v'), "a.csv");
  EXPECT_THAT(problem, HasSubstr("228 bytes"));
  EXPECT_THAT(problem, HasSubstr("255-byte limit"));
  EXPECT_THAT(problem, HasSubstr("at most 227 bytes"));
}

ImportRecord Pending(const std::string& table, const std::string& version) {
  ImportRecord record;
  record.tenant = "acme";
  record.table = table;
  record.version = version;
  record.file = "a.csv";
  return record;
}

TEST(HoldBackUnsettled, KeepsATablesVersionsFromTheUnsettledOneOnForLater) {
  LandingFile unsettled{"acme", "orders", "v2", "a.csv", 1, 1, "/l", ""};
  std::vector<ImportRecord> held_back;
  std::vector<ImportRecord> kept =
      HoldBackUnsettled({Pending("orders", "v1"), Pending("orders", "v2"), Pending("orders", "v3"),
                         Pending("users", "v3")},
                        {unsettled}, &held_back);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].version, "v1");
  EXPECT_EQ(kept[1].table, "users");
  ASSERT_EQ(held_back.size(), 2u);
  EXPECT_EQ(held_back[0].version, "v2");
  EXPECT_EQ(held_back[1].version, "v3");
}

// A landing zone of given files whose checksum fails for the paths in `unreadable`.
class FakeLanding : public LandingZone {
 public:
  StatusOr<LandingListing> List() override { return listing; }
  StatusOr<std::string> Checksum(const LandingFile& file) override {
    if (unreadable.contains(file.path)) return ErrnoError("open " + file.path, EACCES);
    return "sum-of-" + file.path;
  }
  StatusOr<std::vector<LandingFile>> ListVersion(const std::string&, const std::string&,
                                                 const std::string&) override {
    return std::vector<LandingFile>();
  }
  std::unique_ptr<StoredFile> Open(const LandingFile& file) override {
    return OpenLocalFile(file.path);
  }
  const std::string& url() const override { return url_; }
  std::string url_ = "/l";
  LandingListing listing;
  std::set<std::string> unreadable;
};

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<std::unique_ptr<Registry>> opened = OpenSqliteRegistry(scratch_.File("registry.db"));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    registry_ = std::move(opened).value();
  }
  void Add(const std::string& table, const std::string& version, const std::string& file,
           std::string unusable = "") {
    landing_.listing.files.push_back(LandingFile{"acme", table, version, file, 10, 1000,
                                                 "/l/" + table + "/" + file, std::move(unusable)});
  }
  DiscoveryReport Discover() {
    DiscoveryReport report;
    Status status = DiscoverExports(&landing_, registry_.get(), nullptr, 30000, &report);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return report;
  }

  ScratchDir scratch_;
  FakeLanding landing_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(DiscoveryTest, AnUnreadableFileFailsAloneAndIsNotReportedAgain) {
  Add("bad", "v1", "e.csv");
  Add("good", "v1", "a.csv");
  Add("odd", "v1", "pipe.csv", "a FIFO, not a regular file; ignored");
  Add("odd", "v\xff", "a.csv");
  landing_.unreadable.insert("/l/bad/e.csv");
  DiscoveryReport report = Discover();
  ASSERT_EQ(report.finished.size(), 3u);
  EXPECT_EQ(report.finished[0].state, ImportState::kFailed);
  EXPECT_THAT(report.finished[0].reason, HasSubstr("open /l/bad/e.csv: Permission denied"));
  EXPECT_EQ(report.finished[1].state, ImportState::kSkipped);
  EXPECT_THAT(report.finished[1].reason, HasSubstr("a FIFO"));
  EXPECT_EQ(report.finished[2].state, ImportState::kFailed);
  EXPECT_THAT(report.finished[2].reason, HasSubstr("not valid UTF-8"));
  StatusOr<std::vector<ImportRecord>> pending = registry_->ListPending();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].table, "good");

  EXPECT_TRUE(Discover().finished.empty());  // nothing changed: nothing new to say

  landing_.unreadable.clear();  // the permission was fixed: the file is taken now
  EXPECT_TRUE(Discover().finished.empty());
  pending = registry_->ListPending();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].table, "bad");
  EXPECT_EQ((*pending)[0].checksum, "sum-of-/l/bad/e.csv");
}

TEST_F(DiscoveryTest, AnUnsettledFileIsNeitherRegisteredNorReadYet) {
  int64_t now = 1000 + 500;  // the files were modified half a second ago
  SettleTracker settle(2000, [&] { return now; });
  Add("orders", "v1", "a.csv");
  DiscoveryReport report;
  ASSERT_TRUE(DiscoverExports(&landing_, registry_.get(), &settle, 30000, &report).ok());
  ASSERT_EQ(report.unsettled.size(), 1u);
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_THAT(report.notes[0], HasSubstr("acme/orders/v1/a.csv: still being written"));
  EXPECT_TRUE(registry_->ListImports()->empty());
  now += 2000;
  ASSERT_TRUE(DiscoverExports(&landing_, registry_.get(), &settle, 30000, &report).ok());
  EXPECT_TRUE(report.unsettled.empty());
  EXPECT_TRUE(report.notes.empty());
  EXPECT_EQ(registry_->ListPending()->size(), 1u);
}

}  // namespace
}  // namespace snapdelta
