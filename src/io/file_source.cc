// OpenFileSource: a ByteSource over a local file, read sequentially with POSIX read(2).
//
// Each Read() is one read(2) of up to the caller's capacity (capped at kMaxReadSize), so the
// caller's buffer size decides the I/O size. EINTR is retried. A directory is rejected at open
// time rather than at the first read.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>

#include "base/env.h"
#include "snapdelta/source.h"
#include "snapdelta/status.h"

namespace snapdelta {
namespace {

// Linux transfers at most 0x7ffff000 bytes per read(2); stay below it.
constexpr size_t kMaxReadSize = size_t{1} << 30;

class FileSource final : public ByteSource {
 public:
  FileSource(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~FileSource() override { Env::Default()->Close(fd_); }

  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    const size_t want = std::min(capacity, kMaxReadSize);
    while (true) {
      const ssize_t n = Env::Default()->Read(fd_, buf, want);
      if (n >= 0) {
        consumed_ += static_cast<uint64_t>(n);
        return static_cast<size_t>(n);
      }
      if (errno != EINTR) return ErrnoError(path_, errno);
    }
  }

  const std::string& name() const override { return path_; }
  uint64_t raw_bytes_consumed() const override { return consumed_; }

 private:
  const std::string path_;
  const int fd_;
  uint64_t consumed_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<ByteSource>> OpenFileSource(const std::string& path, uint64_t offset) {
  int fd;
  do {
    fd = Env::Default()->Open(path.c_str(), O_RDONLY | O_CLOEXEC, 0);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int err = errno;
    Status status = ErrnoError(path, err);
    if (err == ENOENT) return NotFoundError(status.message());
    return status;
  }
  struct stat st;
  int stat_error = ::fstat(fd, &st) != 0 ? errno : 0;
  if (stat_error == 0 && S_ISDIR(st.st_mode)) stat_error = EISDIR;
  if (stat_error != 0) {
    Env::Default()->Close(fd);
    return ErrnoError(path, stat_error);
  }
  if (offset > 0 && ::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    const int err = errno;
    Env::Default()->Close(fd);
    return ErrnoError(path, err);
  }
#ifdef POSIX_FADV_SEQUENTIAL
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  return std::unique_ptr<ByteSource>(std::make_unique<FileSource>(path, fd));
}

}  // namespace snapdelta
