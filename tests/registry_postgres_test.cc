// What only the PostgreSQL registry does, on a real server (tests/pg/pg_server.h): the database's
// clock deciding lease expiry, the schema created once by workers starting together and refused
// when newer, reconnecting after the server restarts, giving up on a server that stays down
// without printing the password, grants that never wait for each other, Snapshot; and which
// transactions PgSession runs again (lost before COMMIT, deadlocks) and which it must not (lost
// during COMMIT, the body's own errors).
// The Registry contract itself is tested on both backends in registry_test.cc,
// registry_lease_test.cc and registry_publish_test.cc.
#include <chrono>
#include <latch>
#include <thread>
#include <vector>

#include "registry/pg_conn.h"
#include "registry/postgres_registry.h"
#include "registry_fixture.h"

namespace snapdelta {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::PgServer;

class PostgresRegistryTest : public RegistryFixture {
 protected:
  PostgresRegistryTest() : RegistryFixture(RegistryBackend::kPostgres) {}

  void TearDown() override {
    // A test that stopped the server must leave it running for the next ones.
    if (server_ != nullptr && !server_->running()) server_->Resume();
    RegistryFixture::TearDown();
  }

  // A registry on `url` (default: the test's database) whose "now" is the server's clock.
  std::unique_ptr<Registry> OpenOnServerClock(const std::string& url = "") {
    StatusOr<std::unique_ptr<Registry>> opened =
        OpenPostgresRegistry(url.empty() ? url_ : url, nullptr);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  // psql's answer to `sql` on the test's database, without the final newline.
  std::string Psql(const std::string& sql, const std::string& url = "") {
    CommandResult result = PgServer::Psql(url.empty() ? url_ : url, sql);
    EXPECT_TRUE(result.ok()) << result.Describe();
    std::string out = result.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  int64_t ServerNowMs() {
    return std::stoll(Psql("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"));
  }
};

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

TEST_F(PostgresRegistryTest, WithoutAClockTheServersClockDecidesExpiry) {
  std::unique_ptr<Registry> first = OpenOnServerClock();
  std::unique_ptr<Registry> second = OpenOnServerClock();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  constexpr int64_t kShortTtlMs = 1'500;
  const int64_t before = ServerNowMs();
  StatusOr<Lease> lease = first->AcquireLease("acme", "orders", "w1", kShortTtlMs);
  const int64_t after = ServerNowMs();
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_GE(lease->expires_at_ms, before + kShortTtlMs);  // not the fake clock of the fixture
  EXPECT_LE(lease->expires_at_ms, after + kShortTtlMs);

  ExpectError(second->AcquireLease("acme", "orders", "w2", kTtlMs).status(),
              StatusCode::kUnavailable, "is held by w1");
  while (ServerNowMs() < lease->expires_at_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  StatusOr<Lease> taken = second->AcquireLease("acme", "orders", "w2", kTtlMs);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(taken->token, lease->token + 1);
}

// A worker paused past its lease (by the server's clock) cannot commit once another took over.
TEST_F(PostgresRegistryTest, APausedWorkersCommitIsRefusedAfterAnotherOwnerTookOver) {
  std::unique_ptr<Registry> paused = OpenOnServerClock();
  std::unique_ptr<Registry> other = OpenOnServerClock();
  ASSERT_NE(paused, nullptr);
  ASSERT_NE(other, nullptr);
  StatusOr<int64_t> id = paused->RegisterImport(MakeImport("orders", "V1"));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  StatusOr<Lease> lease = paused->AcquireLease("acme", "orders", "paused", 500);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  ASSERT_TRUE(paused->MarkRunning(*id, *lease).ok());
  while (ServerNowMs() < lease->expires_at_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ExpectError(paused->CommitImport(*lease, *id, {1, 1, 0, 0}, "", StateFor("orders", "V1")),
              StatusCode::kAborted, "lost: token 1 expired at");
  StatusOr<Lease> taken = other->AcquireLease("acme", "orders", "other", kTtlMs);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  ExpectError(paused->CommitImport(*lease, *id, {1, 1, 0, 0}, "", StateFor("orders", "V1")),
              StatusCode::kAborted, "lost: token 1 is stale (current 2), now held by other");
  EXPECT_EQ(Find("orders", "V1").state, ImportState::kRunning);
  EXPECT_FALSE(registry_->GetTableState("acme", "orders")->has_value());
  ASSERT_TRUE(other->CommitImport(*taken, *id, {1, 1, 0, 0}, "", StateFor("orders", "V1")).ok());
}

TEST_F(PostgresRegistryTest, WorkersOpeningAFreshDatabaseTogetherCreateTheSchemaOnce) {
  constexpr int kRounds = 5;
  constexpr int kThreads = 8;
  for (int round = 0; round < kRounds; ++round) {
    const std::string url = server_->NewDatabase("fresh" + std::to_string(round));
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int thread_idx = 0; thread_idx < kThreads; ++thread_idx) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        StatusOr<std::unique_ptr<Registry>> opened = OpenPostgresRegistry(url);
        EXPECT_TRUE(opened.ok()) << opened.status().ToString();
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(Psql("SELECT version FROM snapdelta_schema", url), "1");
    EXPECT_EQ(Psql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE "
                   "tablename LIKE 'snapdelta%'",
                   url),
              "snapdelta_imports,snapdelta_leases,snapdelta_schema,snapdelta_tables");
  }
}

TEST_F(PostgresRegistryTest, ANewerSchemaVersionIsRefusedNamingBothAndLeftAlone) {
  Register(MakeImport("orders", "V1"));
  registry_.reset();
  Psql("UPDATE snapdelta_schema SET version = 2");
  ExpectError(OpenPostgresRegistry(url_).status(), StatusCode::kCorruption,
              "registry schema version 2, this snapdelta reads 1");
  EXPECT_EQ(Psql("SELECT version FROM snapdelta_schema"), "2");
  EXPECT_EQ(Psql("SELECT count(*) FROM snapdelta_imports"), "1");
}

TEST_F(PostgresRegistryTest, TablesNamedLikeOursWithoutASchemaVersionAreRefused) {
  const std::string url = server_->NewDatabase("foreign");
  Psql("CREATE TABLE snapdelta_imports (x int)", url);
  ExpectError(OpenPostgresRegistry(url).status(), StatusCode::kCorruption,
              "has tables snapdelta_imports but no snapdelta_schema table");
  EXPECT_EQ(Psql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'snapdelta%'", url), "1");
}

TEST_F(PostgresRegistryTest, OtherApplicationsTablesInTheDatabaseAreLeftAlone) {
  const std::string url = server_->NewDatabase("shared");
  Psql("CREATE TABLE imports (id int); CREATE TABLE leases (id int)", url);
  std::unique_ptr<Registry> registry = OpenOnServerClock(url);
  ASSERT_NE(registry, nullptr);
  EXPECT_EQ(Psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", url), "6");
}

TEST_F(PostgresRegistryTest, TheNextCallAfterAServerRestartReconnects) {
  const int64_t id = Register(MakeImport("orders", "V1"));
  Lease lease = Acquire("orders", "w1");
  server_->Stop();
  server_->Resume();
  ASSERT_TRUE(server_->running());
  EXPECT_EQ(Find("orders", "V1").id, id);
  ASSERT_TRUE(registry_->MarkRunning(id, lease).ok());
  ASSERT_TRUE(registry_->CommitImport(lease, id, {}, "", StateFor("orders", "V1")).ok());
  EXPECT_EQ(Find("orders", "V1").state, ImportState::kCommitted);
}

TEST_F(PostgresRegistryTest, ACallWaitsForAServerThatComesBackWithinTheRetryBudget) {
  Register(MakeImport("orders", "V1"));
  server_->Stop();
  std::thread resume([this] {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    server_->Resume();
  });
  StatusOr<std::vector<ImportRecord>> listed = registry_->ListImports();
  resume.join();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->size(), 1u);
}

TEST_F(PostgresRegistryTest, ACallWhileTheServerIsDownFailsAfterTheBudgetNamingHostNotPassword) {
  constexpr int64_t kBudgetMs = 1'500;
  const std::string url = server_->Url(url_.substr(url_.rfind('/') + 1));
  ASSERT_THAT(url, HasSubstr(PgServer::kPassword));
  StatusOr<std::unique_ptr<Registry>> opened =
      OpenPostgresRegistry(url, nullptr, PgRetryPolicy{50, 2'000, kBudgetMs});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  server_->Stop();
  const auto start = std::chrono::steady_clock::now();
  StatusOr<Lease> lease = (*opened)->AcquireLease("acme", "orders", "w1", kTtlMs);
  const int64_t elapsed_ms = ElapsedMs(start);
  const std::string where = "127.0.0.1:" + std::to_string(server_->port());
  ExpectError(lease.status(), StatusCode::kUnavailable, where);
  EXPECT_THAT(lease.status().message(), HasSubstr("gave up after"));
  EXPECT_THAT(lease.status().message(), Not(HasSubstr(PgServer::kPassword)));
  EXPECT_GE(elapsed_ms, kBudgetMs);
  EXPECT_LT(elapsed_ms, kBudgetMs + 5'000);

  // Opening while it is down fails at once, the same way.
  StatusOr<std::unique_ptr<Registry>> refused = OpenPostgresRegistry(url);
  ExpectError(refused.status(), StatusCode::kUnavailable, where);
  EXPECT_THAT(refused.status().message(), Not(HasSubstr(PgServer::kPassword)));

  server_->Resume();
  EXPECT_TRUE((*opened)->AcquireLease("acme", "orders", "w1", kTtlMs).ok());
}

TEST_F(PostgresRegistryTest, AnUnparsableUrlIsAnInvalidArgumentWithoutThePassword) {
  StatusOr<std::unique_ptr<Registry>> opened =
      OpenPostgresRegistry("postgresql://snapdelta:hunter%zz2@127.0.0.1:1/db?bogus=1");
  EXPECT_EQ(StatusCodeName(opened.status().code()), StatusCodeName(StatusCode::kInvalidArgument))
      << opened.status().ToString();
  EXPECT_THAT(opened.status().message(), Not(HasSubstr("hunter")));
}

TEST_F(PostgresRegistryTest, ConcurrentAcquiresFromEightRegistriesGrantExactlyOne) {
  constexpr int kRegistries = 8;
  constexpr int kTables = 10;
  std::vector<std::unique_ptr<Registry>> registries;
  for (int idx = 0; idx < kRegistries; ++idx) {
    registries.push_back(OpenOnServerClock());
    ASSERT_NE(registries.back(), nullptr);
  }
  for (int table = 0; table < kTables; ++table) {
    const std::string name = "orders" + std::to_string(table);
    std::latch start(kRegistries);
    std::atomic<int> grants{0};
    std::vector<std::thread> threads;
    for (int idx = 0; idx < kRegistries; ++idx) {
      threads.emplace_back([&, idx] {
        start.arrive_and_wait();
        StatusOr<Lease> lease =
            registries[idx]->AcquireLease("acme", name, "worker-" + std::to_string(idx), kTtlMs);
        if (lease.ok()) {
          ++grants;
          EXPECT_EQ(lease->token, 1);
        } else {
          EXPECT_EQ(StatusCodeName(lease.status().code()), StatusCodeName(StatusCode::kUnavailable))
              << lease.status().ToString();
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(grants.load(), 1) << name;
  }
}

// A grant never waits for another's transaction on the lease row: it is refused at once.
TEST_F(PostgresRegistryTest, AGrantFindingTheLeaseRowLockedIsUnavailableAtOnce) {
  Lease lease = Acquire("orders", "w1");
  now_ += kTtlMs;  // expired: free to grant, but for the lock below
  StatusOr<PgTarget> target = PgTarget::Parse(url_);
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  StatusOr<std::unique_ptr<PgConn>> conn = PgConn::Connect(*target);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE((*conn)->Run("BEGIN").ok());
  ASSERT_TRUE((*conn)
                  ->Run("SELECT token FROM snapdelta_leases WHERE tenant = 'acme' AND "
                        "table_name = 'orders' FOR UPDATE")
                  .ok());
  const auto start = std::chrono::steady_clock::now();
  ExpectError(registry_->AcquireLease("acme", "orders", "w2", kTtlMs).status(),
              StatusCode::kUnavailable, "is being claimed by another worker");
  EXPECT_LT(ElapsedMs(start), 2'000);
  ASSERT_TRUE((*conn)->Run("ROLLBACK").ok());
  EXPECT_EQ(Acquire("orders", "w2").token, lease.token + 1);
}

// PgSession, the transactions under every call: what is re-run and what is not.
class PgSessionTest : public PostgresRegistryTest {
 protected:
  void SetUp() override {
    PostgresRegistryTest::SetUp();
    if (IsSkipped()) return;
    Psql("CREATE TABLE events (n int)");
    StatusOr<std::unique_ptr<PgSession>> session = PgSession::Open(url_, PgRetryPolicy());
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    session_ = std::move(session).value();
  }

  std::unique_ptr<PgSession> session_;
};

TEST_F(PgSessionTest, ATransactionWhoseConnectionIsLostBeforeCommitRunsAgainOnANewOne) {
  int runs = 0;
  Status status = session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    ++runs;
    RETURN_IF_ERROR(conn.Run("INSERT INTO events VALUES ($1)", {runs}));
    if (runs == 1) return conn.Run("SELECT pg_terminate_backend(pg_backend_pid())");
    return Status::OK();
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(Psql("SELECT string_agg(n::text, ',') FROM events"), "2");
}

TEST_F(PgSessionTest, AConnectionLostWhileCommittingIsUnavailableWithAnUnknownOutcome) {
  // A deferred constraint trigger runs inside COMMIT: it ends its own session there.
  Psql(
      "CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM "
      "pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(1); RETURN NULL; END $$; "
      "CREATE CONSTRAINT TRIGGER die AFTER INSERT ON events DEFERRABLE INITIALLY DEFERRED "
      "FOR EACH ROW EXECUTE FUNCTION die()");
  int runs = 0;
  Status status = session_->Transact(PgTxn::kWrite, [&](PgConn& conn) {
    ++runs;
    return conn.Run("INSERT INTO events VALUES (1)");
  });
  ExpectError(status, StatusCode::kUnavailable,
              "was lost while committing; the outcome is unknown");
  EXPECT_EQ(runs, 1);
  // The session reconnects for the next transaction.
  EXPECT_TRUE(
      session_->Transact(PgTxn::kAutocommit, [](PgConn& conn) { return conn.Run("SELECT 1"); })
          .ok());
}

TEST_F(PgSessionTest, DeadlocksAreRetriedAndABodysOwnErrorRollsBackOnce) {
  int runs = 0;
  Status status = session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    ++runs;
    RETURN_IF_ERROR(conn.Run("INSERT INTO events VALUES ($1)", {runs}));
    if (runs == 1) {
      return conn.Run(
          "DO $$ BEGIN RAISE EXCEPTION 'as if deadlocked' USING ERRCODE = 'deadlock_detected'; "
          "END $$");
    }
    return Status::OK();
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(runs, 2);
  runs = 0;
  status = session_->Transact(PgTxn::kWrite, [&](PgConn& conn) -> Status {
    ++runs;
    RETURN_IF_ERROR(conn.Run("INSERT INTO events VALUES (9)"));
    return AbortedError("lease lost");
  });
  ExpectError(status, StatusCode::kAborted, "lease lost");
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(Psql("SELECT string_agg(n::text, ',') FROM events"), "2");
}

void ExpectSameImport(const ImportRecord& a, const ImportRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.table, b.table);
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.file, b.file);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.mtime_ms, b.mtime_ms);
  EXPECT_EQ(a.checksum, b.checksum);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.note, b.note);
  EXPECT_EQ(a.counts.rows, b.counts.rows);
  EXPECT_EQ(a.counts.inserts, b.counts.inserts);
  EXPECT_EQ(a.counts.updates, b.counts.updates);
  EXPECT_EQ(a.counts.deletes, b.counts.deletes);
  EXPECT_EQ(a.discovered_at_ms, b.discovered_at_ms);
  EXPECT_EQ(a.started_at_ms, b.started_at_ms);
  EXPECT_EQ(a.finished_at_ms, b.finished_at_ms);
  EXPECT_EQ(a.fencing_token, b.fencing_token);
  EXPECT_EQ(a.failure, b.failure);
  EXPECT_EQ(a.retry_at_ms, b.retry_at_ms);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.crashes, b.crashes);
  EXPECT_EQ(a.released, b.released);
  EXPECT_EQ(a.published_seq, b.published_seq);
  EXPECT_EQ(a.published_at_ms, b.published_at_ms);
}

TEST_F(PostgresRegistryTest, ASnapshotHoldsWhatTheListingsReport) {
  const int64_t committed = Register(MakeImport("orders", "V1"));
  Lease orders = Acquire("orders", "w1");
  ASSERT_TRUE(registry_->MarkRunning(committed, orders).ok());
  ASSERT_TRUE(
      registry_
          ->CommitImport(orders, committed, {3, 2, 1, 0}, "added email", StateFor("orders", "V1"))
          .ok());
  ASSERT_TRUE(
      registry_->MarkPublished(Acquire(PublishLeaseTable("orders"), "pub"), committed, 2).ok());
  const int64_t failed = Register(MakeImport("users", "V1", "globex"));
  ASSERT_TRUE(
      registry_->MarkFailed(failed, Failure{"disk full", FailureKind::kEnvironment, kStartMs + 9})
          .ok());
  const int64_t held = Register(MakeImport("items", "V1"));
  Lease items = Acquire("items", "w2");
  ASSERT_TRUE(registry_->MarkRunning(held, items).ok());
  ASSERT_TRUE(registry_->MarkHeld(held, "max_delete_ratio", {10, 0, 0, 9}).ok());
  ASSERT_TRUE(registry_->MarkReleased(held).ok());
  Register(MakeImport("orders", "V2"));
  // A lease row made ready for a first grant that never happened is not a lease.
  Psql("INSERT INTO snapdelta_leases VALUES ('acme', 'never', '', 0, 0)");

  StatusOr<RegistrySnapshot> snapshot = registry_->Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  StatusOr<std::vector<ImportRecord>> imports = registry_->ListImports();
  ASSERT_TRUE(imports.ok());
  ASSERT_EQ(snapshot->imports.size(), imports->size());
  for (size_t i = 0; i < imports->size(); ++i) {
    ExpectSameImport(snapshot->imports[i], (*imports)[i]);
  }
  ASSERT_EQ(snapshot->tables.size(), 1u);
  StatusOr<std::optional<TableState>> state = registry_->GetTableState("acme", "orders");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ(snapshot->tables[0].version, (*state)->version);
  EXPECT_EQ(snapshot->tables[0].import_id, (*state)->import_id);
  EXPECT_EQ(snapshot->tables[0].state_file, (*state)->state_file);
  ASSERT_EQ(snapshot->leases.size(), 3u);
  for (const Lease& lease : snapshot->leases) {
    StatusOr<std::optional<Lease>> got = registry_->GetLease(lease.tenant, lease.table);
    ASSERT_TRUE(got.ok() && got->has_value()) << lease.table;
    EXPECT_EQ(lease.owner, (*got)->owner);
    EXPECT_EQ(lease.token, (*got)->token);
    EXPECT_EQ(lease.expires_at_ms, (*got)->expires_at_ms);
  }
  EXPECT_FALSE(registry_->GetLease("acme", "never")->has_value());
}

}  // namespace
}  // namespace snapdelta
