#include "publish/kafka_producer.h"

#include <chrono>
#include <ctime>
#include <utility>

namespace snapdelta {
namespace {

// The message opaque: which import's tracker hears of the message, and its seq. One allocation
// per message (librdkafka allocates several of its own).
struct MessageTag {
  std::shared_ptr<DeliveryTracker> tracker;
  uint64_t seq;
};

bool IsFencedError(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__FENCED || err == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
         err == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

Status SetProperty(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof(error)) !=
      RD_KAFKA_CONF_OK) {
    return InvalidArgumentError("kafka property " + name + "=" + value + ": " + error);
  }
  return Status::OK();
}

// The partitioner function librdkafka uses for the "partitioner" property `name` (its default when
// empty), or null for one that does not depend on the key alone ("random").
KafkaTopic::Partitioner KeyedPartitioner(const std::string& name) {
  static const std::map<std::string, KafkaTopic::Partitioner> kByName = {
      {"", rd_kafka_msg_partitioner_consistent_random},
      {"consistent", rd_kafka_msg_partitioner_consistent},
      {"consistent_random", rd_kafka_msg_partitioner_consistent_random},
      {"murmur2", rd_kafka_msg_partitioner_murmur2},
      {"murmur2_random", rd_kafka_msg_partitioner_murmur2_random},
      {"fnv1a", rd_kafka_msg_partitioner_fnv1a},
      {"fnv1a_random", rd_kafka_msg_partitioner_fnv1a_random},
  };
  auto found = kByName.find(name);
  return found == kByName.end() ? nullptr : found->second;
}

// A conf with `properties`; null with *status set when librdkafka refuses one.
rd_kafka_conf_t* NewConf(const std::map<std::string, std::string>& properties, Status* status) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [name, value] : properties) {
    *status = SetProperty(conf, name, value);
    if (!status->ok()) {
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  return conf;
}

}  // namespace

int32_t KafkaTopic::PartitionOf(std::string_view key) const {
  const int32_t partitions = partitions_.load(std::memory_order_relaxed);
  if (partitioner_ == nullptr || partitions <= 0) return -1;
  return partitioner_(handle_, key.data(), key.size(), partitions, nullptr, nullptr);
}

int32_t KafkaTopic::Partition(const rd_kafka_topic_t* rkt, const void* key, size_t key_size,
                              int32_t partitions, void* topic, void* message) {
  auto* self = static_cast<KafkaTopic*>(topic);
  self->partitions_.store(partitions, std::memory_order_relaxed);
  return self->partitioner_(rkt, key, key_size, partitions, topic, message);
}

Status DeliveryTracker::failure() const {
  if (!failed_.load(std::memory_order_acquire)) return Status::OK();
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

void DeliveryTracker::Fail(const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.ok()) return;
  failure_ = status;
  failed_.store(true, std::memory_order_release);
}

Status KafkaProducer::CheckProperties(const std::map<std::string, std::string>& properties) {
  Status status;
  rd_kafka_conf_t* conf = NewConf(properties, &status);
  if (conf != nullptr) rd_kafka_conf_destroy(conf);
  return status;
}

StatusOr<std::shared_ptr<KafkaProducer>> KafkaProducer::Create(
    const std::map<std::string, std::string>& properties, std::string owner) {
  std::shared_ptr<KafkaProducer> producer(new KafkaProducer(std::move(owner)));
  auto partitioner = properties.find("partitioner");
  producer->partitioner_ =
      KeyedPartitioner(partitioner == properties.end() ? "" : partitioner->second);
  Status status;
  rd_kafka_conf_t* conf = NewConf(properties, &status);
  if (conf == nullptr) return status;
  rd_kafka_conf_set_opaque(conf, producer.get());
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaProducer::OnDelivery);
  rd_kafka_conf_set_error_cb(conf, &KafkaProducer::OnError);
  char error[512];
  // rd_kafka_new takes the conf only when it succeeds.
  producer->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (producer->rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return InvalidArgumentError(std::string("kafka producer: ") + error);
  }
  return producer;
}

KafkaProducer::~KafkaProducer() {
  if (rk_ == nullptr) return;
  // Purged messages get a failed report: serving them frees each tag and tracker.
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (rd_kafka_outq_len(rk_) > 0 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_poll(rk_, 10);
  }
  for (const auto& [name, topic] : topics_) rd_kafka_topic_destroy(topic->handle_);
  rd_kafka_destroy(rk_);
}

StatusOr<KafkaTopic*> KafkaProducer::Topic(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<KafkaTopic>& topic = topics_[name];
  if (topic != nullptr) return topic.get();
  auto made = std::make_unique<KafkaTopic>();
  rd_kafka_topic_conf_t* conf = rd_kafka_default_topic_conf_dup(rk_);
  if (partitioner_ != nullptr) {
    // The same partitioner, noting the partition count for PartitionOf. The topic's handle is
    // the producer's for as long as the producer lives, and with it this opaque.
    made->partitioner_ = partitioner_;
    rd_kafka_topic_conf_set_opaque(conf, made.get());
    rd_kafka_topic_conf_set_partitioner_cb(conf, &KafkaTopic::Partition);
  }
  made->handle_ = rd_kafka_topic_new(rk_, name.c_str(), conf);  // takes conf
  if (made->handle_ == nullptr) {
    topics_.erase(name);
    return InvalidArgumentError("kafka topic " + name + ": " +
                                rd_kafka_err2str(rd_kafka_last_error()));
  }
  topic = std::move(made);
  return topic.get();
}

