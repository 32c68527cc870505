// LandingEvents on an SQS queue of S3 event notifications (landing.h).
#include <algorithm>

#include "cloud/aws_config.h"
#include "cloud/sqs_client.h"
#include "storage/backends.h"

namespace snapdelta {
namespace {

// SQS long polling waits at most this long per request.
constexpr int64_t kMaxWaitSeconds = 20;

class SqsEvents final : public LandingEvents {
 public:
  SqsEvents(std::unique_ptr<SqsClient> client, std::string queue_url)
      : client_(std::move(client)), queue_url_(std::move(queue_url)) {}

  StatusOr<std::vector<LandingEvent>> Wait(int64_t timeout_ms) override {
    SqsReceiveOptions options;
    options.wait_time_seconds =
        static_cast<int>(std::clamp<int64_t>((timeout_ms + 999) / 1000, 0, kMaxWaitSeconds));
    ASSIGN_OR_RETURN(std::vector<SqsMessage> messages, client_->Receive(queue_url_, options));
    std::vector<LandingEvent> events;
    for (const SqsMessage& message : messages) {
      StatusOr<S3Event> event = ParseS3Event(message.body);
      bool created = false;
      if (event.ok()) {
        for (const S3EventRecord& record : event->records) {
          if (!record.event_name.starts_with("ObjectCreated")) continue;
          events.push_back({"s3://" + record.bucket + "/" + record.key, message.receipt_handle});
          created = true;
        }
      }
      // A test event, a removal or a body that is no S3 notification starts nothing: deleted,
      // so it does not come back.
      if (!created) RETURN_IF_ERROR(client_->Delete(queue_url_, message.receipt_handle));
    }
    return events;
  }

  Status Ack(const LandingEvent& event) override {
    return client_->Delete(queue_url_, event.handle);
  }

 private:
  std::unique_ptr<SqsClient> client_;
  const std::string queue_url_;
};

}  // namespace

StatusOr<std::unique_ptr<LandingEvents>> OpenSqsEvents(const std::string& url) {
  ASSIGN_OR_RETURN(AwsConfig config, ResolveAwsConfig("sqs"));
  std::string queue_url = url;
  if (url.starts_with("sqs://")) {
    std::string scheme = "https";
    if (!config.endpoint.empty()) scheme = config.endpoint.substr(0, config.endpoint.find(':'));
    queue_url = scheme + "://" + url.substr(6);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SqsClient> client, SqsClient::Create(std::move(config)));
  return std::unique_ptr<LandingEvents>(
      std::make_unique<SqsEvents>(std::move(client), std::move(queue_url)));
}

}  // namespace snapdelta
