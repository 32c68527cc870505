// AckWindow: how far an import's messages are acknowledged when acknowledgements arrive out of
// order (Kafka delivery reports of several partitions, Kinesis requests in flight at once).
//
// The writer calls Sent(seq) per message (seqs non-decreasing; several messages may share a seq),
// and Acked(seq) or Failed(seq) once per message as its outcome arrives. position() is the
// highest seq whose messages, and all those before, are acknowledged; a failed message stops it
// for good (until Reset). Outcomes beyond the messages sent of a seq (a second Failed of a
// one-message seq, an outcome for a seq never sent) are ignored rather than corrupting the
// in-flight count. Memory: one entry per seq between position() and the last sent.
//
// Thread safety: every method may be called from any thread.
#ifndef SNAPDELTA_PUBLISH_ACK_WINDOW_H_
#define SNAPDELTA_PUBLISH_ACK_WINDOW_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>

namespace snapdelta {

class AckWindow {
 public:
  // Forgets everything: position() is `position`, nothing is in flight.
  void Reset(uint64_t position);
  void Sent(uint64_t seq);
  void Acked(uint64_t seq);
  void Failed(uint64_t seq);

  uint64_t position() const;
  // Messages sent and not yet acknowledged or failed.
  uint64_t in_flight() const;
  bool failed() const;
  // Waits until at most `max_in_flight` messages are in flight (0: until none is).
  void WaitInFlightAtMost(uint64_t max_in_flight);

 private:
  struct Slot {
    uint64_t seq;
    uint32_t pending;  // messages of seq not acknowledged (in flight or failed)
    uint32_t failed;   // of those, the failed ones: they keep the slot (and position) for good
  };
  void Advance();  // REQUIRES: mu_ held

  mutable std::mutex mu_;
  std::condition_variable changed_;
  uint64_t position_ = 0;
  uint64_t in_flight_ = 0;
  bool failed_ = false;
  std::deque<Slot> slots_;  // seqs above position_, in order
};

}  // namespace snapdelta

#endif  // SNAPDELTA_PUBLISH_ACK_WINDOW_H_
