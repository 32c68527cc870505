// KafkaProducer: one librdkafka producer for the Kafka stream (kafka_stream.cc). Each message is
// produced with the DeliveryTracker of its import, and its delivery report goes to that tracker
// whichever thread serves it: writers of several tables share one producer, and a report that
// arrives after its writer moved on to another import (or was destroyed) only touches the
// tracker of its own import, which it keeps alive.
//
// Polling: there is no thread of its own; the writers serve delivery reports (rd_kafka_poll)
// every kPollEvery messages they produce, when they read Acked() and while they wait, so a report
// may be served by another table's writer: it reaches its own tracker all the same. (A polling
// thread measured no faster: publishing keeps both cores busy, and most of its cost is
// librdkafka's per-message work, which the binary's allocator, jemalloc, makes cheaper.)
//
// Errors: a failed delivery is kUnavailable naming the topic, librdkafka's error and the event
// (its "snapdelta-id" header and seq). A fatal producer error (the idempotent producer lost its
// guarantees, or a transactional producer was fenced) is kAborted: the producer cannot continue.
//
// Partitions: a topic's messages are partitioned by librdkafka's own partitioner (the
// "partitioner" property). KafkaTopic also tells which partition that will be for a key, so that
// a writer can produce a batch grouped by partition (kafka_stream.cc): consecutive messages then go
// to one partition queue, which costs librdkafka less per message than a different queue each time.
//
// Thread safety: every method may be called from any thread.
#ifndef SNAPDELTA_PUBLISH_KAFKA_PRODUCER_H_
#define SNAPDELTA_PUBLISH_KAFKA_PRODUCER_H_

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "publish/ack_window.h"
#include "publish/stream.h"
#include "snapdelta/status.h"

namespace snapdelta {

// What became of the messages of one import: their acknowledged position and the first failure.
class DeliveryTracker {
 public:
  explicit DeliveryTracker(uint64_t position) { window_.Reset(position); }

  AckWindow& window() { return window_; }
  // OK, or the first failure recorded.
  Status failure() const;
  void Fail(const Status& status);

 private:
  AckWindow window_;
  std::atomic<bool> failed_{false};  // failure_ is set: lets failure() skip the lock
  mutable std::mutex mu_;
  Status failure_;
};

// A topic of one producer: librdkafka's handle, and the partition a key's messages go to.
class KafkaTopic {
 public:
  using Partitioner = int32_t (*)(const rd_kafka_topic_t*, const void*, size_t, int32_t, void*,
                                  void*);

  rd_kafka_topic_t* handle() const { return handle_; }
  // The partition librdkafka's partitioner gives a message with `key`, by the partition count it
  // last partitioned a message of the topic with. -1 when not known: no message was partitioned
  // yet, or the partitioner does not depend on the key alone ("random").
  int32_t PartitionOf(std::string_view key) const;

 private:
  friend class KafkaProducer;
  // The partitioner callback: `partitioner_`, noting the partition count.
  static int32_t Partition(const rd_kafka_topic_t* rkt, const void* key, size_t key_size,
                           int32_t partitions, void* topic, void* message);

  rd_kafka_topic_t* handle_ = nullptr;
  Partitioner partitioner_ = nullptr;  // null: not a function of the key
  std::atomic<int32_t> partitions_{0};
};

class KafkaProducer {
 public:
  // A producer configured with `properties` (librdkafka's names). `owner` ("tenant/table" for a
  // transactional producer, empty for a shared one) names who was fenced in messages.
  // kInvalidArgument naming a property librdkafka refuses.
  static StatusOr<std::shared_ptr<KafkaProducer>> Create(
      const std::map<std::string, std::string>& properties, std::string owner);
  // Checks `properties` as Create would set them, without starting a producer.
  static Status CheckProperties(const std::map<std::string, std::string>& properties);
  // Gives up on what is still queued or in flight (its trackers see it failed), then stops.
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  rd_kafka_t* handle() const { return rk_; }

  // The topic `name` of this producer (made on first use; it lives as long as the producer).
  // kInvalidArgument when librdkafka refuses the name.
  StatusOr<KafkaTopic*> Topic(const std::string& name);

  // Produces `message` to `topic`, already counted in flight in `tracker`'s window (Sent); blocks
  // while librdkafka's queue is full. On error, the message is counted as failed in `tracker`.
  // Serves the delivery reports that are ready.
  Status Produce(const KafkaTopic& topic, const StreamMessage& message,
                 const std::shared_ptr<DeliveryTracker>& tracker);
  // Serves the delivery reports that are ready.
  void Poll() { rd_kafka_poll(rk_, 0); }
  // Serves delivery reports until at most `max` messages of `tracker` are in flight.
  void WaitInFlightAtMost(DeliveryTracker& tracker, uint64_t max);

  // OK while the producer is usable; else kAborted naming the fatal error ("fenced" for a
  // transactional producer replaced by another with its transactional.id).
  Status FatalStatus() const;
  // The Status of an error returned by a transactional call, `what` naming it.
  Status TransactionStatus(std::string_view what, rd_kafka_error_t* error) const;

 private:
  explicit KafkaProducer(std::string owner) : owner_(std::move(owner)) {}
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  Status DeliveryFailure(const rd_kafka_message_t& message, uint64_t seq) const;

  // Delivery reports are served after every kPollEvery-th message produced.
  static constexpr uint64_t kPollEvery = 256;

  rd_kafka_t* rk_ = nullptr;
  const std::string owner_;
  KafkaTopic::Partitioner partitioner_ = nullptr;  // the "partitioner" property's, if keyed
  std::atomic<uint64_t> produced_{0};
  mutable std::mutex mu_;
  std::string last_error_;  // the last error librdkafka reported (broker down, ...)
  std::map<std::string, std::unique_ptr<KafkaTopic>> topics_;  // guarded by mu_
};

}  // namespace snapdelta

#endif  // SNAPDELTA_PUBLISH_KAFKA_PRODUCER_H_
