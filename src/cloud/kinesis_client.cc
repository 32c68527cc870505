#include "cloud/kinesis_client.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "cloud/aws_util.h"

namespace snapdelta {
namespace {

using nlohmann::json;

std::string Shortened(std::string_view text) {
  return text.size() <= 200 ? std::string(text) : std::string(text.substr(0, 200)) + "...";
}

// Unicode characters of UTF-8 text: the bytes that do not continue a sequence.
size_t Utf8Chars(std::string_view text) {
  size_t chars = 0;
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;
  return chars;
}

std::string Resource(const std::string& stream) {
  return stream.rfind("arn:", 0) == 0 ? stream : "kinesis stream " + stream;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  // EVP_EncodeBlock takes an int length: encode in pieces of a multiple of 3 bytes.
  constexpr size_t kPiece = size_t{3} << 20;
  for (size_t at = 0; at < bytes.size(); at += kPiece) {
    const std::string_view piece = bytes.substr(at, kPiece);
    const size_t start = out.size();
    out.resize(start + 4 * ((piece.size() + 2) / 3) + 1);  // + the NUL it writes
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + start),
                                        reinterpret_cast<const unsigned char*>(piece.data()),
                                        static_cast<int>(piece.size()));
    out.resize(start + static_cast<size_t>(written));
  }
  return out;
}

StatusOr<std::unique_ptr<KinesisClient>> KinesisClient::Create(AwsConfig config,
                                                               RetryOptions retry) {
  ASSIGN_OR_RETURN(std::unique_ptr<AwsHttp> http,
                   AwsHttp::ForClient(std::move(config), std::move(retry), "kinesis", "Kinesis"));
  return std::unique_ptr<KinesisClient>(new KinesisClient(std::move(http)));
}

StatusOr<HttpResponse> KinesisClient::Call(const std::string& action, const std::string& stream,
                                           const std::string& body, AwsError* last_error) {
  return http_->CallJson("application/x-amz-json-1.1", "Kinesis_20131202." + action,
                         Resource(stream), action, body, last_error);
}

bool KinesisClient::IsThrottling(std::string_view error_code) {
  return error_code == "ProvisionedThroughputExceededException" ||
         error_code == "LimitExceededException" || error_code == "KMSThrottlingException" ||
         error_code == "ThrottlingException";
}

StatusOr<PutRecordsResult> KinesisClient::PutRecords(const std::string& stream,
                                                     const std::vector<KinesisRecord>& records) {
  const std::string resource = Resource(stream);
  if (stream.empty()) return InvalidArgumentError("Kinesis PutRecords: no stream name");
  if (records.empty()) return PutRecordsResult{};
  if (records.size() > kMaxPutRecords) {
    return InvalidArgumentError(resource + ": PutRecords of " + std::to_string(records.size()) +
                                " records; at most " + std::to_string(kMaxPutRecords) +
                                " go in one request");
  }
  size_t total = 0;
  json entries = json::array();
  for (size_t i = 0; i < records.size(); ++i) {
    const KinesisRecord& record = records[i];
    const size_t key_chars = Utf8Chars(record.partition_key);
    if (key_chars == 0 || key_chars > kMaxPartitionKeyChars) {
      return InvalidArgumentError(resource + ": PutRecords: record " + std::to_string(i) +
                                  " has a partition key of " + std::to_string(key_chars) +
                                  " characters; it must have 1 to " +
                                  std::to_string(kMaxPartitionKeyChars));
    }
    const size_t size = record.partition_key.size() + record.data.size();
    if (size > kMaxRecordBytes) {
      return InvalidArgumentError(resource + ": PutRecords: record " + std::to_string(i) + " has " +
                                  std::to_string(size) +
                                  " bytes of partition key and data; at most " +
                                  std::to_string(kMaxRecordBytes) + " are allowed");
    }
    total += size;
    entries.push_back(
        {{"Data", Base64Encode(record.data)}, {"PartitionKey", record.partition_key}});
  }
  if (total > kMaxPutRecordsBytes) {
    return InvalidArgumentError(resource + ": PutRecords of " + std::to_string(total) +
                                " bytes of partition keys and data; at most " +
                                std::to_string(kMaxPutRecordsBytes) + " go in one request");
  }
  json call = {{"Records", std::move(entries)}};
  call[stream.rfind("arn:", 0) == 0 ? "StreamARN" : "StreamName"] = stream;
  // Partition keys are caller text: invalid UTF-8 is replaced rather than thrown on.
  AwsError last_error;
  StatusOr<HttpResponse> answered = Call(
      "PutRecords", stream, call.dump(-1, ' ', false, json::error_handler_t::replace), &last_error);
  if (!answered.ok()) {
    if (IsThrottling(last_error.code)) {
      return ResourceExhaustedError(answered.status().message());
    }
    return answered.status();
  }
  const HttpResponse& response = *answered;

  const json answer = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object()) {
    return CorruptionError(
        resource +
        ": PutRecords answered something that is not a JSON object: " + Shortened(response.body));
  }
  auto list = answer.find("Records");
  if (list == answer.end() || !list->is_array() || list->size() != records.size()) {
    return CorruptionError(
        resource + ": PutRecords of " + std::to_string(records.size()) +
        " records answered without one result per record: " + Shortened(response.body));
  }
  PutRecordsResult result;
  result.error_codes.reserve(records.size());
  result.error_messages.reserve(records.size());
  result.sequence_numbers.reserve(records.size());
  result.shard_ids.reserve(records.size());
  for (const json& item : *list) {
    std::string error = JsonStringField(item, "ErrorCode");
    std::string sequence = JsonStringField(item, "SequenceNumber");
    if (error.empty() && sequence.empty()) {
      return CorruptionError(resource +
                             ": PutRecords: a result with neither ErrorCode nor SequenceNumber: " +
                             Shortened(item.dump()));
    }
    result.failed += !error.empty();
    result.error_messages.push_back(error.empty() ? "" : JsonStringField(item, "ErrorMessage"));
    result.sequence_numbers.push_back(error.empty() ? std::move(sequence) : "");
    result.shard_ids.push_back(error.empty() ? JsonStringField(item, "ShardId") : "");
    result.error_codes.push_back(std::move(error));
  }
  // FailedRecordCount is what the entries say; a different count in the answer is corrupt.
  if (auto count = answer.find("FailedRecordCount"); count != answer.end() &&
                                                     count->is_number_unsigned() &&
                                                     count->get<size_t>() != result.failed) {
    return CorruptionError(resource + ": PutRecords answered FailedRecordCount " +
                           std::to_string(count->get<size_t>()) + " but " +
                           std::to_string(result.failed) + " failed entries");
  }
  return result;
}

}  // namespace snapdelta
