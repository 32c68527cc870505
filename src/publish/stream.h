// Stream: where the publisher sends committed change files (Kafka, Kinesis). The change file is
// the outbox (doc/delivery.md): an import never talks to a stream; the publisher reads its
// committed change file and sends its events, in seq order, through a StreamWriter, and records
// in the registry how far they are acknowledged.
//
// A Stream is opened once per process from the sink URL (OpenStream, sink_url.h) and hands out
// one StreamWriter per table being published. A writer publishes one import at a time:
//   Begin(import) ; SendBatch(messages)* in non-decreasing seq ; Finish() | Abort()
// Acked() may be read at any time between Begin and the end of Finish: every message of every
// seq <= Acked() (of the current import) is acknowledged by the stream (Kafka: the delivery
// report succeeded; Kinesis: its PutRecords entry succeeded), so the publisher may record it as
// published and a resumed publisher may skip it. Acked() never passes a message that failed or
// is still in flight, whatever order the acknowledgements come in.
//
// SendBatch copies what it keeps (the views may go when it returns); it may block while too many
// messages are in flight (bounded memory whatever the import's size), and returns the first
// delivery failure seen so far (the import's publishing stops there; Acked() stays below the failed
// message). Finish waits until every message sent is acknowledged or failed (and, for transactional
// Kafka, commits the transaction); OK means Acked() is the last seq sent. Abort gives up on the
// import: what is in flight may still arrive (non-transactional) or is aborted (transactional
// Kafka).
//
// Order: messages with equal keys are delivered in the order sent (Kafka: same partition,
// idempotent producer, and each partition gets its messages in the order sent; Kinesis: partition
// key = key, and the writer never lets a later message of a key overtake an earlier one that failed
// and is being resent).
//
// Thread safety: a Stream may hand out writers to several threads; one writer is used by one
// thread at a time.
#ifndef SNAPDELTA_PUBLISH_STREAM_H_
#define SNAPDELTA_PUBLISH_STREAM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "snapdelta/change.h"
#include "snapdelta/status.h"

namespace snapdelta {

// One message of an event. A Debezium DELETE with tombstones is two messages of one seq.
struct StreamMessage {
  uint64_t seq = 0;                       // the event's seq (1-based, per import)
  std::string_view id;                    // the event's id: Kafka header "snapdelta-id"
  std::string_view key;                   // the row's key: a JSON object of the key columns
  std::optional<std::string_view> value;  // nullopt: a tombstone (Kafka only)
};

class StreamWriter {
 public:
  StreamWriter() = default;
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;
  virtual ~StreamWriter() = default;

  // Starts publishing `import` (transactional Kafka: begins a transaction). Acked() is reset to
  // `acked`, the position already recorded (messages of seq <= acked are not sent again).
  virtual Status Begin(const ImportIdentity& import, uint64_t acked) = 0;
  // Sends `messages` (in non-decreasing seq, after those sent before).
  virtual Status SendBatch(std::span<const StreamMessage> messages) = 0;
  Status Send(const StreamMessage& message) { return SendBatch({&message, 1}); }
  virtual uint64_t Acked() = 0;
  virtual Status Finish() = 0;
  virtual void Abort() = 0;
};

class Stream {
 public:
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  virtual ~Stream() = default;

  // A writer for the imports of one table; the destination (topic, stream) comes from the
  // sink URL's template.
  virtual StatusOr<std::unique_ptr<StreamWriter>> NewWriter(const std::string& tenant,
                                                            const std::string& table) = 0;
  // "kafka://127.0.0.1:9092/snapdelta.{tenant}.{table}": for messages.
  virtual std::string Describe() const = 0;
};

// The destination of a table: `name_template` with "{tenant}" and "{table}" replaced.
std::string DestinationFor(std::string_view name_template, std::string_view tenant,
                           std::string_view table);

}  // namespace snapdelta

#endif  // SNAPDELTA_PUBLISH_STREAM_H_
