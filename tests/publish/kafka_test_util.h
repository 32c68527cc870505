// Helpers of the Kafka stream tests: settings for a mock cluster, events that own their bytes,
// and kcat's view of a topic (an independent client) parsed into records.
#ifndef SNAPDELTA_TESTS_PUBLISH_KAFKA_TEST_UTIL_H_
#define SNAPDELTA_TESTS_PUBLISH_KAFKA_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "cloud/kafka_mock.h"
#include "publish/sink_url.h"
#include "publish/stream.h"

namespace snapdelta::testing {

inline SinkSettings KafkaSettings(const std::string& bootstrap, bool transactional = false,
                                  std::map<std::string, std::string> properties = {}) {
  SinkSettings settings;
  settings.kind = SinkKind::kKafka;
  settings.destination = "snapdelta.{tenant}.{table}";
  settings.transactional = transactional;
  settings.kafka_properties = std::move(properties);
  for (size_t start = 0; start <= bootstrap.size();) {
    size_t comma = bootstrap.find(',', start);
    if (comma == std::string::npos) comma = bootstrap.size();
    settings.brokers.push_back(bootstrap.substr(start, comma - start));
    start = comma + 1;
  }
  return settings;
}

struct TestEvent {
  uint64_t seq;
  std::string id;
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone
};

// `count` events of `import` from seq first_seq, keys cycling over `keys` rows; every 10th
// event with a key is a DELETE followed by its tombstone (two messages of one seq).
inline std::vector<TestEvent> MakeEvents(const std::string& import, uint64_t first_seq, int count,
                                         int keys, bool tombstones = false) {
  std::vector<TestEvent> events;
  for (int i = 0; i < count; ++i) {
    const uint64_t seq = first_seq + i;
    const std::string id = import + "-" + std::to_string(seq);
    const std::string key = "{\"id\":" + std::to_string(i % keys) + "}";
    events.push_back({seq, id, key, "{\"op\":\"u\",\"id\":\"" + id + "\"}"});
    if (tombstones && i % 10 == 9) events.push_back({seq, id, key, std::nullopt});
  }
  return events;
}

// Sends `events` in batches of `batch` messages (as the publisher does, a change file's batch at
// a time).
inline Status SendAll(StreamWriter* writer, const std::vector<TestEvent>& events,
                      size_t batch = 500) {
  std::vector<StreamMessage> messages;
  for (size_t start = 0; start < events.size(); start += batch) {
    messages.clear();
    for (size_t i = start; i < std::min(events.size(), start + batch); ++i) {
      StreamMessage& message = messages.emplace_back();
      message.seq = events[i].seq;
      message.id = events[i].id;
      message.key = events[i].key;
      if (events[i].value) message.value = *events[i].value;
    }
    RETURN_IF_ERROR(writer->SendBatch(messages));
  }
  return Status::OK();
}

// A record as kcat read it: key, value ("NULL" for a null one), value size (-1 for NULL) and
// headers ("snapdelta-id=...").
struct Record {
  std::string key, value, size, headers;
  bool operator<(const Record& o) const {
    return std::tie(key, value, size, headers) < std::tie(o.key, o.value, o.size, o.headers);
  }
  bool operator==(const Record& o) const {
    return std::tie(key, value, size, headers) == std::tie(o.key, o.value, o.size, o.headers);
  }
};

inline std::ostream& operator<<(std::ostream& out, const Record& r) {
  return out << r.key << " " << r.value << " (" << r.size << ") " << r.headers;
}

// Every record of `topic`, partition by partition in offset order.
inline std::vector<Record> ReadTopic(const std::string& bootstrap, const std::string& topic,
                                     std::vector<std::string> kcat_args = {}) {
  kcat_args.push_back("-Z");
  std::string text = Consume(bootstrap, topic, "%k\t%s\t%S\t%h\n", kcat_args);
  std::vector<Record> records;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    std::vector<std::string> fields;
    std::string line = text.substr(start, end - start);
    for (size_t from = 0;;) {
      size_t tab = line.find('\t', from);
      fields.push_back(line.substr(from, tab == std::string::npos ? tab : tab - from));
      if (tab == std::string::npos) break;
      from = tab + 1;
    }
    EXPECT_EQ(fields.size(), 4u) << line;
    if (fields.size() == 4) records.push_back({fields[0], fields[1], fields[2], fields[3]});
  }
  return records;
}

// The records kcat should read for `events`.
inline std::vector<Record> Expected(const std::vector<TestEvent>& events) {
  std::vector<Record> records;
  for (const TestEvent& e : events) {
    records.push_back({e.key, e.value.value_or("NULL"),
                       e.value ? std::to_string(e.value->size()) : "-1", "snapdelta-id=" + e.id});
  }
  return records;
}

// The records' values (or ids, for tombstones) of each key, in the order read.
inline std::map<std::string, std::vector<std::string>> PerKey(const std::vector<Record>& records) {
  std::map<std::string, std::vector<std::string>> per_key;
  for (const Record& r : records) per_key[r.key].push_back(r.headers + " " + r.value);
  return per_key;
}

}  // namespace snapdelta::testing

#endif  // SNAPDELTA_TESTS_PUBLISH_KAFKA_TEST_UTIL_H_
