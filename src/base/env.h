// Env: the one seam between snapdelta and the operating system's files and clock, after
// LevelDB's Env. The engine calls it for every open, read, write, fsync, rename, removal and
// folder creation of the home and the landing folder, so a test can put an Env in front that
// fails the Nth call with ENOSPC, EROFS or EIO, or writes short, and check that nothing is lost
// or half-written (tests/fault_env.h).
//
// The methods mirror the POSIX calls they stand for: they return what the call returns and set
// errno the same way, so call sites keep their EINTR loops and error messages. The default Env
// is a thin pass-through to POSIX.
//
// Thread safety: Env methods are called from many threads at once; implementations must be
// thread-safe. SetEnvForTesting is not: call it while no snapdelta work runs.
#ifndef SNAPDELTA_BASE_ENV_H_
#define SNAPDELTA_BASE_ENV_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace snapdelta {

class Env {
 public:
  Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  virtual ~Env() = default;

  // The Env every part of snapdelta uses: POSIX unless a test installed another.
  static Env* Default();

  virtual int Open(const char* path, int flags, mode_t mode);
  virtual ssize_t Read(int fd, void* buf, size_t count);
  virtual ssize_t Write(int fd, const void* buf, size_t count);
  virtual int Fsync(int fd);
  virtual int Close(int fd);
  virtual int Rename(const char* from, const char* to);
  virtual int Unlink(const char* path);
  virtual int Mkdir(const char* path, mode_t mode);
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMs();
};

// Makes `env` the Default() Env; nullptr restores POSIX. `env` must outlive its use.
void SetEnvForTesting(Env* env);

}  // namespace snapdelta

#endif  // SNAPDELTA_BASE_ENV_H_
