// LandingZone: where exports arrive, laid out as <tenant>/<table>/<export_version>/<file>.
//
// Implementations: a local folder and an S3 bucket, chosen by URL (OpenLandingZone).
// Names starting with '.' and names ending in ".tmp" or ".part" are ignored (uploads in
// progress), as are regular files at any other depth and folders inside a version folder.
//
// What the local folder follows: folders, and symlinks whose target (fully resolved) lies inside
// the landing folder. A symlink that resolves outside it is not followed; neither is a FIFO,
// socket or device, which is never opened (opening a FIFO would block). Such entries are not
// silently dropped: at the file level they are listed with `unusable` set, above it they are
// listed as notes. One folder that cannot be read is a note too, not an error of the listing.
//
// Thread safety: every method may be called from several threads.
#ifndef SNAPDELTA_LANDING_H_
#define SNAPDELTA_LANDING_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "snapdelta/status.h"
#include "snapdelta/storage.h"

namespace snapdelta {

struct LandingFile {
  std::string tenant;
  std::string table;
  std::string version;
  std::string file;
  // Of the file itself (a symlink's target). For an unusable entry: the symlink's own, or 0 for
  // a symlink that leads nowhere (so its target's arrival is a change).
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  std::string path;  // where it is, for messages and as its identity: a local path or s3:// URL
  // Why the entry cannot be read as an export, e.g. "a FIFO, not a regular file; ignored";
  // empty for an export file.
  std::string unusable;

  // "<tenant>/<table>/<version>/<file>"
  std::string Name() const { return tenant + "/" + table + "/" + version + "/" + file; }
};

struct LandingListing {
  // Every entry at the file level, sorted by (tenant, table, version, file).
  std::vector<LandingFile> files;
  // Entries above the file level that were passed over, each "<path>: <why>" (a FIFO, a symlink
  // leaving the landing zone or leading nowhere, a folder that cannot be read).
  std::vector<std::string> notes;
};

class LandingZone {
 public:
  LandingZone() = default;
  LandingZone(const LandingZone&) = delete;
  LandingZone& operator=(const LandingZone&) = delete;
  virtual ~LandingZone() = default;

  // Lists the landing zone. Errors only for the landing zone itself (kNotFound when it does
  // not exist); a sub-folder that cannot be read is a note.
  virtual StatusOr<LandingListing> List() = 0;
  // The files of one version folder (what List would list there), sorted by name; empty when
  // the folder is gone.
  virtual StatusOr<std::vector<LandingFile>> ListVersion(const std::string& tenant,
                                                         const std::string& table,
                                                         const std::string& version) = 0;
  // The export `file` (of a listing, or rebuilt from a registry record: only tenant, table,
  // version and file are needed), to be read.
  virtual std::unique_ptr<StoredFile> Open(const LandingFile& file) = 0;
  // The file's content id (StoredFile::ContentId): what the registry records as its checksum.
  // Never blocks: kInvalidArgument when a local path is not (or no longer) a regular file;
  // kIOError when it cannot be read.
  virtual StatusOr<std::string> Checksum(const LandingFile& file) {
    return Open(file)->ContentId();
  }
  // For messages: the folder or "s3://bucket/prefix".
  virtual const std::string& url() const = 0;
  // Upload notifications for `paths` (LandingEvents): a landing zone that lists incrementally
  // looks at their tables in its next List. Default: nothing to do.
  virtual void Notify(const std::vector<std::string>& paths) { (void)paths; }
};

// An upload notification: an object created in a landing zone, to be acknowledged once its
// export is registered (an unacknowledged one is delivered again).
struct LandingEvent {
  std::string path;    // "s3://bucket/key", as LandingFile::path
  std::string handle;  // the backend's, for Ack
};

// Upload notifications (S3 event notifications on an SQS queue: the reference pipeline's
// trigger): they start imports early; the landing zone's listing stays the reconciliation.
class LandingEvents {
 public:
  LandingEvents() = default;
  LandingEvents(const LandingEvents&) = delete;
  LandingEvents& operator=(const LandingEvents&) = delete;
  virtual ~LandingEvents() = default;

  // Waits up to `timeout_ms` for notifications of created objects. Notifications that name
  // nothing to import (test events, removals) are acknowledged here and not returned.
  virtual StatusOr<std::vector<LandingEvent>> Wait(int64_t timeout_ms) = 0;
  // Deletes the notification: its export is registered.
  virtual Status Ack(const LandingEvent& event) = 0;
};

// The notifications at `url`: "sqs://HOST/ACCOUNT/QUEUE" (https, or the scheme of
// AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL), or a queue's http(s) URL. kInvalidArgument for
// another scheme or missing AWS settings.
StatusOr<std::unique_ptr<LandingEvents>> OpenLandingEvents(const std::string& url);

// True for names a landing zone skips: empty, starting with '.', or ending in ".tmp" or ".part".
bool IsIgnoredLandingName(const std::string& name);

// The landing file at `path` (a file's path, or an object's "s3://bucket/key") of the landing
// zone at `landing_url`: tenant, table, version, file and path set; nullopt when `path` is not
// at the depth of an export in it, or has a part that is empty or a name landing zones ignore.
std::optional<LandingFile> LandingFileAt(const std::string& landing_url, const std::string& path);

// The landing zone at `url`: a folder "DIR" or "s3://BUCKET[/PREFIX]". Errors: kInvalidArgument
// for a URL of another scheme or S3 settings that are missing; the landing zone itself is not
// looked at until List.
StatusOr<std::unique_ptr<LandingZone>> OpenLandingZone(const std::string& url);

}  // namespace snapdelta

#endif  // SNAPDELTA_LANDING_H_
