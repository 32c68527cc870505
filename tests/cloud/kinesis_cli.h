// KinesisMotoTest: MotoTest with Kinesis streams made and read back with the AWS CLI (an
// independent client): NewStream creates a stream and waits until it is ACTIVE; ReadStream reads
// every record, shard after shard from TRIM_HORIZON, each shard in its order, decoding the base64
// data. Base64Decode is the inverse of Base64Encode (cloud/kinesis_client.h).
//
// Helpers never throw: a failure is a GoogleTest failure naming the command.
// Thread safety: none; call from the test's main thread.
#ifndef SNAPDELTA_TESTS_CLOUD_KINESIS_CLI_H_
#define SNAPDELTA_TESTS_CLOUD_KINESIS_CLI_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/moto_server.h"

namespace snapdelta::testing {

struct ReadRecord {
  std::string shard_id;
  std::string partition_key;
  std::string data;
  std::string sequence_number;
};

// The bytes of base64 `text`; nullopt when it is not base64.
std::optional<std::string> Base64Decode(std::string_view text);

class KinesisMotoTest : public MotoTest {
 protected:
  // Creates a stream with `shards` shards and waits until it is ACTIVE.
  static void NewStream(const std::string& name, int shards);
  // Everything in the stream, shard after shard (in list-shards order), each in its order; only
  // the first `max_shards` shards when fewer.
  static std::vector<ReadRecord> ReadStream(const std::string& name, size_t max_shards = SIZE_MAX);
};

}  // namespace snapdelta::testing

#endif  // SNAPDELTA_TESTS_CLOUD_KINESIS_CLI_H_
