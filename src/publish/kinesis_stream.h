// KinesisStream: the Stream of a kinesis:// sink (sink_url.h). Each event becomes one record of
// the stream DestinationFor(settings.destination, tenant, table), sent with PutRecords
// (cloud/kinesis_client.h) in the region settings.region, else as ResolveAwsConfig("kinesis")
// resolves it (endpoint from AWS_ENDPOINT_URL_KINESIS or AWS_ENDPOINT_URL).
//
// Record: data = the message's value (the event JSON); a tombstone (no value) is
// kInvalidArgument. Partition key = KinesisPartitionKey(message.key): the row key itself when it
// has 1 to 256 characters, else the hex XXH3-128 of it, so one row's events always land on one
// shard. A record over KinesisClient::kMaxRecordBytes (partition key + data) is kInvalidArgument
// naming the event.
//
// Sending: each writer has `senders` threads, each with at most one PutRecords request in flight
// (batches of at most 500 records and 5 MiB, see kinesis_client.h for why not 10 MiB). Send puts
// the record in a queue bounded by max_pending_records / max_pending_bytes (queued, held and in
// flight together) and blocks while it is full; a sender waits up to `linger` for a full batch
// unless Finish was called or Send is blocked.
//
// Retries: only the failed entries of an answer are resent (per-entry ErrorCode
// ProvisionedThroughputExceededException, InternalFailure, KMSThrottlingException), and a whole
// request that is still throttled or unavailable after AwsHttp's own retries is resent whole.
// Each such failure pauses every sender of the writer for an exponential backoff with jitter
// (random in [d/2, d], d = base_backoff * 2^(level-1) capped at max_backoff), raises the
// level, and lowers the requests in flight to senders >> level (at least 1); an answer without
// failures lowers the level again. Throttling is retried until no record of the writer was
// acknowledged for give_up_after (default 5 minutes), then the import fails with
// kResourceExhausted naming the stream, the error and an event. Any other failure (the stream does
// not exist: kNotFound; access denied; a refused entry) fails the import at once, naming the
// stream, the error code and the event id.
//
// Ordering rule: a writer never has two records of one partition key unresolved at once. A record
// whose key already has one queued or in flight is held (in a per-key queue, counted against the
// bound) until that one is acknowledged, then queued in turn. So a failed entry that is resent
// can never be overtaken by a later event of its key, even within one import; across imports it
// holds anyway, as Finish waits for everything before the next Begin. (Within one import every
// key appears once, so in practice nothing is held and entries are retried independently.)
//
// Acked() is the AckWindow position: it never passes a failed, held, queued or in-flight record.
// Finish waits for every record or returns the first failure; Abort drops what is queued and
// waits for the requests in flight (their records may arrive). Messages of seq <= the `acked` of
// Begin are skipped.
//
// Thread safety: as StreamWriter / Stream (stream.h); the KinesisClient is shared by the writers.
#ifndef SNAPDELTA_PUBLISH_KINESIS_STREAM_H_
#define SNAPDELTA_PUBLISH_KINESIS_STREAM_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cloud/aws_config.h"
#include "cloud/http.h"
#include "cloud/kinesis_client.h"
#include "publish/sink_url.h"
#include "publish/stream.h"
#include "snapdelta/status.h"

namespace snapdelta {

struct KinesisStreamOptions {
  int senders = 4;  // PutRecords requests in flight at once, per writer
  size_t max_batch_records = KinesisClient::kMaxPutRecords;
  size_t max_batch_bytes = KinesisClient::kMaxPutRecordsBytes;  // partition keys + data
  size_t max_pending_records = 5000;                            // queued + held + in flight
  size_t max_pending_bytes = size_t{32} << 20;
  std::chrono::milliseconds linger{10};
  std::chrono::milliseconds base_backoff{100};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds give_up_after = std::chrono::minutes(5);
  // Each request's own retries (connection failures, 5xx, throttling) inside AwsHttp.
  RetryOptions http = [] {
    RetryOptions retry;
    retry.max_attempts = 3;
    return retry;
  }();
  // Instead of ResolveAwsConfig("kinesis") (tests: an endpoint behind a fault proxy).
  std::optional<AwsConfig> config;
};

StatusOr<std::unique_ptr<Stream>> NewKinesisStream(const SinkSettings& settings,
                                                   KinesisStreamOptions options);

// The partition key of a row key: `key` when it has 1 to 256 Unicode characters, else the 32 hex
// digits of its XXH3-128 (a row key is a JSON object, so it never looks like a digest).
std::string KinesisPartitionKey(std::string_view key);

}  // namespace snapdelta

#endif  // SNAPDELTA_PUBLISH_KINESIS_STREAM_H_
