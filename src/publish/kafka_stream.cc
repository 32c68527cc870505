// The Kafka stream: a topic per table (the sink URL's template), each event a message whose key
// is the row's key (so a row's events stay in one partition, in order), whose value is the event
// or NULL (a tombstone), with the event's id in the header "snapdelta-id".
//
// Producers are idempotent (acks=all, enable.idempotence): librdkafka's retries neither lose,
// duplicate nor reorder messages of a partition. The partitioner is murmur2_random, the Java
// client's, so a key lands in the partition Java producers and Kafka Streams would pick.
//
// Non-transactional: the Stream has one producer, shared by the writers of all its tables (they
// publish in parallel through it). Writers serve delivery reports as they send and wait, each
// report going to its own writer's import whichever writer serves it (kafka_producer.h).
// Acked() follows the reports served; Finish waits until the writer's own messages are all
// reported (not for other tables' messages).
//
// Transactional: each writer has its own producer, with transactional.id
// "snapdelta.<tenant>.<table>". That id is the same in every process, so a publisher that
// starts (NewWriter: init_transactions) fences a previous one still running and aborts the
// transaction it left open. An import is one transaction: Begin begins it, Finish commits it
// (and only then is Acked() the last seq; until then it stays at Begin's position), Abort aborts
// it. A fenced writer reports kAborted "fenced: another publisher of tenant/table took over";
// any fatal error leaves the writer unusable (make a new one to go on).
//
// Batches: a writer produces a batch of messages grouped by the partition librdkafka's
// partitioner will give each (KafkaTopic::PartitionOf), keeping their order within a partition:
// a partition receives exactly the order it would have otherwise, and librdkafka works on one
// partition queue at a time (kcat sending the same keyed lines grouped so took about 20% less
// time). Before the topic's partition count is known, a batch goes in the order given.
//
// In-flight bound: a writer has at most kMaxInFlight messages without a report, and librdkafka's
// queue is bounded (queue.buffering.max.*): memory stays bounded whatever an import's size.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "publish/kafka_producer.h"
#include "publish/sink_url.h"

namespace snapdelta {
namespace {

constexpr uint64_t kMaxInFlight = 100'000;
// A commit, abort or init_transactions that keeps failing with retriable errors gives up after
// this many attempts (each waits up to the remaining transaction time or message.timeout.ms).
constexpr int kTransactionAttempts = 3;
constexpr int kDestructorAbortMs = 5000;

std::string JoinBrokers(const std::vector<std::string>& brokers) {
  std::string out;
  for (const std::string& broker : brokers) out += (out.empty() ? "" : ",") + broker;
  return out;
}

// snapdelta's defaults, with the sink's properties over them.
std::map<std::string, std::string> ProducerProperties(const SinkSettings& settings) {
  std::map<std::string, std::string> properties = {
      {"bootstrap.servers", JoinBrokers(settings.brokers)},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"partitioner", "murmur2_random"},
      {"compression.type", "lz4"},
      // Throughput: batches of up to 1 MB, filled for up to 10 ms; a queue deep enough for
      // several tables at once, bounded at 256 MB.
      {"linger.ms", "10"},
      {"batch.size", "1000000"},
      {"batch.num.messages", "100000"},
      {"queue.buffering.max.messages", "1000000"},
      {"queue.buffering.max.kbytes", "262144"},
      // librdkafka retries a message until then. A dead cluster fails the import within a
      // couple of minutes: with the idempotent producer, the failure was seen 2-3 times this
      // long after the brokers went down (the mock cluster, 1 to 3 s timeouts).
      {"message.timeout.ms", "60000"},
  };
  if (settings.transactional) {
    // Room for a large import: the broker aborts a transaction left open longer than this.
    properties["transaction.timeout.ms"] = "300000";
  }
  for (const auto& [name, value] : settings.kafka_properties) properties[name] = value;
  // librdkafka wants message.timeout.ms <= transaction.timeout.ms.
  if (settings.transactional && settings.kafka_properties.count("transaction.timeout.ms") &&
      !settings.kafka_properties.count("message.timeout.ms")) {
    const long txn = std::atol(properties["transaction.timeout.ms"].c_str());
    if (txn > 0 && txn < 60000) properties["message.timeout.ms"] = std::to_string(txn);
  }
  return properties;
}

// Retries a transactional call while librdkafka says it may be retried.
template <typename Call>
Status TransactionCall(const KafkaProducer& producer, std::string_view what, Call call) {
  for (int attempt = 1;; ++attempt) {
    rd_kafka_error_t* error = call();
    if (error == nullptr) return Status::OK();
    const bool retry = rd_kafka_error_is_retriable(error) && attempt < kTransactionAttempts;
    Status status = producer.TransactionStatus(what, error);
    rd_kafka_error_destroy(error);
    if (!retry) return status;
  }
}

// The producer of a writer: the stream's shared one, or a new transactional one.
using ProducerSource = std::function<StatusOr<std::shared_ptr<KafkaProducer>>()>;

class KafkaWriter : public StreamWriter {
 public:
  KafkaWriter(ProducerSource source, std::string topic, bool transactional)
      : source_(std::move(source)), topic_name_(std::move(topic)), transactional_(transactional) {}

