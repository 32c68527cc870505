#include "base/fs.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "base/env.h"

namespace snapdelta {
namespace {

// Appends are buffered up to this size before a write(2): large enough to amortize syscalls.
constexpr size_t kWriteBufferBytes = 1 << 20;
// Written bytes are handed to the disk (sync_file_range, without waiting) every this many, so
// that the fsync of Commit waits for the last few megabytes, not for the whole file: a 1M-row
// import's change file and state (55 MB) took 80 ms of fsync after the diff, on one core.
constexpr uint64_t kWritebackBytes = 8 << 20;

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = Env::Default()->Write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write " + path, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::OK();
}

}  // namespace

Status MakeDirs(const std::string& path) {
  if (path.empty()) return Status::OK();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::OK();
    return IOError(path + ": exists and is not a folder");
  }
  std::string parent = DirName(path);
  if (parent != path && parent != "." && parent != "/") RETURN_IF_ERROR(MakeDirs(parent));
  if (Env::Default()->Mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError("mkdir " + path, errno);
  }
  return Status::OK();
}

Status SyncDir(const std::string& path) {
  Env* env = Env::Default();
  int fd = env->Open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("open folder " + path, errno);
  int rc = env->Fsync(fd);
  int err = errno;
  env->Close(fd);
  if (rc != 0) return ErrnoError("fsync folder " + path, err);
  return Status::OK();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status RemoveFile(const std::string& path) {
  if (Env::Default()->Unlink(path.c_str()) != 0 && errno != ENOENT)
    return ErrnoError("remove " + path, errno);
  return Status::OK();
}

StatusOr<std::string> ReadSmallFile(const std::string& path) {
  Env* env = Env::Default();
  int fd = env->Open(path.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError(path + ": no such file");
    return ErrnoError("open " + path, errno);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = env->Read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      env->Close(fd);
      return ErrnoError("read " + path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  env->Close(fd);
  return out;
}

std::string TempRoot() {
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

namespace {

// Removes the temp files "<name of final_path>.<rest>.tmp" beside final_path whose <rest> starts
// with `rest_prefix` (empty: every writer's).
void RemoveTemps(const std::string& final_path, const std::string& rest_prefix) {
  const std::string dir = DirName(final_path);
  const std::string prefix =
      final_path.substr(final_path.find_last_of('/') + 1) + "." + rest_prefix;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > prefix.size() + 4 && name.starts_with(prefix) && name.ends_with(".tmp")) {
      (void)Env::Default()->Unlink(entry.path().c_str());
    }
  }
}

// Removes "<final_path>.*.tmp": temp files of writers that died, or of one still writing that
// lost its import to this one (its Commit then fails to rename).
void RemoveOtherTemps(const std::string& final_path) { RemoveTemps(final_path, ""); }

}  // namespace

AtomicFile::~AtomicFile() { Abort(); }

void RemoveOwnTempFiles(const std::string& final_path) {
  RemoveTemps(final_path, fmt::format("{:x}-", static_cast<uint32_t>(::getpid())));
}

Status AtomicFile::Open(const std::string& final_path, Temp temp) {
  Abort();
  final_path_ = final_path;
  temp_ = temp;
  if (temp != Temp::kShared) {
    static std::atomic<uint32_t> counter{0};
    temp_path_ = fmt::format("{}.{:x}-{:x}.tmp", final_path, static_cast<uint32_t>(::getpid()),
                             counter.fetch_add(1) + 1);
  } else {
    temp_path_ = final_path + ".tmp";
  }
  RETURN_IF_ERROR(MakeDirs(DirName(final_path)));
  fd_ = Env::Default()->Open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return ErrnoError("create " + temp_path_, errno);
  bytes_written_ = 0;
  writeback_from_ = 0;
  buffer_.clear();
  buffer_.reserve(kWriteBufferBytes);
  return Status::OK();
}

Status AtomicFile::Append(std::string_view data) {
  buffer_.append(data);
  bytes_written_ += data.size();
  if (buffer_.size() >= kWriteBufferBytes) return Flush();
  return Status::OK();
}

Status AtomicFile::Flush() {
  Status s = WriteAll(fd_, buffer_.data(), buffer_.size(), temp_path_);
  buffer_.clear();
  const uint64_t flushed = bytes_written_;
  if (s.ok() && flushed - writeback_from_ >= kWritebackBytes) {
    // Advisory: an error here (a file system without it) only leaves the work to fsync.
    (void)::sync_file_range(fd_, static_cast<off64_t>(writeback_from_),
                            static_cast<off64_t>(flushed - writeback_from_), SYNC_FILE_RANGE_WRITE);
    writeback_from_ = flushed;
  }
  return s;
}

Status AtomicFile::Commit() {
  RETURN_IF_ERROR(Flush());
  Env* env = Env::Default();
  if (env->Fsync(fd_) != 0) return ErrnoError("fsync " + temp_path_, errno);
  int rc = env->Close(fd_);
  fd_ = -1;
  if (rc != 0) return ErrnoError("close " + temp_path_, errno);
  CrashPoint("file.before_rename");
  if (env->Rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return ErrnoError("rename " + temp_path_ + " to " + final_path_, errno);
  }
  temp_path_.clear();
  CrashPoint("file.after_rename");
  if (temp_ == Temp::kFencing) RemoveOtherTemps(final_path_);
  return SyncDir(DirName(final_path_));
}

void AtomicFile::Abort() {
  if (fd_ >= 0) {
    Env::Default()->Close(fd_);
    fd_ = -1;
  }
  if (!temp_path_.empty()) {
    Env::Default()->Unlink(temp_path_.c_str());
    temp_path_.clear();
  }
  buffer_.clear();
}

void CrashPoint(std::string_view point) {
  static const char* spec = std::getenv("SNAPDELTA_CRASH_AT");
  if (spec == nullptr) return;
  std::string_view target(spec);
  int sig = SIGKILL;
  if (target.ends_with("/stop")) {  // pause instead, as a long stall would (SIGCONT resumes)
    sig = SIGSTOP;
    target.remove_suffix(5);
  }
  long wanted = 1;
  if (size_t colon = target.find(':'); colon != std::string_view::npos) {
    wanted = std::strtol(spec + colon + 1, nullptr, 10);
    target = target.substr(0, colon);
  }
  if (target != point) return;
  static std::atomic<long> hits{0};
  // raise: a signal to this thread, which then stops (or dies) on its way out of the call. A
  // kill() of the process would wake the main thread to carry out the stop, and on a busy
  // machine this thread ran on meanwhile, past the point (a commit the test meant to pause
  // before).
  if (++hits == wanted) ::raise(sig);
}

}  // namespace snapdelta
