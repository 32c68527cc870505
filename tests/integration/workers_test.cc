// End to end: several `snapdelta worker` processes sharing one landing zone, one state folder
// and a PostgreSQL registry (a real server, started by the harness). Every import is committed
// exactly once and its change file equals a single process's; imports of one table never
// overlap while different tables run in parallel; a worker killed mid-import or paused past its
// lease leaves its import to another, and the paused one cannot commit when it wakes (fencing
// token); the database restarted under running workers costs nothing. status, release, skip,
// rewind and the dry run work against the PostgreSQL registry.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "harness.h"
#include "pg/pg_server.h"

namespace snapdelta::testing {
namespace {

using namespace std::chrono_literals;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// "S" of a process's /proc/PID/stat: 'T' once it is stopped.
char ProcessState(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() ? '?' : text[paren + 2];
}

class Workers : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped()) return;
    url_ = server()->NewDatabase();
  }

  // `tables` tables acme/t01.. of `exports` exports, `rows` rows in the first.
  void Generate(int tables, int exports, int rows) {
    for (int t = 1; t <= tables; ++t) {
      char name[8];
      std::snprintf(name, sizeof(name), "t%02d", t);
      CommandResult gen =
          RunCommand({GenBin().string(), (tmp_ / "landing").string(), "--rows",
                      std::to_string(rows), "--exports", std::to_string(exports), "--seed",
                      std::to_string(t), "--landing", std::string("acme/") + name, "--truth",
                      (tmp_ / (std::string("truth-") + name + ".json")).string()});
      ASSERT_TRUE(gen.ok()) << gen.Describe();
    }
    expected_imports_ = tables * exports;
    // The reference: one process, the embedded SQLite registry.
    std::vector<std::string> args = {"run", "--landing", (tmp_ / "landing").string(), "--home",
                                     (tmp_ / "reference").string()};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    CommandResult reference = RunSnapdelta(args);
    ASSERT_EQ(reference.exit_code, 0) << reference.Describe();
  }

  std::vector<std::string> WorkerArgs(const std::string& command = "worker") const {
    std::vector<std::string> args = {command,
                                     "--landing",
                                     (tmp_ / "landing").string(),
                                     "--home",
                                     (tmp_ / "home").string(),
                                     "--state",
                                     (tmp_ / "state").string(),
                                     "--registry",
                                     url_,
                                     "--interval",
                                     "0.2",
                                     "--workers",
                                     "1",
                                     "--lease-seconds",
                                     lease_seconds_,
                                     "--retry-backoff",
                                     "1",
                                     "--settle-seconds",
                                     "0"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    return args;
  }

  std::unique_ptr<Background> StartWorker(const std::string& name,
                                          const std::string& crash_at = "") {
    std::vector<std::string> args = WorkerArgs();
    if (!crash_at.empty()) {
      // SpawnSnapdelta passes the environment on: set it around the spawn only.
      ::setenv("SNAPDELTA_CRASH_AT", crash_at.c_str(), 1);
    }
    auto worker = std::make_unique<Background>(args, tmp_ / (name + ".log"));
    ::unsetenv("SNAPDELTA_CRASH_AT");
    return worker;
  }

  // `status --json` against the PostgreSQL registry.
  nlohmann::json Status() {
    CommandResult status =
        RunSnapdelta({"status", "--home", (tmp_ / "home").string(), "--registry", url_, "--json"});
    EXPECT_EQ(status.exit_code, 0) << status.Describe();
    return status.ok() ? ParseJson(status.out, "status --json") : nlohmann::json::array();
  }

  // Committed imports, counted by psql, the independent client.
  int CommittedByPsql() {
    CommandResult count =
        PgServer::Psql(url_, "SELECT count(*) FROM snapdelta_imports WHERE state = 'committed'");
    return count.ok() ? std::stoi(count.out) : -1;
  }

  bool AllCommitted(std::chrono::seconds limit) {
    return WaitFor([&] { return CommittedByPsql() == expected_imports_; }, limit);
  }

  // Each import committed once, and the change files byte for byte the reference's.
  void ExpectExact() {
    std::map<std::string, int> committed;
    for (const nlohmann::json& import : Status()) {
      if (import["state"] == "committed") {
        committed[import["table"].get<std::string>() + "/" +
                  import["version"].get<std::string>()]++;
      }
    }
    EXPECT_EQ(committed.size(), static_cast<size_t>(expected_imports_));
    for (const auto& [path, times] : committed) EXPECT_EQ(times, 1) << path;
    auto changes = SnapshotTree(tmp_ / "home" / "changes");
    auto reference = SnapshotTree(tmp_ / "reference" / "changes");
    EXPECT_EQ(changes.size(), reference.size());
    for (const auto& [path, content] : reference) {
      auto it = changes.find(path);
      if (it == changes.end()) {
        ADD_FAILURE() << "missing change file " << path;
      } else {
        EXPECT_TRUE(it->second == content) << path << " differs from the single process's";
      }
    }
  }

  TempDir tmp_{"snapdelta-workers"};
  std::string url_;
  std::vector<std::string> extra_args_;  // for the reference run and every worker
  std::string lease_seconds_ = "3";
  int expected_imports_ = 0;
};

