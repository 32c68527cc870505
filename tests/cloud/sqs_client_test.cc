// SqsClient against moto_server (queues made and fed with the AWS CLI), S3 event notifications
// delivered to a queue, and ParseS3Event on bodies shaped as AWS documents them.
#include "cloud/sqs_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cloud/moto_server.h"
#include "cloud/s3_client.h"

namespace snapdelta {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;

class SqsClientTest : public testing::MotoTest {
 protected:
  void SetUp() override {
    MotoTest::SetUp();
    if (IsSkipped()) return;
    client_ = std::move(SqsClient::Create(Config("sqs"))).value();
  }

  // Creates a queue with the CLI; its URL.
  std::string NewQueue(const std::string& name) {
    const CommandResult made = Aws(
        {"sqs", "create-queue", "--queue-name", name, "--query", "QueueUrl", "--output", "text"});
    EXPECT_TRUE(made.ok()) << made.Describe();
    std::string url = made.out;
    while (!url.empty() && url.back() == '\n') url.pop_back();
    return url;
  }

  std::string QueueAttribute(const std::string& url, const std::string& name) {
    const CommandResult got =
        Aws({"sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", name,
             "--query", "Attributes." + name, "--output", "text"});
    EXPECT_TRUE(got.ok()) << got.Describe();
    return got.out.substr(0, got.out.find('\n'));
  }

  std::unique_ptr<SqsClient> client_;
};

TEST_F(SqsClientTest, ReceiveAndDelete) {
  const std::string url = NewQueue("plain");
  ASSERT_TRUE(
      Aws({"sqs", "send-message", "--queue-url", url, "--message-body", "héllo \"world\""}).ok());
  SqsReceiveOptions options;
  options.wait_time_seconds = 2;
  options.visibility_timeout_seconds = 60;
  StatusOr<std::vector<SqsMessage>> messages = client_->Receive(url, options);
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_EQ((*messages)[0].body, "héllo \"world\"");
  EXPECT_FALSE((*messages)[0].message_id.empty());
  EXPECT_EQ(QueueAttribute(url, "ApproximateNumberOfMessagesNotVisible"), "1");
  ASSERT_TRUE(client_->Delete(url, (*messages)[0].receipt_handle).ok());
  EXPECT_EQ(QueueAttribute(url, "ApproximateNumberOfMessagesNotVisible"), "0");
  EXPECT_EQ(QueueAttribute(url, "ApproximateNumberOfMessages"), "0");

  options.wait_time_seconds = 1;
  messages = client_->Receive(url, options);
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  EXPECT_TRUE(messages->empty());
}

TEST_F(SqsClientTest, MissingQueueIsNotFound) {
  SqsReceiveOptions options;
  options.wait_time_seconds = 0;
  StatusOr<std::vector<SqsMessage>> messages =
      client_->Receive(endpoint() + "/123456789012/no-such-queue", options);
  EXPECT_EQ(messages.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(messages.status().message(), HasSubstr("no-such-queue"));
}

TEST_F(SqsClientTest, BucketNotificationsArriveAsParsedS3Events) {
  const std::string url = NewQueue("events");
  const std::string arn = QueueAttribute(url, "QueueArn");
  const std::string bucket = NewBucket();
  const CommandResult configured = Aws({"s3api", "put-bucket-notification-configuration",
                                        "--bucket", bucket, "--notification-configuration",
                                        R"({"QueueConfigurations":[{"QueueArn":")" + arn +
                                            R"(","Events":["s3:ObjectCreated:*"]}]})"});
  ASSERT_TRUE(configured.ok()) << configured.Describe();
  testing::TempDir dir("snapdelta-sqs");
  testing::WriteFile(dir / "f", "a,b\n1,2\n");
  ASSERT_TRUE(Aws({"s3", "cp", dir / "f", "s3://" + bucket + "/in/x y+z=1.csv"}).ok());

  SqsReceiveOptions options;
  options.wait_time_seconds = 2;
  std::vector<S3Event> events;
  for (int round = 0; round < 3 && events.size() < 2; ++round) {
    StatusOr<std::vector<SqsMessage>> messages = client_->Receive(url, options);
    ASSERT_TRUE(messages.ok()) << messages.status().ToString();
    for (const SqsMessage& message : *messages) {
      StatusOr<S3Event> event = ParseS3Event(message.body);
      ASSERT_TRUE(event.ok()) << event.status().ToString();
      events.push_back(*event);
      ASSERT_TRUE(client_->Delete(url, message.receipt_handle).ok());
    }
  }
  // moto 5.2, as S3, first sends an s3:TestEvent when the notification is configured.
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].is_test_event);
  EXPECT_TRUE(events[0].records.empty());
  ASSERT_FALSE(events[1].is_test_event);
  ASSERT_EQ(events[1].records.size(), 1u);
  const S3EventRecord& record = events[1].records[0];
  EXPECT_EQ(record.event_name, "ObjectCreated:Put");
  EXPECT_EQ(record.bucket, bucket);
  EXPECT_EQ(record.key, "in/x y+z=1.csv");
  EXPECT_EQ(record.size, 8u);
  StatusOr<std::unique_ptr<S3Client>> s3 = S3Client::Create(Config("s3"));
  EXPECT_EQ(record.etag, (*s3)->Head(bucket, record.key)->etag);
}

TEST(SqsEventTest, ParsesAwsShapedBodies) {
  StatusOr<S3Event> event = ParseS3Event(R"({"Records":[{"eventVersion":"2.1",
    "eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2024-05-01T12:00:00.000Z",
    "eventName":"ObjectCreated:CompleteMultipartUpload","s3":{"s3SchemaVersion":"1.0",
    "bucket":{"name":"landing","arn":"arn:aws:s3:::landing"},
    "object":{"key":"orders/2024+05+01/part%3D1+%2B%C3%A9.csv.gz","size":123456789012,
    "eTag":"0123abcd-12","sequencer":"0055AED6DCD90281E5"}}},
    {"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"landing"},
    "object":{"key":"old.csv","sequencer":"1"}}}]})");
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  EXPECT_FALSE(event->is_test_event);
  ASSERT_EQ(event->records.size(), 2u);
  EXPECT_EQ(event->records[0].event_name, "ObjectCreated:CompleteMultipartUpload");
  EXPECT_EQ(event->records[0].bucket, "landing");
  EXPECT_EQ(event->records[0].key, "orders/2024 05 01/part=1 +é.csv.gz");
  EXPECT_EQ(event->records[0].size, 123456789012u);
  EXPECT_EQ(event->records[0].etag, "0123abcd-12");
  EXPECT_EQ(event->records[1].key, "old.csv");
  EXPECT_EQ(event->records[1].size, 0u);
  EXPECT_EQ(event->records[1].etag, "");

  event = ParseS3Event(R"({"Service":"Amazon S3","Event":"s3:TestEvent",
    "Time":"2024-05-01T12:00:00.000Z","Bucket":"landing","RequestId":"r","HostId":"h"})");
  ASSERT_TRUE(event.ok());
  EXPECT_TRUE(event->is_test_event);
}

TEST(SqsEventTest, RejectsOtherBodies) {
  EXPECT_EQ(ParseS3Event("not json").status().code(), StatusCode::kCorruption);
  StatusOr<S3Event> event = ParseS3Event(R"({"Type":"Notification","Message":"..."})");
  EXPECT_EQ(event.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(event.status().message(), HasSubstr("no Records array"));
  event = ParseS3Event(R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{}}]})");
  EXPECT_EQ(event.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(event.status().message(), HasSubstr("s3.object.key"));
}

}  // namespace
}  // namespace snapdelta
