// Multi-part exports: a version folder of several files (part-0000.csv.gz, ...) is one export
// once it holds a marker: an empty _SUCCESS, or a manifest.json listing its files. Its import
// record names the marker as its file; the parts are read in order as one CSV (storage.h,
// NewMultiPartFile), their headers checked equal.
//
// Without a marker, a version of one file is that file's export (as ever), and a version of
// several waits for a marker (ImportState::kWaiting). A table configured with `marker` waits
// for that marker even while it holds one file, so a first part seen alone is never taken for
// the whole export.
#ifndef SNAPDELTA_PIPELINE_MULTIPART_H_
#define SNAPDELTA_PIPELINE_MULTIPART_H_

#include <memory>
#include <string>
#include <vector>

#include "snapdelta/landing.h"
#include "snapdelta/registry.h"
#include "snapdelta/storage.h"

namespace snapdelta {

// Whether `name` is a marker file (_SUCCESS or manifest.json).
bool IsMarkerName(const std::string& name);

// The data files of a version folder read as the export its `marker` completes: with
// manifest.json, the files it lists in its order, each of which must be there, and no others;
// with _SUCCESS, every file but markers (and unusable entries) in name order. kInvalidArgument
// naming the folder and the fix when they do not agree or there is no data file.
StatusOr<std::vector<LandingFile>> ResolveParts(LandingZone* landing,
                                                const std::vector<LandingFile>& version_files,
                                                const std::string& marker);

// The export an import record names: its file, or, for a marker, its version's parts as one.
StatusOr<std::unique_ptr<StoredFile>> OpenImportExport(LandingZone* landing,
                                                       const ImportRecord& record);

// The parts of a version as one export (for discovery, which has the listing at hand).
StatusOr<std::unique_ptr<StoredFile>> OpenParts(LandingZone* landing,
                                                const std::vector<LandingFile>& version_files,
                                                const std::string& marker);

// The files of one version folder, and what they say about its markers.
struct VersionFiles {
  std::vector<LandingFile> files;
  size_t data_files = 0;  // usable files that are not markers
  bool has_success = false;
  bool has_manifest = false;
  // The marker that completes it: `required` (the table's), else the one it holds
  // (manifest.json over _SUCCESS), else "".
  std::string Marker(const std::string& required) const;
  bool Holds(const std::string& marker) const;
};

// A sorted listing's files grouped by version folder, in order.
std::vector<VersionFiles> GroupByVersion(std::vector<LandingFile> files);

// The version's usable files as one landing entry named after `marker`: sizes summed, newest
// mtime, the marker's path.
LandingFile MultiPartEntry(const VersionFiles& version, const std::string& marker);

}  // namespace snapdelta

#endif  // SNAPDELTA_PIPELINE_MULTIPART_H_
