#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>

#include "snapdelta/landing.h"

namespace snapdelta {
namespace {

// Bytes read per call while checksumming.
constexpr size_t kChecksumChunk = 1 << 20;

// Names of the entries of `dir` that are folders (want_dirs) or regular files, sorted.
StatusOr<std::vector<std::string>> ListDir(const std::string& dir, bool want_dirs) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT) return NotFoundError(dir + ": no such folder");
    return ErrnoError("list " + dir, errno);
  }
  std::vector<std::string> names;
  while (struct dirent* entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (IsIgnoredLandingName(name)) continue;
    struct stat st;
    if (::stat((dir + "/" + name).c_str(), &st) != 0) continue;
    if (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)) names.push_back(name);
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

class LocalLanding : public LandingZone {
 public:
  explicit LocalLanding(std::string dir) : dir_(std::move(dir)) {}

  StatusOr<std::vector<LandingFile>> List() override {
    std::vector<LandingFile> files;
    ASSIGN_OR_RETURN(std::vector<std::string> tenants, ListDir(dir_, true));
    for (const std::string& tenant : tenants) {
      ASSIGN_OR_RETURN(std::vector<std::string> tables, ListDir(dir_ + "/" + tenant, true));
      for (const std::string& table : tables) {
        std::string table_dir = dir_ + "/" + tenant + "/" + table;
        ASSIGN_OR_RETURN(std::vector<std::string> versions, ListDir(table_dir, true));
        for (const std::string& version : versions) {
          RETURN_IF_ERROR(AddVersion(tenant, table, version, table_dir + "/" + version, &files));
        }
      }
    }
    return files;
  }

  StatusOr<std::string> Checksum(const LandingFile& file) override {
    int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("open " + file.path, errno);
    XXH3_state_t* state = XXH3_createState();
    XXH3_128bits_reset(state);
    std::vector<char> buf(kChecksumChunk);
    Status status;
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = ErrnoError("read " + file.path, errno);
        break;
      }
      if (n == 0) break;
      XXH3_128bits_update(state, buf.data(), static_cast<size_t>(n));
    }
    ::close(fd);
    XXH128_hash_t hash = XXH3_128bits_digest(state);
    XXH3_freeState(state);
    if (!status.ok()) return status;
    return fmt::format("{:016x}{:016x}", hash.high64, hash.low64);
  }

 private:
  Status AddVersion(const std::string& tenant, const std::string& table, const std::string& version,
                    const std::string& version_dir, std::vector<LandingFile>* files) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(version_dir, false));
    for (const std::string& name : names) {
      LandingFile file{tenant, table, version, name, 0, 0, version_dir + "/" + name};
      struct stat st;
      if (::stat(file.path.c_str(), &st) != 0) continue;  // removed meanwhile
      file.size = static_cast<uint64_t>(st.st_size);
      file.mtime_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
      files->push_back(std::move(file));
    }
    return Status::OK();
  }

  std::string dir_;
};

}  // namespace

bool IsIgnoredLandingName(const std::string& name) {
  return name.empty() || name[0] == '.' || name.ends_with(".tmp") || name.ends_with(".part");
}

std::unique_ptr<LandingZone> OpenLocalLanding(const std::string& dir) {
  return std::make_unique<LocalLanding>(dir);
}

}  // namespace snapdelta
