// Storage: the seam between the engine and where bytes live. The engine (diff/, pipeline/)
// opens nothing by path: it reads exports and states through StoredFile, writes states through
// ObjectWriter, and finds them through LandingZone (landing.h) and StateStore (here).
//
// Backends are chosen by URL in one place (src/storage/factory.cc): a local folder ("DIR") or an
// S3 bucket ("s3://BUCKET[/PREFIX]"). Nothing else names a concrete backend.
//
// Thread safety: a StoredFile or StateStore may be used from several threads at once; each
// ByteSource or ObjectWriter it hands out is used by one thread.
#ifndef SNAPDELTA_STORAGE_H_
#define SNAPDELTA_STORAGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "snapdelta/source.h"
#include "snapdelta/status.h"

namespace snapdelta {

// One stored file (an export in a landing zone, a state in a state store), opened as often as
// needed: the differ reads an export a second time for error lines, `on_duplicate = "last"`
// and schema drift.
class StoredFile {
 public:
  StoredFile() = default;
  StoredFile(const StoredFile&) = delete;
  StoredFile& operator=(const StoredFile&) = delete;
  virtual ~StoredFile() = default;

  // For messages: the path, or "s3://bucket/key".
  virtual const std::string& name() const = 0;

  // The bytes from `offset` to the end. With `expected_id` (a ContentId), content that is no
  // longer that one is kUnavailable ("changed while it was read"), at the latest when the
  // stream ends: a replaced file is never read as a mix of two. Errors: kNotFound when the file
  // is gone, kIOError or kUnavailable when storage fails.
  virtual StatusOr<std::unique_ptr<ByteSource>> Open(uint64_t offset = 0,
                                                     const std::string& expected_id = "") = 0;

  // The size in bytes. Errors as Open's.
  virtual StatusOr<uint64_t> Size() = 0;

  // What the registry records as the file's checksum: the backend's content id. Hex XXH3-128
  // of the bytes for a local file (read whole); "s3:<size>:<etag>" for an S3 object (never a
  // download). Errors as Open's; kInvalidArgument for a local path that is not a regular file.
  virtual StatusOr<std::string> ContentId() = 0;
};

// Writes one stored object all or nothing: it appears complete on Commit, or not at all.
// Destroying an uncommitted writer abandons what was written.
class ObjectWriter {
 public:
  ObjectWriter() = default;
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;
  virtual ~ObjectWriter() = default;

  // Buffered; errors may surface here or at Commit.
  virtual Status Append(std::string_view data) = 0;
  // Makes the object durable and visible under its name. kAborted when a backend that writes
  // each name once finds the name taken (another writer got there first).
  virtual Status Commit() = 0;
  // For messages.
  virtual const std::string& name() const = 0;
};

// A state kept in a StateStore.
struct StoredState {
  std::string name;     // what the registry records (TableState::state_file)
  std::string version;  // the export version it describes
};

// Where each table's states live: one object per committed version (and those of imports still
// to commit), named by the store. Which one is current is the registry's to say
// (TableState::state_file).
class StateStore {
 public:
  StateStore() = default;
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;
  virtual ~StateStore() = default;

  // For messages: where the table's states are ("<dir>/<tenant>/<table>", "s3://b/p/t/t").
  virtual std::string Location(const std::string& tenant, const std::string& table) const = 0;
  // A writer of a new state of `version`. Its name() is what to record as the state's name
  // once it is committed. A local folder names it "<version>.state" (rewritten atomically by a
  // rerun); S3 gives each writer a new key, written once (If-None-Match), so two writers never
  // overwrite each other's state.
  virtual StatusOr<std::unique_ptr<ObjectWriter>> Create(const std::string& tenant,
                                                         const std::string& table,
                                                         const std::string& version) = 0;
  // The state `name` of the table (it may not exist: Open then fails with kNotFound).
  virtual std::unique_ptr<StoredFile> Open(const std::string& tenant, const std::string& table,
                                           const std::string& name) = 0;
  // Every state of the table, in no particular order. A table with none: empty.
  virtual StatusOr<std::vector<StoredState>> List(const std::string& tenant,
                                                  const std::string& table) = 0;
  // Deletes a state; one already gone is not an error.
  virtual Status Remove(const std::string& tenant, const std::string& table,
                        const std::string& name) = 0;
};

// The local file `path`.
std::unique_ptr<StoredFile> OpenLocalFile(const std::string& path);

// A writer of the local file `path`, through a temp file, fsync and rename (base/fs.h).
StatusOr<std::unique_ptr<ObjectWriter>> CreateLocalFile(const std::string& path);

// The parts of a multi-part export (in order), read as one export named `name`: each part is
// decompressed on its own, and the header line of every part after the first must equal the
// first's (kCorruption naming the part otherwise) and is dropped. Its content id combines the
// parts' names and ids; it is read from offset 0 only.
std::unique_ptr<StoredFile> NewMultiPartFile(std::string name,
                                             std::vector<std::unique_ptr<StoredFile>> parts);

// The state store at `url`: a folder "DIR" (created when missing) or "s3://BUCKET[/PREFIX]".
// kInvalidArgument for a URL of another scheme.
StatusOr<std::unique_ptr<StateStore>> OpenStateStore(const std::string& url);

// A stored file by URL ("s3://bucket/key" or a local path), for `snapdelta diff`.
StatusOr<std::unique_ptr<StoredFile>> OpenStoredFile(const std::string& url);

// kInvalidArgument naming `what` ("landing zone", "state store") when `url` has a scheme other
// than s3:// (a folder has none).
Status CheckStorageUrl(const std::string& url, std::string_view what);

// Whether `url` names an S3 location ("s3://...").
bool IsS3Url(std::string_view url);

}  // namespace snapdelta

#endif  // SNAPDELTA_STORAGE_H_
