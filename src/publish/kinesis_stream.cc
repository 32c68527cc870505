#include "publish/kinesis_stream.h"

#include <xxhash.h>

#include <utility>

#include "publish/kinesis_writer.h"

namespace snapdelta {
namespace {

class KinesisStream final : public Stream {
 public:
  KinesisStream(SinkSettings settings, KinesisStreamOptions options,
                std::shared_ptr<KinesisClient> client)
      : settings_(std::move(settings)), options_(std::move(options)), client_(std::move(client)) {}

  StatusOr<std::unique_ptr<StreamWriter>> NewWriter(const std::string& tenant,
                                                    const std::string& table) override {
    const std::string stream = DestinationFor(settings_.destination, tenant, table);
    if (stream.empty()) {
      return InvalidArgumentError(Describe() + ": no stream name for table " + table);
    }
    return NewKinesisWriter(client_, stream, options_);
  }

  std::string Describe() const override {
    if (!settings_.url.empty()) return settings_.url;
    return "kinesis://" + settings_.destination +
           (settings_.region.empty() ? "" : "?region=" + settings_.region);
  }

 private:
  const SinkSettings settings_;
  const KinesisStreamOptions options_;
  const std::shared_ptr<KinesisClient> client_;
};

}  // namespace

std::string KinesisPartitionKey(std::string_view key) {
  size_t chars = 0;
  for (unsigned char c : key) chars += (c & 0xC0) != 0x80;
  if (chars >= 1 && chars <= KinesisClient::kMaxPartitionKeyChars) return std::string(key);
  const XXH128_hash_t hash = XXH3_128bits(key.data(), key.size());
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint64_t half : {hash.high64, hash.low64}) {
    for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kHex[(half >> shift) & 0xF]);
  }
  return out;
}

StatusOr<std::unique_ptr<Stream>> NewKinesisStream(const SinkSettings& settings,
                                                   KinesisStreamOptions options) {
  if (settings.destination.empty()) {
    return InvalidArgumentError("kinesis sink " + settings.url + ": no stream name");
  }
  AwsConfig config;
  if (options.config.has_value()) {
    config = *options.config;
  } else {
    ASSIGN_OR_RETURN(config, ResolveAwsConfig("kinesis"));
  }
  if (!settings.region.empty()) config.region = settings.region;
  ASSIGN_OR_RETURN(std::unique_ptr<KinesisClient> client,
                   KinesisClient::Create(std::move(config), options.http));
  return std::unique_ptr<Stream>(
      new KinesisStream(settings, std::move(options), std::move(client)));
}

StatusOr<std::unique_ptr<Stream>> NewKinesisStream(const SinkSettings& settings) {
  return NewKinesisStream(settings, KinesisStreamOptions{});
}

}  // namespace snapdelta
