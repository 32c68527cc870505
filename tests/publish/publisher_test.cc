// The publisher's logic against a real SQLite registry and real change files, with a recording
// StreamWriter in place of a server (the Kafka and Kinesis writers have their own tests against
// real servers): version order per table, positions recorded and resumed, a failure stopping its
// table, the Debezium format, damaged or missing change files, the file sink, retention, busy
// tables.
#include "publish/publisher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <span>

#include "registry_fixture.h"

namespace snapdelta {
namespace {

struct Sent {
  std::string destination;
  uint64_t seq;
  std::string id;
  std::string key;
  std::optional<std::string> value;
};

// Acknowledges every message at once, except that it refuses the message of `fail_seq` (once).
class RecordingStream : public Stream {
 public:
  class Writer : public StreamWriter {
   public:
    Writer(RecordingStream* stream, std::string destination)
        : stream_(stream), destination_(std::move(destination)) {}
    Status Begin(const ImportIdentity& import, uint64_t acked) override {
      import_ = import;
      acked_ = acked;
      return Status::OK();
    }
    Status SendBatch(std::span<const StreamMessage> messages) override {
      // The publisher sends the tables' imports from several threads at once.
      std::lock_guard<std::mutex> lock(stream_->mu);
      for (const StreamMessage& message : messages) {
        if (stream_->fail_seq == message.seq && stream_->fail_version == import_.version) {
          stream_->fail_seq = 0;
          return UnavailableError("broker refused seq " + std::to_string(message.seq));
        }
        std::optional<std::string> value;
        if (message.value) value = std::string(*message.value);
        stream_->sent.push_back(Sent{destination_, message.seq, std::string(message.id),
                                     std::string(message.key), value});
        acked_ = message.seq;
      }
      return Status::OK();
    }
    uint64_t Acked() override { return acked_; }
    Status Finish() override { return Status::OK(); }
    void Abort() override {}

   private:
    RecordingStream* stream_;
    std::string destination_;
    ImportIdentity import_;
    uint64_t acked_ = 0;
  };

  StatusOr<std::unique_ptr<StreamWriter>> NewWriter(const std::string& tenant,
                                                    const std::string& table) override {
    return std::unique_ptr<StreamWriter>(new Writer(this, tenant + "." + table));
  }
  std::string Describe() const override { return "recording"; }

  std::mutex mu;  // guards sent and fail_seq while a Publish runs; read them after it
  std::vector<Sent> sent;
  uint64_t fail_seq = 0;
  std::string fail_version;
};

class PublisherTest : public SqliteRegistryTest {
 protected:
  void SetUp() override {
    SqliteRegistryTest::SetUp();
    options_.changes_dir = dir_ + "/changes";
    options_.threads = 2;
    options_.clock = [this] { return now_.load(); };
  }

  std::string ChangePath(const std::string& table, const std::string& version) {
    return options_.changes_dir + "/acme/" + table + "/" + version + ".jsonl";
  }

  // Writes a change file of `ops` (I, U or D per event, key = its position) and commits it.
  int64_t CommitChanges(const std::string& table, const std::string& version,
                        const std::string& ops) {
    std::filesystem::create_directories(options_.changes_dir + "/acme/" + table);
    std::ofstream out(ChangePath(table, version));
    ImportCounts counts;
    for (size_t i = 0; i < ops.size(); ++i) {
      const uint64_t seq = i + 1;
      const std::string op = ops[i] == 'I' ? "INSERT" : ops[i] == 'U' ? "UPDATE" : "DELETE";
      (ops[i] == 'I' ? counts.inserts : ops[i] == 'U' ? counts.updates : counts.deletes)++;
      const std::string key = "{\"id\":\"" + std::to_string(seq) + "\"}";
      out << "{\"id\":\"acme/" << table << "/" << version << "/" << seq << "\",\"op\":\"" << op
          << "\",\"tenant\":\"acme\",\"table\":\"" << table << "\",\"version\":\"" << version
          << "\",\"seq\":" << seq << ",\"key\":" << key;
      if (ops[i] != 'D') out << ",\"row\":{\"id\":\"" << seq << "\",\"v\":\"" << version << "\"}";
      out << "}\n";
    }
    out.close();
    const int64_t id = Register(MakeImport(table, version));
    Lease lease = Acquire(table, "importer");
    EXPECT_TRUE(registry_->MarkRunning(id, lease).ok());
    counts.rows = counts.inserts + counts.updates;
    EXPECT_TRUE(registry_->CommitImport(lease, id, counts, "", StateFor(table, version)).ok());
    EXPECT_TRUE(registry_->ReleaseLease(lease).ok());
    return id;
  }

