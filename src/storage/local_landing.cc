// The local landing folder (landing.h): a walk three folders deep, following only what stays
// inside the folder. Its files are read as local files (local_file.cc).
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "storage/backends.h"

namespace snapdelta {
namespace {

// Folder levels above the files: tenant, table, version.
constexpr size_t kFolderLevels = 3;

enum class EntryKind { kFolder, kFile, kUnusable };

struct Entry {
  std::string name;
  EntryKind kind = EntryKind::kUnusable;
  std::string why;  // for kUnusable
  uint64_t size = 0;
  int64_t mtime_ms = 0;
};

int64_t MtimeMs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

std::string TypeName(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

// The absolute path `path` resolves to (every symlink followed), or "" with errno set.
std::string Resolve(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return "";
  return resolved;
}

// Whether the resolved path `path` lies inside the resolved folder `root`.
bool IsInside(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || (path.starts_with(root) && path[root.size()] == '/');
}

// What the entry `name` of a folder is, following a symlink only when it stays inside `root`.
// Returns false when the entry vanished meanwhile.
bool Examine(const std::string& path, const std::string& root, Entry* entry) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return false;
  if (S_ISLNK(st.st_mode)) {
    std::string target = Resolve(path);
    if (target.empty()) {
      const int resolve_errno = errno;
      char link[PATH_MAX];
      ssize_t length = ::readlink(path.c_str(), link, sizeof(link) - 1);
      std::string shown = length > 0 ? std::string(link, static_cast<size_t>(length)) : "?";
      entry->why = fmt::format("a symlink to {} that leads nowhere ({}); ignored", shown,
                               std::strerror(resolve_errno));
      return true;  // size and mtime 0: the target's arrival is a change
    }
    if (!IsInside(target, root)) {
      entry->why =
          fmt::format("a symlink to {}, outside the landing zone {}; not followed", target, root);
      entry->size = static_cast<uint64_t>(st.st_size);
      entry->mtime_ms = MtimeMs(st);
      return true;
    }
    if (::stat(path.c_str(), &st) != 0) return false;
  }
  entry->size = static_cast<uint64_t>(st.st_size);
  entry->mtime_ms = MtimeMs(st);
  if (S_ISDIR(st.st_mode)) {
    entry->kind = EntryKind::kFolder;
  } else if (S_ISREG(st.st_mode)) {
    entry->kind = EntryKind::kFile;
  } else {
    entry->why = TypeName(st.st_mode) + ", not a regular file; ignored";
  }
  return true;
}

// The entries of `dir` that a landing zone does not ignore by name, sorted by name; nullopt,
// with errno set, when `dir` cannot be opened.
std::optional<std::vector<Entry>> ReadEntries(const std::string& dir, const std::string& root) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return std::nullopt;
  std::vector<Entry> entries;
  while (struct dirent* dirent = ::readdir(handle)) {
    Entry entry;
    entry.name = dirent->d_name;
    if (IsIgnoredLandingName(entry.name)) continue;
    if (Examine(dir + "/" + entry.name, root, &entry)) entries.push_back(std::move(entry));
  }
  ::closedir(handle);
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return entries;
}

// Adds what lies under `dir`, which is `folders.size()` levels below the landing folder (the
// names of those levels are `folders`).
Status Walk(const std::string& dir, const std::string& root, std::vector<std::string>* folders,
            LandingListing* out) {
  std::optional<std::vector<Entry>> entries = ReadEntries(dir, root);
  if (!entries) {
    const int error = errno;
    if (folders->empty()) {  // the landing folder itself
      if (error == ENOENT) return NotFoundError(dir + ": no such folder");
      return ErrnoError("list " + dir, error);
    }
    out->notes.push_back(
        fmt::format("{}: cannot be listed ({}); the exports under it are not "
                    "looked at",
                    dir, std::strerror(error)));
    return Status::OK();
  }
  for (Entry& entry : *entries) {
    std::string path = dir + "/" + entry.name;
    if (folders->size() == kFolderLevels) {
      if (entry.kind == EntryKind::kFolder) continue;
      const std::vector<std::string>& f = *folders;
      out->files.push_back(LandingFile{f[0], f[1], f[2], entry.name, entry.size, entry.mtime_ms,
                                       std::move(path), std::move(entry.why)});
      continue;
    }
    if (entry.kind == EntryKind::kUnusable) {
      out->notes.push_back(path + ": " + entry.why);
      continue;
    }
    if (entry.kind == EntryKind::kFile) continue;  // not at the depth of an export
    folders->push_back(entry.name);
    RETURN_IF_ERROR(Walk(path, root, folders, out));
    folders->pop_back();
  }
  return Status::OK();
}

class LocalLanding : public LandingZone {
 public:
  explicit LocalLanding(std::string dir) : dir_(std::move(dir)) {}

  StatusOr<LandingListing> List() override {
    std::string root = Resolve(dir_);
    if (root.empty()) {
      if (errno == ENOENT) return NotFoundError(dir_ + ": no such folder");
      return ErrnoError("resolve " + dir_, errno);
    }
    LandingListing listing;
    std::vector<std::string> folders;
    RETURN_IF_ERROR(Walk(dir_, root, &folders, &listing));
    return listing;
  }

  StatusOr<std::vector<LandingFile>> ListVersion(const std::string& tenant,
                                                 const std::string& table,
                                                 const std::string& version) override {
    std::string root = Resolve(dir_);
    std::vector<std::string> folders{tenant, table, version};
    LandingListing listing;
    std::string dir = dir_ + "/" + tenant + "/" + table + "/" + version;
    if (!root.empty()) RETURN_IF_ERROR(Walk(dir, root, &folders, &listing));
    return std::move(listing.files);
  }

  std::unique_ptr<StoredFile> Open(const LandingFile& file) override {
    return OpenLocalFile(dir_ + "/" + file.tenant + "/" + file.table + "/" + file.version + "/" +
                         file.file);
  }

  const std::string& url() const override { return dir_; }

 private:
  std::string dir_;
};

}  // namespace

bool IsIgnoredLandingName(const std::string& name) {
  return name.empty() || name[0] == '.' || name.ends_with(".tmp") || name.ends_with(".part");
}

std::optional<LandingFile> LandingFileAt(const std::string& landing_url, const std::string& path) {
  std::string root = landing_url;
  while (!root.empty() && root.back() == '/') root.pop_back();
  if (!path.starts_with(root + "/")) return std::nullopt;
  std::string_view rest = std::string_view(path).substr(root.size() + 1);
  std::vector<std::string> parts;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    parts.emplace_back(rest.substr(0, slash));
    if (IsIgnoredLandingName(parts.back())) return std::nullopt;
    rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
  }
  if (parts.size() != 4) return std::nullopt;
  LandingFile file;
  file.tenant = parts[0];
  file.table = parts[1];
  file.version = parts[2];
  file.file = parts[3];
  file.path = path;
  return file;
}

std::unique_ptr<LandingZone> OpenLocalLanding(const std::string& dir) {
  return std::make_unique<LocalLanding>(dir);
}

}  // namespace snapdelta