  ~KafkaWriter() override {
    // An open transaction is aborted, but not for longer than a few seconds (a dead cluster
    // would hold it for the rest of the transaction's time): the next producer of the table
    // aborts it otherwise.
    if (open_ && transactional_) AbortTransaction(kDestructorAbortMs);
    Detach();
  }

  // Gets a producer from the source, and the topic in it.
  Status Attach() {
    ASSIGN_OR_RETURN(std::shared_ptr<KafkaProducer> producer, source_());
    RETURN_IF_ERROR(producer->FatalStatus());
    ASSIGN_OR_RETURN(topic_, producer->Topic(topic_name_));
    producer_ = std::move(producer);
    return Status::OK();
  }

  Status Begin(const ImportIdentity& import, uint64_t acked) override {
    if (open_) Abort();  // the previous import was left unfinished
    RETURN_IF_ERROR(producer_->FatalStatus());
    if (replace_producer_) {
      // librdkafka 2.0.2 can start the transaction after one aborted for a failed message with
      // stale sequence numbers ("skipped sequence numbers"), failing it too: a new producer
      // (init_transactions again) starts clean.
      RETURN_IF_ERROR(Attach());
      replace_producer_ = false;
    }
    tracker_ = std::make_shared<DeliveryTracker>(acked);
    committed_.store(acked);
    last_sent_ = acked;
    import_ = import;
    if (transactional_) {
      RETURN_IF_ERROR(TransactionCall(*producer_, Describe("begin transaction"),
                                      [&] { return rd_kafka_begin_transaction(rk()); }));
    }
    open_ = true;
    return Status::OK();
  }

  Status SendBatch(std::span<const StreamMessage> messages) override {
    if (!open_) return InvalidArgumentError("kafka: Send without Begin");
    if (messages.empty()) return Status::OK();
    RETURN_IF_ERROR(tracker_->failure());
    producer_->WaitInFlightAtMost(*tracker_,
                                  kMaxInFlight - std::min(kMaxInFlight, uint64_t{messages.size()}));
    for (const StreamMessage& message : messages) tracker_->window().Sent(message.seq);
    GroupByPartition(messages);
    for (size_t i = 0; i < order_.size(); ++i) {
      Status status = producer_->Produce(*topic_, messages[order_[i]], tracker_);
      if (!status.ok()) {
        // The messages not produced count as failed too: nothing of this batch is in flight.
        for (size_t j = i + 1; j < order_.size(); ++j) {
          tracker_->window().Failed(messages[order_[j]].seq);
        }
        return status;
      }
    }
    last_sent_ = messages.back().seq;
    return Status::OK();
  }

  uint64_t Acked() override {
    if (transactional_ || tracker_ == nullptr) return committed_.load();
    producer_->Poll();  // the reports that arrived since the last Send
    return tracker_->window().position();
  }

  Status Finish() override {
    if (!open_) return InvalidArgumentError("kafka: Finish without Begin");
    open_ = false;
    if (!transactional_) {
      producer_->WaitInFlightAtMost(*tracker_, 0);
      return tracker_->failure();
    }
    // commit_transaction flushes: every message is reported when it returns.
    Status status = TransactionCall(*producer_, Describe("commit transaction"),
                                    [&] { return rd_kafka_commit_transaction(rk(), -1); });
    if (status.ok()) {
      producer_->WaitInFlightAtMost(*tracker_, 0);
      committed_.store(last_sent_);
      return Status::OK();
    }
    if (status.code() != StatusCode::kAborted) {
      // Abortable (a message failed, the coordinator gave up...) or retried in vain: abort, so
      // the next Begin starts clean. The first delivery failure says best what went wrong.
      AbortTransaction();
      Status failure = tracker_->failure();
      if (!failure.ok()) return failure.WithContext(Describe("transaction aborted"));
    }
    return status;
  }

  void Abort() override {
    if (!open_) return;
    open_ = false;
    // Non-transactional: what is in flight still arrives, and goes to this import's tracker.
    if (transactional_) AbortTransaction();
  }

 private:
  rd_kafka_t* rk() const { return producer_->handle(); }

  std::string Describe(std::string_view what) const {
    return "kafka topic " + topic_name_ + ", import " + import_.tenant + "/" + import_.table + "@" +
           import_.version + ": " + std::string(what);
  }

  void Detach() {
    topic_ = nullptr;
    producer_.reset();
  }