TEST_F(Workers, FourWorkersImportTwelveTablesEachExactlyOnceTablesInParallel) {
  ASSERT_NO_FATAL_FAILURE(Generate(12, 3, 20000));
  std::vector<std::unique_ptr<Background>> workers;
  for (int i = 0; i < 4; ++i) workers.push_back(StartWorker("w" + std::to_string(i)));
  ASSERT_TRUE(AllCommitted(180s)) << workers[0]->log();
  for (auto& worker : workers) EXPECT_EQ(worker->Stop(SIGTERM), 0) << worker->log();
  ExpectExact();

  // Imports of one table never overlap; imports of different tables do.
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> spans;
  for (const nlohmann::json& import : Status()) {
    if (import["state"] != "committed") continue;
    spans[import["table"]].emplace_back(import["started_at_ms"], import["finished_at_ms"]);
  }
  std::vector<std::pair<int64_t, int64_t>> all;
  for (auto& [table, list] : spans) {
    std::sort(list.begin(), list.end());
    for (size_t i = 1; i < list.size(); ++i) {
      EXPECT_LE(list[i - 1].second, list[i].first) << table << " ran two imports at once";
    }
    all.insert(all.end(), list.begin(), list.end());
  }
  int overlapping = 0;
  std::sort(all.begin(), all.end());
  for (size_t i = 1; i < all.size(); ++i) overlapping += all[i - 1].second > all[i].first;
  EXPECT_GT(overlapping, 0) << "no two tables were ever imported at the same time";
}

TEST_F(Workers, AWorkerKilledMidImportLeavesItToAnotherWithNothingLostOrDoubled) {
  ASSERT_NO_FATAL_FAILURE(Generate(3, 3, 20000));
  auto doomed = StartWorker("doomed", "sink.mid_file");
  ASSERT_TRUE(WaitFor(
      [&] { return ::kill(doomed->pid(), 0) != 0 || ProcessState(doomed->pid()) == 'Z'; }, 60s));
  EXPECT_EQ(doomed->Stop(SIGTERM), 128 + SIGKILL) << doomed->log();
  CommandResult running =
      PgServer::Psql(url_, "SELECT count(*) FROM snapdelta_imports WHERE state = 'running'");
  EXPECT_EQ(running.out, "1\n") << "the killed worker left its import running";

  auto first = StartWorker("first");
  auto second = StartWorker("second");
  ASSERT_TRUE(AllCommitted(120s)) << first->log() << second->log();
  EXPECT_EQ(first->Stop(SIGTERM), 0) << first->log();
  EXPECT_EQ(second->Stop(SIGTERM), 0) << second->log();
  ExpectExact();
}

