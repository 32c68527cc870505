// Shared by the SQLite Registry tests: a registry in a fresh temporary directory, a fake clock
// the tests move, and helpers that register imports and take leases.
#ifndef SNAPDELTA_TESTS_SQLITE_REGISTRY_FIXTURE_H_
#define SNAPDELTA_TESTS_SQLITE_REGISTRY_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "snapdelta/registry.h"

namespace snapdelta {

inline constexpr int64_t kStartMs = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
inline constexpr int64_t kTtlMs = 30'000;

inline void ExpectError(const Status& status, StatusCode code, std::string_view fragment) {
  EXPECT_EQ(StatusCodeName(status.code()), StatusCodeName(code)) << status.ToString();
  EXPECT_THAT(status.message(), ::testing::HasSubstr(std::string(fragment)));
}

class SqliteRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (std::filesystem::temp_directory_path() / "snapdelta-registry-XXXXXX");
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    path_ = dir_ + "/registry.db";
    registry_ = Open();
    ASSERT_NE(registry_, nullptr);
  }

  void TearDown() override {
    registry_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Registry> Open() {
    StatusOr<std::unique_ptr<Registry>> opened =
        OpenSqliteRegistry(path_, [this] { return now_.load(); });
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

  std::atomic<int64_t> now_{kStartMs};
  std::string dir_;
  std::string path_;
  std::unique_ptr<Registry> registry_;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_TESTS_SQLITE_REGISTRY_FIXTURE_H_
