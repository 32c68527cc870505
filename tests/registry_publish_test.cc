// The registry's publish positions, on both backends: ListUnpublished, MarkPublished fenced by
// the publish lease; and the SQLite migration that counts imports committed before streams
// existed as published.
#include <sqlite3.h>

#include "registry_fixture.h"

namespace snapdelta {
namespace {

// Helpers over either fixture (RegistryTest or SqliteRegistryTest).
template <typename Fixture>
class PublishHelpers : public Fixture {
 protected:
  // Registers and commits an import of `table` with `events` inserts.
  int64_t Commit(const std::string& table, const std::string& version, uint64_t events) {
    const int64_t id = this->Register(this->MakeImport(table, version));
    Lease lease = this->Acquire(table, "importer");
    EXPECT_TRUE(this->registry_->MarkRunning(id, lease).ok());
    ImportCounts counts;
    counts.rows = events;
    counts.inserts = events;
    EXPECT_TRUE(
        this->registry_->CommitImport(lease, id, counts, "", this->StateFor(table, version)).ok());
    EXPECT_TRUE(this->registry_->ReleaseLease(lease).ok());
    return id;
  }

  Lease PublishLease(const std::string& table, const std::string& owner = "publisher") {
    return this->Acquire(PublishLeaseTable(table), owner);
  }

  std::vector<int64_t> UnpublishedIds() {
    StatusOr<std::vector<ImportRecord>> listed = this->registry_->ListUnpublished();
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    std::vector<int64_t> ids;
    if (listed.ok()) {
      for (const ImportRecord& record : *listed) ids.push_back(record.id);
    }
    return ids;
  }
};

using PublishRegistryTest = PublishHelpers<RegistryTest>;
using SqlitePublishRegistryTest = PublishHelpers<SqliteRegistryTest>;

INSTANTIATE_TEST_SUITE_P(Backends, PublishRegistryTest, RegistryBackends(), BackendName);

TEST_P(PublishRegistryTest, CommittedImportsWaitForPublishingInVersionOrder) {
  const int64_t users = Commit("users", "V1", 5);
  const int64_t orders2 = Commit("orders", "V2", 3);
  const int64_t orders1 = Commit("orders", "V1", 4);
  Commit("items", "V1", 0);              // nothing to publish: published as it commits
  Register(MakeImport("orders", "V3"));  // not committed
  EXPECT_EQ(UnpublishedIds(), (std::vector<int64_t>{orders1, orders2, users}));
  ImportRecord record = Find("orders", "V1");
  EXPECT_EQ(record.published_seq, 0u);
  EXPECT_FALSE(record.published());
  EXPECT_TRUE(Find("items", "V1").published());
}

TEST_P(PublishRegistryTest, APositionAdvancesUnderThePublishLeaseAndNeverMovesBack) {
  const int64_t id = Commit("orders", "V1", 10);
  Lease lease = PublishLease("orders");
  ASSERT_TRUE(registry_->MarkPublished(lease, id, 4).ok());
  EXPECT_EQ(Find("orders", "V1").published_seq, 4u);
  EXPECT_EQ(Find("orders", "V1").published_at_ms, 0);
  ASSERT_TRUE(registry_->MarkPublished(lease, id, 2).ok());
  EXPECT_EQ(Find("orders", "V1").published_seq, 4u);
  now_ += 1000;
  ASSERT_TRUE(registry_->MarkPublished(lease, id, 10).ok());
  ImportRecord record = Find("orders", "V1");
  EXPECT_TRUE(record.published());
  EXPECT_EQ(record.published_at_ms, now_.load());
  EXPECT_TRUE(UnpublishedIds().empty());
  ExpectError(registry_->MarkPublished(lease, id, 11), StatusCode::kInvalidArgument,
              "has only 10 events");
}

TEST_P(PublishRegistryTest, ALostOrForeignLeaseCannotRecordAPosition) {
  const int64_t id = Commit("orders", "V1", 10);
  Commit("users", "V1", 10);
  Lease stale = PublishLease("orders", "first");
  now_ += kTtlMs + 1;  // expired: a second publisher takes the table over
  Lease current = PublishLease("orders", "second");
  ExpectError(registry_->MarkPublished(stale, id, 5), StatusCode::kAborted, "lost");
  EXPECT_EQ(Find("orders", "V1").published_seq, 0u);
  ASSERT_TRUE(registry_->MarkPublished(current, id, 5).ok());
  // The import lease of the table, or another table's publish lease, is not the publish lease.
  Lease import_lease = Acquire("orders", "importer");
  ExpectError(registry_->MarkPublished(import_lease, id, 6), StatusCode::kInvalidArgument,
              "the lease is");
  ExpectError(registry_->MarkPublished(PublishLease("users"), id, 6), StatusCode::kInvalidArgument,
              "the lease is");
}

TEST_P(PublishRegistryTest, OnlyCommittedImportsArePublished) {
  const int64_t id = Register(MakeImport("orders", "V1"));
  ExpectError(registry_->MarkPublished(PublishLease("orders"), id, 0), StatusCode::kAborted,
              "the import is discovered");
}

// Imports committed before publishing existed were delivered as change files.
TEST_F(SqlitePublishRegistryTest, AVersionThreeRegistryCountsCommittedImportsAsPublished) {
  Commit("orders", "V1", 7);
  const int64_t pending = Register(MakeImport("orders", "V2"));
  registry_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP INDEX imports_unpublished; "
                         "ALTER TABLE imports DROP COLUMN published_seq; "
                         "ALTER TABLE imports DROP COLUMN published_at_ms; "
                         "UPDATE meta SET value = '3' WHERE key = 'schema_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  registry_ = Open();
  ASSERT_NE(registry_, nullptr);
  ImportRecord committed = Find("orders", "V1");
  EXPECT_TRUE(committed.published());
  EXPECT_EQ(committed.published_seq, 7u);
  EXPECT_EQ(committed.published_at_ms, committed.finished_at_ms);
  EXPECT_EQ(Find("orders", "V2").published_seq, 0u);
  EXPECT_EQ(Find("orders", "V2").id, pending);
  EXPECT_TRUE(UnpublishedIds().empty());
}

}  // namespace
}  // namespace snapdelta