TEST_F(Workers, AWorkerPausedPastItsLeaseCannotCommitOverTheNewOwner) {
  ASSERT_NO_FATAL_FAILURE(Generate(1, 2, 20000));
  auto paused = StartWorker("paused", "import.before_commit/stop");
  ASSERT_TRUE(WaitFor([&] { return ProcessState(paused->pid()) == 'T'; }, 60s)) << paused->log();
  CommandResult lease =
      PgServer::Psql(url_, "SELECT token FROM snapdelta_leases WHERE table_name = 't01'");
  ASSERT_TRUE(lease.ok()) << lease.Describe();
  const int paused_token = std::stoi(lease.out);
  std::this_thread::sleep_for(3500ms);  // past its lease, by the database's clock

  EXPECT_EQ(ProcessState(paused->pid()), 'T') << "still paused: " << paused->log();
  auto other = StartWorker("other");
  ASSERT_TRUE(AllCommitted(60s)) << other->log() << "\npaused:\n" << paused->log();
  EXPECT_EQ(ProcessState(paused->pid()), 'T') << "paused until the other finished";
  paused->Signal(SIGCONT);
  EXPECT_TRUE(WaitFor([&] { return Contains(paused->log(), "lost"); }, 20s))
      << "the woken worker says its lease is lost:\n"
      << paused->log();
  EXPECT_EQ(paused->Stop(SIGTERM), 0) << paused->log();
  EXPECT_EQ(other->Stop(SIGTERM), 0) << other->log();
  ExpectExact();
  for (const nlohmann::json& import : Status()) {
    EXPECT_GT(import["fencing_token"].get<int>(), paused_token)
        << "committed under the new owner's token: " << import.dump();
  }
}

TEST_F(Workers, APostgresRestartUnderRunningWorkersCostsNothing) {
  ASSERT_NO_FATAL_FAILURE(Generate(12, 3, 20000));
  std::vector<std::unique_ptr<Background>> workers;
  for (int i = 0; i < 4; ++i) workers.push_back(StartWorker("w" + std::to_string(i)));
  ASSERT_TRUE(WaitFor([&] { return CommittedByPsql() >= 4; }, 120s)) << workers[0]->log();
  server()->Stop();
  std::this_thread::sleep_for(2s);
  server()->Resume();
  ASSERT_TRUE(AllCommitted(180s)) << workers[0]->log() << workers[1]->log();
  for (auto& worker : workers) {
    // 1: a pass failed while the database was down; then it went on.
    EXPECT_LE(worker->Stop(SIGTERM), 1) << worker->log();
  }
  ExpectExact();
}

