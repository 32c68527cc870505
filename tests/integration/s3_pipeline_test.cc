// End-to-end on S3: the snapdelta binary against moto_server, with the AWS CLI as the independent
// client that uploads the exports and looks at what snapdelta stored. The change files must equal
// those of the same exports imported from a local folder (which the oracle tests check against a
// SQL full outer join), byte for byte.
//
// Covered: `watch` importing the sample exports as they are uploaded, with the states on S3 and
// none under the home; S3 event notifications on SQS starting an import at once; a multi-part
// export with _SUCCESS; exports found past the first 1,000 keys of a listing; a missing bucket;
// a worker killed mid-download and rerun; the server gone mid-download.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <random>
#include <thread>

#include "cloud/fault_proxy.h"
#include "cloud/moto_server.h"
#include "integration/harness.h"

namespace snapdelta::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kTable[] = "tenant/test_table";
const std::vector<std::string> kSampleFiles = {"20201230_V0001/export1.csv.gz",
                                               "20201230_V0002/export2.csv.gz",
                                               "20201231_V0001/export3.csv.gz"};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class S3Pipeline : public MotoTest {
 protected:
  static void SetUpTestSuite() {
    MotoTest::SetUpTestSuite();
    // The reference: the sample exports imported from the bundled landing folder.
    reference_ = new TempDir("snapdelta-s3-reference");
    CommandResult run = RunSnapdelta({"run", "--landing", ExamplesLanding().string(), "--home",
                                      (reference_->path() / "home").string()});
    EXPECT_EQ(run.exit_code, 0) << run.Describe();
  }
  static void TearDownTestSuite() {
    delete reference_;
    reference_ = nullptr;
    MotoTest::TearDownTestSuite();
  }

  // The reference change file of a sample version.
  static std::string ReferenceChanges(const std::string& version) {
    return ReadFile(reference_->path() / "home" / "changes" / kTable / (version + ".jsonl"));
  }
  fs::path ChangeFile(const std::string& version) const {
    return home_ / "changes" / kTable / (version + ".jsonl");
  }
  void Upload(const fs::path& file, const std::string& url) {
    CommandResult copied = Aws({"s3", "cp", file.string(), url});
    ASSERT_TRUE(copied.ok()) << copied.Describe();
  }
  void UploadText(const std::string& text, const std::string& url) {
    static int count = 0;
    fs::path file = tmp_ / ("upload-" + std::to_string(++count));
    WriteFile(file, text);
    Upload(file, url);
  }
  // `status --json` entries of the home, by version.
  std::map<std::string, nlohmann::json> Imports() {
    CommandResult status = RunSnapdelta({"status", "--home", home_.string(), "--json"});
    EXPECT_EQ(status.exit_code, 0) << status.Describe();
    std::map<std::string, nlohmann::json> by_version;
    for (const nlohmann::json& import : ParseJson(status.out))
      by_version[import["version"]] = import;
    return by_version;
  }

  static TempDir* reference_;
  TempDir tmp_{"snapdelta-s3"};
  const fs::path home_ = tmp_ / "home";
};

TempDir* S3Pipeline::reference_ = nullptr;

TEST_F(S3Pipeline, WatchImportsEachUploadExactlyWithTheStatesOnS3) {
  const std::string landing = "s3://" + NewBucket("landing") + "/exports";
  const std::string states_bucket = NewBucket("states");
  Background watch({"watch", "--landing", landing, "--state", "s3://" + states_bucket + "/st",
                    "--home", home_.string(), "--interval", "0.2", "--settle-seconds", "0"},
                   tmp_ / "watch.log");
  for (const std::string& file : kSampleFiles) {
    const std::string version = file.substr(0, file.find('/'));
    Upload(ExamplesLanding() / kTable / file, landing + "/" + kTable + "/" + file);
    ASSERT_TRUE(WaitFor([&] { return fs::exists(ChangeFile(version)); }, 30s))
        << version << " not imported; watch said:\n"
        << watch.log();
    EXPECT_EQ(ReadFile(ChangeFile(version)), ReferenceChanges(version)) << version;
  }
  EXPECT_EQ(watch.Stop(SIGTERM), 0) << watch.log();

  CommandResult listed = Aws({"s3", "ls", "--recursive", "s3://" + states_bucket + "/"});
  ASSERT_TRUE(listed.ok()) << listed.Describe();
  for (const std::string& file : kSampleFiles) {
    EXPECT_TRUE(Contains(listed.out,
                         "st/" + std::string(kTable) + "/" + file.substr(0, file.find('/')) + "/"))
        << listed.out;
  }
  EXPECT_FALSE(fs::exists(home_ / "state")) << "no state under the home";
  std::map<std::string, nlohmann::json> imports = Imports();
  ASSERT_EQ(imports.size(), 3u);
  for (const auto& [version, import] : imports) EXPECT_EQ(import["state"], "committed");
}

