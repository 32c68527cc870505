// The sink URL (`--sink`, the config's [sink] table): where events go after an import commits.
//
//   file                                      change files only (the default)
//   kafka://HOST:PORT[,HOST:PORT]/[TOPIC]     TOPIC a template, default snapdelta.{tenant}.{table}
//   kinesis://STREAM[?region=R]               STREAM a template ("{tenant}", "{table}") or one name
//
// Query parameters (also keys of the config's [sink] table; the URL wins):
//   format=json|debezium   the message value: the change-file event, or Debezium's envelope
//   tombstones=true        Kafka, debezium: a null-valued message after each DELETE
//   transactional=true     Kafka: each import in one transaction, transactional.id per table
//   region=R               Kinesis: the region (else as the AWS CLI resolves it)
//   any key with a dot     Kafka: a librdkafka property (e.g. compression.type=zstd,
//                          message.timeout.ms=30000), applied over snapdelta's defaults
#ifndef SNAPDELTA_PUBLISH_SINK_URL_H_
#define SNAPDELTA_PUBLISH_SINK_URL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "publish/stream.h"
#include "snapdelta/status.h"

namespace snapdelta {

enum class SinkKind { kFile, kKafka, kKinesis };
enum class EventFormat { kJson, kDebezium };

struct SinkSettings {
  SinkKind kind = SinkKind::kFile;
  std::string url;  // as given, for messages
  EventFormat format = EventFormat::kJson;
  bool tombstones = false;
  bool transactional = false;
  std::vector<std::string> brokers;  // Kafka: "HOST:PORT"
  // The topic or stream of a table: "{tenant}" and "{table}" are replaced (DestinationFor).
  std::string destination;
  std::string region;                                   // Kinesis; empty: as the AWS CLI does
  std::map<std::string, std::string> kafka_properties;  // librdkafka properties from the URL
};

// Parses a sink URL with its query parameters, over `defaults` (the config's [sink] keys, as
// parameters). An empty URL is the file sink. kInvalidArgument naming the part that is wrong.
StatusOr<SinkSettings> ParseSinkUrl(const std::string& url,
                                    const std::map<std::string, std::string>& defaults = {});

// Checks a combination (tombstones need Kafka and debezium; transactional needs Kafka).
Status CheckSinkSettings(const SinkSettings& settings);

// The Stream of a Kafka or Kinesis sink (kInvalidArgument for kFile).
StatusOr<std::unique_ptr<Stream>> OpenStream(const SinkSettings& settings);

// The backends, for OpenStream.
StatusOr<std::unique_ptr<Stream>> NewKafkaStream(const SinkSettings& settings);
StatusOr<std::unique_ptr<Stream>> NewKinesisStream(const SinkSettings& settings);

}  // namespace snapdelta

#endif  // SNAPDELTA_PUBLISH_SINK_URL_H_
