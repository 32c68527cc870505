// LandingZone: where exports arrive, laid out as <tenant>/<table>/<export_version>/<file>.
//
// Implementations: a local folder (OpenLocalLanding); an S3 bucket arrives with a later issue.
// Names starting with '.' and names ending in ".tmp" or ".part" are ignored (uploads in
// progress), as are regular files at any other depth and folders inside a version folder.
//
// What the local folder follows: folders, and symlinks whose target (fully resolved) lies inside
// the landing folder. A symlink that resolves outside it is not followed; neither is a FIFO,
// socket or device, which is never opened (opening a FIFO would block). Such entries are not
// silently dropped: at the file level they are listed with `unusable` set, above it they are
// listed as notes. One folder that cannot be read is a note too, not an error of the listing.
//
// Thread safety: List and Checksum may be called from several threads.
#ifndef SNAPDELTA_LANDING_H_
#define SNAPDELTA_LANDING_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "snapdelta/status.h"

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
  std::string path;  // where the engine reads it (a local path)
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
  // Hex XXH3-128 of the file's bytes. Never blocks: kInvalidArgument when the path is not (or
  // no longer) a regular file; kIOError when it cannot be read.
  virtual StatusOr<std::string> Checksum(const LandingFile& file) = 0;
};

// True for names a landing zone skips: empty, starting with '.', or ending in ".tmp" or ".part".
bool IsIgnoredLandingName(const std::string& name);

// The landing folder `dir`. Errors from List: kNotFound when `dir` does not exist.
std::unique_ptr<LandingZone> OpenLocalLanding(const std::string& dir);

}  // namespace snapdelta

#endif  // SNAPDELTA_LANDING_H_
