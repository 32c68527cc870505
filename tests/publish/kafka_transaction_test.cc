// The transactional Kafka stream against librdkafka's mock cluster, read back by kcat with
// isolation.level=read_committed: a committed import is seen exactly once, Acked() waits for the
// commit, an abortable failure aborts the import and the next one commits, a fenced writer stops
// with kAborted, a publisher that crashed mid-import is replaced by the next one.
//
// Limit of the mock (librdkafka 2.0.2, and its master as of 2024): its Fetch answers
// LastStableOffset = the end offset and no aborted transactions, and EndTxn writes no markers,
// so a read_committed consumer also sees records of aborted and open transactions; and its
// InitProducerId gives each new producer a fresh PID, so a second producer with the same
// transactional.id fences nothing (fencing is injected as the broker's errors). The tests
// check that aborted records are NOT counted among the committed ones (each committed record
// once) and, as a canary, that the mock still shows aborted ones: when it stops, assert that
// they are absent instead.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "publish/kafka_test_util.h"

namespace snapdelta::testing {
namespace {

constexpr char kTopic[] = "snapdelta.acme.orders";

class KafkaTransactions : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    kafka_ = KafkaMock::Start(3, {std::string(kTopic) + ":4"}, &error);
    ASSERT_NE(kafka_, nullptr) << error;
  }

  std::unique_ptr<Stream> OpenStream() {
    auto stream =
        NewKafkaStream(KafkaSettings(kafka_->bootstrap(), true, {{"message.timeout.ms", "5000"}}));
    EXPECT_TRUE(stream.ok()) << stream.status().ToString();
    return stream.ok() ? std::move(stream).value() : nullptr;
  }

  std::unique_ptr<StreamWriter> NewWriter(Stream* stream) {
    auto writer = stream->NewWriter("acme", "orders");
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    return writer.ok() ? std::move(writer).value() : nullptr;
  }

  std::vector<Record> ReadCommitted() {
    return ReadTopic(kafka_->bootstrap(), kTopic, {"-X", "isolation.level=read_committed"});
  }

  // Each record of `committed` is read exactly once, in order per key; returns how many records
  // of `aborted` were read.
  int CheckCommitted(const std::vector<TestEvent>& committed,
                     const std::vector<TestEvent>& aborted) {
    std::vector<Record> read = ReadCommitted(), expected = Expected(committed);
    std::vector<Record> aborted_records = Expected(aborted), committed_read;
    int aborted_read = 0;
    for (const Record& r : read) {
      if (std::find(aborted_records.begin(), aborted_records.end(), r) != aborted_records.end()) {
        ++aborted_read;
      } else {
        committed_read.push_back(r);
      }
    }
    EXPECT_EQ(PerKey(committed_read), PerKey(expected));
    std::sort(committed_read.begin(), committed_read.end());
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(committed_read, expected);
    return aborted_read;
  }

  std::unique_ptr<KafkaMock> kafka_;
};

