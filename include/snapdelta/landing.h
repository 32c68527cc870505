// LandingZone: where exports arrive, laid out as <tenant>/<table>/<export_version>/<file>.
//
// Implementations: a local folder (OpenLocalLanding); an S3 bucket arrives with a later issue.
// Names starting with '.' and names ending in ".tmp" or ".part" are ignored (uploads in
// progress), as are files at any other depth.
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
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  std::string path;  // where the engine reads it (a local path)

  // "<tenant>/<table>/<version>/<file>"
  std::string Name() const { return tenant + "/" + table + "/" + version + "/" + file; }
};

class LandingZone {
 public:
  LandingZone() = default;
  LandingZone(const LandingZone&) = delete;
  LandingZone& operator=(const LandingZone&) = delete;
  virtual ~LandingZone() = default;

  // Every export file, sorted by (tenant, table, version, file).
  virtual StatusOr<std::vector<LandingFile>> List() = 0;
  // Hex XXH3-128 of the file's bytes.
  virtual StatusOr<std::string> Checksum(const LandingFile& file) = 0;
};

// True for names a landing zone skips: empty, starting with '.', or ending in ".tmp" or ".part".
bool IsIgnoredLandingName(const std::string& name);

// The landing folder `dir`. Errors from List: kNotFound when `dir` does not exist.
std::unique_ptr<LandingZone> OpenLocalLanding(const std::string& dir);

}  // namespace snapdelta

#endif  // SNAPDELTA_LANDING_H_
