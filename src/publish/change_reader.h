// ChangeReader: the events of one committed change file (<changes>/<tenant>/<table>/<version>
// .jsonl, README "Event format"), read in order, for the publisher.
//
// A background thread reads and checks the file ahead of the caller, a batch of lines at a time
// (the publisher's own thread is the busiest one while publishing: it produces every message).
// Memory is at most three batches of about 1 MiB, and the longest line, whatever the file's size.
//
// Each line is checked as it is read: a JSON object whose "seq" is the previous line's plus one
// (from 1), with an "id" string and a "key" object. Anything else is kCorruption naming the file
// and line: a change file is snapdelta's own output, so a bad one was damaged after the commit.
// The events before a bad line are returned first.
//
// Thread safety: none; one reader per thread.
#ifndef SNAPDELTA_PUBLISH_CHANGE_READER_H_
#define SNAPDELTA_PUBLISH_CHANGE_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/producer_thread.h"
#include "snapdelta/status.h"

namespace snapdelta {

// One event as it stands in the change file. The views are valid until the next NextBatch().
struct ChangeLine {
  uint64_t seq = 0;
  std::string_view id;    // "<tenant>/<table>/<version>/<seq>", unescaped
  std::string_view op;    // "INSERT", "UPDATE", "DELETE"
  std::string_view key;   // the "key" object's JSON text, as written
  std::string_view text;  // the whole line, without its newline
};

class ChangeReader {
 public:
  // kNotFound naming the path when the file does not exist.
  static StatusOr<std::unique_ptr<ChangeReader>> Open(const std::string& path);
  ~ChangeReader();
  ChangeReader(const ChangeReader&) = delete;
  ChangeReader& operator=(const ChangeReader&) = delete;

  // The next events (a batch the background thread read: at most a few thousand, or about
  // 1 MiB), replacing `lines`; false at the end of the file.
  StatusOr<bool> NextBatch(std::vector<ChangeLine>* lines);
  // Events returned so far (the last seq).
  uint64_t events() const { return events_; }
  const std::string& path() const { return path_; }

 private:
  class LineSource;  // the background thread's: reads and checks lines
  struct Batch;
  ChangeReader(std::string path, std::unique_ptr<LineSource> source);

  const std::string path_;
  std::unique_ptr<LineSource> source_;
  std::unique_ptr<ProducerThread<Batch>> batches_;  // after source_: stops before it goes
  Batch* batch_ = nullptr;                          // the batch returned last
  uint64_t events_ = 0;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_PUBLISH_CHANGE_READER_H_
