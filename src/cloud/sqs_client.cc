#include "cloud/sqs_client.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "cloud/aws_util.h"

namespace snapdelta {
namespace {

using nlohmann::json;

const json& ObjectField(const json& object, const char* name) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(name);
  return it != object.end() && it->is_object() ? *it : kNull;
}

std::string Shortened(std::string_view text) {
  return text.size() <= 200 ? std::string(text) : std::string(text.substr(0, 200)) + "...";
}

}  // namespace

StatusOr<std::unique_ptr<SqsClient>> SqsClient::Create(AwsConfig config, RetryOptions retry) {
  ASSIGN_OR_RETURN(std::unique_ptr<AwsHttp> http,
                   AwsHttp::ForClient(std::move(config), std::move(retry), "sqs", "SQS"));
  return std::unique_ptr<SqsClient>(new SqsClient(std::move(http)));
}

StatusOr<HttpResponse> SqsClient::Call(const std::string& action, const std::string& queue_url,
                                       const std::string& body) {
  return http_->CallJson("application/x-amz-json-1.0", "AmazonSQS." + action, queue_url, action,
                         body);
}

StatusOr<std::vector<SqsMessage>> SqsClient::Receive(const std::string& queue_url,
                                                     const SqsReceiveOptions& options) {
  json call = {{"QueueUrl", queue_url},
               {"MaxNumberOfMessages", options.max_messages},
               {"WaitTimeSeconds", options.wait_time_seconds}};
  if (options.visibility_timeout_seconds >= 0) {
    call["VisibilityTimeout"] = options.visibility_timeout_seconds;
  }
  ASSIGN_OR_RETURN(HttpResponse response, Call("ReceiveMessage", queue_url, call.dump()));
  const json answer = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object()) {
    return CorruptionError(queue_url +
                           ": ReceiveMessage answered something that is not a JSON "
                           "object: " +
                           Shortened(response.body));
  }
  std::vector<SqsMessage> messages;
  auto list = answer.find("Messages");
  if (list == answer.end() || list->is_null()) return messages;
  if (!list->is_array()) {
    return CorruptionError(queue_url + ": ReceiveMessage: Messages is not an array");
  }
  for (const json& item : *list) {
    SqsMessage message;
    message.message_id = JsonStringField(item, "MessageId");
    message.receipt_handle = JsonStringField(item, "ReceiptHandle");
    message.body = JsonStringField(item, "Body");
    if (message.receipt_handle.empty()) {
      return CorruptionError(queue_url + ": ReceiveMessage: a message without a ReceiptHandle: " +
                             Shortened(item.dump()));
    }
    messages.push_back(std::move(message));
  }
  return messages;
}

Status SqsClient::Delete(const std::string& queue_url, const std::string& receipt_handle) {
  const json call = {{"QueueUrl", queue_url}, {"ReceiptHandle", receipt_handle}};
  return Call("DeleteMessage", queue_url, call.dump()).status();
}

StatusOr<S3Event> ParseS3Event(std::string_view body) {
  const json event = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!event.is_object()) {
    return CorruptionError("SQS message is not a JSON object, so not an S3 event: " +
                           Shortened(body));
  }
  S3Event parsed;
  if (JsonStringField(event, "Event") == "s3:TestEvent") {
    parsed.is_test_event = true;
    return parsed;
  }
  auto records = event.find("Records");
  if (records == event.end() || !records->is_array()) {
    return CorruptionError(
        "SQS message is neither an S3 event (no Records array) nor an "
        "s3:TestEvent: " +
        Shortened(body));
  }
  for (const json& record : *records) {
    const json& s3 = ObjectField(record, "s3");
    const json& object = ObjectField(s3, "object");
    S3EventRecord out;
    out.event_name = JsonStringField(record, "eventName");
    out.bucket = JsonStringField(ObjectField(s3, "bucket"), "name");
    out.key = UrlDecode(JsonStringField(object, "key"), /*plus_is_space=*/true);
    if (out.event_name.empty() || out.bucket.empty() || out.key.empty()) {
      return CorruptionError(
          "S3 event record without eventName, s3.bucket.name or "
          "s3.object.key: " +
          Shortened(record.dump()));
    }
    if (auto size = object.find("size"); size != object.end() && size->is_number_unsigned()) {
      out.size = size->get<uint64_t>();
    }
    out.etag = StripQuotes(JsonStringField(object, "eTag"));
    parsed.records.push_back(std::move(out));
  }
  return parsed;
}

}  // namespace snapdelta
