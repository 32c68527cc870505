#include "publish/sink_url.h"

#include "cloud/aws_util.h"

namespace snapdelta {
namespace {

constexpr char kKafkaScheme[] = "kafka://";
constexpr char kKinesisScheme[] = "kinesis://";
constexpr char kDefaultKafkaTopic[] = "snapdelta.{tenant}.{table}";

StatusOr<bool> ParseBool(const std::string& url, const std::string& name,
                         const std::string& value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return InvalidArgumentError("sink " + url + ": " + name + "=" + value + " is not true or false");
}

Status ApplyParameter(SinkSettings* settings, const std::string& name, const std::string& value) {
  const std::string& url = settings->url;
  if (name == "format") {
    if (value == "json") {
      settings->format = EventFormat::kJson;
    } else if (value == "debezium") {
      settings->format = EventFormat::kDebezium;
    } else {
      return InvalidArgumentError("sink " + url + ": format=" + value + " is not json or debezium");
    }
  } else if (name == "tombstones") {
    ASSIGN_OR_RETURN(settings->tombstones, ParseBool(url, name, value));
  } else if (name == "transactional") {
    ASSIGN_OR_RETURN(settings->transactional, ParseBool(url, name, value));
  } else if (name == "region" && settings->kind == SinkKind::kKinesis) {
    settings->region = value;
  } else if (name.find('.') != std::string::npos && settings->kind == SinkKind::kKafka) {
    settings->kafka_properties[name] = value;
  } else {
    return InvalidArgumentError(
        "sink " + url + ": unknown parameter " + name +
        " (known: format, tombstones, transactional, region for Kinesis, and librdkafka "
        "properties such as compression.type for Kafka)");
  }
  return Status::OK();
}

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) parts.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace

StatusOr<SinkSettings> ParseSinkUrl(const std::string& url,
                                    const std::map<std::string, std::string>& defaults) {
  SinkSettings settings;
  settings.url = url.empty() ? "file" : url;
  if (url.empty() || url == "file") {
    for (const auto& [name, value] : defaults) {
      RETURN_IF_ERROR(ApplyParameter(&settings, name, value));
    }
    return settings;
  }
  std::string_view rest = url;
  if (rest.starts_with(kKafkaScheme)) {
    settings.kind = SinkKind::kKafka;
    rest.remove_prefix(sizeof(kKafkaScheme) - 1);
  } else if (rest.starts_with(kKinesisScheme)) {
    settings.kind = SinkKind::kKinesis;
    rest.remove_prefix(sizeof(kKinesisScheme) - 1);
  } else {
    return InvalidArgumentError("sink " + url +
                                ": unknown kind; use file, kafka://HOST:PORT[,HOST:PORT]/TOPIC "
                                "or kinesis://STREAM");
  }
  std::string_view query;
  if (size_t mark = rest.find('?'); mark != std::string_view::npos) {
    query = rest.substr(mark + 1);
    rest = rest.substr(0, mark);
  }
  if (settings.kind == SinkKind::kKafka) {
    size_t slash = rest.find('/');
    std::string_view hosts = rest.substr(0, slash);
    settings.brokers = Split(hosts, ',');
    if (settings.brokers.empty()) {
      return InvalidArgumentError("sink " + url + ": no broker; use kafka://HOST:PORT/TOPIC");
    }
    for (const std::string& broker : settings.brokers) {
      if (broker.find(':') == std::string::npos) {
        return InvalidArgumentError("sink " + url + ": broker " + broker +
                                    " has no port (HOST:PORT)");
      }
    }
    std::string_view topic = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    settings.destination = topic.empty() ? kDefaultKafkaTopic : UrlDecode(topic, false);
  } else {
    settings.destination = UrlDecode(rest, false);
    if (settings.destination.empty() || settings.destination.find('/') != std::string::npos) {
      return InvalidArgumentError("sink " + url +
                                  ": use kinesis://STREAM (a stream name, or a "
                                  "template with {tenant} and {table})");
    }
  }
  for (const auto& [name, value] : defaults) {
    RETURN_IF_ERROR(ApplyParameter(&settings, name, value));
  }
  for (const std::string& parameter : Split(query, '&')) {
    size_t equals = parameter.find('=');
    if (equals == std::string::npos) {
      return InvalidArgumentError("sink " + url + ": parameter " + parameter + " has no value");
    }
    RETURN_IF_ERROR(ApplyParameter(&settings, UrlDecode(parameter.substr(0, equals), true),
                                   UrlDecode(parameter.substr(equals + 1), true)));
  }
  return settings;
}

Status CheckSinkSettings(const SinkSettings& settings) {
  if (settings.kind == SinkKind::kFile && settings.format != EventFormat::kJson) {
    return InvalidArgumentError(
        "format debezium needs a kafka:// or kinesis:// sink (change "
        "files hold snapdelta's events)");
  }
  if (settings.tombstones &&
      (settings.kind != SinkKind::kKafka || settings.format != EventFormat::kDebezium)) {
    return InvalidArgumentError("tombstones need a kafka:// sink with format debezium");
  }
  if (settings.transactional && settings.kind != SinkKind::kKafka) {
    return InvalidArgumentError("transactional needs a kafka:// sink");
  }
  return Status::OK();
}

StatusOr<std::unique_ptr<Stream>> OpenStream(const SinkSettings& settings) {
  RETURN_IF_ERROR(CheckSinkSettings(settings));
  switch (settings.kind) {
    case SinkKind::kKafka:
      return NewKafkaStream(settings);
    case SinkKind::kKinesis:
      return NewKinesisStream(settings);
    case SinkKind::kFile:
      break;
  }
  return InvalidArgumentError("the file sink has no stream");
}

}  // namespace snapdelta
