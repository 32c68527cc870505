// KinesisClient: writing records to a Kinesis data stream with PutRecords (the AWS JSON protocol:
// POST / with Content-Type application/x-amz-json-1.1 and X-Amz-Target
// Kinesis_20131202.PutRecords, signed for the service "kinesis"; the endpoint comes from
// AWS_ENDPOINT_URL_KINESIS or AWS_ENDPOINT_URL through ResolveAwsConfig("kinesis")).
//
// Limits (those of the service, checked before anything is sent, kInvalidArgument when one is
// exceeded): at most kMaxPutRecords records per call; per record a partition key of 1 to 256
// Unicode characters, and partition key plus data of at most kMaxRecordBytes; all partition keys
// plus all data of at most kMaxPutRecordsBytes per call. The data is raw bytes (any of 0..255);
// it travels base64-encoded.
//
// Why 5 MiB per request when newer AWS material speaks of 10 MiB: since 2025 a stream may raise
// its largest record to 10 MiB (UpdateMaxRecordSize, MaxRecordSizeInKiB 1024..10240, opt-in per
// stream, default 1 MiB), but the PutRecords reference still limits a request to 500 records and
// 5 MiB in all, partition keys included, and moto 5.2 enforces exactly 500 / 5 MiB / 1 MiB per
// record (moto/kinesis/models.py). 5 MiB and 1 MiB are accepted by every stream; larger records
// would need the stream's own setting, which snapdelta does not read.
//
// Failures: request-level failures (throttling of the whole request, HTTP 5xx, connection
// errors) are retried by AwsHttp; the errors that remain are mapped as AwsHttp maps them, so a
// stream that does not exist is kNotFound (ResourceNotFoundException), except that a request
// still throttled after those retries (ProvisionedThroughputExceededException,
// LimitExceededException, KMSThrottlingException: IsThrottling) is kResourceExhausted, so that a
// caller can slow down and resend instead of failing. Per-entry failures
// (ProvisionedThroughputExceededException, InternalFailure) are NOT retried here: they are
// reported in the PutRecordsResult, entry by entry in the order of the request, so that the
// caller can resend only the failed entries (which may change their order in the stream relative
// to later entries with the same partition key: a caller that needs that order must not send
// later records of a key before its failed ones succeeded). An answer that is not the expected
// JSON, or that has not exactly one result per record, is kCorruption.
//
// Thread safety: a KinesisClient may be used from several threads at once.
#ifndef SNAPDELTA_CLOUD_KINESIS_CLIENT_H_
#define SNAPDELTA_CLOUD_KINESIS_CLIENT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/aws_config.h"
#include "cloud/http.h"
#include "snapdelta/status.h"

namespace snapdelta {

struct KinesisRecord {
  std::string partition_key;  // 1..256 Unicode characters; picks the shard (MD5 hash)
  std::string data;           // raw bytes; base64-encoded on the wire
};

struct PutRecordsResult {
  size_t failed = 0;                          // FailedRecordCount
  std::vector<std::string> error_codes;       // per entry, "" when it succeeded
  std::vector<std::string> error_messages;    // per entry, "" when it succeeded
  std::vector<std::string> sequence_numbers;  // per entry, "" when it failed
  std::vector<std::string> shard_ids;         // per entry, "" when it failed

  bool ok(size_t entry) const { return error_codes[entry].empty(); }
};

class KinesisClient {
 public:
  static constexpr size_t kMaxPutRecords = 500;
  static constexpr size_t kMaxRecordBytes = size_t{1} << 20;      // partition key + data
  static constexpr size_t kMaxPutRecordsBytes = size_t{5} << 20;  // all keys + all data
  static constexpr size_t kMaxPartitionKeyChars = 256;

  static StatusOr<std::unique_ptr<KinesisClient>> Create(AwsConfig config, RetryOptions retry = {});

  // One PutRecords request writing `records` to `stream` (a stream name, or its ARN when it
  // starts with "arn:"). The result has one entry per record, in order. No records: an empty
  // result, and no request.
  StatusOr<PutRecordsResult> PutRecords(const std::string& stream,
                                        const std::vector<KinesisRecord>& records);

  // True for the error codes (of a whole request or of one entry) that mean "slow down".
  static bool IsThrottling(std::string_view error_code);

 private:
  explicit KinesisClient(std::unique_ptr<AwsHttp> http) : http_(std::move(http)) {}
  StatusOr<HttpResponse> Call(const std::string& action, const std::string& stream,
                              const std::string& body, AwsError* last_error = nullptr);

  std::unique_ptr<AwsHttp> http_;
};

// The base64 encoding (RFC 4648, with padding, no line breaks) of `bytes`.
std::string Base64Encode(std::string_view bytes);

}  // namespace snapdelta

#endif  // SNAPDELTA_CLOUD_KINESIS_CLIENT_H_
