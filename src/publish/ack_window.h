// AckWindow: how far an import's messages are acknowledged when acknowledgements arrive out of
// order (Kafka delivery reports of several partitions, Kinesis requests in flight at once).
//
// The writer calls Sent(seq) per message (seqs non-decreasing; several messages may share a seq),
// and Acked(seq) or Failed(seq) once per message as its outcome arrives. position() is the
// highest seq whose messages, and all those before, are acknowledged; a failed message stops it
// for good (until Reset). It never moves backwards. An outcome for a seq with no message in
// flight is ignored. Memory: one entry per seq between position() and the last sent.
//
// Reset does not know the messages sent before it: their outcomes, if they still arrive, would
// count for the new messages of the same seqs. Give each import its own window (or Reset only
// when nothing is in flight).
//
// Thread safety: every method may be called from any thread.
#ifndef SNAPDELTA_PUBLISH_ACK_WINDOW_H_
#define SNAPDELTA_PUBLISH_ACK_WINDOW_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

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
    uint32_t pending;     // messages of seq still in flight
    bool failed = false;  // one of them failed: the position stops before this seq
  };
  void Advance();  // REQUIRES: mu_ held
  // The first slot of seq >= `seq`. REQUIRES: mu_ held
  std::vector<Slot>::iterator Find(uint64_t seq);

  mutable std::mutex mu_;
  std::condition_variable changed_;
  uint64_t position_ = 0;
  // Changed under mu_, read without it: a writer checks it before every message it sends.
  std::atomic<uint64_t> in_flight_{0};
  bool failed_ = false;
  // The seqs above position_, in order: slots_[head_, end). A vector whose front is dropped by
  // moving head_ (and compacted now and then) rather than a deque, which allocated and freed a
  // node every 32 seqs: a few percent of the Kafka writer's time under glibc's malloc.
  std::vector<Slot> slots_;
  size_t head_ = 0;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_PUBLISH_ACK_WINDOW_H_