// One table split into 3 parts. The first worker stops (SIGSTOP) inside its first part, holding
// the table's lease; two more workers compute the other parts meanwhile; woken, the first
// assembles the import. States and change files equal one process's byte for byte (that process
// computed every part itself), and the state equals an unpartitioned import's.
TEST_F(Workers, APartitionedTableAcrossThreeWorkersEqualsOneWorkerByteForByte) {
  WriteFile(tmp_ / "snapdelta.toml", "[tables.t01]\npartitions = 3\n");
  extra_args_ = {"--config", (tmp_ / "snapdelta.toml").string()};
  ASSERT_NO_FATAL_FAILURE(Generate(1, 3, 60000));
  CommandResult whole = RunSnapdelta({"run", "--landing", (tmp_ / "landing").string(), "--home",
                                      (tmp_ / "unpartitioned").string()});
  ASSERT_EQ(whole.exit_code, 0) << whole.Describe();

  lease_seconds_ = "60";  // the first worker stays stopped a while
  auto first = StartWorker("first", "part.before_done/stop");
  ASSERT_TRUE(WaitFor([&] { return ProcessState(first->pid()) == 'T'; }, 60s)) << first->log();
  auto second = StartWorker("second");
  auto third = StartWorker("third");
  // The other two parts of the first import get done by the others while the first is stopped.
  const fs::path parts = tmp_ / "state" / ".snapdelta-parts" / "acme" / "t01";
  auto done_parts = [&] {
    int done = 0;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(parts, error)) {
      done += entry.path().filename().string().ends_with("-done.state");
    }
    return done;
  };
  ASSERT_TRUE(WaitFor([&] { return done_parts() == 2; }, 60s))
      << second->log() << third->log() << "\nfirst:\n"
      << first->log();
  EXPECT_EQ(ProcessState(first->pid()), 'T');
  // Owners are "<host>:<pid>:<random>": part 0 is the stopped worker's, the others are not.
  CommandResult owners =
      PgServer::Psql(url_,
                     "SELECT string_agg(split_part(owner, ':', 2), ' ' ORDER BY table_name) "
                     "FROM snapdelta_leases WHERE table_name LIKE 't01/part/%'");
  const std::string first_pid = std::to_string(first->pid());
  const std::string others = std::to_string(second->pid()) + std::to_string(third->pid());
  std::istringstream pids(owners.out);
  std::string pid0, pid1, pid2;
  pids >> pid0 >> pid1 >> pid2;
  EXPECT_EQ(pid0, first_pid) << owners.Describe();
  EXPECT_TRUE(pid1 != first_pid && Contains(others, pid1)) << owners.Describe();
  EXPECT_TRUE(pid2 != first_pid && Contains(others, pid2)) << owners.Describe();
  first->Signal(SIGCONT);
  ASSERT_TRUE(AllCommitted(120s)) << first->log() << second->log() << third->log();
  for (auto* worker : {first.get(), second.get(), third.get()}) {
    EXPECT_EQ(worker->Stop(SIGTERM), 0) << worker->log();
  }
  ExpectExact();
  auto states = SnapshotTree(tmp_ / "state" / "acme");
  auto reference = SnapshotTree(tmp_ / "reference" / "state" / "acme");
  auto unpartitioned = SnapshotTree(tmp_ / "unpartitioned" / "state" / "acme");
  ASSERT_EQ(states.size(), 3u);
  EXPECT_TRUE(states == reference) << "the states differ from one process's";
  EXPECT_TRUE(states == unpartitioned) << "the states differ from an unpartitioned import's";
  EXPECT_EQ(done_parts(), 0) << "the parts of committed imports are removed";
}

// A worker killed (kill -9) inside a task of a partitioned import: the import's own worker
// takes the task over (a dead local holder's lease at once), nothing is lost or doubled, and no
// file of the killed task is left behind.
TEST_F(Workers, AWorkerKilledInsideAPartLeavesItToTheImportsOwner) {
  WriteFile(tmp_ / "snapdelta.toml", "[tables.t01]\npartitions = 3\n");
  extra_args_ = {"--config", (tmp_ / "snapdelta.toml").string()};
  ASSERT_NO_FATAL_FAILURE(Generate(1, 2, 30000));
  lease_seconds_ = "60";
  auto owner = StartWorker("owner", "part.before_done/stop");
  ASSERT_TRUE(WaitFor([&] { return ProcessState(owner->pid()) == 'T'; }, 60s)) << owner->log();
  auto doomed = StartWorker("doomed", "part.before_done");
  ASSERT_TRUE(WaitFor(
      [&] { return ::kill(doomed->pid(), 0) != 0 || ProcessState(doomed->pid()) == 'Z'; }, 60s))
      << doomed->log();
  EXPECT_EQ(doomed->Stop(SIGTERM), 128 + SIGKILL) << doomed->log();
  owner->Signal(SIGCONT);
  ASSERT_TRUE(AllCommitted(120s)) << owner->log();
  EXPECT_EQ(owner->Stop(SIGTERM), 0) << owner->log();
  ExpectExact();
  EXPECT_TRUE(SnapshotTree(tmp_ / "state" / "acme") ==
              SnapshotTree(tmp_ / "reference" / "state" / "acme"));
  EXPECT_TRUE(SnapshotTree(tmp_ / "state" / ".snapdelta-parts").empty())
      << "files of the killed task are left";
}

