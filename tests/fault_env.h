// FaultEnv: an Env (src/base/env.h) that fails file operations under one folder on demand, as a
// full, read-only or failing disk would (LevelDB's fault_injection_test, in spirit).
//
// Counted operations are those on paths under `root` (and on descriptors opened there): opens,
// reads, writes, fsyncs, renames and folder creations; removals are not counted (cleanup paths
// ignore their errors anyway). From the fail_at-th counted operation of the chosen kind on, every
// such operation fails with `error` until Lift(): a full disk stays full. With kShortWrite, the
// first failing write writes half its bytes and reports that; the ones after fail with ENOSPC.
//
// Install with ScopedEnv; thread-safe.
#ifndef SNAPDELTA_TESTS_FAULT_ENV_H_
#define SNAPDELTA_TESTS_FAULT_ENV_H_

#include <fcntl.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <string>

#include "base/env.h"

namespace snapdelta::testing {

class FaultEnv : public Env {
 public:
  enum class Ops { kWrites, kReads };  // which operations count towards fail_at
  enum class Mode { kError, kShortWrite };

  // fail_at = 0 counts without failing.
  FaultEnv(std::string root, Ops ops, long fail_at, int error, Mode mode = Mode::kError)
      : root_(std::move(root)), ops_(ops), fail_at_(fail_at), error_(error), mode_(mode) {}

  void Lift() {
    std::lock_guard<std::mutex> lock(mu_);
    lifted_ = true;
  }
  long counted() const {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  bool fired() const {
    std::lock_guard<std::mutex> lock(mu_);
    return fired_;
  }

  int Open(const char* path, int flags, mode_t mode) override {
    bool under = Under(path);
    bool writes = (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
    if (under && Fail(writes ? Ops::kWrites : Ops::kReads)) return -1;
    int fd = Env::Open(path, flags, mode);
    if (fd >= 0 && under) {
      std::lock_guard<std::mutex> lock(mu_);
      fds_.insert(fd);
    }
    return fd;
  }
  ssize_t Read(int fd, void* buf, size_t count) override {
    if (Tracked(fd) && Fail(Ops::kReads)) return -1;
    return Env::Read(fd, buf, count);
  }
  ssize_t Write(int fd, const void* buf, size_t count) override {
    if (Tracked(fd) && Fail(Ops::kWrites)) {
      if (mode_ == Mode::kShortWrite && count > 1 && TakeShortWrite()) {
        return Env::Write(fd, buf, count / 2);
      }
      return -1;
    }
    return Env::Write(fd, buf, count);
  }
  int Fsync(int fd) override {
    if (Tracked(fd) && Fail(Ops::kWrites)) return -1;
    return Env::Fsync(fd);
  }
  int Close(int fd) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      fds_.erase(fd);
    }
    return Env::Close(fd);
  }
  int Rename(const char* from, const char* to) override {
    if (Under(to) && Fail(Ops::kWrites)) return -1;
    return Env::Rename(from, to);
  }
  int Mkdir(const char* path, mode_t mode) override {
    if (Under(path) && Fail(Ops::kWrites)) return -1;
    return Env::Mkdir(path, mode);
  }

 private:
  bool Under(const char* path) const { return std::string(path).starts_with(root_); }
  bool Tracked(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    return fds_.contains(fd);
  }
  // Counts an operation of kind `op`; true (errno set) when it must fail.
  bool Fail(Ops op) {
    std::lock_guard<std::mutex> lock(mu_);
    if (op != ops_ || lifted_) return false;
    ++count_;
    if (fail_at_ == 0 || count_ < fail_at_) return false;
    fired_ = true;
    errno = error_;
    return true;
  }
  bool TakeShortWrite() {
    std::lock_guard<std::mutex> lock(mu_);
    if (short_written_) {
      errno = ENOSPC;
      return false;
    }
    short_written_ = true;
    return true;
  }

  const std::string root_;
  const Ops ops_;
  const long fail_at_;
  const int error_;
  const Mode mode_;
  mutable std::mutex mu_;
  std::set<int> fds_;
  long count_ = 0;
  bool fired_ = false;
  bool lifted_ = false;
  bool short_written_ = false;
};

// Installs an Env for the scope.
class ScopedEnv {
 public:
  explicit ScopedEnv(Env* env) { SetEnvForTesting(env); }
  ~ScopedEnv() { SetEnvForTesting(nullptr); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
};

}  // namespace snapdelta::testing

#endif  // SNAPDELTA_TESTS_FAULT_ENV_H_
