// The local backend of storage.h: files read through the Env, written through AtomicFile, and
// a state store that is a folder per table.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "base/env.h"
#include "base/fs.h"
#include "storage/backends.h"

namespace snapdelta {
namespace {

// Bytes read per call while checksumming.
constexpr size_t kChecksumChunk = 1 << 20;
constexpr std::string_view kStateSuffix = ".state";

std::string HexChecksum(const XXH128_hash_t& hash) {
  return fmt::format("{:016x}{:016x}", hash.high64, hash.low64);
}

// The file's bytes passed through unchanged and hashed (XXH3-128) on the way; at the end of the
// stream, kUnavailable when they are not the content expected (the file changed while it was
// read). Every decompressor reads its input to the end (trailing bytes are checked), so the
// check runs before the rows are known to be complete.
class VerifyingSource final : public ByteSource {
 public:
  VerifyingSource(std::unique_ptr<ByteSource> raw, std::string expected)
      : raw_(std::move(raw)), expected_(std::move(expected)), state_(XXH3_createState()) {
    XXH3_128bits_reset(state_);
  }
  ~VerifyingSource() override { XXH3_freeState(state_); }

  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    ASSIGN_OR_RETURN(size_t n, raw_->Read(buf, capacity));
    XXH3_128bits_update(state_, buf, n);
    if (n == 0 && !checked_) {
      checked_ = true;
      std::string actual = HexChecksum(XXH3_128bits_digest(state_));
      if (actual != expected_) {
        return UnavailableError(raw_->name() + ": changed while it was read (checksum " + actual +
                                ", expected " + expected_ + "); nothing was published, run again");
      }
    }
    return n;
  }
  const std::string& name() const override { return raw_->name(); }
  uint64_t raw_bytes_consumed() const override { return raw_->raw_bytes_consumed(); }

 private:
  std::unique_ptr<ByteSource> raw_;
  const std::string expected_;
  XXH3_state_t* state_;
  bool checked_ = false;
};

class LocalFile final : public StoredFile {
 public:
  explicit LocalFile(std::string path) : path_(std::move(path)) {}

  const std::string& name() const override { return path_; }

  StatusOr<std::unique_ptr<ByteSource>> Open(uint64_t offset,
                                             const std::string& expected_id) override {
    ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> raw, OpenFileSource(path_, offset));
    if (expected_id.empty() || offset > 0) return raw;
    return std::unique_ptr<ByteSource>(
        std::make_unique<VerifyingSource>(std::move(raw), expected_id));
  }

  StatusOr<uint64_t> Size() override {
    struct stat st;
    if (::stat(path_.c_str(), &st) != 0) {
      if (errno == ENOENT) return NotFoundError(path_ + ": no such file");
      return ErrnoError("stat " + path_, errno);
    }
    return static_cast<uint64_t>(st.st_size);
  }

  StatusOr<std::string> ContentId() override {
    Env* env = Env::Default();
    // O_NONBLOCK: should the file have been replaced by a FIFO, the open must not wait for a
    // writer. It changes nothing for a regular file.
    int fd = env->Open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd < 0) {
      const int err = errno;
      Status status = ErrnoError("open " + path_, err);
      if (err == ENOENT) return NotFoundError(status.message());
      return status;
    }
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      env->Close(fd);
      return InvalidArgumentError(path_ + ": not a regular file");
    }
    XXH3_state_t* state = XXH3_createState();
    XXH3_128bits_reset(state);
    std::vector<char> buf(kChecksumChunk);
    Status status;
    for (;;) {
      ssize_t n = env->Read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = ErrnoError("read " + path_, errno);
        break;
      }
      if (n == 0) break;
      XXH3_128bits_update(state, buf.data(), static_cast<size_t>(n));
    }
    env->Close(fd);
    XXH128_hash_t hash = XXH3_128bits_digest(state);
    XXH3_freeState(state);
    RETURN_IF_ERROR(status);
    return HexChecksum(hash);
  }

 private:
  const std::string path_;
};

class LocalWriter final : public ObjectWriter {
 public:
  explicit LocalWriter(std::string name) : name_(std::move(name)) {}
  Status Open(const std::string& path) { return file_.Open(path, AtomicFile::Temp::kFencing); }
  Status Append(std::string_view data) override { return file_.Append(data); }
  Status Commit() override { return file_.Commit(); }
  const std::string& name() const override { return name_; }

 private:
  const std::string name_;
  AtomicFile file_;
};

// <dir>/<tenant>/<table>/<version>.state
class LocalStateStore final : public StateStore {
 public:
  explicit LocalStateStore(std::string dir) : dir_(std::move(dir)) {}

  std::string Location(const std::string& tenant, const std::string& table) const override {
    return dir_ + "/" + tenant + "/" + table;
  }

  StatusOr<std::unique_ptr<ObjectWriter>> Create(const std::string& tenant,
                                                 const std::string& table,
                                                 const std::string& version) override {
    std::string name = version + std::string(kStateSuffix);
    auto writer = std::make_unique<LocalWriter>(name);
    RETURN_IF_ERROR(writer->Open(Location(tenant, table) + "/" + name));
    return std::unique_ptr<ObjectWriter>(std::move(writer));
  }

  std::unique_ptr<StoredFile> Open(const std::string& tenant, const std::string& table,
                                   const std::string& name) override {
    return OpenLocalFile(Location(tenant, table) + "/" + name);
  }

  StatusOr<std::vector<StoredState>> List(const std::string& tenant,
                                          const std::string& table) override {
    std::vector<StoredState> states;
    std::error_code error;
    const std::string dir = Location(tenant, table);
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
      std::string name = entry.path().filename().string();
      if (!name.ends_with(kStateSuffix)) continue;
      states.push_back({name, name.substr(0, name.size() - kStateSuffix.size())});
    }
    if (error && error != std::errc::no_such_file_or_directory) {
      return IOError("list " + dir + ": " + error.message());
    }
    return states;
  }

  Status Remove(const std::string& tenant, const std::string& table,
                const std::string& name) override {
    return RemoveFile(Location(tenant, table) + "/" + name);
  }

 private:
  const std::string dir_;
};

}  // namespace

std::unique_ptr<StoredFile> OpenLocalFile(const std::string& path) {
  return std::make_unique<LocalFile>(path);
}

StatusOr<std::unique_ptr<ObjectWriter>> CreateLocalFile(const std::string& path) {
  auto writer = std::make_unique<LocalWriter>(path);
  RETURN_IF_ERROR(writer->Open(path));
  return std::unique_ptr<ObjectWriter>(std::move(writer));
}

std::unique_ptr<StateStore> OpenLocalStateStore(const std::string& dir) {
  return std::make_unique<LocalStateStore>(dir);
}

}  // namespace snapdelta