  PublishReport Run(Stream* stream) {
    StatusOr<PublishReport> report = Publish(registry_.get(), stream, options_);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : PublishReport{};
  }

  // The ids sent to `destination`, in order.
  std::vector<std::string> IdsTo(const std::string& destination) {
    std::vector<std::string> ids;
    for (const Sent& sent : stream_.sent) {
      if (sent.destination == destination) ids.push_back(sent.id);
    }
    return ids;
  }

  PublishOptions options_;
  RecordingStream stream_;
};

TEST_F(PublisherTest, EveryTablePublishesItsImportsInVersionOrder) {
  CommitChanges("orders", "V2", "UD");
  CommitChanges("orders", "V1", "III");
  CommitChanges("users", "V1", "I");
  PublishReport report = Run(&stream_);
  EXPECT_TRUE(report.unpublished.empty()) << report.unpublished[0];
  EXPECT_EQ(report.published.size(), 3u);
  EXPECT_EQ(IdsTo("acme.orders"),
            (std::vector<std::string>{"acme/orders/V1/1", "acme/orders/V1/2", "acme/orders/V1/3",
                                      "acme/orders/V2/1", "acme/orders/V2/2"}));
  EXPECT_EQ(IdsTo("acme.users"), std::vector<std::string>{"acme/users/V1/1"});
  for (const Sent& sent : stream_.sent) {
    ASSERT_TRUE(sent.value.has_value());
    EXPECT_THAT(*sent.value, ::testing::StartsWith("{\"id\":\"" + sent.id + "\""));
    EXPECT_EQ(sent.key, "{\"id\":\"" + std::to_string(sent.seq) + "\"}");
  }
  EXPECT_TRUE(Find("orders", "V2").published());
  EXPECT_EQ(Find("orders", "V2").published_seq, 2u);
  EXPECT_TRUE(Run(&stream_).published.empty());  // nothing left: nothing sent again
  EXPECT_EQ(stream_.sent.size(), 6u);
}

TEST_F(PublisherTest, AFailureStopsItsTableAndTheNextPublishResumesAfterTheAcknowledged) {
  CommitChanges("orders", "V1", "IIII");
  CommitChanges("orders", "V2", "U");
  CommitChanges("users", "V1", "II");
  stream_.fail_seq = 3;
  stream_.fail_version = "V1";
  PublishReport report = Run(&stream_);
  ASSERT_EQ(report.unpublished.size(), 2u);
  EXPECT_THAT(report.unpublished[0],
              ::testing::HasSubstr("acme/orders/V1: 2 of 4 events published: broker refused"));
  EXPECT_THAT(report.unpublished[1],
              ::testing::HasSubstr("acme/orders/V2: 0 of 1 events "
                                   "published: waits behind acme/orders/V1"));
  EXPECT_TRUE(Find("users", "V1").published());  // another table goes on
  EXPECT_EQ(Find("orders", "V1").published_seq, 2u);
  EXPECT_EQ(Find("orders", "V2").published_seq, 0u);
  stream_.sent.clear();
  report = Run(&stream_);
  EXPECT_TRUE(report.unpublished.empty());
  EXPECT_EQ(IdsTo("acme.orders"),
            (std::vector<std::string>{"acme/orders/V1/3", "acme/orders/V1/4", "acme/orders/V2/1"}));
  EXPECT_TRUE(IdsTo("acme.users").empty());
}

TEST_F(PublisherTest, DebeziumEnvelopesWithSnapshotReadsAndTombstones) {
  CommitChanges("orders", "V1", "I");
  CommitChanges("orders", "V2", "UD");
  options_.format = EventFormat::kDebezium;
  options_.tombstones = true;
  Run(&stream_);
  ASSERT_EQ(stream_.sent.size(), 4u);  // r, u, d, tombstone
  const char* ops[] = {"\"op\":\"r\"", "\"op\":\"u\"", "\"op\":\"d\""};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(stream_.sent[i].value.has_value());
    EXPECT_THAT(*stream_.sent[i].value, ::testing::HasSubstr(ops[i]));
  }
  EXPECT_FALSE(stream_.sent[3].value.has_value());
  EXPECT_EQ(stream_.sent[3].key, stream_.sent[2].key);
  EXPECT_EQ(stream_.sent[3].seq, 2u);
  EXPECT_EQ(stream_.sent[3].id, "acme/orders/V2/2");
}

TEST_F(PublisherTest, ADamagedOrMissingChangeFileIsLeftUnpublishedNamingIt) {
  CommitChanges("orders", "V1", "III");
  CommitChanges("users", "V1", "I");
  {
    // Damaged after the commit: the second event is gone.
    std::ifstream in(ChangePath("orders", "V1"));
    std::string first, second, third;
    std::getline(in, first);
    std::getline(in, second);
    std::getline(in, third);
    in.close();
    std::ofstream(ChangePath("orders", "V1")) << first << "\n" << third << "\n";
  }
  std::filesystem::remove(ChangePath("users", "V1"));
  PublishReport report = Run(&stream_);
  ASSERT_EQ(report.unpublished.size(), 2u);
  EXPECT_THAT(report.unpublished[0],
              ::testing::HasSubstr(ChangePath("orders", "V1") + " line 2: seq 3, expected 2"));
  EXPECT_THAT(report.unpublished[0], ::testing::HasSubstr("1 of 3 events published"));
  EXPECT_THAT(report.unpublished[1],
              ::testing::HasSubstr(ChangePath("users", "V1") + " does not exist"));
  EXPECT_FALSE(Find("orders", "V1").published());
}

TEST_F(PublisherTest, TheFileSinkCountsCommittedChangeFilesAsPublished) {
  CommitChanges("orders", "V1", "II");
  PublishReport report = Run(nullptr);
  EXPECT_EQ(report.published.size(), 1u);
  EXPECT_TRUE(Find("orders", "V1").published());
}

TEST_F(PublisherTest, RetentionDeletesOnlyPublishedChangeFilesOlderThanKeepChanges) {
  CommitChanges("orders", "V1", "II");
  CommitChanges("users", "V1", "I");
  stream_.fail_seq = 1;
  stream_.fail_version = "V1";
  options_.threads = 1;
  options_.keep_changes_ms = 60'000;
  Run(&stream_);  // orders (first in order) fails; users is published
  EXPECT_TRUE(std::filesystem::exists(ChangePath("users", "V1")));  // not old enough
  now_ += 60'000;
  PublishReport report = Run(&stream_);  // orders now published, users old enough
  EXPECT_EQ(report.removed, std::vector<std::string>{ChangePath("users", "V1")});
  EXPECT_FALSE(std::filesystem::exists(ChangePath("users", "V1")));
  EXPECT_TRUE(std::filesystem::exists(ChangePath("orders", "V1")));
}

TEST_F(PublisherTest, ATableAnotherPublisherHoldsIsLeftBusy) {
  CommitChanges("orders", "V1", "I");
  Acquire(PublishLeaseTable("orders"), "host:1:other");
  PublishReport report = Run(&stream_);
  ASSERT_EQ(report.busy.size(), 1u);
  EXPECT_THAT(report.busy[0], ::testing::HasSubstr("acme/orders"));
  EXPECT_TRUE(stream_.sent.empty());
  EXPECT_FALSE(Find("orders", "V1").published());
}

}  // namespace
}  // namespace snapdelta
