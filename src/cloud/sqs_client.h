// SqsClient: receiving and deleting SQS messages (the AWS JSON protocol: POST with
// Content-Type application/x-amz-json-1.0 and X-Amz-Target AmazonSQS.<Action>), and
// ParseS3Event, the parser of the S3 event notifications such messages carry.
//
// Errors: as AwsHttp maps them; a queue that does not exist is kNotFound (QueueDoesNotExist),
// an answer that is not the expected JSON kCorruption.
//
// Thread safety: an SqsClient may be used from several threads at once. ParseS3Event is
// reentrant.
#ifndef SNAPDELTA_CLOUD_SQS_CLIENT_H_
#define SNAPDELTA_CLOUD_SQS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/aws_config.h"
#include "cloud/http.h"
#include "snapdelta/status.h"

namespace snapdelta {

struct SqsMessage {
  std::string message_id;
  std::string receipt_handle;  // what Delete needs
  std::string body;
};

struct SqsReceiveOptions {
  int max_messages = 10;                // 1..10
  int wait_time_seconds = 20;           // long polling, 0..20
  int visibility_timeout_seconds = -1;  // -1: the queue's default
};

class SqsClient {
 public:
  static StatusOr<std::unique_ptr<SqsClient>> Create(AwsConfig config, RetryOptions retry = {});

  // ReceiveMessage on `queue_url`: up to max_messages messages, waiting up to
  // wait_time_seconds for the first; empty when none came.
  StatusOr<std::vector<SqsMessage>> Receive(const std::string& queue_url,
                                            const SqsReceiveOptions& options = {});

  // DeleteMessage of a received message.
  Status Delete(const std::string& queue_url, const std::string& receipt_handle);

 private:
  explicit SqsClient(std::unique_ptr<AwsHttp> http) : http_(std::move(http)) {}
  StatusOr<HttpResponse> Call(const std::string& action, const std::string& queue_url,
                              const std::string& body);

  std::unique_ptr<AwsHttp> http_;
};

struct S3EventRecord {
  std::string event_name;  // "ObjectCreated:Put", "ObjectRemoved:Delete"
  std::string bucket;
  std::string key;  // decoded: the notification's key is URL-encoded with '+' for a space
  uint64_t size = 0;
  std::string etag;  // without quotes; empty for removals
};

struct S3Event {
  bool is_test_event = false;  // the s3:TestEvent S3 sends when notifications are configured
  std::vector<S3EventRecord> records;
};

// Parses the body of an S3 event notification delivered straight to SQS. kCorruption when the
// body is not one (the message names what is wrong).
StatusOr<S3Event> ParseS3Event(std::string_view body);

}  // namespace snapdelta

#endif  // SNAPDELTA_CLOUD_SQS_CLIENT_H_