TEST_F(S3Pipeline, AnS3EventNotificationOnSqsStartsTheImportAtOnce) {
  const std::string bucket = NewBucket("events");
  CommandResult queue = Aws({"sqs", "create-queue", "--queue-name", bucket + "-q"});
  ASSERT_TRUE(queue.ok()) << queue.Describe();
  const std::string queue_url = ParseJson(queue.out)["QueueUrl"];
  CommandResult attributes = Aws(
      {"sqs", "get-queue-attributes", "--queue-url", queue_url, "--attribute-names", "QueueArn"});
  ASSERT_TRUE(attributes.ok()) << attributes.Describe();
  const std::string arn = ParseJson(attributes.out)["Attributes"]["QueueArn"];
  CommandResult configured = Aws({"s3api", "put-bucket-notification-configuration", "--bucket",
                                  bucket, "--notification-configuration",
                                  R"({"QueueConfigurations": [{"QueueArn": ")" + arn +
                                      R"(", "Events": ["s3:ObjectCreated:*"]}]})"});
  ASSERT_TRUE(configured.ok()) << configured.Describe();

  // Polls are an hour apart: only the notification can start the import in time.
  const std::string events = "sqs://" + queue_url.substr(queue_url.find("://") + 3);
  Background watch({"watch", "--landing", "s3://" + bucket, "--home", home_.string(), "--interval",
                    "3600", "--settle-seconds", "0", "--events", events},
                   tmp_ / "watch.log");
  ASSERT_TRUE(WaitFor([&] { return fs::exists(home_ / "registry.db"); }, 20s)) << watch.log();
  const std::string file = kSampleFiles[0];
  Upload(ExamplesLanding() / kTable / file, "s3://" + bucket + "/" + kTable + "/" + file);
  ASSERT_TRUE(WaitFor([&] { return fs::exists(ChangeFile("20201230_V0001")); }, 30s))
      << watch.log();
  EXPECT_EQ(ReadFile(ChangeFile("20201230_V0001")), ReferenceChanges("20201230_V0001"));
  const std::string second = kSampleFiles[1];  // a known table now: listed from its last key
  Upload(ExamplesLanding() / kTable / second, "s3://" + bucket + "/" + kTable + "/" + second);
  ASSERT_TRUE(WaitFor([&] { return fs::exists(ChangeFile("20201230_V0002")); }, 30s))
      << watch.log();
  EXPECT_EQ(ReadFile(ChangeFile("20201230_V0002")), ReferenceChanges("20201230_V0002"));

  // The message is deleted once its export is registered: nothing is left on the queue.
  bool drained = WaitFor(
      [&] {
        CommandResult left =
            Aws({"sqs", "get-queue-attributes", "--queue-url", queue_url, "--attribute-names",
                 "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"});
        nlohmann::json counts = ParseJson(left.out)["Attributes"];
        return counts["ApproximateNumberOfMessages"] == "0" &&
               counts["ApproximateNumberOfMessagesNotVisible"] == "0";
      },
      20s);
  EXPECT_TRUE(drained) << watch.log();
  EXPECT_EQ(watch.Stop(SIGTERM), 0) << watch.log();
}

TEST_F(S3Pipeline, AMultiPartExportWaitsForSuccessThenImportsAsOne) {
  const std::string landing = "s3://" + NewBucket("parts");
  const std::string version = landing + "/acme/orders/v1/";
  UploadText("id,amount\n1,10\n2,20\n", version + "part-0000.csv");
  UploadText("id,amount\n3,30\n", version + "part-0001.csv");
  const std::vector<std::string> run = {"run",          "--landing",        landing, "--home",
                                        home_.string(), "--settle-seconds", "0"};
  CommandResult waiting = RunSnapdelta(run);
  EXPECT_EQ(waiting.exit_code, 0) << waiting.Describe();
  EXPECT_EQ(Imports()["v1"]["state"], "waiting") << waiting.Describe();
  UploadText("", version + "_SUCCESS");
  CommandResult complete = RunSnapdelta(run);
  ASSERT_EQ(complete.exit_code, 0) << complete.Describe();
  EXPECT_EQ(Imports()["v1"]["state"], "committed");
  EXPECT_EQ(Imports()["v1"]["inserts"], 3);

  const fs::path single = tmp_ / "single";
  WriteFile(single / "acme" / "orders" / "v1" / "export.csv", "id,amount\n1,10\n2,20\n3,30\n");
  CommandResult reference = RunSnapdelta(
      {"run", "--landing", single.string(), "--home", (tmp_ / "single-home").string()});
  ASSERT_EQ(reference.exit_code, 0) << reference.Describe();
  EXPECT_EQ(ReadFile(home_ / "changes" / "acme" / "orders" / "v1.jsonl"),
            ReadFile(tmp_ / "single-home" / "changes" / "acme" / "orders" / "v1.jsonl"));
}

