// Sink: where the events of an import go while it runs: the change file (the outbox; the
// publisher, publish/publisher.h, sends committed change files on to Kafka or Kinesis).
//
// Lifecycle, one import at a time: Begin, then Put once per event in sequence order, then
// Finish. Finish returns only when every event is durably accepted (for change files: written,
// fsynced and renamed into place). The table's state is committed only after Finish returns OK,
// so a crash before that makes the import run again and Put the same events with the same ids:
// a sink must tolerate that replay (the change file is simply written again).
// On any error, or when the import fails for another reason, the caller calls Abort instead of
// Finish, and nothing of the import may stay visible (not even the output of an earlier,
// uncommitted attempt).
//
// Thread safety: one import per Sink object at a time; use one Sink per worker.
#ifndef SNAPDELTA_SINK_H_
#define SNAPDELTA_SINK_H_

#include <cstdio>
#include <memory>
#include <string>

#include "snapdelta/change.h"
#include "snapdelta/status.h"
#include "snapdelta/storage.h"

namespace snapdelta {

class Sink {
 public:
  Sink() = default;
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  virtual ~Sink() = default;

  virtual Status Begin(const ImportIdentity& import) = 0;
  virtual Status Put(const ChangeEvent& event) = 0;
  // Puts an event already formatted as a change-file line (AppendEventJson, ending in '\n'),
  // with the seq it has in this import: the events of a partitioned import, assembled from its
  // parts. A sink that cannot take formatted events: kInvalidArgument.
  virtual Status PutEventLine(std::string_view line);
  virtual Status Finish() = 0;
  virtual void Abort() = 0;
  // Like Abort, but leaves alone what is under the final name: for a worker that lost its
  // lease, whose import another worker may have taken over and committed meanwhile.
  virtual void Abandon() { Abort(); }
};

// Change files under `dir`: <dir>/<tenant>/<table>/<version>.jsonl, one JSON object per event.
std::unique_ptr<Sink> NewChangeFileSink(const std::string& dir);
// Where NewChangeFileSink(dir) writes the events of `import` (and the publisher reads them).
std::string ChangeFilePath(const std::string& dir, const ImportIdentity& import);

// JSON Lines into one stored object (`out`, committed by Finish, abandoned by Abort): the
// events of one part of a partitioned import, kept in the state store until it commits.
std::unique_ptr<Sink> NewObjectSink(std::unique_ptr<ObjectWriter> out);

// JSON Lines written atomically (temp file, fsync, rename) to `path`; used by `diff --output`.
std::unique_ptr<Sink> NewJsonFileSink(const std::string& path);

// JSON Lines to an already open stream (stdout or a file given by the caller); Finish flushes.
// Used by `snapdelta diff`. Does not own `out` when it is stdout.
std::unique_ptr<Sink> NewJsonLinesSink(std::FILE* out, bool owns_file);

// A Sink that accepts every event and keeps none (the dry run's, and `diff --stats-only`).
std::unique_ptr<Sink> NewDiscardSink();

}  // namespace snapdelta

#endif  // SNAPDELTA_SINK_H_
