// The state of a table after an import: a compact sorted index of (key, fingerprint) of every
// row of the export, plus the full rows when before-images are on. The next import reads only
// its new export and this state.
//
// Format (doc/state-file.md has the same grammar):
//   state file := header record* footer
//   header     := magic(8) fixed32(format version = 3) varint(meta length) meta
//                 fixed64(XXH3-64 of meta)
//   meta       := JSON {"tenant":s,"table":s,"version":s,"export_checksum":s,
//                       "columns":[..],"key":[..],"compared":[..],"before_images":bool}
//   record     := varint(key length) key fixed64(fp.low) fixed64(fp.high) [varint(len) row]
//   row        := for each of meta.columns: varint(0) for null | varint(len + 1) bytes
//   footer     := fixed64(record count) fixed64(XXH3-64 of the record bytes) magic(8)
// Magics: "SDSTATE1" (header), "SDSTEND1" (footer). Version 2 is version 3 without the meta's
// identity fields and without the meta checksum: it is still read, with an empty identity.
// Version 1 (zstd-compressed, with a side file of per-column hashes) is refused with a clear
// error. Records are sorted by DigestKey(key) (low, then high); keys are unique. The checksums
// detect bit rot (kCorruption). Records are not compressed: most of their bytes are
// fingerprints.
//
// Identity: a state file names the import it was built by (tenant, table, version and the
// registry's checksum of the export file). A reader given the identity the registry expects
// refuses a file that names another one, so a state file copied over another, or a registry
// pointer edited by hand, is an error instead of a silently wrong diff.
//
// States are written through an ObjectWriter (storage.h): a state appears complete or not at
// all.
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
#include "snapdelta/storage.h"

namespace snapdelta {

// Which committed state a state file is. Empty fields are unknown: a version 2 file has none,
// and a reader expecting an empty field does not check it.
struct StateIdentity {
  std::string tenant;
  std::string table;
  std::string version;          // the export version the state describes
  std::string export_checksum;  // hex XXH3-128 of that export file, as the registry records it

  bool empty() const {
    return tenant.empty() && table.empty() && version.empty() && export_checksum.empty();
  }
  // "acme/orders/v0002 (export checksum 0f3a...)", for messages.
  std::string ToString() const;
};

struct StateMeta {
  std::vector<std::string> columns;   // header of the export the state describes
  std::vector<std::string> key;       // key columns
  std::vector<std::string> compared;  // compared columns, canonical order
  bool before_images = false;
  StateIdentity identity;  // empty when read from a version 2 file
};

class StateWriter {
 public:
  StateWriter();
  ~StateWriter();  // abandons the files unless Commit ran

  // Starts writing the state into `state`; Commit commits it.
  Status Open(std::shared_ptr<ObjectWriter> state, const StateMeta& meta);
  // REQUIRES: keys added in DigestKey order, each once; row is empty unless
  // meta.before_images (encoded as in the grammar).
  Status Add(std::string_view key, const Fingerprint& fp, std::string_view row);
  // Appends the record Add would write to `out`, for AddEncoded. May run on any thread while
  // this writer is used on another (it reads only what Open set).
  void Encode(std::string* out, std::string_view key, const Fingerprint& fp,
              std::string_view row) const;
  // Adds `count` records encoded by Encode, under the same requirements as Add.
  Status AddEncoded(std::string_view records, uint64_t count);
  // Finishes the file and commits it (ObjectWriter::Commit: durable, all or nothing).
  Status Commit();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

class StateReader {
 public:
  StateReader();
  ~StateReader();

  // Opens a state file and reads its header. When `expected` is not empty and the file carries
  // an identity, every non-empty field of `expected` must match the file's: otherwise
  // kCorruption naming both identities and how to recover (`snapdelta rewind`, or restoring the
  // right file). A version 2 file (no identity) is accepted. Errors: kNotFound, kCorruption.
  Status Open(std::shared_ptr<StoredFile> state, const StateIdentity& expected = {});
  const StateMeta& meta() const;
  // The number of records, from the footer.
  uint64_t record_count() const;

  // Reads the next record; *has_record is false at the end (where the footer is checked).
  // Views stay valid until the next call.
  Status Next(bool* has_record, std::string_view* key, Fingerprint* fp, std::string_view* row);

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