TEST_F(S3Pipeline, TheDryRunReleaseAndRewindWorkOnS3) {
  const std::string landing = "s3://" + NewBucket("admin");
  const std::string states = "s3://" + NewBucket("admin-states") + "/st";
  const std::vector<std::string> where = {"--landing", landing,        "--state",          states,
                                          "--home",    home_.string(), "--settle-seconds", "0"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), where.begin(), where.end());
    return args;
  };
  std::string ten = "id,v\n", two = "id,v\n";
  for (int id = 1; id <= 10; ++id) ten += std::to_string(id) + ",a\n";
  for (int id = 1; id <= 2; ++id) two += std::to_string(id) + ",a\n";
  UploadText(ten, landing + "/acme/orders/v1/export.csv");
  ASSERT_EQ(RunSnapdelta(with({"run"})).exit_code, 0);
  UploadText(two, landing + "/acme/orders/v2/export.csv");  // deletes 80%: held by the guard

  CommandResult dry_run = RunSnapdelta(with({"run", "--dry-run", "--json"}));
  EXPECT_EQ(dry_run.exit_code, 1) << dry_run.Describe();
  nlohmann::json planned = ParseJson(dry_run.out);
  ASSERT_EQ(planned.size(), 1u) << dry_run.Describe();
  EXPECT_EQ(planned[0]["action"], "hold") << planned.dump();
  EXPECT_EQ(planned[0]["deletes"], 8) << planned.dump();

  CommandResult held = RunSnapdelta(with({"run"}));
  EXPECT_EQ(held.exit_code, 1) << held.Describe();
  EXPECT_EQ(Imports()["v2"]["state"], "held");
  CommandResult released = RunSnapdelta(with({"release", "acme/orders/v2"}));
  ASSERT_EQ(released.exit_code, 0) << released.Describe();
  EXPECT_EQ(Imports()["v2"]["state"], "committed");
  EXPECT_EQ(Imports()["v2"]["released"], true);

  CommandResult rewound = RunSnapdelta(
      {"rewind", "acme/orders", "--to", "v1", "--state", states, "--home", home_.string()});
  ASSERT_EQ(rewound.exit_code, 0) << rewound.Describe();
  UploadText(ten, landing + "/acme/orders/v3/export.csv");  // v1's rows again
  ASSERT_EQ(RunSnapdelta(with({"run"})).exit_code, 0);
  nlohmann::json v3 = Imports()["v3"];  // diffed against v1's state on S3, not v2's
  EXPECT_EQ(v3["state"], "committed") << v3.dump();
  EXPECT_EQ(v3["inserts"], 0) << v3.dump();
  EXPECT_EQ(v3["deletes"], 0) << v3.dump();
}

TEST_F(S3Pipeline, OldStatesAreDeletedFromTheBucketAsKeepStatesAllows) {
  const std::string landing = "s3://" + NewBucket("prune");
  const std::string states_bucket = NewBucket("prune-states");
  WriteFile(tmp_ / "snapdelta.toml", "keep_states = 1\n");
  const std::vector<std::string> run = {"run",
                                        "--landing",
                                        landing,
                                        "--state",
                                        "s3://" + states_bucket,
                                        "--config",
                                        (tmp_ / "snapdelta.toml").string(),
                                        "--home",
                                        home_.string(),
                                        "--settle-seconds",
                                        "0"};
  for (const std::string& file : kSampleFiles) {
    Upload(ExamplesLanding() / kTable / file, landing + "/" + kTable + "/" + file);
    CommandResult imported = RunSnapdelta(run);
    ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
  }
  CommandResult listed = Aws({"s3", "ls", "--recursive", "s3://" + states_bucket + "/"});
  ASSERT_TRUE(listed.ok()) << listed.Describe();
  EXPECT_FALSE(Contains(listed.out, "20201230_V0001/")) << listed.out;
  EXPECT_FALSE(Contains(listed.out, "20201230_V0002/")) << listed.out;
  EXPECT_TRUE(Contains(listed.out, std::string(kTable) + "/20201231_V0001/")) << listed.out;
  EXPECT_EQ(ReadFile(ChangeFile("20201231_V0001")), ReferenceChanges("20201231_V0001"));
}