  // order_: the places of `messages` grouped by the partition each goes to, in their order
  // within a partition (so the partition gets them in seq order, as one after the other). In
  // the order given when the partitions are not known yet.
  void GroupByPartition(std::span<const StreamMessage> messages) {
    order_.resize(messages.size());
    partition_of_.resize(messages.size());
    int32_t partitions = 0;
    for (size_t i = 0; i < messages.size(); ++i) {
      const int32_t partition = topic_->PartitionOf(messages[i].key);
      if (partition < 0) {
        partitions = 0;
        break;
      }
      partition_of_[i] = partition;
      partitions = std::max(partitions, partition + 1);
    }
    if (partitions <= 1) {
      for (size_t i = 0; i < messages.size(); ++i) order_[i] = static_cast<uint32_t>(i);
      return;
    }
    // A counting sort: starts_[p] is where partition p's messages begin in order_.
    starts_.assign(static_cast<size_t>(partitions) + 1, 0);
    for (int32_t partition : partition_of_) ++starts_[static_cast<size_t>(partition) + 1];
    for (size_t p = 1; p < starts_.size(); ++p) starts_[p] += starts_[p - 1];
    for (size_t i = 0; i < messages.size(); ++i) {
      order_[starts_[static_cast<size_t>(partition_of_[i])]++] = static_cast<uint32_t>(i);
    }
  }

  // -1: the rest of the transaction's time, as librdkafka recommends.
  void AbortTransaction(int timeout_ms = -1) {
    if (!producer_->FatalStatus().ok()) return;  // nothing can be aborted: the broker will
    Status aborted = TransactionCall(*producer_, Describe("abort transaction"),
                                     [&] { return rd_kafka_abort_transaction(rk(), timeout_ms); });
    // A transaction that could not be aborted times out on the broker, or the next producer of
    // the table (init_transactions) aborts it.
    if (!aborted.ok() || !tracker_->failure().ok()) replace_producer_ = true;
  }

  const ProducerSource source_;
  const std::string topic_name_;
  const bool transactional_;
  std::shared_ptr<KafkaProducer> producer_;
  KafkaTopic* topic_ = nullptr;    // producer_'s
  bool replace_producer_ = false;  // transactional: the last import failed
  ImportIdentity import_;
  std::shared_ptr<DeliveryTracker> tracker_;  // the current import's
  bool open_ = false;                         // between Begin and Finish/Abort
  uint64_t last_sent_ = 0;
  std::atomic<uint64_t> committed_{0};  // Acked() of a transactional writer
  // GroupByPartition's: the order to produce a batch in, and the scratch it is made with.
  std::vector<uint32_t> order_;
  std::vector<int32_t> partition_of_;
  std::vector<size_t> starts_;
};

class KafkaStream : public Stream {
 public:
  KafkaStream(SinkSettings settings, std::map<std::string, std::string> properties,
              std::shared_ptr<KafkaProducer> shared)
      : settings_(std::move(settings)),
        properties_(std::move(properties)),
        shared_(std::move(shared)) {}

  StatusOr<std::unique_ptr<StreamWriter>> NewWriter(const std::string& tenant,
                                                    const std::string& table) override {
    ProducerSource source = [shared = shared_] { return shared; };
    if (settings_.transactional) {
      std::map<std::string, std::string> properties = properties_;
      properties["transactional.id"] = "snapdelta." + tenant + "." + table;
      source = [properties, owner = tenant + "/" + table] {
        return NewTransactionalProducer(properties, owner);
      };
    }
    auto writer = std::make_unique<KafkaWriter>(
        std::move(source), DestinationFor(settings_.destination, tenant, table),
        settings_.transactional);
    RETURN_IF_ERROR(writer->Attach());
    return std::unique_ptr<StreamWriter>(std::move(writer));
  }

  std::string Describe() const override {
    return "kafka://" + JoinBrokers(settings_.brokers) + "/" + settings_.destination;
  }

 private:
  // init_transactions fences an earlier producer of the table and aborts its open transaction.
  static StatusOr<std::shared_ptr<KafkaProducer>> NewTransactionalProducer(
      const std::map<std::string, std::string>& properties, const std::string& owner) {
    ASSIGN_OR_RETURN(std::shared_ptr<KafkaProducer> producer,
                     KafkaProducer::Create(properties, owner));
    const int timeout_ms = std::atoi(properties.at("message.timeout.ms").c_str());
    RETURN_IF_ERROR(TransactionCall(*producer, "kafka: init transactions of " + owner, [&] {
      return rd_kafka_init_transactions(producer->handle(), timeout_ms);
    }));
    return producer;
  }

  const SinkSettings settings_;
  const std::map<std::string, std::string> properties_;
  const std::shared_ptr<KafkaProducer> shared_;  // non-transactional: every writer's
};

}  // namespace

StatusOr<std::unique_ptr<Stream>> NewKafkaStream(const SinkSettings& settings) {
  if (settings.brokers.empty()) return InvalidArgumentError("kafka: no broker given");
  if (settings.kafka_properties.count("transactional.id")) {
    return InvalidArgumentError(
        "kafka property transactional.id: set per table by snapdelta; use transactional=true");
  }
  std::map<std::string, std::string> properties = ProducerProperties(settings);
  std::shared_ptr<KafkaProducer> shared;
  if (settings.transactional) {
    RETURN_IF_ERROR(KafkaProducer::CheckProperties(properties));
  } else {
    ASSIGN_OR_RETURN(shared, KafkaProducer::Create(properties, ""));
  }
  return std::unique_ptr<Stream>(new KafkaStream(settings, std::move(properties), shared));
}

}  // namespace snapdelta
