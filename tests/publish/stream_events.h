// Helpers of the stream tests: events of imports, publishing them through a StreamWriter, and
// checking what a Kinesis stream holds (read back with the AWS CLI) against what was sent.
#ifndef SNAPDELTA_TESTS_PUBLISH_STREAM_EVENTS_H_
#define SNAPDELTA_TESTS_PUBLISH_STREAM_EVENTS_H_

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cloud/kinesis_cli.h"
#include "publish/kinesis_stream.h"

namespace snapdelta {

using testing::ReadRecord;

struct Event {
  uint64_t seq;
  std::string id;
  std::string key;    // the row key: a JSON object
  std::string value;  // the event JSON
};

// One import of `table`: an event per entry of `keys` (row {"id": k}), seq 1..n in that order.
inline std::vector<Event> Import(const std::string& table, int import, const std::vector<int>& keys,
                                 size_t pad = 40) {
  std::vector<Event> events;
  for (size_t i = 0; i < keys.size(); ++i) {
    Event event;
    event.seq = i + 1;
    event.id = table + "-" + std::to_string(import) + "-" + std::to_string(event.seq);
    event.key = "{\"id\":" + std::to_string(keys[i]) + "}";
    event.value = "{\"id\":\"" + event.id + "\",\"op\":\"u\",\"key\":" + event.key +
                  ",\"after\":{\"id\":" + std::to_string(keys[i]) + ",\"note\":\"" +
                  std::string(pad, 'x') + "\"}}";
    events.push_back(std::move(event));
  }
  return events;
}

inline std::vector<int> Range(int from, int to) {
  std::vector<int> keys;
  for (int k = from; k < to; ++k) keys.push_back(k);
  return keys;
}

// Begin, Send each event, Finish; checks Acked() reaches the last seq.
inline Status Publish(StreamWriter& writer, const std::string& table,
                      const std::vector<Event>& events) {
  RETURN_IF_ERROR(writer.Begin(ImportIdentity{"acme", table, "v"}, 0));
  for (const Event& event : events) {
    RETURN_IF_ERROR(writer.Send(StreamMessage{event.seq, event.id, event.key, event.value}));
  }
  RETURN_IF_ERROR(writer.Finish());
  EXPECT_EQ(writer.Acked(), events.empty() ? 0 : events.back().seq);
  return Status::OK();
}

// `read` holds each event of `imports` exactly once, with partition key KinesisPartitionKey(row
// key), all of a key on one shard, in the order sent: per key, each import's events in seq order,
// and (when `across`) the imports one after the other; else the imports were published at once
// (different tables) and only each one's own order is checked.
inline void ExpectExactlyOnceInOrder(const std::vector<ReadRecord>& read,
                                     const std::vector<std::vector<Event>>& imports,
                                     bool across = true) {
  std::map<std::string, std::pair<const Event*, size_t>> by_value;  // -> event, its group
  // (group, partition key) -> values in the order sent
  std::map<std::pair<size_t, std::string>, std::vector<std::string>> expected;
  size_t total = 0;
  for (size_t i = 0; i < imports.size(); ++i) {
    const size_t group = across ? 0 : i;
    for (const Event& event : imports[i]) {
      by_value[event.value] = {&event, group};
      expected[{group, KinesisPartitionKey(event.key)}].push_back(event.value);
      ++total;
    }
  }
  EXPECT_EQ(read.size(), total);
  std::map<std::string, int> seen;
  std::map<std::pair<size_t, std::string>, std::vector<std::string>> got;
  std::map<std::string, std::set<std::string>> shards;
  for (const ReadRecord& record : read) {
    auto found = by_value.find(record.data);
    if (found == by_value.end()) {
      ADD_FAILURE() << "a record that was never sent: " << record.data.substr(0, 200);
      continue;
    }
    const Event& event = *found->second.first;
    EXPECT_EQ(++seen[record.data], 1) << "twice: " << event.id;
    EXPECT_EQ(record.partition_key, KinesisPartitionKey(event.key)) << event.id;
    got[{found->second.second, record.partition_key}].push_back(record.data);
    shards[record.partition_key].insert(record.shard_id);
  }
  EXPECT_EQ(seen.size(), by_value.size()) << "events missing";
  for (const auto& [key, shard_ids] : shards) EXPECT_EQ(shard_ids.size(), 1u) << key;
  for (const auto& [group_key, values] : expected) {
    const std::vector<std::string>& arrived = got[group_key];
    EXPECT_TRUE(arrived == values) << "key " << group_key.second << ": " << arrived.size() << " of "
                                   << values.size() << " records, or out of order";
  }
}

}  // namespace snapdelta

#endif  // SNAPDELTA_TESTS_PUBLISH_STREAM_EVENTS_H_