TEST_F(S3Pipeline, FindsExportsPastTheFirstThousandKeysOfAListing) {
  const std::string bucket = NewBucket("many");
  const fs::path noise = tmp_ / "noise";
  for (int i = 0; i < 1100; ++i) {  // keys at the depth of no export sort before the real one
    WriteFile(noise / "aaa" / ("n" + std::to_string(i) + ".txt"), "x");
  }
  CommandResult synced =
      Aws({"s3", "sync", "--only-show-errors", noise.string(), "s3://" + bucket});
  ASSERT_TRUE(synced.ok()) << synced.Describe();
  UploadText("id,v\n1,a\n", "s3://" + bucket + "/zzz/orders/v1/export.csv");
  CommandResult run = RunSnapdelta(
      {"run", "--landing", "s3://" + bucket, "--home", home_.string(), "--settle-seconds", "0"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(Contains(run.out, "committed  zzz/orders/v1/export.csv")) << run.Describe();
}

// Between full rescans, watch lists each known table from its last key on: a table of many old
// keys is not listed whole at every poll, and a new version is still imported at once.
TEST_F(S3Pipeline, WatchListsOnlyWhatIsNewBetweenFullRescans) {
  const std::string bucket = NewBucket("incremental");
  const fs::path noise = tmp_ / "noise";
  for (int i = 0; i < 1100; ++i) {  // old keys of a table: two pages to list in full
    WriteFile(noise / "acme" / "noise" / "v1" / ("n" + std::to_string(i) + ".tmp"), "x");
  }
  CommandResult synced =
      Aws({"s3", "sync", "--only-show-errors", noise.string(), "s3://" + bucket});
  ASSERT_TRUE(synced.ok()) << synced.Describe();
  const std::string file = kSampleFiles[0];
  Upload(ExamplesLanding() / kTable / file, "s3://" + bucket + "/" + kTable + "/" + file);

  FaultProxy proxy(server()->port());
  setenv("AWS_ENDPOINT_URL", proxy.endpoint().c_str(), 1);  // for the child only
  Background watch({"watch", "--landing", "s3://" + bucket, "--home", home_.string(), "--interval",
                    "0.2", "--settle-seconds", "0"},
                   tmp_ / "watch.log");
  setenv("AWS_ENDPOINT_URL", endpoint().c_str(), 1);
  ASSERT_TRUE(WaitFor([&] { return fs::exists(ChangeFile("20201230_V0001")); }, 30s))
      << watch.log();
  const std::string next = kSampleFiles[1];
  Upload(ExamplesLanding() / kTable / next, "s3://" + bucket + "/" + kTable + "/" + next);
  ASSERT_TRUE(WaitFor([&] { return fs::exists(ChangeFile("20201230_V0002")); }, 30s))
      << watch.log();
  EXPECT_EQ(ReadFile(ChangeFile("20201230_V0002")), ReferenceChanges("20201230_V0002"));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(watch.Stop(SIGTERM), 0) << watch.log();

  int full = 0, paged = 0, incremental = 0;
  for (const ProxiedRequest& request : proxy.Requests()) {
    const std::string line = request.head.substr(0, request.head.find('\r'));
    if (!Contains(line, "list-type=2")) continue;
    if (Contains(line, "continuation-token=")) {
      ++paged;
    } else if (Contains(line, "start-after=")) {
      ++incremental;
    } else if (Contains(line, "prefix=&") || !Contains(line, "prefix=")) {
      ++full;
    }
  }
  EXPECT_GE(incremental, 5) << "polls listed from each table's last key";
  EXPECT_GE(full, 1);
  EXPECT_EQ(paged, full) << "only full rescans page through the old keys";
}

TEST_F(S3Pipeline, DiffReadsObjectsAsItReadsFiles) {
  const std::string bucket = "s3://" + NewBucket("diff");
  const fs::path old_file = ExamplesLanding() / kTable / kSampleFiles[0];
  const fs::path new_file = ExamplesLanding() / kTable / kSampleFiles[1];
  Upload(old_file, bucket + "/old.csv.gz");
  Upload(new_file, bucket + "/new.csv.gz");
  CommandResult remote = RunSnapdelta(
      {"diff", bucket + "/old.csv.gz", bucket + "/new.csv.gz", "--table", "t", "--version", "v"});
  CommandResult local = RunSnapdelta(
      {"diff", old_file.string(), new_file.string(), "--table", "t", "--version", "v"});
  ASSERT_EQ(remote.exit_code, 0) << remote.Describe();
  ASSERT_EQ(local.exit_code, 0) << local.Describe();
  EXPECT_EQ(remote.out, local.out);
  EXPECT_FALSE(remote.out.empty());
}

TEST_F(S3Pipeline, AMissingBucketIsAClearErrorNamingIt) {
  CommandResult run = RunSnapdelta({"run", "--landing", "s3://no-such-bucket-here/x", "--home",
                                    home_.string(), "--settle-seconds", "0"});
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(Contains(run.err, "no-such-bucket-here")) << run.Describe();
  EXPECT_TRUE(Contains(run.err, "does not exist")) << run.Describe();
}

// A large gzip export of `rows` rows whose values depend on `seed`.
void WriteLargeExport(const fs::path& path, int rows, int seed) {
  std::string csv = "id,name,amount\n";
  std::mt19937 random(seed);
  for (int id = 1; id <= rows; ++id) {
    csv += std::to_string(id) + ",name " + std::to_string(id) + "," + std::to_string(random() % 4) +
           "\n";
  }
  WriteFile(path.string() + ".csv", csv);
  CommandResult gzip = RunCommand({"gzip", "-f", path.string() + ".csv"});
  ASSERT_TRUE(gzip.ok()) << gzip.Describe();
}

TEST_F(S3Pipeline, AWorkerKilledMidDownloadIsRerunToTheExactResult) {
  const fs::path local = tmp_ / "landing";
  WriteLargeExport(local / "acme" / "big" / "v1" / "export", 400000, 1);
  WriteLargeExport(local / "acme" / "big" / "v2" / "export", 400000, 2);
  CommandResult reference =
      RunSnapdelta({"run", "--landing", local.string(), "--home", (tmp_ / "reference").string()});
  ASSERT_EQ(reference.exit_code, 0) << reference.Describe();

  const std::string landing = "s3://" + NewBucket("killed");
  CommandResult synced = Aws({"s3", "sync", "--only-show-errors", local.string(), landing});
  ASSERT_TRUE(synced.ok()) << synced.Describe();
  const std::string states = "s3://" + NewBucket("killed-states");
  const std::vector<std::string> run = {"run",  "--landing", landing,        "--state",
                                        states, "--home",    home_.string(), "--settle-seconds",
                                        "0"};
  {
    Background killed(run, tmp_ / "killed.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + std::random_device{}() % 600));
    killed.Stop(SIGKILL);
  }
  CommandResult rerun = RunSnapdelta(run);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.Describe();
  for (const std::string version : {"v1", "v2"}) {
    EXPECT_EQ(ReadFile(home_ / "changes" / "acme" / "big" / (version + ".jsonl")),
              ReadFile(tmp_ / "reference" / "changes" / "acme" / "big" / (version + ".jsonl")))
        << version;
  }
}

TEST_F(S3Pipeline, TheServerGoneMidDownloadFailsTheImportClearlyAndChangesNothing) {
  const fs::path local = tmp_ / "landing";
  WriteLargeExport(local / "acme" / "big" / "v1" / "export", 200000, 3);
  const std::string landing = "s3://" + NewBucket("gone");
  CommandResult synced = Aws({"s3", "sync", "--only-show-errors", local.string(), landing});
  ASSERT_TRUE(synced.ok()) << synced.Describe();

  // The first response longer than 256 KiB (the export's download) is cut, and the server is
  // gone from then on.
  FaultProxy proxy(server()->port());
  proxy.CutFirstResponseLongerThan(256 << 10, [&] { proxy.SetRefusing(true); });
  RunOptions through_proxy;
  through_proxy.env = {"AWS_ENDPOINT_URL=" + proxy.endpoint()};
  CommandResult run =
      RunSnapdelta({"run", "--landing", landing, "--home", home_.string(), "--settle-seconds", "0"},
                   through_proxy);
  EXPECT_EQ(proxy.cuts_done(), 1);
  EXPECT_EQ(run.exit_code, 1) << run.Describe();
  EXPECT_TRUE(Contains(run.out, "failed") && Contains(run.out, proxy.endpoint())) << run.Describe();
  EXPECT_FALSE(fs::exists(home_ / "changes" / "acme" / "big" / "v1.jsonl")) << run.Describe();
  EXPECT_TRUE(SnapshotTree(home_ / "state").empty()) << "no state written";
  nlohmann::json v1 = Imports()["v1"];
  EXPECT_EQ(v1["state"], "failed") << v1.dump();
  EXPECT_EQ(v1["failure"], "environment") << v1.dump();
}

}  // namespace
}  // namespace snapdelta::testing