TEST_F(Workers, StatusReleaseSkipRewindAndTheDryRunWorkOnPostgres) {
  const fs::path landing = tmp_ / "landing";
  auto deliver = [&](const std::string& table, const std::string& version, const std::string& csv) {
    WriteFile(landing / "acme" / table / version / "export.csv", csv);
  };
  std::string full = "id,amount\n";
  for (int i = 1; i <= 100; ++i) full += std::to_string(i) + ",1\n";
  deliver("orders", "v1", full);
  deliver("users", "v1", full);
  WriteFile(tmp_ / "snapdelta.toml", "max_delete_ratio = 0.5\n");
  std::vector<std::string> run = {"run",
                                  "--landing",
                                  landing.string(),
                                  "--home",
                                  (tmp_ / "home").string(),
                                  "--registry",
                                  url_,
                                  "--config",
                                  (tmp_ / "snapdelta.toml").string()};
  CommandResult first = RunSnapdelta(run);
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  EXPECT_FALSE(fs::exists(tmp_ / "home" / "registry.db")) << "the registry is PostgreSQL";

  deliver("orders", "v2", "id,amount\n1,2\n");  // 99 of 100 rows deleted: held
  deliver("users", "v2", "id,amount\n1,2\n");
  std::vector<std::string> dry = run;
  dry.push_back("--dry-run");
  dry.push_back("--json");
  CommandResult planned = RunSnapdelta(dry);
  ASSERT_EQ(planned.exit_code, 1) << "imports would be held: " << planned.Describe();
  for (const nlohmann::json& import : ParseJson(planned.out, "--dry-run --json")) {
    EXPECT_EQ(import["action"], "hold") << import.dump();
  }
  CommandResult registered = PgServer::Psql(url_, "SELECT count(*) FROM snapdelta_imports");
  EXPECT_EQ(registered.out, "2\n") << "the dry run wrote nothing to the registry";

  CommandResult held = RunSnapdelta(run);
  EXPECT_EQ(held.exit_code, 1) << held.Describe();
  EXPECT_TRUE(Contains(held.out, "snapdelta release")) << held.Describe();
  std::vector<std::string> registry = {"--home", (tmp_ / "home").string(), "--registry", url_};
  auto with_registry = [&](std::vector<std::string> args) {
    args.insert(args.end(), registry.begin(), registry.end());
    return RunSnapdelta(args);
  };
  CommandResult released =
      with_registry({"release", "acme/orders/v2", "--landing", landing.string(), "--config",
                     (tmp_ / "snapdelta.toml").string()});
  ASSERT_EQ(released.exit_code, 0) << released.Describe();
  CommandResult skipped = with_registry({"skip", "acme/users/v2"});
  ASSERT_EQ(skipped.exit_code, 0) << skipped.Describe();
  std::map<std::string, std::string> states;
  for (const nlohmann::json& import : Status()) {
    states[import["table"].get<std::string>() + "/" + import["version"].get<std::string>()] =
        import["state"];
  }
  EXPECT_EQ(states["orders/v2"], "committed");
  EXPECT_EQ(states["users/v2"], "skipped");

  CommandResult rewound = with_registry({"rewind", "acme/orders", "--to", "v1"});
  ASSERT_EQ(rewound.exit_code, 0) << rewound.Describe();
  CommandResult table =
      PgServer::Psql(url_, "SELECT version FROM snapdelta_tables WHERE table_name = 'orders'");
  EXPECT_EQ(table.out, "v1\n") << table.Describe();
}

}  // namespace
}  // namespace snapdelta::testing
