// Tests for the Registry: import records and their states, on both backends; and opening and
// recognizing a SQLite file. Leases, fenced commits and sharing live in registry_lease_test.cc,
// what only PostgreSQL does in registry_postgres_test.cc.
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <latch>
#include <thread>
#include <vector>

#include "registry_fixture.h"

namespace snapdelta {
namespace {

using ::testing::HasSubstr;

TEST(RegistryImportStates, NamesRoundTripAndUnknownNamesAreRejected) {
  for (ImportState state : {ImportState::kDiscovered, ImportState::kRunning,
                            ImportState::kCommitted, ImportState::kFailed, ImportState::kSkipped}) {
    EXPECT_EQ(ParseImportState(ImportStateName(state)), state);
  }
  EXPECT_EQ(ImportStateName(ImportState::kCommitted), "committed");
  EXPECT_EQ(ParseImportState("Committed"), std::nullopt);
  EXPECT_EQ(ParseImportState(""), std::nullopt);
}

TEST_P(RegistryTest, RegisterRoundTripsEveryFieldAndFillsTheDiscoveryTime) {
  ImportRecord record = MakeImport("orders", "20240101_V0001");
  record.size = (uint64_t{1} << 63) + 5;  // above INT64_MAX
  record.mtime_ms = 42;
  record.note = "added column email";
  record.counts = {10, 1, 2, 3};
  const int64_t id = Register(record);
  EXPECT_GT(id, 0);

  ImportRecord found = Find("orders", "20240101_V0001");
  EXPECT_EQ(found.id, id);
  EXPECT_EQ(found.size, record.size);
  EXPECT_EQ(found.mtime_ms, 42);
  EXPECT_EQ(found.checksum, record.checksum);
  EXPECT_EQ(found.state, ImportState::kDiscovered);
  EXPECT_EQ(found.note, "added column email");
  EXPECT_EQ(found.counts.rows, 10u);
  EXPECT_EQ(found.counts.deletes, 3u);
  EXPECT_EQ(found.discovered_at_ms, kStartMs);
  EXPECT_EQ(found.started_at_ms, 0);
}

TEST_P(RegistryTest, FindReturnsTheNewestImportOfAPathAndNulloptForAnUnknownOne) {
  const int64_t first = Register(MakeImport("orders", "V1"));
  const int64_t second = Register(MakeImport("orders", "V1"));  // a re-upload
  EXPECT_GT(second, first);
  EXPECT_EQ(Find("orders", "V1").id, second);

  StatusOr<std::optional<ImportRecord>> missing =
      registry_->FindImport("acme", "orders", "V2", "export.csv.gz");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_P(RegistryTest, RegisterRejectsARecordWithoutAPath) {
  ImportRecord record = MakeImport("orders", "");
  ExpectError(registry_->RegisterImport(record).status(), StatusCode::kInvalidArgument,
              "must be set");
}

TEST_P(RegistryTest, ListImportsFiltersByTenantAndTableInIdOrder) {
  const int64_t a = Register(MakeImport("orders", "V2"));
  const int64_t b = Register(MakeImport("users", "V1"));
  const int64_t c = Register(MakeImport("orders", "V1"));
  const int64_t d = Register(MakeImport("orders", "V1", "globex"));

  auto ids = [](const StatusOr<std::vector<ImportRecord>>& records) {
    std::vector<int64_t> out;
    for (const ImportRecord& record : *records) out.push_back(record.id);
    return out;
  };
  EXPECT_EQ(ids(registry_->ListImports()), (std::vector<int64_t>{a, b, c, d}));
  EXPECT_EQ(ids(registry_->ListImports("acme")), (std::vector<int64_t>{a, b, c}));
  EXPECT_EQ(ids(registry_->ListImports("acme", "orders")), (std::vector<int64_t>{a, c}));
  EXPECT_EQ(ids(registry_->ListImports("", "orders")), (std::vector<int64_t>{a, c, d}));
}

TEST_P(RegistryTest, ListPendingOrdersByTenantTableVersionAndLeavesOutFinishedImports) {
  const int64_t users_v1 = Register(MakeImport("users", "V1"));
  const int64_t orders_v2 = Register(MakeImport("orders", "V2"));
  const int64_t orders_v1 = Register(MakeImport("orders", "V1"));
  const int64_t failed = Register(MakeImport("orders", "V0"));
  const int64_t globex = Register(MakeImport("a_table", "V9", "globex"));
  ASSERT_TRUE(registry_->MarkFailed(failed, "bad csv").ok());
  ASSERT_TRUE(registry_->MarkRunning(orders_v2, Acquire("orders", "w1")).ok());

  StatusOr<std::vector<ImportRecord>> pending = registry_->ListPending();
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  std::vector<int64_t> ids;
  for (const ImportRecord& record : *pending) ids.push_back(record.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{orders_v1, orders_v2, users_v1, globex}));
}

TEST_P(RegistryTest, MarkRunningRecordsTheLeaseTokenAndStartTime) {
  const int64_t id = Register(MakeImport("orders", "V1"));
  Lease lease = Acquire("orders", "w1");
  now_ += 5;
  ASSERT_TRUE(registry_->MarkRunning(id, lease).ok());
  ImportRecord record = Find("orders", "V1");
  EXPECT_EQ(record.state, ImportState::kRunning);
  EXPECT_EQ(record.fencing_token, lease.token);
  EXPECT_EQ(record.started_at_ms, kStartMs + 5);
}

TEST_P(RegistryTest, MarkFailedAndMarkSkippedRecordTheReasonAndTheFinishTime) {
  const int64_t failed = Register(MakeImport("orders", "V1"));
  const int64_t skipped = Register(MakeImport("orders", "V2"));
  now_ += 7;
  ASSERT_TRUE(registry_->MarkFailed(failed, "orders.csv.gz:3: 2 fields, expected 3").ok());
  ASSERT_TRUE(registry_->MarkSkipped(skipped, "identical re-upload").ok());
  ImportRecord record = Find("orders", "V1");
  EXPECT_EQ(record.state, ImportState::kFailed);
  EXPECT_EQ(record.reason, "orders.csv.gz:3: 2 fields, expected 3");
  EXPECT_EQ(record.finished_at_ms, kStartMs + 7);
  EXPECT_EQ(Find("orders", "V2").state, ImportState::kSkipped);
  EXPECT_EQ(Find("orders", "V2").reason, "identical re-upload");
}

TEST_P(RegistryTest, AFinishedImportCannotChangeStateAgain) {
  const int64_t id = Register(MakeImport("orders", "V1"));
  Lease lease = Acquire("orders", "w1");
  ASSERT_TRUE(registry_->MarkRunning(id, lease).ok());
  ASSERT_TRUE(registry_->CommitImport(lease, id, {}, "", StateFor("orders", "V1")).ok());
  ExpectError(registry_->MarkSkipped(id, "late"), StatusCode::kAborted, "is already committed");
  ExpectError(registry_->MarkFailed(id, "late"), StatusCode::kAborted, "is already committed");
  ExpectError(registry_->MarkRunning(id, lease), StatusCode::kAborted, "cannot be marked running");
  EXPECT_EQ(Find("orders", "V1").state, ImportState::kCommitted);
}

TEST_P(RegistryTest, AFailedImportCanBeSkippedOrRetriedButNotRun) {
  const int64_t id = Register(MakeImport("orders", "V1"));
  ASSERT_TRUE(registry_->MarkFailed(id, "bad csv").ok());
  EXPECT_EQ(Find("orders", "V1").failure, FailureKind::kContent);
  ExpectError(registry_->MarkRunning(id, Acquire("orders", "w1")), StatusCode::kAborted,
              "cannot be marked running");
  ASSERT_TRUE(registry_->RetryImport(id).ok());
  EXPECT_EQ(Find("orders", "V1").state, ImportState::kDiscovered);
  EXPECT_EQ(Find("orders", "V1").failure, FailureKind::kNone);
  ExpectError(registry_->RetryImport(id), StatusCode::kAborted, "not failed");
  ASSERT_TRUE(registry_->MarkFailed(id, "again").ok());
  ASSERT_TRUE(registry_->MarkSkipped(id, "given up").ok());
  EXPECT_EQ(Find("orders", "V1").state, ImportState::kSkipped);
  EXPECT_EQ(Find("orders", "V1").failure, FailureKind::kNone);
}

TEST_P(RegistryTest, EnvironmentAndCrashFailuresBlockTheirTableAndCountAttempts) {
  const int64_t env = Register(MakeImport("orders", "V1"));
  const int64_t crash = Register(MakeImport("items", "V1"));
  const int64_t content = Register(MakeImport("users", "V1"));
  Lease orders = Acquire("orders", "w1");
  ASSERT_TRUE(registry_->MarkRunning(env, orders).ok());
  ASSERT_TRUE(registry_->MarkRunning(env, orders).ok());  // a rerun after a crash
  EXPECT_EQ(Find("orders", "V1").attempts, 2);
  EXPECT_EQ(Find("orders", "V1").crashes, 1);
  ASSERT_TRUE(
      registry_->MarkFailed(env, Failure{"disk full", FailureKind::kEnvironment, kStartMs + 500})
          .ok());
  ASSERT_TRUE(registry_->MarkFailed(crash, Failure{"crashed", FailureKind::kCrash, 0}).ok());
  ASSERT_TRUE(registry_->MarkFailed(content, "bad csv").ok());
  StatusOr<std::vector<ImportRecord>> blocking = registry_->ListBlocking();
  ASSERT_TRUE(blocking.ok());
  ASSERT_EQ(blocking->size(), 2u);
  EXPECT_EQ((*blocking)[0].table, "items");
  EXPECT_EQ((*blocking)[0].failure, FailureKind::kCrash);
  EXPECT_EQ((*blocking)[1].table, "orders");
  EXPECT_EQ((*blocking)[1].retry_at_ms, kStartMs + 500);
  ASSERT_TRUE(registry_->RetryImport(env).ok());
  EXPECT_EQ(Find("orders", "V1").crashes, 0);
  EXPECT_EQ(Find("orders", "V1").attempts, 2);
}

TEST_P(RegistryTest, MarkingAnUnknownImportIsNotFound) {
  ExpectError(registry_->MarkFailed(99, "x"), StatusCode::kNotFound, "import 99 does not exist");
}

TEST_P(RegistryTest, AReopenedRegistryKeepsImportsTableStatesAndLeaseTokens) {
  const int64_t id = Register(MakeImport("orders", "V1"));
  Lease lease = Acquire("orders", "w1");
  ASSERT_TRUE(registry_->MarkRunning(id, lease).ok());
  ASSERT_TRUE(registry_->CommitImport(lease, id, {}, "", StateFor("orders", "V1")).ok());
  ASSERT_TRUE(registry_->ReleaseLease(lease).ok());

  registry_ = Open();
  ASSERT_NE(registry_, nullptr);
  EXPECT_EQ(Find("orders", "V1").state, ImportState::kCommitted);
  StatusOr<std::optional<TableState>> state = registry_->GetTableState("acme", "orders");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->version, "V1");
  EXPECT_EQ(Acquire("orders", "w2").token, lease.token + 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, RegistryTest, RegistryBackends(), BackendName);

TEST_F(SqliteRegistryTest, OpeningAFileThatIsNotSqliteIsCorruption) {
  const std::string path = dir_ + "/notes.txt";
  std::ofstream(path) << std::string(4096, 'x');
  StatusOr<std::unique_ptr<Registry>> opened = OpenSqliteRegistry(path);
  ExpectError(opened.status(), StatusCode::kCorruption, "not a readable SQLite database");
  EXPECT_THAT(opened.status().message(), HasSubstr(path));
}

TEST_F(SqliteRegistryTest, OpeningAnotherApplicationsDatabaseIsCorruptionAndLeavesItAlone) {
  const std::string path = dir_ + "/app.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE users (id INTEGER)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const auto size_before = std::filesystem::file_size(path);

  ExpectError(OpenSqliteRegistry(path).status(), StatusCode::kCorruption,
              "not a snapdelta registry (it has tables users");
  EXPECT_EQ(std::filesystem::file_size(path), size_before);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST_F(SqliteRegistryTest, OpeningARegistryWithAnUnknownSchemaVersionIsCorruption) {
  registry_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value = '5' WHERE key = 'schema_version'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ExpectError(OpenSqliteRegistry(path_).status(), StatusCode::kCorruption,
              "registry schema version 5, this snapdelta reads 4");
}

// A registry written before failures were classified: its failures are content failures.
TEST_F(SqliteRegistryTest, AVersionOneRegistryIsMigratedOnOpen) {
  const int64_t id = Register(MakeImport("orders", "V1"));
  ASSERT_TRUE(registry_->MarkFailed(id, "bad csv").ok());
  registry_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP INDEX imports_unpublished; "
                         "ALTER TABLE imports DROP COLUMN published_seq; "
                         "ALTER TABLE imports DROP COLUMN published_at_ms; "
                         "ALTER TABLE imports DROP COLUMN failure; "
                         "ALTER TABLE imports DROP COLUMN attempts; "
                         "ALTER TABLE imports DROP COLUMN crashes; "
                         "ALTER TABLE imports DROP COLUMN retry_at_ms; "
                         "ALTER TABLE imports DROP COLUMN released; "
                         "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ExpectError(OpenSqliteRegistryReadOnly(path_).status(), StatusCode::kCorruption,
              "a `snapdelta run` on a writable home migrates it");
  registry_ = Open();
  ASSERT_NE(registry_, nullptr);
  EXPECT_EQ(Find("orders", "V1").state, ImportState::kFailed);
  EXPECT_EQ(Find("orders", "V1").failure, FailureKind::kContent);
  EXPECT_EQ(Find("orders", "V1").reason, "bad csv");
}

// A registry written before releases were recorded as data: the note said it.
TEST_F(SqliteRegistryTest, AVersionTwoRegistryIsMigratedWithItsReleasesAsData) {
  const int64_t released = Register(MakeImport("orders", "V1"));
  const int64_t other = Register(MakeImport("users", "V1"));
  registry_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  const std::string script =
      "DROP INDEX imports_unpublished; "
      "ALTER TABLE imports DROP COLUMN published_seq; "
      "ALTER TABLE imports DROP COLUMN published_at_ms; "
      "ALTER TABLE imports DROP COLUMN released; "
      "UPDATE imports SET note = 'released by hand past max_delete_ratio' WHERE id = " +
      std::to_string(released) + "; UPDATE meta SET value = '2' WHERE key = 'schema_version'";
  ASSERT_EQ(sqlite3_exec(db, script.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  registry_ = Open();
  ASSERT_NE(registry_, nullptr);
  EXPECT_TRUE(Find("orders", "V1").released);
  EXPECT_FALSE(Find("users", "V1").released);
  ASSERT_TRUE(registry_->MarkReleased(other).ok());
  EXPECT_TRUE(Find("users", "V1").released);
}

TEST_F(SqliteRegistryTest, AReadOnlyOpenReadsButDoesNotWrite) {
  Register(MakeImport("orders", "V1"));
  StatusOr<std::unique_ptr<Registry>> reader = OpenSqliteRegistryReadOnly(path_);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto imports = (*reader)->ListImports();
  ASSERT_TRUE(imports.ok());
  EXPECT_EQ(imports->size(), 1u);
  EXPECT_FALSE((*reader)->RegisterImport(MakeImport("orders", "V2")).ok());
}

TEST_F(SqliteRegistryTest, OpeningAPathInAMissingDirectoryIsAnIOError) {
  ExpectError(OpenSqliteRegistry(dir_ + "/missing/registry.db").status(), StatusCode::kIOError,
              "cannot open registry");
}

// Switching a new file to WAL does not wait on SQLite's busy handler; workers that start
// together used to fail with "database is locked".
TEST_F(SqliteRegistryTest, ManyConnectionsOpeningANewFileTogetherAllSucceed) {
  constexpr int kRounds = 20;
  constexpr int kThreads = 8;
  for (int round = 0; round < kRounds; ++round) {
    const std::string path = dir_ + "/new-" + std::to_string(round) + ".db";
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int thread_idx = 0; thread_idx < kThreads; ++thread_idx) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        StatusOr<std::unique_ptr<Registry>> opened = OpenSqliteRegistry(path);
        EXPECT_TRUE(opened.ok()) << opened.status().ToString();
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
}

TEST_F(SqliteRegistryTest, TheFileIsInWalJournalMode) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

}  // namespace
}  // namespace snapdelta
