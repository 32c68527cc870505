#include "base/env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>

namespace snapdelta {
namespace {

std::atomic<Env*> installed{nullptr};

}  // namespace

Env* Env::Default() {
  static Env posix;
  Env* env = installed.load(std::memory_order_acquire);
  return env != nullptr ? env : &posix;
}

void SetEnvForTesting(Env* env) { installed.store(env, std::memory_order_release); }

int Env::Open(const char* path, int flags, mode_t mode) { return ::open(path, flags, mode); }
ssize_t Env::Read(int fd, void* buf, size_t count) { return ::read(fd, buf, count); }
ssize_t Env::Write(int fd, const void* buf, size_t count) { return ::write(fd, buf, count); }
int Env::Fsync(int fd) { return ::fsync(fd); }
int Env::Close(int fd) { return ::close(fd); }
int Env::Rename(const char* from, const char* to) { return std::rename(from, to); }
int Env::Unlink(const char* path) { return ::unlink(path); }
int Env::Mkdir(const char* path, mode_t mode) { return ::mkdir(path, mode); }

int64_t Env::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace snapdelta