TEST_F(KafkaTransactions, CommittedImportsAreReadCommittedExactlyOnce) {
  auto stream = OpenStream();
  ASSERT_NE(stream, nullptr);
  auto writer = NewWriter(stream.get());
  ASSERT_NE(writer, nullptr);
  std::vector<TestEvent> all;
  for (const char* version : {"v1", "v2"}) {
    std::vector<TestEvent> events = MakeEvents(version, 1, 1500, 41, /*tombstones=*/true);
    ASSERT_TRUE(writer->Begin({"acme", "orders", version}, 0).ok());
    ASSERT_TRUE(SendAll(writer.get(), events).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // deliveries come in...
    EXPECT_EQ(writer->Acked(), 0u) << "acknowledged before the commit";
    Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(writer->Acked(), 1500u);
    all.insert(all.end(), events.begin(), events.end());
  }
  EXPECT_EQ(CheckCommitted(all, {}), 0);
}

TEST_F(KafkaTransactions, AnAbortedImportIsNotAcknowledgedAndItsRetryCommits) {
  auto stream = OpenStream();
  ASSERT_NE(stream, nullptr);
  auto writer = NewWriter(stream.get());
  ASSERT_NE(writer, nullptr);
  std::vector<TestEvent> aborted = MakeEvents("try1", 1, 300, 20);
  std::vector<TestEvent> committed = MakeEvents("try2", 1, 600, 20);
  ASSERT_TRUE(writer->Begin({"acme", "orders", "v1"}, 0).ok());
  ASSERT_TRUE(SendAll(writer.get(), aborted).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // they reach the brokers
  writer->Abort();
  EXPECT_EQ(writer->Acked(), 0u);
  ASSERT_TRUE(writer->Begin({"acme", "orders", "v1"}, 0).ok());
  ASSERT_TRUE(SendAll(writer.get(), committed).ok());
  Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(writer->Acked(), 600u);
  EXPECT_GT(CheckCommitted(committed, aborted), 0) << "the mock hides aborted records now";
}

TEST_F(KafkaTransactions, AFailedMessageAbortsTheImportAndTheNextCommits) {
  auto stream = OpenStream();
  ASSERT_NE(stream, nullptr);
  auto writer = NewWriter(stream.get());
  ASSERT_NE(writer, nullptr);
  std::vector<TestEvent> failed = MakeEvents("try1", 1, 200, 20);
  std::vector<TestEvent> committed = MakeEvents("try2", 1, 200, 20);
  ASSERT_TRUE(writer->Begin({"acme", "orders", "v1"}, 0).ok());
  EXPECT_EQ(kafka_->Command("errors 0 1 87"), "ok");  // Produce: INVALID_RECORD, not retriable
  Status status = SendAll(writer.get(), failed);
  if (status.ok()) status = writer->Finish();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(kTopic), std::string::npos) << status.ToString();
  EXPECT_EQ(writer->Acked(), 0u);
  writer->Abort();  // what a publisher does after a failed Send (a no-op after Finish)
  ASSERT_TRUE(writer->Begin({"acme", "orders", "v1"}, 0).ok());
  ASSERT_TRUE(SendAll(writer.get(), committed).ok());
  status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(writer->Acked(), 200u);
  CheckCommitted(committed, failed);
}

// The mock does not fence by transactional.id (its InitProducerId gives every new producer a
// fresh PID, epoch 0), so the broker's answers to a fenced producer are injected: what a real
// cluster answers the first publisher once a second one called init_transactions.
TEST_F(KafkaTransactions, AFencedWriterReportsAbortedAndStops) {
  // EndTxn: PRODUCER_FENCED; Produce: INVALID_PRODUCER_EPOCH.
  for (const auto& [errors, name] :
       {std::pair{"errors 26 1 90", "fenced1"}, std::pair{"errors 0 1 47", "fenced2"}}) {
    SCOPED_TRACE(errors);
    auto first_stream = OpenStream();
    ASSERT_NE(first_stream, nullptr);
    auto first = NewWriter(first_stream.get());
    ASSERT_NE(first, nullptr);
    std::vector<TestEvent> fenced = MakeEvents(name, 1, 200, 20);
    ASSERT_TRUE(first->Begin({"acme", "orders", "v1"}, 0).ok());
    ASSERT_TRUE(SendAll(first.get(), {fenced.begin(), fenced.begin() + 100}).ok());
    EXPECT_EQ(kafka_->Command(errors), "ok");
    Status status = SendAll(first.get(), {fenced.begin() + 100, fenced.end()});
    if (status.ok()) status = first->Finish();
    EXPECT_EQ(status.code(), StatusCode::kAborted) << status.ToString();
    EXPECT_NE(status.message().find("fenced: another publisher of acme/orders took over"),
              std::string::npos)
        << status.ToString();
    EXPECT_EQ(first->Acked(), 0u);
    first->Abort();
    Status again = first->Begin({"acme", "orders", "v2"}, 0);
    EXPECT_EQ(again.code(), StatusCode::kAborted) << "a fenced writer is done";
  }
  // The publisher that took over commits.
  auto stream = OpenStream();
  ASSERT_NE(stream, nullptr);
  auto writer = NewWriter(stream.get());
  ASSERT_NE(writer, nullptr);
  std::vector<TestEvent> committed = MakeEvents("second", 1, 200, 20);
  ASSERT_TRUE(writer->Begin({"acme", "orders", "v1"}, 0).ok());
  ASSERT_TRUE(SendAll(writer.get(), committed).ok());
  Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.ToString();
  std::vector<TestEvent> fenced = MakeEvents("fenced1", 1, 200, 20);
  std::vector<TestEvent> fenced2 = MakeEvents("fenced2", 1, 200, 20);
  fenced.insert(fenced.end(), fenced2.begin(), fenced2.end());
  CheckCommitted(committed, fenced);
}

TEST_F(KafkaTransactions, APublisherThatCrashedMidImportIsReplacedByTheNext) {
  std::vector<TestEvent> crashed = MakeEvents("crashed", 1, 300, 20);
  std::vector<TestEvent> committed = MakeEvents("restarted", 1, 300, 20);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // the crashing publisher: sends half an import and dies without a word
    auto stream = NewKafkaStream(KafkaSettings(kafka_->bootstrap(), true));
    if (!stream.ok()) _exit(2);
    auto writer = (*stream)->NewWriter("acme", "orders");
    if (!writer.ok() || !(*writer)->Begin({"acme", "orders", "v1"}, 0).ok()) _exit(3);
    if (!SendAll(writer->get(), crashed).ok()) _exit(4);
    std::this_thread::sleep_for(std::chrono::seconds(1));  // its messages reach the brokers
    _exit(0);
  }
  int wait_status = 0;
  ASSERT_EQ(waitpid(pid, &wait_status, 0), pid);
  ASSERT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) << wait_status;
  EXPECT_EQ(ReadTopic(kafka_->bootstrap(), kTopic).size(), crashed.size());

  auto stream = OpenStream();
  ASSERT_NE(stream, nullptr);
  auto writer = NewWriter(stream.get());  // init_transactions: fences the dead one, aborts
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->Begin({"acme", "orders", "v1"}, 0).ok());
  ASSERT_TRUE(SendAll(writer.get(), committed).ok());
  Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(writer->Acked(), 300u);
  EXPECT_GT(CheckCommitted(committed, crashed), 0) << "the mock hides aborted records now";
}

}  // namespace
}  // namespace snapdelta::testing
