// The state of a table after an import: a compact sorted index of (key, fingerprint) of every
// row of the export, plus the full rows when before-images are on, plus (in a side file) the
// per-column value hashes from which fingerprints over fewer columns can be recomputed after a
// column is removed. The next import reads only its new export and this state.
//
// Format (doc/state-file.md has the same grammar):
//   state file := header zstd-frame(record*) footer
//   colh file  := header zstd-frame(hashes*) footer         (one hashes per record, same order)
//   header     := magic(8) fixed32(format version = 1) varint(meta length) meta
//   meta       := JSON {"columns":[..],"key":[..],"compared":[..],"before_images":bool}
//   record     := varint(key length) key fixed64(fp.low) fixed64(fp.high) [varint(len) row]
//   row        := for each of meta.columns: varint(0) for null | varint(len + 1) bytes
//   hashes     := fixed64 value hash per meta.compared column (kAbsent for empty or null)
//   footer     := fixed64(record count) magic(8)
// Magics: "SDSTATE1" / "SDCOLHS1" (header), "SDSTEND1" (footer). Records are sorted by
// (KeyHash(key), key); keys are unique. The zstd frame carries a content checksum, so bit rot
// is detected (kCorruption).
//
// Files are written through AtomicFile: a state appears complete or not at all.
// Thread safety: one thread per reader or writer.
#ifndef SNAPDELTA_DIFF_STATE_FILE_H_
#define SNAPDELTA_DIFF_STATE_FILE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "diff/fingerprint.h"
#include "snapdelta/status.h"

namespace snapdelta {

struct StateMeta {
  std::vector<std::string> columns;   // header of the export the state describes
  std::vector<std::string> key;       // key columns
  std::vector<std::string> compared;  // compared columns, canonical order
  bool before_images = false;
};

// The side file's path for a state file's path.
std::string ColumnHashPath(const std::string& state_path);

class StateWriter {
 public:
  StateWriter();
  ~StateWriter();  // abandons the files unless Commit ran

  // Starts both files (as temp files).
  Status Open(const std::string& state_path, const StateMeta& meta);
  // REQUIRES: keys added in (KeyHash, key) order, each once; value_hashes has one entry per
  // meta.compared column; row is empty unless meta.before_images (encoded as in the grammar).
  Status Add(std::string_view key, const Fingerprint& fp, std::span<const uint64_t> value_hashes,
             std::string_view row);
  // Finishes, fsyncs and renames both files into place (side file first).
  Status Commit();
  uint64_t record_count() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

class StateReader {
 public:
  StateReader();
  ~StateReader();

  // Opens a state file and reads its header. With `with_hashes`, also opens the side file so
  // Next() returns value hashes. Errors: kNotFound, kCorruption.
  Status Open(const std::string& state_path, bool with_hashes);
  const StateMeta& meta() const;

  // Reads the next record; *has_record is false at the end (where the footer is checked).
  // Views stay valid until the next call. `value_hashes` is empty without with_hashes.
  Status Next(bool* has_record, std::string_view* key, Fingerprint* fp, std::string_view* row,
              std::span<const uint64_t>* value_hashes);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Appends one value to an encoded row (see the grammar).
void AppendRowValue(std::string* row, std::string_view value, bool is_null);
// Splits an encoded row into `count` values. Returns false when malformed.
bool DecodeRow(std::string_view row, size_t count, std::vector<std::string_view>* values,
               std::vector<bool>* nulls);

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_STATE_FILE_H_