Status KafkaProducer::Produce(const KafkaTopic& topic, const StreamMessage& message,
                              const std::shared_ptr<DeliveryTracker>& tracker) {
  auto* tag = new MessageTag{tracker, message.seq};
  // A tombstone is a NULL value, not an empty one.
  const void* value = message.value ? message.value->data() : nullptr;
  const size_t value_size = message.value ? message.value->size() : 0;
  // The message's CreateTime from the coarse clock (a read of the kernel's tick, a few
  // milliseconds fine): librdkafka's own gettimeofday per message cost a few percent of the
  // producing thread's time.
  timespec now;
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  const int64_t timestamp_ms = int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000;
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_RKT(topic.handle()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_KEY(message.key.data(), message.key.size()),
        RD_KAFKA_V_VALUE(const_cast<void*>(value), value_size),
        RD_KAFKA_V_HEADER("snapdelta-id", message.id.data(),
                          static_cast<ssize_t>(message.id.size())),
        RD_KAFKA_V_OPAQUE(tag), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Reports are served every kPollEvery messages: a poll per message cost a lock and a
      // queue look each, for reports that mostly arrive a batch at a time.
      if (produced_.fetch_add(1, std::memory_order_relaxed) % kPollEvery == 0) {
        rd_kafka_poll(rk_, 0);
      }
      return Status::OK();
    }
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk_, 10);  // the queue drains as reports are served
      continue;
    }
    delete tag;
    Status status = FatalStatus();
    if (status.ok()) {
      status = UnavailableError("kafka topic " + std::string(rd_kafka_topic_name(topic.handle())) +
                                ": event " + std::string(message.id) + " (seq " +
                                std::to_string(message.seq) +
                                ") not produced: " + rd_kafka_err2str(err));
    }
    tracker->Fail(status);
    tracker->window().Failed(message.seq);
    return status;
  }
}

void KafkaProducer::WaitInFlightAtMost(DeliveryTracker& tracker, uint64_t max) {
  // Another thread may serve this tracker's reports: the wait is in slices.
  while (tracker.window().in_flight() > max) rd_kafka_poll(rk_, 10);
}

void KafkaProducer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* tag = static_cast<MessageTag*>(message->_private);
  if (tag == nullptr) return;
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    tag->tracker->window().Acked(tag->seq);
  } else {
    // The failure first: a writer that sees nothing in flight must see it.
    tag->tracker->Fail(static_cast<KafkaProducer*>(opaque)->DeliveryFailure(*message, tag->seq));
    tag->tracker->window().Failed(tag->seq);
  }
  delete tag;
}

void KafkaProducer::OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaProducer*>(opaque);
  std::lock_guard<std::mutex> lock(self->mu_);
  self->last_error_ =
      std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))) + ": " + reason;
}

Status KafkaProducer::DeliveryFailure(const rd_kafka_message_t& message, uint64_t seq) const {
  std::string id;
  rd_kafka_headers_t* headers = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_message_headers(&message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      rd_kafka_header_get_last(headers, "snapdelta-id", &value, &size) ==
          RD_KAFKA_RESP_ERR_NO_ERROR &&
      value != nullptr) {
    id.assign(static_cast<const char*>(value), size);
  }
  std::string what = "kafka topic " + std::string(rd_kafka_topic_name(message.rkt)) + ": event " +
                     id + " (seq " + std::to_string(seq) +
                     ") not delivered: " + rd_kafka_err2str(message.err);
  Status fatal = FatalStatus();
  if (!fatal.ok()) return AbortedError(what + "; " + fatal.message());
  std::lock_guard<std::mutex> lock(mu_);
  if (!last_error_.empty()) what += " (last error: " + last_error_ + ")";
  return UnavailableError(what);
}

Status KafkaProducer::FatalStatus() const {
  char reason[512];
  rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk_, reason, sizeof(reason));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
  if (IsFencedError(err)) {
    return AbortedError("kafka producer fenced: another publisher of " + owner_ + " took over (" +
                        reason + ")");
  }
  return AbortedError(std::string("kafka producer failed for good: ") + reason);
}

Status KafkaProducer::TransactionStatus(std::string_view what, rd_kafka_error_t* error) const {
  const rd_kafka_resp_err_t err = rd_kafka_error_code(error);
  if (rd_kafka_error_is_fatal(error) || IsFencedError(err)) {
    Status fatal = FatalStatus();
    if (!fatal.ok()) return fatal.WithContext(what);
    if (IsFencedError(err)) {
      return AbortedError(std::string(what) + ": kafka producer fenced: another publisher of " +
                          owner_ + " took over (" + rd_kafka_error_string(error) + ")");
    }
    return AbortedError(std::string(what) + ": " + rd_kafka_error_string(error));
  }
  return UnavailableError(std::string(what) + ": " + rd_kafka_error_string(error));
}

}  // namespace snapdelta
