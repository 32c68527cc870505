// Shared by the Registry tests: a fresh registry per test, a fake clock the tests move, and
// helpers that register imports and take leases.
//
// RegistryTest is parameterised by backend: every test about the Registry contract runs on SQLite
// (a file in a fresh temporary folder) and on PostgreSQL (a fresh database on a real server
// started for the test process, tests/pg/pg_server.h). When PostgreSQL is missing, the
// PostgreSQL instances are skipped with the reason. SqliteRegistryTest is the SQLite-only
// fixture, for what is about SQLite files.
#ifndef SNAPDELTA_TESTS_REGISTRY_FIXTURE_H_
#define SNAPDELTA_TESTS_REGISTRY_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>

#include "pg/pg_server.h"
#include "snapdelta/registry.h"

namespace snapdelta {

inline constexpr int64_t kStartMs = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
inline constexpr int64_t kTtlMs = 30'000;

inline void ExpectError(const Status& status, StatusCode code, std::string_view fragment) {
  EXPECT_EQ(StatusCodeName(status.code()), StatusCodeName(code)) << status.ToString();
  EXPECT_THAT(status.message(), ::testing::HasSubstr(std::string(fragment)));
}

enum class RegistryBackend { kSqlite, kPostgres };

// "Sqlite", "Postgres": the suffix of the parameterised tests' names.
inline std::string BackendName(const ::testing::TestParamInfo<RegistryBackend>& info) {
  return info.param == RegistryBackend::kSqlite ? "Sqlite" : "Postgres";
}

// For GoogleTest's messages and ctest's test names ("GetParam() = Postgres").
inline void PrintTo(RegistryBackend backend, std::ostream* out) {
  *out << (backend == RegistryBackend::kSqlite ? "Sqlite" : "Postgres");
}

// The PostgreSQL server of this test process, started by the first test that needs it and
// stopped at exit. Null, with *skip_reason set, when it cannot run here.
inline testing::PgServer* SharedPgServer(std::string* skip_reason) {
  static std::string reason;
  static std::unique_ptr<testing::PgServer> server = testing::PgServer::Start(&reason);
  *skip_reason = reason;
  return server.get();
}

class RegistryFixture : public ::testing::Test {
 protected:
  explicit RegistryFixture(RegistryBackend backend) : backend_(backend) {}

  void SetUp() override {
    std::string dir = (std::filesystem::temp_directory_path() / "snapdelta-registry-XXXXXX");
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    path_ = dir_ + "/registry.db";
    if (backend_ == RegistryBackend::kPostgres) {
      std::string skip_reason;
      server_ = SharedPgServer(&skip_reason);
      if (server_ == nullptr) {
        GTEST_SKIP() << "PostgreSQL registry tests skipped: " << skip_reason;
      }
      url_ = server_->NewDatabase();
    }
    registry_ = Open();
    ASSERT_NE(registry_, nullptr);
  }

  void TearDown() override {
    registry_.reset();
    std::filesystem::remove_all(dir_);
  }

  bool postgres() const { return backend_ == RegistryBackend::kPostgres; }

  // Another registry on the same file or database, on the fake clock.
  std::unique_ptr<Registry> Open() {
    StatusOr<std::unique_ptr<Registry>> opened =
        postgres() ? OpenPostgresRegistry(url_, [this] { return now_.load(); })
                   : OpenSqliteRegistry(path_, [this] { return now_.load(); });
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  static ImportRecord MakeImport(const std::string& table, const std::string& version,
                                 const std::string& tenant = "acme") {
    ImportRecord record;
    record.tenant = tenant;
    record.table = table;
    record.version = version;
    record.file = "export.csv.gz";
    record.size = 1234;
    record.checksum = "00112233445566778899aabbccddeeff";
    return record;
  }

  int64_t Register(const ImportRecord& record) {
    StatusOr<int64_t> id = registry_->RegisterImport(record);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  ImportRecord Find(const std::string& table, const std::string& version) {
    StatusOr<std::optional<ImportRecord>> found =
        registry_->FindImport("acme", table, version, "export.csv.gz");
    EXPECT_TRUE(found.ok() && found->has_value()) << found.status().ToString();
    return found.ok() && found->has_value() ? **found : ImportRecord{};
  }

  Lease Acquire(const std::string& table, const std::string& owner, Registry* registry = nullptr) {
    StatusOr<Lease> lease =
        (registry ? registry : registry_.get())->AcquireLease("acme", table, owner, kTtlMs);
    EXPECT_TRUE(lease.ok()) << lease.status().ToString();
    return lease.ok() ? *lease : Lease{};
  }

  static TableState StateFor(const std::string& table, const std::string& version) {
    return TableState{"acme", table, version, 0, version + ".state"};
  }

  const RegistryBackend backend_;
  std::atomic<int64_t> now_{kStartMs};
  std::string dir_;   // a fresh temporary folder (both backends)
  std::string path_;  // SQLite: the registry file
  std::string url_;   // PostgreSQL: the test's database
  testing::PgServer* server_ = nullptr;
  std::unique_ptr<Registry> registry_;
};

// Every test about the Registry contract: instantiated for both backends with
// INSTANTIATE_TEST_SUITE_P(Backends, <Suite>, RegistryBackends(), BackendName).
class RegistryTest : public RegistryFixture, public ::testing::WithParamInterface<RegistryBackend> {
 protected:
  RegistryTest() : RegistryFixture(GetParam()) {}
};

inline auto RegistryBackends() {
  return ::testing::Values(RegistryBackend::kSqlite, RegistryBackend::kPostgres);
}

// Tests about SQLite files (recognition, migration of older files, WAL, read-only opens).
class SqliteRegistryTest : public RegistryFixture {
 protected:
  SqliteRegistryTest() : RegistryFixture(RegistryBackend::kSqlite) {}
};

}  // namespace snapdelta

#endif  // SNAPDELTA_TESTS_REGISTRY_FIXTURE_H_
