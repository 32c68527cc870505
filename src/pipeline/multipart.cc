#include "pipeline/multipart.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "snapdelta/options.h"
#include "storage/small_file.h"

namespace snapdelta {
namespace {

// A manifest larger than this is not one.
constexpr size_t kMaxManifestBytes = 4 << 20;

std::string VersionName(LandingZone* landing, const LandingFile& file) {
  return landing->url() + "/" + file.tenant + "/" + file.table + "/" + file.version;
}

StatusOr<std::string> ReadManifest(LandingZone* landing, const LandingFile& manifest) {
  std::unique_ptr<StoredFile> file = landing->Open(manifest);
  return ReadSmallFile(file.get(), kMaxManifestBytes, "a manifest");
}

// The file names a manifest lists: ["a", "b"] or {"files": ["a", "b"]}.
StatusOr<std::vector<std::string>> ParseManifest(const std::string& text, const std::string& name) {
  const std::string expected =
      ": a manifest lists the export's files, as {\"files\": [\"part-0000.csv.gz\", ...]} or as "
      "a JSON array of names";
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgumentError(name + ": not JSON" + expected);
  if (json.is_object() && json.contains("files")) json = json["files"];
  if (!json.is_array() || json.empty()) return InvalidArgumentError(name + expected);
  std::vector<std::string> files;
  for (const auto& item : json) {
    if (!item.is_string()) return InvalidArgumentError(name + expected);
    std::string file = item.get<std::string>();
    files.push_back(file.substr(file.find_last_of('/') + 1));  // a path: its last part
  }
  return files;
}

}  // namespace

bool IsMarkerName(const std::string& name) {
  return name == kSuccessMarker || name == kManifestMarker;
}

StatusOr<std::vector<LandingFile>> ResolveParts(LandingZone* landing,
                                                const std::vector<LandingFile>& version_files,
                                                const std::string& marker) {
  std::vector<LandingFile> data;
  const LandingFile* manifest = nullptr;
  for (const LandingFile& file : version_files) {
    if (!file.unusable.empty()) continue;
    if (file.file == kManifestMarker) manifest = &file;
    if (!IsMarkerName(file.file)) data.push_back(file);
  }
  if (version_files.empty()) return NotFoundError("the version folder is gone");
  const std::string folder = VersionName(landing, version_files.front());
  if (marker == kManifestMarker) {
    if (manifest == nullptr) return NotFoundError(folder + ": " + marker + " is gone");
    ASSIGN_OR_RETURN(std::string text, ReadManifest(landing, *manifest));
    ASSIGN_OR_RETURN(std::vector<std::string> listed,
                     ParseManifest(text, folder + "/" + kManifestMarker));
    std::vector<LandingFile> parts;
    std::set<std::string> seen;
    for (const std::string& name : listed) {
      auto it = std::find_if(data.begin(), data.end(),
                             [&](const LandingFile& file) { return file.file == name; });
      if (it == data.end()) {
        return InvalidArgumentError(folder + "/" + kManifestMarker + " lists " + name +
                                    ", which is not in the folder: upload it, or fix the manifest");
      }
      if (seen.insert(name).second) parts.push_back(*it);
    }
    for (const LandingFile& file : data) {
      if (!seen.contains(file.file)) {
        return InvalidArgumentError(folder + " holds " + file.file + ", which " + kManifestMarker +
                                    " does not list: list it, or move it away");
      }
    }
    return parts;
  }
  if (data.empty()) {
    return InvalidArgumentError(folder + " holds " + marker + " but no export file");
  }
  return data;  // listings are sorted by name
}

StatusOr<std::unique_ptr<StoredFile>> OpenParts(LandingZone* landing,
                                                const std::vector<LandingFile>& version_files,
                                                const std::string& marker) {
  ASSIGN_OR_RETURN(std::vector<LandingFile> parts, ResolveParts(landing, version_files, marker));
  std::vector<std::unique_ptr<StoredFile>> files;
  for (const LandingFile& part : parts) files.push_back(landing->Open(part));
  std::string name = VersionName(landing, parts.front()) + " (" + std::to_string(parts.size()) +
                     (parts.size() == 1 ? " part)" : " parts)");
  return NewMultiPartFile(std::move(name), std::move(files));
}

std::string VersionFiles::Marker(const std::string& required) const {
  if (!required.empty()) return required;
  return has_manifest ? kManifestMarker : has_success ? kSuccessMarker : "";
}

bool VersionFiles::Holds(const std::string& marker) const {
  return marker == kManifestMarker ? has_manifest : marker == kSuccessMarker && has_success;
}

std::vector<VersionFiles> GroupByVersion(std::vector<LandingFile> files) {
  std::vector<VersionFiles> versions;
  for (LandingFile& file : files) {
    if (versions.empty() || versions.back().files.front().tenant != file.tenant ||
        versions.back().files.front().table != file.table ||
        versions.back().files.front().version != file.version) {
      versions.emplace_back();
    }
    VersionFiles& version = versions.back();
    if (file.unusable.empty()) {
      version.has_manifest |= file.file == kManifestMarker;
      version.has_success |= file.file == kSuccessMarker;
      version.data_files += !IsMarkerName(file.file);
    }
    version.files.push_back(std::move(file));
  }
  return versions;
}

LandingFile MultiPartEntry(const VersionFiles& version, const std::string& marker) {
  LandingFile entry = version.files.front();
  entry.file = marker;
  entry.size = 0;
  entry.mtime_ms = 0;
  entry.unusable.clear();
  for (const LandingFile& file : version.files) {
    if (!file.unusable.empty()) continue;
    entry.size += file.size;
    entry.mtime_ms = std::max(entry.mtime_ms, file.mtime_ms);
  }
  entry.path = entry.path.substr(0, entry.path.find_last_of('/') + 1) + marker;
  return entry;
}

StatusOr<std::unique_ptr<StoredFile>> OpenImportExport(LandingZone* landing,
                                                       const ImportRecord& record) {
  LandingFile file;
  file.tenant = record.tenant;
  file.table = record.table;
  file.version = record.version;
  file.file = record.file;
  file.size = record.size;
  file.mtime_ms = record.mtime_ms;
  if (!IsMarkerName(record.file)) return landing->Open(file);
  ASSIGN_OR_RETURN(std::vector<LandingFile> files,
                   landing->ListVersion(record.tenant, record.table, record.version));
  return OpenParts(landing, files, record.file);
}

}  // namespace snapdelta
