// Differ: computes the INSERT/UPDATE/DELETE events that turn a table's previous export into a
// new one, and the new state of the table.
//
// The previous side is a state file (run), another export (diff) or nothing (a first import:
// every row is an INSERT). The new export is streamed once. Events go to the sink in a
// deterministic order: INSERTs and UPDATEs in the new export's row order, then DELETEs in
// (key hash, key) order, numbered from 1 — so a rerun yields identical events and ids.
//
// With a memory limit, the new export (and an old export) are first spilled to disk in
// partitions by key digest, and the partitions are diffed one at a time; events then come
// partition by partition (each as above), so the order depends on the partition count, which
// depends on the memory limit: a rerun with the same limit yields the same events and ids.
//
// Schema drift keeps one invariant: applying the events to the previous export yields the new
// export, on the new export's columns. A column added makes the rows where it is non-empty
// UPDATEs; a removed (or newly ignored) column is no longer compared: the state's fingerprints
// cover it, so the export the state was built from is read again (previous_export) and compared
// on the remaining columns. Key columns must stay.
//
// Memory: one KeyTable entry per distinct key of both sides plus the key bytes (and, with
// before-images, the rows; in a two-file diff, the old side's value hashes for `changed`):
// exports are never held as text. With a memory limit, the first partition count comes from
// samples of the inputs (memory_plan.h), and a partition whose table outgrows the budget while
// it is diffed is split (its table and the rest of its rows spilled); events of the rows
// already diffed stand. A large field costs its size about once (the CSV reader's buffer), and
// once more in an event. Thread safety: one thread per Differ.
#ifndef SNAPDELTA_DIFF_DIFFER_H_
#define SNAPDELTA_DIFF_DIFFER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "diff/schema.h"
#include "diff/state_file.h"
#include "snapdelta/options.h"
#include "snapdelta/sink.h"
#include "snapdelta/status.h"
#include "snapdelta/storage.h"

namespace snapdelta {

struct PreviousExport {
  enum class Kind { kNone, kState, kExport };
  Kind kind = Kind::kNone;
  std::shared_ptr<StoredFile> file;  // the state or the old export
};

struct DiffRequest {
  PreviousExport previous;
  std::shared_ptr<StoredFile> new_export;
  TableOptions options;
  // Which events reach the sink; stats count all of them. Default: all.
  OpFilter ops;
  // Build the new export's state (committed by CommitState). Default: false.
  bool build_state = false;
  // Where the new state goes (made visible by CommitState). REQUIRES: set when build_state.
  std::shared_ptr<ObjectWriter> state_out;
  // Memory budget in bytes, buffers included: past it (estimated from samples of the inputs,
  // then measured), the rows are spilled to files in spill_dir and diffed one key-digest
  // partition at a time. Default: 0, no limit.
  uint64_t memory_limit = 0;
  // Default: $TMPDIR or /tmp.
  std::string spill_dir;
  // With a kState previous side: the committed state the registry says previous.file holds. A
  // state file that names another one is refused (kCorruption; see StateReader::Open); a
  // version 2 state file names none and is accepted. Default: empty, nothing checked.
  StateIdentity previous_identity;
  // Recorded in the new state (build_state), to be checked by the import that reads it next.
  // Default: empty.
  StateIdentity state_identity;
  // With a kState previous side: the export that state was built from, read again when columns
  // were removed since. It is used only when its checksum equals the one expected
  // (previous_identity.export_checksum, else the one the state file records; a checksum pass
  // over the file first, and the bytes are hashed again as they are read); a replaced or missing
  // file is not used: the removed columns stay in the comparison, and DiffStats::note says so.
  // With no checksum known at all (neither given nor recorded), it is read unverified.
  // Default: none (the removed columns stay in the comparison).
  std::shared_ptr<StoredFile> previous_export;
  // With a kState previous side: the size in bytes of the export that state was built from (the
  // registry's record of it), to size the key table for the new export's growth from the ratio
  // of the two files' sizes. Default: 0, unknown (room is kept for 1/8 more keys).
  uint64_t previous_export_bytes = 0;
  // Diff only the keys in `part` (a task of a partitioned table): rows of the new export and
  // records of the state outside it are passed over; the events, stats and state are those of
  // the part's keys. The parts' states, concatenated in part order, are the whole state; their
  // events are the whole diff's. REQUIRES: a kState or kNone previous side when not whole.
  // Default: the whole key space.
  KeyPart part;
  // Called now and then while the new export is read, with the compressed bytes consumed so
  // far (compare with the file size) and the rows read. Default: none.
  std::function<void(uint64_t bytes_read, uint64_t rows_read)> progress;
};

struct DiffStats {
  uint64_t old_rows = 0;
  uint64_t new_rows = 0;  // distinct keys in the new export
  uint64_t inserts = 0;
  uint64_t updates = 0;
  uint64_t deletes = 0;
  uint64_t duplicates_skipped = 0;  // with on_duplicate first|last
  SchemaChange schema_change;       // columns added or removed since the previous export
  std::string note;                 // how the comparison fell short of the drift rules, if it did
};

class Differ {
 public:
  explicit Differ(DiffRequest request);
  ~Differ();
  Differ(const Differ&) = delete;
  Differ& operator=(const Differ&) = delete;

  // Computes the delta and Puts every event into `sink` (Begin and Finish are the caller's).
  // Errors: bad input (kCorruption, located), drift refused by policy, sink errors, and
  // kResourceExhausted when memory cannot be had (never an exception or an abort).
  Status Run(Sink* sink);

  // Makes the new state written by Run durable and visible (request.state_out's Commit).
  // REQUIRES: Run returned OK, request.build_state. Errors as Run's.
  Status CommitState();

  // The number of key-digest partitions Run used (1: all in memory; after a split, the count
  // of the finest split).
  size_t partitions() const;

  const DiffStats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_DIFFER_H_
